// A processor in C++: reads each greeting, emits it upper-cased with a "!".
#include <torvyn/component.hpp>

#include <string>

struct Shout {
    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        const torvyn::Bytes text = e.payload.read_all();
        std::string out(text.view());
        for (char& c : out) {
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>(c - 'a' + 'A');
            }
        }
        out += '!';
        return torvyn::make_output(out, "text/plain");
    }
};

TORVYN_PROCESSOR(Shout)
