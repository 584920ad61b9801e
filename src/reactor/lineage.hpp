// Which source messages are done. An element whose source settles (an
// at-least-once connector) or that carries attributes gets an ElementOrigin
// where its path starts; every path derived from it holds a reference
// (branches add some, a processor's output keeps its input's, an aggregate
// holds the origins it absorbed). When the last reference ends, the source
// is told (Stage::settled): delivered, or not when a path was dropped or
// failed on the way.
//
// Used under the flow's lock (or by its one thread), like the accounting.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "torvyn/reactor/stage.hpp"
#include "torvyn/resources/element.hpp"

namespace torvyn::detail {

class Lineage {
public:
    // `ready(node)`: source `node` has settlements waiting (it had none).
    void start(std::size_t nodes, std::function<void(std::uint32_t)> ready);

    // A source's new element: its origin (out's attributes moved into it),
    // or null when it neither settles nor carries attributes.
    // (Inline: nearly every element has none, and this is per element.)
    ElementOrigin* begin(std::uint32_t source, Produced& out) {
        if (!out.ack_token && out.attributes.empty()) [[likely]] {
            return nullptr;
        }
        return make_origin(source, out);
    }
    // `extra` more paths hold `o` (a branch).
    void share(ElementOrigin* o, std::size_t extra) {
        if (o != nullptr) {
            o->refs.fetch_add(static_cast<std::uint32_t>(extra), std::memory_order_relaxed);
        }
    }
    // A path holding `o` ended: delivered (also filtered, dead-lettered)
    // or not (dropped, failed).
    void end(ElementOrigin* o, bool delivered) {
        if (o != nullptr) [[unlikely]] {
            release(o, delivered);
        }
    }

    // Aggregator `node` absorbed a path holding `o`: the reference passes
    // to what the aggregator derives next.
    void absorb(std::uint32_t node, ElementOrigin* o);
    // The origin of the `outputs` elements aggregator `node` derives now
    // from what it absorbed since its last ones (null: nothing absorbed
    // that needs one). With no outputs, what it absorbed is done.
    ElementOrigin* derive(std::uint32_t node, std::size_t outputs);

    // Settlements waiting for source `node`, taken.
    [[nodiscard]] bool waiting(std::uint32_t node) const {
        return node < settlements_.size() && !settlements_[node].empty();
    }
    void take(std::uint32_t node, std::vector<Settlement>& out);

    // Origins alive now (in flight, or held by an aggregator).
    [[nodiscard]] std::size_t alive() const { return alive_; }

private:
    ElementOrigin* make_origin(std::uint32_t source, Produced& out);
    void release(ElementOrigin* o, bool delivered);
    ElementOrigin* make();
    void recycle(ElementOrigin* o);

    std::deque<ElementOrigin> pool_;  // stable addresses
    std::vector<ElementOrigin*> free_;
    std::size_t alive_ = 0;
    // Per aggregator: the origins absorbed since its last output.
    std::vector<std::vector<ElementOrigin*>> absorbed_;
    std::vector<std::vector<Settlement>> settlements_;
    std::function<void(std::uint32_t)> ready_;
};

}  // namespace torvyn::detail
