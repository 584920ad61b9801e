// A processor for the attribute tests: writes each element's attributes
// ("key=value ", in order) before its payload, after "| ". Built with the
// C++ SDK, so the host may hand it batches: each element asks by its place.
#include <torvyn/component.hpp>

#include <string>

struct AttributeEcho {
    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        std::string out;
        for (const auto& a : e.attributes()) {
            out += a.key + "=" + a.value + " ";
        }
        out += "| ";
        out += e.payload.read_all().view();
        return torvyn::make_output(out, "text/plain");
    }
};
TORVYN_PROCESSOR(AttributeEcho)
