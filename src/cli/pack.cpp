// torvyn pack: the manifest's pipeline and its components as OCI artifacts,
// in an OCI image layout that any OCI tool reads (skopeo copy oci:DIR:TAG).
#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/packaging/archive.hpp"
#include "torvyn/packaging/pack.hpp"
#include "torvyn/packaging/resolve.hpp"

namespace torvyn::cli {
namespace {

struct PackArgs : CommonArgs {
    std::string out = "torvyn-oci";
    std::string tag;
    oci::PackOptions options;
};

int pack(const PackArgs& args) {
    const Diagnostics diag;
    auto manifest = load_checked(args, diag);
    if (!manifest) {
        return kExitInvalid;
    }
    auto packed = oci::pack(*manifest, component_path(args), args.options);
    if (!packed) {
        diag.error(packed.error());
        return kExitInvalid;
    }
    const std::string tag = args.tag.empty() ? "latest" : args.tag;
    // x.tar: the layout written to a folder beside it, then archived.
    const bool tar = args.out.size() > 4 && args.out.substr(args.out.size() - 4) == ".tar";
    const std::string layout = tar ? args.out + ".layout" : args.out;
    if (tar) {
        std::filesystem::remove_all(layout);
    }
    if (auto e = oci::write_layout(*packed, layout, tag)) {
        diag.error(*e);
        return kExitInvalid;
    }
    if (tar) {
        auto e = oci::write_tar(layout, args.out);
        std::filesystem::remove_all(layout);
        if (e) {
            diag.error(*e);
            return kExitInvalid;
        }
    }
    std::uint64_t total = 0;
    for (const auto& b : packed->blobs) {
        total += b.descriptor.size;
    }
    fmt::print("packed {} -> {} (OCI image layout{}, tag '{}'; {} blobs, {})\n",
               manifest->path.string(), args.out, tar ? " in a tar" : "", tag, packed->blobs.size(),
               oci::size_text(total));
    fmt::print("  pipeline  {}\n", packed->pipeline.digest);
    for (const auto& c : packed->components) {
        fmt::print("  {:<28} {}  {}{}\n", c.file, c.manifest.digest, oci::size_text(c.wasm.size),
                   c.language.empty() ? "" : fmt::format(", {}", c.language));
    }
    return kExitOk;
}

}  // namespace

std::function<int()> define_pack(CLI::App& command) {
    auto args = std::make_shared<PackArgs>();
    add_common(command, *args, true);
    command
        .add_option("--out,-o", args->out,
                    "The OCI image layout folder to write (or add) to, or x.tar for one file")
        ->capture_default_str();
    command.add_option("--tag", args->tag, "Name the pipeline in the layout (default: latest)");
    command.add_option("--name", args->options.name,
                       "The pipeline's name (default: the manifest's folder)");
    command.add_option("--version", args->options.version,
                       "The pipeline's version (default: 0.0.0)");
    command.add_option("--description", args->options.description,
                       "What it does (default: the first flow's description)");
    command.add_option("--source", args->options.source, "Where its source lives (a URL)");
    return [args] { return pack(*args); };
}

}  // namespace torvyn::cli
