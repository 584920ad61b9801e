// The pass-through processor of the language comparison (bench/run.sh
// "languages"), in C: each element's payload read in and emitted as a new
// buffer, the same work in every language.
#include <torvyn/guest.h>

static bool pass(torvyn_element_t* element,
                 exports_torvyn_streaming_processor_process_result_t* ret, torvyn_error_t* err) {
    torvyn_list_u8_t bytes = torvyn_read_all(element->payload);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    const bool ok = torvyn_make_output(bytes.ptr, bytes.len, "application/octet-stream",
                                       element->meta.sequence, &ret->val.emit, err);
    torvyn_list_u8_free(&bytes);
    return ok;
}
TORVYN_C_PROCESSOR(pass)
