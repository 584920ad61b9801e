/* torvyn_bridge.h — the narrow C ABI between the Torvyn C++ host and Wasmtime.
 *
 * The bridge is a thin Rust crate: it owns Wasmtime objects (engine, compiled
 * components, linkers, stores) and translates typed component calls to and
 * from these plain C structs. It holds no runtime policy: buffers, handles,
 * budgets, scheduling and error policies all live in C++, which the bridge
 * reaches through the host callback table.
 *
 * Conventions
 * - Every fallible function returns a tvb_status. On failure the text of the
 *   error is available from tvb_last_error() on the same thread until the
 *   next bridge call on that thread.
 * - Objects returned through out-parameters are owned by the caller and are
 *   released with the matching *_free function.
 * - A tvb_instance is used by one thread at a time (Wasmtime stores are not
 *   thread-safe). Engines, components and prepared links are shareable.
 * - Handles (uint32_t) are the host's own buffer/context handles; the bridge
 *   passes them to and from guests as component-model resource reps.
 */
#ifndef TORVYN_BRIDGE_H
#define TORVYN_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tvb_status {
    TVB_OK = 0,
    /* The guest returned a process-error; see tvb_guest_error. */
    TVB_GUEST_ERROR = 1,
    /* The guest trapped (or a host callback failed and trapped it). The
     * instance must not be called again. */
    TVB_TRAP = 2,
    /* The per-call deadline expired (epoch interruption). Instance is dead. */
    TVB_DEADLINE = 3,
    /* A limit of the node was exceeded (memory, tables, fuel). Instance is dead. */
    TVB_LIMIT = 4,
    /* The component could not be compiled or deserialized. */
    TVB_COMPILE_ERROR = 5,
    /* The component's imports could not be satisfied. */
    TVB_LINK_ERROR = 6,
    /* The component does not export the requested interface. */
    TVB_MISSING_EXPORT = 7,
    /* Bad argument from the host (programmer error). */
    TVB_INVALID_ARGUMENT = 8,
    /* Anything else (I/O, internal Wasmtime error). */
    TVB_INTERNAL = 9,
    /* The host asked the call to end now (should_stop); instance is dead. */
    TVB_STOPPED = 10,
    /* One of the host's fixed limits (tvb_guest_limits) was exceeded. The
     * instance is dead. */
    TVB_HOST_LIMIT = 11,
} tvb_status;

/* Component roles, matching the interfaces of torvyn:streaming. */
typedef enum tvb_role {
    TVB_ROLE_SOURCE = 0,
    TVB_ROLE_PROCESSOR = 1,
    TVB_ROLE_SINK = 2,
    TVB_ROLE_FILTER = 3,
    TVB_ROLE_ROUTER = 4,
    TVB_ROLE_AGGREGATOR = 5,
} tvb_role;

/* Cases of torvyn:streaming/types.process-error. */
typedef enum tvb_error_kind {
    TVB_ERR_INVALID_INPUT = 0,
    TVB_ERR_UNAVAILABLE = 1,
    TVB_ERR_INTERNAL = 2,
    TVB_ERR_DEADLINE_EXCEEDED = 3,
    TVB_ERR_FATAL = 4,
} tvb_error_kind;

/* Cases of torvyn:streaming/types.buffer-error. */
typedef enum tvb_buffer_error_kind {
    TVB_BUF_CAPACITY_EXCEEDED = 0,
    TVB_BUF_OUT_OF_BOUNDS = 1,
    TVB_BUF_INVALID_STATE = 2,
} tvb_buffer_error_kind;

/* Which fields of a flow-context resource a guest may ask for. */
typedef enum tvb_context_field {
    TVB_CTX_FLOW_ID = 0,
    TVB_CTX_TRACE_ID = 1,
    TVB_CTX_SPAN_ID = 2,
} tvb_context_field;

/* The guest's process-error, when a call returns TVB_GUEST_ERROR. The message
 * is in tvb_last_error(). */
typedef struct tvb_guest_error {
    int32_t kind; /* tvb_error_kind */
} tvb_guest_error;

