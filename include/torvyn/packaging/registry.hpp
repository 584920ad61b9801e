// A client of the OCI distribution API (v2), on libcurl: references, manifests
// and blobs pulled with every digest checked, blobs pushed (skipped when the
// registry has them; mounted from another repository of the registry when the
// local store knows one that has them; uploaded in one request, or in chunks
// when larger than a chunk), manifests pushed under a tag or their digest.
// Credentials come from the user's container auth config (what `podman
// login` / `docker login` wrote): basic, and bearer tokens fetched from the
// realm a 401 names. HTTPS, trusting the CAs of SSL_CERT_FILE / SSL_CERT_DIR
// when set, else the system's; a loopback registry that answers a TLS
// handshake in plain HTTP is spoken to in plain HTTP from then on (never one
// whose certificate does not verify); `insecure` asks for plain HTTP.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "torvyn/packaging/blob_sources.hpp"
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

// Blobs larger than this go up in chunks (PATCH by PATCH), smaller ones in
// one request: a chunk is what a failed request costs again.
inline constexpr std::uint64_t kDefaultChunkBytes = 8U << 20U;

struct RegistryOptions {
    bool insecure = false;  // plain HTTP whatever the host
    // The largest upload request; the registry's OCI-Chunk-Min-Length when
    // it asks for more. At least 1.
    std::uint64_t chunk_bytes = kDefaultChunkBytes;
};

enum class BlobPushed { uploaded, mounted };

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
    // Puts `bytes` in the repository as `digest` (upload.cpp): mounted from
    // `mount_from` (another repository of this registry) when it is given and
    // the registry agrees, else uploaded: POST, then PUT ?digest= with the
    // body, or PATCHes of at most a chunk each and a PUT without one.
    Result<BlobPushed> push_blob(const std::string& digest, std::string_view bytes,
                                 const std::string& mount_from = {});
    // Stores a manifest or index under `ref` (a tag or its digest).
    std::optional<Error> push_manifest(const std::string& ref, std::string_view media_type,
                                       std::string_view bytes);
    // The blob `d` describes: at most d.size bytes, hashing to d.digest.
    Result<std::string> get_blob(const Descriptor& d);
    // Where the credentials came from (for hints), or empty.
    [[nodiscard]] const std::string& credentials_source() const;

private:
    Result<bool> has(const std::string& digest, bool manifest);

    // One request of an upload session (upload.cpp), sent with the session's
    // credentials; `url` is absolute or a path under the registry.
    struct Answer {
        long status = 0;
        std::map<std::string, std::string> headers;  // names in lower case
        Error failure;  // what the answer means when it is not the expected one
    };
    Result<Answer> exchange(const std::string& method, const std::string& url,
                            const std::vector<std::string>& headers, std::string_view body,
                            std::string_view what);
    // A Location the registry answered, made absolute.
    [[nodiscard]] std::string absolute(const std::string& location) const;
    std::optional<Error> send_chunks(std::string& location, const std::string& digest,
                                     std::string_view bytes, std::uint64_t chunk);

    Reference reference_;
    RegistryOptions options_;
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
    std::size_t mounted = 0;  // blobs mounted from another repository of the registry
    std::size_t skipped = 0;  // already there
    std::uint64_t bytes = 0;  // moved
};

// Pushes the pipeline `index` from `store` to `reference` (its tag, or its
// digest), blobs the registry has skipped, blobs `sources` knows in another
// repository of the registry mounted from there; what the registry holds now
// is added to `sources` (and saved) when it is given.
Result<Transfer> push_pipeline(Registry& registry, const Store& store, const Descriptor& index,
                               const Reference& reference, BlobSources* sources = nullptr);
// Pulls the pipeline `reference` names into `store` (blobs it has skipped,
// every digest checked, the index stored last) and tags it with the reference;
// where its blobs came from is added to `sources` when it is given.
Result<Transfer> pull_pipeline(Registry& registry, Store& store, const Reference& reference,
                               BlobSources* sources = nullptr);

}  // namespace torvyn::oci
