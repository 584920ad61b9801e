#include "torvyn/reactor/flow.hpp"

#include <algorithm>
#include <map>
#include <random>

#include <fmt/format.h>

#include "torvyn/security/capabilities.hpp"

namespace torvyn {
namespace {

using Clock = std::chrono::steady_clock;

// Calls per node per scheduling turn: large enough to amortise the sweep,
// small enough that every node gets its turn promptly.
constexpr int kBatch = 64;

// A bounded FIFO of elements in transit on one edge.
class Queue {
public:
    explicit Queue(std::uint32_t capacity) : ring_(capacity) {}
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] bool full() const { return count_ == ring_.size(); }
    [[nodiscard]] std::size_t size() const { return count_; }
    [[nodiscard]] std::size_t capacity() const { return ring_.size(); }
    [[nodiscard]] std::size_t peak() const { return peak_; }
    void push(const ElementRef& e) {
        ring_[(head_ + count_) % ring_.size()] = e;
        ++count_;
        peak_ = std::max(peak_, count_);
    }
    ElementRef pop() {
        ElementRef e = ring_[head_];
        head_ = (head_ + 1) % ring_.size();
        --count_;
        return e;
    }

private:
    std::vector<ElementRef> ring_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::size_t peak_ = 0;
};

struct Edge {
    std::uint32_t from;
    std::uint32_t to;
    Queue queue;
};

struct Node {
    NodeSpec spec;
    std::shared_ptr<const PreparedComponent> prepared;
    NodeHost host;
    std::unique_ptr<Instance> instance;
    NodeReport report;
    std::vector<std::uint32_t> inputs;   // edge indices
    std::vector<std::uint32_t> outputs;  // edge indices
    std::size_t next_input = 0;          // round-robin over inputs
    bool exhausted = false;              // sources: pull returned none
    bool dead = false;                   // instance unusable (trap etc.)
    bool stopped = false;                // gets no more elements (failed)
};

std::string random_hex(std::size_t bytes) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string out;
    for (std::size_t i = 0; i < bytes; ++i) {
        out += fmt::format("{:02x}", static_cast<unsigned>(rng() & 0xff));
    }
    return out;
}

std::uint64_t wall_clock_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

ErrorCode code_for(const CallResult& r) {
    switch (r.status) {
        case CallStatus::guest_error:
            return r.guest_kind == GuestErrorKind::fatal ? ErrorCode::guest_fatal
                                                         : ErrorCode::guest_error;
        case CallStatus::trap:
            return ErrorCode::guest_trap;
        case CallStatus::deadline:
            return ErrorCode::guest_deadline;
        case CallStatus::limit:
            return ErrorCode::guest_limit;
        default:
            return ErrorCode::internal;
    }
}

std::string describe(const CallResult& r) {
    if (r.status == CallStatus::guest_error) {
        return r.message.empty()
                   ? fmt::format("returned error {}", guest_error_kind_name(r.guest_kind))
                   : fmt::format("returned error {}: {}", guest_error_kind_name(r.guest_kind),
                                 r.message);
    }
    // Wasmtime's messages span lines (backtraces); the first says what happened.
    std::string first = r.message.substr(0, r.message.find('\n'));
    return fmt::format("{}: {}", call_status_name(r.status), first);
}

}  // namespace

struct Flow::State {
    Runtime* runtime = nullptr;
    FlowSpec spec;
    BufferStore buffers;
    FlowContextInfo context;
    std::vector<std::unique_ptr<Node>> nodes;  // stable addresses: NodeHost is referenced
    std::vector<Edge> edges;
    std::vector<std::uint32_t> topo;  // nodes, upstream first
    FlowReport report;
    std::uint64_t branches = 0;  // extra paths created by broadcast edges

    bool room_downstream(const Node& n) const {
        return std::all_of(n.outputs.begin(), n.outputs.end(),
                           [&](std::uint32_t e) { return !edges[e].queue.full(); });
    }

