/* A source that waits on "the outside world": every other pull answers
 * pending, asking the host to come back in `wait-us` microseconds (config,
 * default 2000), until `count` elements (default 20) are out. Contract
 * 0.2.0's pending, as a C component. */
#include <torvyn/guest.h>

static uint64_t count = 20;
static uint64_t wait_us = 2000;
static uint64_t next = 0;
static uint64_t pulls = 0;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    count = torvyn_config_u64(config, "count", 20);
    wait_us = torvyn_config_u64(config, "wait-us", 2000);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next == count) {
        return torvyn_pulled_exhausted(ret);
    }
    if (pulls++ % 2 == 0) {
        return torvyn_pulled_pending(ret, wait_us * 1000);
    }
    char text[20];
    const size_t n = torvyn_format_u64(next, text);
    return torvyn_pulled_element(text, n, "text/plain", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
