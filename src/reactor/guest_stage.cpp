// GuestStage: a node whose stage is a WebAssembly component. Every call
// forwards to the engine's Instance; a restart replaces the instance. Also
// the Flow::create that links and instantiates a component per node (or
// makes a connector's stage for a node with a kind), and the
// audit log as an observer of containments and restarts.
#include <fmt/format.h>

#include "torvyn/connectors/connectors.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/engine/engine.hpp"
#include "torvyn/reactor/flow.hpp"
#include "torvyn/reactor/link.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn {
namespace {

class GuestStage final : public Stage {
public:
    GuestStage(Runtime& runtime, std::shared_ptr<const PreparedComponent> prepared, NodeHost& host,
               InstanceLimits limits, std::unique_ptr<Instance> instance)
        : runtime_(runtime),
          prepared_(std::move(prepared)),
          host_(host),
          limits_(limits),
          instance_(std::move(instance)) {}

    CallResult init(std::string_view config) override { return instance_->init(config); }
    CallResult teardown() override { return instance_->teardown(); }
    CallResult pull(Produced& out) override { return instance_->pull(out); }
    CallResult notify(bool pause) override { return instance_->notify(pause); }
    CallResult process(const ElementRef& in, Produced& out) override {
        return instance_->process(in, out);
    }
    CallResult push(const ElementRef& in, bool& pause) override {
        return instance_->push(in, pause);
    }
    CallResult complete() override { return instance_->complete(); }
    CallResult accept(const ElementRef& in, bool& accepted) override {
        return instance_->accept(in, accepted);
    }
    CallResult ports(std::vector<std::string>& names) override { return instance_->ports(names); }
    CallResult route(const ElementRef& in, std::vector<std::string>& ports) override {
        return instance_->route(in, ports);
    }
    CallResult ingest(const ElementRef& in, Produced& out) override {
        return instance_->ingest(in, out);
    }
    CallResult flush(std::vector<Produced>& out) override { return instance_->flush(out); }

    // A component that exports its role's batch form (contract 0.2) takes
    // batches; the node's `batch` bounds them. One element goes through the
    // per-element form, which costs less than a batch of one (make bench's
    // 64 B chain at source-batch = 1 shows it).
    [[nodiscard]] std::size_t batch_limit() const override {
        return prepared_->batched() ? limits::kMaxBatch : 1;
    }
    CallResult pull_batch(std::size_t max, std::vector<Produced>& out) override {
        return max == 1 ? Stage::pull_batch(max, out) : instance_->pull_batch(max, out);
    }
    CallResult process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                             std::span<CallResult> each) override {
        return in.size() == 1 ? Stage::process_batch(in, out, each)
                              : instance_->process_batch(in, out, each);
    }
    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override {
        return in.size() == 1 ? Stage::push_batch(in, each, pause)
                              : instance_->push_batch(in, each, pause);
    }
    CallResult accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                            std::span<CallResult> each) override {
        return in.size() == 1 ? Stage::accept_batch(in, kept, each)
                              : instance_->accept_batch(in, kept, each);
    }

    // A fresh instance in a new store. What the old one held goes back to the
    // pool before the new one can make anything.
    CallResult restart(std::string_view config) override {
        instance_.reset();
        host_.buffers->reclaim(host_.id);
        auto fresh = runtime_.instantiate(prepared_, host_, limits_);
        if (!fresh) {
            return CallResult::failure(CallStatus::internal, fresh.error().message);
        }
        instance_ = std::move(fresh).value();
        return instance_->init(config);
    }

    void close() override {
        instance_.reset();
        flush_guest_output(host_);
    }

private:
    Runtime& runtime_;
    std::shared_ptr<const PreparedComponent> prepared_;
    NodeHost& host_;
    InstanceLimits limits_;
    std::unique_ptr<Instance> instance_;
};

