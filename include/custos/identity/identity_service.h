// custos identity: the identity service, whose source of truth is the log.
//
// IdentityService holds who exists and with which keys, tokens and status.
// Every change goes through apply() (or a helper built on it): the change is
// validated against the current state, appended to the log as a control
// entry (control_change.h) naming the actor and the policy decision, and
// only once the log has durably committed it is it applied in memory. So the
// in-memory state always equals a replay of the identity control entries in
// the log, in log order, and open() rebuilds it exactly that way.
//
// Storage (Family::kPrincipals, owned by identity; all integers big-endian):
//   "journal/" + u64 index     the encoded log entry (ledger entry format v1)
//                              of every identity control entry applied so far
//   "replayed_up_to"           u8 version 0x01 + u64: every identity entry
//                              below this log index is in the journal
//   "secret/" + hex commitment a password hash or TOTP secret (see below)
//   "totp_step/" + principal   u64: the last TOTP step accepted at login
// The journal is a cache of the log, the snapshot open() starts from: it is
// written (with replayed_up_to, in one batch) after each append returns, so a
// crash in between only means open() finds the entry again in the log tail.
// open() applies the journal, then reads the log's entry bundles from
// replayed_up_to to tree_size, so a restart does not rescan non-identity
// entries. Secrets never enter the public log: set_password and enroll_totp
// first write the secret under "secret/<commitment>" (synced), then log only
// the commitment; open() loads each secret by its commitment and checks it.
// A secret missing from the store leaves that credential unusable (login is
// refused) and is counted in replay_stats().
//
// Replay applies each entry with structural checks only (the principal
// exists, ids are unique, a revoked principal stays revoked); checks that
// depend on the time of the request (expiry of an enrollment token) are made
// only when the change is first accepted. An identity entry that fails the
// structural checks on replay (only possible if something else wrote it) is
// skipped identically by every replay, and counted.
//
// Sessions are not logged (too frequent): they live in memory only, as
// hashes with a fixed expiry, and a restart ends them.
//
// Thread-safety: every method is safe to call concurrently. Reads
// (find_*, list_principals, authenticate_token) take a shared lock and copy
// out a PrincipalPtr (authenticate_token also takes the session map's mutex
// briefly; login's synced TOTP-step write uses another); changes are serialised by one writer mutex
// held across validate + append + apply (so log order is apply order), and take the exclusive lock
// only for the in-memory update. apply() blocks on the log's group commit, so never call it from a
// Log callback.
//
// Ownership: the service borrows the Log, the Store and the Clock, which must
// outlive it. One service per log: it must be the only writer of identity
// control entries (replay trusts that nothing else interleaves them).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/password.h"
#include "custos/crypto/totp.h"
#include "custos/identity/control_change.h"
#include "custos/identity/principal.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"

