// Fuzz target: the manifest parser and validator (and the value parsers it
// uses). Any input gets a result: a manifest, or errors that each carry a
// code, a message and a place; a manifest that loads is consistent.
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "torvyn/config/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const torvyn::ManifestLoad load = torvyn::parse_manifest(text, "fuzz/Torvyn.toml");
    for (const auto& e : load.errors) {
        TORVYN_FUZZ_CHECK(!e.message.empty());
        TORVYN_FUZZ_CHECK(e.code != torvyn::ErrorCode::internal);
        TORVYN_FUZZ_CHECK(e.where.rfind("fuzz/Torvyn.toml", 0) == 0);
    }
    if (load.ok()) {
        TORVYN_FUZZ_CHECK(!load.manifest.flows.empty());
        for (const auto& f : load.manifest.flows) {
            TORVYN_FUZZ_CHECK(!f.nodes.empty());
            TORVYN_FUZZ_CHECK(f.queue_capacity > 0);
            TORVYN_FUZZ_CHECK(f.call_timeout.count() >= 0 && f.timeout.count() >= 0);
            for (const auto& e : f.edges) {
                TORVYN_FUZZ_CHECK(f.find(e.from) != nullptr && f.find(e.to) != nullptr);
            }
            for (const auto& n : f.nodes) {
                TORVYN_FUZZ_CHECK(n.call_timeout.count() >= 0);
                TORVYN_FUZZ_CHECK(n.dead_letter.empty() || f.find(n.dead_letter) != nullptr);
            }
        }
    }
    if (const auto d = torvyn::parse_duration(text); d.ok()) {
        TORVYN_FUZZ_CHECK(d.value().count() >= 0);
    }
    (void)torvyn::parse_size(text);
    return 0;
}
