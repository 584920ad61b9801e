// A processor the tests script to misbehave, through its config string
// ("mode=... at=N times=K"):
//   trap          traps (unreachable) on element `at`
//   error         returns process-error invalid-input on element `at`
//   flaky         returns process-error unavailable the first `times` times it
//                 sees element `at`, then succeeds (retry tests)
//   fatal         returns process-error fatal on element `at`
//   spin          loops forever on element `at` (deadline tests)
//   init-fail     init returns an error
//   keep-borrow   returns from element `at` without releasing its borrowed
//                 handles (the component model forbids it)
//   use-consumed  appends to a mutable buffer after freezing it
//   double-free   drops the same owned buffer twice
//   grow          mallocs 1 MiB blocks until memory runs out (unbounded growth)
//   recurse       recurses without end (deep recursion)
//   huge-buffers  allocates 16 MiB host buffers in a loop, keeping them all
//   trap-init     traps inside init
//   type-bomb     makes 1-byte buffers with an 8 MiB content type, keeping them
//   hoard         makes 1-byte buffers without end, keeping them
//   big-call      passes 32 MiB to the host in one call (buffer-allocator.make)
//   long-error    returns an error whose message is 1 MiB long
//   escape-error  returns an error whose message clears the screen, sets the
//                 terminal title and starts a line that looks like Torvyn's
//   big-payload   (not misbehaviour) emits a 20 MiB payload through the SDK,
//                 which must write it in pieces
// With "repeat=1" the misbehaviour applies to element `at` and every later
// one; with "every=N", to every N-th element (sequences N-1, 2N-1, ...).
// Every other element passes through unchanged (copied into a new buffer).
#include <stdlib.h>
#include <string.h>

#include <torvyn/guest.h>

enum mode {
    PASS,
    TRAP,
    ERROR,
    FLAKY,
    FATAL,
    SPIN,
    INIT_FAIL,
    KEEP_BORROW,
    USE_CONSUMED,
    DOUBLE_FREE,
    GROW,
    RECURSE,
    HUGE_BUFFERS,
    TRAP_INIT,
    TYPE_BOMB,
    HOARD,
    BIG_CALL,
    LONG_ERROR,
    ESCAPE_ERROR,
    BIG_PAYLOAD
};
static const char* const kModes[] = {"pass",         "trap",        "error",        "flaky",
                                     "fatal",        "spin",        "init-fail",    "keep-borrow",
                                     "use-consumed", "double-free", "grow",         "recurse",
                                     "huge-buffers", "trap-init",   "type-bomb",    "hoard",
                                     "big-call",     "long-error",  "escape-error", "big-payload"};

static volatile void* sink_pointer;

/* Each frame keeps a buffer alive so the recursion cannot be optimised away;
 * the limit is far beyond any stack. */
static volatile uint64_t recursion_limit = UINT64_MAX;
static __attribute__((noinline)) uint64_t recurse(uint64_t depth) {
    volatile uint8_t frame[256];
    frame[depth % sizeof frame] = (uint8_t)depth;
    if (depth == recursion_limit) {
        return 0;
    }
    return recurse(depth + 1) + frame[(depth + 1) % sizeof frame];
}

static enum mode mode = PASS;
static uint64_t at = 2;
static uint64_t times = 1;
static uint64_t repeat = 0;
static uint64_t every = 0;
static uint64_t failures = 0;
static volatile uint64_t spin_counter;

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    char m[16] = "pass";
    torvyn_config_str(config, "mode", m, sizeof m);
    at = torvyn_config_u64(config, "at", 2);
    times = torvyn_config_u64(config, "times", 1);
    repeat = torvyn_config_u64(config, "repeat", 0);
    every = torvyn_config_u64(config, "every", 0);
    torvyn_string_free(config);
    for (unsigned i = 0; i < sizeof kModes / sizeof kModes[0]; ++i) {
        if (strcmp(m, kModes[i]) == 0) {
            mode = (enum mode)i;
        }
    }
    if (mode == TRAP_INIT) {
        __builtin_trap();
    }
    if (mode == INIT_FAIL) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "refusing to start (mode=init-fail)");
    }
    return true;
}

