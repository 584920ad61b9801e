// The benchmark's real-work stage: parse a JSON event, keep the clicks,
// re-serialise a smaller object. One source, compiled twice: natively
// (bench/json_native.cpp) and into the json_stage component, so the ratio
// of the two is what the sandbox costs on real work. RapidJSON (header-only,
// from Debian): fast, and it needs no exceptions and no stdio, so the
// component imports nothing from WASI.
#pragma once

// Its checks would print through stdio; the bench feeds it only what it wrote.
#define RAPIDJSON_ASSERT(x) static_cast<void>(0)
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace json_work {

// Event number `i`, as the source writes it (~140 bytes).
inline std::string event(std::uint64_t i) {
    static constexpr const char* kKinds[] = {"click", "view", "click"};
    rapidjson::StringBuffer text;
    rapidjson::Writer<rapidjson::StringBuffer> w(text);
    w.StartObject();
    w.Key("id");
    w.Uint64(i);
    w.Key("user");
    // (to_chars, not snprintf: printf would link stdio, and WASI with it.)
    char user[32] = "user-";
    const char* end = std::to_chars(user + 5, user + sizeof user, i % 1000).ptr;
    w.String(user, static_cast<rapidjson::SizeType>(end - user));
    w.Key("kind");
    w.String(kKinds[i % 3]);
    w.Key("value");
    w.Double(static_cast<double>(i) * 0.25);
    w.Key("tags");
    w.StartArray();
    w.String("bench");
    w.String("torvyn");
    w.String(i % 2 == 0 ? "even" : "odd");
    w.EndArray();
    w.Key("ts");
    w.Uint64(1'700'000'000'000ULL + i);
    w.EndObject();
    return {text.GetString(), text.GetSize()};
}

enum class Outcome { kept, filtered, invalid };

// Clicks become {"id":..,"user":..,"score":value*2} in `out`; views are
// filtered; text that is not a JSON object with those fields is invalid.
inline Outcome transform(std::string_view in, std::string& out) {
    rapidjson::Document e;
    e.Parse(in.data(), in.size());
    if (e.HasParseError() || !e.IsObject()) {
        return Outcome::invalid;
    }
    // (HasMember, not FindMember: RapidJSON 1.1's iterator comparison is
    // ambiguous in C++20.)
    for (const char* field : {"kind", "value", "id", "user"}) {
        if (!e.HasMember(field)) {
            return Outcome::invalid;
        }
    }
    const rapidjson::Value& kind = e["kind"];
    const rapidjson::Value& value = e["value"];
    const rapidjson::Value& id = e["id"];
    const rapidjson::Value& user = e["user"];
    if (!kind.IsString() || !value.IsNumber() || !id.IsUint64() || !user.IsString()) {
        return Outcome::invalid;
    }
    if (std::string_view(kind.GetString(), kind.GetStringLength()) != "click") {
        return Outcome::filtered;
    }
    rapidjson::StringBuffer text;
    rapidjson::Writer<rapidjson::StringBuffer> w(text);
    w.StartObject();
    w.Key("id");
    w.Uint64(id.GetUint64());
    w.Key("user");
    w.String(user.GetString(), user.GetStringLength());
    w.Key("score");
    w.Double(value.GetDouble() * 2);
    w.EndObject();
    out.assign(text.GetString(), text.GetSize());
    return Outcome::kept;
}

}  // namespace json_work
