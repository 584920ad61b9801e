// The admin API's routes: each parses and checks its request completely,
// then asks the agent.
#include "torvyn/serve/admin_api.hpp"

#include <openssl/crypto.h>

#include <charconv>
#include <set>

#include <fmt/format.h>

#include "torvyn/observability/http_routes.hpp"

namespace torvyn::serve {

namespace {

// Admin requests are few; the scrapes and the page's polls share these.
constexpr std::size_t kServerThreads = 4;
constexpr std::size_t kMaxLogLines = 10000;
constexpr const char* kName = R"(/v1/deployments/([^/]+))";

bool is_loopback(const std::string& host) {
    return host == "127.0.0.1" || host == "::1" || host == "localhost" ||
           host.rfind("127.", 0) == 0;
}

nlohmann::json error_json(const Error& e) {
    nlohmann::json j = {{"code", error_code_name(e.code)}, {"message", e.message}};
    if (!e.where.empty()) {
        j["where"] = e.where;
    }
    if (!e.hint.empty()) {
        j["hint"] = e.hint;
    }
    return {{"error", j}};
}

void answer(httplib::Response& res, int status, const nlohmann::json& body) {
    res.status = status;
    res.set_header("Cache-Control", "no-store");
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n",
                    "application/json");
}

void answer(httplib::Response& res, const Result<nlohmann::json>& r, int ok_status = 200) {
    if (r) {
        answer(res, ok_status, r.value());
    } else {
        answer(res, http_status_of(r.error().code), error_json(r.error()));
    }
}

Error invalid(std::string message, std::string hint = {}) {
    return Error(ErrorCode::request_invalid, std::move(message), "request", std::move(hint));
}

// The body as a JSON object holding only `allowed` fields, `required` among them.
Result<nlohmann::json> body_of(const httplib::Request& req, const std::set<std::string>& allowed,
                               const std::set<std::string>& required) {
    if (req.body.empty() && required.empty()) {
        return nlohmann::json::object();
    }
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
        return invalid("the body is not a JSON object", "send Content-Type: application/json");
    }
    for (const auto& [key, value] : j.items()) {
        if (allowed.count(key) == 0) {
            return invalid(fmt::format("unknown field '{}'", key.substr(0, 80)),
                           fmt::format("fields: {}", fmt::join(allowed, ", ")));
        }
    }
    for (const auto& key : required) {
        if (!j.contains(key)) {
            return invalid(fmt::format("field '{}' is missing", key));
        }
    }
    return j;
}

Result<std::string> string_field(const nlohmann::json& j, const char* key) {
    if (!j.contains(key)) {
        return std::string();
    }
    if (!j[key].is_string()) {
        return invalid(fmt::format("'{}' must be a string", key));
    }
    return j[key].get<std::string>();
}

Result<std::vector<std::string>> trust_field(const nlohmann::json& j) {
    std::vector<std::string> out;
    if (!j.contains("trust")) {
        return out;
    }
    if (!j["trust"].is_array()) {
        return invalid("'trust' must be a list of public key files on the agent's machine");
    }
    for (const auto& v : j["trust"]) {
        if (!v.is_string()) {
            return invalid("'trust' must be a list of public key files on the agent's machine");
        }
        out.push_back(v.get<std::string>());
    }
    return out;
}

Result<std::string> name_in(const httplib::Request& req) {
    const std::string name = req.matches[1];
    if (auto e = check_deployment_name(name)) {
        return *e;
    }
    return name;
}

}  // namespace

int http_status_of(ErrorCode code) {
    switch (code) {
        case ErrorCode::request_invalid:
        case ErrorCode::usage:
            return 400;
        case ErrorCode::unauthorized:
            return 401;
        case ErrorCode::unsigned_artifact:
        case ErrorCode::untrusted_artifact:
            return 403;
        case ErrorCode::deployment_not_found:
            return 404;
        case ErrorCode::deployment_exists:
        case ErrorCode::upgrade_refused:
            return 409;
        case ErrorCode::request_too_large:
            return 413;
        case ErrorCode::registry_failed:
        case ErrorCode::registry_auth:
            return 502;
        case ErrorCode::agent_state:
        case ErrorCode::internal:
            return 500;
        default:
            return 422;  // the pipeline (manifest, components, grants) cannot run
    }
}

