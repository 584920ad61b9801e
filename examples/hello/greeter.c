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

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next == count) {
        return torvyn_pulled_exhausted(ret);  // exhausted: the host completes the flow
    }
    static const char greeting[] = "hello, world #";
    char text[sizeof greeting + 20];
    memcpy(text, greeting, sizeof greeting - 1);
    size_t n = sizeof greeting - 1 + torvyn_format_u64(next + 1, text + sizeof greeting - 1);
    return torvyn_pulled_element(text, n, "text/plain", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;  // nothing to prepare ahead, so nothing to pause
}
