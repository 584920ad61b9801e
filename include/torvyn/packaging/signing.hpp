// Key-mode signatures that cosign and Torvyn both accept
// (docs/cosign-interop.md): ECDSA P-256 over SHA-256 of a "simple signing"
// payload naming the signed manifest's digest, ASN.1 DER, base64. Keys are
// PEM: PKCS#8 private (written 0600), PKIX public (what `cosign verify
// --key` reads, byte for byte the form cosign writes).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "torvyn/core/error.hpp"

namespace torvyn::oci {

inline constexpr std::string_view kSimpleSigningType =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view kSignatureAnnotation = "dev.cosignproject.cosign/signature";

struct KeyPair {
    std::string private_pem;
    std::string public_pem;
};
Result<KeyPair> generate_key_pair();
// Writes KEY (0600) and KEY.pub; refuses to overwrite.
std::optional<Error> write_key_pair(const KeyPair& keys, const std::filesystem::path& key);

// The payload cosign writes for `digest` in `repository` (no tag, no digest),
// with `optional` string claims (none: null).
std::string simple_signing_payload(std::string_view repository, std::string_view digest,
                                   const std::map<std::string, std::string>& optional = {});

// Base64 of the DER ECDSA signature of `payload` by the private key `pem`.
Result<std::string> sign_payload(std::string_view private_pem, std::string_view payload);
// Whether `signature_b64` is `payload` signed by the public key `pem`.
Result<bool> verify_payload(std::string_view public_pem, std::string_view payload,
                            std::string_view signature_b64);
// The digest a payload claims (critical.image.docker-manifest-digest).
Result<std::string> claimed_digest(std::string_view payload);

}  // namespace torvyn::oci
