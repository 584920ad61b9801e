// Key-mode signatures (docs/cosign-interop.md): Torvyn's keys and signatures
// checked by OpenSSL's command line, and the payload cosign expects.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "torvyn/packaging/signing.hpp"

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

const std::string kDigest =
    "sha256:6aad2942b79a1fb81a8fb1984f2118dd10d6a0b16f2cd83fa9d716042d8b3c36";

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::path(TORVYN_TEST_TMP_DIR) / "signing" / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary) << bytes;
}

TEST(Signing, ThePayloadIsCosignsSimpleSigningForm) {
    EXPECT_EQ(simple_signing_payload("127.0.0.1:5000/demo", kDigest),
              R"({"critical":{"identity":{"docker-reference":"127.0.0.1:5000/demo"},)"
              R"("image":{"docker-manifest-digest":")" +
                  kDigest + R"("},"type":"cosign container image signature"},"optional":null})");
    const auto with = nlohmann::json::parse(
        simple_signing_payload("h/r", kDigest, {{"dev.torvyn/pipeline", "hello"}}));
    EXPECT_EQ(with["optional"]["dev.torvyn/pipeline"], "hello");
    EXPECT_EQ(claimed_digest(simple_signing_payload("h/r", kDigest)).value(), kDigest);
    EXPECT_FALSE(claimed_digest(R"({"critical":{}})"));
}

TEST(Signing, SignaturesVerifyAndAnythingAlteredDoesNot) {
    auto keys = generate_key_pair();
    ASSERT_TRUE(keys);
    const std::string payload = simple_signing_payload("h/r", kDigest);
    auto sig = sign_payload(keys->private_pem, payload);
    ASSERT_TRUE(sig);
    EXPECT_TRUE(verify_payload(keys->public_pem, payload, *sig).value());
    std::string other = payload;
    other[10] = 'X';
    EXPECT_FALSE(verify_payload(keys->public_pem, other, *sig).value());
    auto stranger = generate_key_pair();
    EXPECT_FALSE(verify_payload(stranger->public_pem, payload, *sig).value());
    EXPECT_FALSE(verify_payload(keys->public_pem, payload, "not base64!").value());
    EXPECT_FALSE(verify_payload("not a key", payload, *sig));
    EXPECT_FALSE(sign_payload("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n", payload));
}

TEST(Signing, OpensslAcceptsTheKeysAndTheDerSignature) {
    const fs::path dir = fresh_dir("openssl");
    auto keys = generate_key_pair();
    ASSERT_FALSE(write_key_pair(*keys, dir / "torvyn.key"));
    EXPECT_EQ(fs::status(dir / "torvyn.key").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_TRUE(write_key_pair(*keys, dir / "torvyn.key").has_value());  // no overwriting
    const std::string payload = simple_signing_payload("h/r", kDigest);
    write(dir / "payload", payload);
    write(dir / "sig.b64", sign_payload(keys->private_pem, payload).value());
    const std::string cd = "cd '" + dir.string() + "' && ";
    ASSERT_EQ(std::system((cd + "openssl base64 -d -A -in sig.b64 -out sig.der").c_str()), 0);
    EXPECT_EQ(std::system((cd + "openssl dgst -sha256 -verify torvyn.key.pub -signature "
                                "sig.der payload > /dev/null")
                              .c_str()),
              0);
    EXPECT_EQ(std::system((cd + "openssl pkey -pubin -in torvyn.key.pub -text -noout | grep -q "
                                "prime256v1")
                              .c_str()),
              0);
    // And a signature OpenSSL made verifies here.
    ASSERT_EQ(std::system((cd + "openssl dgst -sha256 -sign torvyn.key -out by-openssl.der "
                                "payload && openssl base64 -A -in by-openssl.der -out by-openssl")
                              .c_str()),
              0);
    // cosign (offline, key mode) verifies Torvyn's signature with Torvyn's
    // public key, and refuses it for another payload.
    const std::string cosign = std::string("'") + TORVYN_COSIGN +
                               "' verify-blob --key torvyn.key.pub --signature sig.b64 "
                               "--insecure-ignore-tlog ";
    EXPECT_EQ(std::system((cd + cosign + "payload > /dev/null 2>&1").c_str()), 0);
    write(dir / "other", payload + " ");
    EXPECT_NE(std::system((cd + cosign + "other > /dev/null 2>&1").c_str()), 0);
    std::ifstream in(dir / "by-openssl");
    std::string b64((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_TRUE(verify_payload(keys->public_pem, payload, b64).value());
}

}  // namespace
}  // namespace torvyn::oci
