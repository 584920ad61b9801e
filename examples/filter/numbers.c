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

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next > count) {
        return torvyn_pulled_exhausted(ret);
    }
    char text[20];
    size_t n = torvyn_format_u64(next, text);
    return torvyn_pulled_element(text, n, "text/plain", next++ - 1, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
