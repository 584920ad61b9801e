// {{name}}: a Torvyn source in C. Emits "{{name}} 0", "{{name}} 1", ...
// (config "count=N", default 5), then ends.
#include <string.h>

#include <torvyn/guest.h>

static uint64_t count = 5;
static uint64_t next = 0;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    count = torvyn_config_u64(config, "count", 5);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next == count) {
        return torvyn_pulled_exhausted(ret);
    }
    static const char prefix[] = "{{name}} ";
    char text[sizeof prefix + 20];
    memcpy(text, prefix, sizeof prefix - 1);
    const size_t n = sizeof prefix - 1 + torvyn_format_u64(next, text + sizeof prefix - 1);
    return torvyn_pulled_element(text, n, "text/plain", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;  // nothing prepared ahead, so nothing to pause
}
