// torvyn/component.hpp — write a Torvyn component as one small C++ class.
//
//   #include <torvyn/component.hpp>
//   struct Upper {
//       torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
//           auto text = e.payload.read_all();
//           std::string out(text.view());
//           for (auto& c : out) c = static_cast<char>(std::toupper(c));
//           return torvyn::make_output(out, "text/plain");
//       }
//   };
//   TORVYN_PROCESSOR(Upper)
//
// Handles follow the contract: an Element's payload is lent for the call
// (the macro releases it when the call returns); a Buffer or MutableBuffer
// is owned and released by its destructor unless handed to the host in an
// Output. An optional `Result<Ok> init(const Config&)` and `void teardown()`
// on the class are called by the host when present.
//
// Batches (torvyn:streaming@0.2.0): for a source, processor, sink or filter
// the macro also exports the role's batch form, calling the per-element method
// once per element of the batch. Small payloads then arrive by value (an
// Element's payload reads them without a host call) and an Output made with
// make_output goes back by value; nothing changes for the author.
#pragma once

#include <torvyn/guest.h>

#ifdef TORVYN_CONTRACT_0_1_0
#error "the C++ SDK builds for the current contract; write 0.1.0 components in C"
#endif

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace torvyn {

enum class ErrorKind : std::uint8_t {
    invalid_input = TORVYN_ERROR_INVALID_INPUT,
    unavailable = TORVYN_ERROR_UNAVAILABLE,
    internal = TORVYN_ERROR_INTERNAL,
    deadline_exceeded = TORVYN_ERROR_DEADLINE_EXCEEDED,
    fatal = TORVYN_ERROR_FATAL,
};

// A failure reported to the host; the node's error policy decides what next.
struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;

    static Error invalid_input(std::string m) { return {ErrorKind::invalid_input, std::move(m)}; }
    static Error unavailable(std::string m) { return {ErrorKind::unavailable, std::move(m)}; }
    static Error internal(std::string m) { return {ErrorKind::internal, std::move(m)}; }
    static Error fatal(std::string m) { return {ErrorKind::fatal, std::move(m)}; }
    static Error deadline_exceeded() { return {ErrorKind::deadline_exceeded, {}}; }
};

struct Ok {};

