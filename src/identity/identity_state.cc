#include "identity_state.h"

#include <simdjson.h>

#include <algorithm>
#include <memory>
#include <type_traits>

#include "custos/core/json_writer.h"

namespace custos::identity::identity_internal {
namespace {

constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxAttributeBytes = 128;
constexpr size_t kMaxReasonBytes = 512;
constexpr size_t kMaxSetSize = 64;

Status already_exists(std::string message) {
  return Status(StatusCode::kAlreadyExists, std::move(message));
}

Status check_identifier(std::string_view field, std::string_view value) {
  if (is_valid_identifier(value)) return Status::ok();
  return invalid_argument(std::string(field) + " must be 1..128 characters of [A-Za-z0-9._:@/-]");
}

Status check_text(std::string_view field, std::string_view value, size_t max_bytes) {
  if (is_valid_text(value, max_bytes)) return Status::ok();
  return invalid_argument(std::string(field) +
                          " must be UTF-8 text without control characters, at most " +
                          std::to_string(max_bytes) + " bytes");
}

Status check_roles(const std::set<std::string>& roles) {
  if (roles.size() > kMaxSetSize) return invalid_argument("too many roles");
  for (const std::string& role : roles) CUSTOS_RETURN_IF_ERROR(check_identifier("role", role));
  return Status::ok();
}

Status check_tags(const std::map<std::string, std::string>& tags) {
  if (tags.size() > kMaxSetSize) return invalid_argument("too many tags");
  for (const auto& [name, value] : tags) {
    CUSTOS_RETURN_IF_ERROR(check_identifier("tag name", name));
    CUSTOS_RETURN_IF_ERROR(check_text("tag value", value, kMaxNameBytes));
  }
  return Status::ok();
}

// The principal `id`, which must exist and (unless allow_revoked) not be revoked.
Result<const Principal*> live_principal(const State& state, std::string_view id,
                                        bool allow_revoked = false) {
  const Principal* principal = state.find(id);
  if (principal == nullptr) return not_found("unknown principal \"" + std::string(id) + "\"");
  if (!allow_revoked && principal->status == PrincipalStatus::kRevoked) {
    return failed_precondition("principal \"" + std::string(id) + "\" is revoked");
  }
  return principal;
}

Status check_new_key(const State& state, std::string_view key_id,
                     const Ed25519PublicKey& public_key) {
  CUSTOS_RETURN_IF_ERROR(check_identifier("key_id", key_id));
  if (state.key_owner.find(key_id) != state.key_owner.end()) {
    return already_exists("key id \"" + std::string(key_id) + "\" is already registered");
  }
  if (state.public_keys.count(public_key.bytes) != 0) {
    return already_exists("public key is already registered");
  }
  return Status::ok();
}

Status check_user(const State& state, std::string_view id) {
  CUSTOS_ASSIGN_OR_RETURN(const Principal* principal, live_principal(state, id));
  if (principal->kind() != PrincipalKind::kUser) {
    return failed_precondition("principal \"" + std::string(id) + "\" is not a user");
  }
  return Status::ok();
}

Status check(const State& state, const PrincipalCreate& change) {
  const PrincipalAttributes& a = change.attributes;
  CUSTOS_RETURN_IF_ERROR(check_identifier("id", a.id));
  if (state.find(a.id) != nullptr) return already_exists("principal \"" + a.id + "\" exists");
  if ((a.kind == PrincipalKind::kDevice) != (a.subtype != DeviceSubtype::kNone)) {
    return invalid_argument(
        "a device needs a subtype (scanner, gate, door_controller, tracker, wms_connector, "
        "tms_connector) and other kinds have none");
  }
  CUSTOS_RETURN_IF_ERROR(check_text("display_name", a.display_name, kMaxNameBytes));
  CUSTOS_RETURN_IF_ERROR(check_text("site", a.site, kMaxAttributeBytes));
  CUSTOS_RETURN_IF_ERROR(check_text("zone", a.zone, kMaxAttributeBytes));
  CUSTOS_RETURN_IF_ERROR(check_text("vendor", a.vendor, kMaxAttributeBytes));
  CUSTOS_RETURN_IF_ERROR(check_text("shift", a.shift, kMaxAttributeBytes));
  CUSTOS_RETURN_IF_ERROR(check_roles(a.roles));
  return check_tags(a.tags);
}

Status check(const State& state, const PrincipalUpdate& change) {
  CUSTOS_RETURN_IF_ERROR(live_principal(state, change.id).status());
  if (!change.display_name && !change.site && !change.zone && !change.roles && !change.vendor &&
      !change.shift && !change.tags) {
    return invalid_argument("principal.update changes nothing");
  }
  if (change.display_name) {
    CUSTOS_RETURN_IF_ERROR(check_text("display_name", *change.display_name, kMaxNameBytes));
  }
  if (change.site) CUSTOS_RETURN_IF_ERROR(check_text("site", *change.site, kMaxAttributeBytes));
  if (change.zone) CUSTOS_RETURN_IF_ERROR(check_text("zone", *change.zone, kMaxAttributeBytes));
  if (change.vendor) {
    CUSTOS_RETURN_IF_ERROR(check_text("vendor", *change.vendor, kMaxAttributeBytes));
  }
  if (change.shift) CUSTOS_RETURN_IF_ERROR(check_text("shift", *change.shift, kMaxAttributeBytes));
  if (change.roles) CUSTOS_RETURN_IF_ERROR(check_roles(*change.roles));
  if (change.tags) CUSTOS_RETURN_IF_ERROR(check_tags(*change.tags));
  return Status::ok();
}

Status check(const State& state, const PrincipalStatusChange& change) {
  CUSTOS_ASSIGN_OR_RETURN(const Principal* principal, live_principal(state, change.id));
  if (principal->status == change.status) {
    return failed_precondition("principal \"" + change.id + "\" is already " +
                               std::string(principal_status_name(change.status)));
  }
  return check_text("reason", change.reason, kMaxReasonBytes);
}

Status check(const State& state, const KeyAdd& change) {
  CUSTOS_RETURN_IF_ERROR(live_principal(state, change.principal_id).status());
  CUSTOS_RETURN_IF_ERROR(check_new_key(state, change.key_id, change.public_key));
  if (change.not_after && *change.not_after <= change.not_before) {
    return invalid_argument("not_after must be later than not_before");
  }
  return Status::ok();
}

Status check(const State& state, const KeyExpire& change) {
  CUSTOS_ASSIGN_OR_RETURN(const Principal* principal,
                          live_principal(state, change.principal_id, /*allow_revoked=*/true));
  const PrincipalKey* key = principal->find_key(change.key_id);
  if (key == nullptr) {
    return not_found("principal \"" + change.principal_id + "\" has no key \"" + change.key_id +
                     "\"");
  }
  if (key->not_after && *key->not_after <= change.not_after) {
    return failed_precondition("key \"" + change.key_id +
                               "\" already expires by then; not_after can only move earlier");
  }
  return Status::ok();
}

Status check(const State& state, const EnrollmentCreate& change) {
  CUSTOS_RETURN_IF_ERROR(live_principal(state, change.principal_id).status());
  if (state.enrollments.count(change.token_hash.hex()) != 0) {
    return already_exists("enrollment token hash already used");
  }
  return Status::ok();
}

Status check(const State& state, const EnrollmentComplete& change) {
  auto it = state.enrollments.find(change.token_hash.hex());
  if (it == state.enrollments.end()) return not_found("unknown enrollment token");
  if (it->second.principal_id != change.principal_id) {
    return invalid_argument("enrollment token belongs to another principal");
  }
  if (it->second.completed_at_index) {
    return failed_precondition("enrollment token was already used");
  }
  CUSTOS_RETURN_IF_ERROR(live_principal(state, change.principal_id).status());
  if (change.key_id != key_id_for(change.public_key)) {
    return invalid_argument("enrolled key id must be key_id_for(public_key)");
  }
  return check_new_key(state, change.key_id, change.public_key);
}

Status check(const State& state, const TokenCreate& change) {
  CUSTOS_RETURN_IF_ERROR(live_principal(state, change.principal_id).status());
  CUSTOS_RETURN_IF_ERROR(check_identifier("token_id", change.token_id));
  if (state.token_ids.count(change.token_id) != 0) {
    return already_exists("token id \"" + change.token_id + "\" exists");
  }
  if (state.tokens_by_hash.count(hash_key(change.token_hash)) != 0) {
    return already_exists("token hash already registered");
  }
  if (change.scopes.empty()) return invalid_argument("an API token needs at least one scope");
  if (change.scopes.size() > kMaxSetSize) return invalid_argument("too many scopes");
  for (const std::string& scope : change.scopes) {
    CUSTOS_RETURN_IF_ERROR(check_identifier("scope", scope));
  }
  return Status::ok();
}

Status check(const State& state, const TokenRevoke& change) {
  CUSTOS_ASSIGN_OR_RETURN(const Principal* principal,
                          live_principal(state, change.principal_id, /*allow_revoked=*/true));
  for (const ApiTokenInfo& token : principal->tokens) {
    if (token.token_id != change.token_id) continue;
    if (token.revoked) return failed_precondition("token \"" + change.token_id + "\" is revoked");
    return Status::ok();
  }
  return not_found("principal \"" + change.principal_id + "\" has no token \"" + change.token_id +
                   "\"");
}

Status check(const State& state, const UserPassword& change) {
  return check_user(state, change.principal_id);
}
Status check(const State& state, const UserTotp& change) {
  return check_user(state, change.principal_id);
}

// Copy-on-write: readers may hold the old value.
Principal& mutable_principal(State& state, const std::string& id, uint64_t index,
                             std::shared_ptr<Principal>& holder) {
  holder = std::make_shared<Principal>(*state.principals.at(id));
  holder->last_change_index = index;
  return *holder;
}

void register_key(State& state, Principal& principal, PrincipalKey key) {
  state.key_owner[key.key_id] = KeyOwner{principal.id(), nullptr};
  state.public_keys.insert(key.public_key.bytes);
  principal.keys.push_back(std::move(key));
}

void apply(State& /*state*/, const PrincipalCreate& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  holder = std::make_shared<Principal>();
  holder->attributes = change.attributes;
  holder->created_at_index = index;
  holder->last_change_index = index;
}

void apply(State& state, const PrincipalUpdate& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  PrincipalAttributes& a = mutable_principal(state, change.id, index, holder).attributes;
  if (change.display_name) a.display_name = *change.display_name;
  if (change.site) a.site = *change.site;
  if (change.zone) a.zone = *change.zone;
  if (change.roles) a.roles = *change.roles;
  if (change.vendor) a.vendor = *change.vendor;
  if (change.shift) a.shift = *change.shift;
  if (change.tags) a.tags = *change.tags;
}

void apply(State& state, const PrincipalStatusChange& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  Principal& principal = mutable_principal(state, change.id, index, holder);
  principal.status = change.status;
  principal.status_reason = change.reason;
}

void apply(State& state, const KeyAdd& change, uint64_t index, std::shared_ptr<Principal>& holder) {
  Principal& principal = mutable_principal(state, change.principal_id, index, holder);
  register_key(
      state, principal,
      PrincipalKey{change.key_id, change.public_key, change.not_before, change.not_after, index});
}

void apply(State& state, const KeyExpire& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  Principal& principal = mutable_principal(state, change.principal_id, index, holder);
  for (PrincipalKey& key : principal.keys) {
    if (key.key_id == change.key_id) key.not_after = change.not_after;
  }
}

void apply(State& state, const EnrollmentCreate& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  state.enrollments[change.token_hash.hex()] =
      EnrollmentRecord{change.principal_id, change.expires_at, index, std::nullopt};
  mutable_principal(state, change.principal_id, index, holder);
}

void apply(State& state, const EnrollmentComplete& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  state.enrollments[change.token_hash.hex()].completed_at_index = index;
  Principal& principal = mutable_principal(state, change.principal_id, index, holder);
  register_key(
      state, principal,
      PrincipalKey{change.key_id, change.public_key, change.not_before, std::nullopt, index});
}

void apply(State& state, const TokenCreate& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  Principal& principal = mutable_principal(state, change.principal_id, index, holder);
  principal.tokens.push_back(
      ApiTokenInfo{change.token_id, change.scopes, change.expires_at, false});
  state.token_ids.insert(change.token_id);
  state.tokens_by_hash[hash_key(change.token_hash)] =
      TokenRecord{change.principal_id, change.token_id, change.token_hash};
}

void apply(State& state, const TokenRevoke& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  Principal& principal = mutable_principal(state, change.principal_id, index, holder);
  for (ApiTokenInfo& token : principal.tokens) {
    if (token.token_id == change.token_id) token.revoked = true;
  }
}

void apply(State& state, const UserPassword& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  mutable_principal(state, change.principal_id, index, holder).has_password = true;
  UserSecrets& secrets = state.secrets[change.principal_id];
  secrets.password_commitment = change.password_commitment;
  secrets.password_hash.clear();
}

void apply(State& state, const UserTotp& change, uint64_t index,
           std::shared_ptr<Principal>& holder) {
  mutable_principal(state, change.principal_id, index, holder).has_totp = true;
  UserSecrets& secrets = state.secrets[change.principal_id];
  secrets.totp_commitment = change.totp_commitment;
  secrets.totp_secret.clear();
}

void write_principal(JsonWriter& w, const Principal& p, const State& state) {
  const PrincipalAttributes& a = p.attributes;
  w.begin_object();
  w.key("id").string(a.id);
  w.key("kind").string(principal_kind_name(a.kind));
  w.key("subtype").string(device_subtype_name(a.subtype));
  w.key("display_name").string(a.display_name);
  w.key("site").string(a.site);
  w.key("zone").string(a.zone);
  w.key("roles").begin_array();
  for (const std::string& role : a.roles) w.string(role);
  w.end_array();
  w.key("vendor").string(a.vendor);
  w.key("shift").string(a.shift);
  w.key("tags").begin_object();
  for (const auto& [name, value] : a.tags) w.key(name).string(value);
  w.end_object();
  w.key("status").string(principal_status_name(p.status));
  w.key("status_reason").string(p.status_reason);
  w.key("created_at_index").number(p.created_at_index);
  w.key("last_change_index").number(p.last_change_index);
  w.key("keys").begin_array();
  for (const PrincipalKey& key : p.keys) {
    w.begin_object();
    w.key("key_id").string(key.key_id);
    w.key("public_key").string(base64_encode(key.public_key.view()));
    w.key("not_before").number(int64_t{key.not_before});
    w.key("not_after");
    if (key.not_after) {
      w.number(int64_t{*key.not_after});
    } else {
      w.null();
    }
    w.key("added_at_index").number(key.added_at_index);
    w.end_object();
  }
  w.end_array();
  w.key("tokens").begin_array();
  for (const ApiTokenInfo& token : p.tokens) {
    w.begin_object();
    w.key("token_id").string(token.token_id);
    w.key("scopes").begin_array();
    for (const std::string& scope : token.scopes) w.string(scope);
    w.end_array();
    w.key("expires_at").number(int64_t{token.expires_at});
    w.key("revoked").boolean(token.revoked);
    w.end_object();
  }
  w.end_array();
  w.key("password_commitment");
  auto secrets = state.secrets.find(a.id);
  if (secrets != state.secrets.end() && secrets->second.password_commitment) {
    w.string(secrets->second.password_commitment->hex());
  } else {
    w.null();
  }
  w.key("totp_commitment");
  if (secrets != state.secrets.end() && secrets->second.totp_commitment) {
    w.string(secrets->second.totp_commitment->hex());
  } else {
    w.null();
  }
  w.end_object();
}

}  // namespace

bool is_valid_text(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return simdjson::validate_utf8(text.data(), text.size());
}

Status check_change(const State& state, const ControlChange& change) {
  return std::visit([&](const auto& fields) { return check(state, fields); }, change);
}

void apply_change(State& state, const ControlChange& change, uint64_t index) {
  std::shared_ptr<Principal> holder;
  std::visit([&](const auto& fields) { apply(state, fields, index, holder); }, change);
  if (!holder) return;
  PrincipalPtr& slot = state.principals[holder->id()];
  slot = std::move(holder);
  for (const PrincipalKey& key : slot->keys) {
    auto owner = state.key_owner.find(key.key_id);
    if (owner != state.key_owner.end()) owner->second.principal = &slot;
  }
}

std::string dump_state(const State& state) {
  JsonWriter w;
  w.begin_object();
  w.key("principals").begin_array();
  for (const auto& [id, principal] : state.principals) write_principal(w, *principal, state);
  w.end_array();
  w.key("enrollments").begin_array();
  for (const auto& [hash_hex, record] : state.enrollments) {
    w.begin_object();
    w.key("token_hash").string(hash_hex);
    w.key("principal_id").string(record.principal_id);
    w.key("expires_at").number(int64_t{record.expires_at});
    w.key("created_at_index").number(record.created_at_index);
    w.key("completed_at_index");
    if (record.completed_at_index) {
      w.number(*record.completed_at_index);
    } else {
      w.null();
    }
    w.end_object();
  }
  w.end_array();
  std::map<std::string, const TokenRecord*> tokens;  // sorted by token id
  for (const auto& [hash, record] : state.tokens_by_hash) tokens[record.token_id] = &record;
  w.key("token_hashes").begin_object();
  for (const auto& [token_id, record] : tokens) w.key(token_id).string(record->token_hash.hex());
  w.end_object();
  w.end_object();
  return w.take();
}

}  // namespace custos::identity::identity_internal
