// An OCI image layout as one tar file (`torvyn pack -o x.tar`, what skopeo
// calls oci-archive:), written with libarchive: entries in a fixed order,
// owned by 0:0, dated 0, so the same layout gives the same bytes.
#pragma once

#include <filesystem>
#include <optional>

#include "torvyn/core/error.hpp"

namespace torvyn::oci {

// Writes every file under `layout` to the tar `out` (replacing it whole).
std::optional<Error> write_tar(const std::filesystem::path& layout,
                               const std::filesystem::path& out);

}  // namespace torvyn::oci
