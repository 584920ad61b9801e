// OCI content for Torvyn pipelines: media types, descriptors, blobs. A
// component is a Wasm OCI artifact (the CNCF TAG Runtime layout: config
// application/vnd.wasm.config.v0+json with its WIT imports and exports, one
// application/wasm layer); a pipeline is an OCI image index over its own
// manifest (its Torvyn.toml, components referenced by digest) and its
// components' manifests. JSON documents are written deterministically (keys
// in a fixed order, no whitespace), so the same inputs give the same digests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "torvyn/core/error.hpp"

namespace torvyn::oci {

inline constexpr std::string_view kManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kWasmConfigType = "application/vnd.wasm.config.v0+json";
inline constexpr std::string_view kWasmLayerType = "application/wasm";
inline constexpr std::string_view kPipelineArtifactType = "application/vnd.torvyn.pipeline.v1";
inline constexpr std::string_view kPipelineConfigType =
    "application/vnd.torvyn.pipeline.config.v1+json";
inline constexpr std::string_view kPipelineLayerType = "application/vnd.torvyn.manifest.v1+toml";
// Annotation keys (OCI pre-defined ones and Torvyn's).
inline constexpr std::string_view kTitle = "org.opencontainers.image.title";
inline constexpr std::string_view kVersionAnnotation = "org.opencontainers.image.version";
inline constexpr std::string_view kDescription = "org.opencontainers.image.description";
inline constexpr std::string_view kSource = "org.opencontainers.image.source";
inline constexpr std::string_view kCreated = "org.opencontainers.image.created";
inline constexpr std::string_view kRefName = "org.opencontainers.image.ref.name";

// "sha256:<64 hex>" of `bytes`.
std::string digest_of(std::string_view bytes);
// Whether `text` is "sha256:" and 64 lowercase hex digits.
bool is_digest(std::string_view text);
// The hex part of a digest ("sha256:abc" -> "abc").
std::string_view digest_hex(std::string_view digest);

struct Descriptor {
    std::string media_type;
    std::string digest;
    std::uint64_t size = 0;
    std::string artifact_type;  // optional
    std::map<std::string, std::string> annotations;

    [[nodiscard]] nlohmann::ordered_json json() const;
    static Result<Descriptor> from_json(const nlohmann::json& j, std::string_view where);
};

// Content and what describes it.
struct Blob {
    Descriptor descriptor;
    std::string bytes;
};
Blob make_blob(std::string media_type, std::string bytes);
// A JSON document (manifest, index, config) as a blob.
Blob json_blob(std::string media_type, const nlohmann::ordered_json& document);

// "2026-12-04T03:00:00Z" for a Unix time.
std::string rfc3339(std::int64_t unix_seconds);

}  // namespace torvyn::oci
