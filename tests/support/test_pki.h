// Test helpers: a throw-away PKI made with the OpenSSL API (EC P-256 keys,
// CA / server / client certificates as PEM files) for the TLS tests of the
// server and the SDK. Header-only; failures are gtest assertions.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "custos/core/bytes.h"

namespace custos::test_support {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

struct Credential {
  KeyPtr key{nullptr, EVP_PKEY_free};
  CertPtr cert{nullptr, X509_free};
  std::string cert_file;
  std::string key_file;
};

enum class Role { kCa, kServer, kClient };

inline void add_extension(X509* cert, X509V3_CTX* context, int nid, const char* value) {
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, context, nid, value);
  ASSERT_NE(extension, nullptr) << value;
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// Issues a certificate for a fresh P-256 key, signed by `issuer` (self-signed when null).
inline void issue(Credential& out, const std::string& common_name, Role role, const Credential* issuer,
           long serial) {
  out.key = KeyPtr(EVP_EC_gen("P-256"), EVP_PKEY_free);
  ASSERT_NE(out.key, nullptr);
  out.cert = CertPtr(X509_new(), X509_free);
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("custos test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509* issuer_cert = issuer != nullptr ? issuer->cert.get() : cert;
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer_cert, cert, nullptr, nullptr, 0);
  add_extension(cert, &context, NID_subject_key_identifier, "hash");
  add_extension(cert, &context, NID_authority_key_identifier, "keyid:always");
  switch (role) {
    case Role::kCa:
      add_extension(cert, &context, NID_basic_constraints, "critical,CA:TRUE");
      add_extension(cert, &context, NID_key_usage, "critical,keyCertSign,cRLSign");
      break;
    case Role::kServer:
      add_extension(cert, &context, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(cert, &context, NID_key_usage, "critical,digitalSignature");
      add_extension(cert, &context, NID_ext_key_usage, "serverAuth");
      add_extension(cert, &context, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
      break;
    case Role::kClient:
      add_extension(cert, &context, NID_basic_constraints, "critical,CA:FALSE");
      add_extension(cert, &context, NID_key_usage, "critical,digitalSignature");
      add_extension(cert, &context, NID_ext_key_usage, "clientAuth");
      break;
  }
  EVP_PKEY* signing_key = issuer != nullptr ? issuer->key.get() : out.key.get();
  ASSERT_GT(X509_sign(cert, signing_key, EVP_sha256()), 0);
}

inline void write_pem(Credential& credential, const std::filesystem::path& directory, const std::string& stem) {
  credential.cert_file = (directory / (stem + ".crt")).string();
  credential.key_file = (directory / (stem + ".key")).string();
  std::FILE* file = std::fopen(credential.cert_file.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(PEM_write_X509(file, credential.cert.get()), 1);
  std::fclose(file);
  file = std::fopen(credential.key_file.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(PEM_write_PrivateKey(file, credential.key.get(), nullptr, nullptr, 0, nullptr, nullptr),
            1);
  std::fclose(file);
}

// SHA-256 over i2d_X509, computed independently of the server's X509_digest.
inline std::string der_sha256_hex(X509* cert) {
  unsigned char* der = nullptr;
  int length = i2d_X509(cert, &der);
  EXPECT_GT(length, 0);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  EXPECT_EQ(
      EVP_Digest(der, static_cast<size_t>(length), digest, &digest_size, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  return hex_encode(ByteView(digest, digest_size));
}

}  // namespace custos::test_support
