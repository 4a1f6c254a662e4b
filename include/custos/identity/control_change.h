// custos identity: control changes and their canonical log payload (v1).
//
// Every change to identity state is one control entry in the log
// (ledger::EntryKind::kControlChange) whose payload is a canonical JSON
// object: compact, fields in the fixed order below, no other fields, sets
// and maps sorted. Every payload opens with the same envelope,
//
//   {"v":1,"op":"<op>","actor":"<principal id>","decision_id":"<id>", ...}
//
// naming who asked and the policy decision that allowed it, followed by the
// op's own fields (times are Unix microseconds, hashes lower-case hex,
// public keys and signatures standard base64):
//
//   principal.create     id kind subtype display_name site zone roles[] vendor shift tags{}
//   principal.update     id [display_name] [site] [zone] [roles] [vendor] [shift] [tags]
//   principal.status     id status reason
//   key.add              principal_id key_id public_key not_before [not_after]
//   key.expire           principal_id key_id not_after
//   enrollment.create    principal_id token_hash expires_at
//   enrollment.complete  principal_id token_hash key_id public_key not_before proof
//   token.create         principal_id token_id token_hash scopes[] expires_at
//   token.revoke         principal_id token_id
//   user.password        principal_id password_commitment
//   user.totp            principal_id totp_commitment
//
// The log is public, so no payload holds a secret: tokens appear only as
// SHA-256 hashes, and a password hash or TOTP secret only as a commitment
// (secret_commitment below) while the secret itself stays in the store.
// Decoding is strict: it re-encodes what it read and refuses the payload
// unless the bytes are identical, so one change has exactly one encoding.
// Other modules also write control entries; is_identity_payload tells ours
// apart cheaply. All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/sha256.h"
#include "custos/identity/principal.h"

namespace custos::identity {

inline constexpr int kControlFormatVersion = 1;

struct PrincipalCreate {
  PrincipalAttributes attributes;
  friend bool operator==(const PrincipalCreate&, const PrincipalCreate&) = default;
};

// Replaces the attributes that are set; kind and subtype never change.
struct PrincipalUpdate {
  std::string id;
  std::optional<std::string> display_name;
  std::optional<std::string> site;
  std::optional<std::string> zone;
  std::optional<std::set<std::string>> roles;
  std::optional<std::string> vendor;
  std::optional<std::string> shift;
  std::optional<std::map<std::string, std::string>> tags;
  friend bool operator==(const PrincipalUpdate&, const PrincipalUpdate&) = default;
};

// Suspend, quarantine, revoke, or reactivate (status kActive).
struct PrincipalStatusChange {
  std::string id;
  PrincipalStatus status = PrincipalStatus::kActive;
  std::string reason;
  friend bool operator==(const PrincipalStatusChange&, const PrincipalStatusChange&) = default;
};

struct KeyAdd {
  std::string principal_id;
  std::string key_id;
  Ed25519PublicKey public_key;
  UnixMicros not_before = 0;
  std::optional<UnixMicros> not_after;
  friend bool operator==(const KeyAdd&, const KeyAdd&) = default;
};

// Sets (or brings forward) a key's not_after; it can never be pushed later.
struct KeyExpire {
  std::string principal_id;
  std::string key_id;
  UnixMicros not_after = 0;
  friend bool operator==(const KeyExpire&, const KeyExpire&) = default;
};

struct EnrollmentCreate {
  std::string principal_id;
  Hash256 token_hash;  // hash_token(one-time token)
  UnixMicros expires_at = 0;
  friend bool operator==(const EnrollmentCreate&, const EnrollmentCreate&) = default;
};

// Written by IdentityService::complete_enrollment only (it checks the proof
// of possession, which needs the raw token); apply() refuses it.
struct EnrollmentComplete {
  std::string principal_id;
  Hash256 token_hash;
  std::string key_id;
  Ed25519PublicKey public_key;
  UnixMicros not_before = 0;
  Ed25519Signature proof;  // over enrollment_proof_message(...)
  friend bool operator==(const EnrollmentComplete&, const EnrollmentComplete&) = default;
};

struct TokenCreate {
  std::string principal_id;
  std::string token_id;
  Hash256 token_hash;  // hash_token(token)
  std::set<std::string> scopes;
  UnixMicros expires_at = 0;
  friend bool operator==(const TokenCreate&, const TokenCreate&) = default;
};

struct TokenRevoke {
  std::string principal_id;
  std::string token_id;
  friend bool operator==(const TokenRevoke&, const TokenRevoke&) = default;
};

// The secret (an Argon2id PHC string) must already be stored under its
// commitment; IdentityService::set_password does both.
struct UserPassword {
  std::string principal_id;
  Hash256 password_commitment;
  friend bool operator==(const UserPassword&, const UserPassword&) = default;
};

// Like UserPassword, for a TOTP secret; IdentityService::enroll_totp does both.
struct UserTotp {
  std::string principal_id;
  Hash256 totp_commitment;
  friend bool operator==(const UserTotp&, const UserTotp&) = default;
};

using ControlChange = std::variant<PrincipalCreate, PrincipalUpdate, PrincipalStatusChange, KeyAdd,
                                   KeyExpire, EnrollmentCreate, EnrollmentComplete, TokenCreate,
                                   TokenRevoke, UserPassword, UserTotp>;

// "principal.create", "key.add"...
std::string_view control_op_name(const ControlChange& change);

struct DecodedControlChange {
  ControlChange change;
  std::string actor;
  std::string decision_id;
};

// The canonical payload. Values are written as given (validation of ids,
// keys and times is the service's job), so encode never fails.
std::string encode_control_change(const ControlChange& change, std::string_view actor,
                                  std::string_view decision_id);

// Parses a canonical payload; InvalidArgument for malformed JSON, a missing
// or mistyped field, an unknown op or version, or a non-canonical encoding.
Result<DecodedControlChange> decode_control_change(std::string_view payload);

// True when `payload` is shaped like an identity control payload (starts
// with {"v":1,"op":" and an identity op), without parsing the rest.
bool is_identity_payload(ByteView payload);

// What a secret is committed to in the log: SHA-256 over
// "custos-identity-secret-v1\n" + purpose + "\n" + principal_id + "\n" + secret,
// with purpose "password" or "totp". Hiding because every secret carries at
// least 128 bits of randomness (a salted PHC string, a random TOTP secret).
Hash256 secret_commitment(std::string_view purpose, std::string_view principal_id, ByteView secret);

// The message an enrolling key signs to prove possession:
// "custos-enroll-v1\n" + principal_id + "\n" + base64(public_key) + "\n" + token.
std::string enrollment_proof_message(std::string_view principal_id,
                                     const Ed25519PublicKey& public_key, std::string_view token);

// The key id enrollment assigns: the first 16 bytes of SHA-256(public key) in hex.
std::string key_id_for(const Ed25519PublicKey& public_key);

}  // namespace custos::identity
