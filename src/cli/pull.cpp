// torvyn pull: a published pipeline fetched into the local store (an OCI
// image layout in the user's cache), every digest checked, blobs it has
// skipped; `torvyn run REF` then needs no network.
#include <chrono>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/packaging/registry.hpp"

namespace torvyn::cli {
namespace {

struct PullArgs {
    std::string reference;
    bool insecure = false;
};

int pull(const PullArgs& args) {
    const Diagnostics diag;
    const auto started = std::chrono::steady_clock::now();
    auto reference = oci::parse_reference(args.reference);
    if (!reference) {
        diag.error(reference.error());
        return kExitInvalid;
    }
    auto store = oci::Store::open_layout(oci::default_store_dir());
    if (!store) {
        diag.error(store.error());
        return kExitInvalid;
    }
    oci::Registry registry(*reference, {args.insecure});
    auto sources = oci::BlobSources::open(store->dir());
    auto pulled = oci::pull_pipeline(registry, *store, *reference, &sources);
    if (!pulled) {
        diag.error(pulled.error());
        return kExitInvalid;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    fmt::print("pulled {} in {:.2f} s into {}\n", reference->text(), seconds,
               store->dir().string());
    fmt::print("  fetched {} blobs and manifests ({} bytes); {} already in the store\n",
               pulled->blobs, pulled->bytes, pulled->skipped);
    fmt::print("  digest {}\n", pulled->index.digest);
    return kExitOk;
}

}  // namespace

std::function<int()> define_pull(CLI::App& command) {
    auto args = std::make_shared<PullArgs>();
    command.add_option("reference", args->reference, "HOST[:PORT]/REPOSITORY[:TAG|@DIGEST]")
        ->required();
    command.add_flag(
        "--insecure", args->insecure,
        "Plain HTTP (the default for 127.0.0.1, localhost and [::1]; HTTPS otherwise)");
    return [args] { return pull(*args); };
}

}  // namespace torvyn::cli
