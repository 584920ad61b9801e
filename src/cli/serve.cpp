// torvyn serve: the node agent. Holds deployed pipelines (state in
// --state-dir), brings the running ones back when it starts, and answers the
// admin API (/v1), the deployed flows' metrics (/metrics) and live page (/)
// until SIGINT or SIGTERM; then it stops the flows, which it will bring back.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/serve/admin_api.hpp"
#include "torvyn/serve/agent.hpp"

namespace torvyn::cli {
namespace {

struct ServeArgs {
    std::string listen = "127.0.0.1:7311";
    std::string state_dir;
    std::string token_file;
    std::string tls_cert;
    std::string tls_key;
    std::vector<std::string> component_path;
    std::string cache_dir;
    bool no_cache = false;
};

std::filesystem::path default_state_dir() {
    if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && *x != '\0') {
        return std::filesystem::path(x) / "torvyn" / "serve";
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        return std::filesystem::path(h) / ".local" / "state" / "torvyn" / "serve";
    }
    return "torvyn-serve";
}

int serve(const ServeArgs& args) {
    SignalWatcher signals;  // before any thread: every thread inherits the mask
    const Diagnostics diag;
    auto at = parse_listen_address(args.listen, "--listen");
    if (!at) {
        diag.error(at.error());
        return kExitInvalid;
    }
    serve::AdminOptions admin;
    admin.at = *at;
    admin.tls_cert = args.tls_cert;
    admin.tls_key = args.tls_key;
    if (!args.token_file.empty()) {
        std::ifstream in(args.token_file);
        std::ostringstream s;
        s << in.rdbuf();
        admin.token = s.str();
        while (!admin.token.empty() &&
               std::isspace(static_cast<unsigned char>(admin.token.back()))) {
            admin.token.pop_back();
        }
        if (!in || admin.token.size() < 16) {
            diag.error(Error(ErrorCode::unauthorized,
                             fmt::format("{}: no token of at least 16 characters", args.token_file),
                             "--token-file",
                             "write a secret into it: openssl rand -hex 32 > FILE"));
            return kExitInvalid;
        }
    }
    serve::AgentOptions options;
    options.state_dir =
        args.state_dir.empty() ? default_state_dir() : std::filesystem::path(args.state_dir);
    CommonArgs common;
    common.component_path = args.component_path;
    options.component_path = cli::component_path(common);
    if (!args.no_cache) {
        options.cache_dir =
            args.cache_dir.empty() ? default_cache_dir() : std::filesystem::path(args.cache_dir);
    }
    const auto started = std::chrono::steady_clock::now();
    auto agent = serve::Agent::open(options);
    if (!agent) {
        diag.error(agent.error());
        return kExitInvalid;
    }
    auto server = serve::AdminServer::start(**agent, admin);
    if (!server) {
        diag.error(server.error());
        return kExitInvalid;
    }
    const double ready_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // Where clients find it (and tests wait for it): written once it answers.
    {
        const auto file = options.state_dir / "agent.json";
        std::ofstream out(file.string() + ".tmp");
        out << nlohmann::json{{"url", server.value()->url()}, {"pid", ::getpid()}}.dump() << '\n';
        out.close();
        std::error_code ec;
        std::filesystem::rename(file.string() + ".tmp", file, ec);
    }
    fmt::print(stderr,
               "torvyn serve: admin API at {}/v1, metrics at {}/metrics, live page at {}/ "
               "(state {}; ready in {:.0f} ms)\n",
               server.value()->url(), server.value()->url(), server.value()->url(),
               options.state_dir.string(), ready_ms);
    while (signals.stop()->load() == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    fmt::print(stderr,
               "torvyn serve: stopping (the running deployments come back on the next "
               "start)\n");
    server.value().reset();
    agent.value().reset();
    std::error_code ec;
    std::filesystem::remove(options.state_dir / "agent.json", ec);
    return kExitOk;
}

}  // namespace

std::function<int()> define_serve(CLI::App& command) {
    auto args = std::make_shared<ServeArgs>();
    command.add_option("--listen", args->listen,
                       "Where the admin API, metrics and live page listen (ADDR:PORT; a token is "
                       "required off loopback)");
    command.add_option("--state-dir", args->state_dir,
                       "The agent's state: deployments (state.db), logs "
                       "(default: $XDG_STATE_HOME/torvyn/serve)");
    command.add_option("--token-file", args->token_file,
                       "A file holding the bearer token every /v1 request must show");
    command.add_option("--tls-cert", args->tls_cert, "Serve HTTPS with this certificate (PEM)");
    command.add_option("--tls-key", args->tls_key, "... and this private key (PEM)");
    command.add_option("--component-path,-L", args->component_path,
                       "Folders where components named by file are looked for");
    command.add_option("--cache-dir", args->cache_dir, "Where compiled components are cached");
    command.add_flag("--no-cache", args->no_cache, "Compile every component, cache nothing");
    return [args] { return serve(*args); };
}

}  // namespace torvyn::cli
