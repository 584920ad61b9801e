// A dead-letter sink that prints why each element it is given was
// dead-lettered ("why 2: E0303 invalid-input node=picky attempts=1: ...").
#include <torvyn/component.hpp>

#include <string>

struct WhySink {
    torvyn::Result<bool> push(const torvyn::Element& e) {
        std::string line = "why " + std::to_string(e.sequence) + ": ";
        if (const auto why = torvyn::dead_letter_reason()) {
            line += why->code + " " + why->kind + " node=" + why->node +
                    " attempts=" + std::to_string(why->attempts) + ": " + why->message;
        } else {
            line += "none";
        }
        torvyn::print(line + "\n");
        return false;
    }
};

TORVYN_SINK(WhySink)
