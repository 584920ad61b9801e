// A source whose notify does nothing: the cost of a typed call that lends no
// handle and returns nothing, for the bridge floor.
#include <torvyn/guest.h>

bool exports_torvyn_streaming_source_pull(
    torvyn_borrow_context_t context, exports_torvyn_streaming_source_option_output_element_t* ret,
    torvyn_error_t* err) {
    (void)err;
    torvyn_streaming_types_flow_context_drop_borrow(context);
    ret->is_some = false;
    return true;
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
