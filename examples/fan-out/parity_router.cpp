// A router that decides from metadata alone (the sequence number), so it
// reads no payload and makes no copy: even elements go to port "even", odd
// ones to "odd", and every `broadcast-every`-th element (config, default 5)
// to both, sharing one host buffer.
#include <torvyn/component.hpp>

#include <string>
#include <string_view>
#include <vector>

struct ParityRouter {
    std::uint64_t broadcast_every = 5;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        broadcast_every = config.get_u64("broadcast-every", 5);
        return torvyn::Ok{};
    }

    std::vector<std::string> ports() { return {"even", "odd"}; }

    torvyn::Result<std::vector<std::string_view>> route(const torvyn::Element& e) {
        if (broadcast_every != 0 && (e.sequence + 1) % broadcast_every == 0) {
            return std::vector<std::string_view>{"even", "odd"};
        }
        return std::vector<std::string_view>{e.sequence % 2 == 0 ? "odd" : "even"};
    }
};

TORVYN_ROUTER(ParityRouter)
