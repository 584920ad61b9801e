// {{name}}: a Torvyn source in C++. Emits "{{name}} 0", "{{name}} 1", ...
// (config "count=N", default 5), then ends.
#include <torvyn/component.hpp>

#include <string>

struct {{Name}} {
    std::uint64_t count = 5;
    std::uint64_t next = 0;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        count = config.get_u64("count", 5);
        return torvyn::Ok{};
    }

    torvyn::Result<torvyn::Pulled> pull() {
        if (next == count) {
            return torvyn::Pulled::exhausted();
        }
        auto out = torvyn::make_output("{{name}} " + std::to_string(next), "text/plain");
        if (!out) {
            return out.error();
        }
        out.value()->sequence = next++;
        return torvyn::Pulled(std::move(out.value()));
    }
};

TORVYN_SOURCE({{Name}})
