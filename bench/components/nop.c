// The cheapest possible filter, for measuring the bridge itself: accepts
// every element without reading it. With config "host-calls=N" it also asks
// the host for the payload's size N times per call (guest -> host calls).
#include <torvyn/guest.h>

static uint64_t host_calls = 0;
static volatile uint64_t sink;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    host_calls = torvyn_config_u64(config, "host-calls", 0);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_filter_accept(torvyn_element_t* element, bool* ret,
                                            torvyn_error_t* err) {
    (void)err;
    for (uint64_t i = 0; i < host_calls; ++i) {
        sink += torvyn_streaming_types_method_buffer_size(element->payload);
    }
    torvyn_element_done(element);
    *ret = true;
    return true;
}
