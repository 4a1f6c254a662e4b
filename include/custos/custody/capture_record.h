// custos custody: how a captured EPCIS event is logged and summarised.
//
// Each accepted event becomes one kEpcisEvent log entry whose payload is a
// small JSON envelope (docs/storage.md, "EPCIS event entries"):
//   {"custos":"epcis-event/1","eventHash":"ni:///sha-256;...?ver=CBV2.0",
//    ["capturerVendor":"...",] "event":{...the event as JSON-LD, eventID always set...}}
// The event hash is the one computed over the captured document (with its
// namespace context), kept so that replay and readers never recompute it
// from a context-free copy. recordTime is not in the payload: it is the
// entry's receive time, added when the event is served.
//
// summarise_event turns a decoded event into the IndexedEvent the query
// indexes keep: identifiers canonical (identifiers.h), bizStep, disposition,
// bizTransaction, source and destination types as full CBV URIs
// (cbv_full_uri), times in UTC microseconds.
#pragma once

#include <string>
#include <string_view>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/custody/indexed_event.h"
#include "custos/epcis/cbv_vocabulary.h"
#include "custos/epcis/event.h"
#include "custos/ledger/entry.h"

namespace custos::custody {

using CbvVocabulary = epcis::CbvVocabulary;

// The full https://ref.gs1.org/cbv/ URI of a CBV value written as a bare name
// ("shipping"), an EPCIS 1.x URN (urn:epcglobal:cbv:bizstep:shipping) or a
// "cbv:" CURIE; any other URI is returned unchanged (epcis::cbv_uri with the
// cbv prefix only: queries and stored events carry no @context).
std::string cbv_full_uri(std::string_view value, CbvVocabulary vocabulary);

// The summary of `event` (log_index and record time left 0 for the caller).
// `event_hash` is the event's CBV 2.0 hash ID; the summary's eventID is the
// event's own, or the hash when it has none. InvalidArgument for an
// identifier that does not parse (with its JSON pointer).
// With `identifier_cache`, places and classes shared by a document's events are
// parsed once (epcis::canonical_identifiers).
Result<IndexedEvent> summarise_event(const epcis::Event& event, std::string event_hash,
                                     std::string principal,
                                     epcis::IdentifierCache* identifier_cache = nullptr);

// The log payload of an event (its eventID must be set). `capturer_vendor`:
// the capturing principal's vendor at capture time ("capturerVendor", left
// out when empty), so who may see the event later does not follow the
// principal's later reassignments.
Bytes encode_event_payload(const epcis::Event& event, std::string_view event_hash,
                           std::string_view capturer_vendor = {});

struct LoggedEvent {
  std::string event_hash;
  std::string capturer_vendor;  // "" when the payload names none
  std::string event_json;       // the "event" member, as logged
};
// Splits a payload back into its hash and event JSON. DataLoss when it is
// not an envelope of this version.
Result<LoggedEvent> decode_event_payload(ByteView payload);

// For EventIndex::open: decodes the entry's payload and summarises it.
Result<IndexedEvent> summarise_entry(const ledger::LogEntry& entry);

}  // namespace custos::custody
