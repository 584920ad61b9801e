#include "torvyn/packaging/pack.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "torvyn/engine/engine.hpp"
#include "torvyn/packaging/store.hpp"
#include "torvyn/version.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) {
        return Error(ErrorCode::io, fmt::format("cannot read {}", path.string()));
    }
    return s.str();
}

std::int64_t mtime(const fs::path& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 ? static_cast<std::int64_t>(st.st_mtime) : 0;
}

// SOURCE_DATE_EPOCH (reproducible builds), else the newest input.
std::int64_t created_time(const std::vector<fs::path>& inputs) {
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr && *epoch != 0) {
        return std::strtoll(epoch, nullptr, 10);
    }
    std::int64_t newest = 0;
    for (const auto& p : inputs) {
        newest = std::max(newest, mtime(p));
    }
    return newest;
}

// The manifest with each node's component replaced by its digest.
Result<std::string> rewrite_components(const Manifest& manifest,
                                       const std::map<std::string, std::string>& digests) {
    toml::table root;
    try {
        root = toml::parse_file(manifest.path.string());
    } catch (const toml::parse_error& e) {
        return Error(ErrorCode::manifest_syntax, std::string(e.description()),
                     manifest.path.string());
    }
    for (const auto& flow : manifest.flows) {
        for (const auto& node : flow.nodes) {
            auto* n = root["flow"][flow.name]["nodes"][node.name].as_table();
            if (n != nullptr) {
                n->insert_or_assign("component", digests.at(flow.name + "." + node.name));
            }
        }
    }
    std::ostringstream out;
    out << "# Packed by torvyn " << kVersion << ": components by the digest of their Wasm.\n"
        << root << '\n';
    return out.str();
}

}  // namespace

