#include "torvyn/reactor/flow.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/published.hpp"
#include "torvyn/core/ticks.hpp"
#include "torvyn/reactor/link.hpp"
#include "torvyn/security/audit.hpp"

namespace torvyn {
namespace {

using Clock = std::chrono::steady_clock;

// Calls per node per scheduling turn: large enough to amortise the sweep,
// small enough that every node gets its turn promptly.
constexpr int kBatch = 64;
// A sink that asks to pause is left alone for this long, doubling while it
// keeps asking, up to the maximum.
constexpr std::chrono::microseconds kFirstPause{100};
constexpr std::chrono::microseconds kMaxPause{10'000};
constexpr std::uint32_t kNoEdge = ~0u;

// A bounded FIFO of elements in transit on one edge.
class Queue {
public:
    explicit Queue(std::uint32_t capacity) : ring_(capacity) {}
    [[nodiscard]] bool empty() const { return count_ == 0; }
    [[nodiscard]] bool full() const { return count_ == ring_.size(); }
    [[nodiscard]] std::size_t size() const { return count_; }
    [[nodiscard]] std::size_t capacity() const { return ring_.size(); }
    void push(const ElementRef& e) {
        ring_[(head_ + count_) % ring_.size()] = e;
        ++count_;
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
};

struct Edge {
    std::uint32_t from;
    std::uint32_t to;
    Queue queue;
    std::size_t high;  // pressured at or above
    std::size_t low;   // relieved at or below
    bool pressured = false;
    Clock::time_point pressured_since;
    EdgeReport report;
};

struct Node {
    NodeSpec spec;
    std::shared_ptr<const PreparedComponent> prepared;
    NodeHost host;
    std::unique_ptr<Instance> instance;
    NodeReport report;
    std::vector<std::uint32_t> inputs;   // edge indices
    std::vector<std::uint32_t> outputs;  // edge indices (not the dead-letter edge)
    std::uint32_t dead_letter = kNoEdge;
    // Routers: port name -> edges leaving that port.
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> ports;
    // Sources: block-policy edges downstream, whose pressure pauses the source.
    std::vector<std::uint32_t> watched;
    std::size_t next_input = 0;  // round-robin over inputs (fair merge)
    bool done = false;           // will never run again
    bool stopped = false;        // takes no more elements (failure, fatal)
    bool dead = false;           // instance unusable (trap, deadline, limit)
    bool torn_down = false;
    bool paused_by_pressure = false;  // sources: told to pause
    InstanceLimits limits;
    std::uint64_t busy_ticks = 0;
    Clock::time_point resume_at{};  // sinks: paused until
    std::chrono::microseconds pause_backoff{0};
    std::vector<std::string> route_scratch;    // routers: ports of this element
    std::vector<std::uint32_t> route_targets;  // routers: their edges, deduplicated
    // Aggregators: flushed, and the flush's outputs still waiting for room
    // downstream (a flush may return more than the queues hold).
    bool flushed = false;
    std::deque<Produced> pending;
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
        case CallStatus::host_limit:
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
    // Wasmtime's messages may span lines; the first says what happened.
    return fmt::format("{}: {}", call_status_name(r.status),
                       r.message.substr(0, r.message.find('\n')));
}

bool retryable(const CallResult& r) {
    return r.status == CallStatus::guest_error && r.guest_kind != GuestErrorKind::fatal;
}

CallResult unknown_port(std::string_view name) {
    CallResult r;
    r.status = CallStatus::guest_error;
    r.guest_kind = GuestErrorKind::internal;
    r.message =
        fmt::format("route returned '{}', which is not one of its ports", escape_guest_text(name));
    return r;
}

}  // namespace

std::string_view stop_reason_name(StopReason reason) {
    switch (reason) {
        case StopReason::completed:
            return "completed";
        case StopReason::failed:
            return "failed";
        case StopReason::timeout:
            return "timed out";
        case StopReason::interrupted:
            return "interrupted";
        case StopReason::forced:
            return "stopped (forced)";
    }
    return "unknown";
}

double FlowReport::elements_per_second() const {
    const double secs = std::chrono::duration<double>(wall).count();
    return secs > 0 ? static_cast<double>(emitted) / secs : 0.0;
}

struct Flow::State {
    Runtime* runtime = nullptr;
    FlowSpec spec;
    RunOptions options;
    BufferStore buffers;
    FlowContextInfo context;
    std::vector<std::unique_ptr<Node>> nodes;  // stable addresses: NodeHost is referenced
    std::vector<Edge> edges;
    std::vector<std::uint32_t> topo;  // nodes, upstream first
    FlowReport report;
    Clock::time_point started;
    Clock::time_point created;
    Clock::time_point measuring_since{};
    std::uint64_t deliveries = 0;
    Histogram latency_ticks;
    TickScale tick_scale;
    int source_batch = 1;
    Clock::time_point drain_deadline = Clock::time_point::max();
    bool stopping = false;  // sources stop; everything in flight drains
    bool aborted = false;   // stop now
    std::vector<Error> warnings;
    AuditLog* audit = nullptr;
    // The accounting as of the last sweep, for readers on other threads.
    PublishedCounters<10> progress;

    void publish_progress(bool finished) {
        const Accounting& a = report;
        progress.publish({a.emitted, a.derived, a.branches, a.delivered, a.filtered, a.dropped,
                          a.failed, a.dead_lettered, a.aggregated, finished ? 1u : 0u});
    }

    void audit_event(std::string_view event, const Node& n, nlohmann::json fields) {
        if (audit != nullptr) {
            audit->record(event, spec.name, n.spec.name, std::move(fields));
        }
    }

    // The host stopped a guest (trap, deadline, limit) or refused it for a
    // budget or a limit: that is a containment, whatever the node's role.
    void audit_if_contained(const Node& n, const CallResult& r, const Error& e,
                            std::optional<std::uint64_t> element = std::nullopt) {
        const bool contained = (r.instance_dead() && r.status != CallStatus::stopped) ||
                               e.code == ErrorCode::resource_budget ||
                               e.code == ErrorCode::guest_limit;
        if (!contained) {
            return;
        }
        nlohmann::json fields = {{"code", error_code_name(e.code)}, {"reason", e.message}};
        if (element) {
            fields["element"] = *element;
        }
        audit_event("contain", n, std::move(fields));
    }

    // After a trap, a node with on-trap = "restart" gets a fresh instance
    // (new store, init again) while its restart budget lasts.
    bool restart(Node& n) {
        if (!n.spec.restart_on_trap || n.report.restarts >= n.spec.max_restarts) {
            return false;
        }
        n.instance.reset();
        buffers.reclaim(n.host.id);
        auto fresh = runtime->instantiate(*n.prepared, n.host, n.limits);
        if (!fresh) {
            return false;
        }
        n.instance = std::move(fresh).value();
        if (!n.instance->init(n.spec.config).ok()) {
            n.instance.reset();
            return false;
        }
        ++n.report.restarts;
        n.dead = false;
        n.torn_down = false;
        audit_event("restart", n, {{"restarts", n.report.restarts}});
        return true;
    }

    explicit State(BufferLimits limits) : buffers(limits) {}

    // --- queues ----------------------------------------------------------

    void note_pressure(Edge& e) {
        const std::size_t n = e.queue.size();
        e.report.peak = std::max<std::uint64_t>(e.report.peak, n);
        if (!e.pressured && n >= e.high) {
            e.pressured = true;
            e.pressured_since = Clock::now();
            ++e.report.pressure_episodes;
        } else if (e.pressured && n <= e.low) {
            e.pressured = false;
            e.report.pressured += Clock::now() - e.pressured_since;
        }
    }

    // Places one reference to `el` on edge `index`, applying its overflow
    // policy when the queue is full.
    void push(std::uint32_t index, const ElementRef& el) {
        Edge& e = edges[index];
        if (e.queue.full()) {
            switch (e.report.overflow) {
                case OverflowPolicy::drop_oldest: {
                    buffers.release(e.queue.pop().payload);
                    ++e.report.dropped;
                    ++report.dropped;
                    break;
                }
                case OverflowPolicy::drop_newest:
                    buffers.release(el.payload);
                    ++e.report.dropped;
                    ++report.dropped;
                    return;
                case OverflowPolicy::fail:
                case OverflowPolicy::block:
                    // Block edges are checked before a producer runs, so only
                    // a "fail" edge (or a bug) gets here.
                    buffers.release(el.payload);
                    ++report.failed;
                    fail_flow(Error(ErrorCode::queue_overflow,
                                    fmt::format("queue {} -> {} overflowed its capacity of {}",
                                                e.report.from, e.report.to, e.queue.capacity()),
                                    spec.where.str(),
                                    "raise the edge's capacity or use backpressure = \"block\""));
                    return;
            }
        }
        e.queue.push(el);
        ++e.report.pushed;
        e.report.occupancy_sum += e.queue.size();
        note_pressure(e);
    }

    ElementRef pop(std::uint32_t index) {
        Edge& e = edges[index];
        ElementRef el = e.queue.pop();
        note_pressure(e);
        return el;
    }

    [[nodiscard]] bool room(std::uint32_t index) const {
        const Edge& e = edges[index];
        return e.report.overflow != OverflowPolicy::block || !e.queue.full();
    }

    // A node may run only if every block edge it can write to has room.
    [[nodiscard]] bool room_downstream(const Node& n) const {
        const auto ok = [&](std::uint32_t e) { return room(e); };
        return std::all_of(n.outputs.begin(), n.outputs.end(), ok) &&
               (n.dead_letter == kNoEdge || ok(n.dead_letter));
    }

    [[nodiscard]] bool has_input(const Node& n) const {
        return std::any_of(n.inputs.begin(), n.inputs.end(),
                           [&](std::uint32_t e) { return !edges[e].queue.empty(); });
    }

    // Next element for `n`, round-robin over its non-empty inputs.
    std::pair<ElementRef, std::uint32_t> take_input(Node& n) {
        for (std::size_t i = 0; i < n.inputs.size(); ++i) {
            const std::uint32_t e = n.inputs[(n.next_input + i) % n.inputs.size()];
            if (!edges[e].queue.empty()) {
                n.next_input = (n.next_input + i + 1) % n.inputs.size();
                return {pop(e), e};
            }
        }
        return {{}, kNoEdge};
    }

    // Hands an element the node holds (one reference) to `targets`; extra
    // targets share the buffer.
    void forward(const std::vector<std::uint32_t>& targets, const ElementRef& el) {
        for (std::size_t i = 0; i < targets.size(); ++i) {
            if (i > 0) {
                buffers.add_ref(el.payload);
                ++report.branches;
            }
            push(targets[i], el);
        }
    }

    // --- failures ----------------------------------------------------------

    void fail_flow(Error e) {
        if (!report.error) {
            report.error = std::move(e);
            report.stop = StopReason::failed;
        }
        stopping = true;
    }

    Error error_for(const Node& n, const CallResult& r, std::string_view during) const {
        if (n.host.refusal == Refusal::budget) {
            return Error(ErrorCode::resource_budget,
                         fmt::format("node '{}' {} exceeded a buffer budget: {}", n.spec.name,
                                     during, n.host.refusal_message),
                         n.spec.where.str(),
                         "raise the node's or the flow's max-buffer-memory, or make smaller "
                         "buffers");
        }
        if (n.host.refusal == Refusal::limit) {
            return Error(ErrorCode::guest_limit,
                         fmt::format("node '{}' {} exceeded a host limit: {}", n.spec.name, during,
                                     n.host.refusal_message),
                         n.spec.where.str(),
                         "the host's limits are fixed (docs/limits.md); fix the component");
        }
        // A trap the host caused by refusing a bad handle is a resource error.
        const ErrorCode code = r.status == CallStatus::trap && n.host.refusal == Refusal::handle
                                   ? ErrorCode::resource_handle
                                   : code_for(r);
        std::string message = fmt::format("node '{}' {} {}", n.spec.name, during, describe(r));
        if (code == ErrorCode::resource_handle) {
            message += fmt::format(" ({})", n.host.refusal_message);
        }
        if (r.status == CallStatus::limit) {
            const auto show = [](std::uint64_t v) {
                return v == 0 ? std::string("runtime default") : std::to_string(v);
            };
            message += fmt::format(" (limits: max-memory {}, max-table-elements {}, fuel {})",
                                   show(n.limits.max_memory_bytes),
                                   show(n.limits.max_table_elements), show(n.limits.fuel));
        }
        std::string hint =
            fmt::format("on-error = \"{}\" for this node", error_policy_name(n.spec.on_error));
        if (r.status == CallStatus::deadline) {
            hint = "raise the call-timeout or fix the component's loop";
        } else if (r.status == CallStatus::host_limit) {
            hint = "the host's limits are fixed (docs/limits.md); fix the component";
        }
        return Error(code, std::move(message), n.spec.where.str(), std::move(hint));
    }

    void stop_node(Node& n, const CallResult& r) {
        n.stopped = true;
        n.report.stopped = true;
        if (r.instance_dead()) {
            n.dead = true;
        } else if (r.status == CallStatus::guest_error && r.guest_kind == GuestErrorKind::fatal) {
            // A component that declares itself unable to go on is torn down now.
            teardown(n);
        }
    }

    // What happens to an element a node could not process.
    void give_up(Node& n, const ElementRef& el) {
        if (n.spec.on_error == ErrorPolicy::dead_letter) {
            ++n.report.dead_lettered;
            push(n.dead_letter, el);  // counted when the dead-letter sink takes it
            return;
        }
        buffers.release(el.payload);
        ++report.failed;
        if (n.spec.on_error != ErrorPolicy::fail) {
            ++n.report.skipped;
        }
    }

    // A call on element `el` failed; apply the node's error policy.
    void on_failure(Node& n, const ElementRef& el, const CallResult& r, std::string_view during) {
        ++n.report.errors;
        if (r.status == CallStatus::stopped) {
            // The run is being stopped at once: the element is failed, the
            // instance is gone, and nothing is wrong with the node.
            n.stopped = n.dead = true;
            give_up(n, el);
            return;
        }
        Error e = error_for(n, r, during);
        audit_if_contained(n, r, e, el.sequence);
        if (r.instance_dead()) {
            if (restart(n)) {
                // The node goes on with a fresh instance; the element that
                // broke the old one still follows the error policy.
                if (n.spec.on_error == ErrorPolicy::fail) {
                    fail_flow(std::move(e));
                }
                give_up(n, el);
                return;
            }
        }
        if (r.instance_dead() || n.spec.on_error == ErrorPolicy::fail ||
            (r.status == CallStatus::guest_error && r.guest_kind == GuestErrorKind::fatal)) {
            stop_node(n, r);
        }
        if (n.spec.on_error == ErrorPolicy::fail) {
            fail_flow(std::move(e));
        } else if (n.stopped) {
            // The flow goes on without this node; keep why, for the report.
            report.node_errors.push_back(std::move(e));
        }
        give_up(n, el);
    }

    // Times every call with the cheap tick clock; converted at the end.
    template <class F>
    CallResult timed(Node& n, F&& call) {
        const std::uint64_t t0 = ticks();
        CallResult r = call();
        n.busy_ticks += ticks() - t0;
        ++n.report.calls;
        return r;
    }

    // Calls `call` and, under on-error = "retry", calls it again with backoff
    // while it fails with a retryable error.
    template <class F>
    CallResult with_retries(Node& n, F&& call) {
        n.host.refusal = Refusal::none;
        n.host.refusal_message.clear();
        CallResult r = timed(n, call);
        if (n.spec.on_error != ErrorPolicy::retry) {
            return r;
        }
        auto backoff = n.spec.retry_backoff;
        for (std::uint32_t attempt = 0; attempt < n.spec.retries && retryable(r); ++attempt) {
            ++n.report.errors;
            ++n.report.retries;
            std::this_thread::sleep_for(backoff);
            backoff *= 2;
            r = timed(n, call);
        }
        return r;
    }

    // --- running nodes -------------------------------------------------------

    void step(Node& n) {
        const auto taken = take_input(n);
        const ElementRef in = taken.first;
        const std::uint32_t from = taken.second;
        ++n.report.elements_in;
        if (n.stopped) {
            give_up(n, in);
            return;
        }
        n.host.edge_ledger = &edges[from].report.copies;
        switch (n.spec.role) {
            case Role::processor: {
                Produced out;
                const CallResult r = with_retries(n, [&] { return n.instance->process(in, out); });
                if (!r.ok()) {
                    on_failure(n, in, r, fmt::format("failed on element {}:", in.sequence));
                    return;
                }
                buffers.release(in.payload);
                if (out.present) {
                    // A transform keeps its input's identity unless it sets its own.
                    ++n.report.elements_out;
                    forward(n.outputs,
                            ElementRef{out.sequence != 0 ? out.sequence : in.sequence,
                                       out.timestamp_ns != 0 ? out.timestamp_ns : in.timestamp_ns,
                                       out.payload, in.born_ticks});
                } else {
                    ++n.report.filtered;
                    ++report.filtered;
                }
                return;
            }
            case Role::filter: {
                bool accepted = false;
                const CallResult r =
                    with_retries(n, [&] { return n.instance->accept(in, accepted); });
                if (!r.ok()) {
                    on_failure(n, in, r, fmt::format("failed on element {}:", in.sequence));
                } else if (accepted) {
                    ++n.report.elements_out;
                    forward(n.outputs, in);  // same buffer, no copy
                } else {
                    ++n.report.filtered;
                    ++report.filtered;
                    buffers.release(in.payload);
                }
                return;
            }
            case Role::router: {
                std::vector<std::string>& chosen = n.route_scratch;
                CallResult r = with_retries(n, [&] { return n.instance->route(in, chosen); });
                std::vector<std::uint32_t>& targets = n.route_targets;
                targets.clear();
                for (const auto& name : chosen) {
                    if (!r.ok()) {
                        break;
                    }
                    const auto port = std::find_if(n.ports.begin(), n.ports.end(),
                                                   [&](const auto& p) { return p.first == name; });
                    if (port == n.ports.end()) {
                        r = unknown_port(name);
                        break;
                    }
                    for (const auto e : port->second) {
                        if (std::find(targets.begin(), targets.end(), e) == targets.end()) {
                            targets.push_back(e);
                        }
                    }
                }
                if (!r.ok()) {
                    on_failure(n, in, r, fmt::format("failed on element {}:", in.sequence));
                } else if (targets.empty()) {
                    ++n.report.filtered;
                    ++report.filtered;
                    buffers.release(in.payload);
                } else {
                    ++n.report.elements_out;
                    forward(targets, in);  // every port shares the buffer
                }
                return;
            }
            case Role::aggregator: {
                Produced out;
                const CallResult r = with_retries(n, [&] { return n.instance->ingest(in, out); });
                if (!r.ok()) {
                    on_failure(n, in, r, fmt::format("failed on element {}:", in.sequence));
                    return;
                }
                buffers.release(in.payload);
                ++report.aggregated;
                if (out.present) {
                    emit_derived(n, out);
                }
                return;
            }
            case Role::sink: {
                bool pause = false;
                const CallResult r = with_retries(n, [&] { return n.instance->push(in, pause); });
                if (!r.ok()) {
                    on_failure(n, in, r, fmt::format("failed on element {}:", in.sequence));
                    return;
                }
                if (edges[from].report.dead_letter) {
                    ++report.dead_lettered;
                } else {
                    ++report.delivered;
                    measure_delivery(in);
                }
                buffers.release(in.payload);
                if (pause) {
                    ++n.report.pauses;
                    n.pause_backoff = n.pause_backoff.count() == 0
                                          ? kFirstPause
                                          : std::min(n.pause_backoff * 2, kMaxPause);
                    n.resume_at = Clock::now() + n.pause_backoff;
                } else {
                    n.pause_backoff = std::chrono::microseconds{0};
                }
                return;
            }
            case Role::source:
                return;
        }
    }

    // Latency and throughput, after the warm-up. The payload is still valid:
    // the sink's call has just returned and the host releases it after this.
    void measure_delivery(const ElementRef& in) {
        const auto now = Clock::now();
        if (deliveries++ == 0) {
            report.first_delivery = now - created;
            measuring_since = started;
        }
        if (deliveries <= options.warmup_elements) {
            measuring_since = now;
            return;
        }
        const std::uint64_t t = ticks();
        latency_ticks.record(t > in.born_ticks ? t - in.born_ticks : 0);
        ++report.measured_elements;
        std::uint64_t size = 0;
        buffers.size(in.payload, &size);
        report.measured_bytes += size;
    }

    // A new path starts (a source's or an aggregator's output): the host
    // numbers and stamps it unless the component did.
    void start_path(Node& n, const Produced& out) {
        ++n.report.elements_out;
        forward(n.outputs, ElementRef{out.sequence != 0 ? out.sequence : n.report.elements_out - 1,
                                      out.timestamp_ns != 0 ? out.timestamp_ns : wall_clock_ns(),
                                      out.payload, ticks()});
    }

    void emit_derived(Node& n, const Produced& out) {
        ++report.derived;
        start_path(n, out);
    }

    void pull(Node& n) {
        Produced out;
        n.host.edge_ledger = nullptr;
        const CallResult r = with_retries(n, [&] { return n.instance->pull(out); });
        if (!r.ok()) {
            // A failed pull produced no element, so there is nothing to account
            // for; under skip/retry/dead-letter the source is simply asked again.
            ++n.report.errors;
            const bool fatal = r.instance_dead() || (r.status == CallStatus::guest_error &&
                                                     r.guest_kind == GuestErrorKind::fatal);
            if (fatal || n.spec.on_error == ErrorPolicy::fail) {
                stop_node(n, r);
            }
            if (r.status == CallStatus::stopped) {
                return;
            }
            Error e = error_for(n, r, "failed in pull:");
            audit_if_contained(n, r, e);
            if (n.spec.on_error == ErrorPolicy::fail) {
                fail_flow(std::move(e));
            } else if (n.stopped) {
                report.node_errors.push_back(std::move(e));
            }
            return;
        }
        if (!out.present) {
            n.done = true;  // exhausted
            return;
        }
        ++report.emitted;
        start_path(n, out);
        // Published now too, so that an element stuck in a call downstream
        // still shows as in flight to a reader on another thread.
        publish_progress(false);
    }

    // Sources pause while a watched queue is between its watermarks.
    void update_pressure(Node& n) {
        const bool pressured = std::any_of(n.watched.begin(), n.watched.end(),
                                           [&](std::uint32_t e) { return edges[e].pressured; });
        if (pressured == n.paused_by_pressure) {
            return;
        }
        n.paused_by_pressure = pressured;
        const CallResult r = timed(n, [&] { return n.instance->notify(pressured); });
        if (!r.ok()) {
            ++n.report.errors;
            stop_node(n, r);
            fail_flow(error_for(n, r, "failed in notify:"));
        }
    }

    void teardown(Node& n) {
        if (n.torn_down || n.dead || !n.instance) {
            return;
        }
        n.torn_down = true;
        if (const CallResult r = n.instance->teardown(); !r.ok()) {
            ++n.report.errors;
            n.dead = r.instance_dead();
        }
    }

    // Upstream is exhausted and the inputs are empty: finish the node. An
    // aggregator flushes; what it returns waits in `pending` for room.
    void finish(Node& n) {
        if (n.stopped || aborted) {
            n.done = true;
            return;
        }
        if (n.spec.role == Role::aggregator) {
            n.flushed = true;
            std::vector<Produced> outs;
            const CallResult r = timed(n, [&] { return n.instance->flush(outs); });
            if (!r.ok()) {
                ++n.report.errors;
                stop_node(n, r);
                Error e = error_for(n, r, "failed in flush:");
                audit_if_contained(n, r, e);
                fail_flow(std::move(e));
                n.done = true;
                return;
            }
            n.pending.assign(outs.begin(), outs.end());
            emit_pending(n);
            return;
        }
        n.done = true;
        if (n.spec.role == Role::sink) {
            const CallResult r = timed(n, [&] { return n.instance->complete(); });
            if (!r.ok()) {
                ++n.report.errors;
                stop_node(n, r);
                fail_flow(error_for(n, r, "failed in complete:"));
            }
        }
    }

    // Emits flushed outputs while every queue downstream has room; the node
    // is done when none is left. Returns whether any was emitted.
    bool emit_pending(Node& n) {
        bool emitted = false;
        while (!n.pending.empty() && room_downstream(n) && !aborted) {
            emit_derived(n, n.pending.front());
            n.pending.pop_front();
            emitted = true;
        }
        n.done = n.pending.empty();
        return emitted;
    }

    [[nodiscard]] bool upstream_done(const Node& n) const {
        return std::all_of(n.inputs.begin(), n.inputs.end(),
                           [&](std::uint32_t e) { return nodes[edges[e].from]->done; });
    }

    // A sink that asked to pause is left alone until resume_at; the clock is
    // read only for a sink that has asked (the hot path reads none).
    static bool paused(const Node& n) {
        return n.pause_backoff.count() != 0 && n.resume_at > Clock::now();
    }

    // Reacts to a stop request, the flow's timeout and the drain deadline.
    // Runs once per sweep, so the clock is read only when a deadline applies.
    void check_stop() {
        const bool timed = stopping || spec.timeout.count() > 0;
        const auto now = timed ? Clock::now() : Clock::time_point{};
        const int request = options.stop != nullptr ? options.stop->load() : 0;
        if (request == static_cast<int>(StopRequest::forced) ||
            (stopping && now >= drain_deadline)) {
            aborted = true;
            if (report.stop == StopReason::completed || report.stop == StopReason::interrupted) {
                report.stop = StopReason::forced;
            }
            return;
        }
        if (!stopping && request == static_cast<int>(StopRequest::graceful)) {
            stopping = true;
            report.stop = StopReason::interrupted;
        }
        if (!stopping && spec.timeout.count() > 0 && now - started >= spec.timeout) {
            fail_flow(Error(ErrorCode::flow_timeout,
                            fmt::format("flow '{}' ran longer than its timeout of {} ms", spec.name,
                                        spec.timeout.count()),
                            spec.where.str(), "raise the flow's timeout"));
            report.stop = StopReason::timeout;
        }
        if (stopping && drain_deadline == Clock::time_point::max()) {
            drain_deadline = Clock::now() + spec.drain_timeout;
        }
    }

    // One sweep over the nodes, upstream first: an element a source emits
    // crosses the whole flow in the same sweep. Returns whether anything ran.
    bool sweep(Clock::time_point& earliest_resume) {
        bool progressed = false;
        for (auto it = topo.begin(); it != topo.end() && !aborted; ++it) {
            Node& n = *nodes[*it];
            if (n.done) {
                continue;
            }
            if (n.spec.role == Role::source) {
                if (stopping || n.stopped) {
                    n.done = true;
                    progressed = true;
                    continue;
                }
                for (int i = 0; i < source_batch && !n.done && !n.stopped && !stopping; ++i) {
                    update_pressure(n);
                    if (n.paused_by_pressure || !room_downstream(n)) {
                        break;
                    }
                    pull(n);
                    progressed = true;
                }
                continue;
            }
            if (n.flushed) {
                progressed |= emit_pending(n);
                continue;
            }
            if (paused(n)) {
                earliest_resume = std::min(earliest_resume, n.resume_at);
                continue;
            }
            for (int i = 0;
                 i < kBatch && has_input(n) && (n.stopped || room_downstream(n)) && !paused(n);
                 ++i) {
                step(n);
                progressed = true;
            }
            if (!has_input(n) && upstream_done(n)) {
                finish(n);
                progressed = true;
            }
        }
        return progressed;
    }

    void drive() {
        for (;;) {
            check_stop();
            if (aborted) {
                return;
            }
            Clock::time_point earliest_resume = Clock::time_point::max();
            const bool progressed = sweep(earliest_resume);
            publish_progress(false);
            if (std::all_of(nodes.begin(), nodes.end(), [](const auto& n) { return n->done; })) {
                return;
            }
            if (!progressed) {
                if (earliest_resume == Clock::time_point::max()) {
                    fail_flow(
                        Error(ErrorCode::internal,
                              fmt::format("flow '{}' stalled with elements in flight", spec.name)));
                    aborted = true;
                    return;
                }
                // Only paused sinks are left to run: wait for the first, but
                // wake up regularly to notice stop requests.
                const auto wake =
                    std::min(earliest_resume, Clock::now() + std::chrono::milliseconds(5));
                std::this_thread::sleep_until(wake);
            }
        }
    }

    // Elements still queued when the flow is aborted are failed, not
    // forgotten; so are flushed outputs that never found room.
    void drain_queues() {
        for (auto& e : edges) {
            while (!e.queue.empty()) {
                buffers.release(e.queue.pop().payload);
                ++report.failed;
            }
        }
        for (auto& n : nodes) {
            for (const auto& p : n->pending) {
                buffers.release(p.payload);
                ++report.derived;
                ++report.failed;
            }
            n->pending.clear();
        }
    }
};

Flow::Flow(std::unique_ptr<State> state) : s_(std::move(state)) {}
Flow::~Flow() = default;
const std::vector<Error>& Flow::warnings() const {
    return s_->warnings;
}

const std::string& Flow::name() const {
    return s_->spec.name;
}

FlowProgress Flow::progress() const {
    const auto v = s_->progress.read();
    FlowProgress p;
    p.emitted = v[0];
    p.derived = v[1];
    p.branches = v[2];
    p.delivered = v[3];
    p.filtered = v[4];
    p.dropped = v[5];
    p.failed = v[6];
    p.dead_lettered = v[7];
    p.aggregated = v[8];
    p.finished = v[9] != 0;
    return p;
}

namespace {

// Edges reachable downstream of `start` whose policy is block.
std::vector<std::uint32_t> watched_edges(const std::vector<std::unique_ptr<Node>>& nodes,
                                         const std::vector<Edge>& edges, std::uint32_t start) {
    std::vector<std::uint32_t> out;
    std::vector<std::uint32_t> todo{start};
    std::vector<bool> seen(nodes.size(), false);
    while (!todo.empty()) {
        const std::uint32_t n = todo.back();
        todo.pop_back();
        for (const auto e : nodes[n]->outputs) {
            if (edges[e].report.overflow == OverflowPolicy::block) {
                out.push_back(e);
            }
            if (!seen[edges[e].to]) {
                seen[edges[e].to] = true;
                todo.push_back(edges[e].to);
            }
        }
    }
    return out;
}

}  // namespace

Result<std::unique_ptr<Flow>> Flow::create(Runtime& runtime, const Manifest& manifest,
                                           const FlowSpec& spec, const RunOptions& options) {
    const auto t0 = Clock::now();
    BufferLimits limits;
    limits.max_bytes_held = spec.max_buffer_memory;
    auto s = std::make_unique<State>(limits);
    s->runtime = &runtime;
    s->spec = spec;
    s->options = options;
    s->report.name = spec.name;
    s->context.flow_id = spec.name;
    s->context.trace_id = random_hex(16);
    s->context.span_id = random_hex(8);

    std::map<std::string, std::uint32_t> index;
    for (const auto& ns : spec.nodes) {
        auto node = std::make_unique<Node>();
        node->spec = ns;
        node->report.name = ns.name;
        node->report.role = ns.role;
        index[ns.name] = static_cast<std::uint32_t>(s->nodes.size());
        s->nodes.push_back(std::move(node));
    }
    const auto add_edge = [&](std::uint32_t from, std::uint32_t to, std::uint32_t capacity,
                              OverflowPolicy overflow, std::string from_name) {
        const auto e = static_cast<std::uint32_t>(s->edges.size());
        const double cap = capacity;
        Edge edge{from,
                  to,
                  Queue(capacity),
                  std::max<std::size_t>(1, static_cast<std::size_t>(cap * spec.high_watermark)),
                  static_cast<std::size_t>(cap * spec.low_watermark),
                  false,
                  {},
                  {}};
        edge.report.from = std::move(from_name);
        edge.report.to = s->nodes[to]->spec.name;
        edge.report.capacity = capacity;
        edge.report.overflow = overflow;
        s->edges.push_back(std::move(edge));
        s->nodes[to]->inputs.push_back(e);
        return e;
    };
    for (const auto& es : spec.edges) {
        const std::uint32_t from = index.at(es.from);
        Node& f = *s->nodes[from];
        const std::uint32_t e =
            add_edge(from, index.at(es.to), es.capacity != 0 ? es.capacity : spec.queue_capacity,
                     es.overflow.value_or(spec.overflow),
                     es.from_port.empty() ? es.from : es.from + "." + es.from_port);
        f.outputs.push_back(e);
        if (!es.from_port.empty()) {
            auto port = std::find_if(f.ports.begin(), f.ports.end(),
                                     [&](const auto& p) { return p.first == es.from_port; });
            if (port == f.ports.end()) {
                f.ports.push_back({es.from_port, {}});
                port = f.ports.end() - 1;
            }
            port->second.push_back(e);
        }
    }
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        Node& n = *s->nodes[i];
        if (!n.spec.dead_letter.empty()) {
            // Dead letters never block the failing node for long: they wait
            // in a queue of their own that blocks like any other.
            n.dead_letter = add_edge(i, index.at(n.spec.dead_letter), spec.queue_capacity,
                                     OverflowPolicy::block, n.spec.name + " (dead letters)");
            s->edges[n.dead_letter].report.dead_letter = true;
        }
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
    for (std::size_t head = 0; head < ready.size(); ++head) {
        const std::uint32_t n = ready[head];
        s->topo.push_back(n);
        std::vector<std::uint32_t> outs = s->nodes[n]->outputs;
        if (s->nodes[n]->dead_letter != kNoEdge) {
            outs.push_back(s->nodes[n]->dead_letter);
        }
        for (const auto e : outs) {
            if (--indeg[s->edges[e].to] == 0) {
                ready.push_back(s->edges[e].to);
            }
        }
    }
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        if (s->nodes[i]->spec.role == Role::source) {
            s->nodes[i]->watched = watched_edges(s->nodes, s->edges, i);
        }
    }

    // Link (find, compile, check exports, imports and grants) and
    // instantiate: every failure names the node.
    s->audit = options.audit;
    LinkContext ctx{&runtime, &manifest, options.component_path, options.audit};
    for (std::uint32_t i = 0; i < s->nodes.size(); ++i) {
        Node& n = *s->nodes[i];
        auto linked = link_node(ctx, spec, n.spec, s->warnings);
        if (!linked) {
            return std::move(linked).error();
        }
        n.report.cache_hit = linked.value().load.cache_hit;
        n.prepared = linked.value().prepared;
        n.host.buffers = &s->buffers;
        n.host.ledger = &n.report.copies;
        n.host.id = i;
        n.host.name = n.spec.name;
        n.host.stop = options.stop;
        n.host.context = &s->context;
        n.host.context_handle = 1;
        s->buffers.set_owner_limit(i, n.spec.max_buffer_memory);
        n.limits.call_deadline =
            n.spec.call_timeout.count() > 0 ? n.spec.call_timeout : spec.call_timeout;
        n.limits.max_memory_bytes = n.spec.max_memory;
        n.limits.max_table_elements = n.spec.max_table_elements;
        n.limits.fuel = n.spec.fuel;
        if (n.spec.fuel != 0 && !runtime.options().fuel) {
            return at_node(
                Error(ErrorCode::engine, "a fuel budget needs a runtime that meters fuel"), n.spec);
        }
        auto instance = runtime.instantiate(*n.prepared, n.host, n.limits);
        if (!instance) {
            return at_node(std::move(instance).error(), n.spec);
        }
        n.instance = std::move(instance).value();
    }
    s->report.startup = Clock::now() - t0;
    s->created = t0;
    s->source_batch = static_cast<int>(std::min<std::uint32_t>(spec.source_batch, 1024));
    return std::unique_ptr<Flow>(new Flow(std::move(s)));
}

FlowReport Flow::run() {
    State& s = *s_;
    s.started = Clock::now();

    // init every node; then routers declare their ports, checked against the
    // flow's edges before any element moves.
    for (const auto i : s.topo) {
        Node& n = *s.nodes[i];
        const CallResult r = s.timed(n, [&] { return n.instance->init(n.spec.config); });
        if (!r.ok()) {
            ++n.report.errors;
            s.stop_node(n, r);
            Error e = s.error_for(n, r, "failed in init:");
            e.code = ErrorCode::guest_init_failed;
            s.audit_event("contain", n, {{"code", error_code_name(e.code)}, {"reason", e.message}});
            s.fail_flow(std::move(e));
            break;
        }
        if (n.spec.role == Role::router) {
            std::vector<std::string> declared;
            const CallResult pr = s.timed(n, [&] { return n.instance->ports(declared); });
            if (!pr.ok()) {
                s.stop_node(n, pr);
                s.fail_flow(s.error_for(n, pr, "failed in ports:"));
                break;
            }
            for (const auto& [port, edges] : n.ports) {
                if (std::find(declared.begin(), declared.end(), port) == declared.end()) {
                    std::vector<std::string> shown;
                    for (const auto& d : declared) {
                        shown.push_back(escape_guest_text(d));
                    }
                    s.fail_flow(Error(ErrorCode::manifest_topology,
                                      fmt::format("router '{}' has no port '{}' (it declares: {})",
                                                  n.spec.name, port, fmt::join(shown, ", ")),
                                      n.spec.where.str(), "use one of the declared port names"));
                }
            }
            for (const auto& port : declared) {
                if (std::none_of(n.ports.begin(), n.ports.end(),
                                 [&](const auto& p) { return p.first == port; })) {
                    s.fail_flow(
                        Error(ErrorCode::manifest_topology,
                              fmt::format("port '{}' of router '{}' has no edge",
                                          escape_guest_text(port), n.spec.name),
                              n.spec.where.str(),
                              fmt::format("add an edge with from = \"{}.{}\"", n.spec.name, port)));
                }
            }
        }
    }
    if (!s.report.error) {
        s.drive();
    }
    s.drain_queues();
    for (const auto i : s.topo) {
        Node& n = *s.nodes[i];
        if (!s.aborted) {
            s.teardown(n);
        }
        // Free every instance now, so what it held returns to the pool
        // before the statistics are read.
        n.instance.reset();
        flush_guest_output(n.host);
        s.buffers.reclaim(i);
    }
    const auto now = Clock::now();
    s.report.wall = now - s.started;
    if (s.report.measured_elements > 0) {
        s.report.measured = now - s.measuring_since;
    }
    for (auto& e : s.edges) {
        if (e.pressured) {
            e.report.pressured += now - e.pressured_since;
        }
        s.report.edges.push_back(e.report);
    }
    const double ns_per_tick = s.tick_scale.ns_per_tick();
    s.report.latency = s.latency_ticks.scaled(ns_per_tick);
    for (std::uint32_t i = 0; i < s.nodes.size(); ++i) {
        auto& n = *s.nodes[i];
        n.report.busy = std::chrono::nanoseconds(
            static_cast<std::int64_t>(static_cast<double>(n.busy_ticks) * ns_per_tick));
        n.report.peak_buffer_bytes = s.buffers.peak_held_by(i);
        s.report.copies += n.report.copies;
        s.report.nodes.push_back(n.report);
    }
    s.report.buffers = s.buffers.stats();
    s.publish_progress(true);
    return s.report;
}

}  // namespace torvyn
