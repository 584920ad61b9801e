// Registry references: HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX], and telling
// them from file paths on the command line.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "torvyn/packaging/registry.hpp"

namespace torvyn::oci {

std::string Reference::text() const {
    return digest.empty() ? fmt::format("{}/{}:{}", host, repository, tag)
                          : fmt::format("{}/{}@{}", host, repository, digest);
}

bool looks_like_reference(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || slash == 0 || text.front() == '.') {
        return false;
    }
    const std::string_view host = text.substr(0, slash);
    return host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos ||
           host == "localhost";
}

Result<Reference> parse_reference(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return Error(ErrorCode::oci_invalid,
                     fmt::format("'{}' is not a registry reference: {}", text, why), "",
                     "write HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST], e.g. "
                     "127.0.0.1:5000/demo/hello:1.0");
    };
    if (!looks_like_reference(text)) {
        return bad("it names no registry host before the first '/'");
    }
    Reference r;
    const auto slash = text.find('/');
    r.host = std::string(text.substr(0, slash));
    std::string rest(text.substr(slash + 1));
    if (const auto at = rest.find('@'); at != std::string::npos) {
        r.digest = rest.substr(at + 1);
        rest.resize(at);
        if (!is_digest(r.digest)) {
            return bad("the digest is not sha256:<64 hex digits>");
        }
    } else if (const auto colon = rest.rfind(':');
               colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
        r.tag = rest.substr(colon + 1);
        rest.resize(colon);
    } else {
        r.tag = "latest";
    }
    r.repository = rest;
    const bool repo_ok =
        !rest.empty() && std::all_of(rest.begin(), rest.end(), [](unsigned char c) {
            return std::islower(c) || std::isdigit(c) || c == '.' || c == '_' || c == '-' ||
                   c == '/';
        });
    if (!repo_ok) {
        return bad("the repository is not lowercase letters, digits, '.', '_', '-' and '/'");
    }
    if (r.digest.empty() && (r.tag.empty() || r.tag.size() > 128)) {
        return bad("the tag is empty or longer than 128 characters");
    }
    return r;
}

}  // namespace torvyn::oci
