#include "live.hpp"

#include <fmt/format.h>

namespace torvyn::cli {

void add_live_options(CLI::App& command, LiveArgs& args) {
    command.add_option("--metrics", args.metrics,
                       "Serve Prometheus metrics at http://ADDR:PORT/metrics while the flows run "
                       "(port 0: any free port; docs/observe.md)");
    command.add_option("--ui", args.ui,
                       "Serve the live page at http://ADDR:PORT/ while the flows run (may be "
                       "the --metrics address)");
}

Result<std::unique_ptr<LiveRun>> LiveRun::start(const LiveArgs& args) {
    std::unique_ptr<LiveRun> run(new LiveRun());
    struct Wanted {
        std::string option;
        ListenAddress at;
        LiveEndpoints endpoints;
    };
    std::vector<Wanted> wanted;
    const auto want = [&](const std::string& text, const char* option,
                          bool LiveEndpoints::*endpoint) -> std::optional<Error> {
        if (text.empty()) {
            return std::nullopt;
        }
        auto at = parse_listen_address(text, option);
        if (!at) {
            return at.error();
        }
        for (Wanted& w : wanted) {
            // The same address named twice: one server answers both.
            if (w.at.host == at->host && w.at.port == at->port) {
                w.endpoints.*endpoint = true;
                w.option += fmt::format(" and {}", option);
                return std::nullopt;
            }
        }
        Wanted w{option, *at, {}};
        w.endpoints.*endpoint = true;
        wanted.push_back(std::move(w));
        return std::nullopt;
    };
    if (auto e = want(args.metrics, "--metrics", &LiveEndpoints::metrics)) {
        return *e;
    }
    if (auto e = want(args.ui, "--ui", &LiveEndpoints::page)) {
        return *e;
    }
    for (const Wanted& w : wanted) {
        auto server = LiveServer::start(w.at, w.endpoints, run->registry_);
        if (!server) {
            Error e = server.error();
            e.where = w.option;
            return e;
        }
        const std::string url = server.value()->url();
        if (w.endpoints.metrics) {
            fmt::print(stderr, "torvyn: metrics at {}/metrics\n", url);
        }
        if (w.endpoints.page) {
            fmt::print(stderr, "torvyn: live page at {}/\n", url);
        }
        run->servers_.push_back(std::move(server).value());
    }
    return run;
}

void LiveRun::add_flows(const std::vector<const FlowSpec*>& flows) {
    for (const FlowSpec* f : flows) {
        flows_.push_back(registry_.add(f->name, f->max_buffer_memory));
    }
}

void LiveRun::track(std::size_t i, const Flow& flow) {
    flows_.at(i)->track([&flow] { return flow.progress(); });
}

}  // namespace torvyn::cli
