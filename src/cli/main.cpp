// torvyn — the command-line front end: a table of verbs, one file each
// (check.cpp, link.cpp, run.cpp, bench.cpp, init.cpp). Exit codes: common.hpp.
#include <sys/resource.h>

#include <algorithm>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/version.hpp"

namespace torvyn::cli {

std::function<int()> define_check(CLI::App& command);
std::function<int()> define_link(CLI::App& command);
std::function<int()> define_run(CLI::App& command);
std::function<int()> define_bench(CLI::App& command);
std::function<int()> define_init(CLI::App& command);
std::function<int()> define_trace(CLI::App& command);
std::function<int()> define_pack(CLI::App& command);
std::function<int()> define_inspect(CLI::App& command);
std::function<int()> define_keygen(CLI::App& command);
std::function<int()> define_sign(CLI::App& command);
std::function<int()> define_publish(CLI::App& command);
std::function<int()> define_pull(CLI::App& command);
std::function<int()> define_serve(CLI::App& command);
std::function<int()> define_deploy(CLI::App& command);
std::function<int()> define_ps(CLI::App& command);
std::function<int()> define_stop(CLI::App& command);
std::function<int()> define_logs(CLI::App& command);
std::function<int()> define_upgrade(CLI::App& command);
std::function<int()> define_rollback(CLI::App& command);

namespace {

// To add a verb: a file defining define_<verb>, and a row here.
const Verb kVerbs[] = {
    {"check", "Validate a manifest (all problems at once) and the project's WIT", define_check},
    {"link", "Check, then inspect and link every component against its role and grants",
     define_link},
    {"run", "Link, then run the flows of a manifest", define_run},
    {"trace", "Run the flows tracing their elements; write a trace for Perfetto", define_trace},
    {"pack", "Write the pipeline and its components as OCI artifacts (an OCI image layout)",
     define_pack},
    {"inspect", "Say what a component or a packed pipeline is: role, interfaces, capabilities",
     define_inspect},
    {"keygen", "Make a P-256 key pair for signing pipelines (cosign-compatible)", define_keygen},
    {"sign", "Sign a published pipeline in its registry, as cosign does (key mode)", define_sign},
    {"publish", "Push the pipeline and its components to an OCI registry", define_publish},
    {"pull", "Fetch a published pipeline into the local store (run REF then needs no network)",
     define_pull},
    {"serve", "Run the node agent: deployed pipelines, their admin API, metrics and live page",
     define_serve},
    {"deploy", "Ask the agent to run a pipeline (reference, folder or layout) with your grants",
     define_deploy},
    {"ps", "List the agent's deployments and what they are doing", define_ps},
    {"stop", "Drain and stop a deployment (--remove: and forget it)", define_stop},
    {"logs", "Show a deployment's log: lifecycle, failures, its components' stderr", define_logs},
    {"upgrade", "Run a new version of a deployment without losing an element", define_upgrade},
    {"rollback", "Return a deployment to the version before its last upgrade", define_rollback},
    {"bench", "Run flows with a warm-up and report throughput, latency, cost, copies, memory",
     define_bench},
    {"init", "Create a project: one component (language, role) in a flow that runs as made",
     define_init},
};

// Granted nodes hold sockets and files, each a descriptor of this process
// (at most limits::kMaxWasiResources per node): use all the descriptors the
// system allows, not the conservative soft limit.
void raise_descriptor_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

}  // namespace
}  // namespace torvyn::cli

int main(int argc, char** argv) {
    using namespace torvyn::cli;
    raise_descriptor_limit();
    CLI::App app{"Torvyn: ownership-aware streaming pipelines of sandboxed WebAssembly components"};
    app.require_subcommand(1);
    app.set_version_flag("--version", fmt::format("torvyn {} (wasmtime {})", torvyn::kVersion,
                                                  torvyn::Runtime::wasmtime_version()));
    std::vector<std::pair<CLI::App*, std::function<int()>>> verbs;
    for (const Verb& verb : kVerbs) {
        CLI::App* command = app.add_subcommand(std::string(verb.name), std::string(verb.summary));
        verbs.emplace_back(command, verb.define(*command));
    }
    // An unknown verb: say so, and name the verbs there are (CLI11 would say
    // only that a subcommand is required).
    if (argc > 1 && argv[1][0] != '-' &&
        std::none_of(std::begin(kVerbs), std::end(kVerbs),
                     [&](const Verb& v) { return v.name == argv[1]; })) {
        std::string known;
        for (const Verb& v : kVerbs) {
            known += fmt::format("{}{}", known.empty() ? "" : ", ", v.name);
        }
        fmt::print(
            stderr, "torvyn: {}\n",
            torvyn::Error(torvyn::ErrorCode::usage, fmt::format("unknown command '{}'", argv[1]),
                          {}, fmt::format("the commands are: {} (torvyn --help)", known))
                .format());
        return kExitInvalid;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e);
        }
        fmt::print(
            stderr, "torvyn: {}\n",
            torvyn::Error(torvyn::ErrorCode::usage, e.what(), {}, "see torvyn --help").format());
        return kExitInvalid;
    }
    for (const auto& [command, run] : verbs) {
        if (*command) {
            return run();
        }
    }
    return kExitInvalid;
}
