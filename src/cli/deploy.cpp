// torvyn deploy SOURCE: asks the agent (torvyn serve) to run a pipeline — a
// registry reference, a folder or a packed layout — with the operator's
// grants (never the artifact's).
#include <fstream>

#include <fmt/format.h>

#include "agent_client.hpp"

namespace torvyn::cli {
namespace {

struct DeployArgs : AgentArgs {
    std::string source;
    std::string name;
    std::vector<std::string> grant;  // NODE=CAP[,CAP]
    std::vector<std::string> grant_env;
    std::vector<std::string> grant_connect;
    std::vector<std::string> grant_dir;  // NODE=HOST:GUEST[:rw]
    std::string grants_file;
    std::vector<std::string> trust;
};

// The name a deployment gets from its source: the folder's, or the
// repository's last part.
std::string default_name(const std::string& source) {
    std::string s = source;
    if (const auto at = s.find('@'); at != std::string::npos) {
        s = s.substr(0, at);
    }
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    if (s.size() > 11 && s.substr(s.size() - 11) == "Torvyn.toml") {
        s = std::filesystem::path(s).parent_path().string();
    }
    std::string last = s.substr(s.rfind('/') == std::string::npos ? 0 : s.rfind('/') + 1);
    if (const auto colon = last.find(':'); colon != std::string::npos) {
        last = last.substr(0, colon);
    }
    std::string out;
    for (char c : last) {
        const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        out += (std::isalnum(static_cast<unsigned char>(l)) != 0 || l == '-' || l == '_') ? l : '-';
    }
    return out.empty() ? "pipeline" : out;
}

std::optional<Error> add_grants(nlohmann::json& grants, const std::vector<std::string>& specs,
                                const char* field, const char* option) {
    for (const auto& spec : specs) {
        const auto eq = spec.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
            return Error(ErrorCode::usage, fmt::format("'{}' is not NODE=VALUE", spec), option,
                         fmt::format("e.g. {} printer=stdout", option));
        }
        const std::string node = spec.substr(0, eq);
        std::string value = spec.substr(eq + 1);
        nlohmann::json& g = grants[node];
        if (std::string_view(field) == "dirs") {
            // HOST:GUEST[:rw]
            const auto colon = value.find(':');
            if (colon == std::string::npos) {
                return Error(ErrorCode::usage,
                             fmt::format("'{}' is not NODE=HOST:GUEST[:rw]", spec), option);
            }
            std::string guest = value.substr(colon + 1);
            bool writable = false;
            if (guest.size() > 3 && guest.substr(guest.size() - 3) == ":rw") {
                writable = true;
                guest.resize(guest.size() - 3);
            }
            g["dirs"].push_back({{"host", source_for_agent(value.substr(0, colon))},
                                 {"guest", guest},
                                 {"writable", writable}});
            continue;
        }
        std::size_t start = 0;
        while (start <= value.size()) {
            const auto comma = value.find(',', start);
            const std::string one =
                value.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            if (!one.empty()) {
                g[field].push_back(one);
            }
            if (comma == std::string::npos) {
                break;
            }
            start = comma + 1;
        }
    }
    return std::nullopt;
}

int deploy(const DeployArgs& args) {
    const Diagnostics diag;
    nlohmann::json grants = nlohmann::json::object();
    if (!args.grants_file.empty()) {
        std::ifstream in(args.grants_file);
        grants = nlohmann::json::parse(in, nullptr, false);
        if (!in || grants.is_discarded() || !grants.is_object()) {
            diag.error(Error(ErrorCode::usage,
                             fmt::format("{} is not a JSON object of grants", args.grants_file),
                             "--grants", "docs/serve.md shows the grants file"));
            return kExitInvalid;
        }
    }
    for (const auto& [specs, field, option] :
         {std::tuple{&args.grant, "capabilities", "--grant"},
          std::tuple{&args.grant_env, "env", "--grant-env"},
          std::tuple{&args.grant_connect, "connect", "--grant-connect"},
          std::tuple{&args.grant_dir, "dirs", "--grant-dir"}}) {
        if (auto e = add_grants(grants, *specs, field, option)) {
            diag.error(*e);
            return kExitInvalid;
        }
    }
    nlohmann::json body = {{"name", args.name.empty() ? default_name(args.source) : args.name},
                           {"source", source_for_agent(args.source)},
                           {"grants", grants}};
    if (!args.trust.empty()) {
        nlohmann::json keys = nlohmann::json::array();
        for (const auto& k : args.trust) {
            keys.push_back(source_for_agent(k));
        }
        body["trust"] = keys;
    }
    return request_and_show(args, "POST", "/v1/deployments", &body, [](const nlohmann::json& j) {
        fmt::print("deployed {} ({}): {} flow(s) running\n  source {}\n", j.value("name", ""),
                   j.value("digest", ""), j.value("flows", nlohmann::json::array()).size(),
                   j.value("source", ""));
    });
}

}  // namespace

std::function<int()> define_deploy(CLI::App& command) {
    auto args = std::make_shared<DeployArgs>();
    command
        .add_option("source", args->source,
                    "A registry reference, a pipeline folder or Torvyn.toml, or a packed "
                    "layout (oci:DIR[:TAG])")
        ->required();
    command.add_option("--name", args->name, "The deployment's name (default: from the source)");
    command.add_option("--grant", args->grant,
                       "NODE=CAPABILITY[,CAPABILITY]: a named capability for a node (stdout, "
                       "stderr, clock, random, ...)");
    command.add_option("--grant-env", args->grant_env, "NODE=VAR: a host environment value");
    command.add_option("--grant-connect", args->grant_connect, "NODE=HOST:PORT: an address");
    command.add_option("--grant-dir", args->grant_dir, "NODE=HOST_DIR:GUEST_DIR[:rw]: a folder");
    command.add_option("--grants", args->grants_file, "A JSON file of grants (docs/serve.md)");
    command.add_option("--trust", args->trust,
                       "A public key the pipeline must be signed with (registry references)");
    add_agent_options(command, *args);
    return [args] { return deploy(*args); };
}

}  // namespace torvyn::cli
