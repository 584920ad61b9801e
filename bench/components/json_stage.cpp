// The real-work stage as a component: json_work::transform on each element.
#include <torvyn/component.hpp>

#include "json_work.hpp"

struct JsonStage {
    std::string out;

    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        const torvyn::Bytes in = e.payload.read_all();
        switch (json_work::transform(in.view(), out)) {
            case json_work::Outcome::kept:
                return torvyn::make_output(out, "application/json");
            case json_work::Outcome::filtered:
                return std::optional<torvyn::Output>();
            case json_work::Outcome::invalid:
                break;
        }
        return torvyn::Error::invalid_input("not a JSON event");
    }
};

TORVYN_PROCESSOR(JsonStage)
