// {{name}}: a Torvyn aggregator in C. Counts what it absorbs and, when its
// input ends, emits one element "count=N".
#include <stdlib.h>
#include <string.h>

#include <torvyn/guest.h>

static uint64_t absorbed = 0;

static bool ingest(torvyn_element_t* element,
                   exports_torvyn_streaming_aggregator_option_output_element_t* ret,
                   torvyn_error_t* err) {
    (void)element;
    (void)err;
    ++absorbed;
    ret->is_some = false;  // nothing to emit yet
    return true;
}
TORVYN_C_AGGREGATOR(ingest)

bool exports_torvyn_streaming_aggregator_flush(
    exports_torvyn_streaming_aggregator_list_output_element_t* ret, torvyn_error_t* err) {
    char text[32] = "count=";
    const size_t n = 6 + torvyn_format_u64(absorbed, text + 6);
    ret->len = 1;
    ret->ptr = calloc(1, sizeof(torvyn_output_t));
    return torvyn_make_output(text, n, "text/plain", 0, &ret->ptr[0], err);
}
