// Reads the file named by config "path=..." (default /data/input.txt) for
// every element and emits its first line. Needs a directory grant; without
// one it cannot even be linked.
#include <stdio.h>
#include <string.h>

#include <torvyn/guest.h>

static char path[256] = "/data/input.txt";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "path", path, sizeof path);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    FILE* f = fopen(path, "r");
    if (f == NULL) {
        return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "cannot open the file");
    }
    char line[128] = "";
    if (fgets(line, sizeof line, f) == NULL) {
        line[0] = '\0';
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output(line, strlen(line), "text/plain", 0, &ret->val.emit, err);
}
