// Reading typed values out of a TOML table with their places: each wrong or
// missing value is an error (code, file:line:col, hint) collected in
// `errors`, and the reader goes on, so one pass reports every problem. The
// manifest parser (manifest.cpp) builds its schema on it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/core/limits.hpp"
#include "torvyn/core/role.hpp"
#include "torvyn/core/suggest.hpp"

namespace torvyn::config_detail {

template <std::size_t N>
bool known(std::string_view key, const std::string_view (&keys)[N]) {
    return std::find(std::begin(keys), std::end(keys), key) != std::end(keys);
}

template <std::size_t N>
std::string list(const std::string_view (&keys)[N]) {
    std::string out;
    for (auto k : keys) {
        if (!out.empty()) {
            out += ", ";
        }
        out += k;
    }
    return out;
}

class TomlReader {
public:
    explicit TomlReader(std::string file) : file_(std::move(file)) {}

    SourceLocation at(const toml::node& n) const {
        const auto& b = n.source().begin;
        return SourceLocation{file_, static_cast<std::uint32_t>(b.line),
                              static_cast<std::uint32_t>(b.column)};
    }

    void error(ErrorCode code, const SourceLocation& where, std::string message,
               std::string hint = {}) {
        errors.emplace_back(code, std::move(message), where.str(), std::move(hint));
    }

    template <std::size_t N>
    void check_keys(const toml::table& t, const std::string_view (&keys)[N],
                    std::string_view what) {
        for (const auto& [k, v] : t) {
            if (!known(k.str(), keys)) {
                error(ErrorCode::manifest_schema, at(v),
                      fmt::format("unknown key '{}' in {}", k.str(), what),
                      fmt::format("{}known keys: {}", did_you_mean(k.str(), keys), list(keys)));
            }
        }
    }

    std::string get_string(const toml::table& t, std::string_view key, std::string_view what,
                           bool required, const SourceLocation& owner) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            if (required) {
                error(ErrorCode::manifest_schema, owner,
                      fmt::format("{} is missing required key '{}'", what, key));
            }
            return {};
        }
        if (const auto* s = n->as_string()) {
            return s->get();
        }
        error(ErrorCode::manifest_schema, at(*n),
              fmt::format("'{}' in {} must be a string", key, what));
        return {};
    }

    std::uint32_t get_count(const toml::table& t, std::string_view key, std::string_view what,
                            std::uint32_t fallback) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return fallback;
        }
        const auto* i = n->as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > 1'000'000) {
            error(ErrorCode::manifest_value, at(*n),
                  fmt::format("'{}' in {} must be a whole number from 1 to 1000000", key, what));
            return fallback;
        }
        return static_cast<std::uint32_t>(i->get());
    }

    // `threads`: a number of driver threads or "auto" (0).
    void get_threads(const toml::table& t, std::string_view what, std::uint32_t& out) {
        const toml::node* n = t.get("threads");
        if (n == nullptr) {
            return;
        }
        if (const auto* s = n->as_string(); s != nullptr && s->get() == "auto") {
            out = 0;
            return;
        }
        const auto* i = n->as_integer();
        if (i == nullptr || i->get() < 1 || i->get() > limits::kMaxFlowThreads) {
            error(ErrorCode::manifest_value, at(*n),
                  fmt::format("'threads' in {} must be \"auto\" or a whole number from 1 to {}",
                              what, limits::kMaxFlowThreads),
                  "\"auto\" lets the flow measure its stages and use as many threads as helps");
            return;
        }
        out = static_cast<std::uint32_t>(i->get());
    }

    // A key only some roles may have (`allowed`): otherwise an error at it.
    void only_for(const toml::table& t, std::string_view key, bool allowed, std::string_view roles,
                  std::string_view what, Role role, std::string hint) {
        if (const toml::node* n = t.get(key); n != nullptr && !allowed) {
            error(ErrorCode::manifest_schema, at(*n),
                  fmt::format("'{}' is for {}; {} is a {}", key, roles, what, role_name(role)),
                  std::move(hint));
        }
    }

    // A duration key: "250ms", "5s", "2m". Leaves `out` unchanged when absent.
    void get_duration(const toml::table& t, std::string_view key, std::string_view what,
                      std::chrono::milliseconds& out) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return;
        }
        const auto* str = n->as_string();
        auto d = str != nullptr
                     ? parse_duration(str->get())
                     : Result<std::chrono::milliseconds>(Error(ErrorCode::manifest_value, ""));
        if (!d) {
            error(ErrorCode::manifest_value, at(*n),
                  fmt::format(
                      "'{}' of {} must be a duration such as \"250ms\", \"5s\", \"2m\" or \"1h\"",
                      key, what));
            return;
        }
        out = d.value();
    }

    // A size key: "64KiB", "16MiB" or a whole number of bytes.
    void get_size(const toml::table& t, std::string_view key, std::string_view what,
                  std::uint64_t& out) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return;
        }
        Result<std::uint64_t> v = Error(ErrorCode::manifest_value, "");
        if (const auto* str = n->as_string()) {
            v = parse_size(str->get());
        } else if (const auto* i = n->as_integer(); i != nullptr && i->get() >= 0) {
            v = static_cast<std::uint64_t>(i->get());
        }
        if (!v) {
            error(
                ErrorCode::manifest_value, at(*n),
                fmt::format("'{}' of {} must be a size such as \"64KiB\" or \"16MiB\"", key, what));
            return;
        }
        out = v.value();
    }

    // One of `names`; returns its index, or -1 when absent or invalid.
    template <std::size_t N>
    int get_choice(const toml::table& t, std::string_view key, std::string_view what,
                   const std::string_view (&names)[N]) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return -1;
        }
        const auto* str = n->as_string();
        if (str != nullptr) {
            for (std::size_t i = 0; i < N; ++i) {
                if (names[i] == str->get()) {
                    return static_cast<int>(i);
                }
            }
        }
        const std::string_view written = str != nullptr ? std::string_view(str->get()) : "";
        error(ErrorCode::manifest_value, at(*n), fmt::format("invalid '{}' for {}", key, what),
              fmt::format("{}one of: {}", did_you_mean(written, names), list(names)));
        return -1;
    }

    void get_fraction(const toml::table& t, std::string_view key, std::string_view what,
                      double& out) {
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return;
        }
        const auto* f = n->as_floating_point();
        if (f == nullptr || !(f->get() > 0.0 && f->get() <= 1.0)) {
            error(ErrorCode::manifest_value, at(*n),
                  fmt::format("'{}' of {} must be a fraction of the queue capacity, above 0 and at "
                              "most 1.0 (e.g. 0.75)",
                              key, what));
            return;
        }
        out = f->get();
    }

    std::vector<std::string> get_strings(const toml::table& t, std::string_view key,
                                         std::string_view what) {
        std::vector<std::string> out;
        const toml::node* n = t.get(key);
        if (n == nullptr) {
            return out;
        }
        const auto* arr = n->as_array();
        if (arr == nullptr) {
            error(ErrorCode::manifest_schema, at(*n),
                  fmt::format("'{}' of {} must be an array of strings", key, what));
            return out;
        }
        for (const auto& v : *arr) {
            if (const auto* s = v.as_string()) {
                out.push_back(s->get());
            } else {
                error(ErrorCode::manifest_schema, at(v),
                      fmt::format("'{}' of {} must be an array of strings", key, what));
            }
        }
        return out;
    }

    std::vector<Error> errors;

private:
    std::string file_;
};

}  // namespace torvyn::config_detail
