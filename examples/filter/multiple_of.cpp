// A filter: passes numbers that are multiples of `divisor` (config
// "divisor=N", default 3). It allocates nothing; the host forwards the same
// buffer downstream.
#include <torvyn/component.hpp>

struct MultipleOf {
    std::uint64_t divisor = 3;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        divisor = config.get_u64("divisor", 3);
        if (divisor == 0) {
            return torvyn::Error::invalid_input("divisor must be at least 1");
        }
        return torvyn::Ok{};
    }

    torvyn::Result<bool> accept(const torvyn::Element& e) {
        const torvyn::Bytes text = e.payload.read_all();
        std::uint64_t n = 0;
        for (char c : text.view()) {
            if (c < '0' || c > '9') {
                return torvyn::Error::invalid_input("not a decimal number");
            }
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return n % divisor == 0;
    }
};

TORVYN_FILTER(MultipleOf)
