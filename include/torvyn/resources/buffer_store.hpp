// Host-owned payload buffers: tiered pools, generation-checked handles and
// ownership states. One store per flow. Used by one thread at a time until
// share() (a flow driven by several threads): from then on every call takes
// the store's lock, and slots never move, so a span or content type read
// stays valid while its reader holds the buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/core/spin_lock.hpp"
#include "torvyn/resources/copy_ledger.hpp"

namespace torvyn {

// A buffer handle as guests and queues see it: 20 bits of slot index and 12
// bits of generation. 0 is never a valid handle.
using BufferHandle = std::uint32_t;
using NodeId = std::uint32_t;
inline constexpr NodeId kHostOwner = 0xFFFFFFFFu;

// Who holds a buffer right now.
enum class BufferState : std::uint8_t {
    pooled,      // free; not addressable
    writable,    // a mutable buffer owned by one component
    owned,       // frozen, owned by one component (not yet handed back)
    in_transit,  // frozen, owned by the host: queued and/or lent to components
};

// Outcome of a buffer operation; everything but `ok` is refused.
enum class BufferOp : std::uint8_t {
    ok,
    capacity_exceeded,  // over a byte budget or the maximum buffer size
    out_of_bounds,
    invalid_state,          // wrong state or wrong owner for this operation
    invalid_handle,         // stale, double-freed or never issued
    too_many,               // the owner holds limits::kMaxBuffersPerNode buffers
    content_type_too_long,  // over limits::kMaxContentTypeBytes
};

std::string_view buffer_op_name(BufferOp op);

struct BufferLimits {
    // Largest single buffer, in bytes.
    std::uint64_t max_buffer_bytes = 256ull << 20;
    // Most bytes the store may hold at once (all live buffers); 0 = unlimited.
    std::uint64_t max_bytes_held = 0;
};

// Bytes "held" are what the budgets are charged for a live buffer: its
// payload block, its content type and limits::kBufferOverheadBytes of
// bookkeeping.
struct BufferStats {
    std::uint64_t allocations = 0;  // buffers handed out
    std::uint64_t pool_reuses = 0;  // of which served from a free list
    std::uint64_t live_buffers = 0;
    std::uint64_t bytes_held = 0;
    std::uint64_t peak_bytes_held = 0;
};

class BufferStore {
public:
    explicit BufferStore(BufferLimits limits = {});
    ~BufferStore();
    BufferStore(const BufferStore&) = delete;
    BufferStore& operator=(const BufferStore&) = delete;

    // --- component-facing (each checks owner and state) -----------------

    // A new writable buffer owned by `owner`. On refusal returns 0 and sets *why.
    BufferHandle allocate(NodeId owner, std::uint64_t capacity_hint, BufferOp* why);
    // Copies `bytes` in at `offset` (kAppend appends). `ledger` records the
    // copy (guest_to_host) and any resize.
    static constexpr std::uint64_t kAppend = ~0ull;
    BufferOp write(NodeId owner, BufferHandle h, std::uint64_t offset,
                   std::span<const std::byte> bytes, CopyLedger& ledger);
    BufferOp set_content_type(NodeId owner, BufferHandle h, std::string_view type);
    // Ends writing: the mutable handle goes stale; *frozen is the new handle.
    BufferOp freeze(NodeId owner, BufferHandle h, BufferHandle* frozen);
    // The component dropped a handle it owned.
    BufferOp drop_owned(NodeId owner, BufferHandle h);
    // The component returned an owned buffer: the host now holds one reference.
    BufferOp take_from_guest(NodeId owner, BufferHandle h);

    // --- host-facing -------------------------------------------------------

    // Returns to the pool every buffer `owner` still holds (its instance is
    // gone, e.g. after a trap). Returns how many were reclaimed.
    std::uint64_t reclaim(NodeId owner);

    // A frozen host-owned buffer holding `bytes` (for host-made elements).
    BufferHandle make_host_buffer(std::span<const std::byte> bytes, std::string_view type,
                                  BufferOp* why);
    // One more holder of an in-transit buffer (fan-out shares, never copies).
    BufferOp add_ref(BufferHandle h);
    // One holder less; the last release returns the memory to the pool.
    BufferOp release(BufferHandle h);

    // --- reads (valid for the holder; no copy made here) --------------------

