// torvyn sign REF --key KEY: signs what REF names in its registry, as cosign
// does in key mode (a layer added to the sha256-<hex>.sig manifest), so that
// `cosign verify --key KEY.pub` and `torvyn run REF --trust KEY.pub` accept it.
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/packaging/signatures.hpp"

namespace torvyn::cli {
namespace {

struct SignArgs {
    std::string reference;
    std::string key;
    bool insecure = false;
};

int sign(const SignArgs& args) {
    const Diagnostics diag;
    auto reference = oci::parse_reference(args.reference);
    if (!reference) {
        diag.error(reference.error());
        return kExitInvalid;
    }
    std::ifstream in(args.key);
    std::ostringstream pem;
    pem << in.rdbuf();
    if (!in) {
        diag.error(Error(ErrorCode::io, fmt::format("cannot read the key {}", args.key), "",
                         "make one with torvyn keygen"));
        return kExitInvalid;
    }
    oci::Registry registry(*reference, {args.insecure});
    // What the reference names now: its digest is what is signed.
    auto fetched = registry.get_manifest(reference->manifest_ref());
    if (!fetched) {
        diag.error(fetched.error());
        return kExitRunFailed;
    }
    auto count = oci::sign_digest(registry, *reference, fetched->digest, pem.str());
    if (!count) {
        diag.error(count.error());
        return count.error().code == ErrorCode::signature_invalid ? kExitInvalid : kExitRunFailed;
    }
    fmt::print("signed {}/{}@{} ({} signature(s) under {})\n", reference->host,
               reference->repository, fetched->digest, *count, oci::signature_tag(fetched->digest));
    return kExitOk;
}

}  // namespace

std::function<int()> define_sign(CLI::App& command) {
    auto args = std::make_shared<SignArgs>();
    command.add_option("reference", args->reference, "HOST/REPO:TAG or HOST/REPO@sha256:...")
        ->required();
    command.add_option("--key", args->key, "The private key (torvyn keygen)")->required();
    command.add_flag("--insecure", args->insecure, "Plain HTTP, whatever the host");
    return [args] { return sign(*args); };
}

}  // namespace torvyn::cli
