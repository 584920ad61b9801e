// The pass-through processor of the language comparison, in C++.
#include <torvyn/component.hpp>

#include <optional>

struct Pass {
    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        return torvyn::make_output(e.payload.read_all().view(), "application/octet-stream");
    }
};

TORVYN_PROCESSOR(Pass)
