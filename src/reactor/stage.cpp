#include "torvyn/reactor/stage.hpp"

#include <fmt/format.h>

namespace torvyn {

CallResult refused(CallKind kind) {
    return CallResult::failure(CallStatus::internal,
                               fmt::format("this stage has no '{}' call", call_kind_name(kind)));
}

CallResult Stage::restart(std::string_view) {
    return CallResult::failure(CallStatus::internal, "this stage cannot restart");
}

}  // namespace torvyn
