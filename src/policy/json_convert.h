// Private: conversions from simdjson DOM elements to policy values.
#pragma once

#include <simdjson.h>

#include <string_view>

#include "custos/core/status.h"
#include "custos/policy/value.h"

namespace custos::policy::internal {

// {"type": T, "id": I} or {"__entity": {...}}.
Result<EntityUid> uid_from_json(simdjson::dom::element element);
// A Cedar JSON value (see parse_value_json).
Result<Value> value_from_json(simdjson::dom::element element, int depth);
// A Cedar type path: Ident ("::" Ident)*.
bool is_valid_type_name(std::string_view name);

}  // namespace custos::policy::internal
