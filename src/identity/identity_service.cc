#include "custos/identity/identity_service.h"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "custos/crypto/random.h"
#include "custos/crypto/sha256.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/entry_scan.h"
#include "identity_state.h"

namespace custos::identity {

using identity_internal::apply_change;
using identity_internal::check_change;
using identity_internal::hash_key;
using identity_internal::State;
using identity_internal::UserSecrets;

namespace {

constexpr std::string_view kJournalPrefix = "journal/";
constexpr std::string_view kSecretPrefix = "secret/";
constexpr std::string_view kTotpStepPrefix = "totp_step/";
constexpr size_t kTotpSecretBytes = 20;
constexpr size_t kMaxDecisionIdBytes = 256;
constexpr uint64_t kJournalBatchEntries = 1024;

Status unauthenticated(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}

std::string journal_key(uint64_t index) {
  Bytes key = to_bytes(kJournalPrefix);
  append_u64_be(key, index);
  return std::string(as_text(key));
}

std::string secret_key(const Hash256& commitment) {
  return std::string(kSecretPrefix) + commitment.hex();
}

int64_t unix_seconds(UnixMicros micros) { return micros / 1'000'000; }

// Applies one identity entry if it passes the structural checks; false when skipped.
bool replay_entry(State& state, const ledger::LogEntry& entry) {
  auto decoded = decode_control_change(as_text(entry.payload));
  if (!decoded.is_ok()) return false;
  if (!check_change(state, decoded->change).is_ok()) return false;
  apply_change(state, decoded->change, entry.index);
  return true;
}

}  // namespace

struct IdentityService::Sessions {
  struct Record {
    std::string principal_id;
    Hash256 token_hash;
    UnixMicros expires_at = 0;
  };
  std::mutex mutex;                                      // guards by_hash
  std::unordered_map<std::string, Record> by_hash;       // raw hash bytes -> session
  std::mutex totp_mutex;                                 // guards totp_steps
  std::unordered_map<std::string, uint64_t> totp_steps;  // principal id -> last accepted step

  size_t evict_expired(UnixMicros now) {
    return std::erase_if(by_hash,
                         [now](const auto& item) { return item.second.expires_at <= now; });
  }
};

std::string_view key_verdict_name(KeyVerdict verdict) {
  switch (verdict) {
    case KeyVerdict::kValid:
      return "valid";
    case KeyVerdict::kUnknownKey:
      return "unknown_key";
    case KeyVerdict::kNotYetValid:
      return "key_not_yet_valid";
    case KeyVerdict::kExpired:
      return "key_expired";
    case KeyVerdict::kPrincipalSuspended:
      return "principal_suspended";
    case KeyVerdict::kPrincipalQuarantined:
      return "principal_quarantined";
    case KeyVerdict::kPrincipalRevoked:
      return "principal_revoked";
  }
  return "unknown";
}

IdentityService::IdentityService(ledger::Log& log, store::Store& store, const Clock& clock,
                                 IdentityOptions options)
    : log_(log),
      store_(store),
      clock_(clock),
      options_(std::move(options)),
      state_(std::make_unique<State>()),
      sessions_(std::make_unique<Sessions>()) {}

IdentityService::~IdentityService() = default;

Result<std::unique_ptr<IdentityService>> IdentityService::open(ledger::Log& log,
                                                               store::Store& store,
                                                               const Clock& clock,
                                                               IdentityOptions options) {
  if (options.session_ttl.count() <= 0 || options.max_enrollment_ttl.count() <= 0) {
    return invalid_argument("identity: session_ttl and max_enrollment_ttl must be positive");
  }
  if (options.totp_window < 0 || options.totp_window > 10) {
    return invalid_argument("identity: totp_window must be 0..10");
  }
  std::unique_ptr<IdentityService> service(
      new IdentityService(log, store, clock, std::move(options)));
  CUSTOS_RETURN_IF_ERROR(service->replay().with_context("identity replay"));
  return service;
}

Status IdentityService::replay() {
  State& state = *state_;
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> stored,
                          ledger::read_replay_mark(store_, store::Family::kPrincipals, log_));
  const uint64_t replayed_up_to = stored.value_or(0);
  const uint64_t tree_size = log_.tree_size();

