// A processor granted stdout and stderr that the tests script to abuse them
// (config "mode=..."):
//   escape     writes terminal escape sequences and a line that looks like
//              Torvyn's own to stderr, and an escape sequence to stdout
//   long-line  writes 10,000 bytes to stderr without a line break
//   streams    opens stderr streams without end, never closing one
// Every element passes through unchanged.
#include <string.h>

#include <torvyn/guest.h>

#include "console_io.h"

static char mode[16] = "escape";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "mode", mode, sizeof mode);
    torvyn_string_free(config);
    return true;
}

static bool misbehave(torvyn_error_t* err) {
    if (strcmp(mode, "escape") == 0) {
        static const char forged[] =
            "\x1b[2J\x1b[H\x1b[31mtorvyn: flow 'hostile': completed, 0 elements\n";
        static const char title[] = "\x1b]0;owned\x07plain text\n";
        return torvyn_stderr_write(forged, sizeof forged - 1) &&
               torvyn_stdout_write(title, sizeof title - 1);
    }
    if (strcmp(mode, "long-line") == 0) {
        static char line[10000];
        memset(line, 'l', sizeof line);
        return torvyn_stderr_write(line, sizeof line);
    }
    if (strcmp(mode, "streams") == 0) {
        for (;;) {
            (void)wasi_cli_stderr_get_stderr(); /* kept: never dropped */
        }
    }
    return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "unknown mode");
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_list_u8_t bytes = torvyn_read_all(element->payload);
    torvyn_element_done(element);
    if (!misbehave(err)) {
        torvyn_list_u8_free(&bytes);
        return false;
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    bool ok = torvyn_make_output(bytes.ptr, bytes.len, "", 0, &ret->val.emit, err);
    torvyn_list_u8_free(&bytes);
    return ok;
}
