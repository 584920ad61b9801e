#include "torvyn/packaging/registry.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/core/limits.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

// The distribution project's limit on a manifest's size.
constexpr std::size_t kManifestLimit = 4U << 20U;
// What an error answer may hold (its JSON message).
constexpr std::size_t kErrorBodyLimit = 64U << 10U;

const char* const kManifestAccept =
    "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool is_loopback(std::string_view host) {
    const std::string_view name = host.substr(
        0, host.rfind(':') == std::string_view::npos || host.back() == ']' ? host.size()
                                                                           : host.rfind(':'));
    return name == "localhost" || name == "127.0.0.1" || name == "[::1]";
}

// The CA locations Go tools (skopeo, cosign, oras) read too: SSL_CERT_FILE (a
// PEM bundle) and SSL_CERT_DIR (hashed folders, ':'-separated); unset, libcurl's
// system CAs.
void trust_ca_locations(CURL* curl) {
    if (const char* file = std::getenv("SSL_CERT_FILE"); file != nullptr && *file != '\0') {
        curl_easy_setopt(curl, CURLOPT_CAINFO, file);
    }
    if (const char* dir = std::getenv("SSL_CERT_DIR"); dir != nullptr && *dir != '\0') {
        curl_easy_setopt(curl, CURLOPT_CAPATH, dir);
    }
}

// What to do about a transport error, by its kind.
std::string transport_hint(CURLcode code, const std::string& base) {
    const char* file = std::getenv("SSL_CERT_FILE");
    const std::string now = file != nullptr && *file != '\0'
                                ? fmt::format(" (SSL_CERT_FILE is {} now)", file)
                                : std::string();
    switch (code) {
        case CURLE_PEER_FAILED_VERIFICATION:
            return fmt::format(
                "the registry's certificate does not verify against the trusted CAs{}: set "
                "SSL_CERT_FILE to the PEM file of the CA that signed it (skopeo, cosign and oras "
                "read it too), or add that CA to the system's (update-ca-certificates)",
                now);
        case CURLE_SSL_CACERT_BADFILE:
            return fmt::format("SSL_CERT_FILE or SSL_CERT_DIR names no readable CA certificates{}",
                               now);
        default:
            return fmt::format("is a registry listening at {}? (--insecure: plain HTTP)", base);
    }
}

struct Response {
    long status = 0;
    std::map<std::string, std::string> headers;  // names in lower case, the last response's
    std::string body;
    std::size_t limit = 0;
    bool over_limit = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* r = static_cast<Response*>(user);
    const std::size_t n = size * count;
    if (r->body.size() + n > r->limit) {
        r->over_limit = true;
        return 0;  // ends the transfer: more than the descriptor said
    }
    r->body.append(data, n);
    return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* r = static_cast<Response*>(user);
    const std::string_view line(data, size * count);
    if (line.rfind("HTTP/", 0) == 0) {
        r->headers.clear();  // a new response (after a redirect or a 100)
    } else if (const auto colon = line.find(':'); colon != std::string_view::npos) {
        std::string value(line.substr(colon + 1));
        value.erase(0, value.find_first_not_of(" \t"));
        value.erase(value.find_last_not_of(" \t\r\n") + 1);
        r->headers[lower(std::string(line.substr(0, colon)))] = value;
    }
    return size * count;
}

// {"errors":[{"code":"...","message":"..."}]} -> "CODE: message; ..."
std::string registry_message(const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    std::string out;
    if (j.is_object() && j.contains("errors") && j["errors"].is_array()) {
        for (const auto& e : j["errors"]) {
            if (e.is_object() && e.contains("message") && e["message"].is_string()) {
                out += fmt::format("{}{}{}", out.empty() ? "" : "; ",
                                   e.value("code", std::string()).empty()
                                       ? ""
                                       : e.value("code", std::string()) + ": ",
                                   e["message"].get<std::string>());
            }
            if (out.size() >= limits::kMaxGuestTextBytes) {
                break;
            }
        }
    }
    // The registry's own words: shown, but neither long nor able to drive a terminal.
    return escape_guest_text(std::string_view(out).substr(0, limits::kMaxGuestTextBytes));
}

