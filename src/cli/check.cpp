// torvyn check: the manifest's schema and the project's WIT, without
// touching any component.
#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/observability/report.hpp"

namespace torvyn::cli {
namespace {

struct CheckArgs : CommonArgs {
    std::string wit_dir;
};

int check(const CheckArgs& args) {
    const Diagnostics diag;
    std::vector<Error> errors;
    auto manifest = load_checked(args, diag, &errors);
    std::filesystem::path wit = args.wit_dir;
    if (wit.empty() && manifest) {
        wit = manifest->path.parent_path() / "wit";
    }
    std::error_code ec;
    const bool check_wit = !wit.empty() && std::filesystem::is_directory(wit, ec);
    if (!args.wit_dir.empty() && !check_wit) {
        errors.emplace_back(ErrorCode::wit_invalid,
                            fmt::format("WIT folder {} does not exist", wit.string()), "",
                            "pass --wit DIR with the project's WIT package");
    } else if (check_wit) {
        if (auto s = torvyn::check_wit(wit); !s) {
            errors.push_back(s.error());
        }
    }
    std::size_t nodes = 0;
    std::size_t flows = 0;
    if (manifest) {
        for (const auto* f : selected_flows(*manifest, args)) {
            ++flows;
            nodes += f->nodes.size();
        }
    }
    if (args.json) {
        nlohmann::json j = {{"ok", errors.empty()},
                            {"flows", flows},
                            {"nodes", nodes},
                            {"wit", check_wit ? wit.string() : ""}};
        if (!check_wit) {
            j["wit_skipped"] = fmt::format("no folder {}", wit.string());
        }
        auto& ej = j["errors"] = nlohmann::json::array();
        for (const auto& e : errors) {
            ej.push_back(error_json(e));
        }
        j["warnings"] = nlohmann::json::array();
        fmt::print("{}\n", j.dump(2));
    } else {
        for (const auto& e : errors) {
            diag.error(e);
        }
        if (errors.empty()) {
            fmt::print(stderr, "{}: {} flow(s), {} node(s){}\n", diag.ok("check ok"), flows, nodes,
                       check_wit ? fmt::format(", WIT in {}", wit.string())
                                 : fmt::format("; WIT not checked: no folder {} (--wit DIR "
                                               "checks another)",
                                               wit.string()));
        } else {
            fmt::print(stderr, "check: {} error(s)\n", errors.size());
        }
    }
    return errors.empty() ? kExitOk : kExitInvalid;
}

}  // namespace

std::function<int()> define_check(CLI::App& command) {
    auto args = std::make_shared<CheckArgs>();
    add_common(command, *args, false);
    command.add_option("--wit", args->wit_dir,
                       "WIT folder to validate (default: ./wit beside the manifest)");
    command.add_flag("--json", args->json, "Machine-readable output on stdout");
    return [args] { return check(*args); };
}

}  // namespace torvyn::cli
