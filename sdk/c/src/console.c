/* Capability-gated output. Kept out of the role bindings so that only
 * components that call these functions import wasi:cli/stdout or stderr. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "console_io.h"

/* WASI's blocking-write-and-flush accepts at most 4096 bytes per call. */
#define TORVYN_WRITE_CHUNK 4096

static bool write_all(wasi_io_streams_own_output_stream_t stream, const void* data, size_t len) {
    wasi_io_streams_borrow_output_stream_t s = wasi_io_streams_borrow_output_stream(stream);
    const uint8_t* p = (const uint8_t*)data;
    bool ok = true;
    while (ok && len > 0) {
        size_t n = len < TORVYN_WRITE_CHUNK ? len : TORVYN_WRITE_CHUNK;
        console_io_list_u8_t chunk = {(uint8_t*)p, n};
        wasi_io_streams_stream_error_t err;
        if (!wasi_io_streams_method_output_stream_blocking_write_and_flush(s, &chunk, &err)) {
            if (err.tag == WASI_IO_STREAMS_STREAM_ERROR_LAST_OPERATION_FAILED) {
                wasi_io_error_error_drop_own(err.val.last_operation_failed);
            }
            ok = false;
        }
        p += n;
        len -= n;
    }
    wasi_io_streams_output_stream_drop_own(stream);
    return ok;
}

bool torvyn_stdout_write(const void* data, size_t len) {
    return write_all(wasi_cli_stdout_get_stdout(), data, len);
}

bool torvyn_stderr_write(const void* data, size_t len) {
    return write_all(wasi_cli_stderr_get_stderr(), data, len);
}
