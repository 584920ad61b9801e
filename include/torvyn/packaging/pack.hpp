// torvyn pack: a manifest and its components as OCI artifacts, and the OCI
// image layout they are written to (a folder, or a tar of one).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "torvyn/config/manifest.hpp"
#include "torvyn/packaging/oci.hpp"

namespace torvyn::oci {

struct PackOptions {
    std::string name;         // default: the manifest's folder
    std::string version;      // default: "0.0.0"
    std::string description;  // default: the first flow's description
    std::string source;       // a URL; none by default
    // Unix seconds for every `created`; default: SOURCE_DATE_EPOCH, else the
    // newest input file's modification time (the same inputs, the same digests).
    std::int64_t created = -1;
};

struct PackedComponent {
    std::string file;  // its file name
    std::string language;
    std::vector<std::string> imports;
    std::vector<std::string> exports;
    Descriptor manifest;
    Descriptor wasm;
};

struct Packed {
    Descriptor pipeline;  // the index: what a reference names
    Descriptor pipeline_manifest;
    std::vector<PackedComponent> components;
    std::vector<Blob> blobs;  // every blob once, the index last
    std::string toml;         // the manifest, components by digest
};

// Packs every flow of `manifest` (components found along `search_path`).
Result<Packed> pack(const Manifest& manifest, const std::vector<std::filesystem::path>& search_path,
                    PackOptions options);

// Writes an OCI image layout: oci-layout, index.json (the pipeline, tagged
// `tag`), blobs/sha256/. Adds to a layout that is there.
std::optional<Error> write_layout(const Packed& packed, const std::filesystem::path& dir,
                                  const std::string& tag);

}  // namespace torvyn::oci
