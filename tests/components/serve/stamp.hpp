// A processor for the serve tests, built in two versions (stamp_v1.wasm,
// stamp_v2.wasm): it passes each number on with its version appended, so a
// sink sees which version processed which element across an upgrade.
// Version 2 refuses to start with config refuse-v2=1 (version 1 ignores it):
// an upgrade whose new component fails in init.
#pragma once

#include <torvyn/component.hpp>

#include <string>

template <char Version>
struct Stamp {
    torvyn::Result<torvyn::Ok> init(const torvyn::Config& config) {
        if (Version == '2' && config.get_u64("refuse-v2", 0) != 0) {
            return torvyn::Error::invalid_input("refuse-v2=1: version 2 does not start");
        }
        return torvyn::Ok{};
    }

    torvyn::Result<std::optional<torvyn::Output>> process(const torvyn::Element& e) {
        const torvyn::Bytes payload = e.payload.read_all();
        std::string out(payload.view());
        out += Version;
        return torvyn::make_output(out, "application/octet-stream");
    }
};
