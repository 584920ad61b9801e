// {{name}}: a Torvyn filter in C++. Keeps elements with an even sequence number.
#include <torvyn/component.hpp>

struct {{Name}} {
    torvyn::Result<bool> accept(const torvyn::Element& e) { return e.sequence % 2 == 0; }
};

TORVYN_FILTER({{Name}})
