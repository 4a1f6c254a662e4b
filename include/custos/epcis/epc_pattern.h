// custos epcis: EPC patterns in queries (MATCH_epc, MATCH_epcClass, ...).
//
// An EPCIS query may name objects by EPC pattern URI (Tag Data Standard 2.x,
// "EPC Pattern URI"): urn:epc:idpat:<scheme>:<fields> where a field is a value
// or "*", and every field after a "*" is "*" too, e.g.
//   urn:epc:idpat:sgtin:0614141.107346.*   every serial of one GTIN
//   urn:epc:idpat:sgtin:0614141.*.*        every GTIN of one company prefix
//   urn:epc:idpat:sscc:*.*                 every SSCC
// for the schemes sgtin, sscc, sgln, grai, giai, gsrn and gdti. A pattern
// without "*" names one EPC, as its urn:epc:id form does.
//
// custos compares identifiers by their canonical Digital Link form
// (identifiers.h), which does not carry the company prefix's length, so a
// pattern becomes conditions on canonical text: "CP.*.*" matches every key
// whose digits at the company prefix's place are CP (a key of the company
// 06141412 also matches 0614141.*.*: the canonical form cannot tell them
// apart).
//
// At the class level (MATCH_epcClass and friends) an sgtin pattern matches the
// GTIN's classes: the GTIN itself (urn:epc:idpat:sgtin:CP.IR.*) and its lots
// (urn:epc:class:lgtin); at the instance level it matches serialised items.
//
// All functions are pure and thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos::epcis {

// Canonical text that starts with `prefix`, continues with `digits` decimal
// digits, then `then`, then whatever `tail` allows.
struct CanonicalPattern {
  enum class Tail { kAnything, kNothing, kSomething };
  std::string prefix;
  size_t digits = 0;
  std::string then;
  Tail tail = Tail::kAnything;
  friend bool operator==(const CanonicalPattern&, const CanonicalPattern&) = default;
};

bool pattern_matches(const CanonicalPattern& pattern, std::string_view canonical);

enum class PatternLevel { kInstance, kClass };

// The canonical patterns an EPC pattern URI stands for (any of them matches),
// or nullopt when `uri` is not an EPC pattern URI (not urn:epc:idpat:...).
// InvalidArgument, naming the fault, for a malformed pattern or a scheme
// custos does not model.
Result<std::optional<std::vector<CanonicalPattern>>> parse_epc_pattern(std::string_view uri,
                                                                       PatternLevel level);

}  // namespace custos::epcis