/* An element lent to a guest for one call. */
typedef struct tvb_element {
    uint64_t sequence;
    uint64_t timestamp_ns;
    uint32_t payload; /* buffer handle, lent as borrow<buffer> */
    uint32_t context; /* flow-context handle, lent as borrow<flow-context> */
} tvb_element;

/* An element a guest handed back: the payload handle is now the host's. */
typedef struct tvb_output {
    uint8_t present; /* 0: none (exhausted source, dropped element ...) */
    uint64_t sequence;
    uint64_t timestamp_ns;
    uint32_t payload;
} tvb_output;

/* The host side of torvyn:streaming/types and buffer-allocator.
 *
 * `node` is the opaque pointer given to tvb_instance_new. Every callback
 * returns 0 on success. A callback that returns 1 reports a buffer-error to
 * the guest through *err (only where the WIT function has one). Any other
 * value traps the guest; set the reason first with tvb_set_trap_message().
 *
 * Pointers returned through out-parameters (bytes, strings) must stay valid
 * until the callback's caller returns to the host, i.e. until the next
 * callback or the end of the guest call; the bridge copies from them exactly
 * once, straight into guest memory.
 */
typedef struct tvb_host_callbacks {
    int32_t (*buffer_size)(void* node, uint32_t buffer, uint64_t* size);
    int32_t (*buffer_content_type)(void* node, uint32_t buffer, const char** data, size_t* len);
    /* Bytes [offset, offset+len) clamped to the payload. The host counts
     * the copy the bridge is about to make into the guest. */
    int32_t (*buffer_read)(void* node, uint32_t buffer, uint64_t offset, uint64_t len,
                           const uint8_t** data, size_t* out_len);
    /* The guest dropped an owned buffer handle. */
    int32_t (*buffer_drop)(void* node, uint32_t buffer);

    int32_t (*mutable_allocate)(void* node, uint64_t capacity_hint, uint32_t* mutable_buffer,
                                tvb_buffer_error_kind* err, uint64_t* err_value);
    /* offset == UINT64_MAX means append. `data` points into guest memory,
     * valid only during this callback. */
    int32_t (*mutable_write)(void* node, uint32_t mutable_buffer, uint64_t offset,
                             const uint8_t* data, size_t len, tvb_buffer_error_kind* err,
                             uint64_t* err_value);
    int32_t (*mutable_size)(void* node, uint32_t mutable_buffer, uint64_t* size);
    int32_t (*mutable_capacity)(void* node, uint32_t mutable_buffer, uint64_t* capacity);
    int32_t (*mutable_set_content_type)(void* node, uint32_t mutable_buffer, const char* data,
                                        size_t len);
    /* Consumes the mutable buffer; returns a new immutable buffer handle. */
    int32_t (*mutable_freeze)(void* node, uint32_t mutable_buffer, uint32_t* buffer);
    int32_t (*mutable_drop)(void* node, uint32_t mutable_buffer);

    int32_t (*context_string)(void* node, uint32_t context, int32_t field, const char** data,
                              size_t* len);
    /* *present = 0 when the element has no deadline. */
    int32_t (*context_remaining_deadline)(void* node, uint32_t context, uint8_t* present,
                                          uint64_t* remaining_ns);
    /* allocate + write + set content type + freeze in one call; *buffer is
     * a new immutable buffer owned by the guest. */
    int32_t (*buffer_make)(void* node, const uint8_t* data, size_t len, const char* type,
                           size_t type_len, uint32_t* buffer, tvb_buffer_error_kind* err,
                           uint64_t* err_value);

    /* Non-zero when the call in progress must end now (a forced stop). Asked
     * every few milliseconds while a guest runs or waits in a blocking WASI
     * call; never on the per-element path. */
    int32_t (*should_stop)(void* node);
    /* Bytes a guest with the stdout (stream 1) or stderr (stream 2) grant
     * wrote; at most tvb_guest_limits.max_stream_write per call. */
    int32_t (*guest_output)(void* node, int32_t stream, const uint8_t* data, size_t len);
} tvb_host_callbacks;

/* What a guest may make the host hold or do; the values and their reasons
 * are the host's (torvyn/core/limits.hpp). Applied to every store. */
