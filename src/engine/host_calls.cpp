// Every guest request for host resources ends here. Each function checks the
// handle and the caller's right to it in the BufferStore; a refusal that the
// contract lets the guest handle is returned as a buffer-error, anything else
// (stale or forged handle, wrong owner) traps the guest with the reason.
#include "host_calls.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/resources/node_host.hpp"

namespace torvyn::detail {
namespace {

constexpr int32_t kOk = 0;
constexpr int32_t kBufferError = 1;
constexpr int32_t kTrap = -1;

// Every call a guest makes into the host enters here, and is counted.
NodeHost& host(void* node) {
    auto& h = *static_cast<NodeHost*>(node);
    ++h.host_calls;
    return h;
}

// Refuses the guest's request: the guest traps, and the failure that follows
// reports this reason (Instance::finish reads it).
int32_t trap(NodeHost& h, Refusal kind, std::string message) {
    h.refusal = kind;
    h.refusal_message = std::move(message);
    return kTrap;
}

int32_t refuse(NodeHost& h, std::string_view what, BufferOp op) {
    return trap(h, Refusal::handle, fmt::format("{}: {}", what, buffer_op_name(op)));
}

// A content type over limits::kMaxContentTypeBytes is a contract violation:
// the call has no error case for it, so the guest traps.
int32_t content_type_too_long(NodeHost& h, std::string_view what, std::size_t len) {
    return trap(h, Refusal::limit,
                fmt::format("{}: a content type of {} bytes is over the limit of {} bytes", what,
                            len, limits::kMaxContentTypeBytes));
}

// Remembers that a budget refused the guest, so a failure that follows is
// reported as the budget's, with the numbers.
void note_budget(NodeHost& h, std::string_view what, std::uint64_t bytes) {
    h.refusal = Refusal::budget;
    const auto limit = [](std::uint64_t n) {
        return n == 0 ? std::string("no limit") : fmt::format("limit {}", n);
    };
    h.refusal_message = fmt::format(
        "{} of {} bytes refused: the component holds {} bytes ({}), the flow {} bytes ({})", what,
        bytes, h.buffers->held_by(h.id), limit(h.buffers->limit_of(h.id)),
        h.buffers->stats().bytes_held, limit(h.buffers->limits().max_bytes_held));
}

// Remembers why an allocation was refused (a budget, or the node's buffer
// count) for the failure that may follow.
void note_refused_allocation(NodeHost& h, std::string_view what, std::uint64_t bytes,
                             BufferOp why) {
    if (why == BufferOp::too_many) {
        h.refusal = Refusal::limit;
        h.refusal_message =
            fmt::format("{} refused: the component holds {} buffers, the most one node may hold",
                        what, limits::kMaxBuffersPerNode);
        return;
    }
    note_budget(h, what, bytes);
}

int32_t buffer_error(BufferOp op, tvb_buffer_error_kind* kind, uint64_t* value, uint64_t amount) {
    switch (op) {
        case BufferOp::capacity_exceeded:
            *kind = TVB_BUF_CAPACITY_EXCEEDED;
            *value = amount;
            break;
        case BufferOp::out_of_bounds:
            *kind = TVB_BUF_OUT_OF_BOUNDS;
            break;
        default:
            *kind = TVB_BUF_INVALID_STATE;
            break;
    }
    return kBufferError;
}

int32_t buffer_size(void* node, uint32_t b, uint64_t* size) {
    auto& h = host(node);
    const BufferOp op = h.buffers->size(b, size);
    return op == BufferOp::ok ? kOk : refuse(h, "buffer.size", op);
}

int32_t buffer_content_type(void* node, uint32_t b, const uint8_t** data, size_t* len) {
    auto& h = host(node);
    std::string_view type;
    const BufferOp op = h.buffers->content_type(b, &type);
    if (op != BufferOp::ok) {
        return refuse(h, "buffer.content-type", op);
    }
    *data = reinterpret_cast<const uint8_t*>(type.data());
    *len = type.size();
    return kOk;
}

int32_t buffer_read(void* node, uint32_t b, uint64_t offset, uint64_t len, const uint8_t** data,
                    size_t* out_len) {
    auto& h = host(node);
    ++h.payload_reads;
    std::span<const std::byte> bytes;
    const BufferOp op = h.buffers->bytes(b, offset, len, &bytes);
    if (op != BufferOp::ok) {
        return refuse(h, "buffer.read", op);
    }
    // The bridge copies these bytes into the guest right after we return.
    h.ledger->record(CopyReason::host_to_guest, bytes.size());
    if (h.edge_ledger != nullptr) {
        h.edge_ledger->record(CopyReason::host_to_guest, bytes.size());
    }
    *data = reinterpret_cast<const uint8_t*>(bytes.data());
    *out_len = bytes.size();
    return kOk;
}

int32_t buffer_drop(void* node, uint32_t b) {
    auto& h = host(node);
    const BufferOp op = h.buffers->drop_owned(h.id, b);
    return op == BufferOp::ok ? kOk : refuse(h, "buffer drop", op);
}

int32_t mutable_allocate(void* node, uint64_t hint, uint32_t* out, tvb_buffer_error_kind* kind,
                         uint64_t* value) {
    auto& h = host(node);
    BufferOp why = BufferOp::ok;
    const BufferHandle m = h.buffers->allocate(h.id, hint, &why);
    if (m == 0) {
        note_refused_allocation(h, "allocate", hint, why);
        return buffer_error(why, kind, value, h.buffers->limits().max_buffer_bytes);
    }
    *out = m;
    return kOk;
}

int32_t mutable_write(void* node, uint32_t m, uint64_t offset, const uint8_t* data, size_t len,
                      tvb_buffer_error_kind* kind, uint64_t* value) {
    auto& h = host(node);
    const BufferOp op = h.buffers->write(
        h.id, m, offset == UINT64_MAX ? BufferStore::kAppend : offset,
        std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), len), *h.ledger);
    if (op == BufferOp::ok) {
        return kOk;
    }
    if (op == BufferOp::capacity_exceeded || op == BufferOp::out_of_bounds) {
        if (op == BufferOp::capacity_exceeded) {
            note_budget(h, "write", len);
        }
        return buffer_error(op, kind, value, h.buffers->limits().max_buffer_bytes);
    }
    return refuse(h, "mutable-buffer.write", op);
}

