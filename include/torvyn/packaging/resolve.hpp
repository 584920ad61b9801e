// From a packed pipeline to something that runs: the pipeline's Torvyn.toml
// written beside the store's blobs, every digest on the way checked.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "torvyn/packaging/store.hpp"

namespace torvyn::oci {

struct Materialized {
    std::filesystem::path manifest;  // its Torvyn.toml (components by digest)
    Descriptor pipeline;             // the index it came from
};

// Checks the pipeline `index` in `store` (the index, its manifest, its
// configuration, every component's manifest and Wasm: present and hashing
// to their digests) and writes its Torvyn.toml to
// <store>/torvyn/pipelines/<hex>/, where `sha256:` components resolve to the
// store's blobs.
Result<Materialized> materialize(const Store& store, const Descriptor& index);

// "oci:DIR[:TAG]" or a folder holding an OCI layout: the layout and the tag.
struct LayoutReference {
    std::filesystem::path dir;
    std::string tag;  // empty: the only entry
};
std::optional<LayoutReference> layout_reference(const std::string& text);

// The layout `ref` names and the artifact its tag names (E0702 when there
// is none, or, without a tag, when there are several).
struct LayoutEntry {
    Store store;
    Descriptor entry;
};
Result<LayoutEntry> open_layout_entry(const LayoutReference& ref);

// "12.3 KiB", "4.5 MiB": sizes as the verbs print them.
std::string size_text(std::uint64_t bytes);

}  // namespace torvyn::oci
