// The seam between the scheduler and what it drives. Every node of a flow
// is a Stage: a GuestStage calls a WebAssembly component through the engine;
// a native stage is host code (connectors, test doubles). The scheduler,
// queues, policies and accounting know only this interface, so they run and
// are tested without a Wasm engine.
//
// Threading: a stage is called by its flow's thread only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "torvyn/core/call.hpp"
#include "torvyn/resources/element.hpp"

namespace torvyn {

// Which call of a stage: the calls below, in order. Observers see these.
enum class CallKind : std::uint8_t {
    init,
    teardown,
    pull,
    notify,
    process,
    push,
    complete,
    accept,
    ports,
    route,
    ingest,
    flush,
    snapshot,
    restore,
};
inline constexpr std::array<std::string_view, 14> kCallKindNames = {
    "init",   "teardown", "pull",  "notify", "process", "push",     "complete",
    "accept", "ports",    "route", "ingest", "flush",   "snapshot", "restore"};
inline std::string_view call_kind_name(CallKind kind) {
    return kCallKindNames.at(static_cast<std::size_t>(kind));
}
// The outcome of one acknowledged element (Stage::settled).
struct Settlement {
    std::uint64_t token = 0;
    bool delivered = false;
};

// What a stage answers to a call it does not have (CallStatus::internal).
CallResult refused(CallKind kind);

class Stage {
public:
    Stage() = default;
    virtual ~Stage() = default;
    Stage(const Stage&) = delete;
    Stage& operator=(const Stage&) = delete;

    // Before the first element, with the node's `config`; after the last.
    virtual CallResult init(std::string_view config) = 0;
    virtual CallResult teardown() = 0;

    // The calls of each role (core/role.hpp). A stage implements those of its
    // role; the others refuse (CallStatus::internal). What a stage produces
    // is already in the host's hands (in transit, one reference); what it is
    // lent (`in`) stays the host's.
    // source; none: exhausted; pending: nothing yet
    virtual CallResult pull(Produced&) { return refused(CallKind::pull); }
    // Up to `max` elements in one call, appended to `out`; after them, one
    // that is not present says the source has nothing yet (pending) or is
    // exhausted. A failed call fails them all (the host releases what is in
    // `out`). The default calls pull until it has `max` or one is not
    // present.
    virtual CallResult pull_batch(std::size_t max, std::vector<Produced>& out);
    virtual CallResult notify(bool /*pause*/) { return refused(CallKind::notify); }
    // What became of the elements this source produced with an ack_token:
    // every path derived from one ended (delivered, filtered or
    // dead-lettered: `delivered`; or some path was dropped or failed: not,
    // so the message should come again). Called on the source's driver
    // thread before its next pull (also once it is done), and once more
    // before teardown: what was still queued when the run stopped is settled
    // then, not delivered. A process that dies settles nothing: the outside
    // world redelivers what it never heard of.
    virtual void settled(std::span<const Settlement> /*outcomes*/) {}
    // processor; none: dropped
    virtual CallResult process(const ElementRef&, Produced&) { return refused(CallKind::process); }
    // A source, processor, sink or filter that takes several elements per
    // call says how many at most (1, the default: one at a time). Its *_batch call then
    // gets what is waiting, up to that and the node's `batch`: each[i] is
    // element in[i]'s own result; the returned result is the call's (a trap
    // or a deadline fails every element of the batch). The defaults call the
    // per-element form once per element.
    [[nodiscard]] virtual std::size_t batch_limit() const { return 1; }
    // in[i] becomes out[i].
    virtual CallResult process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                                     std::span<CallResult> each);
    // sink
    virtual CallResult push(const ElementRef&, bool& /*pause*/) { return refused(CallKind::push); }
    // `pause`: the sink asked to be left alone for a while, after this batch.
    virtual CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                                  bool& pause);
    virtual CallResult complete() { return refused(CallKind::complete); }
    // filter
    virtual CallResult accept(const ElementRef&, bool&) { return refused(CallKind::accept); }
    // kept[i]: 1 when in[i] passes.
    virtual CallResult accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                                    std::span<CallResult> each);
    // router
    virtual CallResult ports(std::vector<std::string>&) { return refused(CallKind::ports); }
    virtual CallResult route(const ElementRef&, std::vector<std::string>& /*ports*/) {
        return refused(CallKind::route);
    }
    // aggregator
    virtual CallResult ingest(const ElementRef&, Produced&) { return refused(CallKind::ingest); }
    virtual CallResult flush(std::vector<Produced>&) { return refused(CallKind::flush); }

    // A live replacement that hands the state over (Flow::replace_stage,
    // SwapState::handover): the old stage writes its state to `state`; the
    // new one, after its init, starts from it. A stage whose restore fails
    // must be as init left it. The defaults refuse: such a stage's state
    // cannot be handed over (the swap is refused, or falls back if asked to).
    virtual CallResult snapshot(std::vector<std::byte>& /*state*/) {
        return refused(CallKind::snapshot);
    }
    virtual CallResult restore(std::span<const std::byte> /*state*/) {
        return refused(CallKind::restore);
    }

    // After a call left the stage unusable (trap, deadline, limit): a fresh
    // start, init included, when the stage can have one. The default cannot.
    virtual CallResult restart(std::string_view config);

    // The run is over: let go of what the stage holds (an instance, output
    // not yet written). Called once, after teardown.
    virtual void close() {}

    // The stage's own counters for reports and metrics ("redelivered",
    // "reconnects", "outage-ms", ...): names in kebab-case, values that only
    // grow. Called from any thread while the flow runs: read atomics.
    virtual void counters(std::vector<std::pair<std::string_view, std::uint64_t>>& /*out*/) const {}
};

}  // namespace torvyn
