#include "torvyn/resources/buffer_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#include "torvyn/core/limits.hpp"

namespace torvyn {
namespace {

// Size classes: most payloads fit the small tiers, which are recycled through
// free lists so the steady state allocates nothing. Larger buffers are sized
// exactly and returned to the system on release.
constexpr std::array<std::uint64_t, 4> kTierBytes = {256, 4096, 64ull << 10, 1ull << 20};
// Free blocks kept per tier; beyond this, released blocks go back to malloc.
constexpr std::size_t kMaxFreeBlocksPerTier = 256;

constexpr std::uint32_t kIndexBits = 20;
constexpr std::uint32_t kIndexMask = (1u << kIndexBits) - 1;
constexpr std::uint32_t kGenerationMask = (1u << (32 - kIndexBits)) - 1;
constexpr std::uint32_t kMaxSlots = kIndexMask;  // index kIndexMask unused

int tier_for(std::uint64_t capacity) {
    for (std::size_t i = 0; i < kTierBytes.size(); ++i) {
        if (capacity <= kTierBytes[i]) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

std::uint32_t next_generation(std::uint32_t g) {
    g = (g + 1) & kGenerationMask;
    return g == 0 ? 1 : g;
}

}  // namespace

std::string_view buffer_op_name(BufferOp op) {
    switch (op) {
        case BufferOp::ok:
            return "ok";
        case BufferOp::capacity_exceeded:
            return "capacity exceeded";
        case BufferOp::out_of_bounds:
            return "out of bounds";
        case BufferOp::invalid_state:
            return "invalid state";
        case BufferOp::invalid_handle:
            return "invalid handle";
        case BufferOp::too_many:
            return "too many buffers";
        case BufferOp::content_type_too_long:
            return "content type too long";
    }
    return "unknown";
}

BufferStore::BufferStore(BufferLimits limits) : limits_(limits) {}

BufferStore::~BufferStore() {
    for (std::uint32_t i = 0; i < slot_count_; ++i) {
        std::free(slot(i).data);
    }
    for (auto& tier : free_blocks_) {
        for (auto* block : tier) {
            std::free(block);
        }
    }
}

BufferHandle BufferStore::encode(std::uint32_t index, std::uint32_t generation) {
    return (generation << kIndexBits) | index;
}

BufferStore::Slot* BufferStore::lookup(BufferHandle h) {
    return const_cast<Slot*>(std::as_const(*this).lookup(h));
}

const BufferStore::Slot* BufferStore::lookup(BufferHandle h) const {
    const std::uint32_t index = h & kIndexMask;
    const std::uint32_t generation = h >> kIndexBits;
    if (h == 0 || index >= slot_count_) {
        return nullptr;
    }
    const Slot& s = slot(index);
    if (s.generation != generation || s.state == BufferState::pooled) {
        return nullptr;
    }
    return &s;
}

bool BufferStore::valid(BufferHandle h) const {
    const auto guard = lock();
    return lookup(h) != nullptr;
}

BufferState BufferStore::state(BufferHandle h) const {
    const auto guard = lock();
    const Slot* s = lookup(h);
    return s == nullptr ? BufferState::pooled : s->state;
}

BufferHandle BufferStore::new_slot(BufferOp* why) {
    std::uint32_t index = 0;
    if (!free_slots_.empty()) {
        index = free_slots_.back();
        free_slots_.pop_back();
    } else {
        if (slot_count_ >= kMaxSlots) {
            *why = BufferOp::capacity_exceeded;
            return 0;
        }
        index = slot_count_++;
        if ((index >> kChunkBits) == chunks_.size()) {
            chunks_.push_back(std::make_unique<Slot[]>(std::size_t{1} << kChunkBits));
        }
        // Index 0 with generation 0 would encode as handle 0; generations
        // start at 1, so every issued handle is non-zero.
    }
    return encode(index, slot(index).generation);
}

std::uint64_t BufferStore::block_bytes(std::uint64_t capacity) {
    const int tier = tier_for(capacity);
    return tier >= 0 ? kTierBytes[static_cast<std::size_t>(tier)] : ((capacity + 4095) & ~4095ull);
}

bool BufferStore::fits(NodeId owner, std::uint64_t extra) {
    if (limits_.max_bytes_held != 0 && stats_.bytes_held + extra > limits_.max_bytes_held) {
        return false;
    }
    const OwnerUsage* usage = usage_of(owner);
    return usage == nullptr || usage->limit == 0 || usage->held + extra <= usage->limit;
}

void BufferStore::charge(Slot& s, std::int64_t delta) {
    // Unsigned wrap-around makes a negative delta a subtraction.
    const auto d = static_cast<std::uint64_t>(delta);
    s.charged += d;
    stats_.bytes_held += d;
    stats_.peak_bytes_held = std::max(stats_.peak_bytes_held, stats_.bytes_held);
    if (OwnerUsage* usage = usage_of(s.owner)) {
        usage->held += d;
        usage->peak = std::max(usage->peak, usage->held);
    }
}

bool BufferStore::acquire_block(Slot& s, std::uint64_t capacity, BufferOp* why) {
    if (capacity > limits_.max_buffer_bytes) {
        *why = BufferOp::capacity_exceeded;
        return false;
    }
    const int tier = tier_for(capacity);
    const std::uint64_t bytes = block_bytes(capacity);
    std::byte* block = nullptr;
    if (tier >= 0 && !free_blocks_[static_cast<std::size_t>(tier)].empty()) {
        auto& list = free_blocks_[static_cast<std::size_t>(tier)];
        block = list.back();
        list.pop_back();
        ++stats_.pool_reuses;
    } else {
        block = static_cast<std::byte*>(std::malloc(bytes));
        if (block == nullptr) {
            *why = BufferOp::capacity_exceeded;
            return false;
        }
    }
    s.data = block;
    s.capacity = bytes;
    return true;
}

void BufferStore::release_block(Slot& s) {
    if (s.data == nullptr) {
        return;
    }
    const int tier = tier_for(s.capacity);
    if (tier >= 0 && kTierBytes[static_cast<std::size_t>(tier)] == s.capacity &&
        free_blocks_[static_cast<std::size_t>(tier)].size() < kMaxFreeBlocksPerTier) {
        free_blocks_[static_cast<std::size_t>(tier)].push_back(s.data);
    } else {
        std::free(s.data);
    }
    s.data = nullptr;
    s.capacity = 0;
}

BufferStore::OwnerUsage* BufferStore::usage_of(NodeId owner) {
    if (owner == kHostOwner) {
        return nullptr;
    }
    if (owner >= owners_.size()) {
        owners_.resize(owner + 1);
    }
    return &owners_[owner];
}

void BufferStore::set_owner_limit(NodeId owner, std::uint64_t max_bytes) {
    const auto guard = lock();
    if (OwnerUsage* usage = usage_of(owner)) {
        usage->limit = max_bytes;
    }
}

std::uint64_t BufferStore::held_by(NodeId owner) const {
    const auto guard = lock();
    return owner < owners_.size() ? owners_[owner].held : 0;
}

std::uint32_t BufferStore::buffers_of(NodeId owner) const {
    const auto guard = lock();
    return owner < owners_.size() ? owners_[owner].buffers : 0;
}

std::uint64_t BufferStore::limit_of(NodeId owner) const {
    const auto guard = lock();
    return owner < owners_.size() ? owners_[owner].limit : 0;
}

std::uint64_t BufferStore::peak_held_by(NodeId owner) const {
    const auto guard = lock();
    return owner < owners_.size() ? owners_[owner].peak : 0;
}
void BufferStore::retire(std::uint32_t index) {
    Slot& s = slot(index);
    charge(s, -static_cast<std::int64_t>(s.charged));
    if (OwnerUsage* usage = usage_of(s.owner)) {
        --usage->buffers;
    }
    release_block(s);
    s.size = 0;
    s.refs = 0;
    s.owner = kHostOwner;
    s.state = BufferState::pooled;
    // Not clear(): a long content type's heap block must go with the buffer.
    std::string().swap(s.content_type);
    s.generation = next_generation(s.generation);
    free_slots_.push_back(index);
    --stats_.live_buffers;
}

BufferHandle BufferStore::allocate(NodeId owner, std::uint64_t capacity_hint, BufferOp* why) {
    const auto guard = lock();
    return allocate_locked(owner, capacity_hint, why);
}

BufferHandle BufferStore::allocate_locked(NodeId owner, std::uint64_t capacity_hint,
                                          BufferOp* why) {
    BufferOp ignored = BufferOp::ok;
    if (why == nullptr) {
        why = &ignored;
    }
    OwnerUsage* usage = usage_of(owner);
    if (usage != nullptr && usage->buffers >= limits::kMaxBuffersPerNode) {
        *why = BufferOp::too_many;
        return 0;
    }
    const std::uint64_t capacity = std::max<std::uint64_t>(capacity_hint, 1);
    if (capacity > limits_.max_buffer_bytes ||
        !fits(owner, block_bytes(capacity) + limits::kBufferOverheadBytes)) {
        *why = BufferOp::capacity_exceeded;
        return 0;
    }
    const BufferHandle h = new_slot(why);
    if (h == 0) {
        return 0;
    }
    const std::uint32_t index = h & kIndexMask;
    Slot& s = slot(index);
    if (!acquire_block(s, capacity, why)) {
        free_slots_.push_back(index);
        return 0;
    }
    s.owner = owner;
    charge(s, static_cast<std::int64_t>(s.capacity + limits::kBufferOverheadBytes));
    if (usage != nullptr) {
        ++usage->buffers;
    }
    s.size = 0;
    s.state = BufferState::writable;
    ++stats_.allocations;
    ++stats_.live_buffers;
    return h;
}

BufferOp BufferStore::grow(Slot& s, std::uint64_t needed, CopyLedger& ledger) {
    // Geometrically, so appends stay amortised O(1); exactly, when doubling
    // would not fit the budgets but the write itself does.
    std::uint64_t target = std::min(std::max(needed, s.capacity * 2), limits_.max_buffer_bytes);
    if (!fits(s.owner, block_bytes(target) - s.capacity)) {
        target = needed;
        if (!fits(s.owner, block_bytes(target) - s.capacity)) {
            return BufferOp::capacity_exceeded;
        }
    }
    Slot bigger;
    BufferOp why = BufferOp::ok;
    if (!acquire_block(bigger, target, &why)) {
        return why;
    }
    if (s.size > 0) {
        std::memcpy(bigger.data, s.data, s.size);
        ledger.record(CopyReason::host_resize, s.size);
    }
    const auto growth = static_cast<std::int64_t>(bigger.capacity - s.capacity);
    release_block(s);
    s.data = bigger.data;
    s.capacity = bigger.capacity;
    charge(s, growth);
    return BufferOp::ok;
}

BufferOp BufferStore::write(NodeId owner, BufferHandle h, std::uint64_t offset,
                            std::span<const std::byte> bytes, CopyLedger& ledger) {
    auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::writable || s->owner != owner) {
        return BufferOp::invalid_state;
    }
    const std::uint64_t at = offset == kAppend ? s->size : offset;
    if (at > limits_.max_buffer_bytes || bytes.size() > limits_.max_buffer_bytes - at) {
        return BufferOp::capacity_exceeded;
    }
    const std::uint64_t end = at + bytes.size();
    if (end > s->capacity) {
        if (const BufferOp op = grow(*s, end, ledger); op != BufferOp::ok) {
            return op;
        }
    }
    if (at > s->size) {
        std::memset(s->data + s->size, 0, at - s->size);
    }
    ledger.record(CopyReason::guest_to_host, bytes.size());
    s->size = std::max(s->size, end);
    std::byte* to = s->data + at;
    // A writable buffer is its owner's alone: the bytes go in unlocked.
    if (guard.owns_lock()) {
        guard.unlock();
    }
    if (!bytes.empty()) {
        std::memcpy(to, bytes.data(), bytes.size());
    }
    return BufferOp::ok;
}

BufferOp BufferStore::set_content_type(NodeId owner, BufferHandle h, std::string_view type) {
    const auto guard = lock();
    return set_content_type_locked(owner, h, type);
}

BufferOp BufferStore::set_content_type_locked(NodeId owner, BufferHandle h, std::string_view type) {
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::writable || s->owner != owner) {
        return BufferOp::invalid_state;
    }
    if (type.size() > limits::kMaxContentTypeBytes) {
        return BufferOp::content_type_too_long;
    }
    const auto delta =
        static_cast<std::int64_t>(type.size()) - static_cast<std::int64_t>(s->content_type.size());
    if (delta > 0 && !fits(owner, static_cast<std::uint64_t>(delta))) {
        return BufferOp::capacity_exceeded;
    }
    s->content_type.assign(type);
    charge(*s, delta);
    return BufferOp::ok;
}

BufferOp BufferStore::freeze(NodeId owner, BufferHandle h, BufferHandle* frozen) {
    const auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::writable || s->owner != owner) {
        return BufferOp::invalid_state;
    }
    // Same memory, new generation: the consumed mutable handle is now stale.
    s->generation = next_generation(s->generation);
    s->state = BufferState::owned;
    *frozen = encode(h & kIndexMask, s->generation);
    return BufferOp::ok;
}