// key="value" pairs of a WWW-Authenticate challenge after its scheme.
std::map<std::string, std::string> challenge_params(std::string_view text) {
    std::map<std::string, std::string> out;
    std::size_t i = text.find(' ');
    while (i != std::string_view::npos && i < text.size()) {
        const auto eq = text.find('=', i);
        if (eq == std::string_view::npos) {
            break;
        }
        std::string key(text.substr(i, eq - i));
        key.erase(0, key.find_first_not_of(" ,"));
        std::string value;
        std::size_t next = eq + 1;
        if (next < text.size() && text[next] == '"') {
            const auto close = text.find('"', next + 1);
            value = std::string(text.substr(next + 1, close - next - 1));
            next = close == std::string_view::npos ? close : close + 1;
        } else {
            const auto comma = text.find(',', next);
            value = std::string(text.substr(next, comma - next));
            next = comma;
        }
        out[lower(key)] = value;
        i = next;
    }
    return out;
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// The container auth files, in the order podman and skopeo read them.
std::vector<fs::path> auth_files() {
    std::vector<fs::path> out;
    if (const char* f = std::getenv("REGISTRY_AUTH_FILE"); f != nullptr && *f != '\0') {
        out.emplace_back(f);
    }
    if (const char* r = std::getenv("XDG_RUNTIME_DIR"); r != nullptr && *r != '\0') {
        out.push_back(fs::path(r) / "containers" / "auth.json");
    }
    if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
        out.push_back(fs::path(h) / ".docker" / "config.json");
    }
    return out;
}

// base64(user:password) for `host`, and the file it came from.
std::pair<std::string, std::string> stored_credentials(const std::string& host) {
    for (const auto& file : auth_files()) {
        std::ifstream in(file);
        if (!in) {
            continue;
        }
        auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_object() || !j.contains("auths") || !j["auths"].is_object()) {
            continue;
        }
        for (const auto& key : {host, "https://" + host, "http://" + host}) {
            if (!j["auths"].contains(key) || !j["auths"][key].is_object()) {
                continue;
            }
            const auto& entry = j["auths"][key];
            if (entry.contains("auth") && entry["auth"].is_string()) {
                return {entry["auth"].get<std::string>(), file.string()};
            }
            if (entry.contains("username") && entry.contains("password")) {
                return {base64(entry.value("username", "") + ":" + entry.value("password", "")),
                        file.string()};
            }
        }
    }
    return {};
}

}  // namespace

struct Registry::State {
    Reference reference;
    std::string base;  // "https://registry.example.com", "http://127.0.0.1:5000"
    // A loopback registry is asked over HTTPS first; when its answer is not
    // TLS (it speaks plain HTTP), once over plain HTTP, and from then on.
    bool may_fall_back = false;
    std::string basic;
    std::string credentials_file;
    std::string authorization;  // the header value sent now, or empty
    CURL* curl = nullptr;

    struct Request {
        std::string method = "GET";
        std::string url;  // absolute, or a path under `base`
        std::vector<std::string> headers;
        std::string_view body;
        bool has_body = false;
        std::size_t limit = kErrorBodyLimit;
        bool follow = false;
    };

    Error transport_error(const Request& q, CURLcode code, const char* detail) const {
        return Error(ErrorCode::registry_failed,
                     fmt::format("{} {}: {}{}{}", q.method, url_of(q), curl_easy_strerror(code),
                                 *detail != '\0' ? ": " : "", detail),
                     "", transport_hint(code, base));
    }

