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

CallResult Stage::pull_batch(std::size_t max, std::vector<Produced>& out) {
    for (std::size_t i = 0; i < max; ++i) {
        Produced p;
        if (CallResult r = pull(p); !r.ok()) {
            return r;
        }
        out.push_back(p);
        if (!p.present) {
            break;
        }
    }
    return {};
}

CallResult Stage::push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                             bool& pause) {
    pause = false;
    for (std::size_t i = 0; i < in.size(); ++i) {
        bool p = false;
        each[i] = push(in[i], p);
        pause = pause || p;
        if (each[i].instance_dead()) {
            return each[i];
        }
    }
    return {};
}

CallResult Stage::accept_batch(std::span<const ElementRef> in, std::span<std::uint8_t> kept,
                               std::span<CallResult> each) {
    for (std::size_t i = 0; i < in.size(); ++i) {
        bool keep = false;
        each[i] = accept(in[i], keep);
        kept[i] = keep ? 1 : 0;
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
