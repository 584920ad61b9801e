#include "torvyn/packaging/signing.hpp"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace torvyn::oci {
namespace {

namespace fs = std::filesystem;

struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
    void operator()(BIO* b) const { BIO_free(b); }
};
template <class T>
using Owned = std::unique_ptr<T, Free>;

Error key_error(std::string_view what) {
    return Error(ErrorCode::signature_invalid, std::string(what), "",
                 "use a P-256 key pair from torvyn keygen (or cosign's cosign.pub to verify)");
}

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    return {data, static_cast<std::size_t>(len)};
}

std::string base64(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::string> unbase64(std::string_view text) {
    if (text.size() % 4 != 0 || text.empty()) {
        return std::nullopt;
    }
    std::string out(3 * text.size() / 4, '\0');
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0) {
        return std::nullopt;
    }
    std::size_t len = static_cast<std::size_t>(n);
    for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) {
        --len;  // EVP_DecodeBlock counts padding as bytes
    }
    out.resize(len);
    return out;
}

}  // namespace

Result<KeyPair> generate_key_pair() {
    Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
    if (!key) {
        return key_error("OpenSSL could not make a P-256 key");
    }
    Owned<BIO> priv(BIO_new(BIO_s_mem()));
    Owned<BIO> pub(BIO_new(BIO_s_mem()));
    if (PEM_write_bio_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1 ||
        PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1) {
        return key_error("OpenSSL could not write the key pair");
    }
    return KeyPair{bio_text(priv.get()), bio_text(pub.get())};
}

std::optional<Error> write_key_pair(const KeyPair& keys, const fs::path& key) {
    const fs::path pub = fs::path(key.string() + ".pub");
    for (const auto& p : {key, pub}) {
        if (fs::exists(p)) {
            return Error(ErrorCode::usage, fmt::format("{} exists; not overwriting it", p.string()),
                         "", "choose another path or remove the old key first");
        }
    }
    {
        std::ofstream out(key, std::ios::binary);
        out << keys.private_pem;
        if (!out) {
            return Error(ErrorCode::io, fmt::format("cannot write {}", key.string()));
        }
    }
    fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    std::ofstream out(pub, std::ios::binary);
    out << keys.public_pem;
    if (!out) {
        return Error(ErrorCode::io, fmt::format("cannot write {}", pub.string()));
    }
    return std::nullopt;
}

std::string simple_signing_payload(std::string_view repository, std::string_view digest,
                                   const std::map<std::string, std::string>& optional) {
    nlohmann::ordered_json payload = {{"critical",
                                       {{"identity", {{"docker-reference", repository}}},
                                        {"image", {{"docker-manifest-digest", digest}}},
                                        {"type", "cosign container image signature"}}},
                                      {"optional", nullptr}};
    if (!optional.empty()) {
        payload["optional"] = optional;
    }
    return payload.dump();
}

Result<std::string> sign_payload(std::string_view private_pem, std::string_view payload) {
    Owned<BIO> in(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
    Owned<EVP_PKEY> key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
    if (!key) {
        return key_error("not a PEM private key (PKCS#8); an encrypted cosign.key cannot be used");
    }
    Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    std::size_t len = 0;
    if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(payload.data()),
                       payload.size()) != 1) {
        return key_error("OpenSSL could not sign with this key");
    }
    std::string der(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len,
                       reinterpret_cast<const unsigned char*>(payload.data()),
                       payload.size()) != 1) {
        return key_error("OpenSSL could not sign with this key");
    }
    der.resize(len);
    return base64(der);
}

Result<bool> verify_payload(std::string_view public_pem, std::string_view payload,
                            std::string_view signature_b64) {
    Owned<BIO> in(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())));
    Owned<EVP_PKEY> key(PEM_read_bio_PUBKEY(in.get(), nullptr, nullptr, nullptr));
    if (!key) {
        return key_error("not a PEM public key");
    }
    const auto der = unbase64(signature_b64);
    if (!der) {
        return false;
    }
    Owned<EVP_MD_CTX> ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1) {
        return key_error("OpenSSL cannot verify with this key");
    }
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der->data()),
                            der->size(), reinterpret_cast<const unsigned char*>(payload.data()),
                            payload.size()) == 1;
}

Result<std::string> claimed_digest(std::string_view payload) {
    const auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded() || !j.contains("critical") || !j["critical"].contains("image") ||
        !j["critical"]["image"].contains("docker-manifest-digest") ||
        !j["critical"]["image"]["docker-manifest-digest"].is_string()) {
        return Error(ErrorCode::signature_invalid,
                     "a signature's payload names no docker-manifest-digest");
    }
    return j["critical"]["image"]["docker-manifest-digest"].get<std::string>();
}

}  // namespace torvyn::oci
