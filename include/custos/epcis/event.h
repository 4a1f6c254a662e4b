// custos epcis: the EPCIS 2.0 event model (ObjectEvent, AggregationEvent,
// TransactionEvent, TransformationEvent, AssociationEvent) and the document
// that carries events (EPCISDocument, EPCISQueryDocument).
//
// Contract of the model:
//  - Every standard field of EPCIS 2.0 (JSON/JSON-LD binding) has a member.
//    One Event struct serves all five types; the members a type does not
//    define stay absent. The model records what a document says; it does not
//    enforce which fields each event type may carry (a validator's job).
//  - Absent and present-but-empty are distinct: optional scalars are
//    std::optional, optional lists are std::optional<std::vector<...>>, so an
//    event written back names exactly the fields it was read with.
//  - Text is kept as given (after JSON unescaping): identifiers, CBV values
//    (short names, CURIEs or URIs) and times are not rewritten. Numbers keep
//    their original JSON text (JsonNumber::text) next to a parsed double, so
//    200, 200.0 and 2e2 stay what they were. Times keep their text and a
//    parsed UTC instant in microseconds (Timestamp::utc_micros) for indexing.
//  - User extensions (any member the standard does not define, at event
//    level or inside readPoint, bizLocation, quantity elements,
//    errorDeclaration, sensorElement, sensorMetadata, sensorReport and ilmd)
//    are kept in input order as key + namespace IRI + the value's raw JSON
//    text, byte for byte, and are written back unchanged. The namespace IRI
//    is resolved from the key's prefix ("example:myField" -> the IRI bound to
//    "example" in the event's or document's @context, or one of the standard
//    EPCIS context prefixes); it is empty for a key without a known prefix
//    (such keys are kept too, so nothing a document says is lost).
//
// canonical_identifiers() lists the identifiers an event names, each with its
// role, in the canonical form of custos/epcis/identifiers.h.
//
// Plain values; not thread-safe to mutate concurrently. Functions are pure and
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "custos/core/status.h"
#include "custos/epcis/identifiers.h"

namespace custos::epcis {

enum class EventType {
  kObjectEvent,
  kAggregationEvent,
  kTransactionEvent,
  kTransformationEvent,
  kAssociationEvent,
};

// "ObjectEvent", ...
std::string_view event_type_name(EventType type);
// The event type named `name`, or nullopt.
std::optional<EventType> event_type_from_name(std::string_view name);

enum class Action { kAdd, kObserve, kDelete };

// "ADD", "OBSERVE", "DELETE".
std::string_view action_name(Action action);
std::optional<Action> action_from_name(std::string_view name);

// An xsd:dateTime with a time zone, as written, and the instant it names.
// An event built in code may leave `text` empty: the encoder then writes
// timestamp_from_utc_micros(utc_micros).text.
struct Timestamp {
  std::string text;
  // Microseconds since 1970-01-01T00:00:00Z; finer fractions are truncated.
  int64_t utc_micros = 0;

  bool operator==(const Timestamp&) const = default;
};

// The UTC instant as a Timestamp whose text is "YYYY-MM-DDThh:mm:ss.sssZ"
// (milliseconds, or microseconds when the instant has a finer part), for
// events built in code. Years outside 0000..9999 are not representable in
// xsd:dateTime's four-digit form and are clamped to that range.
Timestamp timestamp_from_utc_micros(int64_t utc_micros);

// Parses an xsd:dateTime that carries a time zone ("Z" or "+hh:mm"/"-hh:mm"),
// for example "2005-04-03T20:33:31.116-06:00". InvalidArgument for anything
// else (missing zone, field out of range, day beyond the month's last day).
Result<Timestamp> parse_timestamp(std::string_view text);

// A JSON number as written, and its value as a double. An event built in
// code may leave `text` empty: the encoder then writes the shortest text
// that reads back as `value` (null when it is not finite).
struct JsonNumber {
  std::string text;
  double value = 0;

  // Numbers compare by their text; two numbers without text, by value.
  bool operator==(const JsonNumber& other) const {
    return text == other.text && (!text.empty() || value == other.value);
  }
};

// A user extension member: `"key": <json>`.
struct Extension {
  std::string key;            // as written, for example "example:myField"
  std::string namespace_iri;  // for example "http://ns.example.com/epcis/"; empty if unresolved
  std::string json;           // the value's JSON text exactly as in the input

