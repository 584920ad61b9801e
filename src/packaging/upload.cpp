// Blob uploads of the OCI distribution API ("Pushing blobs"): a session is
// started with a POST (which may instead mount the blob from another
// repository of the registry), filled with the body of the closing PUT
// (monolithic) or with PATCHes of one chunk each (each answer naming where the
// next goes), and closed with PUT ?digest=, which the registry checks.
#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "torvyn/core/guest_text.hpp"
#include "torvyn/packaging/registry.hpp"

namespace torvyn::oci {
namespace {

// A Location longer than this is not an upload URL we follow.
constexpr std::size_t kMaxLocation = 8U << 10U;

// A number as a header carries it ("123"); nothing when it is not one.
std::optional<std::uint64_t> number(std::string_view text) {
    std::uint64_t v = 0;
    const char* end = text.data() + text.size();
    const auto [p, ec] = std::from_chars(text.data(), end, v);
    if (text.empty() || ec != std::errc() || p != end) {
        return std::nullopt;
    }
    return v;
}

// The last byte of an upload's "Range: 0-N" (some registries write "bytes=0-N").
std::optional<std::uint64_t> range_end(std::string_view text) {
    if (text.rfind("bytes=", 0) == 0) {
        text.remove_prefix(6);
    }
    const auto dash = text.find('-');
    if (dash == std::string_view::npos || text.substr(0, dash) != "0") {
        return std::nullopt;
    }
    return number(text.substr(dash + 1));
}

std::string header(const std::map<std::string, std::string>& headers, const std::string& name) {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
}

std::string with_digest(const std::string& location, const std::string& digest) {
    return fmt::format("{}{}digest={}", location,
                       location.find('?') == std::string::npos ? '?' : '&', digest);
}

// Repository names as references allow them, so they go into a query as they are.
bool plain_name(const std::string& repository) {
    return !repository.empty() && repository.size() <= 255 &&
           std::all_of(repository.begin(), repository.end(), [](unsigned char c) {
               return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == '-' || c == '/';
           });
}

std::string chunk_hint(std::size_t size) {
    return fmt::format(
        "publish again; if the registry keeps refusing chunks, --chunk-size {} (the blob's size) "
        "uploads it in one request",
        size);
}

}  // namespace

Result<BlobPushed> Registry::push_blob(const std::string& digest, std::string_view bytes,
                                       const std::string& mount_from) {
    const std::string uploads = fmt::format("/v2/{}/blobs/uploads/", reference_.repository);
    const std::string what = fmt::format("uploading {}", digest);
    std::optional<Answer> started;
    if (mount_from != reference_.repository && plain_name(mount_from)) {
        auto a = exchange("POST", fmt::format("{}?mount={}&from={}", uploads, digest, mount_from),
                          {}, {}, fmt::format("mounting {} from {}", digest, mount_from));
        if (!a) {
            return a.error();
        }
        if (a->status == 201) {
            return BlobPushed::mounted;
        }
        if (a->status == 202) {  // declined, and an upload session started instead
            started = std::move(a).value();
        }
        // Anything else (the other repository is gone, or these credentials
        // may not read it): the hint was wrong; a plain upload follows.
    }
    if (!started) {
        auto a =
            exchange("POST", uploads, {}, {}, fmt::format("starting the upload of {}", digest));
        if (!a) {
            return a.error();
        }
        if (a->status != 202) {
            return a->failure;
        }
        started = std::move(a).value();
    }
    std::string location = header(started->headers, "location");
    if (location.empty() || location.size() > kMaxLocation) {
        return Error(ErrorCode::registry_failed,
                     fmt::format("the registry started an upload of {} but named no usable "
                                 "Location",
                                 digest));
    }
    location = absolute(location);
    // A registry may want larger chunks than ours.
    std::uint64_t chunk = std::max<std::uint64_t>(options_.chunk_bytes, 1);
    if (const auto least = number(header(started->headers, "oci-chunk-min-length"))) {
        chunk = std::max(chunk, *least);
    }
    std::string_view body = bytes;
    if (bytes.size() > chunk) {
        if (auto e = send_chunks(location, digest, bytes, chunk)) {
            return *e;
        }
        body = {};
    }
    auto done = exchange("PUT", with_digest(location, digest),
                         {"Content-Type: application/octet-stream"}, body, what);
    if (!done) {
        return done.error();
    }
    if (done->status != 201) {
        return done->failure;
    }
    return BlobPushed::uploaded;
}

std::optional<Error> Registry::send_chunks(std::string& location, const std::string& digest,
                                           std::string_view bytes, std::uint64_t chunk) {
    for (std::uint64_t offset = 0; offset < bytes.size(); offset += chunk) {
        const std::string_view part = bytes.substr(offset, chunk);
        const std::uint64_t last = offset + part.size() - 1;
        const std::string what = fmt::format("uploading bytes {}-{} of {} ({} bytes)", offset, last,
                                             digest, bytes.size());
        auto a = exchange("PATCH", location,
                          {"Content-Type: application/octet-stream",
                           fmt::format("Content-Range: {}-{}", offset, last)},
                          part, what);
        if (!a) {
            return a.error();
        }
        const std::string range = header(a->headers, "range");
        if (a->status == 416) {
            const std::string holds =
                range_end(range) ? fmt::format("; it holds 0-{}", *range_end(range)) : "";
            return Error(ErrorCode::registry_failed,
                         fmt::format("{}: the registry refused the range (HTTP 416: not where "
                                     "the upload stands{})",
                                     what, holds),
                         "", chunk_hint(bytes.size()));
        }
        if (a->status != 202) {
            Error e = std::move(a->failure);
            if (e.hint.empty()) {
                e.hint = chunk_hint(bytes.size());
            }
            return e;
        }
        // What the registry says it holds now must be what we sent.
        if (!range.empty() && range_end(range) != last) {
            return Error(
                ErrorCode::registry_failed,
                fmt::format("{}: the registry holds bytes '{}' of the upload, not 0-{}", what,
                            escape_guest_text(std::string_view(range).substr(0, 64)), last),
                "", chunk_hint(bytes.size()));
        }
        std::string next = header(a->headers, "location");
        if (next.empty() || next.size() > kMaxLocation) {
            return Error(
                ErrorCode::registry_failed,
                fmt::format("{}: the registry named no usable Location for the next chunk", what),
                "", chunk_hint(bytes.size()));
        }
        location = absolute(next);
    }
    return std::nullopt;
}

}  // namespace torvyn::oci