namespace custos::identity {

namespace identity_internal {
struct State;
}

struct IdentityOptions {
  // A user holding any of these roles must present a TOTP code at login.
  std::set<std::string> trust_changing_roles = {"admin", "security", "policy_admin"};
  std::chrono::microseconds session_ttl = std::chrono::minutes(15);
  std::chrono::microseconds max_enrollment_ttl = std::chrono::hours(24 * 7);
  PasswordHashLimits password_limits;
  TotpParams totp_params;
  int totp_window = 1;  // steps of clock drift accepted either side
  std::string totp_issuer = "custos";
  size_t max_sessions = 100000;  // beyond this, login fails with ResourceExhausted
};

// The log receipt of an applied change.
struct ChangeReceipt {
  std::string op;  // control_op_name
  ledger::AppendReceipt receipt;
};

// What find_by_key_id says about a key id at a time.
enum class KeyVerdict {
  kValid,  // the key is in its window and its principal is active
  kUnknownKey,
  kNotYetValid,  // before the key's not_before
  kExpired,      // at or after the key's not_after
  kPrincipalSuspended,
  kPrincipalQuarantined,
  kPrincipalRevoked,
};
std::string_view key_verdict_name(KeyVerdict verdict);

struct KeyLookup {
  KeyVerdict verdict = KeyVerdict::kUnknownKey;
  PrincipalPtr principal;  // set unless kUnknownKey
  PrincipalKey key;        // set unless kUnknownKey
  bool ok() const { return verdict == KeyVerdict::kValid; }
};

struct EnrollmentTicket {
  std::string token;  // shown once; the log holds only hash_token(token)
  UnixMicros expires_at = 0;
  ChangeReceipt receipt;
};

struct NewApiToken {
  std::string token;     // shown once; the log holds only hash_token(token)
  std::string token_id;  // public handle, for listing and token.revoke
  UnixMicros expires_at = 0;
  ChangeReceipt receipt;
};

struct TotpEnrollment {
  std::string secret_base32;  // shown once, for the authenticator app
  std::string otpauth_uri;
  ChangeReceipt receipt;
};

struct NewUser {
  PrincipalPtr principal;
  // Set when the user was given a TOTP secret (always for trust-changing roles).
  std::optional<TotpEnrollment> totp;
};

struct Session {
  std::string token;  // shown once; memory holds only its hash
  UnixMicros expires_at = 0;
};

enum class CredentialKind { kSession, kApiToken };

// Who a bearer token authenticates.
struct TokenAuthentication {
  PrincipalPtr principal;
  CredentialKind kind = CredentialKind::kSession;
  std::string token_id;          // API tokens only
  std::set<std::string> scopes;  // API tokens only; sessions carry the user's roles
  UnixMicros expires_at = 0;
  bool has_scope(std::string_view scope) const { return scopes.count(std::string(scope)) > 0; }
};

// What open() did.
struct ReplayStats {
  uint64_t journal_entries = 0;  // identity entries applied from the journal
  uint64_t scanned_entries = 0;  // log entries read after replayed_up_to
  uint64_t applied_entries = 0;  // identity entries applied from the log tail
  uint64_t skipped_entries = 0;  // identity entries refused by replay checks
  uint64_t missing_secrets = 0;  // commitments whose secret is not in the store
  uint64_t replayed_up_to = 0;
};

class IdentityService {
 public:
  // Rebuilds the state from the journal and the log tail, then records the
  // new replayed_up_to. DataLoss when a stored entry does not decode.
  static Result<std::unique_ptr<IdentityService>> open(ledger::Log& log, store::Store& store,
                                                       const Clock& clock,
                                                       IdentityOptions options = {});
  ~IdentityService();
  IdentityService(const IdentityService&) = delete;
  IdentityService& operator=(const IdentityService&) = delete;

  // Validates, logs and applies one change. `actor` (an identifier; it need
  // not be a known principal, e.g. "bootstrap") becomes the entry's principal
  // and, with `decision_id` (non-empty), part of the payload. InvalidArgument for malformed
  // fields, NotFound for an unknown principal/key/token, AlreadyExists for a
  // duplicate id, FailedPrecondition when the state forbids it (revoked
  // principal, key already expired, user.* on a non-user, no stored secret
  // for a commitment). The log's error when the append fails (nothing changes).
  // EnrollmentComplete is refused here: use complete_enrollment.
  Result<ChangeReceipt> apply(const ControlChange& change, const std::string& actor,
                              const std::string& decision_id);

  // ---- Queries ----
  PrincipalPtr find_principal(std::string_view id) const;  // nullptr when unknown
  // The key and its principal, judged at `at` (default: the clock's now).
  KeyLookup find_by_key_id(std::string_view key_id, std::optional<UnixMicros> at = {}) const;
  std::vector<PrincipalPtr> list_principals(const PrincipalFilter& filter = {}) const;
  // For verify_request: the public key when find_by_key_id says kValid.
  // Borrows this service.
  KeyLookupFn key_lookup() const;
  // Canonical JSON of everything replay rebuilds (principals, keys, token
  // and enrollment records, commitments), for tests and audits. No secrets.
  std::string dump_state() const;
  // What open() did.
  ReplayStats replay_stats() const { return replay_stats_; }

