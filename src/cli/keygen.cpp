// torvyn keygen [KEY]: a P-256 key pair for signing pipelines: KEY (PKCS#8
// PEM, 0600) and KEY.pub (PKIX PEM, what `torvyn run --trust` and `cosign
// verify --key` read).
#include <fmt/format.h>

#include "common.hpp"
#include "torvyn/packaging/signing.hpp"

namespace torvyn::cli {

std::function<int()> define_keygen(CLI::App& command) {
    auto key = std::make_shared<std::string>("torvyn.key");
    command.add_option("key", *key, "Where the private key goes (the public key: KEY.pub)")
        ->capture_default_str();
    return [key] {
        const Diagnostics diag;
        auto keys = oci::generate_key_pair();
        if (!keys) {
            diag.error(keys.error());
            return kExitInvalid;
        }
        if (auto e = oci::write_key_pair(*keys, *key)) {
            diag.error(*e);
            return kExitInvalid;
        }
        fmt::print("wrote {} (private, keep it secret) and {}.pub (public, share it)\n", *key,
                   *key);
        return kExitOk;
    };
}

}  // namespace torvyn::cli
