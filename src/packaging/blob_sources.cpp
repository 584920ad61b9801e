#include "torvyn/packaging/blob_sources.hpp"

#include <algorithm>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "torvyn/packaging/registry.hpp"
#include "torvyn/packaging/store.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

// Only what could have been written: a sha256 digest and a host and
// repository that read back as the same reference (the file is ours, but
// anyone can edit it, and its names end up in a URL).
bool valid(const std::string& digest, const std::string& host, const std::string& repository) {
    constexpr std::size_t kMaxName = 255;
    if (!is_digest(digest) || host.size() > kMaxName || repository.size() > kMaxName) {
        return false;
    }
    auto r = parse_reference(host + "/" + repository);
    return r && r->host == host && r->repository == repository;
}

}  // namespace

BlobSources BlobSources::open(const fs::path& store_dir) {
    BlobSources out(store_dir / "torvyn" / "blob-sources.json");
    std::error_code ec;
    const auto size = fs::file_size(out.file_, ec);
    if (ec || size > kMaxFileBytes) {
        return out;
    }
    std::ifstream in(out.file_, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("blobs") || !j["blobs"].is_array()) {
        return out;
    }
    for (const auto& r : j["blobs"]) {
        if (!r.is_object()) {
            continue;
        }
        const auto field = [&](const char* key) {
            return r.contains(key) && r[key].is_string() ? r[key].get<std::string>()
                                                         : std::string();
        };
        out.add(field("digest"), field("host"), field("repository"));
    }
    out.changed_ = false;
    return out;
}

std::string BlobSources::find(const std::string& digest, const std::string& host,
                              const std::string& repository) const {
    for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
        if (it->digest == digest && it->host == host && it->repository != repository) {
            return it->repository;
        }
    }
    return {};
}

void BlobSources::add(const std::string& digest, const std::string& host,
                      const std::string& repository) {
    if (!valid(digest, host, repository)) {
        return;
    }
    // Newest last: a record seen again moves to the end.
    std::erase_if(records_, [&](const Record& r) {
        return r.digest == digest && r.host == host && r.repository == repository;
    });
    records_.push_back({digest, host, repository});
    if (records_.size() > kMaxRecords) {
        records_.erase(records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(
                                                                records_.size() - kMaxRecords));
    }
    changed_ = true;
}

std::optional<Error> BlobSources::save() {
    if (!changed_) {
        return std::nullopt;
    }
    nlohmann::ordered_json blobs = nlohmann::ordered_json::array();
    for (const auto& r : records_) {
        blobs.push_back({{"digest", r.digest}, {"host", r.host}, {"repository", r.repository}});
    }
    const nlohmann::ordered_json doc = {{"version", 1}, {"blobs", blobs}};
    if (auto e = write_atomically(file_, doc.dump())) {
        return e;
    }
    changed_ = false;
    return std::nullopt;
}

}  // namespace torvyn::oci
