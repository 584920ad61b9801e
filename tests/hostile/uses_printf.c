// Counts elements and reports with printf: the C library's stdio pulls in
// files, clocks and stdout, which no grant of a counter should need (the link
// error points to the SDK's print helpers first).
// With config "print=no" it calls nothing of WASI: a node that links its
// imports to denying stubs then runs.
#include <stdio.h>
#include <string.h>

#include <torvyn/guest.h>

static unsigned long seen;
static char print[8] = "yes";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "print", print, sizeof print);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    (void)err;
    torvyn_element_done(element);
    ++seen;
    if (strcmp(print, "no") != 0) {
        printf("seen %lu\n", seen);
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_DROP;
    return true;
}
