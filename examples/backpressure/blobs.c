// A fast source: `count` payloads of `size` bytes (config, defaults 100000 and
// 1024; count=0 never ends). Each payload is filled with a pattern derived
// from its sequence number, so a sink can verify it (fill=0: no pattern).
#include <torvyn/guest.h>

static uint64_t count = 100000;
static uint64_t size = 1024;
static uint64_t next = 0;
static uint64_t fill = 1;
static uint8_t scratch[1 << 20];

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    count = torvyn_config_u64(config, "count", 100000);
    size = torvyn_config_u64(config, "size", 1024);
    fill = torvyn_config_u64(config, "fill", 1);
    torvyn_string_free(config);
    if (size > sizeof scratch) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "size must be at most 1048576");
    }
    return true;
}

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (count != 0 && next == count) {
        return torvyn_pulled_exhausted(ret);
    }
    /* fill=0 sends the same bytes every time: a pure copy benchmark. */
    if (fill != 0) {
        for (uint64_t i = 0; i < size; ++i) {
            scratch[i] = (uint8_t)(next + i);
        }
    }
    return torvyn_pulled_element(scratch, size, "application/octet-stream", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;  // payloads are made on demand: nothing to hold back
}
