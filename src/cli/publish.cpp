// torvyn publish: the pipeline (packed from a manifest, or as an OCI layout
// holds it) and its components pushed to an OCI registry; blobs the registry
// has are skipped, blobs another of its repositories has (as the local store
// remembers) mounted, large blobs uploaded in chunks.
#include <chrono>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/packaging/pack.hpp"
#include "torvyn/packaging/registry.hpp"
#include "torvyn/packaging/resolve.hpp"

namespace torvyn::cli {
namespace {

struct PublishArgs {
    std::vector<std::string> positionals;  // [SOURCE] REF
    std::vector<std::string> component_path;
    bool insecure = false;
    std::uint64_t chunk_bytes = oci::kDefaultChunkBytes;
    oci::PackOptions options;
};

// The store holding the pipeline and the index to push: the layout named, or
// the manifest packed into the local store.
Result<std::pair<oci::Store, oci::Descriptor>> source_of(const PublishArgs& args,
                                                         const std::string& source,
                                                         const Diagnostics& diag) {
    if (auto layout = oci::layout_reference(source)) {
        auto named = oci::open_layout_entry(*layout);
        if (!named) {
            return named.error();
        }
        return std::pair{std::move(named->store), std::move(named->entry)};
    }
    CommonArgs common;
    common.manifest = source;
    common.component_path = args.component_path;
    auto manifest = load_checked(common, diag);
    if (!manifest) {
        return Error(ErrorCode::usage, fmt::format("cannot publish {}", source));
    }
    auto packed = oci::pack(*manifest, component_path(common), args.options);
    if (!packed) {
        return packed.error();
    }
    auto store = oci::Store::open_layout(oci::default_store_dir());
    if (!store) {
        return store.error();
    }
    for (const auto& blob : packed->blobs) {
        if (auto e = store->put(blob.descriptor.digest, blob.bytes)) {
            return *e;
        }
    }
    return std::pair{std::move(store).value(), packed->pipeline};
}

int publish(const PublishArgs& args) {
    const Diagnostics diag;
    const auto started = std::chrono::steady_clock::now();
    const std::string source = args.positionals.size() == 2 ? args.positionals[0] : ".";
    auto reference = oci::parse_reference(args.positionals.back());
    if (!reference) {
        diag.error(reference.error());
        return kExitInvalid;
    }
    auto from = source_of(args, source, diag);
    if (!from) {
        if (from.error().code != ErrorCode::usage) {
            diag.error(from.error());
        }
        return kExitInvalid;
    }
    auto& [store, index] = from.value();
    oci::Registry registry(*reference, {args.insecure, args.chunk_bytes});
    // Where blobs went is remembered in the local store, whichever layout
    // the pipeline came from: a later publish to the same registry mounts.
    auto sources = oci::BlobSources::open(oci::default_store_dir());
    auto pushed = oci::push_pipeline(registry, store, index, *reference, &sources);
    if (!pushed) {
        diag.error(pushed.error());
        return kExitInvalid;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("published {} -> {} in {:.2f} s\n", source, reference->text(), seconds);
    fmt::print("  pipeline  {}  ({} bytes, {})\n", index.digest, index.size, index.media_type);
    fmt::print(
        "  pushed {} blobs and manifests ({}); mounted {} from other repositories; skipped {}, "
        "already in the registry\n",
        pushed->blobs, oci::size_text(pushed->bytes), pushed->mounted, pushed->skipped);
    fmt::print("  {}/{}@{}\n", reference->host, reference->repository, index.digest);
    return kExitOk;
}

}  // namespace

std::function<int()> define_publish(CLI::App& command) {
    auto args = std::make_shared<PublishArgs>();
    command
        .add_option("arguments", args->positionals,
                    "[MANIFEST|DIR|oci:DIR:TAG] REF: what to publish (default: .) and where, "
                    "HOST[:PORT]/REPOSITORY[:TAG]")
        ->required()
        ->expected(1, 2);
    command.add_option("--component-path,-L", args->component_path,
                       "Folder to search for component files (repeatable)");
    command.add_flag(
        "--insecure", args->insecure,
        "Plain HTTP (the default for 127.0.0.1, localhost and [::1]; HTTPS otherwise)");
    command
        .add_option("--chunk-size", args->chunk_bytes,
                    fmt::format("Upload blobs larger than BYTES in chunks of BYTES (PATCH "
                                "requests; default {}, or the registry's OCI-Chunk-Min-Length "
                                "when larger), smaller ones in one request",
                                oci::kDefaultChunkBytes))
        ->option_text("BYTES")
        ->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{oci::kDefaultChunkBytes} << 7U));
    command.add_option("--name", args->options.name, "The pipeline's name (default: its folder)");
    command.add_option("--version", args->options.version, "The pipeline's version");
    return [args] { return publish(*args); };
}

}  // namespace torvyn::cli
