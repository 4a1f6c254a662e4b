// custos custody: what the query indexes keep about one committed EPCIS event.
//
// An IndexedEvent is the searchable summary of an event that is in the log:
// its log index, identity (eventID and CBV 2.0 event hash), type, action,
// times, CBV values and every identifier it names, each in the canonical
// form include/custos/epcis/identifiers.h gives (so an SGTIN URN and its GS1
// Digital Link match). The event itself stays in the log entry; queries
// filter on summaries and serve the matches from a copy of their entries
// kept beside the summaries (EventIndex::entry_copy).
//
// Summaries have a versioned binary encoding (docs/storage.md, "custody").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos::custody {

enum class EventType : uint8_t {
  kObject = 1,
  kAggregation = 2,
  kTransaction = 3,
  kTransformation = 4,
  kAssociation = 5,
};
// "ObjectEvent", ... as EPCIS names them; nullopt-like kObject fallback is not
// offered: parse_event_type refuses unknown names.
std::string_view event_type_name(EventType type);
Result<EventType> parse_event_type(std::string_view name);

// Where an identifier appears in an event. The query parameters map onto
// roles: MATCH_epc = kEpc and kChild, MATCH_parentID = kParent,
// MATCH_inputEPC = kInput, MATCH_outputEPC = kOutput, MATCH_anyEPC = all five,
// MATCH_epcClass = kEpcClass, MATCH_inputEPCClass = kInputClass,
// MATCH_outputEPCClass = kOutputClass, MATCH_anyEPCClass = the three classes.
enum class IdentifierRole : uint8_t {
  kEpc = 'e',          // epcList
  kChild = 'c',        // childEPCs
  kParent = 'p',       // parentID
  kInput = 'i',        // inputEPCList
  kOutput = 'o',       // outputEPCList
  kEpcClass = 'k',     // quantityList, childQuantityList
  kInputClass = 'm',   // inputQuantityList
  kOutputClass = 'n',  // outputQuantityList
};
bool is_identifier_role(uint8_t value);

enum class Action : uint8_t { kNone = 0, kAdd = 1, kObserve = 2, kDelete = 3 };
std::string_view action_name(Action action);  // "" for kNone
Result<Action> parse_action(std::string_view name);

struct TypedValue {
  std::string type;
  std::string value;
  friend bool operator==(const TypedValue&, const TypedValue&) = default;
};

struct IndexedEvent {
  uint64_t log_index = 0;
  std::string event_id;    // eventID as captured (may be empty)
  std::string event_hash;  // "ni:///sha-256;...?ver=CBV2.0"
  EventType type = EventType::kObject;
  Action action = Action::kNone;
  int64_t event_time_micros = 0;   // UTC
  int64_t record_time_micros = 0;  // the log's receive time
  std::string biz_step;            // full CBV URI (or the captured URI)
  std::string disposition;
  std::string read_point;          // canonical identifier
  std::string biz_location;
  std::vector<std::pair<IdentifierRole, std::string>> identifiers;  // canonical
  // (type, value) pairs; the type a full CBV URI ("" when the event gives none).
  std::vector<TypedValue> biz_transactions;
  std::vector<TypedValue> sources;
  std::vector<TypedValue> destinations;
  bool error_declared = false;
  std::string principal;  // who captured it
  std::string principal_vendor;  // its vendor at capture time ("" when none)
  // The log entry's encoding, when the indexer has it (capture and replay
  // do). Not part of the summary encoding: EventIndex keeps it as a separate
  // copy so queries serve an event without reading its whole entry bundle.
  Bytes entry;

  friend bool operator==(const IndexedEvent&, const IndexedEvent&) = default;
};

// Refuses text that cannot be an index key component (empty where a value is
// required, NUL bytes, more than 4 KiB).
Status check_indexable(const IndexedEvent& event);

Bytes encode_indexed_event(const IndexedEvent& event);
// DataLoss for bytes that are not an encoding of version 1.
Result<IndexedEvent> decode_indexed_event(ByteView bytes);

}  // namespace custos::custody