// Containments, restarts and failed calls, as "contain", "restart" and
// "error" lines of the audit log (grants and denials are written while
// linking). Errors: the report's first and last few, as "error" lines and a
// closing "errors" line with the count of all.
class AuditObserver final : public FlowObserver {
public:
    explicit AuditObserver(AuditLog& log) : log_(log) {}
    [[nodiscard]] std::uint32_t events() const override {
        return kContainmentEvents | kErrorEvents;
    }
    void on_finish(const FlowReport& report) override {
        for (const auto& f : report.failures) {
            nlohmann::json fields = {{"code", error_code_name(f.error.code)},
                                     {"reason", f.error.message}};
            if (f.element) {
                fields["element"] = *f.element;
            }
            log_.record("error", topology_.flow, f.node, std::move(fields));
        }
        if (errors_ != 0) {
            log_.record("errors", topology_.flow, "",
                        {{"count", errors_},
                         {"listed", report.failures.size()},
                         {"omitted", report.failures_omitted}});
        }
    }
    void on_error(std::uint32_t, const Error&, std::optional<std::uint64_t>,
                  const TraceContext*) override {
        ++errors_;
    }
    void on_start(const FlowTopology& topology) override { topology_ = topology; }
    void on_contained(std::uint32_t node, const Error& why, std::optional<std::uint64_t> element,
                      const TraceContext* trace) override {
        nlohmann::json fields = {{"code", error_code_name(why.code)}, {"reason", why.message}};
        if (element) {
            fields["element"] = *element;
        }
        if (trace != nullptr) {
            fields["trace_id"] = trace_id_hex(*trace);
        }
        log_.record("contain", topology_.flow, topology_.nodes.at(node), std::move(fields));
    }
    void on_restarted(std::uint32_t node, std::uint32_t restarts) override {
        log_.record("restart", topology_.flow, topology_.nodes.at(node), {{"restarts", restarts}});
    }

private:
    AuditLog& log_;
    FlowTopology topology_;
    std::uint64_t errors_ = 0;
};

}  // namespace

Result<std::unique_ptr<Stage>> instantiate_stage(Runtime& runtime, const LinkedNode& linked,
                                                 StageSlot& slot) {
    slot.report.cache_hit = linked.load.cache_hit;
    slot.report.language = linked.facts.language;
    const NodeSpec& n = slot.node;
    InstanceLimits limits;
    limits.call_deadline = n.call_timeout.count() > 0 ? n.call_timeout : slot.flow.call_timeout;
    limits.max_memory_bytes = n.max_memory;
    limits.max_table_elements = n.max_table_elements;
    limits.fuel = n.fuel;
    if (n.fuel != 0 && !runtime.options().fuel) {
        return at_node(Error(ErrorCode::engine, "a fuel budget needs a runtime that meters fuel"),
                       n);
    }
    auto instance = runtime.instantiate(linked.prepared, slot.host, limits);
    if (!instance) {
        return at_node(std::move(instance).error(), n);
    }
    return std::unique_ptr<Stage>(std::make_unique<GuestStage>(
        runtime, linked.prepared, slot.host, limits, std::move(instance).value()));
}

Result<std::unique_ptr<Flow>> Flow::create(Runtime& runtime, const Manifest& manifest,
                                           const FlowSpec& spec, const RunOptions& options) {
    const LinkContext ctx{&runtime, &manifest, options.component_path, options.audit};
    auto flow = create(spec, options, [&](StageSlot& slot) -> Result<std::unique_ptr<Stage>> {
        if (slot.node.is_connector()) {  // host code: nothing to link
            return make_connector_stage(slot, manifest.path.parent_path());
        }
        auto linked = link_node(ctx, slot.flow, slot.node, slot.warnings);
        if (!linked) {
            return std::move(linked).error();
        }
        return instantiate_stage(runtime, linked.value(), slot);
    });
    if (flow && options.audit != nullptr) {
        flow.value()->adopt(std::make_unique<AuditObserver>(*options.audit));
    }
    return flow;
}

}  // namespace torvyn
