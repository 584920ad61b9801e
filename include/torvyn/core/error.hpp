// Errors as values. Expected failures (bad manifest, guest trap, missing file)
// travel as `Error` inside `Result<T>`; exceptions are not used for them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace torvyn {

// Stable error codes. The numbers never change meaning; docs/errors.md
// describes each with its cause and fix.
enum class ErrorCode : std::uint16_t {
    // Manifest and configuration (1xx)
    manifest_not_found = 100,
    manifest_syntax = 101,
    manifest_schema = 102,
    manifest_duplicate = 103,
    manifest_unknown_node = 104,
    manifest_topology = 105,
    manifest_value = 106,
    router_ports_unchecked = 107,  // a warning
    // Components and linking (2xx)
    component_not_found = 200,
    component_invalid = 201,
    component_wrong_world = 202,
    component_link = 203,
    // 204 is retired (the compile cache never fails a run).
    component_unused_grant = 205,  // a warning
    grant_invalid = 206,
    wit_invalid = 207,
    // Running guests (3xx)
    guest_trap = 300,
    guest_deadline = 301,
    guest_limit = 302,
    guest_error = 303,
    guest_init_failed = 304,
    guest_fatal = 305,
    flow_timeout = 306,
    run_degraded = 307,  // the flow completed, but nodes stopped on the way
    // Resources (4xx)
    resource_budget = 400,
    resource_handle = 401,
    queue_overflow = 402,
    host_pool = 403,    // the engine's instance pool is full
    denied_call = 404,  // a call of an ungranted WASI function, linked to a denying stub
    // Command line and host (5xx); exporters (600: OTLP or a trace file could
    // not deliver, a warning); packaging (7xx)
    export_failed = 600,
    oci_invalid = 700,          // not a valid OCI layout, manifest or reference
    oci_digest_mismatch = 701,  // content does not hash to its digest
    oci_not_found = 702,        // no such artifact, tag or blob
    registry_failed = 703,      // the registry answered an error or could not be reached
    registry_auth = 704,        // the registry refused the credentials (or asked for some)
    signature_invalid = 710,    // a key, payload or signature that cannot be used
    unsigned_artifact = 711,    // --trust: the artifact has no signature
    untrusted_artifact = 712,   // --trust: no signature verifies with a trusted key
    // torvyn serve and its clients
    request_invalid = 800,  // an admin request that is not what the API takes
    deployment_not_found = 801,
    deployment_exists = 802,
    unauthorized = 803,       // no or a wrong bearer token
    agent_state = 804,        // the state database cannot be read or written
    agent_unreachable = 805,  // the CLI cannot reach the agent
    upgrade_refused = 806,    // the new version does not fit; nothing changed
    not_granted = 807,        // components need capabilities the operator did not grant
    request_too_large = 808,
    usage = 500,
    io = 501,
    engine = 502,
    listen_address = 503,  // --metrics/--ui: not ADDR:PORT
    listen_failed = 504,   // nothing can listen at that address (in use, not this machine's)
    internal = 599,
    // Changing a running flow (8xx)
    swap_refused = 820,  // Flow::replace_stage refused; the node's old stage runs on
    // Connectors (90x-91x: src/connectors)
    connector_setting = 900,      // a connector's setting is unknown, mistyped or invalid
    connector_role = 901,         // the kind cannot play the node's role
    connector_unavailable = 902,  // link: what the connector reads or writes is not there
    connector_io = 903,           // reading or writing failed while the flow ran
    connector_oversized = 904,    // a line or frame longer than the node's limit
    connector_truncated = 905,    // the input ended inside a frame
    // Kafka (src/connectors/kafka_*.cpp)
    kafka_bad_record = 910,        // a record's headers are not valid (count, name)
    kafka_delivery = 911,          // the broker did not take a produced record
    kafka_client = 912,            // librdkafka refused a property or failed for good
    kafka_transaction = 913,       // a transactional producer was fenced or failed for good
    kafka_transaction_pair = 914,  // a transactional sink and a commit = "transaction" source
                                   // need each other in one flow
    // NATS JetStream (src/connectors/nats_*.cpp)
    nats_bad_record = 915,  // a message's headers are over the limits, or a subject cannot be made
    nats_publish = 916,     // JetStream did not take a published message (refused, no ack in time)
};

// "E0202" for component_wrong_world.
std::string error_code_name(ErrorCode code);

struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;  // what went wrong, one line
    std::string where;    // "Torvyn.toml:12:3", "node 'shout'", or empty
    std::string hint;     // how to fix it, or empty

    Error() = default;
    Error(ErrorCode c, std::string msg, std::string at = {}, std::string fix = {})
        : code(c), message(std::move(msg)), where(std::move(at)), hint(std::move(fix)) {}

    // "error[E0202] Torvyn.toml:12:3: message" and, when there is one, a
    // second line "  hint: ...".
    [[nodiscard]] std::string format() const;
};

// A value or an Error.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return std::get<0>(v_); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

// Success or an Error.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

    [[nodiscard]] bool ok() const { return !failed_; }
    explicit operator bool() const { return ok(); }
    const Error& error() const& { return error_; }
    Error&& error() && { return std::move(error_); }

private:
    Error error_;
    bool failed_ = false;
};

}  // namespace torvyn
