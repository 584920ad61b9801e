// torvyn link: check, then find, compile and inspect every component and
// link it against its grants. Nothing is instantiated.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common.hpp"
#include "torvyn/observability/report.hpp"
#include "torvyn/reactor/link.hpp"

namespace torvyn::cli {
namespace {

int link(const CommonArgs& args) {
    const Diagnostics diag;
    std::vector<Error> errors;
    std::vector<Error> warnings;
    auto manifest = load_checked(args, diag, &errors);
    nlohmann::json flows_json = nlohmann::json::array();
    if (manifest) {
        auto runtime = make_runtime(args, *manifest);
        if (!runtime) {
            diag.error(runtime.error());
            return kExitInvalid;
        }
        LinkContext ctx{runtime.value().get(), &*manifest, component_path(args), nullptr};
        for (const auto* f : selected_flows(*manifest, args)) {
            FlowLink fl = link_flow(ctx, *f);
            nlohmann::json fj = {{"flow", f->name}, {"nodes", nlohmann::json::array()}};
            if (!args.json) {
                fmt::print("flow '{}'\n", f->name);
            }
            for (std::size_t i = 0; i < f->nodes.size(); ++i) {
                const auto& spec = f->nodes[i];
                const auto& ln = fl.nodes[i];
                if (spec.is_connector()) {
                    // Host code: what link found instead of a component.
                    fj["nodes"].push_back({{"name", spec.name},
                                           {"role", role_name(spec.role)},
                                           {"linked", !ln.connector.empty()},
                                           {"kind", spec.kind},
                                           {"connector", ln.connector}});
                    if (!args.json) {
                        fmt::print("  {:<14} {:<10} {} connector{}\n", spec.name,
                                   role_name(spec.role), spec.kind,
                                   ln.connector.empty() ? " (not linked)" : "");
                        if (!ln.connector.empty()) {
                            fmt::print("  {:<25} {}\n", "", ln.connector);
                        }
                    }
                    continue;
                }
                fj["nodes"].push_back({{"name", spec.name},
                                       {"role", role_name(spec.role)},
                                       {"linked", ln.prepared != nullptr},
                                       {"component", ln.file.string()},
                                       {"sha256", ln.load.digest},
                                       {"language", ln.facts.language},
                                       {"pool",
                                        {{"core_instances", ln.facts.pool.core_instances},
                                         {"memories", ln.facts.pool.memories},
                                         {"tables", ln.facts.pool.tables}}},
                                       {"imports", ln.facts.interfaces.imports},
                                       {"exports", ln.facts.interfaces.exports},
                                       {"grants", ln.grants},
                                       {"stubbed", ln.stubbed}});
                if (!args.json) {
                    fmt::print("  {:<14} {:<10} {}{}\n", spec.name, role_name(spec.role),
                               ln.prepared ? ln.file.filename().string() : "(not linked)",
                               ln.prepared && !ln.facts.language.empty()
                                   ? fmt::format(" ({})", ln.facts.language)
                                   : "");
                    if (ln.prepared) {
                        fmt::print("  {:<25} imports: {}\n", "",
                                   fmt::join(ln.facts.interfaces.imports, ", "));
                        fmt::print("  {:<25} grants:  {}\n", "",
                                   ln.grants.empty()
                                       ? "none (pure computation)"
                                       : fmt::format("{}", fmt::join(ln.grants, ", ")));
                        if (!ln.stubbed.empty()) {
                            fmt::print(
                                "  {:<25} stubbed: {} (ungranted-imports = \"deny\": every "
                                "call fails)\n",
                                "", fmt::join(ln.stubbed, ", "));
                        }
                    }
                }
            }
            flows_json.push_back(std::move(fj));
            for (auto& e : fl.errors) {
                errors.push_back(std::move(e));
            }
            for (auto& w : fl.warnings) {
                warnings.push_back(std::move(w));
            }
        }
    }
    if (args.json) {
        nlohmann::json j = {{"ok", errors.empty()}, {"flows", flows_json}};
        auto& ej = j["errors"] = nlohmann::json::array();
        for (const auto& e : errors) {
            ej.push_back(error_json(e));
        }
        auto& wj = j["warnings"] = nlohmann::json::array();
        for (const auto& w : warnings) {
            wj.push_back(error_json(w));
        }
        fmt::print("{}\n", j.dump(2));
    } else {
        for (const auto& e : errors) {
            diag.error(e);
        }
        for (const auto& w : warnings) {
            diag.warning(w);
        }
        fmt::print(stderr, "{}\n",
                   errors.empty() ? diag.ok(fmt::format("link ok ({} warning(s))", warnings.size()))
                                  : fmt::format("link: {} error(s), {} warning(s)", errors.size(),
                                                warnings.size()));
    }
    return errors.empty() ? kExitOk : kExitInvalid;
}

}  // namespace

std::function<int()> define_link(CLI::App& command) {
    auto args = std::make_shared<CommonArgs>();
    add_common(command, *args, true);
    command.add_flag("--json", args->json, "Machine-readable output on stdout");
    return [args] { return link(*args); };
}

}  // namespace torvyn::cli
