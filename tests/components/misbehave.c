// A processor the tests script to misbehave, through its config string:
//   mode=trap      traps (unreachable) on element `at`
//   mode=error     returns process-error invalid-input on element `at`
//   mode=fatal     returns process-error fatal on element `at`
//   mode=spin      loops forever on element `at` (deadline test)
//   mode=init-fail init returns an error
// Every other element passes through unchanged (copied into a new buffer).
#include <string.h>

#include <torvyn/guest.h>

enum mode { PASS, TRAP, ERROR, FATAL, SPIN, INIT_FAIL };
static enum mode mode = PASS;
static uint64_t at = 2;
static volatile uint64_t sink_counter;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    char m[16] = "";
    torvyn_config_str(config, "mode", m, sizeof m);
    at = torvyn_config_u64(config, "at", 2);
    torvyn_string_free(config);
    if (strcmp(m, "trap") == 0)
        mode = TRAP;
    else if (strcmp(m, "error") == 0)
        mode = ERROR;
    else if (strcmp(m, "fatal") == 0)
        mode = FATAL;
    else if (strcmp(m, "spin") == 0)
        mode = SPIN;
    else if (strcmp(m, "init-fail") == 0)
        mode = INIT_FAIL;
    if (mode == INIT_FAIL) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "refusing to start (mode=init-fail)");
    }
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    const uint64_t seq = element->meta.sequence;
    if (seq == at) {
        switch (mode) {
            case TRAP:
                __builtin_trap();
            case ERROR:
                torvyn_element_done(element);
                return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "element rejected on purpose");
            case FATAL:
                torvyn_element_done(element);
                return torvyn_fail(err, TORVYN_ERROR_FATAL, "giving up on purpose");
            case SPIN:
                for (;;) {
                    sink_counter++;
                }
            default:
                break;
        }
    }
    torvyn_list_u8_t bytes = torvyn_read_all(element->payload);
    torvyn_element_done(element);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    bool ok = torvyn_make_output(bytes.ptr, bytes.len, "text/plain", 0, &ret->val.emit, err);
    torvyn_list_u8_free(&bytes);
    return ok;
}
