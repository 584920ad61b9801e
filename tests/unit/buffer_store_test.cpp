#include "torvyn/resources/buffer_store.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "torvyn/core/limits.hpp"

namespace torvyn {
namespace {

std::span<const std::byte> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string text_of(const BufferStore& store, BufferHandle h) {
    std::span<const std::byte> b;
    EXPECT_EQ(store.bytes(h, 0, ~0ull, &b), BufferOp::ok);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

constexpr NodeId kNode = 3;
constexpr NodeId kOther = 4;

TEST(BufferStore, WriteFreezeHandOverRelease) {
    BufferStore store;
    CopyLedger ledger;
    BufferOp why = BufferOp::ok;
    const BufferHandle m = store.allocate(kNode, 16, &why);
    ASSERT_NE(m, 0u);
    EXPECT_EQ(store.state(m), BufferState::writable);
    EXPECT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of("hello"), ledger), BufferOp::ok);
    EXPECT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of(" world"), ledger),
              BufferOp::ok);
    EXPECT_EQ(store.set_content_type(kNode, m, "text/plain"), BufferOp::ok);

    BufferHandle frozen = 0;
    ASSERT_EQ(store.freeze(kNode, m, &frozen), BufferOp::ok);
    EXPECT_NE(frozen, m);
    // The consumed mutable handle is stale: using it is refused, not UB.
    EXPECT_FALSE(store.valid(m));
    EXPECT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of("x"), ledger),
              BufferOp::invalid_handle);
    EXPECT_EQ(store.state(frozen), BufferState::owned);
    EXPECT_EQ(text_of(store, frozen), "hello world");
    std::string_view type;
    EXPECT_EQ(store.content_type(frozen, &type), BufferOp::ok);
    EXPECT_EQ(type, "text/plain");

    // Only the owner can hand it over.
    EXPECT_EQ(store.take_from_guest(kOther, frozen), BufferOp::invalid_state);
    EXPECT_EQ(store.take_from_guest(kNode, frozen), BufferOp::ok);
    EXPECT_EQ(store.state(frozen), BufferState::in_transit);
    EXPECT_EQ(store.stats().live_buffers, 1u);

    EXPECT_EQ(store.release(frozen), BufferOp::ok);
    EXPECT_FALSE(store.valid(frozen));
    EXPECT_EQ(store.stats().live_buffers, 0u);
    // Double free is detected, never a second release of the memory.
    EXPECT_EQ(store.release(frozen), BufferOp::invalid_handle);

    EXPECT_EQ(ledger.of(CopyReason::guest_to_host).copies, 2u);
    EXPECT_EQ(ledger.of(CopyReason::guest_to_host).bytes, 11u);
}

TEST(BufferStore, WrongOwnerAndWrongStateAreRefused) {
    BufferStore store;
    CopyLedger ledger;
    const BufferHandle m = store.allocate(kNode, 0, nullptr);
    EXPECT_EQ(store.write(kOther, m, 0, bytes_of("x"), ledger), BufferOp::invalid_state);
    EXPECT_EQ(store.drop_owned(kOther, m), BufferOp::invalid_state);
    // A writable buffer cannot be read as a payload nor shared.
    std::span<const std::byte> b;
    EXPECT_EQ(store.bytes(m, 0, 1, &b), BufferOp::invalid_state);
    EXPECT_EQ(store.add_ref(m), BufferOp::invalid_state);
    EXPECT_EQ(store.release(m), BufferOp::invalid_state);
    EXPECT_EQ(store.drop_owned(kNode, m), BufferOp::ok);
    EXPECT_EQ(store.drop_owned(kNode, m), BufferOp::invalid_handle);
    EXPECT_EQ(store.stats().live_buffers, 0u);
}

TEST(BufferStore, ForgedAndZeroHandlesAreInvalid) {
    BufferStore store;
    EXPECT_FALSE(store.valid(0));
    EXPECT_FALSE(store.valid(0xDEADBEEF));
    std::uint64_t size = 0;
    EXPECT_EQ(store.size(12345, &size), BufferOp::invalid_handle);
}

TEST(BufferStore, SlotReuseBumpsGeneration) {
    BufferStore store;
    const BufferHandle a = store.make_host_buffer(bytes_of("a"), "", nullptr);
    ASSERT_EQ(store.release(a), BufferOp::ok);
    const BufferHandle b = store.make_host_buffer(bytes_of("b"), "", nullptr);
    // Same slot, new generation: the old handle cannot reach the new buffer.
    EXPECT_NE(a, b);
    EXPECT_FALSE(store.valid(a));
    EXPECT_EQ(text_of(store, b), "b");
    EXPECT_GE(store.stats().pool_reuses, 1u);
}

