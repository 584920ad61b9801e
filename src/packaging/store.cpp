#include "torvyn/packaging/store.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

Error io_error(const fs::path& p, std::string_view what) {
    return Error(ErrorCode::io, fmt::format("cannot {} {}", what, p.string()), "",
                 "check the folder's permissions and free space");
}

}  // namespace

std::optional<Error> write_atomically(const fs::path& path, std::string_view bytes) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    const fs::path tmp = path.parent_path() / fmt::format(".{}.{}.tmp", path.filename().string(),
                                                          static_cast<long>(::getpid()));
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) {
            fs::remove(tmp, ec);
            return io_error(path, "write");
        }
    }
    fs::rename(tmp, path, ec);
    if (ec) {
        fs::remove(tmp, ec);
        return io_error(path, "write");
    }
    return std::nullopt;
}

Result<Store> Store::open_layout(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir / "blobs" / "sha256", ec);
    if (ec) {
        return io_error(dir, "make the OCI layout");
    }
    if (!fs::exists(dir / "oci-layout")) {
        if (auto e = write_atomically(dir / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})")) {
            return *e;
        }
    }
    if (!fs::exists(dir / "index.json")) {
        if (auto e = write_atomically(
                dir / "index.json",
                R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})")) {
            return *e;
        }
    }
    return Store(dir);
}

Result<Store> Store::open_existing(const fs::path& dir) {
    if (!fs::is_regular_file(dir / "oci-layout") || !fs::is_regular_file(dir / "index.json")) {
        return Error(ErrorCode::oci_invalid,
                     fmt::format("{} is not an OCI image layout (no oci-layout and index.json)",
                                 dir.string()),
                     "", "give a folder written by torvyn pack, torvyn pull or skopeo copy oci:");
    }
    return Store(dir);
}

bool Store::has(const std::string& digest) const {
    std::error_code ec;
    return is_digest(digest) && fs::is_regular_file(path_of(digest), ec);
}

fs::path Store::path_of(const std::string& digest) const {
    return dir_ / "blobs" / "sha256" / std::string(digest_hex(digest));
}

std::optional<Error> Store::put(const std::string& digest, std::string_view bytes) {
    if (!is_digest(digest)) {
        return Error(ErrorCode::oci_invalid, fmt::format("'{}' is not a sha256 digest", digest));
    }
    if (const std::string actual = digest_of(bytes); actual != digest) {
        return Error(
            ErrorCode::oci_digest_mismatch,
            fmt::format("content for {} hashes to {} ({} bytes)", digest, actual, bytes.size()), "",
            "the content was truncated or altered on the way; nothing was stored");
    }
    if (has(digest)) {
        return std::nullopt;
    }
    return write_atomically(path_of(digest), bytes);
}

Result<std::string> Store::get(const std::string& digest) const {
    std::ifstream in(path_of(digest), std::ios::binary);
    if (!in) {
        return Error(ErrorCode::oci_not_found,
                     fmt::format("{} is not in {}", digest, dir_.string()), "",
                     "pull the artifact again");
    }
    std::ostringstream s;
    s << in.rdbuf();
    std::string bytes = s.str();
    if (digest_of(bytes) != digest) {
        return Error(ErrorCode::oci_digest_mismatch,
                     fmt::format("{} in {} does not hash to its digest", digest, dir_.string()), "",
                     "the stored blob was altered; delete it and pull again");
    }
    return bytes;
}

std::vector<Descriptor> Store::entries() const {
    std::vector<Descriptor> out;
    std::ifstream in(dir_ / "index.json");
    const auto index = nlohmann::json::parse(in, nullptr, false);
    if (index.is_discarded() || !index.contains("manifests") || !index["manifests"].is_array()) {
        return out;
    }
    for (const auto& m : index["manifests"]) {
        if (auto d = Descriptor::from_json(m, "index.json")) {
            out.push_back(std::move(d).value());
        }
    }
    return out;
}

std::optional<Error> Store::tag(const Descriptor& d, const std::string& ref) {
    nlohmann::ordered_json manifests = nlohmann::ordered_json::array();
    for (const auto& e : entries()) {
        const auto name = e.annotations.find(std::string(kRefName));
        if (name == e.annotations.end() || name->second != ref) {
            manifests.push_back(e.json());
        }
    }
    Descriptor named = d;
    named.annotations[std::string(kRefName)] = ref;
    manifests.push_back(named.json());
    const nlohmann::ordered_json index = {
        {"schemaVersion", 2}, {"mediaType", kIndexType}, {"manifests", manifests}};
    return write_atomically(dir_ / "index.json", index.dump());
}

Result<std::optional<Descriptor>> Store::find(const std::string& ref) const {
    const auto all = entries();
    if (ref.empty()) {
        if (all.size() == 1) {
            return std::optional<Descriptor>(all.front());
        }
        return std::optional<Descriptor>();
    }
    for (const auto& e : all) {
        const auto name = e.annotations.find(std::string(kRefName));
        if ((name != e.annotations.end() && name->second == ref) || e.digest == ref) {
            return std::optional<Descriptor>(e);
        }
    }
    return std::optional<Descriptor>();
}

}  // namespace torvyn::oci
