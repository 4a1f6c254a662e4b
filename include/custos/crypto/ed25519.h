// custos crypto: Ed25519 signatures (RFC 8032).
//
// Pure Ed25519 through libsodium. Keys and signatures are distinct
// fixed-size value types, never loose byte strings. A key pair holds the
// 32-byte seed it was derived from (the form private keys are stored in)
// and the expanded secret key; its destructor wipes both. Signing is
// deterministic: the same seed and message always give the same signature.
// Verification refuses non-canonical signatures and small-order public keys
// (libsodium's strict checks). All functions are thread-safe; a key pair is
// immutable after construction, so one can be shared by reading threads.
#pragma once

#include <array>
#include <cstdint>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos {

struct Ed25519PublicKey {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }
  friend bool operator==(const Ed25519PublicKey&, const Ed25519PublicKey&) = default;

  // Refuses anything that is not exactly 32 bytes.
  static Result<Ed25519PublicKey> from_bytes(ByteView bytes);
};

struct Ed25519Signature {
  static constexpr size_t kSize = 64;
  std::array<uint8_t, kSize> bytes{};

  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }
  friend bool operator==(const Ed25519Signature&, const Ed25519Signature&) = default;

  // Refuses anything that is not exactly 64 bytes.
  static Result<Ed25519Signature> from_bytes(ByteView bytes);
};

class Ed25519KeyPair {
 public:
  static constexpr size_t kSeedSize = 32;

  // A fresh key pair from the operating system's random source.
  static Ed25519KeyPair generate();
  // The key pair RFC 8032 derives from a 32-byte seed; other sizes are refused.
  static Result<Ed25519KeyPair> from_seed(ByteView seed32);

  Ed25519KeyPair(const Ed25519KeyPair&) = default;
  Ed25519KeyPair& operator=(const Ed25519KeyPair&) = default;
  ~Ed25519KeyPair();

  Ed25519Signature sign(ByteView message) const;
  const Ed25519PublicKey& public_key() const { return public_key_; }
  // The secret seed; borrowed from this key pair, so it lives as long as it does.
  ByteView seed() const { return ByteView(seed_.data(), seed_.size()); }

 private:
  Ed25519KeyPair() = default;

  std::array<uint8_t, kSeedSize> seed_{};
  std::array<uint8_t, 64> secret_key_{};  // libsodium's expanded form: seed || public key
  Ed25519PublicKey public_key_;
};

// True when `signature` is a valid Ed25519 signature of `message` by `public_key`.
bool ed25519_verify(const Ed25519PublicKey& public_key, ByteView message,
                    const Ed25519Signature& signature);

}  // namespace custos