  // 1. The journal: every identity entry below replayed_up_to, in log order.
  auto iterator = store_.new_iterator(store::Family::kPrincipals);
  for (iterator->seek(kJournalPrefix); iterator->valid(); iterator->next()) {
    std::string_view key = iterator->key();
    if (key.substr(0, kJournalPrefix.size()) != kJournalPrefix) break;
    if (key.size() != kJournalPrefix.size() + 8) return data_loss("malformed journal key");
    uint64_t index =
        read_u64_be(reinterpret_cast<const uint8_t*>(key.data()) + kJournalPrefix.size());
    if (index >= replayed_up_to) break;  // written by a batch that also moved replayed_up_to
    auto entry = ledger::decode_entry(as_bytes(iterator->value()));
    if (!entry.is_ok() || entry->index != index) {
      return data_loss("journal entry " + std::to_string(index) + " does not decode");
    }
    ++replay_stats_.journal_entries;
    if (!replay_entry(state, *entry)) ++replay_stats_.skipped_entries;
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  iterator.reset();

  // 2. The log tail: the identity entries past the journal, journaled as they are applied.
  store::WriteBatch batch;
  uint64_t pending = 0;
  auto apply_entry = [&](const ledger::LogEntry& entry, ByteView entry_bytes) -> Status {
    if (!is_identity_payload(entry.payload)) return Status::ok();
    if (replay_entry(state, entry)) {
      ++replay_stats_.applied_entries;
    } else {
      ++replay_stats_.skipped_entries;
    }
    batch.put(store::Family::kPrincipals, journal_key(entry.index), entry_bytes);
    if (++pending == kJournalBatchEntries) {
      batch.put(store::Family::kPrincipals, ledger::kReplayMarkKey,
                ledger::encode_replay_mark(entry.index + 1));
      CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/false));
      batch.clear();
      pending = 0;
    }
    return Status::ok();
  };
  CUSTOS_ASSIGN_OR_RETURN(replay_stats_.scanned_entries,
                          ledger::scan_entries(log_, replayed_up_to, tree_size,
                                               ledger::EntryKind::kControlChange, apply_entry));
  if (!stored || replayed_up_to != tree_size) {
    batch.put(store::Family::kPrincipals, ledger::kReplayMarkKey, ledger::encode_replay_mark(tree_size));
    CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/false));
  }
  replay_stats_.replayed_up_to = tree_size;

  // 3. Secrets by commitment, and the last TOTP step of each user.
  for (auto& [principal_id, secrets] : state.secrets) {
    if (secrets.password_commitment) {
      CUSTOS_ASSIGN_OR_RETURN(auto value, store_.get(store::Family::kPrincipals,
                                                     secret_key(*secrets.password_commitment)));
      if (value && secret_commitment("password", principal_id, as_bytes(*value)) ==
                       *secrets.password_commitment) {
        secrets.password_hash = *value;
      } else {
        ++replay_stats_.missing_secrets;
      }
    }
    if (secrets.totp_commitment) {
      CUSTOS_ASSIGN_OR_RETURN(
          auto value, store_.get(store::Family::kPrincipals, secret_key(*secrets.totp_commitment)));
      if (value &&
          secret_commitment("totp", principal_id, as_bytes(*value)) == *secrets.totp_commitment) {
        secrets.totp_secret = to_bytes(*value);
      } else {
        ++replay_stats_.missing_secrets;
      }
    }
  }
  iterator = store_.new_iterator(store::Family::kPrincipals);
  for (iterator->seek(kTotpStepPrefix); iterator->valid(); iterator->next()) {
    std::string_view key = iterator->key();
    if (key.substr(0, kTotpStepPrefix.size()) != kTotpStepPrefix) break;
    if (iterator->value().size() != 8) return data_loss("malformed TOTP step");
    sessions_->totp_steps[std::string(key.substr(kTotpStepPrefix.size()))] =
        read_u64_be(reinterpret_cast<const uint8_t*>(iterator->value().data()));
  }
  return iterator->status();
}

Status IdentityService::store_secret(const Hash256& commitment, ByteView secret) {
  store::WriteBatch batch;
  batch.put(store::Family::kPrincipals, secret_key(commitment), secret);
  return store_.write(batch, /*sync=*/true);
}