  // ---- Keys ----
  // Adds `new_key` valid from now and sets `old_key_id`'s not_after to
  // now + overlap: two entries, key.add first (a crash between them leaves
  // both keys valid, never none).
  Result<std::vector<ChangeReceipt>> rotate_key(
      const std::string& principal_id, const std::string& old_key_id, const std::string& new_key_id,
      const Ed25519PublicKey& new_key, std::chrono::microseconds overlap, const std::string& actor,
      const std::string& decision_id);

  // ---- Enrollment ----
  // A one-time token for `principal_id` (not revoked), valid for ttl (at most
  // max_enrollment_ttl). The log records only its hash and expiry.
  Result<EnrollmentTicket> create_enrollment(const std::string& principal_id,
                                             std::chrono::microseconds ttl,
                                             const std::string& actor,
                                             const std::string& decision_id);
  // Redeems `token` once, before it expires, registering `public_key` (key id
  // key_id_for(public_key), valid from now) when `proof` is its signature
  // over enrollment_proof_message(principal_id, public_key, token).
  // Unauthenticated for an unknown token or a bad proof; FailedPrecondition
  // for an expired or already used token. The entry's actor is the principal.
  Result<ChangeReceipt> complete_enrollment(std::string_view token,
                                            const Ed25519PublicKey& public_key,
                                            const Ed25519Signature& proof,
                                            const std::string& decision_id);

  // ---- API tokens ----
  Result<NewApiToken> create_api_token(const std::string& principal_id,
                                       const std::set<std::string>& scopes,
                                       std::chrono::microseconds ttl, const std::string& actor,
                                       const std::string& decision_id);
  Result<ChangeReceipt> revoke_api_token(const std::string& principal_id,
                                         const std::string& token_id, const std::string& actor,
                                         const std::string& decision_id);

  // ---- Users ----
  // Creates a user (attributes.kind must be kUser) with a password, and with
  // a TOTP secret when `with_totp` or when a role is trust-changing. Logs
  // principal.create, user.password and maybe user.totp; a crash part way
  // leaves a user who cannot log in (fails closed).
  Result<NewUser> create_user(const PrincipalAttributes& attributes, std::string_view password,
                              bool with_totp, const std::string& actor,
                              const std::string& decision_id);
  Result<ChangeReceipt> set_password(const std::string& principal_id, std::string_view password,
                                     const std::string& actor, const std::string& decision_id);
  // A fresh TOTP secret for the user (replacing any earlier one).
  Result<TotpEnrollment> enroll_totp(const std::string& principal_id, const std::string& actor,
                                     const std::string& decision_id);

  // A session for an active user with the right password and, when the user
  // has TOTP or a trust-changing role, a TOTP code from a step later than any
  // accepted before. Unauthenticated otherwise (the message says whether a
  // TOTP code is needed, never whether the user exists).
  Result<Session> login(std::string_view principal_id, std::string_view password,
                        std::string_view totp_code = {});
  // Ends a session; false when it was not live.
  bool logout(std::string_view session_token);

  // The principal behind a session or API token: live (not expired or
  // revoked) and the principal active. Unauthenticated otherwise.
  Result<TokenAuthentication> authenticate_token(std::string_view bearer) const;

 private:
  struct Sessions;
  IdentityService(ledger::Log& log, store::Store& store, const Clock& clock,
                  IdentityOptions options);
  Status replay();
  Result<ChangeReceipt> apply_locked(const ControlChange& change, const std::string& actor,
                                     const std::string& decision_id);
  Status store_secret(const Hash256& commitment, ByteView secret);
  const std::string& dummy_password_hash();

  ledger::Log& log_;
  store::Store& store_;
  const Clock& clock_;
  const IdentityOptions options_;

  std::mutex writer_mutex_;  // serialises changes: validate + append + apply
  mutable std::shared_mutex state_mutex_;
  std::unique_ptr<identity_internal::State> state_;
  ReplayStats replay_stats_;    // written by open() only
  bool journal_stale_ = false;  // guarded by writer_mutex_

  std::unique_ptr<Sessions> sessions_;
  std::once_flag dummy_hash_once_;
  std::string dummy_hash_;
};

}  // namespace custos::identity
