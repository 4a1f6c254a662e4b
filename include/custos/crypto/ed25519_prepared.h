// custos crypto: Ed25519 verification with per-key precomputation.
//
// A device signs thousands of requests with one key, so the work that depends
// only on the key is worth doing once: decompressing the public key and
// tabulating small odd multiples of it at sixteen evenly spaced powers of two.
// With those tables (and the same kind of table for the base point, built once
// per process) a verification needs 16 doublings instead of ~253, about a
// quarter of the field multiplications of libsodium's verify.
//
// Answers are exactly libsodium's crypto_sign_verify_detached (1.0.18):
// non-canonical s (s >= L), small-order R encodings, non-canonical or
// small-order public keys and points off the curve are refused; the check is
// the cofactorless [s]B - [h]A == R on the canonical encoding of R.
// tests/crypto/ed25519_prepared_test.cc holds both to the same answers over
// random, mutated and adversarial inputs, and fuzz/ed25519_verify_fuzz does
// the same on arbitrary bytes.
//
// A prepared key is immutable and thread-safe; it holds about 7.5 KiB of tables.
// Ed25519KeyCache keeps a bounded number of them for the request path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"

namespace custos {

class Ed25519PreparedKey {
 public:
  // InvalidArgument for a key libsodium would refuse to verify with
  // (non-canonical encoding, small order, not a curve point).
  static Result<Ed25519PreparedKey> prepare(const Ed25519PublicKey& public_key);

  Ed25519PreparedKey(Ed25519PreparedKey&&) noexcept;
  Ed25519PreparedKey& operator=(Ed25519PreparedKey&&) noexcept;
  ~Ed25519PreparedKey();

  // The same answer as ed25519_verify(public_key(), message, signature).
  bool verify(ByteView message, const Ed25519Signature& signature) const;

  const Ed25519PublicKey& public_key() const { return public_key_; }

  struct Tables;  // private layout, defined in the .cc

 private:
  Ed25519PreparedKey(const Ed25519PublicKey& public_key, std::unique_ptr<Tables> tables);

  Ed25519PublicKey public_key_;
  std::unique_ptr<Tables> tables_;
};

// A bounded, thread-safe map from public key to its prepared form. A key is
// prepared on its first verification (costing about one libsodium verify on
// top); when the cache is full an arbitrary entry of the same shard is
// dropped. Keys that cannot be prepared are never cached (verify says false).
class Ed25519KeyCache {
 public:
  static constexpr size_t kDefaultCapacity = 16384;  // ~120 MiB of tables when full

  explicit Ed25519KeyCache(size_t capacity = kDefaultCapacity);
  Ed25519KeyCache(const Ed25519KeyCache&) = delete;
  Ed25519KeyCache& operator=(const Ed25519KeyCache&) = delete;
  ~Ed25519KeyCache();

  // The same answer as ed25519_verify(public_key, message, signature).
  bool verify(const Ed25519PublicKey& public_key, ByteView message,
              const Ed25519Signature& signature);

  // Prepares `public_key` ahead of its first request (no-op when cached).
  void warm(const Ed25519PublicKey& public_key);

  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  struct KeyHash {
    size_t operator()(const Ed25519PublicKey& key) const;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<Ed25519PublicKey, std::shared_ptr<const Ed25519PreparedKey>, KeyHash> keys;
  };
  static constexpr size_t kShards = 16;

  std::shared_ptr<const Ed25519PreparedKey> find_or_prepare(const Ed25519PublicKey& public_key);

  size_t capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace custos