int32_t mutable_size(void* node, uint32_t m, uint64_t* size) {
    auto& h = host(node);
    const BufferOp op = h.buffers->size(m, size);
    return op == BufferOp::ok ? kOk : refuse(h, "mutable-buffer.size", op);
}

int32_t mutable_capacity(void* node, uint32_t m, uint64_t* capacity) {
    auto& h = host(node);
    const BufferOp op = h.buffers->capacity(m, capacity);
    return op == BufferOp::ok ? kOk : refuse(h, "mutable-buffer.capacity", op);
}

int32_t mutable_set_content_type(void* node, uint32_t m, const uint8_t* data, size_t len) {
    auto& h = host(node);
    constexpr std::string_view what = "mutable-buffer.set-content-type";
    const BufferOp op = h.buffers->set_content_type(
        h.id, m, std::string_view(reinterpret_cast<const char*>(data), len));
    switch (op) {
        case BufferOp::ok:
            return kOk;
        case BufferOp::content_type_too_long:
            return content_type_too_long(h, what, len);
        case BufferOp::capacity_exceeded:
            // No error case in the contract: a budget refusal traps.
            note_budget(h, "set-content-type", len);
            return trap(h, Refusal::budget, h.refusal_message);
        default:
            return refuse(h, what, op);
    }
}

int32_t mutable_freeze(void* node, uint32_t m, uint32_t* frozen) {
    auto& h = host(node);
    const BufferOp op = h.buffers->freeze(h.id, m, frozen);
    return op == BufferOp::ok ? kOk : refuse(h, "mutable-buffer.freeze", op);
}

int32_t mutable_drop(void* node, uint32_t m) {
    auto& h = host(node);
    const BufferOp op = h.buffers->drop_owned(h.id, m);
    return op == BufferOp::ok ? kOk : refuse(h, "mutable-buffer drop", op);
}

