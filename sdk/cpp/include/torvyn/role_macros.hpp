// The role macros of the C++ SDK (included by torvyn/component.hpp): each
// defines the exports of a role around a component type. Not included on
// its own.
#pragma once

#define TORVYN_DETAIL_LIFECYCLE(Type)                                                   \
    extern "C" bool exports_torvyn_streaming_lifecycle_init(torvyn_string_t* config,    \
                                                            torvyn_error_t* err) {      \
        return ::torvyn::detail::init(::torvyn::detail::instance<Type>(), config, err); \
    }                                                                                   \
    extern "C" void exports_torvyn_streaming_lifecycle_teardown(void) {                 \
        ::torvyn::detail::teardown(::torvyn::detail::instance<Type>());                 \
    }

// Source: `Result<Pulled> pull()` (or `Result<std::optional<Output>>`;
// nullopt ends the stream; either may take a `const ContextView&`).
// Optional `void notify(bool pause)`. Also exports pull-batch.
#define TORVYN_DETAIL_SOURCE_EXPORTS(Type)                                                      \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                               \
    extern "C" bool exports_torvyn_streaming_source_pull(torvyn_pulled_t* ret,                  \
                                                         torvyn_error_t* err) {                 \
        return ::torvyn::detail::pull(::torvyn::detail::instance<Type>(), ret, err);            \
    }                                                                                           \
    extern "C" void exports_torvyn_streaming_source_notify(                                     \
        exports_torvyn_streaming_source_backpressure_signal_t signal) {                         \
        ::torvyn::detail::notify(::torvyn::detail::instance<Type>(),                            \
                                 signal == TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_PAUSE);   \
    }                                                                                           \
    extern "C" bool exports_torvyn_streaming_batch_source_pull_batch(                           \
        std::uint32_t max, exports_torvyn_streaming_batch_source_pulled_batch_t* ret,           \
        torvyn_error_t* err) {                                                                  \
        return ::torvyn::detail::pull_batch(::torvyn::detail::instance<Type>(), max, ret, err); \
    }

// Processor: `Result<std::optional<Output>> process(const Element&)`;
// nullopt drops the element. Also exports process-batch.
#define TORVYN_DETAIL_PROCESSOR_EXPORTS(Type)                                                \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                            \
    extern "C" bool exports_torvyn_streaming_processor_process(                              \
        torvyn_element_t* element, exports_torvyn_streaming_processor_process_result_t* ret, \
        torvyn_error_t* err) {                                                               \
        ::torvyn::detail::Lent lent(element);                                                \
        auto r = ::torvyn::detail::instance<Type>().process(lent.element());                 \
        if (!r) {                                                                            \
            return ::torvyn::detail::fail(err, r.error());                                   \
        }                                                                                    \
        if (!r.value().has_value()) {                                                        \
            ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_DROP;               \
            return true;                                                                     \
        }                                                                                    \
        ret->tag = EXPORTS_TORVYN_STREAMING_PROCESSOR_PROCESS_RESULT_EMIT;                   \
        return ::torvyn::detail::lower(std::move(*r.value()), &ret->val.emit, err);          \
    }                                                                                        \
    extern "C" void exports_torvyn_streaming_batch_processor_process_batch(                  \
        exports_torvyn_streaming_batch_processor_list_batch_element_t* elements,             \
        torvyn_list_u8_t* bytes, torvyn_list_string_t* types,                                \
        exports_torvyn_streaming_batch_processor_processed_t* ret) {                         \
        ::torvyn::detail::process_batch(::torvyn::detail::instance<Type>(), elements, bytes, \
                                        types, ret);                                         \
    }

// Sink: `Result<bool> push(const Element&)` (true asks the host to pause)
// and optional `Result<Ok> complete()`. Also exports push-batch.
#define TORVYN_DETAIL_SINK_EXPORTS(Type)                                                         \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                                \
    extern "C" bool exports_torvyn_streaming_sink_push(                                          \
        torvyn_element_t* element, exports_torvyn_streaming_sink_backpressure_signal_t* ret,     \
        torvyn_error_t* err) {                                                                   \
        ::torvyn::detail::Lent lent(element);                                                    \
        auto r = ::torvyn::detail::instance<Type>().push(lent.element());                        \
        if (!r) {                                                                                \
            return ::torvyn::detail::fail(err, r.error());                                       \
        }                                                                                        \
        *ret = r.value() ? TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_PAUSE                      \
                         : TORVYN_STREAMING_TYPES_BACKPRESSURE_SIGNAL_READY;                     \
        return true;                                                                             \
    }                                                                                            \
    extern "C" bool exports_torvyn_streaming_sink_complete(torvyn_error_t* err) {                \
        return ::torvyn::detail::complete(::torvyn::detail::instance<Type>(), err);              \
    }                                                                                            \
    extern "C" void exports_torvyn_streaming_batch_sink_push_batch(                              \
        exports_torvyn_streaming_batch_sink_list_batch_element_t* elements,                      \
        torvyn_list_u8_t* bytes, torvyn_list_string_t* types,                                    \
        exports_torvyn_streaming_batch_sink_pushed_t* ret) {                                     \
        ::torvyn::detail::push_batch(::torvyn::detail::instance<Type>(), elements, bytes, types, \
                                     ret);                                                       \
    }

