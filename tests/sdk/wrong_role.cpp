// Must not compile, with one clear error: a sink's macro in a component
// built with ROLE processor.
#include <torvyn/component.hpp>

struct Printer {
    torvyn::Result<bool> push(const torvyn::Element& e) {
        (void)e;
        return false;
    }
};

TORVYN_SINK(Printer)
