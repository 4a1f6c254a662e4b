// custos policy: the schema a policy set is checked against before it takes
// effect.
//
// A Schema lists the entity types (with their attributes and whether they
// can be a request's principal or resource), the action ids and the context
// keys. validate_policies parses a policy text and refuses it when it does
// not parse, or when it names something the schema does not have:
//   - an entity type that is not in the schema, wherever it appears (scope
//     `==` / `in` / `is`, entity literals and `is` tests in conditions);
//   - an action uid whose id is not a schema action (in the action scope or
//     in a condition), or an action scope naming a non-action entity;
//   - an attribute read (`x.a`, `x["a"]`) or `has` test directly on
//     principal, resource or context whose name no possible type has. For
//     principal and resource the possible types follow the policy's scope:
//     `principal is T`, `principal is T in E` and `principal == T::"id"` allow
//     T only; an unconstrained or `in E` scope allows every type marked as a
//     principal (resource) type. Context keys are checked against
//     Schema::context.
// Reads below the first level (`principal.tags.x`) are not checked, so the
// attributes of open records (tags) are free. Expressions are not
// type-checked: a type error is still only found at evaluation time.
//
// Errors carry the 1-based line and byte column of the offending token:
// for a parse error the parser's position, for an unknown name the name's
// first token. A parse error stops validation (one error); otherwise every
// schema error is reported, in text order.
//
// Thread-safety: Schema is a plain value; validate_policies is pure and may
// run concurrently on the same Schema.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/policy/parser.h"

namespace custos::policy {

enum class AttributeKind : uint8_t {
  kString,
  kLong,
  kBool,
  kSet,      // of AttributeType::element[0]
  kRecord,   // open: any attribute may be read from it, none is checked
  kIpAddr,   // the ipaddr extension type
  kDecimal,  // the decimal extension type
  kEntity,   // a reference to an entity of AttributeType::entity_type
};

struct AttributeType {
  AttributeKind kind = AttributeKind::kString;
  std::vector<AttributeType> element;  // kSet: exactly one, the element type
  std::string entity_type;             // kEntity: e.g. "Custos::Site"

  static AttributeType string_type() { return {AttributeKind::kString, {}, {}}; }
  static AttributeType long_type() { return {AttributeKind::kLong, {}, {}}; }
  static AttributeType bool_type() { return {AttributeKind::kBool, {}, {}}; }
  static AttributeType set_of(AttributeType element) {
    return {AttributeKind::kSet, {std::move(element)}, {}};
  }
  static AttributeType open_record() { return {AttributeKind::kRecord, {}, {}}; }
  static AttributeType ipaddr_type() { return {AttributeKind::kIpAddr, {}, {}}; }
  static AttributeType decimal_type() { return {AttributeKind::kDecimal, {}, {}}; }
  static AttributeType entity_of(std::string type) {
    return {AttributeKind::kEntity, {}, std::move(type)};
  }

  // Cedar schema spelling: "String", "Long", "Bool", "Set<String>",
  // "Record", "ipaddr", "decimal", "Entity<Custos::Site>".
  std::string to_string() const;
  friend bool operator==(const AttributeType&, const AttributeType&) = default;
};

using AttributeTypes = std::map<std::string, AttributeType, std::less<>>;

struct EntityTypeSchema {
  AttributeTypes attributes;
  bool principal = false;  // may be a request's principal
  bool resource = false;   // may be a request's resource
};

struct Schema {
  // Fully qualified type name (e.g. "Custos::Device") -> its description.
  std::map<std::string, EntityTypeSchema, std::less<>> entity_types;
  // The type of action uids (also listed in entity_types) and the known ids.
  std::string action_type;
  std::set<std::string, std::less<>> actions;
  // Context keys the server fills.
  AttributeTypes context;
};

// custos's schema, as docs/security.md describes the entity model:
//   principals Custos::Device, User, Service, Witness, Partner with id, site,
//     zone, vendor, shift, status, kind, subtype (String), roles (Set<String>),
//     tags (open Record); each may also be a resource (status.read, key.change
//     and principal.change act on a principal's own entity);
//   resources Custos::Site {}, Zone {site, zone}, Dock {site, zone,
//     secure: Bool}, Shipment {site, zone}, Cage {site}, Log {site, zone},
//     Policy {}, Principal {} (all String unless noted);
//   Custos::Action with the ids log.append, log.read, capture, query, release,
//     dock.open, cage.release, policy.change, key.change, principal.change,
//     containment.override, incident.manage, status.read, approval.grant;
//   context time, hour, weekday, site_hours_start, site_hours_end (Long),
//     source_ip (ipaddr), approvals, scopes (Set<String>), device_posture,
//     credential (String), geofence_ok (Bool).
Schema custos_schema();

struct ValidationError {
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
  std::string message;

  // "line:column: message"
  std::string to_string() const;
  friend bool operator==(const ValidationError&, const ValidationError&) = default;
};

// Parses `text` and checks it against `schema`. Returns the compiled set
// when there is no error. Otherwise InvalidArgument whose message is the
// first error as "line:column: message" (followed by " (and N more errors)"
// when there are several), and, when `errors` is non-null, it is replaced by
// every error in text order.
Result<PolicySet> validate_policies(std::string_view text, const Schema& schema,
                                    std::vector<ValidationError>* errors = nullptr);

}  // namespace custos::policy
