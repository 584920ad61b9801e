// The table of connector kinds, and what the manifest parser, Flow::create
// and `torvyn link` ask of it.
#include "torvyn/connectors/connectors.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "file.hpp"
#include "kafka.hpp"
#include "nats.hpp"
#include "torvyn/core/suggest.hpp"

namespace torvyn {
namespace {

using namespace connectors;

// Elements per call of a broker node that sets no `batch`: a sink's wait for
// acks is paid per batch (with 16, ~10k elements/s at a 1 ms round trip).
constexpr std::uint32_t kBrokerBatch = 512;

// One row per kind.
const std::array<ConnectorKind, 5> kKinds = {{
    {"file", true, true, check_file, probe_file, make_file},
    {"stdin", true, false, check_stdin, probe_stdio, make_stdin},
    {"stdout", false, true, check_stdout, probe_stdio, make_stdout},
    {"nats-jetstream", true, true, check_nats, probe_nats, make_nats, kBrokerBatch},
    {"kafka", true, true, check_kafka, probe_kafka, make_kafka, kBrokerBatch, check_kafka_flow},
}};

std::string roles_of(const ConnectorKind& k) {
    return k.source && k.sink ? "a source or a sink" : k.source ? "a source" : "a sink";
}

class Kinds final : public NodeKinds {
public:
    [[nodiscard]] std::optional<Role> default_role(std::string_view kind) const override {
        const ConnectorKind* k = find_connector_kind(kind);
        if (k == nullptr || k->source == k->sink) {
            return std::nullopt;  // unknown (checked below), or the role says which
        }
        return k->source ? Role::source : Role::sink;
    }

    [[nodiscard]] std::optional<std::uint32_t> default_batch(std::string_view kind) const override {
        const ConnectorKind* k = find_connector_kind(kind);
        if (k == nullptr || k->default_batch == 0) {
            return std::nullopt;
        }
        return k->default_batch;
    }

    void check_flow(const FlowSpec& flow, std::vector<Error>& errors) const override {
        for (const auto& k : kKinds) {
            const bool used = std::any_of(flow.nodes.begin(), flow.nodes.end(),
                                          [&](const NodeSpec& n) { return n.kind == k.name; });
            if (used && k.check_flow != nullptr) {
                k.check_flow(flow, errors);
            }
        }
    }

    void check(const NodeSpec& node, std::vector<Error>& errors) const override {
        const ConnectorKind* k = find_connector_kind(node.kind);
        if (k == nullptr) {
            std::vector<std::string_view> names;
            for (const auto& row : kKinds) {
                names.push_back(row.name);
            }
            errors.emplace_back(
                ErrorCode::connector_setting,
                fmt::format("unknown connector kind '{}' for node '{}'", node.kind, node.name),
                node.kind_where.str(),
                fmt::format("{}kinds: {}", did_you_mean(node.kind, names), fmt::join(names, ", ")));
            return;
        }
        const bool fits =
            (node.role == Role::source && k->source) || (node.role == Role::sink && k->sink);
        if (!fits) {
            errors.emplace_back(
                ErrorCode::connector_role,
                fmt::format("node '{}': a {} connector cannot be a {}; it is {}", node.name,
                            k->name, role_name(node.role), roles_of(*k)),
                node.kind_where.str(),
                k->source && k->sink
                    ? std::string("set role = \"source\" or role = \"sink\"")
                    : fmt::format("use kind = \"{}\" for a {}", k->source ? "stdout" : "stdin",
                                  role_name(node.role)));
            return;
        }
        k->check(node, errors);
    }
};

}  // namespace

std::span<const ConnectorKind> connector_kinds() {
    return kKinds;
}

const ConnectorKind* find_connector_kind(std::string_view name) {
    for (const auto& k : kKinds) {
        if (k.name == name) {
            return &k;
        }
    }
    return nullptr;
}

const NodeKinds& connector_node_kinds() {
    static const Kinds kinds;
    return kinds;
}

namespace {

// The node's settings checked again (a manifest parsed without the table),
// so that a stage is never made from settings nobody checked.
Result<const ConnectorKind*> checked(const NodeSpec& node) {
    std::vector<Error> errors;
    connector_node_kinds().check(node, errors);
    if (!errors.empty()) {
        return std::move(errors.front());
    }
    return find_connector_kind(node.kind);
}

}  // namespace

Result<std::unique_ptr<Stage>> make_connector_stage(StageSlot& slot,
                                                    const std::filesystem::path& base) {
    auto kind = checked(slot.node);
    if (!kind) {
        return std::move(kind).error();
    }
    return kind.value()->make(slot, base);
}

Result<std::string> probe_connector(const NodeSpec& node, const std::filesystem::path& base) {
    auto kind = checked(node);
    if (!kind) {
        return std::move(kind).error();
    }
    return kind.value()->probe(node, base);
}

}  // namespace torvyn