BufferOp BufferStore::drop_owned(NodeId owner, BufferHandle h) {
    const auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if ((s->state != BufferState::writable && s->state != BufferState::owned) ||
        s->owner != owner) {
        return BufferOp::invalid_state;
    }
    retire(h & kIndexMask);
    return BufferOp::ok;
}

BufferOp BufferStore::take_from_guest(NodeId owner, BufferHandle h) {
    const auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::owned || s->owner != owner) {
        return BufferOp::invalid_state;
    }
    // The bytes leave the component's budget and stay in the flow's.
    if (OwnerUsage* usage = usage_of(owner)) {
        usage->held -= s->charged;
        --usage->buffers;
    }
    s->state = BufferState::in_transit;
    s->owner = kHostOwner;
    s->refs = 1;
    return BufferOp::ok;
}

BufferHandle BufferStore::make_host_buffer(std::span<const std::byte> bytes, std::string_view type,
                                           BufferOp* why) {
    auto guard = lock();
    BufferOp ignored = BufferOp::ok;
    if (why == nullptr) {
        why = &ignored;
    }
    const BufferHandle h = allocate_locked(kHostOwner, bytes.size(), why);
    if (h == 0) {
        return 0;
    }
    if (const BufferOp op = set_content_type_locked(kHostOwner, h, type); op != BufferOp::ok) {
        *why = op;
        retire(h & kIndexMask);
        return 0;
    }
    Slot& s = *lookup(h);
    s.size = bytes.size();
    s.state = BufferState::in_transit;
    s.refs = 1;
    std::byte* to = s.data;
    // No one else has the handle yet: the bytes go in unlocked.
    if (guard.owns_lock()) {
        guard.unlock();
    }
    if (!bytes.empty()) {
        std::memcpy(to, bytes.data(), bytes.size());
    }
    return h;
}