    bool has_input(Node& n) {
        return std::any_of(n.inputs.begin(), n.inputs.end(),
                           [&](std::uint32_t e) { return !edges[e].queue.empty(); });
    }

    ElementRef take_input(Node& n) {
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            Edge& e = edges[n.inputs[(n.next_input + i) % n.inputs.size()]];
            if (!e.queue.empty()) {
                n.next_input = (n.next_input + i + 1) % n.inputs.size();
                return e.queue.pop();
            }
        }
        return {};
    }

    // Hands an element the node now holds (one reference) to every output
    // edge; extra edges share the buffer.
    void forward(Node& n, const ElementRef& e) {
        for (std::size_t i = 0; i < n.outputs.size(); ++i) {
            if (i > 0) {
                buffers.add_ref(e.payload);
                ++branches;
            }
            edges[n.outputs[i]].queue.push(e);
        }
        n.report.elements_out += 1;
    }

    void fail(Node& n, const CallResult& r, std::string_view during) {
        ++n.report.errors;
        // Policy "fail the flow": the node takes no more elements.
        n.stopped = true;
        if (r.instance_dead()) {
            n.dead = true;
        }
        if (!report.error) {
            report.error =
                Error(code_for(r), fmt::format("node '{}' {} {}", n.spec.name, during, describe(r)),
                      n.spec.where.str(),
                      r.status == CallStatus::deadline
                          ? "raise the flow's call-timeout or fix the component's loop"
                          : "see the component's error; the flow was stopped (policy: fail)");
        }
    }

    template <class F>
    CallResult timed(Node& n, F&& call) {
        const auto t0 = Clock::now();
        CallResult r = call();
        n.report.busy += Clock::now() - t0;
        ++n.report.calls;
        return r;
    }

    // Runs one element through a non-source node.
    void step(Node& n) {
        const ElementRef in = take_input(n);
        ++n.report.elements_in;
        CallResult r;
        switch (n.spec.role) {
            case Role::processor: {
                Produced out;
                r = timed(n, [&] { return n.instance->process(in, out); });
                if (r.ok()) {
                    if (out.present) {
                        // A transform keeps its input's identity unless it sets its own.
                        forward(n, ElementRef{
                                       out.sequence != 0 ? out.sequence : in.sequence,
                                       out.timestamp_ns != 0 ? out.timestamp_ns : in.timestamp_ns,
                                       out.payload});
                    } else {
                        ++n.report.filtered;
                        ++report.filtered;
                    }
                }
                buffers.release(in.payload);
                break;
            }
            case Role::filter: {
                bool accepted = false;
                r = timed(n, [&] { return n.instance->accept(in, accepted); });
                if (r.ok() && accepted) {
                    forward(n, in);  // same buffer, no copy
                } else {
                    if (r.ok()) {
                        ++n.report.filtered;
                        ++report.filtered;
                    }
                    buffers.release(in.payload);
                }
                break;
            }
            case Role::sink: {
                bool pause = false;
                r = timed(n, [&] { return n.instance->push(in, pause); });
                if (r.ok()) {
                    ++report.delivered;
                }
                buffers.release(in.payload);
                break;
            }
            default:
                break;
        }
        if (!r.ok()) {
            ++report.failed;
            fail(n, r, "failed on element " + std::to_string(in.sequence) + ":");
        }
    }

    void pull(Node& n) {
        Produced out;
        const CallResult r = timed(n, [&] { return n.instance->pull(out); });
        if (!r.ok()) {
            fail(n, r, "failed in pull:");
            return;
        }
        if (!out.present) {
            n.exhausted = true;
            return;
        }
        ++report.emitted;
        forward(
            n, ElementRef{out.sequence != 0 ? out.sequence : n.report.elements_out,
                          out.timestamp_ns != 0 ? out.timestamp_ns : wall_clock_ns(), out.payload});
    }

    // Sweeps downstream-first so queues drain before sources refill them.
    // After a failure (policy: fail the flow) sources stop, elements that
    // reach a dead node are counted as failed, and everything already past
    // the failure still drains to the sinks.
    void drive() {
        for (;;) {
            bool progressed = false;
            for (auto it = topo.rbegin(); it != topo.rend(); ++it) {
                Node& n = *nodes[*it];
                if (n.spec.role == Role::source) {
                    for (int i = 0;
                         i < kBatch && !report.error && !n.exhausted && room_downstream(n); ++i) {
                        pull(n);
                        progressed = true;
                    }
                    continue;
                }
                for (int i = 0; i < kBatch && has_input(n) && (n.stopped || room_downstream(n));
                     ++i) {
                    if (n.stopped) {
                        buffers.release(take_input(n).payload);
                        ++report.failed;
                    } else {
                        step(n);
                    }
                    progressed = true;
                }
            }
            if (!progressed) {
                return;
            }
        }
    }

    // Elements still queued when the flow stops are failed, not forgotten.
    void drain_queues() {
        for (auto& e : edges) {
            while (!e.queue.empty()) {
                buffers.release(e.queue.pop().payload);
                ++report.failed;
            }
        }
    }
};

