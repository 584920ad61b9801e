#include "torvyn/packaging/signatures.hpp"

#include <fmt/format.h>

#include "torvyn/packaging/signing.hpp"

namespace torvyn::oci {
namespace {

constexpr std::string_view kImageConfigType = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";

// The image config cosign writes beside its signatures (fixed, naming the
// payload layers).
nlohmann::ordered_json signature_config(const nlohmann::json& layers) {
    nlohmann::ordered_json diff_ids = nlohmann::ordered_json::array();
    for (const auto& l : layers) {
        diff_ids.push_back(l["digest"].get<std::string>());
    }
    return {{"architecture", ""},
            {"created", "0001-01-01T00:00:00Z"},
            {"history", {{{"created", "0001-01-01T00:00:00Z"}}}},
            {"os", ""},
            {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}},
            {"config", nlohmann::ordered_json::object()}};
}

// The layers of a signature manifest (none when it is not one).
nlohmann::json signature_layers(std::string_view bytes) {
    const auto j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.contains("layers") || !j["layers"].is_array()) {
        return nlohmann::json::array();
    }
    return j["layers"];
}

std::string stored_tag(const Reference& reference, std::string_view digest) {
    return fmt::format("{}/{}:{}", reference.host, reference.repository, signature_tag(digest));
}

}  // namespace

std::string signature_tag(std::string_view digest) {
    return fmt::format("sha256-{}.sig", digest_hex(digest));
}

Result<std::size_t> sign_digest(Registry& registry, const Reference& reference,
                                const std::string& digest, std::string_view private_pem) {
    const std::string payload =
        simple_signing_payload(reference.host + "/" + reference.repository, digest);
    auto signature = sign_payload(private_pem, payload);
    if (!signature) {
        return signature.error();
    }
    Blob layer = make_blob(std::string(kSimpleSigningType), payload);
    layer.descriptor.annotations[std::string(kSignatureAnnotation)] = *signature;
    // Other signers' layers stay (cosign appends too).
    nlohmann::json layers = nlohmann::json::array();
    if (auto existing = registry.get_manifest(signature_tag(digest))) {
        layers = signature_layers(existing->bytes);
    } else if (existing.error().code != ErrorCode::oci_not_found) {
        return existing.error();
    }
    layers.push_back(nlohmann::json::parse(layer.descriptor.json().dump()));
    const Blob config = json_blob(std::string(kImageConfigType), signature_config(layers));
    for (const Blob* b : std::initializer_list<const Blob*>{&layer, &config}) {
        if (auto pushed = registry.push_blob(b->descriptor.digest, b->bytes); !pushed) {
            return pushed.error();
        }
    }
    nlohmann::ordered_json manifest = {{"schemaVersion", 2},
                                       {"mediaType", kManifestType},
                                       {"config", config.descriptor.json()},
                                       {"layers", layers}};
    if (auto e = registry.push_manifest(signature_tag(digest), kManifestType, manifest.dump())) {
        return *e;
    }
    return layers.size();
}

Result<Verdict> check_signatures(Registry& registry, Store& store, const Reference& reference,
                                 const std::string& digest,
                                 const std::vector<std::string>& public_pems) {
    // What the store kept from an earlier check, else the registry's.
    std::string manifest_bytes;
    bool from_store = false;
    if (auto kept = store.find(stored_tag(reference, digest)); kept && kept.value()) {
        if (auto bytes = store.get(kept.value()->digest)) {
            manifest_bytes = std::move(bytes).value();
            from_store = true;
        }
    }
    std::string media_type = std::string(kManifestType);
    if (!from_store) {
        auto fetched = registry.get_manifest(signature_tag(digest));
        if (!fetched) {
            if (fetched.error().code == ErrorCode::oci_not_found) {
                return Verdict{};
            }
            return fetched.error();
        }
        if (fetched->media_type.find(kManifestType) == std::string::npos &&
            fetched->media_type.find(kDockerManifestType) == std::string::npos) {
            return Error(ErrorCode::oci_invalid,
                         fmt::format("{} is a {}, not a signature manifest", signature_tag(digest),
                                     fetched->media_type));
        }
        media_type = fetched->media_type;
        manifest_bytes = std::move(fetched->bytes);
    }
    Verdict verdict{Trust::untrusted, 0};
    std::vector<std::pair<std::string, std::string>> payloads;  // digest, bytes
    for (const auto& layer : signature_layers(manifest_bytes)) {
        auto d = Descriptor::from_json(layer, signature_tag(digest));
        if (!d || d->media_type != kSimpleSigningType) {
            continue;
        }
        ++verdict.signatures;
        auto payload = from_store ? store.get(d->digest) : registry.get_blob(*d);
        if (!payload) {
            return payload.error();
        }
        payloads.emplace_back(d->digest, *payload);
        const auto sig = d->annotations.find(std::string(kSignatureAnnotation));
        auto claimed = claimed_digest(*payload);
        if (sig == d->annotations.end() || !claimed || *claimed != digest) {
            continue;
        }
        for (const auto& pem : public_pems) {
            auto ok = verify_payload(pem, *payload, sig->second);
            if (!ok) {
                return ok.error();
            }
            if (*ok) {
                verdict.trust = Trust::trusted;
            }
        }
    }
    if (verdict.signatures == 0) {
        return Verdict{};
    }
    if (verdict.trust == Trust::trusted && !from_store) {
        for (const auto& [d, bytes] : payloads) {
            if (auto e = store.put(d, bytes)) {
                return *e;
            }
        }
        Descriptor m;
        m.media_type = media_type;
        m.digest = digest_of(manifest_bytes);
        m.size = manifest_bytes.size();
        if (auto e = store.put(m.digest, manifest_bytes)) {
            return *e;
        }
        if (auto e = store.tag(m, stored_tag(reference, digest))) {
            return *e;
        }
    }
    return verdict;
}

}  // namespace torvyn::oci