Result<Packed> pack(const Manifest& manifest, const std::vector<fs::path>& search_path,
                    PackOptions options) {
    // Find every component first: one error list, nothing written.
    std::map<std::string, fs::path> file_of;  // "flow.node" -> file
    std::vector<fs::path> inputs{manifest.path};
    for (const auto& flow : manifest.flows) {
        for (const auto& node : flow.nodes) {
            if (node.is_connector()) {
                continue;  // host code: nothing to pack
            }
            auto file = resolve_component(manifest, node, search_path);
            if (!file) {
                return file.error();
            }
            file_of[flow.name + "." + node.name] = file.value();
            inputs.push_back(file.value());
        }
    }
    if (options.created < 0) {
        options.created = created_time(inputs);
    }
    const std::string created = rfc3339(options.created);
    if (options.name.empty()) {
        options.name = fs::absolute(manifest.path).parent_path().filename().string();
    }
    if (options.version.empty()) {
        options.version = "0.0.0";
    }
    if (options.description.empty() && !manifest.flows.empty()) {
        options.description = manifest.flows.front().description;
    }

    Packed out;
    std::set<std::string> have;
    const auto keep = [&](Blob b) {
        if (have.insert(b.descriptor.digest).second) {
            out.blobs.push_back(std::move(b));
        }
    };
    std::map<std::string, std::string> digest_of_node;  // "flow.node" -> wasm digest
    std::map<fs::path, std::size_t> packed_file;
    for (const auto& [node, file] : file_of) {
        if (auto it = packed_file.find(file); it != packed_file.end()) {
            digest_of_node[node] = out.components[it->second].wasm.digest;
            continue;
        }
        auto bytes = read_file(file);
        if (!bytes) {
            return bytes.error();
        }
        auto facts = inspect_component(
            {reinterpret_cast<const std::uint8_t*>(bytes->data()), bytes->size()});
        if (!facts) {
            Error e = facts.error();
            e.message = fmt::format("{}: {}", file.string(), e.message);
            return e;
        }
        Blob wasm = make_blob(std::string(kWasmLayerType), std::move(bytes).value());
        wasm.descriptor.annotations[std::string(kTitle)] = file.filename().string();
        // The config of the CNCF TAG Runtime's Wasm OCI artifact layout.
        nlohmann::ordered_json config = {{"created", created},
                                         {"architecture", "wasm"},
                                         {"os", "wasip2"},
                                         {"layerDigests", {wasm.descriptor.digest}},
                                         {"component",
                                          {{"exports", facts->interfaces.exports},
                                           {"imports", facts->interfaces.imports},
                                           {"target", nullptr}}}};
        const Blob config_blob = json_blob(std::string(kWasmConfigType), config);
        nlohmann::ordered_json manifest_json = {
            {"schemaVersion", 2},
            {"mediaType", kManifestType},
            {"config", config_blob.descriptor.json()},
            {"layers", {wasm.descriptor.json()}},
            {"annotations", {{kCreated, created}, {kTitle, file.filename().string()}}}};
        Blob manifest_blob = json_blob(std::string(kManifestType), manifest_json);
        manifest_blob.descriptor.annotations[std::string(kTitle)] = file.filename().string();
        out.components.push_back({file.filename().string(), facts->language,
                                  facts->interfaces.imports, facts->interfaces.exports,
                                  manifest_blob.descriptor, wasm.descriptor});
        packed_file[file] = out.components.size() - 1;
        digest_of_node[node] = wasm.descriptor.digest;
        keep(std::move(wasm));
        keep(config_blob);
        keep(std::move(manifest_blob));
    }

    auto toml = rewrite_components(manifest, digest_of_node);
    if (!toml) {
        return toml.error();
    }
    out.toml = std::move(toml).value();
    Blob layer = make_blob(std::string(kPipelineLayerType), out.toml);
    layer.descriptor.annotations[std::string(kTitle)] = "Torvyn.toml";
    nlohmann::ordered_json flows = nlohmann::ordered_json::array();
    for (const auto& flow : manifest.flows) {
        nlohmann::ordered_json nodes = nlohmann::ordered_json::array();
        for (const auto& node : flow.nodes) {
            nodes.push_back({{"name", node.name},
                             {"role", role_name(node.role)},
                             {"component", digest_of_node.at(flow.name + "." + node.name)},
                             {"capabilities", node.capabilities}});
        }
        flows.push_back({{"name", flow.name}, {"nodes", nodes}});
    }
    const Blob config = json_blob(std::string(kPipelineConfigType), {{"torvyn", kVersion},
                                                                     {"contract", kContractVersion},
                                                                     {"created", created},
                                                                     {"flows", flows}});
    nlohmann::ordered_json annotations = {
        {kTitle, options.name}, {kVersionAnnotation, options.version}, {kCreated, created}};
    if (!options.description.empty()) {
        annotations[std::string(kDescription)] = options.description;
    }
    if (!options.source.empty()) {
        annotations[std::string(kSource)] = options.source;
    }
    Blob pipeline_manifest =
        json_blob(std::string(kManifestType), {{"schemaVersion", 2},
                                               {"mediaType", kManifestType},
                                               {"artifactType", kPipelineArtifactType},
                                               {"config", config.descriptor.json()},
                                               {"layers", {layer.descriptor.json()}},
                                               {"annotations", annotations}});
    pipeline_manifest.descriptor.artifact_type = kPipelineArtifactType;
    out.pipeline_manifest = pipeline_manifest.descriptor;
    nlohmann::ordered_json manifests = {pipeline_manifest.descriptor.json()};
    for (const auto& c : out.components) {
        manifests.push_back(c.manifest.json());
    }
    Blob index = json_blob(std::string(kIndexType), {{"schemaVersion", 2},
                                                     {"mediaType", kIndexType},
                                                     {"artifactType", kPipelineArtifactType},
                                                     {"manifests", manifests},
                                                     {"annotations", annotations}});
    index.descriptor.artifact_type = kPipelineArtifactType;
    out.pipeline = index.descriptor;
    keep(std::move(layer));
    keep(config);
    keep(std::move(pipeline_manifest));
    keep(std::move(index));
    return out;
}

std::optional<Error> write_layout(const Packed& packed, const fs::path& dir,
                                  const std::string& tag) {
    auto store = Store::open_layout(dir);
    if (!store) {
        return store.error();
    }
    for (const auto& b : packed.blobs) {
        if (auto e = store->put(b.descriptor.digest, b.bytes)) {
            return *e;
        }
    }
    return store->tag(packed.pipeline, tag);
}

}  // namespace torvyn::oci