TEST(BufferStore, SharedBufferLivesUntilLastRelease) {
    BufferStore store;
    const BufferHandle h = store.make_host_buffer(bytes_of("shared"), "", nullptr);
    ASSERT_EQ(store.add_ref(h), BufferOp::ok);
    EXPECT_EQ(store.release(h), BufferOp::ok);
    EXPECT_TRUE(store.valid(h));
    EXPECT_EQ(store.release(h), BufferOp::ok);
    EXPECT_FALSE(store.valid(h));
}

TEST(BufferStore, GrowingCountsTheResizeCopy) {
    BufferStore store;
    CopyLedger ledger;
    const BufferHandle m = store.allocate(kNode, 1, nullptr);  // smallest tier: 256 B
    const std::string first(200, 'a');
    const std::string second(300, 'b');
    ASSERT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of(first), ledger), BufferOp::ok);
    ASSERT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of(second), ledger), BufferOp::ok);
    EXPECT_EQ(ledger.of(CopyReason::host_resize).copies, 1u);
    EXPECT_EQ(ledger.of(CopyReason::host_resize).bytes, first.size());
    std::uint64_t size = 0;
    ASSERT_EQ(store.size(m, &size), BufferOp::ok);
    EXPECT_EQ(size, first.size() + second.size());
}

TEST(BufferStore, WritePastEndZeroFillsTheGap) {
    BufferStore store;
    CopyLedger ledger;
    const BufferHandle m = store.allocate(kNode, 8, nullptr);
    ASSERT_EQ(store.write(kNode, m, 4, bytes_of("xy"), ledger), BufferOp::ok);
    BufferHandle f = 0;
    ASSERT_EQ(store.freeze(kNode, m, &f), BufferOp::ok);
    EXPECT_EQ(text_of(store, f), std::string("\0\0\0\0xy", 6));
}

TEST(BufferStore, ReadsClampToThePayload) {
    BufferStore store;
    const BufferHandle h = store.make_host_buffer(bytes_of("0123456789"), "", nullptr);
    std::span<const std::byte> b;
    ASSERT_EQ(store.bytes(h, 8, 100, &b), BufferOp::ok);
    EXPECT_EQ(b.size(), 2u);
    ASSERT_EQ(store.bytes(h, 50, 5, &b), BufferOp::ok);
    EXPECT_EQ(b.size(), 0u);
}

TEST(BufferStore, BudgetsRefuseWithCapacityExceeded) {
    BufferLimits limits;
    limits.max_buffer_bytes = 1024;
    limits.max_bytes_held = 4096;
    BufferStore store(limits);
    CopyLedger ledger;
    BufferOp why = BufferOp::ok;
    EXPECT_EQ(store.allocate(kNode, 2048, &why), 0u);
    EXPECT_EQ(why, BufferOp::capacity_exceeded);

    const BufferHandle m = store.allocate(kNode, 16, &why);
    ASSERT_NE(m, 0u);
    const std::string big(2000, 'z');
    EXPECT_EQ(store.write(kNode, m, BufferStore::kAppend, bytes_of(big), ledger),
              BufferOp::capacity_exceeded);

    // 4 KiB held at most; each buffer is charged its 256 B block and its
    // bookkeeping, so `m` and (4096 / 384 - 1) more fit, the next does not.
    const std::uint64_t per_buffer = 256 + limits::kBufferOverheadBytes;
    std::vector<BufferHandle> held;
    for (;;) {
        const BufferHandle h = store.allocate(kNode, 256, &why);
        if (h == 0) {
            break;
        }
        held.push_back(h);
    }
    EXPECT_EQ(why, BufferOp::capacity_exceeded);
    EXPECT_LE(store.stats().bytes_held, limits.max_bytes_held);
    EXPECT_EQ(held.size(), limits.max_bytes_held / per_buffer - 1);
}