  // The key without its prefix ("myField"); the whole key when it has none.
  std::string_view local_name() const;
  bool operator==(const Extension&) const = default;
};
using Extensions = std::vector<Extension>;

struct QuantityElement {
  std::string epc_class;
  std::optional<JsonNumber> quantity;
  std::optional<std::string> uom;
  Extensions extensions;

  bool operator==(const QuantityElement&) const = default;
};

// readPoint and bizLocation.
struct Location {
  std::string id;
  Extensions extensions;

  bool operator==(const Location&) const = default;
};

struct BizTransaction {
  std::optional<std::string> type;
  std::string value;  // "bizTransaction"

  bool operator==(const BizTransaction&) const = default;
};

// A member of sourceList ("source") or destinationList ("destination").
struct SourceDestination {
  std::string type;
  std::string value;

  bool operator==(const SourceDestination&) const = default;
};

struct PersistentDisposition {
  std::optional<std::vector<std::string>> set;
  std::optional<std::vector<std::string>> unset;

  bool operator==(const PersistentDisposition&) const = default;
};

struct ErrorDeclaration {
  Timestamp declaration_time;
  std::optional<std::string> reason;
  std::optional<std::vector<std::string>> corrective_event_ids;
  Extensions extensions;

  bool operator==(const ErrorDeclaration&) const = default;
};

struct SensorMetadata {
  std::optional<Timestamp> time;
  std::optional<Timestamp> start_time;
  std::optional<Timestamp> end_time;
  std::optional<std::string> device_id;
  std::optional<std::string> device_metadata;
  std::optional<std::string> raw_data;
  std::optional<std::string> data_processing_method;
  std::optional<std::string> biz_rules;
  Extensions extensions;

  bool operator==(const SensorMetadata&) const = default;
};

struct SensorReport {
  std::optional<std::string> type;  // measurement type, e.g. "Temperature" or "gs1:Temperature"
  std::optional<std::string> exception;  // sensor alert type
  std::optional<std::string> device_id;
  std::optional<std::string> device_metadata;
  std::optional<std::string> raw_data;
  std::optional<std::string> data_processing_method;
  std::optional<std::string> biz_rules;
  std::optional<Timestamp> time;
  std::optional<std::string> microorganism;
  std::optional<std::string> chemical_substance;
  std::optional<std::string> coordinate_reference_system;
  std::optional<JsonNumber> value;
  std::optional<std::string> component;
  std::optional<std::string> string_value;
  std::optional<bool> boolean_value;
  std::optional<std::string> hex_binary_value;
  std::optional<std::string> uri_value;
  std::optional<JsonNumber> min_value;
  std::optional<JsonNumber> max_value;
  std::optional<JsonNumber> mean_value;
  std::optional<JsonNumber> s_dev;
  std::optional<JsonNumber> perc_rank;
  std::optional<JsonNumber> perc_value;
  std::optional<std::string> uom;
  Extensions extensions;

  bool operator==(const SensorReport&) const = default;
};

struct SensorElement {
  std::optional<SensorMetadata> metadata;
  std::optional<std::vector<SensorReport>> reports;
  Extensions extensions;

  bool operator==(const SensorElement&) const = default;
};

// certificationInfo: one URI or a list of URIs (both forms are allowed).
struct CertificationInfo {
  std::vector<std::string> uris;
  bool is_list = false;  // written as a JSON array

  bool operator==(const CertificationInfo&) const = default;
};

struct Event {
  EventType type = EventType::kObjectEvent;

  Timestamp event_time;
  std::string event_time_zone_offset;  // "+hh:mm" / "-hh:mm" as written
  std::optional<Timestamp> record_time;
  std::optional<std::string> event_id;
  std::optional<CertificationInfo> certification_info;
  std::optional<ErrorDeclaration> error_declaration;

  // ObjectEvent, TransactionEvent
  std::optional<std::vector<std::string>> epc_list;
  std::optional<std::vector<QuantityElement>> quantity_list;
  // AggregationEvent, TransactionEvent, AssociationEvent
  std::optional<std::string> parent_id;
  std::optional<std::vector<std::string>> child_epcs;
  std::optional<std::vector<QuantityElement>> child_quantity_list;
  // TransformationEvent
  std::optional<std::vector<std::string>> input_epc_list;
  std::optional<std::vector<QuantityElement>> input_quantity_list;
  std::optional<std::vector<std::string>> output_epc_list;
  std::optional<std::vector<QuantityElement>> output_quantity_list;
  std::optional<std::string> transformation_id;

