// A sink in C++: prints every element on its own line. It needs the
// "stdout" capability, granted in the manifest; nothing else is reachable.
#include <torvyn/component.hpp>

#include <string>

struct Printer {
    std::string prefix;

    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        prefix = std::string(config.get("prefix").value_or(""));
        return torvyn::Ok{};
    }

    torvyn::Result<bool> push(const torvyn::Element& e) {
        const torvyn::Bytes text = e.payload.read_all();
        std::string line = prefix;
        line += text.view();
        line += '\n';
        if (!torvyn::print(line)) {
            return torvyn::Error::unavailable("stdout refused the write");
        }
        return false;  // never asks to pause
    }
};

TORVYN_SINK(Printer)
