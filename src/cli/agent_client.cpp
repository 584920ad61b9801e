// The serve agent's client side, on cpp-httplib's client.
#include "agent_client.hpp"

#include <httplib.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace torvyn::cli {

namespace {

constexpr const char* kDefaultAgent = "http://127.0.0.1:7311";

std::string env_or(const char* name, const std::string& otherwise) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::string(v) : otherwise;
}

Error unreachable(const std::string& url, const std::string& why) {
    return Error(ErrorCode::agent_unreachable,
                 fmt::format("cannot reach the agent at {}: {}", url, why), "--agent",
                 "start it (torvyn serve), or name where it listens: --agent URL or "
                 "TORVYN_AGENT");
}

Result<std::string> read_token(const std::string& file) {
    std::ifstream in(file);
    std::ostringstream s;
    s << in.rdbuf();
    if (!in) {
        return Error(ErrorCode::io, fmt::format("cannot read the token file {}", file),
                     "--token-file", "give the file torvyn serve --token-file reads");
    }
    std::string token = s.str();
    while (!token.empty() &&
           (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
        token.pop_back();
    }
    return token;
}

}  // namespace

void add_agent_options(CLI::App& command, AgentArgs& args) {
    command.add_option(
        "--agent", args.agent,
        fmt::format("The agent's URL (default: $TORVYN_AGENT, else {})", kDefaultAgent));
    command.add_option("--token-file", args.token_file,
                       "The agent's bearer token (default: $TORVYN_TOKEN_FILE)");
    command.add_flag("--json", args.json, "Print the agent's answer as JSON");
}

Result<AgentAnswer> call_agent(const AgentArgs& args, const std::string& method,
                               const std::string& path, const nlohmann::json* body) {
    const std::string url = args.agent.empty() ? env_or("TORVYN_AGENT", kDefaultAgent) : args.agent;
    const std::string token_file =
        args.token_file.empty() ? env_or("TORVYN_TOKEN_FILE", "") : args.token_file;
    httplib::Client client(url);
    if (!client.is_valid()) {
        return unreachable(url, "not an http:// or https:// URL");
    }
    client.set_connection_timeout(5, 0);
    // An upgrade drains and swaps; a stop drains: both may take a while.
    client.set_read_timeout(120, 0);
    if (const char* ca = std::getenv("SSL_CERT_FILE"); ca != nullptr && *ca != '\0') {
        client.set_ca_cert_path(ca);
    }
    if (!token_file.empty()) {
        auto token = read_token(token_file);
        if (!token) {
            return token.error();
        }
        client.set_bearer_token_auth(token->c_str());
    }
    const std::string text = body != nullptr ? body->dump() : std::string();
    httplib::Result r = method == "GET"      ? client.Get(path)
                        : method == "DELETE" ? client.Delete(path)
                                             : client.Post(path, text, "application/json");
    if (!r) {
        return unreachable(url, httplib::to_string(r.error()));
    }
    AgentAnswer a;
    a.status = r->status;
    a.body = nlohmann::json::parse(r->body, nullptr, false);
    if (a.body.is_discarded()) {
        return unreachable(url, fmt::format("HTTP {} with a body that is not JSON", r->status));
    }
    return a;
}

int request_and_show(const AgentArgs& args, const std::string& method, const std::string& path,
                     const nlohmann::json* body,
                     const std::function<void(const nlohmann::json&)>& show) {
    const Diagnostics diag;
    auto answer = call_agent(args, method, path, body);
    if (!answer) {
        diag.error(answer.error());
        return kExitInvalid;
    }
    const bool ok = answer->status >= 200 && answer->status < 300;
    if (args.json) {
        fmt::print("{}\n",
                   answer->body.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    } else if (ok) {
        show(answer->body);
    } else {
        const nlohmann::json& e = answer->body.value("error", nlohmann::json::object());
        Error error(ErrorCode::internal, e.value("message", fmt::format("HTTP {}", answer->status)),
                    e.value("where", ""), e.value("hint", ""));
        // The agent's code, as it said it ("E0801").
        const std::string code = e.value("code", "");
        unsigned number = 0;
        if (code.size() == 5 && code[0] == 'E' &&
            std::sscanf(code.c_str() + 1, "%u", &number) == 1) {
            error.code = static_cast<ErrorCode>(number);
        }
        diag.error(error);
    }
    return ok ? kExitOk : (answer->status >= 500 ? kExitRunFailed : kExitInvalid);
}

std::string source_for_agent(const std::string& source) {
    std::error_code ec;
    if (std::filesystem::exists(source, ec)) {
        return std::filesystem::absolute(source, ec).lexically_normal().string();
    }
    return source;
}

}  // namespace torvyn::cli
