// A sink that prints the W3C context each element is delivered with
// ("ctx 3 <trace-id> <span-id>"), as its component sees it: the tests
// compare it with the spans the host exported.
#include <torvyn/component.hpp>

#include <string>

struct TraceSink {
    torvyn::Result<bool> push(const torvyn::Element& e) {
        const torvyn::Context c = torvyn::current_context();
        torvyn::print("ctx " + std::to_string(e.sequence) + " " + c.trace_id + " " + c.span_id +
                      "\n");
        return false;
    }
};

TORVYN_SINK(TraceSink)