Result<ChangeReceipt> IdentityService::apply(const ControlChange& change, const std::string& actor,
                                             const std::string& decision_id) {
  if (std::holds_alternative<EnrollmentComplete>(change)) {
    return invalid_argument("enrollment.complete is only made by complete_enrollment");
  }
  std::lock_guard writer(writer_mutex_);
  return apply_locked(change, actor, decision_id);
}

// Precondition: writer_mutex_ is held, so state_ changes only here and may be
// read without state_mutex_.
Result<ChangeReceipt> IdentityService::apply_locked(const ControlChange& change,
                                                    const std::string& actor,
                                                    const std::string& decision_id) {
  if (!is_valid_identifier(actor)) return invalid_argument("actor must be a principal id");
  if (decision_id.empty() || !identity_internal::is_valid_text(decision_id, kMaxDecisionIdBytes)) {
    return invalid_argument("decision_id must be non-empty text of at most 256 bytes");
  }
  CUSTOS_RETURN_IF_ERROR(check_change(*state_, change));

  // Checks that depend on the time or the store: made once, when accepted.
  UnixMicros now = clock_.now_micros();
  std::optional<std::pair<Hash256, std::string>> secret;  // commitment, store key
  if (const auto* enrollment = std::get_if<EnrollmentCreate>(&change)) {
    if (enrollment->expires_at <= now ||
        enrollment->expires_at - now > options_.max_enrollment_ttl.count()) {
      return invalid_argument("enrollment expiry must be in the future, within max_enrollment_ttl");
    }
  } else if (const auto* token = std::get_if<TokenCreate>(&change)) {
    if (token->expires_at <= now) return invalid_argument("token expiry must be in the future");
  } else if (const auto* password = std::get_if<UserPassword>(&change)) {
    secret.emplace(password->password_commitment, "password");
  } else if (const auto* totp = std::get_if<UserTotp>(&change)) {
    secret.emplace(totp->totp_commitment, "totp");
  }
  std::optional<std::string> secret_value;
  if (secret) {
    CUSTOS_ASSIGN_OR_RETURN(secret_value,
                            store_.get(store::Family::kPrincipals, secret_key(secret->first)));
    const std::string& principal_id = std::holds_alternative<UserPassword>(change)
                                          ? std::get<UserPassword>(change).principal_id
                                          : std::get<UserTotp>(change).principal_id;
    if (!secret_value ||
        secret_commitment(secret->second, principal_id, as_bytes(*secret_value)) != secret->first) {
      return failed_precondition("no stored secret matches the " + secret->second +
                                 " commitment; use set_password or enroll_totp");
    }
  }

  ledger::AppendRequest request;
  request.kind = ledger::EntryKind::kControlChange;
  request.principal = actor;
  request.payload = to_bytes(encode_control_change(change, actor, decision_id));
  CUSTOS_ASSIGN_OR_RETURN(ledger::AppendReceipt receipt, log_.append(request));

  {
    std::unique_lock lock(state_mutex_);
    apply_change(*state_, change, receipt.index);
    if (secret_value) {
      UserSecrets& secrets = state_->secrets[std::holds_alternative<UserPassword>(change)
                                                 ? std::get<UserPassword>(change).principal_id
                                                 : std::get<UserTotp>(change).principal_id];
      if (std::holds_alternative<UserPassword>(change)) {
        secrets.password_hash = *secret_value;
      } else {
        secrets.totp_secret = to_bytes(*secret_value);
      }
    }
  }

  // The journal lets the next open() skip the log; if this write fails the
  // journal stops here (replayed_up_to stays put) and open() reads the tail.
  if (!journal_stale_) {
    ledger::LogEntry entry{
        ledger::EntryKind::kControlChange, receipt.index, receipt.receive_time, actor, {},
        std::move(request.payload)};
    store::WriteBatch batch;
    batch.put(store::Family::kPrincipals, journal_key(receipt.index), ledger::encode_entry(entry));
    batch.put(store::Family::kPrincipals, ledger::kReplayMarkKey,
              ledger::encode_replay_mark(receipt.index + 1));
    if (!store_.write(batch, /*sync=*/false).is_ok()) journal_stale_ = true;
  }
  return ChangeReceipt{std::string(control_op_name(change)), std::move(receipt)};
}