// Filter: `Result<bool> accept(const Element&)`. Also exports accept-batch.
#define TORVYN_DETAIL_FILTER_EXPORTS(Type)                                                         \
    TORVYN_DETAIL_LIFECYCLE(Type)                                                                  \
    extern "C" bool exports_torvyn_streaming_filter_accept(torvyn_element_t* element, bool* ret,   \
                                                           torvyn_error_t* err) {                  \
        ::torvyn::detail::Lent lent(element);                                                      \
        auto r = ::torvyn::detail::instance<Type>().accept(lent.element());                        \
        if (!r) {                                                                                  \
            return ::torvyn::detail::fail(err, r.error());                                         \
        }                                                                                          \
        *ret = r.value();                                                                          \
        return true;                                                                               \
    }                                                                                              \
    extern "C" void exports_torvyn_streaming_batch_filter_accept_batch(                            \
        exports_torvyn_streaming_batch_filter_list_batch_element_t* elements,                      \
        torvyn_list_u8_t* bytes, torvyn_list_string_t* types,                                      \
        exports_torvyn_streaming_batch_filter_list_verdict_t* ret) {                               \
        ::torvyn::detail::accept_batch(::torvyn::detail::instance<Type>(), elements, bytes, types, \
                                       ret, EXPORTS_TORVYN_STREAMING_BATCH_FILTER_VERDICT_KEEP,    \
                                       EXPORTS_TORVYN_STREAMING_BATCH_FILTER_VERDICT_DISCARD,      \
                                       EXPORTS_TORVYN_STREAMING_BATCH_FILTER_VERDICT_FAILED);      \
    }

// Router: `std::vector<std::string> ports()` lists every port name, and
// `Result<std::vector<std::string_view>> route(const Element&)` picks the
// ports of one element (empty: discard it). Elements are never copied: every
// chosen port gets the same host buffer.
#define TORVYN_DETAIL_ROUTER_EXPORTS(Type)                                                   \
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
#define TORVYN_DETAIL_AGGREGATOR_EXPORTS(Type)                                                   \
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
        return !ret->is_some || ::torvyn::detail::lower(std::move(*r.value()), &ret->val, err);  \
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
            if (!::torvyn::detail::lower(std::move(outs[i]), &ret->ptr[i], err)) {               \
                return false;                                                                    \
            }                                                                                    \
        }                                                                                        \
        return true;                                                                             \
    }

// The role macros. Each must match the ROLE the component is built with
// (torvyn_add_component passes it as TORVYN_BUILT_ROLE): a mismatch is one
// clear error, not the errors of exports this world does not have.
#define TORVYN_DETAIL_CAT(a, b) TORVYN_DETAIL_CAT_(a, b)
#define TORVYN_DETAIL_CAT_(a, b) a##b
#define TORVYN_DETAIL_WRONG_ROLE(macro, built)                                            \
    static_assert(sizeof(int) == 0,                                                       \
                  macro " does not match ROLE " #built                                    \
                        " (torvyn_add_component): use the macro of ROLE " #built          \
                        " (TORVYN_SOURCE, TORVYN_PROCESSOR, TORVYN_SINK, TORVYN_FILTER, " \
                        "TORVYN_ROUTER, TORVYN_AGGREGATOR) or change ROLE");
