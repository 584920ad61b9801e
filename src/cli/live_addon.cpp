#include "live_addon.hpp"

#include <fmt/format.h>

namespace torvyn::cli {

void LiveAddOn::add_options(CLI::App& command) {
    command.add_option("--metrics", metrics_,
                       "Serve Prometheus metrics at http://ADDR:PORT/metrics while the flows run "
                       "(port 0: any free port; docs/observe.md)");
    command.add_option("--ui", ui_,
                       "Serve the live page at http://ADDR:PORT/ while the flows run (may be "
                       "the --metrics address)");
}

std::optional<Error> LiveAddOn::open(RunContext& run) {
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
    if (auto e = want(metrics_, "--metrics", &LiveEndpoints::metrics)) {
        return *e;
    }
    if (auto e = want(ui_, "--ui", &LiveEndpoints::page)) {
        return *e;
    }
    for (const Wanted& w : wanted) {
        auto server = LiveServer::start(w.at, w.endpoints, registry_);
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
        servers_.push_back(std::move(server).value());
    }
    for (const FlowSpec* f : run.selected) {
        flows_.push_back(registry_.add(f->name, f->max_buffer_memory));
    }
    return std::nullopt;
}

void LiveAddOn::linked(std::size_t flow, const Flow& linked_flow) {
    flows_.at(flow)->track([&linked_flow] { return linked_flow.progress(); });
}

std::unique_ptr<RunAddOn> make_live_addon() {
    return std::make_unique<LiveAddOn>();
}

}  // namespace torvyn::cli
