// The batch calls of contract 0.2: what is waiting on a node's input,
// gathered into one guest call (small payloads by value once the component
// is seen to read them, large ones lent), and one result per element back.
#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

#include "bridge_objects.hpp"
#include "host_calls.hpp"
#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn {

using detail::ErrorPtr;
using detail::guest_kind;
using detail::text;

namespace {

// Gathers a batch from the front of `in` into b.batch, up to the element
// that brings its payloads to limits::kBatchCallBytes: small payloads copied
// (and counted, as a read would be) into one byte list, larger ones lent by
// handle; each content type once.
void lend(BatchScratch& b, NodeHost& node, std::span<const ElementRef> in) {
    b.reads_before = node.payload_reads;
    b.elements.clear();
    b.bytes.clear();
    b.types.clear();
    b.type_views.clear();
    std::uint64_t part_bytes = 0;
    for (const ElementRef& e : in) {
        if (part_bytes >= limits::kBatchCallBytes) {
            break;  // the rest go in the next call
        }
        std::span<const std::byte> payload;
        std::string_view type;
        node.buffers->bytes(e.payload, 0, UINT64_MAX, &payload);
        node.buffers->content_type(e.payload, &type);
        part_bytes += payload.size();
        auto t = std::find(b.types.begin(), b.types.end(), type);
        if (t == b.types.end()) {
            t = b.types.insert(b.types.end(), type);
        }
        tvb_batch_element el{.sequence = e.sequence,
                             .timestamp_ns = e.timestamp_ns,
                             .by_value = 0,
                             .payload = e.payload,
                             .offset = 0,
                             .len = 0,
                             .content_type = static_cast<uint32_t>(t - b.types.begin())};
        if (b.mode == PayloadMode::by_value && payload.size() <= limits::kBatchInlineBytes &&
            b.bytes.size() + payload.size() <= limits::kBatchInlineTotalBytes) {
            el.by_value = 1;
            el.offset = static_cast<uint32_t>(b.bytes.size());
            el.len = static_cast<uint32_t>(payload.size());
            b.bytes.insert(b.bytes.end(), payload.begin(), payload.end());
            node.ledger->record(CopyReason::host_to_guest, payload.size());
            if (node.edge_ledger != nullptr) {
                node.edge_ledger->record(CopyReason::host_to_guest, payload.size());
            }
        }
        b.elements.push_back(el);
    }
    for (const std::string_view t : b.types) {
        b.type_views.push_back(tvb_bytes{reinterpret_cast<const uint8_t*>(t.data()), t.size()});
    }
    b.results.assign(b.elements.size(), tvb_batch_result{});
    b.batch = tvb_batch{.elements = b.elements.data(),
                        .count = b.elements.size(),
                        .bytes = {reinterpret_cast<const uint8_t*>(b.bytes.data()), b.bytes.size()},
                        .content_types = b.type_views.data(),
                        .content_type_count = b.type_views.size(),
                        .context = node.context_handle};
}

// After a probing batch: by value from now on if the component read
// everything it was lent.
void learn(BatchScratch& b, const NodeHost& node) {
    if (b.mode == PayloadMode::probe && !b.elements.empty()) {
        b.mode = node.payload_reads - b.reads_before >= b.elements.size() ? PayloadMode::by_value
                                                                          : PayloadMode::lent;
    }
}

// Element i's own result, from the guest's batch result.
CallResult element_result(const tvb_batch_result& r) {
    if (r.outcome != TVB_BATCH_FAILED) {
        return {};
    }
    // Guest text (the bridge cut it to limits::kMaxGuestTextBytes).
    return CallResult::guest(guest_kind(r.error_kind),
                             escape_guest_text(text(r.message.data, r.message.len)));
}

// Hands `in` to the guest in parts (one call each, the part lent in
// b.batch): `call(begin, count)` makes the call on in[begin, begin + count).
// Stops at the first failed call.
template <class Call>
CallResult in_parts(BatchScratch& b, NodeHost& node, std::span<const ElementRef> in, Call call) {
    for (std::size_t begin = 0; begin < in.size();) {
        lend(b, node, in.subspan(begin));
        const std::size_t count = b.batch.count;
        const CallResult r = call(begin, count);
        learn(b, node);
        if (!r.ok()) {
            return r;
        }
        begin += count;
    }
    return {};
}

}  // namespace

CallResult Instance::process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                                   std::span<CallResult> each) {
    return in_parts(raw_->scratch, host_, in, [&](std::size_t begin, std::size_t count) {
        return process_part(out.subspan(begin, count), each.subspan(begin, count));
    });
}

CallResult Instance::push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                                bool& pause) {
    pause = false;
    return in_parts(raw_->scratch, host_, in, [&](std::size_t begin, std::size_t count) {
        bool p = false;
        const CallResult r = push_part(each.subspan(begin, count), p);
        pause = pause || p;
        return r;
    });
}

CallResult Instance::accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                                  std::span<CallResult> each) {
    return in_parts(raw_->scratch, host_, in, [&](std::size_t begin, std::size_t count) {
        return accept_part(kept.subspan(begin, count), each.subspan(begin, count));
    });
}

