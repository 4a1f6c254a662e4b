#include "custos/identity/principal.h"

#include <array>

namespace custos::identity {
namespace {

constexpr std::array<std::string_view, 5> kKindNames = {"device", "user", "service", "witness",
                                                        "partner"};
constexpr std::array<std::string_view, 7> kSubtypeNames = {
    "", "scanner", "gate", "door_controller", "tracker", "wms_connector", "tms_connector"};
constexpr std::array<std::string_view, 4> kStatusNames = {"active", "suspended", "quarantined",
                                                          "revoked"};

template <typename Enum, size_t N>
Result<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view name,
                        std::string_view what) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return invalid_argument("unknown " + std::string(what) + " \"" + std::string(name) + "\"");
}

}  // namespace

std::string_view principal_kind_name(PrincipalKind kind) {
  return kKindNames[static_cast<size_t>(kind)];
}
std::string_view device_subtype_name(DeviceSubtype subtype) {
  return kSubtypeNames[static_cast<size_t>(subtype)];
}
std::string_view principal_status_name(PrincipalStatus status) {
  return kStatusNames[static_cast<size_t>(status)];
}
Result<PrincipalKind> parse_principal_kind(std::string_view name) {
  return parse_name<PrincipalKind>(kKindNames, name, "principal kind");
}
Result<DeviceSubtype> parse_device_subtype(std::string_view name) {
  return parse_name<DeviceSubtype>(kSubtypeNames, name, "device subtype");
}
Result<PrincipalStatus> parse_principal_status(std::string_view name) {
  return parse_name<PrincipalStatus>(kStatusNames, name, "principal status");
}

bool is_valid_identifier(std::string_view text) {
  if (text.empty() || text.size() > 128) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const PrincipalKey* Principal::find_key(std::string_view key_id) const {
  for (const PrincipalKey& key : keys) {
    if (key.key_id == key_id) return &key;
  }
  return nullptr;
}

bool PrincipalFilter::matches(const Principal& principal) const {
  const PrincipalAttributes& a = principal.attributes;
  if (kind && a.kind != *kind) return false;
  if (subtype && a.subtype != *subtype) return false;
  if (status && principal.status != *status) return false;
  if (site && a.site != *site) return false;
  if (zone && a.zone != *zone) return false;
  if (role && a.roles.count(*role) == 0) return false;
  if (vendor && a.vendor != *vendor) return false;
  if (tag) {
    auto it = a.tags.find(tag->first);
    if (it == a.tags.end() || it->second != tag->second) return false;
  }
  return a.id.compare(0, id_prefix.size(), id_prefix) == 0;
}

}  // namespace custos::identity
