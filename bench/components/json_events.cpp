// Source of the real-work benchmark: `count` JSON events (config count=N).
#include <torvyn/component.hpp>

#include "json_work.hpp"

struct JsonEvents {
    std::uint64_t count = 0;
    std::uint64_t next = 0;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        count = config.get_u64("count", 1000);
        return torvyn::Ok{};
    }
    torvyn::Result<std::optional<torvyn::Output>> pull(const torvyn::ContextView&) {
        if (next == count) {
            return std::optional<torvyn::Output>();
        }
        return torvyn::make_output(json_work::event(next++), "application/json");
    }
};

TORVYN_SOURCE(JsonEvents)
