/* torvyn/guest.h — helpers for writing Torvyn components in C.
 *
 * A C component implements the export functions that wit-bindgen generated
 * for its world (for a processor: exports_torvyn_streaming_processor_process)
 * and uses these helpers for the repetitive parts. The SDK's build (see
 * torvyn_add_component in CMake) makes "torvyn_bindings.h" point at the right
 * world and provides default lifecycle functions, so init/teardown are
 * optional.
 *
 * It builds against the current contract (torvyn:streaming@0.2.0) or, with
 * torvyn_add_component(... CONTRACT 0.1.0), the frozen 0.1.0 one; the
 * build defines TORVYN_CONTRACT_0_1_0 then. The differences a C author sees:
 * in 0.1.0 an element also lends a flow-context handle and a source's pull
 * takes one; in 0.2.0 a source's pull returns a `pulled` variant (element,
 * pending or exhausted; see torvyn_pulled_*).
 *
 * Ownership rules the helpers follow (and the contract demands):
 * - Handles inside a torvyn_element_t are borrowed for the current call and
 *   must be released before the export returns. The TORVYN_C_<ROLE> macros
 *   below do it for you; an export written by hand calls
 *   torvyn_element_done() on every path.
 * - A buffer made with torvyn_make_buffer() is owned; return it in an output
 *   element (ownership passes to the host) or drop it.
 * - Strings and lists the host returned (torvyn_list_u8_t from reads) are
 *   yours: free them with torvyn_list_u8_free().
 */
#ifndef TORVYN_GUEST_H
#define TORVYN_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "torvyn_bindings.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef torvyn_streaming_types_stream_element_t torvyn_element_t;
typedef torvyn_streaming_types_output_element_t torvyn_output_t;
typedef torvyn_streaming_types_process_error_t torvyn_error_t;
typedef torvyn_streaming_types_own_buffer_t torvyn_own_buffer_t;
typedef torvyn_streaming_types_borrow_buffer_t torvyn_borrow_buffer_t;
#ifdef TORVYN_CONTRACT_0_1_0
typedef torvyn_streaming_types_borrow_flow_context_t torvyn_borrow_context_t;
#endif

enum {
    TORVYN_ERROR_INVALID_INPUT = TORVYN_STREAMING_TYPES_PROCESS_ERROR_INVALID_INPUT,
    TORVYN_ERROR_UNAVAILABLE = TORVYN_STREAMING_TYPES_PROCESS_ERROR_UNAVAILABLE,
    TORVYN_ERROR_INTERNAL = TORVYN_STREAMING_TYPES_PROCESS_ERROR_INTERNAL,
    TORVYN_ERROR_DEADLINE_EXCEEDED = TORVYN_STREAMING_TYPES_PROCESS_ERROR_DEADLINE_EXCEEDED,
    TORVYN_ERROR_FATAL = TORVYN_STREAMING_TYPES_PROCESS_ERROR_FATAL,
};

/* Fills *err with `kind` and a copy of `message`; returns false so an export
 * can `return torvyn_fail(err, ...)`. */
bool torvyn_fail(torvyn_error_t* err, uint8_t kind, const char* message);

/* Releases the borrowed handles of an element lent to this call. */
void torvyn_element_done(torvyn_element_t* element);

#if !defined(TORVYN_CONTRACT_0_1_0) && defined(EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT)
typedef exports_torvyn_streaming_source_pulled_t torvyn_pulled_t;
/* A source's answers: the source has no more elements; it has nothing yet
 * and the host should ask again in about `retry_after_ns` (0: the host
 * decides). Each returns true, for `return torvyn_pulled_exhausted(ret);`. */
static inline bool torvyn_pulled_exhausted(torvyn_pulled_t* ret) {
    ret->tag = EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_EXHAUSTED;
    return true;
}
static inline bool torvyn_pulled_pending(torvyn_pulled_t* ret, uint64_t retry_after_ns) {
    ret->tag = EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_PENDING;
    ret->val.pending = retry_after_ns;
    return true;
}
#endif