typedef struct tvb_guest_limits {
    /* Bytes a guest may pass to the host in one call (Wasmtime's hostcall
     * fuel): arguments of host calls and results of guest calls. */
    uint64_t call_transfer_bytes;
    /* Component-model handles one instance may hold. */
    uint64_t component_handles;
    /* WASI resources (streams, pollables, sockets ...) one instance may hold. */
    uint64_t wasi_resources;
    /* Guest text (returned errors, trap messages) is cut to this many bytes,
     * with the original length noted, before the host sees it. */
    uint64_t text_bytes;
    /* Items of a list a guest returns: router ports, aggregator outputs. */
    uint64_t list_items;
    /* One router port name. */
    uint64_t name_bytes;
    /* stdout/stderr bytes per write (the check-write permit). */
    uint64_t stream_write_bytes;
    /* Milliseconds between stop checks while a guest runs or waits. */
    uint64_t stop_check_ms;
} tvb_guest_limits;

typedef struct tvb_engine_config {
    /* Use the pooling instance allocator (fast instantiation, memory
     * reserved up front). */
    uint8_t pooling;
    /* Upper bound of live component instances (pooling only). */
    uint32_t max_instances;
    /* Upper bound of one linear memory, in bytes. */
    uint64_t max_memory_bytes;
    /* Compile with Cranelift's speed optimisations (1) or none (0). */
    uint8_t optimize;
    /* Meter fuel (costs on every instruction of every instance). */
    uint8_t fuel;
    tvb_guest_limits limits;
} tvb_engine_config;

/* A host directory a node may use, seen by the guest at guest_path. */
typedef struct tvb_dir_grant {
    const char* host_path;
    const char* guest_path;
    uint8_t writable; /* 0: read-only */
} tvb_dir_grant;

/* An environment variable a node may read. */
typedef struct tvb_env_var {
    const char* name;
    const char* value;
} tvb_env_var;

/* Capabilities resolved for one node. Zero-initialised means "denied"; only
 * the WASI interfaces these cover are linked. tvb_prepare copies the arrays. */
typedef struct tvb_grants {
    uint8_t stdout_;
    uint8_t stderr_;
    uint8_t wall_clock;
    uint8_t monotonic_clock;
    uint8_t random;
    uint8_t exit;         /* link wasi:cli/exit (a guest ending itself) */
    uint8_t null_devices; /* link an empty stdin and no terminals */
    const tvb_dir_grant* dirs;
    size_t dir_count;
    const tvb_env_var* env;
    size_t env_count;
    const char* const* connect; /* "ip:port" the node may connect or send to */
    size_t connect_count;
    /* Called, on the calling thread, for every refused network operation. */
    void* audit_user;
    void (*audit_deny)(void* user, const char* what, size_t len);
} tvb_grants;

/* Per-instance limits, applied to the store when it is created. */
typedef struct tvb_instance_limits {
    uint64_t max_memory_bytes;   /* 0: engine's limit */
    uint64_t max_table_elements; /* 0: none */
    uint64_t call_deadline_ms;   /* 0: no deadline */
    uint64_t fuel;               /* per call, when the engine meters fuel; 0: unlimited */
} tvb_instance_limits;

typedef struct tvb_engine tvb_engine;
typedef struct tvb_component tvb_component;
typedef struct tvb_prepared tvb_prepared;
typedef struct tvb_instance tvb_instance;

/* --- errors ------------------------------------------------------------ */

/* Text of the last failure on this thread (not NUL-terminated). */
void tvb_last_error(const char** data, size_t* len);
/* Called by a host callback just before it returns a trapping status. */
void tvb_set_trap_message(const char* data, size_t len);

/* --- engine ------------------------------------------------------------ */

/* The Wasmtime version the bridge was built with, e.g. "48.0.8". */
const char* tvb_wasmtime_version(void);
tvb_status tvb_engine_new(const tvb_engine_config* config, const tvb_host_callbacks* callbacks,
                          tvb_engine** out);
void tvb_engine_free(tvb_engine* engine);
/* Advances the epoch; safe from any thread. Deadlines count these ticks
 * (call_deadline_ms assumes one tick per millisecond). */
