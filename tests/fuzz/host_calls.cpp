// Fuzz target: the host side of every torvyn:streaming host function, driven
// by arbitrary call sequences and arguments from two guests (nodes 0 and 1)
// against one BufferStore, interleaved with what the flow does to buffers
// (adopting returned ones, fan-out references, releases, reclaiming after a
// trap). After every call the budgets hold; at the end, once the guests are
// reclaimed and the host lets go, not a byte or a buffer is left.
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "host_calls.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/resources/node_host.hpp"

namespace {

using torvyn::BufferHandle;

// Reads the input front to back; zeros once it is used up.
class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
    [[nodiscard]] bool empty() const { return n_ == 0; }
    std::uint8_t u8() {
        if (n_ == 0) {
            return 0;
        }
        --n_;
        return *p_++;
    }
    std::uint32_t u32() { return u8() | (u8() << 8) | (u8() << 16) | (std::uint32_t{u8()} << 24); }
    std::uint64_t u64() { return u32() | (std::uint64_t{u32()} << 32); }
    // A length that is usually small, sometimes at a limit's edge, rarely huge.
    std::uint64_t length(std::uint64_t edge) {
        switch (u8() % 8) {
            case 0:
                return edge;
            case 1:
                return edge + 1;
            case 2:
                return u64();
            default:
                return u8() | (std::uint64_t{u8()} << 8);
        }
    }

private:
    const std::uint8_t* p_;
    std::size_t n_;
};

struct Guest {
    torvyn::NodeHost host;
    std::vector<BufferHandle> handles;  // issued to it (some since consumed)
};

constexpr std::uint64_t kFlowBudget = 1u << 20;
constexpr std::uint64_t kNodeBudget = 256u << 10;
std::array<std::uint8_t, 64u << 10> scratch{};  // bytes a guest "writes"

