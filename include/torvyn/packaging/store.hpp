// A folder of content by digest, laid out as an OCI image layout (so what
// `torvyn pack` writes, what `torvyn pull` fills and what any OCI tool reads
// are the same thing): oci-layout, index.json naming what is tagged, and
// blobs/sha256/<hex>. Every blob is checked against its digest as it is
// written and read, and written whole or not at all (a temporary file,
// renamed), so an interrupted pull leaves nothing half-written.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "torvyn/packaging/oci.hpp"

namespace torvyn::oci {

class Store {
public:
    // Opens the layout at `dir`, making it when it is not there.
    static Result<Store> open_layout(const std::filesystem::path& dir);
    // Opens an existing layout (E0700 when `dir` is not one).
    static Result<Store> open_existing(const std::filesystem::path& dir);

    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
    [[nodiscard]] bool has(const std::string& digest) const;
    [[nodiscard]] std::filesystem::path path_of(const std::string& digest) const;
    // Stores `bytes` as `digest` (E0701 when they are not that).
    std::optional<Error> put(const std::string& digest, std::string_view bytes);
    // The bytes of `digest`, checked.
    Result<std::string> get(const std::string& digest) const;
    // Names `d` `ref` in index.json (replacing what had that name).
    std::optional<Error> tag(const Descriptor& d, const std::string& ref);
    // What index.json names `ref`; the only entry when `ref` is empty and
    // there is one.
    Result<std::optional<Descriptor>> find(const std::string& ref) const;
    [[nodiscard]] std::vector<Descriptor> entries() const;

private:
    explicit Store(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
};

// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
std::optional<Error> write_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace torvyn::oci