/* The element exports, with the element's borrowed handles released for you
 * after your function returns, on every path. Write a function with the
 * export's parameters (element, ret, err), do not call torvyn_element_done in
 * it, and name it in the macro of the component's role:
 *
 *   static bool count(torvyn_element_t* element,
 *                     exports_torvyn_streaming_sink_backpressure_signal_t* ret,
 *                     torvyn_error_t* err) { ...; return true; }
 *   TORVYN_C_SINK(count)
 */
#define TORVYN_DETAIL_C_ELEMENT_EXPORT(export_name, ret_type, fn)                     \
    bool export_name(torvyn_element_t* element, ret_type* ret, torvyn_error_t* err) { \
        const bool ok = fn(element, ret, err);                                        \
        torvyn_element_done(element);                                                 \
        return ok;                                                                    \
    }
#define TORVYN_C_PROCESSOR(fn)                                                 \
    TORVYN_DETAIL_C_ELEMENT_EXPORT(exports_torvyn_streaming_processor_process, \
                                   exports_torvyn_streaming_processor_process_result_t, fn)
#define TORVYN_C_SINK(fn)                                              \
    TORVYN_DETAIL_C_ELEMENT_EXPORT(exports_torvyn_streaming_sink_push, \
                                   exports_torvyn_streaming_sink_backpressure_signal_t, fn)
#define TORVYN_C_FILTER(fn) \
    TORVYN_DETAIL_C_ELEMENT_EXPORT(exports_torvyn_streaming_filter_accept, bool, fn)
#define TORVYN_C_ROUTER(fn) \
    TORVYN_DETAIL_C_ELEMENT_EXPORT(exports_torvyn_streaming_router_route, torvyn_list_string_t, fn)
#define TORVYN_C_AGGREGATOR(fn)                                                                 \
    TORVYN_DETAIL_C_ELEMENT_EXPORT(exports_torvyn_streaming_aggregator_ingest,                  \
                                   exports_torvyn_streaming_aggregator_option_output_element_t, \
                                   fn)

/* Copies the whole payload into component memory. Free with torvyn_list_u8_free. */
torvyn_list_u8_t torvyn_read_all(torvyn_borrow_buffer_t payload);

/* Value of `key` in a "key=value key2=value2" config string (also accepts
 * commas or semicolons as separators), or `fallback` when absent or not a
 * number. */
uint64_t torvyn_config_u64(const torvyn_string_t* config, const char* key, uint64_t fallback);
/* Copies the value of `key` into out (NUL-terminated, truncated to cap-1).
 * Returns false when absent. */
bool torvyn_config_str(const torvyn_string_t* config, const char* key, char* out, size_t cap);

/* Writes `value` in decimal to `out` (at least 20 bytes, not NUL-terminated)
 * and returns the number of digits. Unlike snprintf it pulls in no stdio, so
 * the component stays free of WASI imports. */
size_t torvyn_format_u64(uint64_t value, char* out);

#ifdef TORVYN_HAS_ALLOCATOR
/* A new owned, frozen buffer holding a copy of `len` bytes of `data`.
 * On refusal fills *err and returns false. */
bool torvyn_make_buffer(const void* data, size_t len, const char* content_type,
                        torvyn_own_buffer_t* out, torvyn_error_t* err);
/* Fills *out with an element carrying a new buffer of `data` and `sequence`. */
bool torvyn_make_output(const void* data, size_t len, const char* content_type, uint64_t sequence,
                        torvyn_output_t* out, torvyn_error_t* err);
#if !defined(TORVYN_CONTRACT_0_1_0) && defined(EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT)
/* A source's answer carrying a new element (as torvyn_make_output). */
bool torvyn_pulled_element(const void* data, size_t len, const char* content_type,
                           uint64_t sequence, torvyn_pulled_t* ret, torvyn_error_t* err);
#endif
#endif

/* Capability "stdout": writes all of `data` to the host's standard output.
 * Linking this function adds the wasi:cli/stdout import to the component,
 * which the operator must grant. Returns false if the host refused. */
bool torvyn_stdout_write(const void* data, size_t len);
/* Capability "stderr": the same for standard error. */
bool torvyn_stderr_write(const void* data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TORVYN_GUEST_H */
