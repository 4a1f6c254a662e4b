// custos identity: principals, their keys and their API tokens, as values.
//
// A principal is anyone or anything that asks custos to do something: a
// device (scanner, gate, door controller, tracker, WMS or TMS connector), a
// user, a service, a witness or a partner. Its attributes, status, Ed25519
// public keys and API token metadata are public data: they are rebuilt from
// control entries in the log (control_change.h) by IdentityService, which
// hands them out as immutable Principal values behind shared pointers, so a
// reader may keep one as long as it likes while the service moves on.
// Secrets (password hashes, TOTP secrets, raw tokens) never appear here.
//
// Everything in this header is a plain value or a pure function: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"

namespace custos::identity {

enum class PrincipalKind : uint8_t { kDevice, kUser, kService, kWitness, kPartner };

// Devices only; every other kind has kNone.
enum class DeviceSubtype : uint8_t {
  kNone,
  kScanner,
  kGate,
  kDoorController,
  kTracker,
  kWmsConnector,
  kTmsConnector,
};

// kRevoked is terminal: a revoked principal never becomes active again.
enum class PrincipalStatus : uint8_t { kActive, kSuspended, kQuarantined, kRevoked };

// Names as written in control entries: "device", "door_controller", "quarantined"...
std::string_view principal_kind_name(PrincipalKind kind);
std::string_view device_subtype_name(DeviceSubtype subtype);  // "" for kNone
std::string_view principal_status_name(PrincipalStatus status);
Result<PrincipalKind> parse_principal_kind(std::string_view name);
Result<DeviceSubtype> parse_device_subtype(std::string_view name);  // "" is kNone
Result<PrincipalStatus> parse_principal_status(std::string_view name);

// Identifiers (principal ids, key ids, token ids, roles, scopes): 1..128
// bytes of [A-Za-z0-9._:@/-], e.g. "dev-0042", "alice@example.com".
bool is_valid_identifier(std::string_view text);

// A registered Ed25519 key. It verifies requests at times t with
// not_before <= t and, when not_after is set, t < not_after.
struct PrincipalKey {
  std::string key_id;  // unique across all principals
  Ed25519PublicKey public_key;
  UnixMicros not_before = 0;
  std::optional<UnixMicros> not_after;
  uint64_t added_at_index = 0;  // log index of the entry that added it

  bool valid_at(UnixMicros time) const {
    return not_before <= time && (!not_after || time < *not_after);
  }
  friend bool operator==(const PrincipalKey&, const PrincipalKey&) = default;
};

// An API token's public metadata (the token itself is shown once; only its
// SHA-256 is kept, by the service).
struct ApiTokenInfo {
  std::string token_id;
  std::set<std::string> scopes;
  UnixMicros expires_at = 0;
  bool revoked = false;
  friend bool operator==(const ApiTokenInfo&, const ApiTokenInfo&) = default;
};

// The attributes a principal.create entry sets; principal.update replaces
// any of display_name..tags.
struct PrincipalAttributes {
  std::string id;
  PrincipalKind kind = PrincipalKind::kDevice;
  DeviceSubtype subtype = DeviceSubtype::kNone;
  std::string display_name;
  std::string site;
  std::string zone;
  std::set<std::string> roles;
  std::string vendor;
  std::string shift;
  std::map<std::string, std::string> tags;
  friend bool operator==(const PrincipalAttributes&, const PrincipalAttributes&) = default;
};

struct Principal {
  PrincipalAttributes attributes;
  PrincipalStatus status = PrincipalStatus::kActive;
  std::string status_reason;
  std::vector<PrincipalKey> keys;    // in the order they were added
  std::vector<ApiTokenInfo> tokens;  // in the order they were created
  bool has_password = false;         // users: a password is set
  bool has_totp = false;             // users: a TOTP secret is enrolled
  uint64_t created_at_index = 0;     // log index of principal.create
  uint64_t last_change_index = 0;    // log index of the latest entry that changed it

  const std::string& id() const { return attributes.id; }
  PrincipalKind kind() const { return attributes.kind; }
  bool is_active() const { return status == PrincipalStatus::kActive; }
  const PrincipalKey* find_key(std::string_view key_id) const;
  friend bool operator==(const Principal&, const Principal&) = default;
};

using PrincipalPtr = std::shared_ptr<const Principal>;

// Conditions for IdentityService::list_principals; unset fields match anything.
struct PrincipalFilter {
  std::optional<PrincipalKind> kind;
  std::optional<DeviceSubtype> subtype;
  std::optional<PrincipalStatus> status;
  std::optional<std::string> site;
  std::optional<std::string> zone;
  std::optional<std::string> role;  // holds this role
  std::optional<std::string> vendor;
  std::optional<std::pair<std::string, std::string>> tag;  // tags[first] == second
  std::string id_prefix;
  size_t limit = SIZE_MAX;

  bool matches(const Principal& principal) const;
};

}  // namespace custos::identity
