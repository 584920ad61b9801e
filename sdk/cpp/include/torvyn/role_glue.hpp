// The export glue of the C++ SDK (included by torvyn/component.hpp): what the
// role macros call to move a component's values across the C ABI of the
// generated bindings (lending and releasing handles, lowering outputs,
// batches).
#pragma once

#include <torvyn/component.hpp>

namespace torvyn {
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
        return Element{e_->meta.sequence, e_->meta.timestamp_ns, BufferView(e_->payload), {}};
    }

private:
    torvyn_element_t* e_;
};

#ifdef TORVYN_HAS_ALLOCATOR
// An output as the per-element exports return it: bytes become a host
// buffer here (one host call). False, with *err filled, when refused.
inline bool lower(Output&& o, torvyn_output_t* out, torvyn_error_t* err) {
    out->meta.sequence = o.sequence;
    out->meta.timestamp_ns = o.timestamp_ns;
    if (o.payload.is_buffer()) {
        out->payload = o.payload.buffer().release();
        return true;
    }
    auto made = make_buffer(o.payload.bytes(), o.payload.content_type());
    if (!made) {
        return fail(err, made.error());
    }
    out->payload = made.value().release();
    return true;
}
#endif

#ifdef TORVYN_BATCHED
// Memory the canonical ABI frees after the host read a batch's result.
template <class T>
T* result_array(std::size_t n) {
    return static_cast<T*>(std::malloc(sizeof(T) * (n == 0 ? 1 : n)));
}

// A batch as the per-element methods see it; frees what the host passed in
// when the export returns, lent handles included.
class LentBatch {
public:
    LentBatch(torvyn_streaming_types_batch_element_t* elements, std::size_t count,
              torvyn_list_u8_t* bytes, torvyn_list_string_t* types)
        : elements_(elements), count_(count), bytes_(bytes), types_(types) {}
    LentBatch(const LentBatch&) = delete;
    LentBatch& operator=(const LentBatch&) = delete;
    ~LentBatch() {
        for (std::size_t i = 0; i < count_; ++i) {
            if (elements_[i].payload.tag == TORVYN_STREAMING_TYPES_BATCH_PAYLOAD_LENT) {
                torvyn_streaming_types_buffer_drop_borrow(elements_[i].payload.val.lent);
            }
        }
        std::free(elements_);
        torvyn_list_u8_free(bytes_);
        torvyn_list_string_free(types_);
    }
    [[nodiscard]] std::size_t size() const { return count_; }
    [[nodiscard]] Element element(std::size_t i) const {
        const auto& e = elements_[i];
        if (e.payload.tag == TORVYN_STREAMING_TYPES_BATCH_PAYLOAD_LENT) {
            return Element{e.meta.sequence,
                           e.meta.timestamp_ns,
                           BufferView(e.payload.val.lent),
                           {},
                           static_cast<std::uint32_t>(i)};
        }
        // The host checked the ranges; clamp anyway rather than read past the list.
        const auto& r = e.payload.val.inline_;
        const std::size_t at = r.offset < bytes_->len ? r.offset : bytes_->len;
        const std::size_t n = r.len < bytes_->len - at ? r.len : bytes_->len - at;
        std::string_view type;
        if (e.content_type < types_->len) {
            const auto& t = types_->ptr[e.content_type];
            type = std::string_view(reinterpret_cast<const char*>(t.ptr), t.len);
        }
        return Element{e.meta.sequence,
                       e.meta.timestamp_ns,
                       BufferView(std::span<const std::byte>(
                                      reinterpret_cast<const std::byte*>(bytes_->ptr) + at, n),
                                  type),
                       {},
                       static_cast<std::uint32_t>(i)};
    }

private:
    torvyn_streaming_types_batch_element_t* elements_;
    std::size_t count_;
    torvyn_list_u8_t* bytes_;
    torvyn_list_string_t* types_;
};

