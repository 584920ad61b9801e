#include "lineage.hpp"

#include <utility>

namespace torvyn::detail {

void Lineage::start(std::size_t nodes, std::function<void(std::uint32_t)> ready) {
    absorbed_.assign(nodes, {});
    settlements_.assign(nodes, {});
    ready_ = std::move(ready);
}

ElementOrigin* Lineage::make() {
    ++alive_;
    if (!free_.empty()) {
        ElementOrigin* o = free_.back();
        free_.pop_back();
        return o;
    }
    return &pool_.emplace_back();
}

void Lineage::recycle(ElementOrigin* o) {
    --alive_;
    o->failed.store(false, std::memory_order_relaxed);
    o->token.reset();
    o->attributes.clear();
    o->parents.clear();
    free_.push_back(o);
}

ElementOrigin* Lineage::make_origin(std::uint32_t source, Produced& out) {
    ElementOrigin* o = make();
    o->refs.store(1, std::memory_order_relaxed);
    o->source = source;
    o->token = out.ack_token;
    o->attributes = std::move(out.attributes);
    return o;
}

void Lineage::release(ElementOrigin* o, bool delivered) {
    if (!delivered) {
        o->failed.store(true, std::memory_order_relaxed);
    }
    if (o->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) {
        return;
    }
    const bool ok = !o->failed.load(std::memory_order_relaxed);
    if (o->token) {
        auto& waiting = settlements_.at(o->source);
        waiting.push_back({*o->token, ok});
        if (waiting.size() == 1 && ready_) {
            ready_(o->source);
        }
    }
    // An aggregate is done: so is what it absorbed (not delivered when the
    // aggregate was not). Moved out first: recycling clears them.
    std::vector<ElementOrigin*> parents = std::move(o->parents);
    recycle(o);
    for (ElementOrigin* p : parents) {
        release(p, ok);
    }
}

void Lineage::absorb(std::uint32_t node, ElementOrigin* o) {
    if (o != nullptr) {
        absorbed_.at(node).push_back(o);
    }
}

ElementOrigin* Lineage::derive(std::uint32_t node, std::size_t outputs) {
    auto& absorbed = absorbed_.at(node);
    if (absorbed.empty()) {
        return nullptr;
    }
    if (outputs == 0) {
        for (ElementOrigin* p : std::exchange(absorbed, {})) {
            end(p, true);
        }
        return nullptr;
    }
    ElementOrigin* o = make();
    o->refs.store(static_cast<std::uint32_t>(outputs), std::memory_order_relaxed);
    o->source = node;
    o->parents = std::exchange(absorbed, {});
    return o;
}

void Lineage::take(std::uint32_t node, std::vector<Settlement>& out) {
    out.clear();
    std::swap(out, settlements_.at(node));
}

}  // namespace torvyn::detail