int32_t context_string(void* node, uint32_t c, tvb_context_field field, const uint8_t** data,
                       size_t* len) {
    auto& h = host(node);
    if (h.context == nullptr || c != h.context_handle) {
        return refuse(h, "flow-context", BufferOp::invalid_handle);
    }
    const std::string* s = nullptr;
    switch (field) {
        case TVB_CTX_FLOW_ID:
            s = &h.context->flow_id;
            break;
        case TVB_CTX_TRACE_ID:
            s = &h.context->trace_id;
            if (h.element_trace != nullptr) {
                h.trace_text = trace_id_hex(*h.element_trace);
                s = &h.trace_text;
            }
            break;
        case TVB_CTX_SPAN_ID:
            s = &h.context->span_id;
            if (h.element_trace != nullptr) {
                h.span_text = span_id_hex(visit_span(*h.element_trace, h.id, h.element_edge));
                s = &h.span_text;
            }
            break;
        case TVB_CTX_REASON_CODE:
        case TVB_CTX_REASON_KIND:
        case TVB_CTX_REASON_MESSAGE:
        case TVB_CTX_REASON_NODE:
            if (h.dead_letter == nullptr) {
                return refuse(h, "why-dead-lettered", BufferOp::invalid_state);
            }
            s = field == TVB_CTX_REASON_CODE      ? &h.dead_letter->code
                : field == TVB_CTX_REASON_KIND    ? &h.dead_letter->kind
                : field == TVB_CTX_REASON_MESSAGE ? &h.dead_letter->message
                                                  : &h.dead_letter->node;
            break;
        default:
            return refuse(h, "flow-context", BufferOp::invalid_state);
    }
    *data = reinterpret_cast<const uint8_t*>(s->data());
    *len = s->size();
    return kOk;
}

int32_t dead_letter_attempts(void* node, uint32_t c, uint8_t* present, uint32_t* attempts) {
    auto& h = host(node);
    if (h.context == nullptr || c != h.context_handle) {
        return refuse(h, "why-dead-lettered", BufferOp::invalid_handle);
    }
    *present = h.dead_letter != nullptr ? 1 : 0;
    *attempts = h.dead_letter != nullptr ? h.dead_letter->attempts : 0;
    return kOk;
}

// Attribute `i` of the call's element `index`; 1 past the last. The bytes
// are the element's origin's, alive until the call returns.
int32_t element_attribute(void* node, uint32_t index, uint32_t i, const uint8_t** key,
                          size_t* key_len, const uint8_t** value, size_t* value_len) {
    auto& h = host(node);
    if (i == 0) {
        ++h.host_calls;  // the bridge asks once per attribute; the guest called once
    }
    if (index >= h.call_elements.size()) {
        return 1;
    }
    const ElementOrigin* origin = h.call_elements[index].origin;
    if (origin == nullptr || i >= origin->attributes.size()) {
        return 1;
    }
    const Attribute& a = origin->attributes[i];
    *key = reinterpret_cast<const uint8_t*>(a.key.data());
    *key_len = a.key.size();
    *value = reinterpret_cast<const uint8_t*>(a.value.data());
    *value_len = a.value.size();
    return kOk;
}

int32_t context_remaining_deadline(void* node, uint32_t c, uint8_t* present, uint64_t* ns) {
    auto& h = host(node);
    if (h.context == nullptr || c != h.context_handle) {
        return refuse(h, "flow-context", BufferOp::invalid_handle);
    }
    if (!h.context->deadline_ns) {
        *present = 0;
        return kOk;
    }
    const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::steady_clock::now().time_since_epoch())
                                               .count());
    *present = 1;
    *ns = *h.context->deadline_ns > now ? *h.context->deadline_ns - now : 0;
    return kOk;
}

int32_t buffer_make(void* node, const uint8_t* data, size_t len, const uint8_t* type,
                    size_t type_len, uint32_t* out, tvb_buffer_error_kind* kind, uint64_t* value) {
    auto& h = host(node);
    constexpr std::string_view what = "buffer-allocator.make";
    if (type_len > limits::kMaxContentTypeBytes) {
        return content_type_too_long(h, what, type_len);
    }
    BufferOp why = BufferOp::ok;
    *out = make_guest_buffer(
        h, std::span<const std::byte>(reinterpret_cast<const std::byte*>(data), len),
        std::string_view(reinterpret_cast<const char*>(type), type_len), &why);
    if (*out != 0) {
        return kOk;
    }
    if (why == BufferOp::capacity_exceeded || why == BufferOp::too_many) {
        return buffer_error(why, kind, value, h.buffers->limits().max_buffer_bytes);
    }
    return refuse(h, what, why);
}

// Asked by the engine's deadline check, not by the guest: not counted.
int32_t should_stop(void* node) {
    const auto& h = *static_cast<const NodeHost*>(node);
    return h.stop != nullptr &&
                   h.stop->load(std::memory_order_relaxed) >= static_cast<int>(StopRequest::forced)
               ? 1
               : 0;
}

// The guest's stdout is the pipeline's data when redirected (kept as is);
// on a terminal, everything but line breaks is escaped so that a guest
// cannot drive the operator's terminal.
bool stdout_is_terminal() {
    static const bool tty = isatty(fileno(stdout)) != 0;
    return tty;
}

