// Runs one flow: instantiates its nodes, drives elements from sources to
// sinks through bounded queues on one thread, and reports what happened.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/resources/buffer_store.hpp"
#include "torvyn/resources/copy_ledger.hpp"

namespace torvyn {

struct NodeReport {
    std::string name;
    Role role = Role::processor;
    std::uint64_t elements_in = 0;
    std::uint64_t elements_out = 0;
    std::uint64_t filtered = 0;  // rejected by a filter or dropped by a processor
    std::uint64_t errors = 0;
    std::uint64_t calls = 0;
    std::chrono::nanoseconds busy{0};  // time inside the component's calls
    CopyLedger copies;
    bool cache_hit = false;
};

struct FlowReport {
    std::string name;
    std::vector<NodeReport> nodes;
    // Element accounting: every element a source emitted ends up in exactly
    // one of these (per path it takes).
    std::uint64_t emitted = 0;    // produced by sources
    std::uint64_t delivered = 0;  // accepted by a sink
    std::uint64_t filtered = 0;
    std::uint64_t failed = 0;    // lost to an error (counted, never silent)
    std::uint64_t branches = 0;  // extra paths: an element sent on k edges adds k-1
    CopyLedger copies;
    BufferStats buffers;
    std::chrono::nanoseconds wall{0};
    std::chrono::nanoseconds startup{0};  // load + instantiate + init
    std::optional<Error> error;           // why the flow stopped early

    [[nodiscard]] bool ok() const { return !error.has_value(); }
    [[nodiscard]] double elements_per_second() const;
    // Every path an element took ended exactly once:
    // emitted + branches == delivered + filtered + failed.
    [[nodiscard]] bool accounting_balanced() const;
};

struct RunOptions {
    std::vector<std::filesystem::path> component_path;
};

class Flow {
public:
    // Loads, links and instantiates every node. Nothing runs yet.
    static Result<std::unique_ptr<Flow>> create(Runtime& runtime, const Manifest& manifest,
                                                const FlowSpec& spec, const RunOptions& options);
    ~Flow();
    Flow(const Flow&) = delete;
    Flow& operator=(const Flow&) = delete;

    // init → drive until every source is exhausted → complete → teardown.
    FlowReport run();

private:
    struct State;
    explicit Flow(std::unique_ptr<State> state);
    std::unique_ptr<State> s_;
};

}  // namespace torvyn
