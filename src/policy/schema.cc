#include "custos/policy/schema.h"

#include <algorithm>
#include <utility>

#include "ast.h"

namespace custos::policy {

namespace {

using internal::AttributeRef;
using internal::EntityRef;
using internal::RefSite;
using internal::ScopeConstraint;
using internal::Var;

// Levenshtein distance, for "did you mean" hints on short names.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean `x`?)" for the closest candidate within two edits, or "".
template <typename Names>
std::string suggestion(std::string_view name, const Names& candidates) {
  constexpr size_t kMaxDistance = 2;
  std::string_view best;
  size_t best_distance = kMaxDistance + 1;
  for (const auto& candidate : candidates) {
    size_t distance = edit_distance(name, candidate);
    if (distance < best_distance && distance < name.size()) {
      best = candidate;
      best_distance = distance;
    }
  }
  if (best.empty()) return "";
  return " (did you mean `" + std::string(best) + "`?)";
}

std::string_view var_name(Var var) {
  switch (var) {
    case Var::kPrincipal: return "principal";
    case Var::kAction: return "action";
    case Var::kResource: return "resource";
    case Var::kContext: return "context";
  }
  return "?";
}

std::string describe_access(const AttributeRef& ref) {
  std::string text(var_name(ref.var));
  text += ref.has_test ? " has " : ".";
  text += ref.name;
  return "`" + text + "`";
}

class Validator {
 public:
  Validator(const Schema& schema, const internal::CompiledPolicySet& set,
            std::vector<ValidationError>& errors)
      : schema_(schema), set_(set), errors_(errors) {}

  void check_entity(const EntityRef& ref) {
    if (!schema_.entity_types.contains(ref.type)) {
      std::vector<std::string_view> names;
      for (const auto& [name, unused] : schema_.entity_types) names.push_back(name);
      add(ref.pos, "unknown entity type `" + ref.type + "`" + suggestion(ref.type, names));
      return;
    }
    if (ref.site == RefSite::kActionScope && ref.type != schema_.action_type) {
      add(ref.pos, "the action scope must name " + schema_.action_type + " entities, not `" +
                       ref.type + "`");
      return;
    }
    if (ref.type == schema_.action_type && ref.has_id && !schema_.actions.contains(ref.id)) {
      add(ref.pos, "unknown action `" + ref.type + "::\"" + ref.id + "\"`" +
                       suggestion(ref.id, schema_.actions));
    }
  }

