// Fuzz target: loading and linking a component from arbitrary bytes, as
// `torvyn link` and `torvyn run` do, then instantiating what links and
// calling its lifecycle under tight limits. Bad bytes are an E0201, never a
// crash; names read from the component come out escaped.
#include <cstdint>
#include <memory>
#include <span>

#include "fuzz_check.hpp"
#include "torvyn/engine/engine.hpp"

namespace {

torvyn::Runtime& runtime() {
    static const std::unique_ptr<torvyn::Runtime> rt = [] {
        torvyn::RuntimeOptions o;
        o.pooling = false;  // no large reservation per fuzzing process
        o.max_memory_bytes = 16u << 20;
        auto r = torvyn::Runtime::create(o);
        TORVYN_FUZZ_CHECK(r.ok());
        return std::move(r).value();
    }();
    return *rt;
}

constexpr torvyn::Role kRoles[] = {torvyn::Role::source, torvyn::Role::processor,
                                   torvyn::Role::sink,   torvyn::Role::filter,
                                   torvyn::Role::router, torvyn::Role::aggregator};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto component = runtime().compile(std::span<const std::uint8_t>(data, size));
    if (!component.ok()) {
        TORVYN_FUZZ_CHECK(component.error().code == torvyn::ErrorCode::component_invalid);
        return 0;
    }
    auto facts = torvyn::inspect_component(std::span<const std::uint8_t>(data, size));
    if (!facts.ok()) {
        return 0;
    }
    const torvyn::ComponentInterfaces& names = facts.value().interfaces;
    for (const auto* list : {&names.imports, &names.exports}) {
        for (const auto& n : *list) {
            for (const char c : n) {
                TORVYN_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F);
            }
        }
    }
    for (const torvyn::Role role : kRoles) {
        auto prepared = runtime().prepare(component.value(), role, torvyn::Grants{});
        if (!prepared.ok()) {
            continue;
        }
        torvyn::BufferStore buffers;
        torvyn::CopyLedger ledger;
        torvyn::FlowContextInfo context{"fuzz", "0", "0", std::nullopt};
        torvyn::NodeHost host;
        host.buffers = &buffers;
        host.ledger = &ledger;
        host.context = &context;
        torvyn::InstanceLimits limits;
        limits.call_deadline = std::chrono::milliseconds(50);
        limits.max_memory_bytes = 16u << 20;
        {  // the instance goes before what it holds
            auto instance = runtime().instantiate(prepared.value(), host, limits);
            if (instance.ok()) {
                const torvyn::CallResult r = instance.value()->init("");
                if (!r.instance_dead()) {
                    (void)instance.value()->teardown();
                }
            }
        }
        buffers.reclaim(0);
        TORVYN_FUZZ_CHECK(buffers.stats().live_buffers == 0);
    }
    return 0;
}
