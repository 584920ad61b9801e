// Where a pipeline comes from, as a verb's argument or a deployment names
// it: a Torvyn.toml or its folder, a packed pipeline (an OCI layout folder,
// oci:DIR[:TAG]), or a registry reference (HOST/REPO[:TAG|@DIGEST]), taken
// from the local store when it is there (no network), else pulled into it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "torvyn/core/error.hpp"

namespace torvyn::oci {

// The manifest file `argument` names; a packed or pulled pipeline is written
// out beside its blobs first. With `trust` (public key files), a registry
// pipeline must be signed by one of them (E0711 unsigned, E0712 not by a
// trusted key), checked before anything is compiled.
Result<std::filesystem::path> manifest_of(const std::string& argument,
                                          const std::vector<std::string>& trust = {});

}  // namespace torvyn::oci
