#include "settings.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "torvyn/core/suggest.hpp"

namespace torvyn::connectors {

std::string SettingsReader::what() const {
    return fmt::format("node '{}' (kind = \"{}\")", node_.name, node_.kind);
}

void SettingsReader::error(ErrorCode code, const SourceLocation& where, std::string message,
                           std::string hint) {
    errors_.emplace_back(code, std::move(message), where.str(), std::move(hint));
}

const SourceLocation& SettingsReader::place(std::string_view key) const {
    const Setting* s = node_.setting(key);
    return s != nullptr ? s->where : node_.where;
}

const Setting* SettingsReader::find(std::string_view key) {
    read_.push_back(key);
    return node_.setting(key);
}

std::string SettingsReader::text(std::string_view key, std::string fallback, bool required) {
    const Setting* s = find(key);
    if (s == nullptr) {
        if (required) {
            error(ErrorCode::connector_setting, node_.where,
                  fmt::format("{} is missing required setting '{}'", what(), key),
                  fmt::format("add {} = \"...\" to the node", key));
        }
        return fallback;
    }
    if (s->type != Setting::Type::string || s->text.empty()) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' of {} must be a non-empty string", key, what()));
        return fallback;
    }
    return s->text;
}

bool SettingsReader::boolean(std::string_view key, bool fallback) {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    if (s->type != Setting::Type::boolean) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' of {} must be true or false", key, what()));
        return fallback;
    }
    return s->boolean;
}

std::size_t SettingsReader::choice(std::string_view key,
                                   std::initializer_list<std::string_view> names,
                                   std::size_t fallback) {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    const std::vector<std::string_view> known(names);
    if (s->type == Setting::Type::string) {
        const auto it = std::find(known.begin(), known.end(), s->text);
        if (it != known.end()) {
            return static_cast<std::size_t>(it - known.begin());
        }
    }
    error(ErrorCode::connector_setting, s->where, fmt::format("invalid '{}' for {}", key, what()),
          fmt::format("{}one of: {}", did_you_mean(s->text, known), fmt::join(known, ", ")));
    return fallback;
}

std::uint64_t SettingsReader::size(std::string_view key, std::uint64_t fallback,
                                   std::uint64_t max) {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    Result<std::uint64_t> v = Error(ErrorCode::connector_setting, "");
    if (s->type == Setting::Type::string) {
        v = parse_size(s->text);
    } else if (s->type == Setting::Type::integer && s->integer >= 0) {
        v = static_cast<std::uint64_t>(s->integer);
    }
    if (!v || v.value() == 0 || v.value() > max) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' of {} must be a size from 1 byte to {} bytes, such as \"64KiB\"",
                          key, what(), max));
        return fallback;
    }
    return v.value();
}

std::chrono::milliseconds SettingsReader::duration(std::string_view key,
                                                   std::chrono::milliseconds fallback,
                                                   std::chrono::milliseconds max) {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    Result<std::chrono::milliseconds> v = Error(ErrorCode::connector_setting, "");
    if (s->type == Setting::Type::string) {
        v = parse_duration(s->text);
    } else if (s->type == Setting::Type::integer && s->integer >= 0) {
        v = std::chrono::milliseconds(s->integer);
    }
    if (!v || v.value().count() <= 0 || v.value() > max) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' of {} must be a duration from 1ms to {}ms, such as \"30s\"", key,
                          what(), max.count()));
        return fallback;
    }
    return v.value();
}

std::int64_t SettingsReader::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                     std::int64_t max) {
    const Setting* s = find(key);
    if (s == nullptr) {
        return fallback;
    }
    if (s->type != Setting::Type::integer || s->integer < min || s->integer > max) {
        error(
            ErrorCode::connector_setting, s->where,
            fmt::format("'{}' of {} must be a whole number from {} to {}", key, what(), min, max));
        return fallback;
    }
    return s->integer;
}

bool SettingsReader::has(std::string_view key) {
    return find(key) != nullptr;
}

const Setting* SettingsReader::table(std::string_view key) {
    const Setting* s = find(key);
    if (s != nullptr && s->type != Setting::Type::table) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' of {} must be a table of names and values", key, what()),
              fmt::format("{} = {{ \"name\" = \"value\" }}", key));
        return nullptr;
    }
    return s;
}

bool SettingsReader::scalar_text(const Setting& entry, std::string& out) {
    switch (entry.type) {
        case Setting::Type::string:
            out = entry.text;
            return true;
        case Setting::Type::integer:
            out = std::to_string(entry.integer);
            return true;
        case Setting::Type::boolean:
            out = entry.boolean ? "true" : "false";
            return true;
        default:
            error(ErrorCode::connector_setting, entry.where,
                  fmt::format("'{}' of {} must be a string, a number or true/false", entry.key,
                              what()));
            return false;
    }
}

void SettingsReader::not_for_role(std::string_view key, std::string_view why) {
    if (const Setting* s = find(key)) {
        error(ErrorCode::connector_setting, s->where,
              fmt::format("'{}' is not a setting of {} as a {}: {}", key, what(),
                          role_name(node_.role), why),
              "remove it");
    }
}

void SettingsReader::finish() {
    for (const auto& s : node_.settings) {
        if (std::find(read_.begin(), read_.end(), s.key) == read_.end()) {
            error(ErrorCode::connector_setting, s.where,
                  fmt::format("unknown setting '{}' of {}", s.key, what()),
                  fmt::format("{}its settings: {}", did_you_mean(s.key, read_),
                              fmt::join(read_, ", ")));
        }
    }
}

Error unavailable(std::string_view node, std::string message, std::string hint, std::string where) {
    return Error(ErrorCode::connector_unavailable,
                 fmt::format("node '{}': {}", node, std::move(message)), std::move(where),
                 std::move(hint));
}

}  // namespace torvyn::connectors