// ---- Queries ----

PrincipalPtr IdentityService::find_principal(std::string_view id) const {
  std::shared_lock lock(state_mutex_);
  auto it = state_->principals.find(id);
  return it == state_->principals.end() ? nullptr : it->second;
}

KeyLookup IdentityService::find_by_key_id(std::string_view key_id,
                                          std::optional<UnixMicros> at) const {
  UnixMicros time = at ? *at : clock_.now_micros();
  KeyLookup lookup;
  {
    std::shared_lock lock(state_mutex_);
    auto owner = state_->key_owner.find(key_id);
    if (owner == state_->key_owner.end()) return lookup;
    lookup.principal = owner->second.principal != nullptr
                           ? *owner->second.principal
                           : state_->principals.at(owner->second.principal_id);
  }
  lookup.key = *lookup.principal->find_key(key_id);
  switch (lookup.principal->status) {
    case PrincipalStatus::kRevoked:
      lookup.verdict = KeyVerdict::kPrincipalRevoked;
      break;
    case PrincipalStatus::kQuarantined:
      lookup.verdict = KeyVerdict::kPrincipalQuarantined;
      break;
    case PrincipalStatus::kSuspended:
      lookup.verdict = KeyVerdict::kPrincipalSuspended;
      break;
    case PrincipalStatus::kActive:
      if (time < lookup.key.not_before) {
        lookup.verdict = KeyVerdict::kNotYetValid;
      } else if (!lookup.key.valid_at(time)) {
        lookup.verdict = KeyVerdict::kExpired;
      } else {
        lookup.verdict = KeyVerdict::kValid;
      }
      break;
  }
  return lookup;
}

std::vector<PrincipalPtr> IdentityService::list_principals(const PrincipalFilter& filter) const {
  std::vector<PrincipalPtr> principals;
  std::shared_lock lock(state_mutex_);
  auto it = filter.id_prefix.empty() ? state_->principals.begin()
                                     : state_->principals.lower_bound(filter.id_prefix);
  for (; it != state_->principals.end() && principals.size() < filter.limit; ++it) {
    if (it->first.compare(0, filter.id_prefix.size(), filter.id_prefix) != 0) break;
    if (filter.matches(*it->second)) principals.push_back(it->second);
  }
  return principals;
}

KeyLookupFn IdentityService::key_lookup() const {
  return [this](std::string_view key_id) -> std::optional<Ed25519PublicKey> {
    KeyLookup lookup = find_by_key_id(key_id);
    if (!lookup.ok()) return std::nullopt;
    return lookup.key.public_key;
  };
}

std::string IdentityService::dump_state() const {
  std::shared_lock lock(state_mutex_);
  return identity_internal::dump_state(*state_);
}

// ---- Keys ----

Result<std::vector<ChangeReceipt>> IdentityService::rotate_key(
    const std::string& principal_id, const std::string& old_key_id, const std::string& new_key_id,
    const Ed25519PublicKey& new_key, std::chrono::microseconds overlap, const std::string& actor,
    const std::string& decision_id) {
  if (overlap.count() < 0) return invalid_argument("overlap must not be negative");
  std::lock_guard writer(writer_mutex_);
  const Principal* principal = state_->find(principal_id);
  if (principal == nullptr) return not_found("unknown principal \"" + principal_id + "\"");
  const PrincipalKey* old_key = principal->find_key(old_key_id);
  if (old_key == nullptr) {
    return not_found("principal \"" + principal_id + "\" has no key \"" + old_key_id + "\"");
  }
  std::optional<UnixMicros> old_not_after = old_key->not_after;

  UnixMicros now = clock_.now_micros();
  std::vector<ChangeReceipt> receipts;
  CUSTOS_ASSIGN_OR_RETURN(ChangeReceipt added,
                          apply_locked(KeyAdd{principal_id, new_key_id, new_key, now, std::nullopt},
                                       actor, decision_id));
  receipts.push_back(std::move(added));
  UnixMicros retire_at = now + overlap.count();
  if (!old_not_after || *old_not_after > retire_at) {
    CUSTOS_ASSIGN_OR_RETURN(
        ChangeReceipt expired,
        apply_locked(KeyExpire{principal_id, old_key_id, retire_at}, actor, decision_id));
    receipts.push_back(std::move(expired));
  }
  return receipts;
}

