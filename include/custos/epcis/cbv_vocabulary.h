// custos epcis: values of the CBV 2.0 standard vocabularies (business step,
// disposition, business transaction type, source/destination type, error
// reason, sensor component).
//
// EPCIS lets a document write one standard vocabulary value four ways: a bare
// name ("shipping", the JSON binding), an EPCIS 1.x URN
// (urn:epcglobal:cbv:bizstep:shipping), a CURIE ("cbv:BizStep-shipping") or
// the CBV 2.0 web URI (https://ref.gs1.org/cbv/BizStep-shipping). cbv_uri
// gives the web URI for all of them, so a value compares equal however it was
// written: the query indexes (custody) and the event hash ID (event_hash.h)
// both rely on this one rule.
//
// All functions are pure and thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace custos::epcis {

enum class CbvVocabulary {
  kBizStep,             // BizStep-, urn:epcglobal:cbv:bizstep:
  kDisposition,         // Disp-, urn:epcglobal:cbv:disp:
  kBizTransactionType,  // BTT-, urn:epcglobal:cbv:btt:
  kSourceDestType,      // SDT-, urn:epcglobal:cbv:sdt:
  kErrorReason,         // ER-, urn:epcglobal:cbv:er:
  kComponent,           // Comp-, urn:epcglobal:cbv:comp:
};

// CURIE prefixes and the namespace URIs they stand for, e.g.
// {"cbv", "https://ref.gs1.org/cbv/"} (a JSON-LD @context's prefixes).
using CuriePrefixes = std::map<std::string, std::string, std::less<>>;

// `value` with a CURIE prefix that `prefixes` names replaced by its namespace
// ("gs1:Temperature" -> "https://gs1.org/voc/Temperature"); otherwise unchanged.
std::string expand_curie(std::string_view value, const CuriePrefixes& prefixes);

// The CBV 2.0 web URI of a `vocabulary` value: a bare name (no ':') and an
// EPCIS 1.x URN of that vocabulary become https://ref.gs1.org/cbv/<Term>-<name>;
// anything else goes through expand_curie (a full URI comes back unchanged).
std::string cbv_uri(std::string_view value, CbvVocabulary vocabulary,
                    const CuriePrefixes& prefixes);

}  // namespace custos::epcis
