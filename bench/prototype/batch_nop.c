// The prototype batch processor: copies each item's payload into a new
// buffer (the processor's work in the pipeline benchmark) and returns them.
#include <stdlib.h>
#include <string.h>

#include "batch_nop.h"

void exports_torvyn_prototype_batch_process_batch(exports_torvyn_prototype_batch_list_item_t* items,
                                                  exports_torvyn_prototype_batch_list_item_t* ret) {
    ret->len = items->len;
    ret->ptr = malloc(items->len * sizeof *ret->ptr);
    for (size_t i = 0; i < items->len; ++i) {
        const exports_torvyn_prototype_batch_item_t* in = &items->ptr[i];
        exports_torvyn_prototype_batch_item_t* out = &ret->ptr[i];
        out->sequence = in->sequence;
        out->payload.len = in->payload.len;
        out->payload.ptr = malloc(in->payload.len ? in->payload.len : 1);
        memcpy(out->payload.ptr, in->payload.ptr, in->payload.len);
    }
    exports_torvyn_prototype_batch_list_item_free(items);
}

void exports_torvyn_prototype_batch_process_flat(exports_torvyn_prototype_batch_flat_batch_t* batch,
                                                 exports_torvyn_prototype_batch_flat_batch_t* ret) {
    const size_t n = batch->ends.len;
    const size_t total = batch->bytes.len;
    ret->sequences = batch->sequences;  // handed back as they came
    ret->ends = batch->ends;
    ret->bytes.len = total;
    ret->bytes.ptr = malloc(total ? total : 1);
    uint32_t start = 0;
    for (size_t i = 0; i < n; ++i) {
        const uint32_t end = batch->ends.ptr[i];
        memcpy(ret->bytes.ptr + start, batch->bytes.ptr + start, end - start);
        start = end;
    }
    free(batch->bytes.ptr);
}
