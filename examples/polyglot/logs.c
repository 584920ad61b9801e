// A source in C: `count` JSON log lines (config "count=N", default 18),
// made up from fixed tables so every run emits the same lines. Every sixth
// line is broken on purpose (the parser dead-letters it).
#include <string.h>

#include <torvyn/guest.h>

static uint64_t count = 18;
static uint64_t next = 0;

static const char* const users[] = {"alice@example.com", "bob@corp.example", "carol@example.org",
                                    "dave"};
static const char* const ips[] = {"10.0.0.7", "192.168.1.20", "172.16.5.4"};
static const char* const levels[] = {"info", "warn", "info", "error", "debug"};
static const char* const messages[] = {"login ok", "payment accepted", "cache miss",
                                       "upstream timeout", "password reset for carol@example.org"};
// What breaks a line: not JSON, a missing field, an unknown level.
static const char* const broken[] = {
    "{\"ts\": 1767225600, \"level\": \"info\", \"msg\": ",
    "{\"ts\": 1767225600, \"level\": \"info\", \"msg\": \"no user\"}",
    ("{\"ts\": 1767225600, \"level\": \"loud\", \"user\": \"x\", "
     "\"msg\": \"?\", \"latency_ms\": 1}")};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

// Appends text (no stdio: snprintf would import the C library's files).
static char* put(char* at, const char* text) {
    size_t n = strlen(text);
    memcpy(at, text, n);
    return at + n;
}

bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config, torvyn_error_t* err) {
    count = torvyn_config_u64(config, "count", 18);
    torvyn_string_free(config);
    if (count > 1000000) {
        return torvyn_fail(err, TORVYN_ERROR_INVALID_INPUT, "count must be at most 1000000");
    }
    return true;
}

bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret, torvyn_error_t* err) {
    if (next == count) {
        return torvyn_pulled_exhausted(ret);
    }
    char line[256];
    char* at = line;
    const uint64_t i = next;
    if (i % 6 == 5) {
        at = put(at, broken[(i / 6) % COUNT_OF(broken)]);
    } else {
        at = put(at, "{\"ts\": ");
        at += torvyn_format_u64(1767225600 + i * 7, at);
        at = put(put(put(at, ", \"level\": \""), levels[i % COUNT_OF(levels)]), "\", \"user\": \"");
        at =
            put(put(put(at, users[i % COUNT_OF(users)]), "\", \"ip\": \""), ips[i % COUNT_OF(ips)]);
        at = put(put(put(at, "\", \"msg\": \""), messages[(i * 3) % COUNT_OF(messages)]),
                 "\", \"latency_ms\": ");
        at += torvyn_format_u64((i * 137) % 700, at);
        at = put(at, "}");
    }
    return torvyn_pulled_element(line, (size_t)(at - line), "application/json", next++, ret, err);
}

void exports_torvyn_streaming_source_notify(
    exports_torvyn_streaming_source_backpressure_signal_t signal) {
    (void)signal;
}
