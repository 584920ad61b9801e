// A source written in C against the generated bindings and the C helpers:
// emits `count` greetings (config "count=N", default 5), then ends.
#include <string.h>

#include <torvyn/guest.h>

static uint64_t count = 5;
static uint64_t next = 0;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    count = torvyn_config_u64(config, "count", 5);
    torvyn_string_free(config);
    if (count > 1000000) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "count must be at most 1000000");
    }
    return true;
}

bool exports_torvyn_streaming_source_pull(
    torvyn_borrow_context_t context, exports_torvyn_streaming_source_option_output_element_t* ret,
    torvyn_error_t* err) {
    torvyn_streaming_types_flow_context_drop_borrow(context);
    if (next == count) {
        ret->is_some = false;  // exhausted: the host completes the flow
        return true;
    }
    static const char greeting[] = "hello, world #";
    char text[sizeof greeting + 20];
    memcpy(text, greeting, sizeof greeting - 1);
    size_t n = sizeof greeting - 1 + torvyn_format_u64(next + 1, text + sizeof greeting - 1);
    ret->is_some = true;
    return torvyn_make_output(text, n, "text/plain", next++, &ret->val, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;  // nothing to prepare ahead, so nothing to pause
}
