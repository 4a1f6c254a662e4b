// custos crypto: password hashing and secret tokens.
//
// Passwords are stored only as Argon2id hashes in the PHC string form
// libsodium produces ("$argon2id$v=19$m=...,t=...,p=...$salt$hash"), each
// with a fresh random salt; the cost (operations and memory) is a
// parameter, libsodium's "interactive" limits by default. Verification
// takes as long as hashing, by design.
//
// API and session tokens are random strings shown to their owner once and
// stored only as hash_token(token) (SHA-256: a token has 256 bits of
// entropy, so a slow hash adds nothing). Comparisons of secrets go through
// constant_time_equals. All functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"

namespace custos {

struct PasswordHashLimits {
  // libsodium's crypto_pwhash_OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE.
  uint64_t ops_limit = 2;
  size_t memory_bytes = 64u << 20;

  // libsodium's minimum (OPSLIMIT_MIN, MEMLIMIT_MIN): for tests only.
  static constexpr PasswordHashLimits minimum() { return {1, 8192}; }
};

// Longest password accepted; longer input is refused rather than truncated.
inline constexpr size_t kMaxPasswordBytes = 4096;

// The Argon2id PHC string for `password`. Refuses an empty or over-long
// password and limits outside libsodium's bounds; ResourceExhausted when
// the memory cannot be allocated.
Result<std::string> hash_password(std::string_view password, const PasswordHashLimits& limits = {});

// True when `password` matches `encoded_hash`, false when it does not.
// InvalidArgument when `encoded_hash` is not a well-formed Argon2id string.
Result<bool> verify_password(std::string_view password, std::string_view encoded_hash);

// True when `encoded_hash` was made with limits other than `limits`, so it
// should be replaced after the next successful login.
Result<bool> password_needs_rehash(std::string_view encoded_hash,
                                   const PasswordHashLimits& limits = {});

// Equality of two secrets in time that depends only on their lengths.
bool constant_time_equals(ByteView a, ByteView b);
inline bool constant_time_equals(std::string_view a, std::string_view b) {
  return constant_time_equals(as_bytes(a), as_bytes(b));
}

// A fresh token: `entropy_bytes` random bytes as unpadded base64url text.
std::string generate_token(size_t entropy_bytes = 32);

// What to store for a token: SHA-256 of its text.
Hash256 hash_token(std::string_view token);

}  // namespace custos
