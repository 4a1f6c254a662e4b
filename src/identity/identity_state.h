// Private to identity: the replayable state and the deterministic rules
// that turn control changes into it. IdentityService uses the same two
// functions live and on replay, which is what makes state == replay(log).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/identity/control_change.h"
#include "custos/identity/principal.h"

namespace custos::identity::identity_internal {

struct TokenRecord {
  std::string principal_id;
  std::string token_id;
  Hash256 token_hash;
};

struct EnrollmentRecord {
  std::string principal_id;
  UnixMicros expires_at = 0;
  uint64_t created_at_index = 0;
  std::optional<uint64_t> completed_at_index;  // set once redeemed
};

// Per-user credentials. The commitments come from the log; the secret
// values are loaded from the store by the service (empty when missing).
struct UserSecrets {
  std::optional<Hash256> password_commitment;
  std::string password_hash;  // Argon2id PHC string
  std::optional<Hash256> totp_commitment;
  Bytes totp_secret;
};

// Hashes std::string and std::string_view alike, so lookups by a borrowed
// key id need no temporary string.
struct TransparentStringHash {
  using is_transparent = void;
  size_t operator()(std::string_view text) const noexcept {
    return std::hash<std::string_view>{}(text);
  }
};

// Who owns a key: the principal's id and its slot in State::principals.
// The slot pointer stays valid because principals are never erased from
// that map (std::map nodes do not move) and State is not copyable.
struct KeyOwner {
  std::string principal_id;
  const PrincipalPtr* principal = nullptr;
};

struct State {
  State() = default;
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  std::map<std::string, PrincipalPtr, std::less<>> principals;
  // key id -> owner; the slot is set when the principal is stored (apply_change)
  std::unordered_map<std::string, KeyOwner, TransparentStringHash, std::equal_to<>> key_owner;
  std::set<std::array<uint8_t, 32>> public_keys;                // every registered key
  std::unordered_map<std::string, TokenRecord> tokens_by_hash;  // raw hash bytes -> record
  std::set<std::string> token_ids;
  std::map<std::string, EnrollmentRecord> enrollments;  // token hash hex -> record
  std::map<std::string, UserSecrets> secrets;           // principal id -> credentials

  const Principal* find(std::string_view id) const {
    auto it = principals.find(id);
    return it == principals.end() ? nullptr : it->second.get();
  }
};

// Text that fits in a control entry and reads back identically: valid
// UTF-8, no control characters, at most max_bytes.
bool is_valid_text(std::string_view text, size_t max_bytes);

// The structural checks: deterministic, depending only on `state` and the
// change (never on the time), so a replay decides exactly as the live call.
Status check_change(const State& state, const ControlChange& change);

// Applies a change that passed check_change, made by the entry at `index`.
void apply_change(State& state, const ControlChange& change, uint64_t index);

// Canonical JSON of the whole state (commitments, not secret values).
std::string dump_state(const State& state);

inline std::string hash_key(const Hash256& hash) {
  return std::string(reinterpret_cast<const char*>(hash.bytes.data()), hash.bytes.size());
}

}  // namespace custos::identity::identity_internal
