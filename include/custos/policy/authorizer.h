// custos policy: Cedar authorization.
//
// is_authorized answers one request (principal, action, resource, context)
// against a PolicySet and an EntityStore with Cedar's semantics:
//   - the answer is Allow only when at least one permit policy is satisfied
//     and no forbid policy is satisfied; otherwise Deny (default deny);
//   - a policy whose evaluation fails (type error, missing attribute,
//     attribute read on an entity absent from the store, integer overflow,
//     bad extension-function argument) is skipped: it is neither satisfied
//     nor blocking, and it is listed in Decision::errors;
//   - Decision::reasons lists the determining policies: the satisfied forbids
//     when a forbid denied the request, else the satisfied permits (empty for
//     a default deny).
// Both lists are ordered by policy position in the set.
//
// Only policies whose scope can match the request are evaluated (the set is
// indexed by principal / resource `==` and `in` constraints, the latter
// matched against the request entity and its ancestors, and by action);
// skipping the others
// cannot change the answer because a scope mismatch short-circuits before any
// condition is evaluated.
//
// Thread-safety: is_authorized only reads its arguments; concurrent calls on
// the same PolicySet and EntityStore are safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/policy/entities.h"
#include "custos/policy/parser.h"
#include "custos/policy/value.h"

namespace custos::policy {

struct Request {
  EntityUid principal;
  EntityUid action;
  EntityUid resource;
  Value context = Value::record({});  // must be a record
};

struct PolicyError {
  std::string policy_id;
  std::string message;
};

struct Decision {
  bool allowed = false;
  std::vector<std::string> reasons;  // determining policy ids
  std::vector<PolicyError> errors;   // policies skipped because evaluation failed
};

Decision is_authorized(const Request& request, const PolicySet& policies,
                       const EntityStore& entities);

// As above, reusing `decision`'s storage (for hot loops).
void is_authorized(const Request& request, const PolicySet& policies, const EntityStore& entities,
                   Decision& decision);

// Parses a request context in Cedar's JSON value format (must be an object).
Result<Value> parse_context_json(std::string_view json);

}  // namespace custos::policy
