// {{name}}: a Torvyn sink in C++. Counts what it is given; an empty payload
// is refused as invalid input (the node's on-error decides what follows).
#include <torvyn/component.hpp>

struct {{Name}} {
    std::uint64_t received = 0;

    torvyn::Result<bool> push(const torvyn::Element& e) {
        if (e.payload.size() == 0) {
            return torvyn::Error::invalid_input("empty element");
        }
        ++received;
        return false;  // true would ask the host to pause
    }
};

TORVYN_SINK({{Name}})
