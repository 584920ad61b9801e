// Component files as the engine reads them: mapped, not copied (a language
// runtime's component is 10-20 MB), and their SHA-256 remembered in an index
// beside the compile cache, so a warm start does not hash an unchanged file
// again. Included by the engine's sources only.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "torvyn/core/error.hpp"

namespace torvyn::detail {

// A component file mapped read-only; what it was when it was opened (device,
// inode, size, times) is its identity.
class MappedFile {
public:
    static Result<MappedFile> open(const std::filesystem::path& file);
    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&&) = delete;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return {data_, size_}; }
    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] const struct stat& identity() const { return identity_; }

private:
    MappedFile() = default;
    std::filesystem::path path_;
    struct stat identity_ {};
    const std::uint8_t* data_ = nullptr;
    std::size_t size_ = 0;
};

std::string sha256_hex(std::span<const std::uint8_t> bytes);

// The file's SHA-256: from the index in `cache_dir` when the file's identity
// is the one recorded there, else hashed now and recorded (written to a
// temporary name, then renamed). `indexed` tells which. No index without a
// cache directory.
std::string component_digest(const MappedFile& file, const std::filesystem::path& cache_dir,
                             bool& indexed);

}  // namespace torvyn::detail
