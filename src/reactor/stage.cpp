#include "torvyn/reactor/stage.hpp"

#include <fmt/format.h>

#include "torvyn/reactor/observer.hpp"

namespace torvyn {
namespace {

CallResult refuse(CallKind kind) {
    return CallResult::failure(CallStatus::internal,
                               fmt::format("this stage has no '{}' call", call_kind_name(kind)));
}

}  // namespace

std::string_view call_kind_name(CallKind kind) {
    switch (kind) {
        case CallKind::init:
            return "init";
        case CallKind::teardown:
            return "teardown";
        case CallKind::pull:
            return "pull";
        case CallKind::notify:
            return "notify";
        case CallKind::process:
            return "process";
        case CallKind::push:
            return "push";
        case CallKind::complete:
            return "complete";
        case CallKind::accept:
            return "accept";
        case CallKind::ports:
            return "ports";
        case CallKind::route:
            return "route";
        case CallKind::ingest:
            return "ingest";
        case CallKind::flush:
            return "flush";
    }
    return "unknown";
}

CallResult Stage::pull(Produced&) {
    return refuse(CallKind::pull);
}
CallResult Stage::notify(bool) {
    return refuse(CallKind::notify);
}
CallResult Stage::process(const ElementRef&, Produced&) {
    return refuse(CallKind::process);
}
CallResult Stage::push(const ElementRef&, bool&) {
    return refuse(CallKind::push);
}
CallResult Stage::complete() {
    return refuse(CallKind::complete);
}
CallResult Stage::accept(const ElementRef&, bool&) {
    return refuse(CallKind::accept);
}
CallResult Stage::ports(std::vector<std::string>&) {
    return refuse(CallKind::ports);
}
CallResult Stage::route(const ElementRef&, std::vector<std::string>&) {
    return refuse(CallKind::route);
}
CallResult Stage::ingest(const ElementRef&, Produced&) {
    return refuse(CallKind::ingest);
}
CallResult Stage::flush(std::vector<Produced>&) {
    return refuse(CallKind::flush);
}
CallResult Stage::restart(std::string_view) {
    return CallResult::failure(CallStatus::internal, "this stage cannot restart");
}

}  // namespace torvyn
