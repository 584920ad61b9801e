// The manifest an argument names: a Torvyn.toml or its folder, a packed
// pipeline's OCI layout, or a registry reference (from the local store, else
// pulled), with the trusted keys checked before anything else.
#include "torvyn/packaging/source.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "torvyn/packaging/registry.hpp"
#include "torvyn/packaging/resolve.hpp"
#include "torvyn/packaging/signatures.hpp"

namespace torvyn::oci {

namespace {

Result<std::vector<std::string>> read_keys(const std::vector<std::string>& files) {
    std::vector<std::string> keys;
    for (const auto& f : files) {
        std::ifstream in(f);
        std::ostringstream s;
        s << in.rdbuf();
        if (!in) {
            return Error(ErrorCode::io, fmt::format("cannot read the key {}", f), "",
                         "give a public key file (torvyn keygen's KEY.pub, cosign's cosign.pub)");
        }
        keys.push_back(s.str());
    }
    return keys;
}

// --trust: the pipeline `index` must be signed by a trusted key.
std::optional<Error> check_trust(Registry& registry, Store& store, const Reference& reference,
                                 const Descriptor& index, const std::vector<std::string>& trust) {
    auto keys = read_keys(trust);
    if (!keys) {
        return keys.error();
    }
    auto verdict = check_signatures(registry, store, reference, index.digest, *keys);
    if (!verdict) {
        return verdict.error();
    }
    if (verdict->trust == Trust::unsigned_artifact) {
        return Error(
            ErrorCode::unsigned_artifact,
            fmt::format("{}@{} is not signed; --trust refuses it", reference.text(), index.digest),
            "", "sign it (torvyn sign REF --key KEY) or run without --trust");
    }
    if (verdict->trust == Trust::untrusted) {
        return Error(ErrorCode::untrusted_artifact,
                     fmt::format("{}@{}: none of its {} signature(s) verifies with a trusted key",
                                 reference.text(), index.digest, verdict->signatures),
                     "", "check the --trust key, or who signed it");
    }
    return std::nullopt;
}

// A registry reference: the pipeline from the local store when it has it
// (pulled or published before: no network), else pulled into it first.
Result<std::filesystem::path> pulled_manifest(const std::string& argument,
                                              const std::vector<std::string>& trust) {
    auto reference = parse_reference(argument);
    if (!reference) {
        return reference.error();
    }
    auto store = Store::open_layout(default_store_dir());
    if (!store) {
        return store.error();
    }
    auto found = store->find(reference->text());
    if (!found) {
        return found.error();
    }
    Descriptor index;
    if (found.value()) {
        index = *found.value();
    } else {
        Registry registry(*reference, {});
        auto sources = BlobSources::open(store->dir());
        auto pulled = pull_pipeline(registry, *store, *reference, &sources);
        if (!pulled) {
            return pulled.error();
        }
        index = pulled->index;
    }
    if (!trust.empty()) {
        Registry registry(*reference, {});
        if (auto e = check_trust(registry, *store, *reference, index, trust)) {
            return *e;
        }
    }
    auto materialized = materialize(*store, index);
    if (!materialized) {
        return materialized.error();
    }
    return materialized->manifest;
}

}  // namespace

Result<std::filesystem::path> manifest_of(const std::string& argument,
                                          const std::vector<std::string>& trust) {
    if (auto layout = layout_reference(argument)) {
        if (!trust.empty()) {
            return Error(ErrorCode::unsigned_artifact,
                         fmt::format("{} is a layout: its signatures live in a registry", argument),
                         "", "publish it and run the reference, or run without --trust");
        }
        auto named = open_layout_entry(*layout);
        if (!named) {
            return named.error();
        }
        auto materialized = materialize(named->store, named->entry);
        if (!materialized) {
            return materialized.error();
        }
        return materialized->manifest;
    }
    std::error_code ec;
    if (looks_like_reference(argument) && !std::filesystem::exists(argument, ec)) {
        return pulled_manifest(argument, trust);
    }
    return std::filesystem::path(argument);
}

}  // namespace torvyn::oci