    [[nodiscard]] std::string url_of(const Request& q) const {
        if (q.url.rfind("http://", 0) != 0 && q.url.rfind("https://", 0) != 0) {
            return base + q.url;
        }
        // An absolute URL of this registry (an upload's Location) follows a fall-back.
        const std::string tls_base = "https://" + reference.host;
        if (base.rfind("http://", 0) == 0 && q.url.rfind(tls_base + "/", 0) == 0) {
            return base + q.url.substr(tls_base.size());
        }
        return q.url;
    }

    // Whether `code` for `url` is a loopback registry answering a TLS
    // handshake in plain HTTP: then `base` becomes plain HTTP, once. A
    // certificate that does not verify is never a reason.
    bool fall_back_to_http(CURLcode code, const std::string& url) {
        if (code != CURLE_SSL_CONNECT_ERROR || !may_fall_back || url.rfind(base + "/", 0) != 0) {
            return false;
        }
        may_fall_back = false;
        base = "http://" + reference.host;
        return true;
    }

    Result<Response> send_once(const Request& q, const std::string& auth) {
        curl_easy_reset(curl);
        Response r;
        r.limit = q.limit;
        char detail[CURL_ERROR_SIZE] = {0};
        const std::string url = url_of(q);
        curl_slist* headers = nullptr;
        for (const auto& h : q.headers) {
            headers = curl_slist_append(headers, h.c_str());
        }
        if (!auth.empty()) {
            headers = curl_slist_append(headers, ("Authorization: " + auth).c_str());
        }
        // A body of our own, never chunked; no "Expect: 100-continue" round trip.
        headers = curl_slist_append(headers, "Expect:");
        curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "torvyn");
        trust_ca_locations(curl);
        // Blob GETs may be redirected to storage elsewhere; curl drops our
        // Authorization header when the host changes.
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, q.follow ? 1L : 0L);
        curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
        if (q.method == "HEAD") {
            curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
        } else if (q.method != "GET") {
            curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, q.method.c_str());
        }
        if (q.has_body) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, q.body.data());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(q.body.size()));
        }
        const CURLcode code = curl_easy_perform(curl);
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
        curl_slist_free_all(headers);
        if (code == CURLE_WRITE_ERROR && r.over_limit) {
            return r;  // the caller says what was expected
        }
        if (code != CURLE_OK) {
            if (fall_back_to_http(code, url)) {
                return send_once(q, auth);
            }
            return transport_error(q, code, detail);
        }
        return r;
    }

    // A bearer token for the challenge, asked of its realm with our basic
    // credentials when we have some.
    std::optional<Error> fetch_token(const std::map<std::string, std::string>& challenge) {
        const auto realm = challenge.find("realm");
        if (realm == challenge.end()) {
            return Error(ErrorCode::registry_auth,
                         "the registry asked for a token but named no realm");
        }
        std::string url = realm->second;
        char sep = url.find('?') == std::string::npos ? '?' : '&';
        for (const char* key : {"service", "scope"}) {
            if (auto it = challenge.find(key); it != challenge.end()) {
                char* escaped =
                    curl_easy_escape(curl, it->second.c_str(), static_cast<int>(it->second.size()));
                url += fmt::format("{}{}={}", sep, key, escaped);
                curl_free(escaped);
                sep = '&';
            }
        }
        Request q;
        q.url = url;
        q.follow = true;
        auto r = send_once(q, basic.empty() ? "" : "Basic " + basic);
        if (!r) {
            return r.error();
        }
        if (r->status != 200) {
            return auth_error(*r, "the token service");
        }
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        std::string token;
        for (const char* key : {"token", "access_token"}) {
            if (j.is_object() && j.contains(key) && j[key].is_string()) {
                token = j[key].get<std::string>();
                break;
            }
        }
        if (token.empty()) {
            return Error(ErrorCode::registry_auth,
                         fmt::format("the token service at {} answered no token", realm->second));
        }
        authorization = "Bearer " + token;
        return std::nullopt;
    }

    [[nodiscard]] Error auth_error(const Response& r, std::string_view who) const {
        const std::string said = registry_message(r.body);
        return Error(ErrorCode::registry_auth,
                     fmt::format("{} refused {} (HTTP {}){}{}", who, reference.host, r.status,
                                 said.empty() ? "" : ": ", said),
                     "",
                     credentials_file.empty()
                         ? fmt::format("log in first (podman login {} or docker login {}), or set "
                                       "REGISTRY_AUTH_FILE to an auth.json with credentials for it",
                                       reference.host, reference.host)
                         : fmt::format("check the credentials for {} in {} (podman login {})",
                                       reference.host, credentials_file, reference.host));
    }

    // One request, answering a 401 challenge once (basic or bearer).
    Result<Response> send(const Request& q) {
        auto r = send_once(q, authorization);
        if (!r || r->status != 401) {
            return r;
        }
        const std::string challenge = r->headers["www-authenticate"];
        if (lower(challenge).rfind("bearer", 0) == 0) {
            if (auto e = fetch_token(challenge_params(challenge))) {
                return *e;
            }
        } else if (!basic.empty() && authorization.empty()) {
            authorization = "Basic " + basic;
        } else {
            return auth_error(*r, "the registry");
        }
        return send_once(q, authorization);
    }

    // The error for an answer that is not `expected`.
    [[nodiscard]] Error failure(const Request& q, const Response& r, std::string_view what) const {
        if (r.status == 401 || r.status == 403) {
            return auth_error(r, "the registry");
        }
        const std::string said = registry_message(r.body);
        const std::string text =
            fmt::format("{}: HTTP {}{}{}", what, r.status, said.empty() ? "" : ": ", said);
        if (r.status == 404) {
            return Error(ErrorCode::oci_not_found, text, "",
                         fmt::format("check the repository and tag ({} {})", q.method, url_of(q)));
        }
        return Error(ErrorCode::registry_failed, text);
    }
};

