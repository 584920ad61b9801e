// A source for the serve tests: elements whose payload is their number
// (1, 2, 3, ... as 8 bytes little-endian), `count` of them (0: never ends).
// A sink that checks the numbers sees every loss or duplicate.
#include <torvyn/component.hpp>

#include <array>

struct Counter {
    std::uint64_t count = 0;
    std::uint64_t next = 1;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        count = config.get_u64("count", 0);
        return torvyn::Ok{};
    }

    torvyn::Result<torvyn::Pulled> pull() {
        if (count != 0 && next > count) {
            return torvyn::Pulled::exhausted();
        }
        std::array<std::uint8_t, 8> bytes{};
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = static_cast<std::uint8_t>(next >> (8 * i));
        }
        auto out = torvyn::make_output(
            std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
            "application/octet-stream");
        if (!out) {
            return out.error();
        }
        out.value()->sequence = next++;
        return torvyn::Pulled(std::move(out.value()));
    }
};

TORVYN_SOURCE(Counter)