BufferHandle pick(Input& in, const std::vector<BufferHandle>& handles) {
    const std::uint8_t how = in.u8();
    if (how < 32 || handles.empty()) {
        return in.u32();  // forged, stale, or 0
    }
    return handles[how % handles.size()];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const tvb_host_callbacks& cb = torvyn::detail::host_callbacks();
    torvyn::BufferLimits limits;
    limits.max_buffer_bytes = 512u << 10;
    limits.max_bytes_held = kFlowBudget;
    torvyn::BufferStore store(limits);
    torvyn::CopyLedger ledger;
    torvyn::FlowContextInfo context{"fuzz", "0123456789abcdef0123456789abcdef", "0123456789abcdef",
                                    std::nullopt};
    std::array<Guest, 2> guests;
    for (std::uint32_t id = 0; id < guests.size(); ++id) {
        torvyn::NodeHost& h = guests[id].host;
        h.buffers = &store;
        h.ledger = &ledger;
        h.id = id;
        h.name = "fuzz";
        h.context = &context;
        store.set_owner_limit(id, kNodeBudget);
    }
    std::vector<BufferHandle> host_refs;  // references the flow holds

    Input in(data, size);
    while (!in.empty()) {
        Guest& g = guests[in.u8() % guests.size()];
        void* node = &g.host;
        const std::uint8_t op = in.u8() % 16;
        tvb_buffer_error_kind kind{};
        std::uint64_t value = 0;
        std::uint64_t u = 0;
        std::uint32_t out = 0;
        const std::uint8_t* text = nullptr;
        const std::uint8_t* bytes = nullptr;
        std::size_t len = 0;
        switch (op) {
            case 0:
                if (cb.mutable_allocate(node, in.length(limits.max_buffer_bytes), &out, &kind,
                                        &value) == 0) {
                    g.handles.push_back(out);
                }
                break;
            case 1: {
                const BufferHandle m = pick(in, g.handles);
                const std::uint64_t offset = in.u8() < 128 ? UINT64_MAX : in.length(4096);
                const std::size_t n = in.length(scratch.size()) % (scratch.size() + 1);
                cb.mutable_write(node, m, offset, scratch.data(), n, &kind, &value);
                break;
            }
            case 2: {
                const std::size_t n = in.length(torvyn::limits::kMaxContentTypeBytes) % 4096;
                const std::string type(n, 't');
                cb.mutable_set_content_type(node, pick(in, g.handles),
                                            reinterpret_cast<const std::uint8_t*>(type.data()),
                                            type.size());
                break;
            }
            case 3:
                if (cb.mutable_freeze(node, pick(in, g.handles), &out) == 0) {
                    g.handles.push_back(out);
                }
                break;
            case 4:
                cb.mutable_drop(node, pick(in, g.handles));
                break;
            case 5:
                cb.buffer_drop(node, pick(in, g.handles));
                break;
            case 6: {
                const std::size_t n = in.length(scratch.size()) % (scratch.size() + 1);
                const std::size_t t = in.length(torvyn::limits::kMaxContentTypeBytes) % 4096;
                const std::string type(t, 't');
                if (cb.buffer_make(node, scratch.data(), n,
                                   reinterpret_cast<const std::uint8_t*>(type.data()), type.size(),
                                   &out, &kind, &value) == 0) {
                    g.handles.push_back(out);
                }
                break;
            }
            case 7: {
                const BufferHandle b = pick(in, g.handles);
                cb.buffer_size(node, b, &u);
                cb.mutable_size(node, b, &u);
                cb.mutable_capacity(node, b, &u);
                break;
            }
            case 8:
                if (cb.buffer_read(node, pick(in, g.handles), in.u64(), in.u64(), &bytes, &len) ==
                    0) {
                    // The bridge copies these bytes out right after the call.
                    volatile std::uint8_t sink = 0;
                    for (std::size_t i = 0; i < len; ++i) {
                        sink = static_cast<std::uint8_t>(sink ^ bytes[i]);
                    }
                }
                break;
            case 9:
                if (cb.buffer_content_type(node, pick(in, g.handles), &text, &len) == 0) {
                    TORVYN_FUZZ_CHECK(len <= torvyn::limits::kMaxContentTypeBytes);
                }
                break;
            case 10: {
                std::uint8_t present = 0;
                const std::uint32_t c = in.u8() < 200 ? 1 : in.u32();
                // Fields 3-6 need a dead-letter reason (none here: refused);
                // 7 is none of the enum's: a forged value must be refused.
                cb.context_string(node, c, static_cast<tvb_context_field>(in.u8() % 8), &text,
                                  &len);
                cb.context_remaining_deadline(node, c, &present, &u);
                std::uint32_t attempts = 0;
                cb.dead_letter_attempts(node, c, &present, &attempts);
                TORVYN_FUZZ_CHECK(present == 0);
                // Outside a call there is no element, so no attribute.
                const std::uint8_t* attribute_value = nullptr;
                std::size_t attribute_len = 0;
                TORVYN_FUZZ_CHECK(cb.element_attribute(node, in.u32(), in.u32(), &text, &len,
                                                       &attribute_value, &attribute_len) == 1);
                break;
            }
            case 11: {  // the guest returned a buffer: the flow adopts it
                const BufferHandle b = pick(in, g.handles);
                if (store.take_from_guest(g.host.id, b) == torvyn::BufferOp::ok) {
                    host_refs.push_back(b);
                }
                break;
            }
            case 12:  // fan-out: one more holder
                if (!host_refs.empty()) {
                    const BufferHandle b = host_refs[in.u8() % host_refs.size()];
                    if (store.add_ref(b) == torvyn::BufferOp::ok) {
                        host_refs.push_back(b);
                    }
                }
                break;
            case 13:  // a holder lets go
                if (!host_refs.empty()) {
                    const std::size_t i = in.u8() % host_refs.size();
                    TORVYN_FUZZ_CHECK(store.release(host_refs[i]) == torvyn::BufferOp::ok);
                    host_refs.erase(host_refs.begin() + static_cast<std::ptrdiff_t>(i));
                }
                break;
            case 14:  // the guest trapped: its instance and everything it held go
                store.reclaim(g.host.id);
                g.handles.clear();
                break;
            default:
                cb.should_stop(node);
                break;
        }
        // The budgets hold after every call.
        TORVYN_FUZZ_CHECK(store.stats().bytes_held <= kFlowBudget);
        for (const Guest& each : guests) {
            TORVYN_FUZZ_CHECK(store.held_by(each.host.id) <= kNodeBudget);
            TORVYN_FUZZ_CHECK(store.buffers_of(each.host.id) <= torvyn::limits::kMaxBuffersPerNode);
        }
    }
    // Nothing leaks: every buffer and byte comes back.
    for (const Guest& g : guests) {
        store.reclaim(g.host.id);
    }
    for (const BufferHandle b : host_refs) {
        TORVYN_FUZZ_CHECK(store.release(b) == torvyn::BufferOp::ok);
    }
    TORVYN_FUZZ_CHECK(store.stats().live_buffers == 0);
    TORVYN_FUZZ_CHECK(store.stats().bytes_held == 0);
    TORVYN_FUZZ_CHECK(store.held_by(0) == 0 && store.held_by(1) == 0);
    return 0;
}