TEST(BufferStore, ContentTypeIsBoundedAndCharged) {
    BufferStore store;
    const BufferHandle m = store.allocate(kNode, 8, nullptr);
    const std::uint64_t before = store.held_by(kNode);
    EXPECT_EQ(before, 256 + limits::kBufferOverheadBytes);
    EXPECT_EQ(store.set_content_type(kNode, m, std::string(limits::kMaxContentTypeBytes + 1, 't')),
              BufferOp::content_type_too_long);
    EXPECT_EQ(store.held_by(kNode), before);
    ASSERT_EQ(store.set_content_type(kNode, m, std::string(limits::kMaxContentTypeBytes, 't')),
              BufferOp::ok);
    EXPECT_EQ(store.held_by(kNode), before + limits::kMaxContentTypeBytes);
    EXPECT_EQ(store.stats().bytes_held, before + limits::kMaxContentTypeBytes);
    // A shorter type gives bytes back; dropping the buffer gives back all.
    ASSERT_EQ(store.set_content_type(kNode, m, "text/plain"), BufferOp::ok);
    EXPECT_EQ(store.held_by(kNode), before + 10);
    ASSERT_EQ(store.drop_owned(kNode, m), BufferOp::ok);
    EXPECT_EQ(store.held_by(kNode), 0u);
    EXPECT_EQ(store.stats().bytes_held, 0u);
}

TEST(BufferStore, ContentTypeCountsAgainstTheBudget) {
    BufferLimits limits;
    limits.max_bytes_held = 256 + limits::kBufferOverheadBytes + 100;
    BufferStore store(limits);
    const BufferHandle m = store.allocate(kNode, 8, nullptr);
    ASSERT_NE(m, 0u);
    EXPECT_EQ(store.set_content_type(kNode, m, std::string(101, 't')), BufferOp::capacity_exceeded);
    EXPECT_EQ(store.set_content_type(kNode, m, std::string(100, 't')), BufferOp::ok);
}

TEST(BufferStore, BuffersPerNodeAreCapped) {
    BufferStore store;
    BufferOp why = BufferOp::ok;
    BufferHandle last = 0;
    for (std::uint32_t i = 0; i < limits::kMaxBuffersPerNode; ++i) {
        last = store.allocate(kNode, 1, &why);
        ASSERT_NE(last, 0u) << i;
    }
    EXPECT_EQ(store.buffers_of(kNode), limits::kMaxBuffersPerNode);
    EXPECT_EQ(store.allocate(kNode, 1, &why), 0u);
    EXPECT_EQ(why, BufferOp::too_many);
    // Another node is not affected; a handed-back buffer frees a place.
    EXPECT_NE(store.allocate(kOther, 1, nullptr), 0u);
    BufferHandle frozen = 0;
    ASSERT_EQ(store.freeze(kNode, last, &frozen), BufferOp::ok);
    ASSERT_EQ(store.take_from_guest(kNode, frozen), BufferOp::ok);
    EXPECT_EQ(store.buffers_of(kNode), limits::kMaxBuffersPerNode - 1);
    EXPECT_NE(store.allocate(kNode, 1, nullptr), 0u);
    EXPECT_EQ(store.reclaim(kNode), limits::kMaxBuffersPerNode);
    EXPECT_EQ(store.release(frozen), BufferOp::ok);
    EXPECT_EQ(store.reclaim(kOther), 1u);
    EXPECT_EQ(store.stats().live_buffers, 0u);
    EXPECT_EQ(store.stats().bytes_held, 0u);
}

TEST(BufferStore, ReclaimReturnsWhatADeadInstanceHeld) {
    BufferStore store;
    const BufferHandle a = store.allocate(kNode, 8, nullptr);
    const BufferHandle b = store.allocate(kNode, 8, nullptr);
    BufferHandle frozen = 0;
    ASSERT_EQ(store.freeze(kNode, b, &frozen), BufferOp::ok);
    const BufferHandle other = store.allocate(kOther, 8, nullptr);
    EXPECT_EQ(store.reclaim(kNode), 2u);
    EXPECT_FALSE(store.valid(a));
    EXPECT_FALSE(store.valid(frozen));
    EXPECT_TRUE(store.valid(other));
    EXPECT_EQ(store.stats().live_buffers, 1u);
}

TEST(CopyLedger, CountsAndSumsByReason) {
    CopyLedger a;
    a.record(CopyReason::host_to_guest, 10);
    a.record(CopyReason::host_to_guest, 5);
    a.record(CopyReason::guest_to_host, 7);
    EXPECT_EQ(a.of(CopyReason::host_to_guest).copies, 2u);
    EXPECT_EQ(a.of(CopyReason::host_to_guest).bytes, 15u);
    EXPECT_EQ(a.total().copies, 3u);
    EXPECT_EQ(a.total().bytes, 22u);

    CopyLedger b;
    b.record(CopyReason::host_resize, 100);
    b += a;
    EXPECT_EQ(b.total().copies, 4u);
    EXPECT_EQ(b.total().bytes, 122u);
    EXPECT_EQ(b.of(CopyReason::guest_to_host).bytes, 7u);
}

}  // namespace
}  // namespace torvyn
