// custos epcis: the CBV 2.0 event hash ID of EPCIS 2.0 events (JSON / JSON-LD).
//
// CBV 2.0 section 8.9 names an event by the SHA-256 of a canonical "pre-hash"
// string: the event's fields in a fixed order per event type, each written as
// name=value with no separators; timestamps in UTC with millisecond precision
// ("2019-10-21T10:00:30.000Z"), identifiers as GS1 Digital Links on
// id.gs1.org (EPC URNs through identifiers.h, DigitalLinkEscaping::kEventHash;
// in extension values too; a URN that does not convert is kept as written),
// CBV short names expanded to their full URIs (cbv_vocabulary.h), list members
// sorted, and user extensions as {namespace}localName (an element nested in
// an extension in no namespace by its bare name), sorted, after the standard
// fields. eventID, recordTime, errorDeclaration (an event declared
// erroneous keeps its ID), comments and the fields a document lists under a
// "<prefix>:ignoreFields" key do not take part. The result is
// "ni:///sha-256;<lowercase hex>?ver=CBV2.0" (RFC 6920).
//
// Test vectors: tests/data/epcis/hash (epcis-event-hash-generator, MIT).
// All functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos::epcis {

// The pre-hash string of every event of an EPCISDocument (epcisBody.eventList)
// or EPCISQueryDocument (epcisBody.queryResults.resultsBody.eventList), in
// document order. Namespace prefixes come from the document's @context.
// InvalidArgument for text that is not JSON or an event without a type.
Result<std::vector<std::string>> document_event_prehashes(std::string_view epcis_document_json);

// The event hash IDs of the same events, in document order.
Result<std::vector<std::string>> document_event_hashes(std::string_view epcis_document_json);

// The pre-hash string of one event given as a JSON object, outside any
// document: only the default prefixes (gs1, cbv, cbvmda) are known.
Result<std::string> event_prehash(std::string_view event_json);

// The event hash ID of one event given as a JSON object (see event_prehash).
Result<std::string> event_hash(std::string_view event_json);

// "ni:///sha-256;<hex of SHA-256(prehash)>?ver=CBV2.0".
std::string event_hash_from_prehash(std::string_view prehash);

}  // namespace custos::epcis
