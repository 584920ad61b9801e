// The pipeline manifest (Torvyn.toml): flows of named nodes joined by edges.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/error.hpp"
#include "torvyn/core/role.hpp"

namespace torvyn {

struct SourceLocation {
    std::string file;
    std::uint32_t line = 0;
    std::uint32_t column = 0;
    // "Torvyn.toml:12:3" (or just the file when the position is unknown).
    [[nodiscard]] std::string str() const;
};

// What a node does when a call fails (the component returns an error, traps,
// or misses its deadline).
enum class ErrorPolicy : std::uint8_t {
    fail,         // stop the flow (default)
    skip,         // count the element as failed and go on
    retry,        // call again up to `retries` times with backoff, then fail
    dead_letter,  // send the element to the `dead-letter` sink and go on
};

// What an edge does when its queue is full.
enum class OverflowPolicy : std::uint8_t {
    block,        // the producer waits (default; nothing is lost)
    drop_oldest,  // the oldest queued element is dropped
    drop_newest,  // the arriving element is dropped
    fail,         // the flow fails
};

// What linking does with a WASI import the node is not granted.
enum class UngrantedImports : std::uint8_t {
    refuse,  // the component is refused (default)
    deny,    // linked to stubs: each call fails (E0404) and is audited
};

std::string_view error_policy_name(ErrorPolicy p);
std::string_view overflow_policy_name(OverflowPolicy p);

// A host directory granted to a node (capability "dirs").
struct DirGrant {
    std::string host;   // as written; relative to the manifest's folder
    std::string guest;  // path the component sees
    bool writable = false;
    SourceLocation where;
};

// A key of a connector node that the manifest does not know itself: one of
// its kind's settings, kept as written for the kind's own check.
struct Setting {
    enum class Type : std::uint8_t { string, integer, boolean, table, other };
    std::string key;
    Type type = Type::other;
    std::string text;  // string
    std::int64_t integer = 0;
    bool boolean = false;
    // table: its keys (one level; a nested table is Type::other), e.g. a
    // Kafka node's `properties` handed to librdkafka.
    std::vector<Setting> entries;
    SourceLocation where;
};

struct NodeSpec {
    std::string name;
    std::string component;  // path as written; see resolve_component()
    // A connector (kind = "file", "stdin", ...): host code instead of a
    // component, set up from `settings` (src/connectors). Exactly one of
    // `component` and `kind` is set.
    std::string kind;
    std::vector<Setting> settings;
    SourceLocation kind_where;
    [[nodiscard]] bool is_connector() const { return !kind.empty(); }
    [[nodiscard]] const Setting* setting(std::string_view key) const;
    Role role = Role::processor;
    std::string config;  // handed to the component's init
    // Grants (deny-all by default).
    std::vector<std::string> capabilities;  // named ones (core/capability.hpp)
    std::vector<DirGrant> dirs;
    std::vector<std::string> env;      // names of host environment variables
    std::vector<std::string> connect;  // "ip:port" or "localhost:port"
    SourceLocation grants_where;       // first grant key, for warnings
    UngrantedImports ungranted_imports = UngrantedImports::refuse;
    // Limits.
    std::uint64_t max_memory = 0;          // linear memory, bytes; 0: the runtime's
    std::uint64_t max_table_elements = 0;  // 0: none
    std::uint64_t fuel = 0;                // per call; 0: unmetered
    bool restart_on_trap = false;          // on-trap = "restart"
    std::uint32_t max_restarts = 3;
    // Sources: at most this many elements per second (0: as fast as the
    // flow takes them). The flow's thread sleeps between pulls, no spinning.
    std::uint32_t max_rate = 0;
    // Nodes whose stage takes batches: at most this many elements per call
    // (what is waiting, or what a source has ready and downstream can take,
    // so at low rates often 1).
    std::uint32_t batch = 16;
    // The driver thread that runs this node (1, 2, ...); 0: placed by the
    // flow. Pinning any node places them all by hand (see FlowSpec::threads).
    std::uint32_t thread = 0;
    // Routers: the ports the operator expects; checked by `torvyn link`.
    std::vector<std::string> ports;
    ErrorPolicy on_error = ErrorPolicy::fail;
    std::uint32_t retries = 3;
    std::chrono::milliseconds retry_backoff{10};
    std::string dead_letter;                    // sink node for ErrorPolicy::dead_letter
    std::uint64_t max_buffer_memory = 0;        // bytes the component may hold; 0: no own limit
    std::chrono::milliseconds call_timeout{0};  // 0: the flow's
    SourceLocation where;
};

struct EdgeSpec {
    std::string from;
    std::string from_port;  // routers only: from = "router.port"
    std::string to;
    std::uint32_t capacity = 0;              // 0: the flow's default
    std::optional<OverflowPolicy> overflow;  // none: the flow's default
    SourceLocation where;
    SourceLocation from_where;  // the `from` and `to` values
    SourceLocation to_where;
};

struct FlowSpec {
    std::string name;
    std::string description;
    std::uint32_t queue_capacity = 64;
    // Elements a source may emit per scheduling turn: 1 keeps end-to-end
    // latency lowest; more trades latency for some throughput.
    std::uint32_t source_batch = 1;
    OverflowPolicy overflow = OverflowPolicy::block;
    // Driver threads: at most this many run the flow's stages (1: all on one
    // thread); 0 ("auto"): up to the machine's cores. Stages are placed from
    // their measured cost: a flow moves to more threads only when its
    // stages keep one thread busy and splitting them pays for the hand-offs.
    std::uint32_t threads = 0;
    // Backpressure hysteresis, as fractions of an edge's capacity: sources are
    // paused when a queue reaches the high mark and resumed at the low mark.
    double high_watermark = 0.75;
    double low_watermark = 0.25;
    std::chrono::milliseconds call_timeout{10'000};
    std::chrono::milliseconds timeout{0};  // whole flow; 0: none
    std::chrono::milliseconds drain_timeout{5'000};
    std::uint64_t max_buffer_memory = 256ull << 20;  // bytes held by the whole flow
    // A node that stops (fatal, a trap with no restart left) while the flow
    // goes on is not a failure of the run: exit status 0.
    bool allow_failures = false;
    std::vector<NodeSpec> nodes;
    std::vector<EdgeSpec> edges;
    SourceLocation where;

    [[nodiscard]] const NodeSpec* find(std::string_view node) const;
};

struct Manifest {
    std::filesystem::path path;
    std::vector<FlowSpec> flows;
};

// What the parser asks about connector nodes, so that config does not know
// the kinds: implemented by torvyn::connectors (connector_kinds()).
class NodeKinds {
public:
    virtual ~NodeKinds() = default;
    // The role of a node of `kind` that names none (a kind with one role).
    [[nodiscard]] virtual std::optional<Role> default_role(std::string_view kind) const = 0;
    // The node's kind, role and settings: errors at their places.
    virtual void check(const NodeSpec& node, std::vector<Error>& errors) const = 0;
    // What the flow's connector nodes need of each other (after every
    // node was checked on its own): errors at their places.
    virtual void check_flow(const FlowSpec& flow, std::vector<Error>& errors) const {
        (void)flow, (void)errors;
    }
    // The `batch` of a node of `kind` that sets none (none: the usual 16).
    [[nodiscard]] virtual std::optional<std::uint32_t> default_batch(std::string_view kind) const {
        (void)kind;
        return std::nullopt;
    }
};

// Parsing collects every problem it can find, not only the first.
struct ManifestLoad {
    Manifest manifest;
    std::vector<Error> errors;
    [[nodiscard]] bool ok() const { return errors.empty(); }
};

// Without `kinds`, connector nodes must name their role and their settings
// are checked only when their stage is made.
ManifestLoad load_manifest(const std::filesystem::path& path, const NodeKinds* kinds = nullptr);

// A router's ports against its edges, both ways: every edge names one of
// `ports`, every port has an edge. `whose` says where the list comes from
// ("ports", "it declares"), for the message. E0105 errors, all of them.
std::vector<Error> check_router_ports(const FlowSpec& flow, const NodeSpec& router,
                                      const std::vector<std::string>& ports,
                                      std::string_view whose);

// The flow's nodes (indices into flow.nodes), upstream first along its edges
// and dead-letter links; nullopt when they form a cycle.
std::optional<std::vector<std::size_t>> topological_order(const FlowSpec& flow);
ManifestLoad parse_manifest(std::string_view text, const std::filesystem::path& path,
                            const NodeKinds* kinds = nullptr);

// "250ms", "5s", "2m", "1h", or a bare number of milliseconds.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

// "512B", "64KiB", "16MiB", "1GiB" (also KB/MB/GB as powers of 1000), or a
// bare number of bytes.
Result<std::uint64_t> parse_size(std::string_view text);

// Finds a node's component file: absolute, relative to the manifest's folder,
// then relative to each folder of `search_path`. Lists what it tried on failure.
Result<std::filesystem::path> resolve_component(
    const Manifest& manifest, const NodeSpec& node,
    const std::vector<std::filesystem::path>& search_path);

}  // namespace torvyn