Registry::Registry(const Reference& reference, RegistryOptions options)
    : reference_(reference), options_(options), state_(std::make_unique<State>()) {
    static std::once_flag curl_ready;
    std::call_once(curl_ready, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    state_->reference = reference;
    state_->base = fmt::format("{}://{}", options.insecure ? "http" : "https", reference.host);
    state_->may_fall_back = !options.insecure && is_loopback(reference.host);
    std::tie(state_->basic, state_->credentials_file) = stored_credentials(reference.host);
    state_->curl = curl_easy_init();
}

Registry::Registry(Registry&&) noexcept = default;
Registry& Registry::operator=(Registry&&) noexcept = default;
Registry::~Registry() {
    if (state_ && state_->curl != nullptr) {
        curl_easy_cleanup(state_->curl);
    }
}

const std::string& Registry::credentials_source() const {
    return state_->credentials_file;
}

Result<Fetched> Registry::get_manifest(const std::string& ref) {
    State::Request q;
    q.url = fmt::format("/v2/{}/manifests/{}", state_->reference.repository, ref);
    q.headers = {kManifestAccept};
    q.limit = kManifestLimit;
    auto r = state_->send(q);
    if (!r) {
        return r.error();
    }
    const std::string what =
        fmt::format("manifest {}/{}:{}", state_->reference.host, state_->reference.repository, ref);
    if (r->over_limit) {
        return Error(ErrorCode::oci_invalid, fmt::format("{} is larger than 4 MiB", what));
    }
    if (r->status != 200) {
        return state_->failure(q, *r, what);
    }
    Fetched f;
    f.digest = digest_of(r->body);
    const std::string& said = r->headers["docker-content-digest"];
    const std::string& expected = is_digest(ref) ? ref : said;
    if (!expected.empty() && expected != f.digest) {
        return Error(ErrorCode::oci_digest_mismatch,
                     fmt::format("{} hashes to {}, not {}", what, f.digest, expected), "",
                     "the registry served other content than it names; do not use it");
    }
    f.media_type = r->headers["content-type"];
    if (auto j = nlohmann::json::parse(r->body, nullptr, false);
        j.is_object() && j.contains("mediaType") && j["mediaType"].is_string()) {
        f.media_type = j["mediaType"].get<std::string>();
    }
    f.bytes = std::move(r->body);
    return f;
}

Result<bool> Registry::has(const std::string& digest, bool manifest) {
    State::Request q;
    q.method = "HEAD";
    q.url = fmt::format("/v2/{}/{}/{}", state_->reference.repository,
                        manifest ? "manifests" : "blobs", digest);
    if (manifest) {
        q.headers = {kManifestAccept};
    }
    auto r = state_->send(q);
    if (!r) {
        return r.error();
    }
    if (r->status == 200) {
        return true;
    }
    if (r->status == 404) {
        return false;
    }
    return state_->failure(q, *r, fmt::format("{} {}", manifest ? "manifest" : "blob", digest));
}

Result<bool> Registry::has_blob(const std::string& digest) {
    return has(digest, false);
}

Result<bool> Registry::has_manifest(const std::string& digest) {
    return has(digest, true);
}

Result<Registry::Answer> Registry::exchange(const std::string& method, const std::string& url,
                                            const std::vector<std::string>& headers,
                                            std::string_view body, std::string_view what) {
    State::Request q;
    q.method = method;
    q.url = url;
    q.headers = headers;
    q.body = body;
    q.has_body = true;  // even when empty: Content-Length: 0
    auto r = state_->send(q);
    if (!r) {
        return r.error();
    }
    Answer a;
    a.status = r->status;
    a.failure = state_->failure(q, *r, what);
    a.headers = std::move(r->headers);
    return a;
}

std::string Registry::absolute(const std::string& location) const {
    return location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0
               ? location
               : state_->base + (location.rfind('/', 0) == 0 ? "" : "/") + location;
}

std::optional<Error> Registry::push_manifest(const std::string& ref, std::string_view media_type,
                                             std::string_view bytes) {
    State::Request q;
    q.method = "PUT";
    q.url = fmt::format("/v2/{}/manifests/{}", state_->reference.repository, ref);
    q.headers = {fmt::format("Content-Type: {}", media_type)};
    q.body = bytes;
    q.has_body = true;
    auto r = state_->send(q);
    if (!r) {
        return r.error();
    }
    if (r->status != 201) {
        return state_->failure(q, *r, fmt::format("pushing manifest {}", ref));
    }
    return std::nullopt;
}

Result<std::string> Registry::get_blob(const Descriptor& d) {
    State::Request q;
    q.url = fmt::format("/v2/{}/blobs/{}", state_->reference.repository, d.digest);
    q.follow = true;
    q.limit = std::max<std::size_t>(d.size, kErrorBodyLimit);
    auto r = state_->send(q);
    if (!r) {
        return r.error();
    }
    const std::string what = fmt::format("blob {} in {}/{}", d.digest, state_->reference.host,
                                         state_->reference.repository);
    if (r->status != 200 && !r->over_limit) {
        return state_->failure(q, *r, what);
    }
    if (r->over_limit || r->body.size() != d.size) {
        return Error(
            ErrorCode::oci_digest_mismatch,
            fmt::format("{} is {} bytes, not the {} its descriptor says", what,
                        r->over_limit ? "more than that" : std::to_string(r->body.size()), d.size),
            "", "the registry's copy is truncated or replaced; re-publish it");
    }
    if (const std::string got = digest_of(r->body); got != d.digest) {
        return Error(ErrorCode::oci_digest_mismatch, fmt::format("{} hashes to {}", what, got), "",
                     "the registry's copy is corrupt or tampered with; re-publish it");
    }
    return std::move(r->body);
}

}  // namespace torvyn::oci
