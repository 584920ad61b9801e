// The HTTP endpoints of the live flows: GET /metrics (Prometheus text
// format), and the live page: GET / (one self-contained HTML file, embedded
// in the binary; it loads nothing else) and GET /api/flows (the registry's
// snapshots as JSON, polled by the page). One server may serve both.
//
// Threading: requests are answered on the server's own threads, which only
// read LiveRegistry snapshots; the flows never wait for them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "torvyn/core/error.hpp"
#include "torvyn/observability/live.hpp"

namespace torvyn {

struct ListenAddress {
    std::string host;  // a name or an IP address; "0.0.0.0" for ":PORT"
    int port = 0;      // 0: any free port
};

// "127.0.0.1:9464", "localhost:9464", "[::1]:9464", ":9464". `option` names
// where it came from, for the error (E0503).
Result<ListenAddress> parse_listen_address(std::string_view text, std::string_view option);

// Which endpoints a server answers.
struct LiveEndpoints {
    bool metrics = false;  // /metrics
    bool page = false;     // /, /api/flows
};

// The snapshots as the page reads them (stable field names; times in
// seconds, sizes in bytes).
nlohmann::json flows_json(const std::vector<FlowSnapshot>& flows);

// The page, as served at /.
std::string_view live_page_html();

class LiveServer {
public:
    // Listens at `at` (E0504 when nothing can) and serves `endpoints` from
    // `registry`, which must outlive the server, on threads of its own.
    static Result<std::unique_ptr<LiveServer>> start(const ListenAddress& at,
                                                     LiveEndpoints endpoints,
                                                     const LiveRegistry& registry);
    // Stops listening and waits for the requests in progress.
    ~LiveServer();
    LiveServer(const LiveServer&) = delete;
    LiveServer& operator=(const LiveServer&) = delete;

    // The port it listens on (the one the system chose for port 0).
    [[nodiscard]] int port() const;
    // "http://127.0.0.1:9464" (a bracketed IPv6 address as such).
    [[nodiscard]] std::string url() const;

    struct Impl;

private:
    explicit LiveServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace torvyn
