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

// The CBV 2.0 event-hash form (event_hash.h: a Digital Link on id.gs1.org) of
// the EPC URNs the validator parsed, by the address of their text in the DOM,
// so that the pre-hash of the same DOM does not parse them again. Valid as
// long as the DOM.
class IdentifierForms {
 public:
  // `canonical` is parse_identifier's canonical form of the URN at `text`.
  void add(const char* text, std::string_view canonical);
  // Call after the last add() and before find().
  void seal();
  // The form of the URN at `text`, or null when it was not added.
  const std::string* find(const char* text) const;

 private:
  std::vector<std::pair<const char*, std::string>> forms_;
};

enum class ValidationMode { kDocument, kEvent, kEither };

// Parses `json` with `parser` as the validator reads a text: refused over
// limits.max_bytes, deeper than limits.max_depth, or not JSON / not UTF-8.
// Returns the single problem at "" that says why, or an empty list with
// `root` set (valid until `parser` parses again).
std::vector<ValidationProblem> parse(simdjson::dom::parser& parser, std::string_view json,
                                     const ValidationLimits& limits, simdjson::dom::element& root);

// validate_document / validate_event / validate_document_or_event over a
// parsed root. With `forms`, the EPC URNs it parses are added there (not
// sealed).
std::vector<ValidationProblem> validate(simdjson::dom::element root, const ValidationLimits& limits,
                                        ValidationMode mode, IdentifierForms* forms = nullptr);

// document_event_prehashes / event_prehash over a parsed root; identifiers
// found in `forms` (sealed) are not converted again.
Result<std::vector<std::string>> document_event_prehashes(simdjson::dom::element document,
                                                          const IdentifierForms* forms = nullptr);
Result<std::string> event_prehash(simdjson::dom::element event,
                                  const IdentifierForms* forms = nullptr);

}  // namespace custos::epcis::dom_walk