// A value or an Error (components are built without exceptions).
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
    [[nodiscard]] bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(v_); }
    Error& error() { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

// Bytes copied into this component (freed when destroyed), or a view of
// bytes the current call carried in by value (valid for the call).
class Bytes {
public:
    explicit Bytes(torvyn_list_u8_t list) : list_(list), owned_(true) {}
    Bytes(const std::byte* data, std::size_t size)
        : list_{reinterpret_cast<std::uint8_t*>(const_cast<std::byte*>(data)), size},
          owned_(false) {}
    Bytes(Bytes&& o) noexcept
        : list_(std::exchange(o.list_, torvyn_list_u8_t{nullptr, 0})),
          owned_(std::exchange(o.owned_, false)) {}
    Bytes& operator=(Bytes&& o) noexcept {
        std::swap(list_, o.list_);
        std::swap(owned_, o.owned_);
        return *this;
    }
    Bytes(const Bytes&) = delete;
    Bytes& operator=(const Bytes&) = delete;
    ~Bytes() {
        if (owned_ && list_.ptr != nullptr) {
            torvyn_list_u8_free(&list_);
        }
    }
    [[nodiscard]] std::span<const std::byte> span() const {
        return {reinterpret_cast<const std::byte*>(list_.ptr), list_.len};
    }
    [[nodiscard]] std::string_view view() const {
        return {reinterpret_cast<const char*>(list_.ptr), list_.len};
    }
    [[nodiscard]] std::size_t size() const { return list_.len; }

private:
    torvyn_list_u8_t list_;
    bool owned_;
};

namespace detail {
inline std::string take_string(torvyn_string_t s) {
    std::string out(reinterpret_cast<const char*>(s.ptr), s.len);
    torvyn_string_free(&s);
    return out;
}
}  // namespace detail

// An element's payload for the current call: a host buffer lent by handle
// (reading copies into the component), or bytes the call carried in by
// value (reading is free). Lent for the call only, so it cannot be copied
// or kept: keep what read_all() returns instead (a handle kept past the call
// would trap the component, E0401).
class BufferView {
public:
    explicit BufferView(torvyn_borrow_buffer_t h) : h_(h), lent_(true) {}
    BufferView(std::span<const std::byte> bytes, std::string_view content_type)
        : h_{}, lent_(false), bytes_(bytes), type_(content_type) {}
    BufferView(const BufferView&) = delete;
    BufferView& operator=(const BufferView&) = delete;
    [[nodiscard]] std::uint64_t size() const {
        return lent_ ? torvyn_streaming_types_method_buffer_size(h_) : bytes_.size();
    }
    [[nodiscard]] std::string content_type() const {
        if (!lent_) {
            return std::string(type_);
        }
        torvyn_string_t s;
        torvyn_streaming_types_method_buffer_content_type(h_, &s);
        return detail::take_string(s);
    }
    [[nodiscard]] Bytes read_all() const {
        return lent_ ? Bytes(torvyn_read_all(h_)) : Bytes(bytes_.data(), bytes_.size());
    }
    [[nodiscard]] Bytes read(std::uint64_t offset, std::uint64_t len) const {
        if (!lent_) {
            const std::size_t at =
                offset < bytes_.size() ? static_cast<std::size_t>(offset) : bytes_.size();
            const std::size_t n =
                static_cast<std::size_t>(len < bytes_.size() - at ? len : bytes_.size() - at);
            return Bytes(bytes_.data() + at, n);
        }
        torvyn_list_u8_t list;
        torvyn_streaming_types_method_buffer_read(h_, offset, len, &list);
        return Bytes(list);
    }

private:
    torvyn_borrow_buffer_t h_;
    bool lent_;
    std::span<const std::byte> bytes_;
    std::string_view type_;
};

// What the host tells a component about the flow of the current call.
struct Context {
    std::string flow_id;
    std::string trace_id;  // W3C trace-context, 32 hex digits
    std::string span_id;   // 16 hex digits
    std::optional<std::uint64_t> remaining_deadline_ns;
};

// One host call; ask only when needed (0.2.0 lends no context per element).
inline Context current_context() {
    torvyn_streaming_types_flow_context_t c;
    torvyn_streaming_types_current_context(&c);
    Context out{detail::take_string(c.flow_id), detail::take_string(c.trace_id),
                detail::take_string(c.span_id), std::nullopt};
    if (c.remaining_deadline_ns.is_some) {
        out.remaining_deadline_ns = c.remaining_deadline_ns.val;
    }
    return out;
}

// Why an element reached a dead-letter sink (the node that gave it up, its
// error, the calls made on it).
struct DeadLetterReason {
    std::string code;     // "E0303", as in the run's report
    std::string kind;     // "invalid-input", "trap", ...
    std::string message;  // the error's own text
    std::string node;
    std::uint32_t attempts = 1;
};

// In a dead-letter sink's push: why the element was dead-lettered; nullopt
// for any other element. One host call.
inline std::optional<DeadLetterReason> dead_letter_reason() {
    torvyn_streaming_types_dead_letter_reason_t r;
    if (!torvyn_streaming_types_why_dead_lettered(&r)) {
        return std::nullopt;
    }
    return DeadLetterReason{detail::take_string(r.code), detail::take_string(r.kind),
                            detail::take_string(r.message), detail::take_string(r.node),
                            r.attempts};
}

// The flow context of the current call, read on demand (each accessor is one
// host call; current_context() gets all of it at once).
class ContextView {
public:
    [[nodiscard]] std::string flow_id() const { return current_context().flow_id; }
    [[nodiscard]] std::string trace_id() const { return current_context().trace_id; }
    [[nodiscard]] std::string span_id() const { return current_context().span_id; }
    [[nodiscard]] std::optional<std::uint64_t> remaining_deadline_ns() const {
        return current_context().remaining_deadline_ns;
    }
};

// Metadata an element came with from outside Torvyn: a connector's subject,
// topic, partition, offset, key or headers ("kafka.key", "nats.subject",
// ...). The value is bytes in a string (a Kafka key need not be text).
struct Attribute {
    std::string key;
    std::string value;
};

// The attributes of element `index` of the current call (0 in a per-element
// call; its place in a batch). One host call; empty when it has none.
inline std::vector<Attribute> element_attributes(std::uint32_t index = 0) {
    torvyn_streaming_types_list_attribute_t list;
    torvyn_streaming_types_element_attributes(index, &list);
    std::vector<Attribute> out;
    out.reserve(list.len);
    for (std::size_t i = 0; i < list.len; ++i) {
        const auto& a = list.ptr[i];
        out.push_back({std::string(reinterpret_cast<const char*>(a.key.ptr), a.key.len),
                       std::string(reinterpret_cast<const char*>(a.value.ptr), a.value.len)});
    }
    torvyn_streaming_types_list_attribute_free(&list);
    return out;
}

// An element lent to the current call; like its payload it cannot be copied
// or kept past the call.
struct Element {
    std::uint64_t sequence;
    std::uint64_t timestamp_ns;
    BufferView payload;
    ContextView context;
    std::uint32_t index = 0;  // its place in the call's batch

    // Its attributes (one host call each time).
    [[nodiscard]] std::vector<Attribute> attributes() const { return element_attributes(index); }
    // One attribute's value; nullopt when it has none by that key.
    [[nodiscard]] std::optional<std::string> attribute(std::string_view key) const {
        for (auto& a : attributes()) {
            if (a.key == key) {
                return std::move(a.value);
            }
        }
        return std::nullopt;
    }
};

// An immutable buffer this component owns until it hands it to the host.
class Buffer {
public:
    explicit Buffer(torvyn_own_buffer_t h) : h_(h), owned_(true) {}
    Buffer(Buffer&& o) noexcept : h_(o.h_), owned_(std::exchange(o.owned_, false)) {}
    Buffer& operator=(Buffer&& o) noexcept {
        std::swap(h_, o.h_);
        std::swap(owned_, o.owned_);
        return *this;
    }
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;
    ~Buffer() {
        if (owned_) {
            torvyn_streaming_types_buffer_drop_own(h_);
        }
    }
    // Gives up ownership (to the host, through an output element).
    torvyn_own_buffer_t release() {
        owned_ = false;
        return h_;
    }

private:
    torvyn_own_buffer_t h_;
    bool owned_;
};

// A payload handed to the host: a buffer this component made, or bytes the
// host copies into a new buffer (by value in a batch, through
// buffer-allocator.make otherwise).
class Payload {
public:
    Payload(Buffer buffer) : buffer_(std::move(buffer)) {}  // NOLINT(google-explicit-constructor)
    Payload(std::string bytes, std::string content_type)
        : bytes_(std::move(bytes)), type_(std::move(content_type)) {}
    [[nodiscard]] bool is_buffer() const { return buffer_.has_value(); }
    [[nodiscard]] std::string_view bytes() const { return bytes_; }
    [[nodiscard]] std::string_view content_type() const { return type_; }
    Buffer& buffer() { return *buffer_; }

private:
    std::optional<Buffer> buffer_;
    std::string bytes_;
    std::string type_;
};

// An element handed to the host; the host stamps sequence and time when 0.
struct Output {
    Payload payload;
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0;
};

// What a source's pull answers: an element, nothing yet (the host asks again
// after `retry_after`, 0: when it sees fit, and does not spin meanwhile), or
// the end. A std::optional<Output> converts: nullopt is the end.
class Pulled {
public:
    Pulled(std::optional<Output> element)  // NOLINT(google-explicit-constructor)
        : element_(std::move(element)) {}
    static Pulled pending(std::uint64_t retry_after_ns = 0) {
        Pulled p(std::nullopt);
        p.pending_ = true;
        p.retry_after_ns_ = retry_after_ns;
        return p;
    }
    static Pulled exhausted() { return Pulled(std::nullopt); }
    [[nodiscard]] bool is_pending() const { return pending_; }
    [[nodiscard]] std::uint64_t retry_after_ns() const { return retry_after_ns_; }
    std::optional<Output>& element() { return element_; }

private:
    std::optional<Output> element_;
    bool pending_ = false;
    std::uint64_t retry_after_ns_ = 0;
};

#ifdef TORVYN_HAS_ALLOCATOR
// The host takes at most 16 MiB from a guest per call (docs/limits.md);
// larger writes go in pieces of this size.
inline constexpr std::size_t kCallChunk = 8u << 20;
// Outputs up to this size are kept by value until handed over (in a batch
// they go back in its result, no host call); larger ones are copied straight
// into a host buffer (one copy, not two). The host's own limit for inputs.
inline constexpr std::size_t kByValueBytes = 16u << 10;

// A host buffer this component is filling.
class MutableBuffer {
public:
    explicit MutableBuffer(torvyn_streaming_types_own_mutable_buffer_t h) : h_(h), owned_(true) {}
    MutableBuffer(MutableBuffer&& o) noexcept : h_(o.h_), owned_(std::exchange(o.owned_, false)) {}
    MutableBuffer(const MutableBuffer&) = delete;
    MutableBuffer& operator=(const MutableBuffer&) = delete;
    MutableBuffer& operator=(MutableBuffer&&) = delete;
    ~MutableBuffer() {
        if (owned_) {
            torvyn_streaming_types_mutable_buffer_drop_own(h_);
        }
    }
    // Copies `bytes` to the end of the buffer.
    Result<Ok> append(std::string_view bytes) {
        do {
            const std::string_view piece = bytes.substr(0, kCallChunk);
            torvyn_list_u8_t list{reinterpret_cast<std::uint8_t*>(const_cast<char*>(piece.data())),
                                  piece.size()};
            torvyn_streaming_types_buffer_error_t err;
            if (!torvyn_streaming_types_method_mutable_buffer_append(borrow(), &list, &err)) {
                return Error::unavailable("host refused the write");
            }
            bytes.remove_prefix(piece.size());
        } while (!bytes.empty());
        return Ok{};
    }
    Result<Ok> append(std::span<const std::byte> bytes) {
        return append(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    [[nodiscard]] std::uint64_t size() const {
        return torvyn_streaming_types_method_mutable_buffer_size(borrow());
    }
    void set_content_type(std::string_view type) {
        torvyn_string_t s{reinterpret_cast<std::uint8_t*>(const_cast<char*>(type.data())),
                          type.size()};
        torvyn_streaming_types_method_mutable_buffer_set_content_type(borrow(), &s);
    }
    // Ends writing; the bytes become an immutable Buffer without a copy.
    Buffer freeze() && {
        owned_ = false;
        return Buffer(torvyn_streaming_types_static_mutable_buffer_freeze(h_));
    }

private:
    [[nodiscard]] torvyn_streaming_types_borrow_mutable_buffer_t borrow() const {
        return torvyn_streaming_types_borrow_mutable_buffer(h_);
    }
    torvyn_streaming_types_own_mutable_buffer_t h_;
    bool owned_;
};

// A new buffer to write into; `capacity_hint` is the expected size.
inline Result<MutableBuffer> allocate(std::uint64_t capacity_hint = 0) {
    torvyn_streaming_types_own_mutable_buffer_t h;
    torvyn_streaming_types_buffer_error_t err;
    if (!torvyn_streaming_buffer_allocator_allocate(capacity_hint, &h, &err)) {
        return Error::unavailable("host refused the allocation");
    }
    return MutableBuffer(h);
}

// An immutable buffer holding a copy of `bytes`, in one host call (in
// pieces beyond kCallChunk).
inline Result<Buffer> make_buffer(std::string_view bytes, std::string_view content_type = {}) {
    if (bytes.size() > kCallChunk) {
        auto mb = allocate(bytes.size());
        if (!mb) {
            return mb.error();
        }
        if (auto ok = mb.value().append(bytes); !ok) {
            return ok.error();
        }
        mb.value().set_content_type(content_type);
        return std::move(mb.value()).freeze();
    }
    torvyn_list_u8_t list{reinterpret_cast<std::uint8_t*>(const_cast<char*>(bytes.data())),
                          bytes.size()};
    torvyn_string_t type{reinterpret_cast<std::uint8_t*>(const_cast<char*>(content_type.data())),
                         content_type.size()};
    torvyn_own_buffer_t h;
    torvyn_streaming_types_buffer_error_t err;
    if (!torvyn_streaming_buffer_allocator_make(&list, &type, &h, &err)) {
        return Error::unavailable("host refused the buffer");
    }
    return Buffer(h);
}

// An output element holding a copy of `bytes`. The host makes its buffer
// when the element is handed over (by value in a batch: no host call), or
// now for a large payload.
inline Result<std::optional<Output>> make_output(std::string_view bytes,
                                                 std::string_view content_type = {}) {
    if (bytes.size() > kByValueBytes) {
        auto buf = make_buffer(bytes, content_type);
        if (!buf) {
            return buf.error();
        }
        return std::optional<Output>(Output{std::move(buf.value())});
    }
    return std::optional<Output>(Output{Payload(std::string(bytes), std::string(content_type))});
}
#endif

// The node's `config` string from the manifest, read as "key=value" words.
class Config {
public:
    explicit Config(std::string_view text) : text_(text) {}
    [[nodiscard]] std::string_view text() const { return text_; }
    [[nodiscard]] std::optional<std::string_view> get(std::string_view key) const {
        std::size_t i = 0;
        while (i < text_.size()) {
            while (i < text_.size() && is_sep(text_[i])) {
                ++i;
            }
            const std::size_t start = i;
            while (i < text_.size() && !is_sep(text_[i])) {
                ++i;
            }
            std::string_view word = text_.substr(start, i - start);
            if (word.size() > key.size() && word.substr(0, key.size()) == key &&
                word[key.size()] == '=') {
                return word.substr(key.size() + 1);
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::uint64_t get_u64(std::string_view key, std::uint64_t fallback) const {
        auto v = get(key);
        if (!v || v->empty()) {
            return fallback;
        }
        std::uint64_t out = 0;
        for (char c : *v) {
            if (c < '0' || c > '9') {
                return fallback;
            }
            out = out * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return out;
    }

private:
    static bool is_sep(char c) {
        return c == ' ' || c == ',' || c == ';' || c == '\n' || c == '\t';
    }
    std::string_view text_;
};

// Capability "stdout": returns false when the host refused the write.
inline bool print(std::string_view text) {
    return torvyn_stdout_write(text.data(), text.size());
}
// Capability "stderr".
inline bool eprint(std::string_view text) {
    return torvyn_stderr_write(text.data(), text.size());
}

}  // namespace torvyn

#include <torvyn/role_glue.hpp>
#include <torvyn/role_macros.hpp>
