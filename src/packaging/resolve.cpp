#include "torvyn/packaging/resolve.hpp"

#include <fmt/format.h>

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

Result<nlohmann::json> document(const Store& store, const Descriptor& d,
                                std::string_view media_type) {
    if (d.media_type != media_type) {
        return Error(ErrorCode::oci_invalid,
                     fmt::format("{} is a {}, not a {}", d.digest, d.media_type, media_type), "",
                     "name a pipeline packed by torvyn pack");
    }
    auto bytes = store.get(d.digest);
    if (!bytes) {
        return bytes.error();
    }
    auto j = nlohmann::json::parse(*bytes, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} is not JSON", d.digest));
    }
    return j;
}

Result<std::vector<Descriptor>> descriptors(const nlohmann::json& j, const char* key,
                                            std::string_view where) {
    std::vector<Descriptor> out;
    if (!j.contains(key) || !j[key].is_array()) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} has no {}", where, key));
    }
    for (const auto& d : j[key]) {
        auto desc = Descriptor::from_json(d, where);
        if (!desc) {
            return desc.error();
        }
        out.push_back(std::move(desc).value());
    }
    return out;
}

}  // namespace

Result<Materialized> materialize(const Store& store, const Descriptor& index) {
    auto idx = document(store, index, kIndexType);
    if (!idx) {
        return idx.error();
    }
    auto manifests = descriptors(*idx, "manifests", index.digest);
    if (!manifests) {
        return manifests.error();
    }
    std::string toml;
    bool found = false;
    for (const auto& m : *manifests) {
        auto doc = document(store, m, kManifestType);
        if (!doc) {
            return doc.error();
        }
        auto layers = descriptors(*doc, "layers", m.digest);
        if (!layers) {
            return layers.error();
        }
        if (!doc->contains("config")) {
            return Error(ErrorCode::oci_invalid, fmt::format("{} has no config", m.digest));
        }
        auto config = Descriptor::from_json((*doc)["config"], m.digest);
        if (!config) {
            return config.error();
        }
        if (auto c = store.get(config->digest); !c) {
            return c.error();
        }
        // Known by its own config, not by the index's descriptor: tools that
        // rewrite an index (skopeo 1.9 copying one) drop what they do not know.
        const bool is_pipeline = config->media_type == kPipelineConfigType;
        for (const auto& layer : *layers) {
            auto bytes = store.get(layer.digest);
            if (!bytes) {
                return bytes.error();
            }
            if (is_pipeline && layer.media_type == kPipelineLayerType) {
                toml = std::move(bytes).value();
                found = true;
            }
        }
    }
    if (!found) {
        return Error(ErrorCode::oci_invalid,
                     fmt::format("{} holds no Torvyn pipeline manifest", index.digest), "",
                     "name a pipeline packed by torvyn pack");
    }
    const fs::path dir =
        store.dir() / "torvyn" / "pipelines" / std::string(digest_hex(index.digest));
    if (auto e = write_atomically(dir / "Torvyn.toml", toml)) {
        return *e;
    }
    // Components named by digest are found in <manifest dir>/blobs.
    std::error_code ec;
    if (!fs::exists(dir / "blobs", ec)) {
        fs::create_directory_symlink(fs::path("..") / ".." / ".." / "blobs", dir / "blobs", ec);
        if (ec) {
            return Error(ErrorCode::io, fmt::format("cannot link {}/blobs", dir.string()));
        }
    }
    return Materialized{dir / "Torvyn.toml", index};
}

Result<LayoutEntry> open_layout_entry(const LayoutReference& ref) {
    auto store = Store::open_existing(ref.dir);
    if (!store) {
        return store.error();
    }
    auto found = store->find(ref.tag);
    if (!found) {
        return found.error();
    }
    if (!found.value()) {
        return Error(ErrorCode::oci_not_found,
                     ref.tag.empty() ? fmt::format("{} holds several artifacts", ref.dir.string())
                                     : fmt::format("{} has no '{}'", ref.dir.string(), ref.tag),
                     "", "name one: oci:DIR:TAG (torvyn inspect DIR lists them)");
    }
    return LayoutEntry{std::move(store).value(), *found.value()};
}

std::string size_text(std::uint64_t bytes) {
    return bytes >= (1U << 20) ? fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1 << 20))
                               : fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

std::optional<LayoutReference> layout_reference(const std::string& text) {
    std::error_code ec;
    if (text.rfind("oci:", 0) == 0) {
        std::string rest = text.substr(4);
        LayoutReference r;
        const auto colon = rest.rfind(':');
        if (colon != std::string::npos && !fs::is_directory(rest, ec)) {
            r.tag = rest.substr(colon + 1);
            rest.resize(colon);
        }
        r.dir = rest;
        return r;
    }
    if (fs::is_directory(text, ec) && fs::is_regular_file(fs::path(text) / "oci-layout", ec)) {
        return LayoutReference{text, ""};
    }
    return std::nullopt;
}

}  // namespace torvyn::oci
