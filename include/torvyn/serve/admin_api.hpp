// The serve agent's HTTP API (/v1, JSON) on cpp-httplib, beside the
// deployed flows' metrics (/metrics) and live page (/). Requests that change
// something and every /v1 request need the bearer token when one is set; a
// token is required to listen anywhere but on loopback. Bodies are bounded;
// unknown fields, malformed JSON and bad names are refused (E0800) before
// anything changes.
#pragma once

#include <memory>
#include <string>

#include "torvyn/core/error.hpp"
#include "torvyn/observability/live_server.hpp"
#include "torvyn/serve/agent.hpp"

namespace torvyn::serve {

struct AdminOptions {
    ListenAddress at{"127.0.0.1", 7311};
    std::string token;  // empty: none (loopback only)
    // TLS when both are set (PEM files).
    std::string tls_cert;
    std::string tls_key;
    std::size_t max_body_bytes = 1u << 20;
};

class AdminServer {
public:
    // Listens (E0504 when it cannot; E0803 without a token off loopback).
    static Result<std::unique_ptr<AdminServer>> start(Agent& agent, AdminOptions options);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    [[nodiscard]] std::string url() const;

    struct Impl;

private:
    explicit AdminServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// The HTTP status an error of the API answers with.
int http_status_of(ErrorCode code);

}  // namespace torvyn::serve