  std::optional<Action> action;  // every type but TransformationEvent
  std::optional<std::string> biz_step;
  std::optional<std::string> disposition;
  std::optional<PersistentDisposition> persistent_disposition;
  std::optional<Location> read_point;
  std::optional<Location> biz_location;
  std::optional<std::vector<BizTransaction>> biz_transaction_list;
  std::optional<std::vector<SourceDestination>> source_list;
  std::optional<std::vector<SourceDestination>> destination_list;
  std::optional<std::vector<SensorElement>> sensor_element_list;
  std::optional<Extensions> ilmd;

  // The event's own "@context" (raw JSON) when it carries one.
  std::optional<std::string> context_json;
  // Event-level extensions (every other member), in input order.
  Extensions extensions;

  bool operator==(const Event&) const = default;
};

enum class DocumentType { kEpcisDocument, kEpcisQueryDocument };

// "EPCISDocument", "EPCISQueryDocument".
std::string_view document_type_name(DocumentType type);

// A prefix bound to a namespace IRI by an @context object.
struct NamespaceBinding {
  std::string prefix;
  std::string iri;

  bool operator==(const NamespaceBinding&) const = default;
};

struct Document {
  DocumentType type = DocumentType::kEpcisDocument;
  std::string context_json;                  // "@context", raw JSON
  std::vector<NamespaceBinding> namespaces;  // the string-valued members of @context objects
  std::optional<std::string> id;             // "id"
  std::optional<std::string> schema_version;
  std::optional<Timestamp> creation_date;
  std::optional<std::string> epcis_header_json;  // "epcisHeader", raw JSON
  // Every other member of the document (sender, receiver, instanceIdentifier,
  // "prefix:ignoreFields", ...), in input order.
  Extensions members;
  // Other members of epcisBody.
  Extensions body_members;

  // EPCISQueryDocument: epcisBody.queryResults.
  std::optional<std::string> subscription_id;
  std::optional<std::string> query_name;
  Extensions query_results_members;  // other members of queryResults
  Extensions results_body_members;   // other members of resultsBody (e.g. vocabularyList)
  bool has_event_list = true;        // a query document's resultsBody may hold no eventList

  std::vector<Event> events;

  bool operator==(const Document&) const = default;
};

// The role an identifier plays in an event.
enum class IdentifierRole {
  kEpc,             // epcList
  kEpcClass,        // quantityList
  kParent,          // parentID
  kChildEpc,        // childEPCs
  kChildEpcClass,   // childQuantityList
  kInputEpc,        // inputEPCList
  kInputEpcClass,   // inputQuantityList
  kOutputEpc,       // outputEPCList
  kOutputEpcClass,  // outputQuantityList
  kReadPoint,       // readPoint.id
  kBizLocation,     // bizLocation.id
  kSource,          // sourceList
  kDestination,     // destinationList
};

// "epc", "epcClass", "parentID", "childEPC", ...
std::string_view identifier_role_name(IdentifierRole role);

struct RoleIdentifier {
  IdentifierRole role;
  Identifier id;  // id.canonical is the form to index and compare by
  // Where in the event it was found, as a JSON pointer ("/epcList/0").
  std::string pointer;
};

// Every identifier `event` names, in field order (the order of the enum
// above, list members in list order), parsed by parse_identifier. Duplicates
// are kept. InvalidArgument, with the member's JSON pointer first in the
// message, when one is malformed (a bad EPC URN or Digital Link).
//
// With a cache, the places, parties and classes an event names (readPoint,
// bizLocation, source, destination and the quantity lists' classes, which the
// events of one document mostly share) are parsed once per cache; instance
// EPCs, mostly distinct, are always parsed. The answer is the same as without.
class IdentifierCache;
Result<std::vector<RoleIdentifier>> canonical_identifiers(const Event& event,
                                                          IdentifierCache* cache = nullptr);

// Parsed identifiers by their text, for canonical_identifiers (e.g. one per
// captured document). Holds at most kMaxEntries; not thread-safe.
class IdentifierCache {
 public:
  static constexpr size_t kMaxEntries = 4096;
  // The identifier parsed from `text`, parsing it (and keeping it, while there
  // is room) when it is not held yet.
  Result<Identifier> parse(const std::string& text);
  size_t size() const { return parsed_.size(); }

 private:
  std::unordered_map<std::string, Identifier> parsed_;
};

}  // namespace custos::epcis
