// The live endpoints on cpp-httplib: a listening socket bound before
// anything runs (so a taken port fails the command at once), and a small
// thread pool of its own.
#include "torvyn/observability/live_server.hpp"

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include "torvyn/observability/http_routes.hpp"

#include "torvyn/observability/metrics.hpp"

namespace torvyn {
namespace {

// Scrapes and the page's polls are small and rare: two threads answer them.
constexpr std::size_t kServerThreads = 2;

Error bad_address(std::string_view text, std::string_view option, std::string_view why) {
    return Error(
        ErrorCode::listen_address, fmt::format("'{}': {}", text, why), std::string(option),
        fmt::format("write ADDR:PORT, e.g. {} 127.0.0.1:9464 (port 0: any free port)", option));
}

}  // namespace

Result<ListenAddress> parse_listen_address(std::string_view text, std::string_view option) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        return bad_address(text, option, "no ':PORT'");
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port = text.substr(colon + 1);
    ListenAddress out;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || out.port < 0 ||
        out.port > 65535) {
        return bad_address(text, option, fmt::format("'{}' is not a port (0 to 65535)", port));
    }
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);  // [::1]
    } else if (host.find(':') != std::string_view::npos) {
        return bad_address(text, option, "an IPv6 address goes in brackets: [::1]:PORT");
    }
    out.host = host.empty() ? "0.0.0.0" : std::string(host);
    return out;
}

struct LiveServer::Impl {
    httplib::Server http;
    std::string host;
    int port = 0;
    std::thread thread;
};

LiveServer::LiveServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LiveServer::~LiveServer() {
    impl_->http.stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

int LiveServer::port() const {
    return impl_->port;
}

std::string LiveServer::url() const {
    const bool v6 = impl_->host.find(':') != std::string::npos;
    return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", impl_->host, v6 ? "]" : "", impl_->port);
}

void add_live_routes(httplib::Server& http, LiveEndpoints endpoints, const LiveRegistry& registry) {
    const auto no_store = [](httplib::Response& res) {
        res.set_header("Cache-Control", "no-store");
    };
    if (endpoints.metrics) {
        http.Get("/metrics",
                 [&registry, no_store](const httplib::Request&, httplib::Response& res) {
                     no_store(res);
                     res.set_content(metrics_text(registry), kMetricsContentType);
                 });
    }
    if (endpoints.page) {
        http.Get("/", [](const httplib::Request&, httplib::Response& res) {
            const std::string_view page = live_page_html();
            res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
        });
        http.Get(
            "/api/flows", [&registry, no_store](const httplib::Request&, httplib::Response& res) {
                no_store(res);
                // Guest messages may hold invalid UTF-8: replaced, not thrown.
                res.set_content(flows_json(registry.snapshot())
                                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                                "application/json");
            });
    }
}

Result<int> bind_server(httplib::Server& http, const ListenAddress& at) {
    http.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    });
    errno = 0;
    int port = -1;
    if (at.port == 0) {
        port = http.bind_to_any_port(at.host);
    } else {
        port = http.bind_to_port(at.host, at.port) ? at.port : -1;
    }
    if (port < 0) {
        const int err = errno;
        const std::string address = fmt::format("{}:{}", at.host, at.port);
        return Error(ErrorCode::listen_failed,
                     fmt::format("cannot listen at {}{}", address,
                                 err != 0 ? fmt::format(": {}", std::strerror(err)) : ""),
                     {},
                     "pick a free port (ss -ltn lists the taken ones) or port 0 for any free "
                     "one, on an address of this machine (127.0.0.1: this machine only)");
    }
    return port;
}

std::thread serve_bound(httplib::Server& http) {
    std::thread thread([&http] { http.listen_after_bind(); });
    // stop() only stops a server that is running: wait until it is, so the
    // owner never waits on a loop that has not seen the stop.
    for (int i = 0; i < 2000 && !http.is_running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return thread;
}

Result<std::unique_ptr<LiveServer>> LiveServer::start(const ListenAddress& at,
                                                      LiveEndpoints endpoints,
                                                      const LiveRegistry& registry) {
    auto impl = std::make_unique<Impl>();
    httplib::Server& http = impl->http;
    http.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
    add_live_routes(http, endpoints, registry);
    impl->host = at.host;
    auto port = bind_server(http, at);
    if (!port) {
        return port.error();
    }
    impl->port = *port;
    impl->thread = serve_bound(http);
    return std::unique_ptr<LiveServer>(new LiveServer(std::move(impl)));
}

}  // namespace torvyn
