// A source of log events "level=..." with a fixed pattern: every 7th is an
// error, every 3rd (otherwise) a warning, the rest info. Config count=N
// (default 100).
#include <string.h>

#include <torvyn/guest.h>

static uint64_t count = 100;
static uint64_t next = 0;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    count = torvyn_config_u64(config, "count", 100);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next == count) {
        return torvyn_pulled_exhausted(ret);
    }
    const char* level = next % 7 == 6 ? "level=error" : next % 3 == 2 ? "level=warn" : "level=info";
    return torvyn_pulled_element(level, strlen(level), "text/plain", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
