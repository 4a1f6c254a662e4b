// The DOM halves of validate.cc and event_hash.cc, for callers that parse a
// text once and hand the same simdjson DOM to both (capture.cc). Private to
// the epcis module.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/epcis/validate.h"

namespace custos::epcis::dom_walk {

enum class ValidationMode { kDocument, kEvent, kEither };

// Parses `json` with `parser` as the validator reads a text: refused over
// limits.max_bytes, deeper than limits.max_depth, or not JSON / not UTF-8.
// Returns the single problem at "" that says why, or an empty list with
// `root` set (valid until `parser` parses again).
std::vector<ValidationProblem> parse(simdjson::dom::parser& parser, std::string_view json,
                                     const ValidationLimits& limits, simdjson::dom::element& root);

// validate_document / validate_event / validate_document_or_event over a
// parsed root.
std::vector<ValidationProblem> validate(simdjson::dom::element root, const ValidationLimits& limits,
                                        ValidationMode mode);

// document_event_prehashes / event_prehash over a parsed root.
Result<std::vector<std::string>> document_event_prehashes(simdjson::dom::element document);
Result<std::string> event_prehash(simdjson::dom::element event);

}  // namespace custos::epcis::dom_walk
