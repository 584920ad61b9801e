// {{name}}: a Torvyn sink in C. Counts what it is given; an empty payload
// is refused as invalid input (the node's on-error decides what follows).
#include <torvyn/guest.h>

static uint64_t received = 0;

static bool push(torvyn_element_t* element,
                 exports_torvyn_streaming_sink_backpressure_signal_t* ret, torvyn_error_t* err) {
    if (torvyn_streaming_types_method_buffer_size(element->payload) == 0) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "empty element");
    }
    ++received;
    *ret = TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_READY;
    return true;
}
TORVYN_C_SINK(push)

// After the last element: nothing buffered to flush here.
bool exports_torvyn_streaming_sink_complete(torvyn_error_t* err) {
    (void)err;
    return true;
}
