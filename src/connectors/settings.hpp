// Reading a connector node's settings into its kind's options: every
// problem is an E0900 error at the setting, collected, never the first only.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/core/error.hpp"
#include "torvyn/reactor/stage.hpp"

namespace torvyn::connectors {

// A kind's options read by `read(errors)` (which reports every problem into
// `errors`): the options, or the first problem (the settings were checked
// before: this is for a manifest parsed without the table).
template <class Read>
auto read_checked(Read read) -> Result<decltype(read(std::declval<std::vector<Error>&>()))> {
    std::vector<Error> errors;
    auto options = read(errors);
    if (!errors.empty()) {
        return std::move(errors.front());
    }
    return options;
}

// E0902 for node `node`: it cannot run (what link and init say).
Error unavailable(std::string_view node, std::string message, std::string hint = {},
                  std::string where = {});
inline Error unavailable(const NodeSpec& node, std::string message, std::string hint = {}) {
    return unavailable(node.name, std::move(message), std::move(hint), node.where.str());
}

// A sink that writes what it is given in batches: one element is a batch
// of one.
class BatchSink : public Stage {
public:
    CallResult push(const ElementRef& in, bool& pause) final {
        CallResult each;
        const CallResult r = push_batch({&in, 1}, {&each, 1}, pause);
        return r.ok() ? each : r;
    }
    CallResult push_batch(std::span<const ElementRef> in, std::span<CallResult> each,
                          bool& pause) override = 0;
};

class SettingsReader {
public:
    SettingsReader(const NodeSpec& node, std::vector<Error>& errors)
        : node_(node), errors_(errors) {}

    // Each returns `fallback` when the setting is absent or wrong (then an error).
    std::string text(std::string_view key, std::string fallback, bool required = false);
    bool boolean(std::string_view key, bool fallback);
    // One of `names`: its index.
    std::size_t choice(std::string_view key, std::initializer_list<std::string_view> names,
                       std::size_t fallback);
    // "64KiB", "1MiB" or a whole number of bytes, from 1 to `max`.
    std::uint64_t size(std::string_view key, std::uint64_t fallback, std::uint64_t max);
    // "250ms", "30s", "2m" or a whole number of milliseconds, from 1 ms to `max`.
    std::chrono::milliseconds duration(std::string_view key, std::chrono::milliseconds fallback,
                                       std::chrono::milliseconds max);
    // A whole number from `min` to `max`.
    std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                         std::int64_t max);
    // Whether the node has the setting (it is read, so finish() accepts it).
    bool has(std::string_view key);
    // A table of scalars (e.g. `properties = { "linger.ms" = 5 }`); null when
    // absent or wrong (then an error). Its entries' values are read with
    // scalar_text.
    const Setting* table(std::string_view key);
    // A string, integer or boolean as text ("5", "true"); false when the
    // entry is none of them (then an error).
    bool scalar_text(const Setting& entry, std::string& out);
    // A setting the node's role has no use for (e.g. `follow` on a sink).
    void not_for_role(std::string_view key, std::string_view why);
    // Every setting not read so far is unknown: an error with the known ones.
    void finish();

    void error(ErrorCode code, const SourceLocation& where, std::string message,
               std::string hint = {});
    [[nodiscard]] std::string what() const;
    // Where a setting is written (the node's place when it is absent).
    [[nodiscard]] const SourceLocation& place(std::string_view key) const;

private:
    const Setting* find(std::string_view key);
    const NodeSpec& node_;
    std::vector<Error>& errors_;
    std::vector<std::string_view> read_;
};

}  // namespace torvyn::connectors