// ---- Enrollment ----

Result<EnrollmentTicket> IdentityService::create_enrollment(const std::string& principal_id,
                                                            std::chrono::microseconds ttl,
                                                            const std::string& actor,
                                                            const std::string& decision_id) {
  if (ttl.count() <= 0) return invalid_argument("enrollment ttl must be positive");
  EnrollmentTicket ticket;
  ticket.token = generate_token(32);
  std::lock_guard writer(writer_mutex_);
  ticket.expires_at = clock_.now_micros() + ttl.count();
  CUSTOS_ASSIGN_OR_RETURN(
      ticket.receipt,
      apply_locked(EnrollmentCreate{principal_id, hash_token(ticket.token), ticket.expires_at},
                   actor, decision_id));
  return ticket;
}

Result<ChangeReceipt> IdentityService::complete_enrollment(std::string_view token,
                                                           const Ed25519PublicKey& public_key,
                                                           const Ed25519Signature& proof,
                                                           const std::string& decision_id) {
  Hash256 token_hash = hash_token(token);
  std::lock_guard writer(writer_mutex_);
  auto it = state_->enrollments.find(token_hash.hex());
  if (it == state_->enrollments.end()) return unauthenticated("unknown enrollment token");
  const identity_internal::EnrollmentRecord& record = it->second;
  if (record.completed_at_index) return failed_precondition("enrollment token was already used");
  UnixMicros now = clock_.now_micros();
  if (now >= record.expires_at) return failed_precondition("enrollment token expired");
  std::string principal_id = record.principal_id;
  if (!ed25519_verify(public_key,
                      as_bytes(enrollment_proof_message(principal_id, public_key, token)), proof)) {
    return unauthenticated("proof of possession does not verify for this key");
  }
  return apply_locked(
      EnrollmentComplete{principal_id, token_hash, key_id_for(public_key), public_key, now, proof},
      principal_id, decision_id);
}

// ---- API tokens ----

Result<NewApiToken> IdentityService::create_api_token(const std::string& principal_id,
                                                      const std::set<std::string>& scopes,
                                                      std::chrono::microseconds ttl,
                                                      const std::string& actor,
                                                      const std::string& decision_id) {
  if (ttl.count() <= 0) return invalid_argument("token ttl must be positive");
  NewApiToken created;
  created.token = generate_token(32);
  created.token_id = "tok-" + hex_encode(random_bytes(8));
  std::lock_guard writer(writer_mutex_);
  created.expires_at = clock_.now_micros() + ttl.count();
  CUSTOS_ASSIGN_OR_RETURN(created.receipt, apply_locked(TokenCreate{principal_id, created.token_id,
                                                                    hash_token(created.token),
                                                                    scopes, created.expires_at},
                                                        actor, decision_id));
  return created;
}

Result<ChangeReceipt> IdentityService::revoke_api_token(const std::string& principal_id,
                                                        const std::string& token_id,
                                                        const std::string& actor,
                                                        const std::string& decision_id) {
  return apply(TokenRevoke{principal_id, token_id}, actor, decision_id);
}

// ---- Users ----

Result<ChangeReceipt> IdentityService::set_password(const std::string& principal_id,
                                                    std::string_view password,
                                                    const std::string& actor,
                                                    const std::string& decision_id) {
  // Hash before taking the writer lock: Argon2id is slow by design.
  CUSTOS_ASSIGN_OR_RETURN(std::string hash, hash_password(password, options_.password_limits));
  Hash256 commitment = secret_commitment("password", principal_id, as_bytes(hash));
  std::lock_guard writer(writer_mutex_);
  UserPassword change{principal_id, commitment};
  CUSTOS_RETURN_IF_ERROR(check_change(*state_, change));
  CUSTOS_RETURN_IF_ERROR(store_secret(commitment, as_bytes(hash)));
  return apply_locked(change, actor, decision_id);
}

