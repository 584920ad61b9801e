// {{name}}: a Torvyn router in C++. Even sequence numbers to port "even",
// odd ones to "odd".
#include <torvyn/component.hpp>

#include <string>
#include <string_view>
#include <vector>

struct {{Name}} {
    std::vector<std::string> ports() { return {"even", "odd"}; }

    torvyn::Result<std::vector<std::string_view>> route(const torvyn::Element& e) {
        return std::vector<std::string_view>{e.sequence % 2 == 0 ? "even" : "odd"};
    }
};

TORVYN_ROUTER({{Name}})
