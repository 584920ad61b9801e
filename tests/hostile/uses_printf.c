// Counts elements and reports with printf: the C library's stdio pulls in
// files, clocks and stdout, which no grant of a counter should need (the link
// error points to the SDK's print helpers first).
#include <stdio.h>

#include <torvyn/guest.h>

static unsigned long seen;

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    (void)err;
    torvyn_element_done(element);
    printf("seen %lu\n", ++seen);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_DROP;
    return true;
}
