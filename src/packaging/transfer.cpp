// Moving a pipeline between the local store and a registry. Pushes go
// children first (blobs, then manifests, the index last) so a registry never
// holds a tag whose contents are missing; pulls go the same way into the
// store, each blob checked before it is written, so an interrupted or
// tampered pull leaves no tag and no unchecked content.
#include <cstdlib>

#include <fmt/format.h>

#include "torvyn/packaging/registry.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

Result<nlohmann::json> parse_document(std::string_view bytes, const std::string& digest) {
    auto j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} is not a JSON document", digest));
    }
    return j;
}

Result<std::vector<Descriptor>> list(const nlohmann::json& j, const char* key,
                                     const std::string& where) {
    if (!j.contains(key) || !j[key].is_array()) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} has no {}", where, key));
    }
    std::vector<Descriptor> out;
    for (const auto& item : j[key]) {
        auto d = Descriptor::from_json(item, where);
        if (!d) {
            return d.error();
        }
        out.push_back(std::move(d).value());
    }
    return out;
}

// A manifest's config and layers.
Result<std::vector<Descriptor>> manifest_children(const nlohmann::json& manifest,
                                                  const std::string& digest) {
    auto layers = list(manifest, "layers", digest);
    if (!layers) {
        return layers.error();
    }
    if (!manifest.contains("config")) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} has no config", digest));
    }
    auto config = Descriptor::from_json(manifest["config"], digest);
    if (!config) {
        return config.error();
    }
    layers->insert(layers->begin(), std::move(config).value());
    return layers;
}

Error not_an_index(const std::string& what, const std::string& media_type) {
    return Error(ErrorCode::oci_invalid,
                 fmt::format("{} is a {}, not a Torvyn pipeline (an OCI image index)", what,
                             media_type.empty() ? "document of no media type" : media_type),
                 "", "name a pipeline published by torvyn publish");
}

}  // namespace

fs::path default_store_dir() {
    if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0') {
        return fs::path(x) / "torvyn" / "oci";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return fs::path(h) / ".cache" / "torvyn" / "oci";
    }
    return fs::path(".torvyn-oci");
}

Result<std::vector<Descriptor>> pipeline_contents(const Store& store, const Descriptor& index) {
    if (index.media_type != kIndexType) {
        return not_an_index(index.digest, index.media_type);
    }
    auto index_bytes = store.get(index.digest);
    if (!index_bytes) {
        return index_bytes.error();
    }
    auto index_json = parse_document(*index_bytes, index.digest);
    if (!index_json) {
        return index_json.error();
    }
    auto manifests = list(*index_json, "manifests", index.digest);
    if (!manifests) {
        return manifests.error();
    }
    std::vector<Descriptor> out;
    for (const auto& m : *manifests) {
        auto bytes = store.get(m.digest);
        if (!bytes) {
            return bytes.error();
        }
        auto doc = parse_document(*bytes, m.digest);
        if (!doc) {
            return doc.error();
        }
        auto children = manifest_children(*doc, m.digest);
        if (!children) {
            return children.error();
        }
        out.insert(out.end(), children->begin(), children->end());
    }
    out.insert(out.end(), manifests->begin(), manifests->end());
    out.push_back(index);
    return out;
}

