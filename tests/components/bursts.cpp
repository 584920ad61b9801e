// A C++ source that produces in bursts: `burst` elements (config, default
// 8), then "pending, come back in `wait-us` microseconds" (default 2000),
// until `count` elements (default 40) are out. With the SDK's pull-batch, a
// burst leaves in one call.
#include <torvyn/component.hpp>

#include <string>

struct Bursts {
    std::uint64_t count = 40;
    std::uint64_t burst = 8;
    std::uint64_t wait_us = 2000;
    std::uint64_t next = 0;
    bool waited = false;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        count = config.get_u64("count", 40);
        burst = config.get_u64("burst", 8);
        wait_us = config.get_u64("wait-us", 2000);
        return torvyn::Ok{};
    }

    torvyn::Result<torvyn::Pulled> pull() {
        if (next == count) {
            return torvyn::Pulled::exhausted();
        }
        if (next % burst == 0 && !waited) {
            waited = true;
            return torvyn::Pulled::pending(wait_us * 1000);
        }
        waited = false;
        auto out = torvyn::make_output(std::to_string(next), "text/plain");
        if (!out) {
            return out.error();
        }
        out.value()->sequence = next++;
        return torvyn::Pulled(std::move(out.value()));
    }
};

TORVYN_SOURCE(Bursts)
