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
// Handles follow the contract: an Element's views are borrowed for the call
// (the macro releases them when the call returns); a Buffer or MutableBuffer
// is owned and released by its destructor unless handed to the host in an
// Output. An optional `Result<Ok> init(const Config&)` and `void teardown()`
// on the class are called by the host when present.
#pragma once

#include <torvyn/guest.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
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

// Bytes copied into this component; freed when destroyed.
class Bytes {
public:
    explicit Bytes(torvyn_list_u8_t list) : list_(list) {}
    Bytes(Bytes&& o) noexcept : list_(std::exchange(o.list_, torvyn_list_u8_t{nullptr, 0})) {}
    Bytes& operator=(Bytes&& o) noexcept {
        std::swap(list_, o.list_);
        return *this;
    }
    Bytes(const Bytes&) = delete;
    Bytes& operator=(const Bytes&) = delete;
    ~Bytes() {
        if (list_.ptr != nullptr) {
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
};

namespace detail {
inline std::string take_string(torvyn_string_t s) {
    std::string out(reinterpret_cast<const char*>(s.ptr), s.len);
    torvyn_string_free(&s);
    return out;
}
}  // namespace detail

// A host buffer lent for the current call. Reading copies into the component.
class BufferView {
public:
    explicit BufferView(torvyn_borrow_buffer_t h) : h_(h) {}
    [[nodiscard]] std::uint64_t size() const {
        return torvyn_streaming_types_method_buffer_size(h_);
    }
    [[nodiscard]] std::string content_type() const {
        torvyn_string_t s;
        torvyn_streaming_types_method_buffer_content_type(h_, &s);
        return detail::take_string(s);
    }
    [[nodiscard]] Bytes read_all() const { return Bytes(torvyn_read_all(h_)); }
    [[nodiscard]] Bytes read(std::uint64_t offset, std::uint64_t len) const {
        torvyn_list_u8_t list;
        torvyn_streaming_types_method_buffer_read(h_, offset, len, &list);
        return Bytes(list);
    }

private:
    torvyn_borrow_buffer_t h_;
};

// What the host tells a component about the flow, lent for the current call.
class ContextView {
public:
    explicit ContextView(torvyn_borrow_context_t h) : h_(h) {}
    [[nodiscard]] std::string flow_id() const {
        return get(torvyn_streaming_types_method_flow_context_flow_id);
    }
    [[nodiscard]] std::string trace_id() const {
        return get(torvyn_streaming_types_method_flow_context_trace_id);
    }
    [[nodiscard]] std::string span_id() const {
        return get(torvyn_streaming_types_method_flow_context_span_id);
    }
    [[nodiscard]] std::optional<std::uint64_t> remaining_deadline_ns() const {
        std::uint64_t ns = 0;
        if (torvyn_streaming_types_method_flow_context_remaining_deadline_ns(h_, &ns)) {
            return ns;
        }
        return std::nullopt;
    }

private:
    template <class F>
    std::string get(F f) const {
        torvyn_string_t s;
        f(h_, &s);
        return detail::take_string(s);
    }
    torvyn_borrow_context_t h_;
};

// An element lent to the current call.
struct Element {
    std::uint64_t sequence;
    std::uint64_t timestamp_ns;
    BufferView payload;
    ContextView context;
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

// An element handed to the host; the host stamps sequence and time when 0.
struct Output {
    Buffer payload;
    std::uint64_t sequence = 0;
    std::uint64_t timestamp_ns = 0;
};

#ifdef TORVYN_HAS_ALLOCATOR
// The host takes at most 16 MiB from a guest per call (docs/limits.md);
// larger writes go in pieces of this size.
inline constexpr std::size_t kCallChunk = 8u << 20;

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

// An output element holding a copy of `bytes`.
inline Result<std::optional<Output>> make_output(std::string_view bytes,
                                                 std::string_view content_type = {}) {
    auto buf = make_buffer(bytes, content_type);
    if (!buf) {
        return buf.error();
    }
    return std::optional<Output>(Output{std::move(buf.value())});
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

namespace detail {

inline bool fail(torvyn_error_t* err, const Error& e) {
    return torvyn_fail(err, static_cast<std::uint8_t>(e.kind), e.message.c_str());
}

// Releases an element's borrowed handles when the export returns.
class Lent {
public:
    explicit Lent(torvyn_element_t* e) : e_(e) {}
    Lent(const Lent&) = delete;
    Lent& operator=(const Lent&) = delete;
    ~Lent() { torvyn_element_done(e_); }
    [[nodiscard]] Element element() const {
        return Element{e_->meta.sequence, e_->meta.timestamp_ns, BufferView(e_->payload),
                       ContextView(e_->context)};
    }

private:
    torvyn_element_t* e_;
};

inline torvyn_output_t lower(Output&& o) {
    torvyn_output_t out;
    out.meta.sequence = o.sequence;
    out.meta.timestamp_ns = o.timestamp_ns;
    out.payload = o.payload.release();
    return out;
}

template <class T>
bool init(T& component, torvyn_string_t* config, torvyn_error_t* err) {
    std::string text(reinterpret_cast<const char*>(config->ptr), config->len);
    torvyn_string_free(config);
    if constexpr (requires { component.init(std::declval<const Config&>()); }) {
        auto r = component.init(Config(text));
        if (!r) {
            return fail(err, r.error());
        }
    }
    return true;
}

template <class T>
void teardown(T& component) {
    if constexpr (requires { component.teardown(); }) {
        component.teardown();
    }
}

template <class T>
void notify(T& component, bool pause) {
    if constexpr (requires { component.notify(true); }) {
        component.notify(pause);
    }
}

template <class T>
bool complete(T& component, torvyn_error_t* err) {
    if constexpr (requires { component.complete(); }) {
        auto r = component.complete();
        if (!r) {
            return fail(err, r.error());
        }
    }
    return true;
}

template <class T>
T& instance() {
    static T component;
    return component;
}

}  // namespace detail
}  // namespace torvyn

#define TORVYN_DETAIL_LIFECYCLE(Type)                                                   \
    extern "C" bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config,    \
                                                            torvyn_error_t* err) {      \
        return ::torvyn::detail::init(::torvyn::detail::instance<Type>(), config, err); \
    }                                                                                   \
    extern "C" void exports_torvyn_streaming_lifecycle_teardown(void) {                 \
        ::torvyn::detail::teardown(::torvyn::detail::instance<Type>());                 \
    }

// Source: `Result<std::optional<Output>> pull(const ContextView&)`; nullopt
// ends the stream. Optional `void notify(bool pause)`.
#define TORVYN_SOURCE(Type)                                                                   \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                             \
    extern "C" bool exports_torvyn_streaming_source_pull(                                     \
        torvyn_borrow_context_t context,                                                      \
        exports_torvyn_streaming_source_option_output_element_t* ret, torvyn_error_t* err) {  \
        auto r = ::torvyn::detail::instance<Type>().pull(::torvyn::ContextView(context));     \
        torvyn_streaming_types_flow_context_drop_borrow(context);                             \
        if (!r) {                                                                             \
            return ::torvyn::detail::fail(err, r.error());                                    \
        }                                                                                     \
        ret->is_some = r.value().has_value();                                                 \
        if (ret->is_some) {                                                                   \
            ret->val = ::torvyn::detail::lower(std::move(*r.value()));                        \
        }                                                                                     \
        return true;                                                                          \
    }                                                                                         \
    extern "C" void exports_torvyn_streaming_source_notify(                                   \
        exports_torvyn_streaming_source_backpressure_signal_t signal) {                       \
        ::torvyn::detail::notify(::torvyn::detail::instance<Type>(),                          \
                                 signal == TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_PAUSE); \
    }

// Processor: `Result<std::optional<Output>> process(const Element&)`;
// nullopt drops the element.
#define TORVYN_PROCESSOR(Type)                                                               \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                            \
    extern "C" bool exports_torvyn_streaming_processor_process(                              \
        torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret, \
        torvyn_error_t* err) {                                                               \
        ::torvyn::detail::Lent lent(element);                                                \
        auto r = ::torvyn::detail::instance<Type>().process(lent.element());                 \
        if (!r) {                                                                            \
            return ::torvyn::detail::fail(err, r.error());                                   \
        }                                                                                    \
        if (r.value().has_value()) {                                                         \
            ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;               \
            ret->val.emit = ::torvyn::detail::lower(std::move(*r.value()));                  \
        } else {                                                                             \
            ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_DROP;               \
        }                                                                                    \
        return true;                                                                         \
    }

// Sink: `Result<bool> push(const Element&)` (true asks the host to pause)
// and optional `Result<Ok> complete()`.
#define TORVYN_SINK(Type)                                                                    \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                            \
    extern "C" bool exports_torvyn_streaming_sink_push(                                      \
        torvyn_element_t* element, exports_torvyn_streaming_sink_backpressure_signal_t* ret, \
        torvyn_error_t* err) {                                                               \
        ::torvyn::detail::Lent lent(element);                                                \
        auto r = ::torvyn::detail::instance<Type>().push(lent.element());                    \
        if (!r) {                                                                            \
            return ::torvyn::detail::fail(err, r.error());                                   \
        }                                                                                    \
        *ret = r.value() ? TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_PAUSE                  \
                         : TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_READY;                 \
        return true;                                                                         \
    }                                                                                        \
    extern "C" bool exports_torvyn_streaming_sink_complete(torvyn_error_t* err) {            \
        return ::torvyn::detail::complete(::torvyn::detail::instance<Type>(), err);          \
    }

// Filter: `Result<bool> accept(const Element&)`.
#define TORVYN_FILTER(Type)                                                                      \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                                \
    extern "C" bool exports_torvyn_streaming_filter_accept(torvyn_element_t* element, bool* ret, \
                                                           torvyn_error_t* err) {                \
        ::torvyn::detail::Lent lent(element);                                                    \
        auto r = ::torvyn::detail::instance<Type>().accept(lent.element());                      \
        if (!r) {                                                                                \
            return ::torvyn::detail::fail(err, r.error());                                       \
        }                                                                                        \
        *ret = r.value();                                                                        \
        return true;                                                                             \
    }

// Router: `std::vector<std::string> ports()` lists every port name, and
// `Result<std::vector<std::string_view>> route(const Element&)` picks the
// ports of one element (empty: discard it). Elements are never copied: every
// chosen port gets the same host buffer.
#define TORVYN_ROUTER(Type)                                                                  \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                            \
    namespace torvyn::detail {                                                               \
    inline void lower_names(const auto& names, data_router_list_string_t* ret) {             \
        ret->len = names.size();                                                             \
        ret->ptr = static_cast<data_router_string_t*>(                                       \
            std::malloc(sizeof(data_router_string_t) * (names.empty() ? 1 : names.size()))); \
        std::size_t i = 0;                                                                   \
        for (const auto& n : names) {                                                        \
            const std::string_view v(n);                                                     \
            data_router_string_dup_n(&ret->ptr[i++], v.data(), v.size());                    \
        }                                                                                    \
    }                                                                                        \
    }                                                                                        \
    extern "C" void exports_torvyn_streaming_router_ports(data_router_list_string_t* ret) {  \
        ::torvyn::detail::lower_names(::torvyn::detail::instance<Type>().ports(), ret);      \
    }                                                                                        \
    extern "C" bool exports_torvyn_streaming_router_route(                                   \
        torvyn_element_t* element, data_router_list_string_t* ret, torvyn_error_t* err) {    \
        ::torvyn::detail::Lent lent(element);                                                \
        auto r = ::torvyn::detail::instance<Type>().route(lent.element());                   \
        if (!r) {                                                                            \
            return ::torvyn::detail::fail(err, r.error());                                   \
        }                                                                                    \
        ::torvyn::detail::lower_names(r.value(), ret);                                       \
        return true;                                                                         \
    }

// Aggregator: `Result<std::optional<Output>> ingest(const Element&)` absorbs
// one element (and may emit), `Result<std::vector<Output>> flush()` emits what
// is left when upstream is exhausted.
#define TORVYN_AGGREGATOR(Type)                                                                  \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                                \
    extern "C" bool exports_torvyn_streaming_aggregator_ingest(                                  \
        torvyn_element_t* element,                                                               \
        exports_torvyn_streaming_aggregator_option_output_element_t* ret, torvyn_error_t* err) { \
        ::torvyn::detail::Lent lent(element);                                                    \
        auto r = ::torvyn::detail::instance<Type>().ingest(lent.element());                      \
        if (!r) {                                                                                \
            return ::torvyn::detail::fail(err, r.error());                                       \
        }                                                                                        \
        ret->is_some = r.value().has_value();                                                    \
        if (ret->is_some) {                                                                      \
            ret->val = ::torvyn::detail::lower(std::move(*r.value()));                           \
        }                                                                                        \
        return true;                                                                             \
    }                                                                                            \
    extern "C" bool exports_torvyn_streaming_aggregator_flush(                                   \
        exports_torvyn_streaming_aggregator_list_output_element_t* ret, torvyn_error_t* err) {   \
        auto r = ::torvyn::detail::instance<Type>().flush();                                     \
        if (!r) {                                                                                \
            return ::torvyn::detail::fail(err, r.error());                                       \
        }                                                                                        \
        auto& outs = r.value();                                                                  \
        ret->len = outs.size();                                                                  \
        ret->ptr = static_cast<torvyn_output_t*>(                                                \
            std::malloc(sizeof(torvyn_output_t) * (outs.empty() ? 1 : outs.size())));            \
        for (std::size_t i = 0; i < outs.size(); ++i) {                                          \
            ret->ptr[i] = ::torvyn::detail::lower(std::move(outs[i]));                           \
        }                                                                                        \
        return true;                                                                             \
    }