std::uint64_t BufferStore::reclaim(NodeId owner) {
    const auto guard = lock();
    std::uint64_t n = 0;
    for (std::uint32_t i = 0; i < slot_count_; ++i) {
        const Slot& s = slot(i);
        if ((s.state == BufferState::writable || s.state == BufferState::owned) &&
            s.owner == owner) {
            retire(i);
            ++n;
        }
    }
    return n;
}

BufferOp BufferStore::add_ref(BufferHandle h) {
    const auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::in_transit) {
        return BufferOp::invalid_state;
    }
    ++s->refs;
    return BufferOp::ok;
}

BufferOp BufferStore::release(BufferHandle h) {
    const auto guard = lock();
    Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state != BufferState::in_transit || s->refs == 0) {
        return BufferOp::invalid_state;
    }
    if (--s->refs == 0) {
        retire(h & kIndexMask);
    }
    return BufferOp::ok;
}

BufferOp BufferStore::size(BufferHandle h, std::uint64_t* out) const {
    const auto guard = lock();
    const Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    *out = s->size;
    return BufferOp::ok;
}

BufferOp BufferStore::capacity(BufferHandle h, std::uint64_t* out) const {
    const auto guard = lock();
    const Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    *out = s->capacity;
    return BufferOp::ok;
}

BufferOp BufferStore::content_type(BufferHandle h, std::string_view* out) const {
    const auto guard = lock();
    const Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    *out = s->content_type;
    return BufferOp::ok;
}

BufferOp BufferStore::bytes(BufferHandle h, std::uint64_t offset, std::uint64_t len,
                            std::span<const std::byte>* out) const {
    const auto guard = lock();
    const Slot* s = lookup(h);
    if (s == nullptr) {
        return BufferOp::invalid_handle;
    }
    if (s->state == BufferState::writable) {
        return BufferOp::invalid_state;
    }
    if (offset >= s->size) {
        *out = {};
        return BufferOp::ok;
    }
    const std::uint64_t n = std::min(len, s->size - offset);
    *out = std::span<const std::byte>(s->data + offset, static_cast<std::size_t>(n));
    return BufferOp::ok;
}

}  // namespace torvyn
