// A source of decimal numbers 1..count (config "count=N", default 20).
#include <torvyn/guest.h>

static uint64_t count = 20;
static uint64_t next = 1;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    count = torvyn_config_u64(config, "count", 20);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_source_pull(
    torvyn_borrow_context_t context, exports_torvyn_streaming_source_option_output_element_t* ret,
    torvyn_error_t* err) {
    torvyn_streaming_types_flow_context_drop_borrow(context);
    if (next > count) {
        ret->is_some = false;
        return true;
    }
    char text[20];
    size_t n = torvyn_format_u64(next, text);
    ret->is_some = true;
    return torvyn_make_output(text, n, "text/plain", next++ - 1, &ret->val, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
