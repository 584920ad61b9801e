// Bounded queues between nodes: each edge's overflow policy, its high and
// low watermarks, the round-robin merge of a node's inputs, and fan-out by
// shared reference.
#include <algorithm>

#include <fmt/format.h>

#include "flow_state.hpp"

namespace torvyn::detail {
namespace {

void note_depth(State& s, std::uint32_t index) {
    Edge& e = s.edges[index];
    const std::size_t n = e.queue.size();
    e.report.peak = std::max<std::uint64_t>(e.report.peak, n);
    if (!e.pressured && n >= e.high) {
        e.pressured = true;
        e.pressured_since = Clock::now();
        ++e.report.pressure_episodes;
        ++s.pressured_queues;
        s.listeners.notify(kPressureEvents, [&](FlowObserver& o) { o.on_pressure(index, true); });
    } else if (e.pressured && n <= e.low) {
        e.pressured = false;
        e.report.pressured += Clock::now() - e.pressured_since;
        --s.pressured_queues;
        wake_drivers(s);  // a paused source may be on any thread
        s.listeners.notify(kPressureEvents, [&](FlowObserver& o) { o.on_pressure(index, false); });
    }
    s.listeners.notify(kQueueEvents, [&](FlowObserver& o) { o.on_queue(index, n); });
}

void dropped(State& s, std::uint32_t index, const ElementRef& el) {
    take_dead_letter_reason(s, index, el);
    s.lineage.end(el.origin, false);
    s.buffers.release(el.payload);
    ++s.edges[index].report.dropped;
    ++s.report.dropped;
    s.listeners.notify(kPathEvents,
                       [&](FlowObserver& o) { o.on_ended(PathEnd::dropped, index, el.sequence); });
}

}  // namespace

void push(State& s, std::uint32_t index, const ElementRef& el) {
    Edge& e = s.edges[index];
    if (e.queue.full()) {
        switch (e.report.overflow) {
            case OverflowPolicy::drop_oldest:
                dropped(s, index, e.queue.pop());
                break;
            case OverflowPolicy::drop_newest:
                dropped(s, index, el);
                return;
            case OverflowPolicy::fail:
            case OverflowPolicy::block:
                // Block edges are checked before a producer runs, so only a
                // "fail" edge gets here.
                s.lineage.end(el.origin, false);
                s.buffers.release(el.payload);
                ++s.report.failed;
                s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
                    o.on_ended(PathEnd::failed, e.from, el.sequence);
                });
                fail_flow(s, Error(ErrorCode::queue_overflow,
                                   fmt::format("queue {} -> {} overflowed its capacity of {}",
                                               e.report.from, e.report.to, e.queue.capacity()),
                                   s.spec.where.str(),
                                   "raise the edge's capacity or use backpressure = \"block\""));
                return;
        }
    }
    if (el.trace.sampled) {
        ElementRef stamped = el;  // its queue wait is traced
        stamped.queued_ticks = ticks();
        e.queue.push(stamped);
    } else {
        e.queue.push(el);
    }
    ++e.report.pushed;
    e.report.occupancy_sum += e.queue.size();
    note_depth(s, index);
    wake_driver(s, s.nodes[e.to]->thread);
}

std::optional<DeadLetterReason> take_dead_letter_reason(State& s, std::uint32_t from,
                                                        const ElementRef& el) {
    if (!s.edges[from].report.dead_letter) {
        return std::nullopt;
    }
    const auto it = s.dead_letters.find(el.payload);
    if (it == s.dead_letters.end() || it->second.empty()) {
        return std::nullopt;
    }
    DeadLetterReason why = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) {
        s.dead_letters.erase(it);
    }
    return why;
}

ElementRef pop(State& s, std::uint32_t index) {
    const ElementRef el = s.edges[index].queue.pop();
    note_depth(s, index);
    wake_driver(s, s.nodes[s.edges[index].from]->thread);  // there is room now
    return el;
}

std::size_t room_for(const State& s, const Node& n) {
    std::size_t room = SIZE_MAX;
    const auto take = [&](std::uint32_t index) {
        const Edge& e = s.edges[index];
        if (e.report.overflow == OverflowPolicy::block) {
            room = std::min(room, e.queue.capacity() - e.queue.size());
        }
    };
    std::for_each(n.outputs.begin(), n.outputs.end(), take);
    if (n.dead_letter != kNoEdge) {
        take(n.dead_letter);
    }
    return room;
}

bool room_downstream(const State& s, const Node& n) {
    return room_for(s, n) > 0;
}

bool has_input(const State& s, const Node& n) {
    return std::any_of(n.inputs.begin(), n.inputs.end(),
                       [&](std::uint32_t e) { return !s.edges[e].queue.empty(); });
}

std::pair<ElementRef, std::uint32_t> take_input(State& s, Node& n) {
    for (std::size_t i = 0; i < n.inputs.size(); ++i) {
        const std::uint32_t e = n.inputs[(n.next_input + i) % n.inputs.size()];
        if (!s.edges[e].queue.empty()) {
            n.next_input = (n.next_input + i + 1) % n.inputs.size();
            return {pop(s, e), e};
        }
    }
    return {{}, kNoEdge};
}

void forward(State& s, const std::vector<std::uint32_t>& targets, const ElementRef& el) {
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (i > 0) {
            s.buffers.add_ref(el.payload);
            s.lineage.share(el.origin, 1);
            ++s.report.branches;
        }
        push(s, targets[i], el);
    }
}

void drain_queues(State& s) {
    for (std::uint32_t i = 0; i < s.edges.size(); ++i) {
        Edge& e = s.edges[i];
        while (!e.queue.empty()) {
            const ElementRef el = e.queue.pop();
            s.lineage.end(el.origin, false);
            s.buffers.release(el.payload);
            ++s.report.failed;
            s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
                o.on_ended(PathEnd::failed, e.to, el.sequence);
            });
        }
    }
    for (std::uint32_t i = 0; i < s.nodes.size(); ++i) {
        for (const auto& [p, origin] : s.nodes[i]->pending) {
            s.lineage.end(origin, false);
            s.buffers.release(p.payload);
            ++s.report.derived;
            ++s.report.failed;
            ElementRef el;
            el.sequence = p.sequence;
            el.timestamp_ns = p.timestamp_ns;
            el.payload = p.payload;
            s.listeners.notify(kPathEvents, [&](FlowObserver& o) {
                o.on_emitted(i, el);
                o.on_ended(PathEnd::failed, i, el.sequence);
            });
        }
        s.nodes[i]->pending.clear();
    }
}

}  // namespace torvyn::detail