Result<TotpEnrollment> IdentityService::enroll_totp(const std::string& principal_id,
                                                    const std::string& actor,
                                                    const std::string& decision_id) {
  Bytes secret = random_bytes(kTotpSecretBytes);
  TotpEnrollment enrollment;
  enrollment.secret_base32 = base32_encode(secret);
  CUSTOS_ASSIGN_OR_RETURN(enrollment.otpauth_uri, totp_uri(secret, options_.totp_issuer,
                                                           principal_id, options_.totp_params));
  Hash256 commitment = secret_commitment("totp", principal_id, secret);
  std::lock_guard writer(writer_mutex_);
  UserTotp change{principal_id, commitment};
  CUSTOS_RETURN_IF_ERROR(check_change(*state_, change));
  CUSTOS_RETURN_IF_ERROR(store_secret(commitment, secret));
  CUSTOS_ASSIGN_OR_RETURN(enrollment.receipt, apply_locked(change, actor, decision_id));
  return enrollment;
}

Result<NewUser> IdentityService::create_user(const PrincipalAttributes& attributes,
                                             std::string_view password, bool with_totp,
                                             const std::string& actor,
                                             const std::string& decision_id) {
  if (attributes.kind != PrincipalKind::kUser)
    return invalid_argument("create_user needs kind user");
  bool needs_totp = with_totp || std::any_of(attributes.roles.begin(), attributes.roles.end(),
                                             [&](const std::string& role) {
                                               return options_.trust_changing_roles.count(role) > 0;
                                             });
  CUSTOS_ASSIGN_OR_RETURN(std::string hash, hash_password(password, options_.password_limits));
  {
    std::lock_guard writer(writer_mutex_);
    CUSTOS_RETURN_IF_ERROR(apply_locked(PrincipalCreate{attributes}, actor, decision_id).status());
    Hash256 commitment = secret_commitment("password", attributes.id, as_bytes(hash));
    CUSTOS_RETURN_IF_ERROR(store_secret(commitment, as_bytes(hash)));
    CUSTOS_RETURN_IF_ERROR(
        apply_locked(UserPassword{attributes.id, commitment}, actor, decision_id).status());
  }
  NewUser user;
  if (needs_totp) {
    CUSTOS_ASSIGN_OR_RETURN(user.totp, enroll_totp(attributes.id, actor, decision_id));
  }
  user.principal = find_principal(attributes.id);
  return user;
}

const std::string& IdentityService::dummy_password_hash() {
  std::call_once(dummy_hash_once_, [this] {
    auto hash = hash_password(hash_token(generate_token(16)).hex(), options_.password_limits);
    if (hash.is_ok()) dummy_hash_ = *hash;
  });
  return dummy_hash_;
}

Result<Session> IdentityService::login(std::string_view principal_id, std::string_view password,
                                       std::string_view totp_code) {
  PrincipalPtr principal;
  UserSecrets secrets;
  {
    std::shared_lock lock(state_mutex_);
    auto it = state_->principals.find(principal_id);
    if (it != state_->principals.end() && it->second->kind() == PrincipalKind::kUser) {
      principal = it->second;
      auto found = state_->secrets.find(std::string(principal_id));
      if (found != state_->secrets.end()) secrets = found->second;
    }
  }
  bool known = principal != nullptr && !secrets.password_hash.empty();
  // An unknown user costs the same Argon2id verification as a known one.
  auto verified = verify_password(password, known ? secrets.password_hash : dummy_password_hash());
  if (!known || !verified.is_ok() || !*verified) return unauthenticated("invalid credentials");
  if (!principal->is_active()) {
    return unauthenticated("principal is " + std::string(principal_status_name(principal->status)));
  }

  UnixMicros now = clock_.now_micros();
  bool needs_totp = secrets.totp_commitment.has_value() ||
                    std::any_of(principal->attributes.roles.begin(),
                                principal->attributes.roles.end(), [&](const std::string& role) {
                                  return options_.trust_changing_roles.count(role) > 0;
                                });
  std::optional<uint64_t> step;
  if (needs_totp) {
    if (secrets.totp_secret.empty()) {
      return unauthenticated("a TOTP secret must be enrolled before this user can log in");
    }
    if (totp_code.empty()) return unauthenticated("TOTP code required");
    step = verify_totp(secrets.totp_secret, totp_code, unix_seconds(now), options_.totp_params,
                       options_.totp_window);
    if (!step) return unauthenticated("invalid TOTP code");
  }

  if (step) {
    // Check and record the step atomically, and durably before the session
    // exists; a separate mutex keeps the synced write off authenticate_token's path.
    std::lock_guard totp_lock(sessions_->totp_mutex);
    auto last = sessions_->totp_steps.find(principal->id());
    if (last != sessions_->totp_steps.end() && *step <= last->second) {
      return unauthenticated("TOTP code already used");
    }
    store::WriteBatch batch;
    Bytes value;
    append_u64_be(value, *step);
    batch.put(store::Family::kPrincipals, std::string(kTotpStepPrefix) + principal->id(), value);
    CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/true));
    sessions_->totp_steps[principal->id()] = *step;
  }

  Session session;
  session.token = generate_token(32);
  session.expires_at = now + options_.session_ttl.count();
  Hash256 session_hash = hash_token(session.token);
  std::lock_guard lock(sessions_->mutex);
  if (sessions_->by_hash.size() >= options_.max_sessions) {
    sessions_->evict_expired(now);
    if (sessions_->by_hash.size() >= options_.max_sessions) {
      return resource_exhausted("too many live sessions");
    }
  }
  sessions_->by_hash[hash_key(session_hash)] =
      Sessions::Record{principal->id(), session_hash, session.expires_at};
  return session;
}