double FlowReport::elements_per_second() const {
    const double secs = std::chrono::duration<double>(wall).count();
    return secs > 0 ? static_cast<double>(emitted) / secs : 0.0;
}

bool FlowReport::accounting_balanced() const {
    return emitted + branches == delivered + filtered + failed;
}

Flow::Flow(std::unique_ptr<State> state) : s_(std::move(state)) {}
Flow::~Flow() = default;

Result<std::unique_ptr<Flow>> Flow::create(Runtime& runtime, const Manifest& manifest,
                                           const FlowSpec& spec, const RunOptions& options) {
    const auto t0 = Clock::now();
    auto s = std::make_unique<State>();
    s->runtime = &runtime;
    s->spec = spec;
    s->report.name = spec.name;
    s->context.flow_id = spec.name;
    s->context.trace_id = random_hex(16);
    s->context.span_id = random_hex(8);

    std::map<std::string, std::uint32_t> index;
    for (const auto& ns : spec.nodes) {
        if (ns.role == Role::router || ns.role == Role::aggregator) {
            return Error(ErrorCode::manifest_topology,
                         fmt::format("node '{}': role '{}' is not supported by this runtime yet",
                                     ns.name, role_name(ns.role)),
                         ns.where.str(), "use source, processor, filter and sink nodes");
        }
        auto node = std::make_unique<Node>();
        node->spec = ns;
        node->report.name = ns.name;
        node->report.role = ns.role;
        index[ns.name] = static_cast<std::uint32_t>(s->nodes.size());
        s->nodes.push_back(std::move(node));
    }
    for (const auto& es : spec.edges) {
        const std::uint32_t from = index.at(es.from);
        const std::uint32_t to = index.at(es.to);
        const std::uint32_t e = static_cast<std::uint32_t>(s->edges.size());
        s->edges.push_back(
            Edge{from, to, Queue(es.capacity != 0 ? es.capacity : spec.queue_capacity)});
        s->nodes[from]->outputs.push_back(e);
        s->nodes[to]->inputs.push_back(e);
    }
    // Topological order (the manifest was checked to be acyclic).
    std::vector<int> indeg(s->nodes.size(), 0);
    for (const auto& e : s->edges) {
        ++indeg[e.to];
    }
    std::vector<std::uint32_t> ready;
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        if (indeg[i] == 0) {
            ready.push_back(i);
        }
    }
    while (!ready.empty()) {
        const std::uint32_t n = ready.front();
        ready.erase(ready.begin());
        s->topo.push_back(n);
        for (const auto e : s->nodes[n]->outputs) {
            if (--indeg[s->edges[e].to] == 0) {
                ready.push_back(s->edges[e].to);
            }
        }
    }

    // Load, link and instantiate: every failure names the node.
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        Node& n = *s->nodes[i];
        auto file = resolve_component(manifest, n.spec, options.component_path);
        if (!file) {
            return std::move(file).error();
        }
        LoadInfo info;
        auto component = runtime.load(file.value(), &info);
        if (!component) {
            auto e = std::move(component).error();
            e.message = fmt::format("node '{}': {}", n.spec.name, e.message);
            e.where = n.spec.where.str();
            return e;
        }
        n.report.cache_hit = info.cache_hit;
        // Deny-all: every import must be a torvyn interface or granted.
        if (Status granted = check_imports(component.value()->interfaces().imports,
                                           n.spec.capabilities, n.spec.name);
            !granted) {
            auto e = std::move(granted).error();
            e.where = n.spec.where.str();
            return e;
        }
        Grants grants;
        for (const auto& c : n.spec.capabilities) {
            grants.stdout_stream |= c == "stdout";
            grants.stderr_stream |= c == "stderr";
        }
        auto prepared = runtime.prepare(*component.value(), n.spec.role, grants);
        if (!prepared) {
            auto e = std::move(prepared).error();
            e.message = fmt::format("node '{}': {}", n.spec.name, e.message);
            e.where = n.spec.where.str();
            if (e.code == ErrorCode::component_link) {
                e.hint =
                    "the component imports an interface the node was not granted; grant the "
                    "capability in the node's capabilities list, or remove the import";
            }
            return e;
        }
        n.prepared = prepared.value();
        n.host.buffers = &s->buffers;
        n.host.ledger = &n.report.copies;
        n.host.id = i;
        n.host.context = &s->context;
        n.host.context_handle = 1;
        InstanceLimits limits;
        limits.call_deadline = spec.call_timeout;
        auto instance = runtime.instantiate(*n.prepared, n.host, limits);
        if (!instance) {
            auto e = std::move(instance).error();
            e.message = fmt::format("node '{}': {}", n.spec.name, e.message);
            e.where = n.spec.where.str();
            return e;
        }
        n.instance = std::move(instance).value();
    }
    s->report.startup = Clock::now() - t0;
    return std::unique_ptr<Flow>(new Flow(std::move(s)));
}

