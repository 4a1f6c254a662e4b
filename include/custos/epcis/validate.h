// custos epcis: validation of EPCIS 2.0 JSON / JSON-LD documents and events.
//
// A document or event is valid when it satisfies the GS1 EPCIS 2.0 JSON
// Schemas (tests/data/epcis/JSON-Schema) and the standard's rules those
// schemas cannot express. The rules are written out by hand here, not run by a
// generic JSON Schema engine, so each problem gets a message a person can act
// on. What is checked:
//   - structure: required fields per document and event type, the type of
//     every standard field, unknown fields (extension fields must be namespaced
//     URIs such as "example:myField"; some objects allow no extra field at all);
//   - values: RFC 3339 date-times with a time zone (eventTime, recordTime,
//     creationDate, declarationTime, sensor times), eventTimeZoneOffset as
//     +hh:mm / -hh:mm within -14:00..+14:00, absolute URIs (RFC 3986), EPC
//     URNs and GS1 Digital Links checked by identifiers.h (other absolute URIs
//     pass as opaque identifiers), CBV short names for bizStep, disposition,
//     business transaction types, source/destination types, error reasons,
//     sensor components (a CBV URI is refused: JSON uses the short name),
//     measurement and alert types, units of measure, hexBinary values;
//   - per event type: action required for Object, Aggregation, Transaction and
//     Association events and absent from TransformationEvent; parentID required
//     for AssociationEvent and for AggregationEvent unless action is OBSERVE;
//     what must be listed (epcList / quantityList / sensors for ObjectEvent,
//     children unless DELETE, bizTransactionList for TransactionEvent, inputs
//     and outputs or a transformationID for TransformationEvent); ilmd only
//     with action ADD; uom only beside a quantity; no EPC twice in one list;
//   - document-wide: duplicate keys in any JSON object, the same eventID on two
//     events, and the limits below.
// recordTime is accepted (it is set by the repository on capture, so a
// capturing client's value is ignored) but must still be a valid date-time.
//
// Every problem found is reported, not only the first, each with the RFC 6901
// JSON pointer of the offending value (or of the object missing a field) and a
// message naming the rule. Text that is not JSON or not UTF-8 gives a single
// problem at "" (the root). An empty list means valid.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace custos::epcis {

struct ValidationProblem {
  std::string pointer;  // RFC 6901 JSON pointer; "" is the whole document
  std::string message;

  friend bool operator==(const ValidationProblem&, const ValidationProblem&) = default;
};

// Bounds on the work one call may do. Exceeding one is reported as a problem,
// never a crash: text over max_bytes or nested deeper than max_depth is not
// examined further; events past max_events are not examined; after
// max_problems problems one final problem says the list was cut short.
struct ValidationLimits {
  size_t max_bytes = size_t{64} << 20;
  size_t max_depth = 64;       // JSON arrays and objects nested in each other
  size_t max_events = 100000;  // events in one document's eventList
  size_t max_problems = 1000;
};

// Validates an EPCISDocument or EPCISQueryDocument.
std::vector<ValidationProblem> validate_document(std::string_view json,
                                                 const ValidationLimits& limits = {});

// Validates one event given as a JSON object outside any document; as the
// GS1 root schema requires, it must then carry its own "@context".
std::vector<ValidationProblem> validate_event(std::string_view json,
                                              const ValidationLimits& limits = {});

// validate_document when the root object's "type" is EPCISDocument or
// EPCISQueryDocument or when it has an "epcisBody" (which no event has),
// otherwise validate_event: what `custos epcis validate` runs on a file.
std::vector<ValidationProblem> validate_document_or_event(std::string_view json,
                                                          const ValidationLimits& limits = {});

// One reference token of a JSON pointer: "~" written "~0", "/" written "~1".
std::string json_pointer_token(std::string_view key);

}  // namespace custos::epcis