    [[nodiscard]] bool valid(BufferHandle h) const;
    [[nodiscard]] BufferState state(BufferHandle h) const;
    // Size of a frozen buffer or bytes written so far into a writable one.
    BufferOp size(BufferHandle h, std::uint64_t* out) const;
    BufferOp capacity(BufferHandle h, std::uint64_t* out) const;
    BufferOp content_type(BufferHandle h, std::string_view* out) const;
    // Bytes [offset, offset+len) clamped to the payload of a frozen buffer.
    BufferOp bytes(BufferHandle h, std::uint64_t offset, std::uint64_t len,
                   std::span<const std::byte>* out) const;

    // Per-component budget: bytes in buffers `owner` is writing or holds
    // (not yet handed to the host). 0 removes the limit.
    void set_owner_limit(NodeId owner, std::uint64_t max_bytes);
    [[nodiscard]] std::uint64_t held_by(NodeId owner) const;
    [[nodiscard]] std::uint32_t buffers_of(NodeId owner) const;
    [[nodiscard]] std::uint64_t peak_held_by(NodeId owner) const;
    [[nodiscard]] std::uint64_t limit_of(NodeId owner) const;

    // Whether several threads use the store from now on (set while none but
    // the caller does).
    void share(bool shared = true) { shared_ = shared; }

    // After the threads that shared the store have stopped.
    [[nodiscard]] const BufferStats& stats() const { return stats_; }
    // While they run (by whichever thread holds the flow).
    [[nodiscard]] BufferStats stats_now() const {
        const auto held = lock();
        return stats_;
    }
    [[nodiscard]] const BufferLimits& limits() const { return limits_; }

private:
    struct Slot {
        std::byte* data = nullptr;
        std::uint64_t size = 0;
        std::uint64_t capacity = 0;
        std::uint64_t charged = 0;  // against the budgets: block + type + overhead
        std::uint32_t generation = 1;
        std::uint32_t refs = 0;  // holders while in transit
        NodeId owner = kHostOwner;
        BufferState state = BufferState::pooled;
        std::string content_type;
    };

    struct OwnerUsage {
        std::uint64_t held = 0;
        std::uint64_t peak = 0;
        std::uint64_t limit = 0;
        std::uint32_t buffers = 0;
    };

    [[nodiscard]] std::unique_lock<SpinLock> lock() const {
        return shared_ ? std::unique_lock(mutex_) : std::unique_lock<SpinLock>();
    }
    BufferHandle allocate_locked(NodeId owner, std::uint64_t capacity_hint, BufferOp* why);
    BufferOp set_content_type_locked(NodeId owner, BufferHandle h, std::string_view type);
    Slot* lookup(BufferHandle h);
    OwnerUsage* usage_of(NodeId owner);
    [[nodiscard]] const Slot* lookup(BufferHandle h) const;
    BufferHandle new_slot(BufferOp* why);
    static BufferHandle encode(std::uint32_t index, std::uint32_t generation);
    static std::uint64_t block_bytes(std::uint64_t capacity);
    // Whether `extra` more bytes fit the flow's and `owner`'s budgets.
    bool fits(NodeId owner, std::uint64_t extra);
    void charge(Slot& s, std::int64_t delta);
    bool acquire_block(Slot& s, std::uint64_t capacity, BufferOp* why);
    void release_block(Slot& s);
    void retire(std::uint32_t index);
    BufferOp grow(Slot& s, std::uint64_t needed, CopyLedger& ledger);

    BufferLimits limits_;
    BufferStats stats_;
    // Held for bookkeeping only: payload bytes are copied outside it.
    mutable SpinLock mutex_;
    bool shared_ = false;
    // Slots in chunks that never move as the store grows.
    static constexpr std::uint32_t kChunkBits = 10;
    [[nodiscard]] Slot& slot(std::uint32_t index) const {
        return chunks_[index >> kChunkBits][index & ((1u << kChunkBits) - 1)];
    }
    std::vector<std::unique_ptr<Slot[]>> chunks_;
    std::uint32_t slot_count_ = 0;
    std::vector<std::uint32_t> free_slots_;
    // Free blocks per size class (see kTierBytes in the .cpp).
    std::array<std::vector<std::byte*>, 4> free_blocks_;
    std::vector<OwnerUsage> owners_;
};

}  // namespace torvyn
