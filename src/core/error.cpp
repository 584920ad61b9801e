#include "torvyn/core/error.hpp"

#include <fmt/format.h>

namespace torvyn {

std::string error_code_name(ErrorCode code) {
    return fmt::format("E{:04}", static_cast<unsigned>(code));
}

std::string Error::format() const {
    std::string out = fmt::format("error[{}]", error_code_name(code));
    if (!where.empty()) {
        out += ' ';
        out += where;
        out += ':';
    }
    out += ' ';
    out += message;
    if (!hint.empty()) {
        out += "\n  hint: ";
        out += hint;
    }
    return out;
}

}  // namespace torvyn