FlowReport Flow::run() {
    State& s = *s_;
    const auto t0 = Clock::now();

    for (const auto i : s.topo) {
        Node& n = *s.nodes[i];
        const CallResult r = s.timed(n, [&] { return n.instance->init(n.spec.config); });
        if (!r.ok()) {
            s.fail(n, r, "failed in init:");
            s.report.error->code = ErrorCode::guest_init_failed;
            break;
        }
    }
    const bool started = !s.report.error;
    if (started) {
        s.drive();
        // Sinks complete even after a failure elsewhere, so what they did
        // receive is flushed.
        for (const auto i : s.topo) {
            Node& n = *s.nodes[i];
            if (n.spec.role == Role::sink && !n.dead) {
                const CallResult r = s.timed(n, [&] { return n.instance->complete(); });
                if (!r.ok()) {
                    s.fail(n, r, "failed in complete:");
                }
            }
        }
    }
    s.drain_queues();
    for (const auto i : s.topo) {
        Node& n = *s.nodes[i];
        if (!n.dead) {
            if (const CallResult r = n.instance->teardown(); !r.ok()) {
                s.fail(n, r, "failed in teardown:");
            }
        }
        // Free every instance now, so their owned buffers return to the pool
        // before the store's statistics are read.
        n.instance.reset();
        // Buffers a trapped guest still held are reclaimed with its instance.
        s.buffers.reclaim(i);
    }
    s.report.wall = Clock::now() - t0;
    for (auto& n : s.nodes) {
        s.report.copies += n->report.copies;
        s.report.nodes.push_back(n->report);
    }
    s.report.buffers = s.buffers.stats();
    s.report.branches = s.branches;
    return s.report;
}

}  // namespace torvyn
