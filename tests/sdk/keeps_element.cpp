// Must not compile: a processor that keeps the element it was lent (its
// handle would outlive the call, which traps the component at run time).
#include <torvyn/component.hpp>

#include <vector>

struct KeepsElement {
    std::vector<torvyn::Element> kept;

    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        kept.push_back(e);
        return std::optional<torvyn::Output>{};
    }
};

TORVYN_PROCESSOR(KeepsElement)
