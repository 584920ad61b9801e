// Reads the wall clock for every element. Needs the "wall-clock" capability.
#include <time.h>

#include <torvyn/guest.h>

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char text[20];
    size_t n = torvyn_format_u64((uint64_t)ts.tv_sec, text);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output(text, n, "text/plain", 0, &ret->val.emit, err);
}
