// A filter that looks at metadata only: keeps elements with an even sequence
// number. It never reads the payload, so it makes no copy.
#include <torvyn/component.hpp>

struct EvenSequence {
    torvyn::Result<bool> accept(const torvyn::Element& e) { return e.sequence % 2 == 0; }
};

TORVYN_FILTER(EvenSequence)
