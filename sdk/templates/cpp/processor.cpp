// {{name}}: a Torvyn processor in C++. Upper-cases ASCII letters.
#include <torvyn/component.hpp>

#include <optional>
#include <string>

struct {{Name}} {
    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        std::string text(e.payload.read_all().view());
        for (char& c : text) {
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>(c - 'a' + 'A');
            }
        }
        return torvyn::make_output(text, "text/plain");  // keeps e's sequence
    }
};

TORVYN_PROCESSOR({{Name}})