  void check_attribute(const AttributeRef& ref) {
    if (ref.var == Var::kContext) {
      if (schema_.context.contains(ref.name)) return;
      std::vector<std::string_view> keys;
      for (const auto& [key, unused] : schema_.context) keys.push_back(key);
      add(ref.pos, describe_access(ref) + ": the context has no key `" + ref.name + "`" +
                       suggestion(ref.name, keys));
      return;
    }
    const internal::CompiledPolicy& policy = set_.policies[ref.policy];
    bool is_principal = ref.var == Var::kPrincipal;
    const ScopeConstraint& scope = is_principal ? policy.principal : policy.resource;
    std::string_view single_type;
    switch (scope.kind) {
      case ScopeConstraint::Kind::kEq: single_type = scope.uid.type; break;
      case ScopeConstraint::Kind::kIs:
      case ScopeConstraint::Kind::kIsIn: single_type = scope.type; break;
      default: break;
    }
    std::vector<std::string_view> names;  // attributes of every allowed type
    if (!single_type.empty()) {
      auto type = schema_.entity_types.find(single_type);
      if (type == schema_.entity_types.end()) return;  // already refused as unknown
      if (type->second.attributes.contains(ref.name)) return;
      for (const auto& [name, unused] : type->second.attributes) names.push_back(name);
      add(ref.pos, describe_access(ref) + ": " + std::string(single_type) +
                       " has no attribute `" + ref.name + "`" + suggestion(ref.name, names));
      return;
    }
    for (const auto& [type_name, type] : schema_.entity_types) {
      if (is_principal ? !type.principal : !type.resource) continue;
      if (type.attributes.contains(ref.name)) return;
      for (const auto& [name, unused] : type.attributes) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    add(ref.pos, describe_access(ref) + ": no " + std::string(var_name(ref.var)) +
                     " type has an attribute `" + ref.name + "`" + suggestion(ref.name, names));
  }

 private:
  void add(internal::SourcePos pos, std::string message) {
    errors_.push_back({pos.line, pos.column, std::move(message)});
  }

  const Schema& schema_;
  const internal::CompiledPolicySet& set_;
  std::vector<ValidationError>& errors_;
};

Status refusal(const std::vector<ValidationError>& errors) {
  std::string message = errors.front().to_string();
  if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more errors)";
  return invalid_argument(std::move(message));
}

}  // namespace

std::string AttributeType::to_string() const {
  switch (kind) {
    case AttributeKind::kString: return "String";
    case AttributeKind::kLong: return "Long";
    case AttributeKind::kBool: return "Bool";
    case AttributeKind::kSet:
      return "Set<" + (element.empty() ? std::string("?") : element.front().to_string()) + ">";
    case AttributeKind::kRecord: return "Record";
    case AttributeKind::kIpAddr: return "ipaddr";
    case AttributeKind::kDecimal: return "decimal";
    case AttributeKind::kEntity: return "Entity<" + entity_type + ">";
  }
  return "?";
}

std::string ValidationError::to_string() const {
  return std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Schema custos_schema() {
  const AttributeType string = AttributeType::string_type();
  const AttributeType strings = AttributeType::set_of(AttributeType::string_type());
  const AttributeType number = AttributeType::long_type();

  Schema schema;
  EntityTypeSchema principal;
  principal.principal = true;
  principal.resource = true;  // status.read, key.change... act on a principal's own entity
  for (const char* name : {"id", "site", "zone", "vendor", "shift", "status", "kind", "subtype"}) {
    principal.attributes.emplace(name, string);
  }
  principal.attributes.emplace("roles", strings);
  principal.attributes.emplace("tags", AttributeType::open_record());
  for (const char* type : {"Custos::Device", "Custos::User", "Custos::Service", "Custos::Witness",
                           "Custos::Partner"}) {
    schema.entity_types.emplace(type, principal);
  }

  auto resource = [&](const char* type, AttributeTypes attributes) {
    EntityTypeSchema entity;
    entity.resource = true;
    entity.attributes = std::move(attributes);
    schema.entity_types.emplace(type, std::move(entity));
  };
  resource("Custos::Site", {});
  resource("Custos::Zone", {{"site", string}, {"zone", string}});
  resource("Custos::Dock",
           {{"site", string}, {"zone", string}, {"secure", AttributeType::bool_type()}});
  resource("Custos::Shipment", {{"site", string}, {"zone", string}});
  resource("Custos::Cage", {{"site", string}});
  resource("Custos::Log", {{"site", string}, {"zone", string}});
  resource("Custos::Event", {{"site", string},
                             {"zone", string},
                             {"captured_by", string},
                             {"captured_by_vendor", string},
                             {"parties", strings}});
  resource("Custos::Policy", {});
  resource("Custos::Principal", {});

  schema.action_type = "Custos::Action";
  schema.entity_types.emplace(schema.action_type, EntityTypeSchema{});
  schema.actions = {"log.append",      "log.read",         "capture",
                    "query",           "release",          "dock.open",
                    "cage.release",    "policy.change",    "key.change",
                    "principal.change", "containment.override", "incident.manage",
                    "status.read",     "approval.grant"};

  schema.context = {
      {"time", number},
      {"hour", number},
      {"weekday", number},
      {"source_ip", AttributeType::ipaddr_type()},
      {"approvals", strings},
      {"site_hours_start", number},
      {"site_hours_end", number},
      {"device_posture", string},
      {"geofence_ok", AttributeType::bool_type()},
      {"credential", string},
      {"scopes", strings},
  };
  return schema;
}

Result<PolicySet> validate_policies(std::string_view text, const Schema& schema,
                                    std::vector<ValidationError>* errors) {
  std::vector<ValidationError> found;
  internal::SourceRefs refs;
  ParseError parse_error;
  auto set = internal::parse_policies_recording(text, &parse_error, &refs);
  if (!set.is_ok()) {
    found.push_back({parse_error.line, parse_error.column, parse_error.message});
  } else {
    Validator validator(schema, set->compiled(), found);
    for (const EntityRef& ref : refs.entities) validator.check_entity(ref);
    for (const AttributeRef& ref : refs.attributes) validator.check_attribute(ref);
    std::stable_sort(found.begin(), found.end(),
                     [](const ValidationError& a, const ValidationError& b) {
                       return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                     });
  }
  if (errors != nullptr) *errors = found;
  if (!found.empty()) return refusal(found);
  return set;
}

}  // namespace custos::policy
