// A slow consumer: checks every payload `work` times over (config, default
// 200) and asks the host to pause after every `pause-every` elements
// (default 0: never). On complete it prints what it consumed.
#include <torvyn/component.hpp>

#include <string>

struct SlowSink {
    std::uint64_t work = 200;
    std::uint64_t pause_every = 0;
    std::uint64_t consumed = 0;
    std::uint64_t bytes = 0;
    std::uint32_t checksum = 2166136261u;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        work = config.get_u64("work", 200);
        pause_every = config.get_u64("pause-every", 0);
        return torvyn::Ok{};
    }

    torvyn::Result<bool> push(const torvyn::Element& e) {
        const torvyn::Bytes payload = e.payload.read_all();
        std::uint32_t h = 2166136261u;
        for (std::uint64_t round = 0; round < work; ++round) {
            for (std::byte b : payload.span()) {
                h = (h ^ static_cast<std::uint32_t>(b)) * 16777619u;
            }
        }
        checksum ^= h;
        ++consumed;
        bytes += payload.size();
        return pause_every != 0 && consumed % pause_every == 0;
    }

    torvyn::Result<torvyn::Ok> complete() {
        std::string line = "slow sink: consumed " + std::to_string(consumed) + " elements, " +
                           std::to_string(bytes) + " bytes, checksum " + std::to_string(checksum) +
                           "\n";
        torvyn::print(line);
        return torvyn::Ok{};
    }
};

TORVYN_SINK(SlowSink)
