// A client of the OCI distribution API (v2), on libcurl: references, manifests
// and blobs pulled with every digest checked, blobs pushed with a monolithic
// upload (skipped when the registry has them), manifests pushed under a tag or
// their digest. Credentials come from the user's container auth config (what
// `podman login` / `docker login` wrote): basic, and bearer tokens fetched
// from the realm a 401 names. HTTPS, trusting the CAs of SSL_CERT_FILE /
// SSL_CERT_DIR when set, else the system's; a loopback registry that answers
// a TLS handshake in plain HTTP is spoken to in plain HTTP from then on (never
// one whose certificate does not verify); `insecure` asks for plain HTTP.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "torvyn/packaging/oci.hpp"
#include "torvyn/packaging/store.hpp"

namespace torvyn::oci {

// HOST[:PORT]/REPO[:TAG|@sha256:HEX]; the tag is "latest" when neither is given.
struct Reference {
    std::string host;  // "registry.example.com", "127.0.0.1:5000", "[::1]:5000"
    std::string repository;
    std::string tag;     // empty when `digest` is given
    std::string digest;  // empty when named by tag

    // The tag or the digest: what /v2/<repo>/manifests/<...> takes.
    [[nodiscard]] const std::string& manifest_ref() const { return digest.empty() ? tag : digest; }
    [[nodiscard]] std::string text() const;
};
Result<Reference> parse_reference(std::string_view text);
// Whether `text` reads as a registry reference rather than a file: its part
// before the first '/' names a host (has a '.' or ':', or is localhost).
bool looks_like_reference(std::string_view text);

struct RegistryOptions {
    bool insecure = false;  // plain HTTP whatever the host
};

struct Fetched {
    std::string media_type;
    std::string digest;
    std::string bytes;
};

class Registry {
public:
    Registry(const Reference& reference, RegistryOptions options);
    Registry(Registry&&) noexcept;
    Registry& operator=(Registry&&) noexcept;
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;
    ~Registry();

    // The manifest or index `ref` (a tag or a digest) names, its digest checked.
    Result<Fetched> get_manifest(const std::string& ref);
    // Whether the repository has the blob `digest`.
    Result<bool> has_blob(const std::string& digest);
    // Whether the repository has the manifest or index `digest`.
    Result<bool> has_manifest(const std::string& digest);
    // Uploads `bytes` as `digest` (POST, then PUT ?digest= with the body).
    std::optional<Error> push_blob(const std::string& digest, std::string_view bytes);
    // Stores a manifest or index under `ref` (a tag or its digest).
    std::optional<Error> push_manifest(const std::string& ref, std::string_view media_type,
                                       std::string_view bytes);
    // The blob `d` describes: at most d.size bytes, hashing to d.digest.
    Result<std::string> get_blob(const Descriptor& d);
    // Where the credentials came from (for hints), or empty.
    [[nodiscard]] const std::string& credentials_source() const;

private:
    Result<bool> has(const std::string& digest, bool manifest);
    struct State;
    std::unique_ptr<State> state_;
};

// What a pipeline is made of, in push order: every config and layer, then the
// manifests, then the index itself.
Result<std::vector<Descriptor>> pipeline_contents(const Store& store, const Descriptor& index);

// The local store pulled pipelines live in: $XDG_CACHE_HOME/torvyn/oci (or
// ~/.cache/torvyn/oci).
std::filesystem::path default_store_dir();

struct Transfer {
    Descriptor index;
    std::size_t blobs = 0;    // blobs and manifests moved
    std::size_t skipped = 0;  // already there
    std::uint64_t bytes = 0;  // moved
};

// Pushes the pipeline `index` from `store` to `reference` (its tag, or its
// digest), blobs the registry has skipped.
Result<Transfer> push_pipeline(Registry& registry, const Store& store, const Descriptor& index,
                               const Reference& reference);
// Pulls the pipeline `reference` names into `store` (blobs it has skipped,
// every digest checked, the index stored last) and tags it with the reference.
Result<Transfer> pull_pipeline(Registry& registry, Store& store, const Reference& reference);

}  // namespace torvyn::oci