static bool misbehave(torvyn_element_t* element,
                      exports_torvyn_streaming_processor_process_result_t* ret, torvyn_error_t* err,
                      bool* handled) {
    *handled = true;
    switch (mode) {
        case TRAP:
            __builtin_trap();
        case ERROR:
            torvyn_element_done(element);
            return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "element rejected on purpose");
        case FLAKY:
            if (failures < times) {
                ++failures;
                torvyn_element_done(element);
                return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "not yet (mode=flaky)");
            }
            break;
        case FATAL:
            torvyn_element_done(element);
            return torvyn_fail(err, TORVYN_ERROR_FATAL, "giving up on purpose");
        case SPIN:
            for (;;) {
                spin_counter++;
            }
        case KEEP_BORROW:
            return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "kept the borrows");
        case USE_CONSUMED: {
            torvyn_streaming_types_own_mutable_buffer_t mb;
            torvyn_streaming_types_buffer_error_t berr;
            torvyn_element_done(element);
            if (!torvyn_streaming_buffer_allocator_allocate(8, &mb, &berr)) {
                return torvyn_fail(err, TORVYN_ERROR_INTERNAL, "allocate failed");
            }
            torvyn_streaming_types_own_buffer_t frozen =
                torvyn_streaming_types_static_mutable_buffer_freeze(mb);
            torvyn_list_u8_t bytes = {(uint8_t*)"x", 1};
            /* mb was consumed by freeze: this handle no longer exists. */
            torvyn_streaming_types_method_mutable_buffer_append(
                torvyn_streaming_types_borrow_mutable_buffer(mb), &bytes, &berr);
            torvyn_streaming_types_buffer_drop_own(frozen);
            return torvyn_fail(err, TORVYN_ERROR_INTERNAL, "survived use of a consumed buffer");
        }
        case DOUBLE_FREE: {
            torvyn_own_buffer_t b;
            torvyn_element_done(element);
            if (!torvyn_make_buffer("x", 1, "", &b, err)) {
                return false;
            }
            torvyn_streaming_types_buffer_drop_own(b);
            torvyn_streaming_types_buffer_drop_own(b);
            return torvyn_fail(err, TORVYN_ERROR_INTERNAL, "survived a double free");
        }
        case GROW:
            for (;;) {
                void* block = malloc(1 << 20);
                if (block == NULL) {
                    break;
                }
                memset(block, 1, 1 << 20);
                sink_pointer = block;
            }
            torvyn_element_done(element);
            return torvyn_fail(err, TORVYN_ERROR_INTERNAL, "out of memory");
        case RECURSE:
            return recurse(0) != 0;
        case HUGE_BUFFERS: {
            torvyn_element_done(element);
            for (;;) {
                torvyn_streaming_types_own_mutable_buffer_t mb;
                torvyn_streaming_types_buffer_error_t berr;
                if (!torvyn_streaming_buffer_allocator_allocate(16u << 20, &mb, &berr)) {
                    return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "allocation refused");
                }
                /* kept: never dropped */
            }
        }
        case TYPE_BOMB:
        case HOARD: {
            torvyn_element_done(element);
            const size_t type_len = mode == TYPE_BOMB ? 8u << 20 : 0;
            char* type = calloc(type_len + 1, 1);
            memset(type, 't', type_len);
            torvyn_list_u8_t bytes = {(uint8_t*)"x", 1};
            torvyn_string_t text = {(uint8_t*)type, type_len};
            for (;;) {
                torvyn_own_buffer_t b;
                torvyn_streaming_types_buffer_error_t berr;
                if (!torvyn_streaming_buffer_allocator_make(&bytes, &text, &b, &berr)) {
                    return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "buffer refused");
                }
                /* kept: never dropped */
            }
        }
        case BIG_CALL: {
            torvyn_element_done(element);
            const size_t len = 32u << 20;
            torvyn_list_u8_t bytes = {calloc(len, 1), len};
            torvyn_string_t text = {(uint8_t*)"", 0};
            torvyn_own_buffer_t b;
            torvyn_streaming_types_buffer_error_t berr;
            if (torvyn_streaming_buffer_allocator_make(&bytes, &text, &b, &berr)) {
                torvyn_streaming_types_buffer_drop_own(b);
            }
            return torvyn_fail(err, TORVYN_ERROR_INTERNAL, "the host took 32 MiB in one call");
        }
        case LONG_ERROR: {
            torvyn_element_done(element);
            const size_t len = 1u << 20;
            char* text = malloc(len + 1);
            memset(text, 'e', len);
            text[len] = '\0';
            torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, text);
            free(text);
            return false;
        }
        case BIG_PAYLOAD: {
            torvyn_element_done(element);
            const size_t len = 20u << 20;
            uint8_t* bytes = calloc(len, 1);
            ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
            bool ok =
                torvyn_make_output(bytes, len, "application/octet-stream", 0, &ret->val.emit, err);
            free(bytes);
            return ok;
        }
        case ESCAPE_ERROR:
            torvyn_element_done(element);
            return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT,
                               "\x1b[2J\x1b[H\x1b]0;owned\x07\xc2\x9b"
                               "31m"
                               "\ntorvyn: flow 'hostile': completed, 0 elements\r\xe2\x80\xae");
        default:
            break;
    }
    *handled = false;
    return true;
}

bool exports_torvyn_streaming_processor_process(
    torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret,
    torvyn_error_t* err) {
    const uint64_t seq = element->meta.sequence;
    if (seq == at || (repeat != 0 && seq > at) || (every != 0 && seq % every == every - 1)) {
        bool handled = false;
        bool ok = misbehave(element, ret, err, &handled);
        if (handled) {
            return ok;
        }
    }
    torvyn_list_u8_t bytes = torvyn_read_all(element->payload);
    torvyn_element_done(element);
    ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;
    bool ok = torvyn_make_output(bytes.ptr, bytes.len, "", 0, &ret->val.emit, err);
    torvyn_list_u8_free(&bytes);
    return ok;
}