void tvb_engine_increment_epoch(const tvb_engine* engine);
/* Changes whenever compiled artifacts of one engine are unusable by the other. */
uint64_t tvb_engine_compatibility_hash(const tvb_engine* engine);

/* --- components -------------------------------------------------------- */

tvb_status tvb_component_compile(const tvb_engine* engine, const uint8_t* bytes, size_t len,
                                 tvb_component** out);
/* Serialized native code; free with tvb_bytes_free. */
tvb_status tvb_component_serialize(const tvb_component* component, uint8_t** data, size_t* len);
void tvb_bytes_free(uint8_t* data, size_t len);
/* Loads a file written from tvb_component_serialize by a compatible engine.
 * Trusts the file: only pass files the host itself wrote. */
tvb_status tvb_component_deserialize_file(const tvb_engine* engine, const char* path,
                                          tvb_component** out);
void tvb_component_free(tvb_component* component);

/* Calls `each` with the name of every import (kind 0) and export (kind 1) of
 * the component's top level, e.g. "torvyn:streaming/types@0.1.0". */
void tvb_component_interfaces(const tvb_component* component, void* user,
                              void (*each)(void* user, int32_t kind, const char* name, size_t len));

/* --- linking ----------------------------------------------------------- */

/* Links the torvyn host interfaces plus the WASI interfaces `grants` allow,
 * and checks that the component exports `role`'s interface. */
tvb_status tvb_prepare(const tvb_engine* engine, const tvb_component* component, int32_t role,
                       const tvb_grants* grants, tvb_prepared** out);
void tvb_prepared_free(tvb_prepared* prepared);

/* --- instances --------------------------------------------------------- */

tvb_status tvb_instance_new(const tvb_prepared* prepared, void* node,
                            const tvb_instance_limits* limits, tvb_instance** out);
void tvb_instance_free(tvb_instance* instance);
/* 1 if the component exports torvyn:streaming/lifecycle. */
int32_t tvb_instance_has_lifecycle(const tvb_instance* instance);

tvb_status tvb_call_init(tvb_instance* instance, const char* config, size_t len,
                         tvb_guest_error* err);
tvb_status tvb_call_teardown(tvb_instance* instance);

tvb_status tvb_call_pull(tvb_instance* instance, uint32_t context, tvb_output* out,
                         tvb_guest_error* err);
tvb_status tvb_call_notify(tvb_instance* instance, int32_t pause);
/* out->present == 0 means the processor dropped the element. */
tvb_status tvb_call_process(tvb_instance* instance, const tvb_element* element, tvb_output* out,
                            tvb_guest_error* err);
/* *pause = 1 when the sink asked to pause. */
tvb_status tvb_call_push(tvb_instance* instance, const tvb_element* element, int32_t* pause,
                         tvb_guest_error* err);
tvb_status tvb_call_complete(tvb_instance* instance, tvb_guest_error* err);
tvb_status tvb_call_accept(tvb_instance* instance, const tvb_element* element, int32_t* accepted,
                           tvb_guest_error* err);
/* Calls `port` once per port name the router chose. */
tvb_status tvb_call_route(tvb_instance* instance, const tvb_element* element, void* user,
                          void (*port)(void* user, const char* name, size_t len),
                          tvb_guest_error* err);
/* Calls `port` once per port name the router declares. */
tvb_status tvb_call_ports(tvb_instance* instance, void* user,
                          void (*port)(void* user, const char* name, size_t len));
tvb_status tvb_call_ingest(tvb_instance* instance, const tvb_element* element, tvb_output* out,
                           tvb_guest_error* err);
/* Calls `each` once per element the aggregator flushed. */
tvb_status tvb_call_flush(tvb_instance* instance, void* user,
                          void (*each)(void* user, const tvb_output* out), tvb_guest_error* err);

/* --- WIT ----------------------------------------------------------------- */

/* Parses the WIT package in `dir` (and its deps/). On failure the message
 * (tvb_last_error) names file, line and column. */
tvb_status tvb_wit_check(const char* dir);

#ifdef __cplusplus
}
#endif

#endif /* TORVYN_BRIDGE_H */
