#include "torvyn/packaging/oci.hpp"

#include <openssl/evp.h>

#include <ctime>

#include <fmt/format.h>

#include "torvyn/core/limits.hpp"

namespace torvyn::oci {

std::string digest_of(std::string_view bytes) {
    unsigned char hash[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), hash, &len, EVP_sha256(), nullptr);
    std::string out = "sha256:";
    for (unsigned int i = 0; i < len; ++i) {
        out += fmt::format("{:02x}", hash[i]);
    }
    return out;
}

bool is_digest(std::string_view text) {
    constexpr std::string_view kPrefix = "sha256:";
    if (text.size() != kPrefix.size() + 64 || text.substr(0, kPrefix.size()) != kPrefix) {
        return false;
    }
    for (const char c : text.substr(kPrefix.size())) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

std::string_view digest_hex(std::string_view digest) {
    const auto colon = digest.find(':');
    return colon == std::string_view::npos ? digest : digest.substr(colon + 1);
}

nlohmann::ordered_json Descriptor::json() const {
    nlohmann::ordered_json j = {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
    if (!artifact_type.empty()) {
        j["artifactType"] = artifact_type;
    }
    if (!annotations.empty()) {
        j["annotations"] = annotations;
    }
    return j;
}

Result<Descriptor> Descriptor::from_json(const nlohmann::json& j, std::string_view where) {
    const auto bad = [&](std::string_view what) {
        return Error(ErrorCode::oci_invalid, fmt::format("{}: a descriptor {}", where, what), "",
                     "the artifact is not a valid OCI document; re-pack or re-publish it");
    };
    if (!j.is_object() || !j.contains("mediaType") || !j["mediaType"].is_string() ||
        !j.contains("digest") || !j["digest"].is_string() || !j.contains("size") ||
        !j["size"].is_number_unsigned()) {
        return bad("lacks mediaType, digest or size");
    }
    Descriptor d;
    d.media_type = j["mediaType"].get<std::string>();
    d.digest = j["digest"].get<std::string>();
    d.size = j["size"].get<std::uint64_t>();
    if (!is_digest(d.digest)) {
        return bad(fmt::format("has digest '{}', not sha256:<64 hex digits>", d.digest));
    }
    // What a document claims is what a pull would hold in memory: no blob of
    // a pipeline may be larger than the largest component the host loads.
    if (d.size > limits::kMaxComponentFileBytes) {
        return bad(fmt::format("claims {} bytes, more than the {} bytes a blob may have", d.size,
                               limits::kMaxComponentFileBytes));
    }
    if (j.contains("artifactType") && j["artifactType"].is_string()) {
        d.artifact_type = j["artifactType"].get<std::string>();
    }
    if (j.contains("annotations") && j["annotations"].is_object()) {
        for (const auto& [k, v] : j["annotations"].items()) {
            if (v.is_string()) {
                d.annotations[k] = v.get<std::string>();
            }
        }
    }
    return d;
}

Blob make_blob(std::string media_type, std::string bytes) {
    Blob b;
    b.descriptor.media_type = std::move(media_type);
    b.descriptor.digest = digest_of(bytes);
    b.descriptor.size = bytes.size();
    b.bytes = std::move(bytes);
    return b;
}

Blob json_blob(std::string media_type, const nlohmann::ordered_json& document) {
    return make_blob(std::move(media_type), document.dump());
}

std::string rfc3339(std::int64_t unix_seconds) {
    const std::time_t t = unix_seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace torvyn::oci
