// {{name}}: a Torvyn processor in C. Upper-cases ASCII letters.
#include <torvyn/guest.h>

static bool process(torvyn_element_t* element,
                    exports_torvyn_streaming_processor_process_result_t* ret, torvyn_error_t* err) {
    torvyn_list_u8_t text = torvyn_read_all(element->payload);
    for (size_t i = 0; i < text.len; ++i) {
        if (text.ptr[i] >= 'a' && text.ptr[i] <= 'z') {
            text.ptr[i] -= 'a' - 'A';
        }
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    const bool ok = torvyn_make_output(text.ptr, text.len, "text/plain", element->meta.sequence,
                                       &ret->val.emit, err);
    torvyn_list_u8_free(&text);
    return ok;
}
TORVYN_C_PROCESSOR(process)
