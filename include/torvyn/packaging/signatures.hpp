// Signatures of published artifacts, stored as cosign stores them in key mode
// (docs/cosign-interop.md): a manifest tagged sha256-<hex>.sig in the
// artifact's repository, one simple-signing layer per signature. Torvyn adds
// its signature as a layer (keeping other signers'), and accepts an
// artifact when any layer verifies with a trusted key and names its digest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "torvyn/packaging/registry.hpp"
#include "torvyn/packaging/store.hpp"

namespace torvyn::oci {

// "sha256-<hex>.sig"
std::string signature_tag(std::string_view digest);

// Signs `digest` in `reference`'s repository with the private key `pem`.
// Returns how many signatures it has now.
Result<std::size_t> sign_digest(Registry& registry, const Reference& reference,
                                const std::string& digest, std::string_view private_pem);

enum class Trust : std::uint8_t { unsigned_artifact, untrusted, trusted };
struct Verdict {
    Trust trust = Trust::unsigned_artifact;
    std::size_t signatures = 0;
};

// Checks `digest`'s signatures against `public_pems`: from `store` when it
// holds them (no network), else from the registry; what verifies is kept in
// `store` (tagged <repo>:sha256-<hex>.sig) for later runs.
Result<Verdict> check_signatures(Registry& registry, Store& store, const Reference& reference,
                                 const std::string& digest,
                                 const std::vector<std::string>& public_pems);

}  // namespace torvyn::oci
