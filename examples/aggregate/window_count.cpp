// A windowed count: counts "level=..." values over tumbling windows of
// `window` elements (config, default 25) and emits one summary per window;
// at the end of the stream, flush emits the partial last window.
#include <torvyn/component.hpp>

#include <map>
#include <string>

struct WindowCount {
    std::uint64_t window = 25;
    std::uint64_t seen = 0;
    std::uint64_t windows = 0;
    std::map<std::string, std::uint64_t> counts;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        window = config.get_u64("window", 25);
        if (window == 0) {
            return torvyn::Error::invalid_input("window must be at least 1");
        }
        return torvyn::Ok{};
    }

    torvyn::Result<std::optional<torvyn::Output>> ingest(const torvyn::Element& e) {
        const torvyn::Bytes text = e.payload.read_all();
        std::string_view v = text.view();
        if (v.rfind("level=", 0) != 0) {
            return torvyn::Error::invalid_input("expected level=...");
        }
        ++counts[std::string(v.substr(6))];
        if (++seen % window == 0) {
            return summary();
        }
        return std::optional<torvyn::Output>{};
    }

    torvyn::Result<std::vector<torvyn::Output>> flush() {
        std::vector<torvyn::Output> out;
        if (!counts.empty()) {
            auto last = summary();
            if (!last) {
                return last.error();
            }
            out.push_back(std::move(*last.value()));
        }
        return out;
    }

private:
    torvyn::Result<std::optional<torvyn::Output>> summary() {
        std::string line = "window " + std::to_string(++windows) + ":";
        for (const auto& [level, n] : counts) {
            line += " " + level + "=" + std::to_string(n);
        }
        counts.clear();
        return torvyn::make_output(line, "text/plain");
    }
};

TORVYN_AGGREGATOR(WindowCount)