#ifdef TORVYN_HAS_ALLOCATOR
// The outputs of a processor's batch: payload bytes in one list, each
// content type once.
class BatchOutputs {
public:
    // False (with *err filled) when the host refused to make its buffer.
    bool lower(Output&& o, torvyn_streaming_types_batch_output_t* out, torvyn_error_t* err) {
        out->meta.sequence = o.sequence;
        out->meta.timestamp_ns = o.timestamp_ns;
        out->content_type = 0;  // unused for owned buffers: they carry their own
        const std::string_view bytes = o.payload.bytes();
        if (!o.payload.is_buffer() && bytes.size() > ::torvyn::kByValueBytes) {
            // Large: one copy straight into a host buffer beats copying it
            // into the result and the host copying it again.
            auto made = make_buffer(bytes, o.payload.content_type());
            if (!made) {
                return fail(err, made.error());
            }
            out->payload.tag = TORVYN_STREAMING_TYPES_OUTPUT_PAYLOAD_OWNED;
            out->payload.val.owned = made.value().release();
            return true;
        }
        if (o.payload.is_buffer()) {
            out->payload.tag = TORVYN_STREAMING_TYPES_OUTPUT_PAYLOAD_OWNED;
            out->payload.val.owned = o.payload.buffer().release();
            return true;
        }
        out->payload.tag = TORVYN_STREAMING_TYPES_OUTPUT_PAYLOAD_INLINE;
        out->payload.val.inline_.offset = static_cast<std::uint32_t>(len_);
        out->payload.val.inline_.len = static_cast<std::uint32_t>(bytes.size());
        append(bytes);
        out->content_type = type_index(o.payload.content_type());
        return true;
    }

    // Hands the bytes and content types to the result (the ABI frees them).
    void finish(torvyn_list_u8_t* bytes, torvyn_list_string_t* types) {
        bytes->ptr = data_;
        bytes->len = len_;
        types->len = types_.size();
        types->ptr = result_array<torvyn_string_t>(types_.size());
        for (std::size_t i = 0; i < types_.size(); ++i) {
            torvyn_string_dup_n(&types->ptr[i], types_[i].data(), types_[i].size());
        }
    }

private:
    void append(std::string_view bytes) {
        if (len_ + bytes.size() > cap_) {
            cap_ = (len_ + bytes.size()) * 2;
            data_ = static_cast<std::uint8_t*>(std::realloc(data_, cap_));
        }
        if (!bytes.empty()) {
            std::memcpy(data_ + len_, bytes.data(), bytes.size());
        }
        len_ += bytes.size();
    }
    std::uint32_t type_index(std::string_view type) {
        for (std::size_t i = 0; i < types_.size(); ++i) {
            if (types_[i] == type) {
                return static_cast<std::uint32_t>(i);
            }
        }
        types_.emplace_back(type);
        return static_cast<std::uint32_t>(types_.size() - 1);
    }
    std::uint8_t* data_ = nullptr;
    std::size_t len_ = 0;
    std::size_t cap_ = 0;
    std::vector<std::string> types_;
};
#endif
#endif

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

// A source's pull, taking the context or not.
template <class T>
auto call_pull(T& component) {
    if constexpr (requires { component.pull(); }) {
        return component.pull();
    } else {
        return component.pull(ContextView{});
    }
}

#if defined(TORVYN_HAS_ALLOCATOR) && defined(EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT)
template <class T>
bool pull(T& component, torvyn_pulled_t* ret, torvyn_error_t* err) {
    auto r = call_pull(component);
    if (!r) {
        return fail(err, r.error());
    }
    Pulled pulled(std::move(r.value()));
    if (pulled.is_pending()) {
        return torvyn_pulled_pending(ret, pulled.retry_after_ns());
    }
    if (!pulled.element()) {
        return torvyn_pulled_exhausted(ret);
    }
    ret->tag = EXPORTS_TORVYN_STREAMING_SOURCE_PULLED_ELEMENT;
    return lower(std::move(*pulled.element()), &ret->val.element, err);
}
#endif

#if defined(TORVYN_BATCHED) && defined(EXPORTS_TORVYN_STREAMING_BATCH_SOURCE_NEXT_PULL_MORE)
// An error met after a batch already held elements: those go now, the error
// with the next call (so nothing pulled is lost).
inline std::optional<torvyn_error_t>& deferred_pull_error() {
    static std::optional<torvyn_error_t> e;
    return e;
}

