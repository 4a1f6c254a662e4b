#include "custos/crypto/sha256.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace custos {

Result<Hash256> Hash256::from_bytes(ByteView bytes) {
  if (bytes.size() != kSize) {
    return invalid_argument("a SHA-256 hash is 32 bytes, got " + std::to_string(bytes.size()));
  }
  Hash256 hash;
  std::memcpy(hash.bytes.data(), bytes.data(), kSize);
  return hash;
}

Result<Hash256> Hash256::from_hex(std::string_view hex) {
  CUSTOS_ASSIGN_OR_RETURN(Bytes bytes, hex_decode(hex));
  return from_bytes(bytes);
}

Result<Hash256> Hash256::from_base64(std::string_view text) {
  CUSTOS_ASSIGN_OR_RETURN(Bytes bytes, base64_decode(text));
  return from_bytes(bytes);
}

namespace {

// OpenSSL 3 resolves EVP_sha256() through a locked provider lookup on every
// init; fetching the implementation once makes each digest ~3x cheaper.
const EVP_MD* sha256_method() {
  static EVP_MD* method = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) std::abort();  // no SHA-256 provider: nothing can work
    return fetched;
  }();
  return method;
}

}  // namespace

struct Sha256::Context {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  context_->ctx = EVP_MD_CTX_new();
  if (context_->ctx == nullptr || EVP_DigestInit_ex2(context_->ctx, sha256_method(), nullptr) != 1) {
    // Allocation failure inside OpenSSL: nothing sensible can continue.
    std::abort();
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(context_->ctx); }

Sha256& Sha256::update(ByteView data) {
  EVP_DigestUpdate(context_->ctx, data.data(), data.size());
  return *this;
}

Hash256 Sha256::final() {
  Hash256 hash;
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->ctx, hash.bytes.data(), &length);
  EVP_DigestInit_ex2(context_->ctx, sha256_method(), nullptr);
  return hash;
}

Hash256 sha256(ByteView data) {
  thread_local Sha256 hasher;
  return hasher.update(data).final();
}

}  // namespace custos
