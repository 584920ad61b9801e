// Test sink of this project: prints each element on its own line (the only
// node granted anything: "stdout").
#include <torvyn/component.hpp>

#include <string>

struct Print {
    torvyn::Result<bool> push(const torvyn::Element& e) {
        std::string line(e.payload.read_all().view());
        line += '\n';
        if (!torvyn::print(line)) {
            return torvyn::Error::unavailable("stdout refused the write");
        }
        return false;
    }
};

TORVYN_SINK(Print)
