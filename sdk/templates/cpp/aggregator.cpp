// {{name}}: a Torvyn aggregator in C++. Counts what it absorbs and, when its
// input ends, emits one element "count=N".
#include <torvyn/component.hpp>

#include <optional>
#include <string>
#include <vector>

struct {{Name}} {
    std::uint64_t absorbed = 0;

    torvyn::Result<std::optional<torvyn::Output>> ingest(const torvyn::Element&) {
        ++absorbed;
        return std::optional<torvyn::Output>{};  // nothing to emit yet
    }

    torvyn::Result<std::vector<torvyn::Output>> flush() {
        auto out = torvyn::make_output("count=" + std::to_string(absorbed), "text/plain");
        if (!out) {
            return out.error();
        }
        std::vector<torvyn::Output> all;
        all.push_back(std::move(*out.value()));
        return all;
    }
};

TORVYN_AGGREGATOR({{Name}})
