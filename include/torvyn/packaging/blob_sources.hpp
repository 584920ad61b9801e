// Which repositories of which registries are known to hold a blob: those this
// machine pushed it to or pulled it from. `torvyn publish` to another
// repository of the same registry then asks the registry to mount the blob
// from there instead of uploading it again. Only a hint (a wrong one costs an
// upload, never correctness: the registry checks the mount), kept bounded in
// the local store as torvyn/blob-sources.json, newest records last.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/core/error.hpp"

namespace torvyn::oci {

class BlobSources {
public:
    // Records kept (the oldest go first); a record is ~150 bytes.
    static constexpr std::size_t kMaxRecords = 4096;
    // A file larger than this is not read (and is replaced on the next save).
    static constexpr std::size_t kMaxFileBytes = 2U << 20U;

    // The record of the local store at `store_dir`; empty when it has none
    // or it is unreadable.
    static BlobSources open(const std::filesystem::path& store_dir);

    // A repository of `host` other than `repository` known to hold `digest`
    // (the newest such record), or empty.
    [[nodiscard]] std::string find(const std::string& digest, const std::string& host,
                                   const std::string& repository) const;
    // Records that `host`/`repository` holds `digest`.
    void add(const std::string& digest, const std::string& host, const std::string& repository);
    // Writes the record (atomically) when it changed.
    std::optional<Error> save();
    [[nodiscard]] std::size_t size() const { return records_.size(); }
    [[nodiscard]] const std::filesystem::path& file() const { return file_; }

private:
    struct Record {
        std::string digest;
        std::string host;
        std::string repository;
    };
    explicit BlobSources(std::filesystem::path file) : file_(std::move(file)) {}
    std::filesystem::path file_;
    std::vector<Record> records_;
    bool changed_ = false;
};

}  // namespace torvyn::oci
