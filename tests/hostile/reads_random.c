// Reads 8 random bytes for every element. Needs the "random" capability.
#include <unistd.h>

#include <torvyn/guest.h>

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_element_done(element);
    uint64_t value = 0;
    if (getentropy(&value, sizeof value) != 0) {
        return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "no randomness");
    }
    char text[20];
    size_t n = torvyn_format_u64(value, text);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    return torvyn_make_output(text, n, "text/plain", 0, &ret->val.emit, err);
}
