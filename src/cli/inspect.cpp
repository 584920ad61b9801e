// torvyn inspect FILE|DIR|oci:DIR[:TAG]: what a component is (its role,
// exports and imports, the capabilities it would need, size, language,
// digest), or what a packed pipeline holds (its annotations, flows, nodes,
// grants and components). --json for scripts.
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common.hpp"
#include "torvyn/connectors/connectors.hpp"
#include "torvyn/packaging/registry.hpp"
#include "torvyn/packaging/resolve.hpp"
#include "torvyn/packaging/signatures.hpp"
#include "torvyn/security/capabilities.hpp"

namespace torvyn::cli {
namespace {

struct InspectArgs {
    std::string what;
    bool json = false;
};

// The capabilities a component's imports would need (one per import that
// some capability covers; the first in table order).
std::vector<std::string> needed_capabilities(const std::vector<std::string>& imports) {
    std::set<std::string> names;
    for (const auto& i : imports) {
        const auto covering = capabilities_covering(i);
        if (!covering.empty()) {
            names.insert(std::string(covering.front()->name));
        }
    }
    return {names.begin(), names.end()};
}

std::vector<std::string> roles_exported(const std::vector<std::string>& exports) {
    std::vector<std::string> roles;
    for (const auto& info : kRoles) {
        for (const auto& e : exports) {
            if (exports_role(e, info.role)) {
                roles.push_back(fmt::format("{} ({})", info.name, info.world));
                break;
            }
        }
    }
    return roles;
}

int inspect_component_at(const InspectArgs& args, const Diagnostics& diag) {
    std::ifstream in(args.what, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    const std::string bytes = s.str();
    if (!in) {
        diag.error(Error(ErrorCode::io, fmt::format("cannot read {}", args.what)));
        return kExitInvalid;
    }
    auto facts =
        inspect_component({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
    if (!facts) {
        Error e = facts.error();
        e.where = args.what;
        diag.error(e);
        return kExitInvalid;
    }
    const auto& f = facts.value();
    const nlohmann::json j = {{"file", args.what},
                              {"digest", oci::digest_of(bytes)},
                              {"size", bytes.size()},
                              {"language", f.language},
                              {"roles", roles_exported(f.interfaces.exports)},
                              {"exports", f.interfaces.exports},
                              {"imports", f.interfaces.imports},
                              {"capabilities", needed_capabilities(f.interfaces.imports)}};
    if (args.json) {
        fmt::print("{}\n", j.dump(2));
        return kExitOk;
    }
    fmt::print("component {}\n  digest       {}\n  size         {} bytes\n", args.what,
               j["digest"].get<std::string>(), bytes.size());
    fmt::print("  language     {}\n", f.language.empty() ? "(not recorded)" : f.language);
    fmt::print("  role         {}\n", fmt::join(roles_exported(f.interfaces.exports), ", "));
    fmt::print("  exports      {}\n", fmt::join(f.interfaces.exports, ", "));
    fmt::print("  imports      {}\n", fmt::join(f.interfaces.imports, ", "));
    const auto caps = needed_capabilities(f.interfaces.imports);
    fmt::print("  capabilities {}\n",
               caps.empty() ? "none (pure computation)" : fmt::format("{}", fmt::join(caps, ", ")));
    return kExitOk;
}

// `registry`: where the pipeline was published (its signatures are counted).
int inspect_pipeline(const InspectArgs& args, const Diagnostics& diag,
                     const oci::LayoutReference& ref,
                     const std::optional<oci::Reference>& registry = std::nullopt) {
    auto store = oci::Store::open_existing(ref.dir);
    if (!store) {
        diag.error(store.error());
        return kExitInvalid;
    }
    nlohmann::json out = nlohmann::json::array();
    for (const auto& entry : store->entries()) {
        const auto tag = entry.annotations.count(std::string(oci::kRefName)) != 0
                             ? entry.annotations.at(std::string(oci::kRefName))
                             : std::string();
        if (!ref.tag.empty() && tag != ref.tag) {
            continue;
        }
        auto materialized = oci::materialize(*store, entry);
        if (!materialized) {
            diag.error(materialized.error());
            return kExitInvalid;
        }
        auto index = store->get(entry.digest);
        const auto idx = nlohmann::json::parse(index.value());
        nlohmann::json components = nlohmann::json::array();
        for (const auto& m : idx["manifests"]) {
            const auto manifest = nlohmann::json::parse(store->get(m["digest"]).value());
            if (manifest["config"].value("mediaType", "") != oci::kWasmConfigType) {
                continue;  // the pipeline's own manifest
            }
            const auto config =
                nlohmann::json::parse(store->get(manifest["config"]["digest"]).value());
            const auto& layer = manifest["layers"][0];
            components.push_back(
                {{"file", layer["annotations"].value(std::string(oci::kTitle), "")},
                 {"manifest", m["digest"]},
                 {"wasm", layer["digest"]},
                 {"size", layer["size"]},
                 {"imports", config["component"]["imports"]},
                 {"capabilities",
                  needed_capabilities(
                      config["component"]["imports"].get<std::vector<std::string>>())}});
        }
        const auto load = load_manifest(materialized->manifest, &connector_node_kinds());
        nlohmann::json flows = nlohmann::json::array();
        for (const auto& flow : load.manifest.flows) {
            nlohmann::json nodes = nlohmann::json::array();
            for (const auto& n : flow.nodes) {
                nodes.push_back({{"name", n.name},
                                 {"role", role_name(n.role)},
                                 {"component", n.component},
                                 {"grants", n.capabilities}});
            }
            flows.push_back({{"name", flow.name}, {"nodes", nodes}});
        }
        nlohmann::json signatures = nullptr;  // unknown: not from a registry
        if (registry) {
            oci::Registry client(*registry, {});
            auto verdict = oci::check_signatures(client, *store, *registry, entry.digest, {});
            if (!verdict) {
                diag.error(verdict.error());
                return kExitRunFailed;
            }
            signatures = verdict->signatures;
        }
        out.push_back({{"tag", tag},
                       {"digest", entry.digest},
                       {"signatures", signatures},
                       {"annotations", idx.value("annotations", nlohmann::json::object())},
                       {"flows", flows},
                       {"components", components}});
    }
    if (out.empty()) {
        diag.error(Error(ErrorCode::oci_not_found,
                         fmt::format("{} has no '{}'", ref.dir.string(), ref.tag)));
        return kExitInvalid;
    }
    if (args.json) {
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    for (const auto& p : out) {
        const auto& a = p["annotations"];
        fmt::print("pipeline {} {} ({})\n  digest  {}\n", a.value(std::string(oci::kTitle), "?"),
                   a.value(std::string(oci::kVersionAnnotation), "?"), p["tag"].get<std::string>(),
                   p["digest"].get<std::string>());
        if (!p["signatures"].is_null()) {
            const auto n = p["signatures"].get<std::size_t>();
            fmt::print("  signed  {}\n",
                       n == 0 ? std::string("no (unsigned)")
                              : fmt::format("{} signature(s) under {}", n,
                                            oci::signature_tag(p["digest"].get<std::string>())));
        }
        for (const auto& f : p["flows"]) {
            fmt::print("  flow {}\n", f["name"].get<std::string>());
            for (const auto& n : f["nodes"]) {
                fmt::print("    {:<14} {:<10} {}  grants: {}\n", n["name"].get<std::string>(),
                           n["role"].get<std::string>(),
                           n["component"].get<std::string>().substr(0, 19),
                           n["grants"].empty() ? "none" : n["grants"].dump());
            }
        }
        for (const auto& c : p["components"]) {
            fmt::print("  component {:<24} {} bytes, needs {}\n", c["file"].get<std::string>(),
                       c["size"].get<std::uint64_t>(),
                       c["capabilities"].empty() ? "nothing" : c["capabilities"].dump());
        }
    }
    return kExitOk;
}

int inspect(const InspectArgs& args) {
    const Diagnostics diag;
    if (auto layout = oci::layout_reference(args.what)) {
        return inspect_pipeline(args, diag, *layout);
    }
    std::error_code ec;
    if (oci::looks_like_reference(args.what) && !std::filesystem::exists(args.what, ec)) {
        auto reference = oci::parse_reference(args.what);
        if (!reference) {
            diag.error(reference.error());
            return kExitInvalid;
        }
        // Into the local store (or from it), every digest checked.
        if (auto pulled = manifest_of(args.what); !pulled) {
            diag.error(pulled.error());
            return kExitInvalid;
        }
        return inspect_pipeline(args, diag, {oci::default_store_dir(), reference->text()},
                                *reference);
    }
    return inspect_component_at(args, diag);
}

}  // namespace

std::function<int()> define_inspect(CLI::App& command) {
    auto args = std::make_shared<InspectArgs>();
    command
        .add_option("what", args->what,
                    "A component (.wasm), or a packed pipeline (DIR, oci:DIR[:TAG])")
        ->required();
    command.add_flag("--json", args->json, "Machine-readable output");
    return [args] { return inspect(*args); };
}

}  // namespace torvyn::cli
