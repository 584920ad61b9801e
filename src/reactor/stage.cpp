#include "torvyn/reactor/stage.hpp"

#include <fmt/format.h>

namespace torvyn {

CallResult refused(CallKind kind) {
    return CallResult::failure(CallStatus::internal,
                               fmt::format("this stage has no '{}' call", call_kind_name(kind)));
}

CallResult Stage::process_batch(std::span<const ElementRef> in, std::span<Produced> out,
                                std::span<CallResult> each) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        each[i] = process(in[i], out[i]);
        if (each[i].instance_dead()) {
            return each[i];
        }
    }
    return {};
}

CallResult Stage::restart(std::string_view) {
    return CallResult::failure(CallStatus::internal, "this stage cannot restart");
}

}  // namespace torvyn
