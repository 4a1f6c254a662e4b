#include "custos/crypto/ed25519.h"

#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace custos {
namespace {

// libsodium must be initialised once before use; without it there is no safe
// random source, so failing here is fatal rather than an error to return.
void ensure_sodium_initialised() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) {
      std::fputs("custos: libsodium failed to initialise\n", stderr);
      std::abort();
    }
  });
}

// libsodium takes (pointer, length); an empty span may carry a null pointer.
const uint8_t* data_or_empty(ByteView bytes) {
  static constexpr uint8_t kEmpty = 0;
  return bytes.empty() ? &kEmpty : bytes.data();
}

}  // namespace

Result<Ed25519PublicKey> Ed25519PublicKey::from_bytes(ByteView bytes) {
  if (bytes.size() != kSize) {
    return invalid_argument("Ed25519 public key must be 32 bytes, got " +
                            std::to_string(bytes.size()));
  }
  Ed25519PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes.begin());
  return key;
}

Result<Ed25519Signature> Ed25519Signature::from_bytes(ByteView bytes) {
  if (bytes.size() != kSize) {
    return invalid_argument("Ed25519 signature must be 64 bytes, got " +
                            std::to_string(bytes.size()));
  }
  Ed25519Signature signature;
  std::copy(bytes.begin(), bytes.end(), signature.bytes.begin());
  return signature;
}

Ed25519KeyPair Ed25519KeyPair::generate() {
  ensure_sodium_initialised();
  std::array<uint8_t, kSeedSize> seed;
  randombytes_buf(seed.data(), seed.size());
  Ed25519KeyPair key_pair = std::move(from_seed(ByteView(seed.data(), seed.size()))).value();
  sodium_memzero(seed.data(), seed.size());
  return key_pair;
}

Result<Ed25519KeyPair> Ed25519KeyPair::from_seed(ByteView seed32) {
  if (seed32.size() != kSeedSize) {
    return invalid_argument("Ed25519 seed must be 32 bytes, got " + std::to_string(seed32.size()));
  }
  ensure_sodium_initialised();
  Ed25519KeyPair key_pair;
  std::copy(seed32.begin(), seed32.end(), key_pair.seed_.begin());
  if (crypto_sign_seed_keypair(key_pair.public_key_.bytes.data(), key_pair.secret_key_.data(),
                               key_pair.seed_.data()) != 0) {
    return internal_error("libsodium could not derive an Ed25519 key pair");
  }
  return key_pair;
}

Ed25519KeyPair::~Ed25519KeyPair() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_key_.data(), secret_key_.size());
}

Ed25519Signature Ed25519KeyPair::sign(ByteView message) const {
  Ed25519Signature signature;
  crypto_sign_detached(signature.bytes.data(), nullptr, data_or_empty(message), message.size(),
                       secret_key_.data());
  return signature;
}

bool ed25519_verify(const Ed25519PublicKey& public_key, ByteView message,
                    const Ed25519Signature& signature) {
  ensure_sodium_initialised();
  return crypto_sign_verify_detached(signature.bytes.data(), data_or_empty(message), message.size(),
                                     public_key.bytes.data()) == 0;
}

}  // namespace custos
