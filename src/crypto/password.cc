#include "custos/crypto/password.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <mutex>

#include "custos/crypto/random.h"

namespace custos {
namespace {

static_assert(PasswordHashLimits{}.ops_limit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(PasswordHashLimits{}.memory_bytes == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
static_assert(PasswordHashLimits::minimum().ops_limit == crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(PasswordHashLimits::minimum().memory_bytes == crypto_pwhash_argon2id_MEMLIMIT_MIN);

void ensure_sodium() {
  static std::once_flag initialised;
  std::call_once(initialised, [] {
    if (sodium_init() < 0) std::abort();  // libsodium cannot run safely: nothing can follow
  });
}

Status check_limits(const PasswordHashLimits& limits) {
  if (limits.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      limits.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      limits.memory_bytes < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      limits.memory_bytes > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return invalid_argument("Argon2id limits are outside libsodium's bounds");
  }
  return Status::ok();
}

// libsodium reads the hash as a C string of bounded length; returns it
// NUL-terminated, or an error for anything that cannot be an Argon2id string.
Result<std::string> checked_hash_string(std::string_view encoded_hash) {
  constexpr std::string_view kPrefix = crypto_pwhash_argon2id_STRPREFIX;
  if (encoded_hash.size() >= crypto_pwhash_argon2id_STRBYTES ||
      encoded_hash.find('\0') != std::string_view::npos ||
      encoded_hash.substr(0, kPrefix.size()) != kPrefix) {
    return invalid_argument("not an Argon2id password hash");
  }
  std::string hash(encoded_hash);
  // needs_rehash decodes every field and reports -1 when the string is malformed.
  if (crypto_pwhash_argon2id_str_needs_rehash(hash.c_str(),
                                              crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
                                              crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE) < 0) {
    return invalid_argument("malformed Argon2id password hash");
  }
  return hash;
}

}  // namespace

Result<std::string> hash_password(std::string_view password, const PasswordHashLimits& limits) {
  ensure_sodium();
  if (password.empty()) return invalid_argument("password is empty");
  if (password.size() > kMaxPasswordBytes) return invalid_argument("password is too long");
  CUSTOS_RETURN_IF_ERROR(check_limits(limits));
  std::array<char, crypto_pwhash_argon2id_STRBYTES> out{};
  if (crypto_pwhash_argon2id_str(out.data(), password.data(), password.size(), limits.ops_limit,
                                 limits.memory_bytes) != 0) {
    return resource_exhausted("Argon2id could not allocate its memory");
  }
  return std::string(out.data());
}

Result<bool> verify_password(std::string_view password, std::string_view encoded_hash) {
  ensure_sodium();
  CUSTOS_ASSIGN_OR_RETURN(std::string hash, checked_hash_string(encoded_hash));
  if (password.size() > kMaxPasswordBytes) return false;
  return crypto_pwhash_argon2id_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Result<bool> password_needs_rehash(std::string_view encoded_hash,
                                   const PasswordHashLimits& limits) {
  ensure_sodium();
  CUSTOS_RETURN_IF_ERROR(check_limits(limits));
  CUSTOS_ASSIGN_OR_RETURN(std::string hash, checked_hash_string(encoded_hash));
  return crypto_pwhash_argon2id_str_needs_rehash(hash.c_str(), limits.ops_limit,
                                                 limits.memory_bytes) != 0;
}

bool constant_time_equals(ByteView a, ByteView b) {
  ensure_sodium();
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string generate_token(size_t entropy_bytes) {
  std::string token = base64_encode(random_bytes(entropy_bytes));
  while (!token.empty() && token.back() == '=') token.pop_back();
  std::replace(token.begin(), token.end(), '+', '-');
  std::replace(token.begin(), token.end(), '/', '_');
  return token;
}

Hash256 hash_token(std::string_view token) { return sha256(token); }

}  // namespace custos