struct AdminServer::Impl {
    std::unique_ptr<httplib::Server> http;
    std::string url;
    std::thread thread;
};

AdminServer::AdminServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminServer::~AdminServer() {
    impl_->http->stop();
    if (impl_->thread.joinable()) {
        impl_->thread.join();
    }
}

std::string AdminServer::url() const {
    return impl_->url;
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(Agent& agent, AdminOptions options) {
    if (options.token.empty() && !is_loopback(options.at.host)) {
        return Error(
            ErrorCode::unauthorized,
            fmt::format("the admin API would listen on {} without a token", options.at.host),
            "--listen",
            "give --token-file FILE (a secret of your own, e.g. openssl rand -hex 32), "
            "or listen on 127.0.0.1");
    }
    auto impl = std::make_unique<Impl>();
    const bool tls = !options.tls_cert.empty() && !options.tls_key.empty();
    if (tls) {
        auto server =
            std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
        if (!server->is_valid()) {
            return Error(ErrorCode::listen_failed, "cannot use the TLS certificate and key",
                         "--tls-cert", "give PEM files of a certificate and its private key");
        }
        impl->http = std::move(server);
    } else {
        impl->http = std::make_unique<httplib::Server>();
    }
    httplib::Server& http = *impl->http;
    http.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
    http.set_payload_max_length(options.max_body_bytes);
    http.set_read_timeout(10, 0);

    const std::string token = options.token;
    const std::size_t max_body = options.max_body_bytes;
    // Every /v1 request shows the token first (compared in constant time).
    http.set_pre_routing_handler([token](const httplib::Request& req, httplib::Response& res) {
        if (token.empty() || req.path.rfind("/v1/", 0) != 0) {
            return httplib::Server::HandlerResponse::Unhandled;
        }
        const std::string given = req.get_header_value("Authorization");
        const std::string want = "Bearer " + token;
        if (given.size() != want.size() ||
            CRYPTO_memcmp(given.data(), want.data(), want.size()) != 0) {
            res.set_header("WWW-Authenticate", "Bearer realm=\"torvyn\"");
            answer(res, 401,
                   error_json(Error(ErrorCode::unauthorized,
                                    given.empty() ? "no bearer token" : "wrong bearer token", "",
                                    "give the agent's token: --token-file FILE (torvyn serve "
                                    "--token-file)")));
            return httplib::Server::HandlerResponse::Handled;
        }
        return httplib::Server::HandlerResponse::Unhandled;
    });
    http.set_error_handler([max_body](const httplib::Request&, httplib::Response& res) {
        if (!res.body.empty()) {
            return;
        }
        if (res.status == 413) {
            answer(res, 413,
                   error_json(Error(ErrorCode::request_too_large,
                                    fmt::format("the body is larger than {} bytes", max_body))));
        } else if (res.status == 404) {
            answer(res, 404,
                   error_json(Error(ErrorCode::request_invalid, "no such endpoint", "",
                                    "the API is under /v1 (docs/serve.md)")));
        }
    });

    http.Get("/v1/health", [](const httplib::Request&, httplib::Response& res) {
        answer(res, 200, nlohmann::json{{"ok", true}});
    });
    http.Get("/v1/deployments", [&agent](const httplib::Request&, httplib::Response& res) {
        answer(res, agent.list());
    });
    http.Post("/v1/deployments", [&agent](const httplib::Request& req, httplib::Response& res) {
        auto body = body_of(req, {"name", "source", "grants", "trust"}, {"name", "source"});
        if (!body) {
            return answer(res, body.error().code == ErrorCode::request_invalid ? 400 : 422,
                          error_json(body.error()));
        }
        DeployRequest d;
        auto name = string_field(*body, "name");
        auto source = string_field(*body, "source");
        auto trust = trust_field(*body);
        for (const Error* e : {name ? nullptr : &name.error(), source ? nullptr : &source.error(),
                               trust ? nullptr : &trust.error()}) {
            if (e != nullptr) {
                return answer(res, 400, error_json(*e));
            }
        }
        d.name = *name;
        d.source = *source;
        d.trust = *trust;
        if (body->contains("grants")) {
            d.grants = (*body)["grants"];
        }
        answer(res, agent.deploy(d), 201);
    });
    http.Get(kName, [&agent](const httplib::Request& req, httplib::Response& res) {
        auto name = name_in(req);
        answer(res, name ? agent.describe(*name) : Result<nlohmann::json>(name.error()));
    });
    http.Delete(kName, [&agent](const httplib::Request& req, httplib::Response& res) {
        auto name = name_in(req);
        answer(res, name ? agent.stop(*name, true) : Result<nlohmann::json>(name.error()));
    });
    http.Post(fmt::format("{}/stop", kName), [&agent](const httplib::Request& req,
                                                      httplib::Response& res) {
        auto name = name_in(req);
        auto body = body_of(req, {"remove"}, {});
        if (!name || !body) {
            return answer(res, 400, error_json(!name ? name.error() : body.error()));
        }
        if (body->contains("remove") && !(*body)["remove"].is_boolean()) {
            return answer(res, 400, error_json(invalid("'remove' must be true or false")));
        }
        answer(res, agent.stop(*name, body->value("remove", false)));
    });
    http.Post(fmt::format("{}/upgrade", kName), [&agent](const httplib::Request& req,
                                                         httplib::Response& res) {
        auto name = name_in(req);
        auto body = body_of(req, {"source", "grants", "trust", "aggregators"}, {"source"});
        if (!name || !body) {
            return answer(res, 400, error_json(!name ? name.error() : body.error()));
        }
        UpgradeRequest u;
        u.name = *name;
        auto source = string_field(*body, "source");
        auto trust = trust_field(*body);
        auto state = string_field(*body, "aggregators");
        if (!source || !trust || !state) {
            return answer(res, 400,
                          error_json(!source  ? source.error()
                                     : !trust ? trust.error()
                                              : state.error()));
        }
        u.source = *source;
        u.trust = *trust;
        if (!state->empty()) {
            auto mode = swap_state_from_name(*state);
            if (!mode) {
                return answer(
                    res, 400,
                    error_json(invalid(fmt::format("'aggregators' is '{}'", state->substr(0, 40)),
                                       "flush (default), reset or handover")));
            }
            u.aggregators = *mode;
        }
        if (body->contains("grants")) {
            u.grants = (*body)["grants"];
        }
        answer(res, agent.upgrade(u));
    });
    http.Post(fmt::format("{}/rollback", kName),
              [&agent](const httplib::Request& req, httplib::Response& res) {
                  auto name = name_in(req);
                  auto body = body_of(req, {}, {});
                  if (!name || !body) {
                      return answer(res, 400, error_json(!name ? name.error() : body.error()));
                  }
                  answer(res, agent.rollback(*name));
              });
    http.Get(fmt::format("{}/logs", kName), [&agent](const httplib::Request& req,
                                                     httplib::Response& res) {
        auto name = name_in(req);
        if (!name) {
            return answer(res, 400, error_json(name.error()));
        }
        std::size_t tail = 100;
        if (req.has_param("tail")) {
            const std::string text = req.get_param_value("tail");
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), tail);
            if (ec != std::errc() || end != text.data() + text.size() || tail > kMaxLogLines) {
                return answer(res, 400,
                              error_json(invalid("'tail' must be a number of lines",
                                                 fmt::format("at most {}", kMaxLogLines))));
            }
        }
        answer(res, agent.logs(*name, tail));
    });
    add_live_routes(http, LiveEndpoints{true, true}, agent.live());

    auto port = bind_server(http, options.at);
    if (!port) {
        return port.error();
    }
    const bool v6 = options.at.host.find(':') != std::string::npos;
    impl->url = fmt::format("{}://{}{}{}:{}", tls ? "https" : "http", v6 ? "[" : "",
                            options.at.host, v6 ? "]" : "", *port);
    impl->thread = serve_bound(http);
    return std::unique_ptr<AdminServer>(new AdminServer(std::move(impl)));
}

}  // namespace torvyn::serve