bool IdentityService::logout(std::string_view session_token) {
  std::lock_guard lock(sessions_->mutex);
  return sessions_->by_hash.erase(hash_key(hash_token(session_token))) > 0;
}

Result<TokenAuthentication> IdentityService::authenticate_token(std::string_view bearer) const {
  if (bearer.empty()) return unauthenticated("empty bearer token");
  Hash256 presented = hash_token(bearer);
  std::string key = hash_key(presented);
  UnixMicros now = clock_.now_micros();
  TokenAuthentication authentication;
  std::string principal_id;
  // The maps are keyed by SHA-256 of the token, so lookup timing reveals
  // nothing usable about a live token; the final comparison is constant-time.
  {
    std::lock_guard lock(sessions_->mutex);
    auto it = sessions_->by_hash.find(key);
    if (it != sessions_->by_hash.end() &&
        constant_time_equals(it->second.token_hash.view(), presented.view())) {
      if (it->second.expires_at <= now) {
        sessions_->by_hash.erase(it);
        return unauthenticated("session expired");
      }
      principal_id = it->second.principal_id;
      authentication.kind = CredentialKind::kSession;
      authentication.expires_at = it->second.expires_at;
    }
  }
  std::shared_lock lock(state_mutex_);
  if (principal_id.empty()) {
    auto it = state_->tokens_by_hash.find(key);
    if (it == state_->tokens_by_hash.end() ||
        !constant_time_equals(it->second.token_hash.view(), presented.view())) {
      return unauthenticated("unknown token");
    }
    principal_id = it->second.principal_id;
    const Principal* owner = state_->find(principal_id);
    const ApiTokenInfo* found = nullptr;
    for (const ApiTokenInfo& token : owner->tokens) {
      if (token.token_id == it->second.token_id) found = &token;
    }
    if (found == nullptr) return internal_error("API token record without metadata");
    {
      const ApiTokenInfo& token = *found;
      if (token.revoked) return unauthenticated("API token revoked");
      if (token.expires_at <= now) return unauthenticated("API token expired");
      authentication.kind = CredentialKind::kApiToken;
      authentication.token_id = token.token_id;
      authentication.scopes = token.scopes;
      authentication.expires_at = token.expires_at;
    }
  }
  auto it = state_->principals.find(principal_id);
  if (it == state_->principals.end()) return unauthenticated("unknown principal");
  authentication.principal = it->second;
  if (!authentication.principal->is_active()) {
    return unauthenticated("principal is " +
                           std::string(principal_status_name(authentication.principal->status)));
  }
  if (authentication.kind == CredentialKind::kSession) {
    authentication.scopes = authentication.principal->attributes.roles;
  }
  return authentication;
}

}  // namespace custos::identity
