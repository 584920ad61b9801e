// An aggregator that absorbs every element and, when upstream ends, flushes
// `burst` outputs at once (config "burst=N"): more than a queue holds.
#include <stdlib.h>

#include <torvyn/guest.h>

static uint64_t burst = 100;
static uint64_t absorbed = 0;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    burst = torvyn_config_u64(config, "burst", 100);
    torvyn_string_free(config);
    return true;
}

// The SDK's macro releases the element's handles after ingest returns.
static bool ingest(torvyn_element_t* element,
                   exports_torvyn_streaming_aggregator_option_output_element_t* ret,
                   torvyn_error_t* err) {
    (void)element;
    (void)err;
    ++absorbed;
    ret->is_some = false;
    return true;
}
TORVYN_C_AGGREGATOR(ingest)

bool exports_torvyn_streaming_aggregator_flush(
    exports_torvyn_streaming_aggregator_list_output_element_t* ret, torvyn_error_t* err) {
    ret->len = 0;
    ret->ptr = calloc(burst, sizeof(torvyn_output_t));
    for (uint64_t i = 0; i < burst; ++i) {
        char text[20];
        const size_t n = torvyn_format_u64(i, text);
        if (!torvyn_make_output(text, n, "text/plain", i + 1, &ret->ptr[i], err)) {
            return false;
        }
        ret->len = i + 1;
    }
    return true;
}