// Takes an output a batch call returned: an owned buffer adopted, or bytes
// (a range and a content type the guest chose, checked here, not trusted)
// made into a buffer, charged and counted as buffer-allocator.make would.
CallResult Instance::take_output(const tvb_batch_result& r, const tvb_batch_output& made,
                                 Produced& out) {
    out = Produced{};
    out.present = true;
    out.sequence = r.sequence;
    out.timestamp_ns = r.timestamp_ns;
    if (r.by_value == 0) {
        out.payload = r.payload;
        CallResult a = adopt(out);
        if (!a.ok()) {
            out = Produced{};
        }
        return a;
    }
    const bool in_range = std::uint64_t{r.offset} + r.len <= made.bytes.len;
    const bool typed = r.content_type < made.content_type_count;
    if (!in_range || !typed) {
        out = Produced{};
        return CallResult::guest(
            GuestErrorKind::internal,
            in_range ? fmt::format("batch output: content type {} of {} does not exist",
                                   r.content_type, made.content_type_count)
                     : fmt::format("batch output: bytes {}..{} lie outside its {} bytes", r.offset,
                                   std::uint64_t{r.offset} + r.len, made.bytes.len));
    }
    const tvb_bytes type = made.content_types[r.content_type];
    BufferOp why = BufferOp::ok;
    out.payload = detail::make_guest_buffer(
        host_,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(made.bytes.data) + r.offset,
                                   r.len),
        text(type.data, type.len), &why);
    if (out.payload == 0) {
        out = Produced{};
        return CallResult::guest(GuestErrorKind::unavailable,
                                 host_.refusal_message.empty()
                                     ? fmt::format("output refused: {}", buffer_op_name(why))
                                     : host_.refusal_message);
    }
    return adopt(out);
}

CallResult Instance::process_part(std::span<Produced> out, std::span<CallResult> each) {
    BatchScratch& b = raw_->scratch;
    tvb_batch_output made{};
    const InCall busy(*raw_->gate);
    CallResult r = finish(
        {ErrorPtr(tvb_call_process_batch(raw_->handle.get(), &b.batch, b.results.data(), &made))});
    if (!r.ok()) {
        return r;
    }
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = Produced{};
        each[i] = element_result(b.results[i]);
        if (b.results[i].outcome == TVB_BATCH_DONE) {
            each[i] = take_output(b.results[i], made, out[i]);
        }
    }
    return r;
}

CallResult Instance::pull_batch(std::size_t max, std::vector<Produced>& out) {
    BatchScratch& b = raw_->scratch;
    max = std::min(max, limits::kMaxBatch);
    b.results.assign(max, tvb_batch_result{});
    std::size_t count = 0;
    tvb_batch_output made{};
    tvb_next_pull next{};
    const InCall busy(*raw_->gate);
    CallResult r = finish({ErrorPtr(
        tvb_call_pull_batch(raw_->handle.get(), static_cast<uint32_t>(max), host_.context_handle,
                            b.results.data(), &count, &made, &next))});
    if (!r.ok()) {
        return r;
    }
    // Every output is taken (so none stays the guest's); one that cannot be
    // fails the pull, and the host releases what is in `out`.
    CallResult taken;
    for (std::size_t i = 0; i < count; ++i) {
        Produced p;
        if (CallResult t = take_output(b.results[i], made, p); !t.ok() && taken.ok()) {
            taken = std::move(t);
        }
        out.push_back(p);
    }
    if (!taken.ok()) {
        return taken;
    }
    if (next.state != 0) {
        Produced end;
        end.pending = next.state == 1;
        if (end.pending) {
            end.retry_after = detail::guest_retry_after(next.retry_after_ns);
        }
        out.push_back(end);
    }
    return r;
}

CallResult Instance::push_part(std::span<CallResult> each, bool& pause) {
    BatchScratch& b = raw_->scratch;
    int32_t p = 0;
    const InCall busy(*raw_->gate);
    CallResult r =
        finish({ErrorPtr(tvb_call_push_batch(raw_->handle.get(), &b.batch, b.results.data(), &p))});
    pause = p != 0;
    if (r.ok()) {
        for (std::size_t i = 0; i < each.size(); ++i) {
            each[i] = element_result(b.results[i]);
        }
    }
    return r;
}

CallResult Instance::accept_part(std::span<std::uint8_t> kept, std::span<CallResult> each) {
    BatchScratch& b = raw_->scratch;
    const InCall busy(*raw_->gate);
    CallResult r =
        finish({ErrorPtr(tvb_call_accept_batch(raw_->handle.get(), &b.batch, b.results.data()))});
    if (r.ok()) {
        for (std::size_t i = 0; i < each.size(); ++i) {
            each[i] = element_result(b.results[i]);
            kept[i] = b.results[i].outcome == TVB_BATCH_DONE ? 1 : 0;
        }
    }
    return r;
}

}  // namespace torvyn