template <class T>
bool pull_batch(T& component, std::uint32_t max,
                exports_torvyn_streaming_batch_source_pulled_batch_t* ret, torvyn_error_t* err) {
    if (auto& deferred = deferred_pull_error(); deferred) {
        *err = *deferred;
        deferred.reset();
        return false;
    }
    ret->elements.ptr = result_array<torvyn_streaming_types_batch_output_t>(max);
    ret->elements.len = 0;
    ret->next.tag = EXPORTS_TORVYN_STREAMING_BATCH_SOURCE_NEXT_PULL_MORE;
    BatchOutputs outputs;
    torvyn_error_t e;
    bool failed = false;
    for (std::uint32_t i = 0; i < max; ++i) {
        auto r = call_pull(component);
        if (!r) {
            fail(&e, r.error());
            failed = true;
            break;
        }
        Pulled pulled(std::move(r.value()));
        if (pulled.is_pending()) {
            ret->next.tag = EXPORTS_TORVYN_STREAMING_BATCH_SOURCE_NEXT_PULL_PENDING;
            ret->next.val.pending = pulled.retry_after_ns();
            break;
        }
        if (!pulled.element()) {
            ret->next.tag = EXPORTS_TORVYN_STREAMING_BATCH_SOURCE_NEXT_PULL_EXHAUSTED;
            break;
        }
        if (!outputs.lower(std::move(*pulled.element()), &ret->elements.ptr[ret->elements.len],
                           &e)) {
            failed = true;
            break;
        }
        ++ret->elements.len;
    }
    outputs.finish(&ret->bytes, &ret->content_types);
    if (failed && ret->elements.len == 0) {
        exports_torvyn_streaming_batch_source_pulled_batch_free(ret);
        *err = e;
        return false;
    }
    if (failed) {
        deferred_pull_error() = e;
    }
    return true;
}
#endif

#if defined(TORVYN_BATCHED) && defined(EXPORTS_TORVYN_STREAMING_BATCH_PROCESSOR_BATCH_RESULT_EMIT)
template <class T>
void process_batch(T& component, exports_torvyn_streaming_batch_processor_list_batch_element_t* in,
                   torvyn_list_u8_t* bytes, torvyn_list_string_t* types,
                   exports_torvyn_streaming_batch_processor_processed_t* ret) {
    const LentBatch batch(in->ptr, in->len, bytes, types);
    ret->results.len = batch.size();
    ret->results.ptr =
        result_array<exports_torvyn_streaming_batch_processor_batch_result_t>(batch.size());
    BatchOutputs outputs;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& slot = ret->results.ptr[i];
        auto r = component.process(batch.element(i));
        if (!r) {
            slot.tag = EXPORTS_TORVYN_STREAMING_BATCH_PROCESSOR_BATCH_RESULT_FAILED;
            fail(&slot.val.failed, r.error());
        } else if (!r.value()) {
            slot.tag = EXPORTS_TORVYN_STREAMING_BATCH_PROCESSOR_BATCH_RESULT_DROP;
        } else {
            slot.tag = EXPORTS_TORVYN_STREAMING_BATCH_PROCESSOR_BATCH_RESULT_EMIT;
            torvyn_error_t err;
            if (!outputs.lower(std::move(*r.value()), &slot.val.emit, &err)) {
                slot.tag = EXPORTS_TORVYN_STREAMING_BATCH_PROCESSOR_BATCH_RESULT_FAILED;
                slot.val.failed = err;
            }
        }
    }
    outputs.finish(&ret->bytes, &ret->content_types);
}
#endif

#ifdef TORVYN_BATCHED
template <class T, class List, class Pushed>
void push_batch(T& component, List* in, torvyn_list_u8_t* bytes, torvyn_list_string_t* types,
                Pushed* ret) {
    const LentBatch batch(in->ptr, in->len, bytes, types);
    ret->results.len = batch.size();
    ret->results.ptr =
        result_array<std::remove_pointer_t<decltype(ret->results.ptr)>>(batch.size());
    bool pause = false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& slot = ret->results.ptr[i];
        auto r = component.push(batch.element(i));
        slot.is_err = !r;
        if (!r) {
            fail(&slot.val.err, r.error());
        } else {
            pause = pause || r.value();
        }
    }
    ret->signal = pause ? TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_PAUSE
                        : TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_READY;
}

template <class T, class List, class Verdicts>
void accept_batch(T& component, List* in, torvyn_list_u8_t* bytes, torvyn_list_string_t* types,
                  Verdicts* ret, std::uint8_t keep, std::uint8_t discard, std::uint8_t failed) {
    const LentBatch batch(in->ptr, in->len, bytes, types);
    ret->len = batch.size();
    ret->ptr = result_array<std::remove_pointer_t<decltype(ret->ptr)>>(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& slot = ret->ptr[i];
        auto r = component.accept(batch.element(i));
        if (!r) {
            slot.tag = failed;
            fail(&slot.val.failed, r.error());
        } else {
            slot.tag = r.value() ? keep : discard;
        }
    }
}
#endif

template <class T>
T& instance() {
    static T component;
    return component;
}

}  // namespace detail
}  // namespace torvyn