void print_stderr_line(const NodeHost& h, std::string_view line) {
    if (h.guest_lines != nullptr) {
        h.guest_lines->guest_line(h, line);
        return;
    }
    const std::string text = fmt::format("{}| {}\n", h.name, escape_guest_text(line));
    std::fwrite(text.data(), 1, text.size(), stderr);
}

// Guest stderr is printed a line at a time, each line escaped and headed by
// the node's name, so it can never pass for a line of Torvyn's own.
void write_stderr(NodeHost& h, std::string_view bytes) {
    while (!bytes.empty()) {
        const std::size_t room = limits::kMaxGuestLineBytes - h.stderr_line.size();
        const std::size_t nl = bytes.find('\n');
        if (nl != std::string_view::npos && nl <= room) {
            h.stderr_line.append(bytes.substr(0, nl));
            print_stderr_line(h, h.stderr_line);
            h.stderr_line.clear();
            bytes.remove_prefix(nl + 1);
            continue;
        }
        const std::size_t take = std::min(room, bytes.size());
        h.stderr_line.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (h.stderr_line.size() == limits::kMaxGuestLineBytes) {
            print_stderr_line(h, h.stderr_line);
            h.stderr_line.clear();
        }
    }
}

int32_t guest_output(void* node, tvb_stream stream, const uint8_t* data, size_t len) {
    auto& h = host(node);
    const std::string_view bytes(reinterpret_cast<const char*>(data), len);
    if (stream == TVB_STREAM_STDERR) {
        write_stderr(h, bytes);
        return kOk;
    }
    if (stdout_is_terminal()) {
        const std::string text = escape_guest_text(bytes, true);
        std::fwrite(text.data(), 1, text.size(), stdout);
    } else {
        std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    }
    // Line by line, as the guest would see a terminal or a pipe behave.
    if (bytes.find('\n') != std::string_view::npos) {
        std::fflush(stdout);
    }
    if (std::ferror(stdout) != 0) {
        return trap(h, Refusal::none, "cannot write the guest's stdout");
    }
    return kOk;
}

}  // namespace

const tvb_host_callbacks& host_callbacks() {
    static const tvb_host_callbacks callbacks = {
        .buffer_size = buffer_size,
        .buffer_content_type = buffer_content_type,
        .buffer_read = buffer_read,
        .buffer_drop = buffer_drop,
        .mutable_allocate = mutable_allocate,
        .mutable_write = mutable_write,
        .mutable_size = mutable_size,
        .mutable_capacity = mutable_capacity,
        .mutable_set_content_type = mutable_set_content_type,
        .mutable_freeze = mutable_freeze,
        .mutable_drop = mutable_drop,
        .context_string = context_string,
        .dead_letter_attempts = dead_letter_attempts,
        .element_attribute = element_attribute,
        .context_remaining_deadline = context_remaining_deadline,
        .buffer_make = buffer_make,
        .should_stop = should_stop,
        .guest_output = guest_output,
    };
    return callbacks;
}

BufferHandle make_guest_buffer(NodeHost& h, std::span<const std::byte> bytes, std::string_view type,
                               BufferOp* why) {
    BufferOp op = BufferOp::ok;
    const BufferHandle m = h.buffers->allocate(h.id, bytes.size(), &op);
    if (m == 0) {
        note_refused_allocation(h, "make", bytes.size(), op);
        *why = op;
        return 0;
    }
    op = h.buffers->write(h.id, m, BufferStore::kAppend, bytes, *h.ledger);
    if (op == BufferOp::ok && !type.empty()) {
        op = h.buffers->set_content_type(h.id, m, type);
    }
    BufferHandle frozen = 0;
    if (op == BufferOp::ok) {
        op = h.buffers->freeze(h.id, m, &frozen);
    }
    if (op != BufferOp::ok) {
        h.buffers->drop_owned(h.id, m);
        if (op == BufferOp::capacity_exceeded) {
            note_budget(h, "make", bytes.size() + type.size());
        }
        *why = op;
        return 0;
    }
    return frozen;
}

}  // namespace torvyn::detail

namespace torvyn {

void flush_guest_output(NodeHost& host) {
    if (!host.stderr_line.empty()) {
        detail::print_stderr_line(host, host.stderr_line);
        host.stderr_line.clear();
    }
    std::fflush(stdout);
}

}  // namespace torvyn
