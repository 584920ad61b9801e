// Writes each element's payload to the file named by config "path=..."
// (default /data/output.txt) and passes the element on. Needs a read-write
// directory grant.
#include <stdio.h>

#include <torvyn/guest.h>

static char path[256] = "/data/output.txt";

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    (void)err;
    torvyn_config_str(config, "path", path, sizeof path);
    torvyn_string_free(config);
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    torvyn_list_u8_t bytes = torvyn_read_all(element->payload);
    torvyn_element_done(element);
    FILE* f = fopen(path, "a");
    if (f == NULL) {
        torvyn_list_u8_free(&bytes);
        return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "cannot open the file for writing");
    }
    fwrite(bytes.ptr, 1, bytes.len, f);
    fputc('\n', f);
    fclose(f);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    bool ok = torvyn_make_output(bytes.ptr, bytes.len, "text/plain", 0, &ret->val.emit, err);
    torvyn_list_u8_free(&bytes);
    return ok;
}
