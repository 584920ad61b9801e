/* Role-independent helpers; compiled once per world against its bindings. */
#include "torvyn/guest.h"

#include <stdlib.h>
#include <string.h>

bool torvyn_fail(torvyn_error_t* err, uint8_t kind, const char* message) {
    err->tag = kind;
    torvyn_string_t* text = NULL;
    switch (kind) {
        case TORVYN_ERROR_INVALID_INPUT:
            text = &err->val.invalid_input;
            break;
        case TORVYN_ERROR_UNAVAILABLE:
            text = &err->val.unavailable;
            break;
        case TORVYN_ERROR_INTERNAL:
            text = &err->val.internal;
            break;
        case TORVYN_ERROR_FATAL:
            text = &err->val.fatal;
            break;
        default:
            return false; /* deadline-exceeded carries no message */
    }
    /* The canonical ABI frees this string after the host has read it. */
    torvyn_string_dup(text, message != NULL ? message : "");
    return false;
}

void torvyn_element_done(torvyn_element_t* element) {
    torvyn_streaming_types_buffer_drop_borrow(element->payload);
#ifdef TORVYN_CONTRACT_0_1_0
    torvyn_streaming_types_flow_context_drop_borrow(element->context);
#endif
}

torvyn_list_u8_t torvyn_read_all(torvyn_borrow_buffer_t payload) {
    torvyn_list_u8_t bytes;
    torvyn_streaming_types_method_buffer_read_all(payload, &bytes);
    return bytes;
}

/* Finds `key` as a whole word followed by '=' and returns its value span. */
static bool config_find(const torvyn_string_t* config, const char* key, const char** value,
                        size_t* value_len) {
    if (config == NULL || key == NULL) {
        return false;
    }
    const char* s = (const char*)config->ptr;
    const size_t n = config->len;
    const size_t k = strlen(key);
    size_t i = 0;
    while (i < n) {
        while (i < n &&
               (s[i] == ' ' || s[i] == ',' || s[i] == ';' || s[i] == '\n' || s[i] == '\t')) {
            ++i;
        }
        const size_t start = i;
        while (i < n && s[i] != ' ' && s[i] != ',' && s[i] != ';' && s[i] != '\n' && s[i] != '\t') {
            ++i;
        }
        const size_t len = i - start;
        if (len > k && memcmp(s + start, key, k) == 0 && s[start + k] == '=') {
            *value = s + start + k + 1;
            *value_len = len - k - 1;
            return true;
        }
    }
    return false;
}

uint64_t torvyn_config_u64(const torvyn_string_t* config, const char* key, uint64_t fallback) {
    const char* v = NULL;
    size_t len = 0;
    if (!config_find(config, key, &v, &len) || len == 0) {
        return fallback;
    }
    uint64_t out = 0;
    for (size_t i = 0; i < len; ++i) {
        if (v[i] < '0' || v[i] > '9') {
            return fallback;
        }
        out = out * 10 + (uint64_t)(v[i] - '0');
    }
    return out;
}

bool torvyn_config_str(const torvyn_string_t* config, const char* key, char* out, size_t cap) {
    const char* v = NULL;
    size_t len = 0;
    if (cap == 0 || !config_find(config, key, &v, &len)) {
        return false;
    }
    if (len >= cap) {
        len = cap - 1;
    }
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}

size_t torvyn_format_u64(uint64_t value, char* out) {
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < n; ++i) {
        out[i] = digits[n - 1 - i];
    }
    return n;
}

#ifdef TORVYN_HAS_ALLOCATOR
/* The host takes at most 16 MiB from a guest per call (docs/limits.md);
 * larger payloads are appended in pieces of this size. */
#define TORVYN_CALL_CHUNK (8u << 20)

/* allocate, append piece by piece, set the content type, freeze. */
static bool make_in_pieces(const uint8_t* data, size_t len, torvyn_string_t* type,
                           torvyn_own_buffer_t* out, torvyn_error_t* err) {
    torvyn_streaming_types_own_mutable_buffer_t mb;
    torvyn_streaming_types_buffer_error_t berr;
    if (!torvyn_streaming_buffer_allocator_allocate(len, &mb, &berr)) {
        return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "buffer refused by host");
    }
    torvyn_streaming_types_borrow_mutable_buffer_t b =
        torvyn_streaming_types_borrow_mutable_buffer(mb);
    for (size_t at = 0; at < len; at += TORVYN_CALL_CHUNK) {
        torvyn_list_u8_t piece = {(uint8_t*)data + at,
                                  len - at < TORVYN_CALL_CHUNK ? len - at : TORVYN_CALL_CHUNK};
        if (!torvyn_streaming_types_method_mutable_buffer_append(b, &piece, &berr)) {
            torvyn_streaming_types_mutable_buffer_drop_own(mb);
            return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "buffer refused by host");
        }
    }
    torvyn_streaming_types_method_mutable_buffer_set_content_type(b, type);
    *out = torvyn_streaming_types_static_mutable_buffer_freeze(mb);
    return true;
}

bool torvyn_make_buffer(const void* data, size_t len, const char* content_type,
                        torvyn_own_buffer_t* out, torvyn_error_t* err) {
    torvyn_list_u8_t bytes = {(uint8_t*)data, len};
    torvyn_string_t type = {(uint8_t*)(content_type != NULL ? content_type : ""),
                            content_type != NULL ? strlen(content_type) : 0};
    if (len > TORVYN_CALL_CHUNK) {
        return make_in_pieces(bytes.ptr, len, &type, out, err);
    }
    /* One host call: allocate, copy in, set the content type, freeze. */
    torvyn_streaming_types_buffer_error_t berr;
    if (!torvyn_streaming_buffer_allocator_make(&bytes, &type, out, &berr)) {
        return torvyn_fail(err, TORVYN_ERROR_UNAVAILABLE, "buffer refused by host");
    }
    return true;
}

bool torvyn_make_output(const void* data, size_t len, const char* content_type, uint64_t sequence,
                        torvyn_output_t* out, torvyn_error_t* err) {
    out->meta.sequence = sequence;
    out->meta.timestamp_ns = 0; /* the host stamps it */
    return torvyn_make_buffer(data, len, content_type, &out->payload, err);
}

#if !defined(TORVYN_CONTRACT_0_1_0) && defined(EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT)
bool torvyn_pulled_element(const void* data, size_t len, const char* content_type,
                           uint64_t sequence, torvyn_pulled_t* ret, torvyn_error_t* err) {
    ret->tag = EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT;
    return torvyn_make_output(data, len, content_type, sequence, &ret->val.element, err);
}
#endif
#endif

/* Default lifecycle: components that need no set-up need not write one. */
__attribute__((weak)) bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config,
                                                                   torvyn_error_t* err) {
    (void)err;
    torvyn_string_free(config);
    return true;
}

__attribute__((weak)) void exports_torvyn_streaming_lifecycle_teardown(void) {}