namespace {

Result<Transfer> push_contents(Registry& registry, const Store& store, const Descriptor& index,
                               const Reference& reference, BlobSources* sources) {
    auto contents = pipeline_contents(store, index);
    if (!contents) {
        return contents.error();
    }
    const auto holds = [&](const Descriptor& d) {
        if (sources != nullptr) {
            sources->add(d.digest, reference.host, reference.repository);
        }
    };
    Transfer t;
    t.index = index;
    for (const auto& d : *contents) {
        const bool is_manifest = d.media_type == kManifestType || d.media_type == kIndexType;
        const bool is_top = d.digest == index.digest;
        // The index is always pushed: its tag may name something else now.
        if (!is_top) {
            auto present =
                is_manifest ? registry.has_manifest(d.digest) : registry.has_blob(d.digest);
            if (!present) {
                return present.error();
            }
            if (*present) {
                ++t.skipped;
                if (!is_manifest) {
                    holds(d);
                }
                continue;
            }
        }
        auto bytes = store.get(d.digest);
        if (!bytes) {
            return bytes.error();
        }
        // Manifests by digest (a component's manifest is shared between
        // pipelines and needs no tag); the index under the reference's tag.
        if (is_manifest) {
            if (auto e = registry.push_manifest(is_top ? reference.manifest_ref() : d.digest,
                                                d.media_type, *bytes)) {
                return *e;
            }
        } else {
            const std::string from =
                sources != nullptr ? sources->find(d.digest, reference.host, reference.repository)
                                   : std::string();
            auto pushed = registry.push_blob(d.digest, *bytes, from);
            if (!pushed) {
                return pushed.error();
            }
            holds(d);
            if (*pushed == BlobPushed::mounted) {
                ++t.mounted;
                continue;
            }
        }
        ++t.blobs;
        t.bytes += d.size;
    }
    return t;
}

}  // namespace

Result<Transfer> push_pipeline(Registry& registry, const Store& store, const Descriptor& index,
                               const Reference& reference, BlobSources* sources) {
    auto t = push_contents(registry, store, index, reference, sources);
    // Saved whether or not the push ended well: what went up is there. A
    // record that cannot be written costs a later upload, not this push.
    if (sources != nullptr) {
        (void)sources->save();
    }
    return t;
}

Result<Transfer> pull_pipeline(Registry& registry, Store& store, const Reference& reference,
                               BlobSources* sources) {
    auto top = registry.get_manifest(reference.manifest_ref());
    if (!top) {
        return top.error();
    }
    if (top->media_type != kIndexType) {
        return not_an_index(reference.text(), top->media_type);
    }
    auto index_json = parse_document(top->bytes, top->digest);
    if (!index_json) {
        return index_json.error();
    }
    auto manifests = list(*index_json, "manifests", top->digest);
    if (!manifests) {
        return manifests.error();
    }
    Transfer t;
    t.index.media_type = top->media_type;
    t.index.digest = top->digest;
    t.index.size = top->bytes.size();
    if (index_json->contains("artifactType") && (*index_json)["artifactType"].is_string()) {
        t.index.artifact_type = (*index_json)["artifactType"].get<std::string>();
    }
    const auto keep = [&](const Descriptor& d, const std::string& bytes) -> std::optional<Error> {
        if (auto e = store.put(d.digest, bytes)) {
            return e;
        }
        ++t.blobs;
        t.bytes += bytes.size();
        return std::nullopt;
    };
    for (const auto& m : *manifests) {
        if (store.has(m.digest)) {
            // Present and (put checked it) whole; its children came before it.
            ++t.skipped;
            continue;
        }
        auto manifest = registry.get_manifest(m.digest);
        if (!manifest) {
            return manifest.error();
        }
        auto doc = parse_document(manifest->bytes, m.digest);
        if (!doc) {
            return doc.error();
        }
        auto children = manifest_children(*doc, m.digest);
        if (!children) {
            return children.error();
        }
        for (const auto& child : *children) {
            if (sources != nullptr) {  // the registry holds what its manifests name
                sources->add(child.digest, reference.host, reference.repository);
            }
            if (store.has(child.digest)) {
                ++t.skipped;
                continue;
            }
            auto bytes = registry.get_blob(child);
            if (!bytes) {
                return bytes.error();
            }
            if (auto e = keep(child, *bytes)) {
                return *e;
            }
        }
        if (auto e = keep(m, manifest->bytes)) {
            return *e;
        }
    }
    if (auto e = keep(t.index, top->bytes)) {
        return *e;
    }
    if (auto e = store.tag(t.index, reference.text())) {
        return *e;
    }
    if (sources != nullptr) {
        (void)sources->save();  // a hint: a record not written costs a later upload
    }
    return t;
}

}  // namespace torvyn::oci
