// Emits the value of the environment variable named by config "name=..."
// (default HOME), or "(unset)". Needs the variable granted in `env`.
#include <stdlib.h>
#include <string.h>

#include <torvyn/guest.h>

static char name[64] = "HOME";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "name", name, sizeof name);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    const char* value = getenv(name);
    if (value == NULL) {
        value = "(unset)";
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output(value, strlen(value), "text/plain", 0, &ret->val.emit, err);
}
