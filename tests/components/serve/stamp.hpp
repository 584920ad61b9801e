// A processor for the serve tests, built in two versions (stamp_v1.wasm,
// stamp_v2.wasm): it passes each number on with its version appended, so a
// sink sees which version processed which element across an upgrade.
#pragma once

#include <torvyn/component.hpp>

#include <string>

template <char Version>
struct Stamp {
    torvyn::Result<torvyn::Ok> init(const torvyn::Config&) { return torvyn::Ok{}; }

    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        const torvyn::Bytes payload = e.payload.read_all();
        std::string out(payload.view());
        out += Version;
        return torvyn::make_output(out, "application/octet-stream");
    }
};