#ifdef TORVYN_BUILT_ROLE
#define TORVYN_SOURCE(Type) TORVYN_DETAIL_CAT(TORVYN_DETAIL_SOURCE_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_PROCESSOR(Type) \
    TORVYN_DETAIL_CAT(TORVYN_DETAIL_PROCESSOR_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_SINK(Type) TORVYN_DETAIL_CAT(TORVYN_DETAIL_SINK_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_FILTER(Type) TORVYN_DETAIL_CAT(TORVYN_DETAIL_FILTER_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_ROUTER(Type) TORVYN_DETAIL_CAT(TORVYN_DETAIL_ROUTER_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_AGGREGATOR(Type) \
    TORVYN_DETAIL_CAT(TORVYN_DETAIL_AGGREGATOR_IN_, TORVYN_BUILT_ROLE)(Type)
#define TORVYN_DETAIL_SOURCE_IN_source(Type) TORVYN_DETAIL_SOURCE_EXPORTS(Type)
#define TORVYN_DETAIL_SOURCE_IN_processor(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SOURCE", processor)
#define TORVYN_DETAIL_SOURCE_IN_sink(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SOURCE", sink)
#define TORVYN_DETAIL_SOURCE_IN_filter(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SOURCE", filter)
#define TORVYN_DETAIL_SOURCE_IN_router(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SOURCE", router)
#define TORVYN_DETAIL_SOURCE_IN_aggregator(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_SOURCE", aggregator)
#define TORVYN_DETAIL_PROCESSOR_IN_source(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_PROCESSOR", source)
#define TORVYN_DETAIL_PROCESSOR_IN_processor(Type) TORVYN_DETAIL_PROCESSOR_EXPORTS(Type)
#define TORVYN_DETAIL_PROCESSOR_IN_sink(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_PROCESSOR", sink)
#define TORVYN_DETAIL_PROCESSOR_IN_filter(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_PROCESSOR", filter)
#define TORVYN_DETAIL_PROCESSOR_IN_router(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_PROCESSOR", router)
#define TORVYN_DETAIL_PROCESSOR_IN_aggregator(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_PROCESSOR", aggregator)
#define TORVYN_DETAIL_SINK_IN_source(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SINK", source)
#define TORVYN_DETAIL_SINK_IN_processor(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SINK", processor)
#define TORVYN_DETAIL_SINK_IN_sink(Type) TORVYN_DETAIL_SINK_EXPORTS(Type)
#define TORVYN_DETAIL_SINK_IN_filter(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SINK", filter)
#define TORVYN_DETAIL_SINK_IN_router(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SINK", router)
#define TORVYN_DETAIL_SINK_IN_aggregator(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_SINK", aggregator)
#define TORVYN_DETAIL_FILTER_IN_source(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_FILTER", source)
#define TORVYN_DETAIL_FILTER_IN_processor(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_FILTER", processor)
#define TORVYN_DETAIL_FILTER_IN_sink(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_FILTER", sink)
#define TORVYN_DETAIL_FILTER_IN_filter(Type) TORVYN_DETAIL_FILTER_EXPORTS(Type)
#define TORVYN_DETAIL_FILTER_IN_router(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_FILTER", router)
#define TORVYN_DETAIL_FILTER_IN_aggregator(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_FILTER", aggregator)
#define TORVYN_DETAIL_ROUTER_IN_source(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_ROUTER", source)
#define TORVYN_DETAIL_ROUTER_IN_processor(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_ROUTER", processor)
#define TORVYN_DETAIL_ROUTER_IN_sink(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_ROUTER", sink)
#define TORVYN_DETAIL_ROUTER_IN_filter(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_ROUTER", filter)
#define TORVYN_DETAIL_ROUTER_IN_router(Type) TORVYN_DETAIL_ROUTER_EXPORTS(Type)
#define TORVYN_DETAIL_ROUTER_IN_aggregator(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_ROUTER", aggregator)
#define TORVYN_DETAIL_AGGREGATOR_IN_source(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_AGGREGATOR", source)
#define TORVYN_DETAIL_AGGREGATOR_IN_processor(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_AGGREGATOR", processor)
#define TORVYN_DETAIL_AGGREGATOR_IN_sink(Type) TORVYN_DETAIL_WRONG_ROLE("TORVYN_AGGREGATOR", sink)
#define TORVYN_DETAIL_AGGREGATOR_IN_filter(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_AGGREGATOR", filter)
#define TORVYN_DETAIL_AGGREGATOR_IN_router(Type) \
    TORVYN_DETAIL_WRONG_ROLE("TORVYN_AGGREGATOR", router)
#define TORVYN_DETAIL_AGGREGATOR_IN_aggregator(Type) TORVYN_DETAIL_AGGREGATOR_EXPORTS(Type)
#else  // built some other way: trust the macro
#define TORVYN_SOURCE(Type) TORVYN_DETAIL_SOURCE_EXPORTS(Type)
#define TORVYN_PROCESSOR(Type) TORVYN_DETAIL_PROCESSOR_EXPORTS(Type)
#define TORVYN_SINK(Type) TORVYN_DETAIL_SINK_EXPORTS(Type)
#define TORVYN_FILTER(Type) TORVYN_DETAIL_FILTER_EXPORTS(Type)
#define TORVYN_ROUTER(Type) TORVYN_DETAIL_ROUTER_EXPORTS(Type)
#define TORVYN_AGGREGATOR(Type) TORVYN_DETAIL_AGGREGATOR_EXPORTS(Type)
#endif
