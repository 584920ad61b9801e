#include "component_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <system_error>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "torvyn/core/limits.hpp"

namespace torvyn::detail {

Result<MappedFile> MappedFile::open(const std::filesystem::path& file) {
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Error(ErrorCode::component_not_found, fmt::format("cannot open {}", file.string()));
    }
    MappedFile out;
    out.path_ = file;
    if (::fstat(fd, &out.identity_) != 0 || !S_ISREG(out.identity_.st_mode)) {
        ::close(fd);
        return Error(ErrorCode::component_not_found,
                     fmt::format("{} is not a readable file", file.string()));
    }
    const auto size = static_cast<std::uintmax_t>(out.identity_.st_size);
    if (size > limits::kMaxComponentFileBytes) {
        ::close(fd);
        return Error(ErrorCode::component_invalid,
                     fmt::format("{} is {} bytes; components of more than {} bytes are refused",
                                 file.string(), size, limits::kMaxComponentFileBytes),
                     {}, "build the component in release mode and strip it (--strip-all)");
    }
    out.size_ = static_cast<std::size_t>(size);
    if (out.size_ > 0) {
        void* p = ::mmap(nullptr, out.size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            ::close(fd);
            return Error(ErrorCode::component_not_found,
                         fmt::format("cannot read {}", file.string()));
        }
        out.data_ = static_cast<const std::uint8_t*>(p);
    }
    ::close(fd);  // the mapping stays valid
    return out;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      identity_(other.identity_),
      data_(other.data_),
      size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
}

MappedFile::~MappedFile() {
    if (data_ != nullptr) {
        ::munmap(const_cast<std::uint8_t*>(data_), size_);
    }
}

std::string sha256_hex(std::span<const std::uint8_t> bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
    std::string hex;
    hex.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        hex += fmt::format("{:02x}", digest[i]);
    }
    return hex;
}

namespace {

// The identity an index entry records: any change to the file (a rewrite,
// a copy over it, touch) changes one of these.
std::string identity_line(const MappedFile& file) {
    const struct stat& s = file.identity();
    return fmt::format("{} {} {} {}.{:09} {}.{:09}", s.st_dev, s.st_ino, s.st_size,
                       s.st_mtim.tv_sec, s.st_mtim.tv_nsec, s.st_ctim.tv_sec, s.st_ctim.tv_nsec);
}

}  // namespace

std::string component_digest(const MappedFile& file, const std::filesystem::path& cache_dir,
                             bool& indexed) {
    indexed = false;
    if (cache_dir.empty()) {
        return sha256_hex(file.bytes());
    }
    std::error_code ec;
    const std::string path = std::filesystem::absolute(file.path(), ec).string();
    const std::string_view path_bytes = path;
    const auto entry =
        cache_dir / "digests" /
        sha256_hex({reinterpret_cast<const std::uint8_t*>(path_bytes.data()), path_bytes.size()});
    // An entry: the path, the file's identity, its digest; one line each.
    const std::string identity = identity_line(file);
    {
        std::ifstream in(entry);
        std::string recorded_path;
        std::string recorded_identity;
        std::string digest;
        if (std::getline(in, recorded_path) && std::getline(in, recorded_identity) &&
            std::getline(in, digest) && recorded_path == path && recorded_identity == identity &&
            digest.size() == 64) {
            indexed = true;
            return digest;
        }
    }
    std::string digest = sha256_hex(file.bytes());
    std::filesystem::create_directories(entry.parent_path(), ec);
    static std::atomic<std::uint64_t> writes{0};
    const auto tmp = entry.string() + fmt::format(".tmp{}-{}", ::getpid(), ++writes);
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << path << '\n' << identity << '\n' << digest << '\n';
    }
    std::filesystem::rename(tmp, entry, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
    }
    return digest;
}

}  // namespace torvyn::detail
