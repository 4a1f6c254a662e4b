// EPCIS 2.0 validation: the GS1 JSON Schemas (tests/data/epcis/JSON-Schema)
// and the standard's rules, written out as tables of fields and a few checks
// per event type. The schema file each rule comes from is named beside it.
#include "custos/epcis/validate.h"

#include <simdjson.h>

#include <algorithm>
#include <optional>
#include <span>
#include <utility>

#include "custos/epcis/event.h"
#include "custos/epcis/identifiers.h"
#include "dom_walk.h"
#include "validate_values.h"

namespace custos::epcis {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;
using namespace validation;

// What a field holds; check_value() knows each.
enum class Kind {
  kAny,  // not checked here (the event "type", extension values)
  kString,
  kNumber,
  kBoolean,
  kUri,
  kIdentifier,  // an absolute URI; EPC URNs and Digital Links must be well formed
  kTime,        // RFC 3339 date-time with a time zone
  kOffset,      // eventTimeZoneOffset
  kVersion,     // schemaVersion
  kHexBinary,
  kUom,  // UN/ECE Rec. 20 code in a quantity element
  kAction,
  kEpcSet,          // identifiers, no two naming the same object
  kIdentifierList,  // identifiers
  kUriList,
  kQuantityList,
  kBizStep,
  kDisposition,
  kPersistentDisposition,
  kLocation,  // readPoint, bizLocation
  kBizTransactionList,
  kSourceList,
  kDestinationList,
  kSensorElementList,
  kSensorMetadata,
  kSensorReportList,
  kMeasurementType,
  kSensorAlertType,
  kComponent,
  kIlmd,
  kCertificationInfo,
  kErrorDeclaration,
  kErrorReason,
  kContext,
  kAttributeValue,
  kHeader,
  kMasterData,
  kVocabularyList,
  kVocabularyElementList,
  kAttributeList,
  kEventList,
  kDocumentBody,
  kQueryBody,
  kQueryResults,
  kResultsBody,
};

struct Field {
  std::string_view name;
  Kind kind;
};

// What an object may hold besides its listed fields.
enum class Extra {
  kNone,        // nothing ("additionalProperties": false)
  kNamespaced,  // extension fields whose names are URIs ("propertyNames": vocab-uri)
  kAny,         // anything (no propertyNames in the schema)
};

// event-definitions-JSON-Schema.json: Event and common-event-properties.
constexpr Field kCommonEventFields[] = {
    {"@context", Kind::kContext},
    {"type", Kind::kAny},
    {"eventTime", Kind::kTime},
    {"recordTime", Kind::kTime},
    {"eventTimeZoneOffset", Kind::kOffset},
    {"eventID", Kind::kUri},
    {"certificationInfo", Kind::kCertificationInfo},
    {"errorDeclaration", Kind::kErrorDeclaration},
};

// schemas/ObjectEvent-JSON-Schema.json
constexpr Field kObjectEventFields[] = {
    {"action", Kind::kAction},
    {"epcList", Kind::kEpcSet},
    {"quantityList", Kind::kQuantityList},
    {"bizStep", Kind::kBizStep},
    {"disposition", Kind::kDisposition},
    {"persistentDisposition", Kind::kPersistentDisposition},
    {"readPoint", Kind::kLocation},
    {"bizLocation", Kind::kLocation},
    {"bizTransactionList", Kind::kBizTransactionList},
    {"sourceList", Kind::kSourceList},
    {"destinationList", Kind::kDestinationList},
    {"sensorElementList", Kind::kSensorElementList},
    {"ilmd", Kind::kIlmd},
};

// schemas/AggregationEvent-JSON-Schema.json and AssociationEvent-JSON-Schema.json
constexpr Field kAggregationEventFields[] = {
    {"parentID", Kind::kIdentifier},
    {"childEPCs", Kind::kIdentifierList},
    {"childQuantityList", Kind::kQuantityList},
    {"action", Kind::kAction},
    {"bizStep", Kind::kBizStep},
    {"disposition", Kind::kDisposition},
    {"readPoint", Kind::kLocation},
    {"bizLocation", Kind::kLocation},
    {"bizTransactionList", Kind::kBizTransactionList},
    {"sourceList", Kind::kSourceList},
    {"destinationList", Kind::kDestinationList},
    {"sensorElementList", Kind::kSensorElementList},
};

// schemas/TransactionEvent-JSON-Schema.json
constexpr Field kTransactionEventFields[] = {
    {"bizTransactionList", Kind::kBizTransactionList},
    {"parentID", Kind::kIdentifier},
    {"epcList", Kind::kIdentifierList},
    {"quantityList", Kind::kQuantityList},
    {"action", Kind::kAction},
    {"bizStep", Kind::kBizStep},
    {"disposition", Kind::kDisposition},
    {"readPoint", Kind::kLocation},
    {"bizLocation", Kind::kLocation},
    {"sourceList", Kind::kSourceList},
    {"destinationList", Kind::kDestinationList},
    {"sensorElementList", Kind::kSensorElementList},
};

// schemas/TransformationEvent-JSON-Schema.json (no action: the schema lists none)
constexpr Field kTransformationEventFields[] = {
    {"inputEPCList", Kind::kEpcSet},
    {"inputQuantityList", Kind::kQuantityList},
    {"outputEPCList", Kind::kEpcSet},
    {"outputQuantityList", Kind::kQuantityList},
    {"transformationID", Kind::kUri},
    {"bizStep", Kind::kBizStep},
    {"disposition", Kind::kDisposition},
    {"persistentDisposition", Kind::kPersistentDisposition},
    {"readPoint", Kind::kLocation},
    {"bizLocation", Kind::kLocation},
    {"bizTransactionList", Kind::kBizTransactionList},
    {"sourceList", Kind::kSourceList},
    {"destinationList", Kind::kDestinationList},
    {"sensorElementList", Kind::kSensorElementList},
    {"ilmd", Kind::kIlmd},
};

// event-definitions-JSON-Schema.json: quantityElement, bizTransaction, source,
// destination, persistentDisposition, readPoint, errorDeclaration, sensor*.
constexpr Field kQuantityElementFields[] = {
    {"epcClass", Kind::kIdentifier}, {"quantity", Kind::kNumber}, {"uom", Kind::kUom}};
constexpr Field kBizTransactionFields[] = {{"type", Kind::kAny}, {"bizTransaction", Kind::kUri}};
constexpr Field kSourceFields[] = {{"type", Kind::kAny}, {"source", Kind::kIdentifier}};
constexpr Field kDestinationFields[] = {{"type", Kind::kAny}, {"destination", Kind::kIdentifier}};
constexpr Field kLocationFields[] = {{"id", Kind::kIdentifier}};
constexpr Field kErrorDeclarationFields[] = {{"declarationTime", Kind::kTime},
                                             {"reason", Kind::kErrorReason},
                                             {"correctiveEventIDs", Kind::kUriList}};
constexpr Field kSensorElementFields[] = {{"sensorMetadata", Kind::kSensorMetadata},
                                          {"sensorReport", Kind::kSensorReportList}};
constexpr Field kSensorMetadataFields[] = {{"time", Kind::kTime},
                                           {"deviceID", Kind::kUri},
                                           {"deviceMetadata", Kind::kUri},
                                           {"rawData", Kind::kUri},
                                           {"startTime", Kind::kTime},
                                           {"endTime", Kind::kTime},
                                           {"dataProcessingMethod", Kind::kUri},
                                           {"bizRules", Kind::kUri}};
constexpr Field kSensorReportFields[] = {
    {"type", Kind::kMeasurementType},
    {"exception", Kind::kSensorAlertType},
    {"deviceID", Kind::kUri},
    {"deviceMetadata", Kind::kUri},
    {"rawData", Kind::kUri},
    {"dataProcessingMethod", Kind::kUri},
    {"bizRules", Kind::kUri},
    {"time", Kind::kTime},
    {"microorganism", Kind::kUri},
    {"chemicalSubstance", Kind::kUri},
    {"coordinateReferenceSystem", Kind::kUri},
    {"value", Kind::kNumber},
    {"component", Kind::kComponent},
    {"stringValue", Kind::kString},
    {"booleanValue", Kind::kBoolean},
    {"hexBinaryValue", Kind::kHexBinary},
    {"uriValue", Kind::kUri},
    {"minValue", Kind::kNumber},
    {"maxValue", Kind::kNumber},
    {"meanValue", Kind::kNumber},
    {"sDev", Kind::kNumber},
    {"percRank", Kind::kNumber},
    {"percValue", Kind::kNumber},
    {"uom", Kind::kString},
};

// EPCIS-Document-JSON-Schema.json
constexpr Field kDocumentFields[] = {
    {"@context", Kind::kContext},   {"id", Kind::kUri},
    {"type", Kind::kAny},           {"schemaVersion", Kind::kVersion},
    {"creationDate", Kind::kTime},  {"instanceIdentifier", Kind::kString},
    {"sender", Kind::kString},      {"receiver", Kind::kString},
    {"epcisHeader", Kind::kHeader}, {"epcisBody", Kind::kDocumentBody}};
constexpr Field kQueryDocumentFields[] = {
    {"@context", Kind::kContext},  {"id", Kind::kUri},
    {"type", Kind::kAny},          {"schemaVersion", Kind::kVersion},
    {"creationDate", Kind::kTime}, {"epcisBody", Kind::kQueryBody}};
constexpr Field kDocumentBodyFields[] = {{"eventList", Kind::kEventList}};
constexpr Field kQueryBodyFields[] = {{"queryResults", Kind::kQueryResults}};
constexpr Field kQueryResultsFields[] = {{"queryName", Kind::kString},
                                         {"subscriptionID", Kind::kString},
                                         {"resultsBody", Kind::kResultsBody}};
constexpr Field kResultsBodyFields[] = {{"eventList", Kind::kEventList},
                                        {"vocabularyList", Kind::kVocabularyList}};
constexpr Field kHeaderFields[] = {{"epcisMasterData", Kind::kMasterData}};
constexpr Field kMasterDataFields[] = {{"vocabularyList", Kind::kVocabularyList}};
constexpr Field kVocabularyFields[] = {{"type", Kind::kUri},
                                       {"vocabularyElementList", Kind::kVocabularyElementList}};
constexpr Field kVocabularyElementFields[] = {
    {"id", Kind::kUri}, {"attributes", Kind::kAttributeList}, {"children", Kind::kUriList}};
constexpr Field kAttributeFields[] = {{"id", Kind::kUri}, {"attribute", Kind::kAttributeValue}};

enum class EventType { kObject, kAggregation, kTransaction, kTransformation, kAssociation, kOther };

struct EventTypeRules {
  std::string_view name;
  EventType type;
  std::span<const Field> fields;
};

constexpr EventTypeRules kEventTypes[] = {
    {"ObjectEvent", EventType::kObject, kObjectEventFields},
    {"AggregationEvent", EventType::kAggregation, kAggregationEventFields},
    {"TransactionEvent", EventType::kTransaction, kTransactionEventFields},
    {"TransformationEvent", EventType::kTransformation, kTransformationEventFields},
    {"AssociationEvent", EventType::kAssociation, kAggregationEventFields},
};

// Size and first character are compared before the rest (memcmp): this runs
// for every member of every object.
bool same_name(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a[0] == b[0] && a == b));
}

const Field* find_field(std::span<const Field> fields, std::string_view name) {
  for (const Field& field : fields) {
    if (same_name(field.name, name)) return &field;
  }
  return nullptr;
}

// A standard field of some event type (for "not a field of X" messages).
bool is_standard_event_field(std::string_view name) {
  for (const EventTypeRules& rules : kEventTypes) {
    if (find_field(rules.fields, name) != nullptr) return true;
  }
  return false;
}

std::string_view type_name(element value) {
  switch (value.type()) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

bool is_number(element value) {
  return value.type() == element_type::INT64 || value.type() == element_type::UINT64 ||
         value.type() == element_type::DOUBLE;
}

std::string in_quotes(std::string_view text) {
  std::string out = "'";
  out += text;
  out += "'";
  return out;
}

class Validator {
 public:
  Validator(const ValidationLimits& limits, dom_walk::IdentifierForms* forms)
      : limits_(limits), forms_(forms) {}

  std::vector<ValidationProblem> take() { return std::move(problems_); }

  void report(std::string message) {
    if (truncated_) return;
    report_pointer(pointer(), std::move(message));
  }

  void document(element root) {
    duplicate_keys(root);
    object fields;
    if (root.get(fields) != simdjson::SUCCESS) {
      report("an EPCIS document must be a JSON object, not " + std::string(type_name(root)));
      return;
    }
    std::string_view type;
    element type_value;
    if (fields["type"].get(type_value) != simdjson::SUCCESS) {
      report("missing required field 'type' (EPCISDocument or EPCISQueryDocument)");
    } else if (type_value.get(type) != simdjson::SUCCESS ||
               (type != "EPCISDocument" && type != "EPCISQueryDocument")) {
      for (const EventTypeRules& rules : kEventTypes) {
        if (type == rules.name) {
          report("this is a single " + std::string(type) +
                 ", not an EPCISDocument: validate it as an event, or put it in a document");
          return;
        }
      }
      auto scope = enter("type");
      report("the document type must be 'EPCISDocument' or 'EPCISQueryDocument'");
    }
    if (type == "EPCISQueryDocument") {
      check_object(root, kQueryDocumentFields, Extra::kNamespaced, "an EPCISQueryDocument");
      require(fields, {"@context", "epcisBody"});
    } else {
      check_object(root, kDocumentFields, Extra::kNamespaced, "an EPCISDocument");
      require(fields, {"@context", "schemaVersion", "creationDate", "epcisBody"});
    }
  }

  void standalone_event(element root) {
    duplicate_keys(root);
    event(root, true);
  }

 private:
  // One reference token of the pointer of the value being checked. Keys are
  // views of the DOM's strings (or literals), which outlive the walk; the
  // pointer text is only built when a problem is reported.
  struct PathToken {
    std::string_view key;
    size_t index;
    bool is_index;
  };

  // Appends a reference token to the pointer for the life of the scope.
  class [[nodiscard]] Scope {
   public:
    explicit Scope(std::vector<PathToken>& path) : path_(path) {}
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { path_.pop_back(); }

   private:
    std::vector<PathToken>& path_;
  };

  Scope enter(std::string_view key) {
    path_.push_back(PathToken{key, 0, false});
    return Scope(path_);
  }
  Scope enter(size_t index) {
    path_.push_back(PathToken{{}, index, true});
    return Scope(path_);
  }

  // The RFC 6901 pointer of the value being checked.
  std::string pointer() const {
    std::string out;
    for (const PathToken& token : path_) {
      out += '/';
      if (token.is_index) {
        out += std::to_string(token.index);
      } else {
        out += json_pointer_token(token.key);
      }
    }
    return out;
  }

  void report_pointer(std::string pointer, std::string message) {
    if (truncated_) return;
    if (problems_.size() >= limits_.max_problems) {
      truncated_ = true;
      problems_.push_back({"", "stopped after " + std::to_string(limits_.max_problems) +
                                   " problems; fix these and validate again"});
      return;
    }
    problems_.push_back({std::move(pointer), std::move(message)});
  }

  // JSON allows a key twice in one object, but readers disagree on which value
  // wins, so a custody record must not depend on it.
  void duplicate_keys(element value) {
    if (object fields; value.get(fields) == simdjson::SUCCESS) {
      if (has_duplicate_key(fields)) report_duplicate_keys(fields);
      for (auto field : fields) {
        if (!is_container(field.value)) continue;
        auto scope = enter(field.key);
        duplicate_keys(field.value);
      }
    } else if (array items; value.get(items) == simdjson::SUCCESS) {
      size_t index = 0;
      for (element item : items) {
        if (is_container(item)) {
          auto scope = enter(index);
          duplicate_keys(item);
        }
        ++index;
      }
    }
  }

  static bool is_container(element value) {
    return value.type() == element_type::OBJECT || value.type() == element_type::ARRAY;
  }

  // Whether some key of `fields` is repeated; pairwise for the small objects
  // EPCIS is made of, so the common case allocates nothing.
  bool has_duplicate_key(object fields) {
    keys_.clear();
    for (auto field : fields) keys_.push_back(field.key);
    if (keys_.size() <= 32) {
      for (size_t i = 1; i < keys_.size(); ++i) {
        for (size_t j = 0; j < i; ++j) {
          if (keys_[i] == keys_[j]) return true;
        }
      }
      return false;
    }
    std::sort(keys_.begin(), keys_.end());
    return std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end();
  }

  // One problem per repeated key, in key order.
  void report_duplicate_keys(object fields) {
    std::vector<std::string_view> sorted;
    for (auto field : fields) sorted.push_back(field.key);
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 1; i < sorted.size(); ++i) {
      if (sorted[i] == sorted[i - 1] && (i < 2 || sorted[i - 2] != sorted[i])) {
        auto scope = enter(sorted[i]);
        report("duplicate key " + in_quotes(sorted[i]) + ": an object must not repeat a key");
      }
    }
  }

  // Checks every member of an object against `fields` (then `more`); what is
  // not listed is judged by `extra`. Returns false when `value` is no object.
  bool check_object(element value, std::span<const Field> fields, Extra extra,
                    std::string_view owner, std::span<const Field> more = {}) {
    object members;
    if (value.get(members) != simdjson::SUCCESS) {
      report(std::string(owner) + " must be an object, not " + std::string(type_name(value)));
      return false;
    }
    for (auto member : members) {
      const Field* field = find_field(fields, member.key);
      if (field == nullptr) field = find_field(more, member.key);
      auto scope = enter(member.key);
      if (field != nullptr) {
        check_value(member.value, field->kind);
        continue;
      }
      if (extra == Extra::kAny) continue;
      if (extra == Extra::kNamespaced && absolute_uri_problem(member.key).empty()) continue;
      std::string message = in_quotes(member.key);
      if (extra == Extra::kNone) {
        message += " is not allowed in ";
        message += owner;
        message += " (allowed:";
        for (const Field& allowed : fields) {
          message += ' ';
          message += allowed.name;
        }
        message += ")";
      } else if (is_standard_event_field(member.key)) {
        message += " is not a field of ";
        message += owner;
      } else {
        message += " is not a field of ";
        message += owner;
        message += "; an extension field needs a namespace prefix declared in @context (e.g. ";
        message += in_quotes("example:" + std::string(member.key));
        message += ")";
      }
      report(std::move(message));
    }
    return true;
  }

  // Reports each of `names` missing from `members` at the object's pointer.
  void require(object members, std::initializer_list<std::string_view> names) {
    for (std::string_view name : names) {
      if (members[name].error() != simdjson::SUCCESS) {
        report("missing required field " + in_quotes(name));
      }
    }
  }

  bool string_of(element value, std::string_view& text) {
    if (value.get(text) == simdjson::SUCCESS) return true;
    report("must be a string, not " + std::string(type_name(value)));
    return false;
  }

  bool array_of(element value, array& items) {
    if (value.get(items) == simdjson::SUCCESS) return true;
    report("must be an array, not " + std::string(type_name(value)));
    return false;
  }

  template <typename Check>
  void each(element value, Check check) {
    array items;
    if (!array_of(value, items)) return;
    size_t index = 0;
    for (element item : items) {
      auto scope = enter(index++);
      check(item);
    }
  }

  void uri(element value) {
    std::string_view text;
    if (!string_of(value, text)) return;
    if (std::string problem = absolute_uri_problem(text); !problem.empty()) report(problem);
  }

  // The identifier's canonical form (see identifiers.h), or nullopt after
  // reporting why there is none. With `cache` (fields holding one identifier,
  // such as readPoint and bizLocation, which a document's events mostly
  // repeat), a text is parsed once per document.
  std::optional<std::string> identifier(element value, IdentifierCache* cache = nullptr) {
    std::string_view text;
    if (!string_of(value, text)) return std::nullopt;
    if (std::string problem = absolute_uri_problem(text); !problem.empty()) {
      report(problem);
      return std::nullopt;
    }
    // An EPC URN's canonical form is its Digital Link; parse_identifier
    // (below) gives the same with a copy of the text, and the reason when
    // there is none (another scheme or URI is opaque, or not an identifier).
    std::string canonical;
    bool is_epc_urn = false;
    if (cache != nullptr) {
      auto parsed = cache->parse(std::string(text));
      if (!parsed.is_ok()) {
        report("not a valid identifier: " + parsed.status().message());
        return std::nullopt;
      }
      // A GS1 key; an EPC URN when the text says so (checked below).
      is_epc_urn = parsed->kind != IdentifierKind::kOpaque;
      canonical = std::move(parsed->canonical);
    } else if (auto link = epc_urn_to_digital_link(text); link.is_ok()) {
      canonical = std::move(link).value();
      is_epc_urn = true;
    } else {
      auto parsed = parse_identifier(text);
      if (!parsed.is_ok()) {
        report("not a valid identifier: " + parsed.status().message());
        return std::nullopt;
      }
      canonical = std::move(parsed->canonical);
    }
    if (forms_ != nullptr && is_epc_urn && text.starts_with("urn:epc:")) {
      forms_->add(text.data(), canonical);
    }
    return canonical;
  }

  void identifier_list(element value, bool unique) {
    // Canonical forms seen, with their item index: searched in turn while
    // the list is short (no hashing, no node per item), indexed when long.
    // `seen` is reserved for every item, so the index's views stay valid.
    constexpr size_t kLinearSearch = 16;
    std::vector<std::pair<std::string, size_t>> seen;
    std::unordered_map<std::string_view, size_t> first_index;
    if (array items; unique && value.get(items) == simdjson::SUCCESS) seen.reserve(items.size());
    size_t index = 0;
    each(value, [&](element item) {
      size_t at = index++;
      auto id = identifier(item);
      if (!id || !unique) return;
      const size_t* first = nullptr;
      if (first_index.empty()) {
        for (const auto& [canonical, item_index] : seen) {
          if (canonical == *id) {
            first = &item_index;
            break;
          }
        }
      } else if (auto it = first_index.find(*id); it != first_index.end()) {
        first = &it->second;
      }
      if (first != nullptr) {
        report("names the same object as item " + std::to_string(*first) +
               "; a list of EPCs must not repeat one");
        return;
      }
      seen.emplace_back(std::move(*id), at);
      if (!first_index.empty()) {
        first_index.emplace(seen.back().first, at);
      } else if (seen.size() == kLinearSearch) {
        for (const auto& [canonical, item_index] : seen) first_index.emplace(canonical, item_index);
      }
    });
  }

  void vocabulary(element value, const Vocabulary& vocabulary) {
    std::string_view text;
    if (!string_of(value, text)) return;
    if (std::string problem = vocabulary_problem(vocabulary, text); !problem.empty()) {
      report(problem);
    }
  }

  void check_value(element value, Kind kind) {
    switch (kind) {
      case Kind::kAny:
        return;
      case Kind::kString: {
        std::string_view text;
        string_of(value, text);
        return;
      }
      case Kind::kNumber:
        if (!is_number(value)) report("must be a number, not " + std::string(type_name(value)));
        return;
      case Kind::kBoolean:
        if (value.type() != element_type::BOOL) {
          report("must be true or false, not " + std::string(type_name(value)));
        }
        return;
      case Kind::kUri:
        return uri(value);
      case Kind::kIdentifier:
        (void)identifier(value, &single_identifiers_);
        return;
      case Kind::kTime: {
        std::string_view text;
        if (!string_of(value, text)) return;
        if (std::string problem = date_time_problem(text); !problem.empty()) report(problem);
        return;
      }
      case Kind::kOffset: {
        std::string_view text;
        if (!string_of(value, text)) return;
        if (std::string problem = time_zone_offset_problem(text); !problem.empty()) {
          report(problem);
        }
        return;
      }
      case Kind::kVersion: {
        std::string_view text;
        if (!string_of(value, text)) return;
        // ^\d+(\.\d+)*$
        bool ok = !text.empty() && text.front() != '.' && text.back() != '.' &&
                  text.find("..") == std::string_view::npos &&
                  std::all_of(text.begin(), text.end(),
                              [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
        if (!ok) report(in_quotes(text) + " is not a version such as '2.0'");
        return;
      }
      case Kind::kHexBinary: {
        std::string_view text;
        if (!string_of(value, text)) return;
        bool ok = !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        });
        if (!ok) report(in_quotes(text) + " is not hexBinary (hex digits 0-9 A-F)");
        return;
      }
      case Kind::kUom: {
        std::string_view text;
        if (!string_of(value, text)) return;
        bool ok = (text.size() == 2 || text.size() == 3) &&
                  std::all_of(text.begin(), text.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
                  });
        if (!ok) {
          report(in_quotes(text) +
                 " is not a UN/ECE Recommendation 20 unit code (2 or 3 of A-Z 0-9, e.g. KGM)");
        }
        return;
      }
      case Kind::kAction: {
        std::string_view text;
        if (!string_of(value, text)) return;
        if (text != "OBSERVE" && text != "ADD" && text != "DELETE") {
          report(in_quotes(text) + " is not an action: use ADD, OBSERVE or DELETE");
        }
        return;
      }
      case Kind::kEpcSet:
        return identifier_list(value, true);
      case Kind::kIdentifierList:
        return identifier_list(value, false);
      case Kind::kUriList:
        return each(value, [&](element item) { uri(item); });
      case Kind::kQuantityList:
        return each(value, [&](element item) { quantity_element(item); });
      case Kind::kBizStep:
        return vocabulary(value, biz_step_vocabulary());
      case Kind::kDisposition:
        return vocabulary(value, disposition_vocabulary());
      case Kind::kErrorReason:
        return vocabulary(value, error_reason_vocabulary());
      case Kind::kComponent:
        return vocabulary(value, component_vocabulary());
      case Kind::kMeasurementType:
        return vocabulary(value, measurement_type_vocabulary());
      case Kind::kSensorAlertType:
        return vocabulary(value, sensor_alert_type_vocabulary());
      case Kind::kPersistentDisposition:
        return persistent_disposition(value);
      case Kind::kLocation:
        if (check_object(value, kLocationFields, Extra::kAny, "a location")) {
          require(value.get_object().value_unsafe(), {"id"});
        }
        return;
      case Kind::kBizTransactionList:
        return each(value, [&](element item) {
          if (!check_object(item, kBizTransactionFields, Extra::kNone, "a business transaction")) {
            return;
          }
          object members = item.get_object().value_unsafe();
          require(members, {"bizTransaction"});
          if (element type; members["type"].get(type) == simdjson::SUCCESS) {
            auto scope = enter("type");
            vocabulary(type, biz_transaction_type_vocabulary());
          }
        });
      case Kind::kSourceList:
        return source_or_destination(value, "source", kSourceFields);
      case Kind::kDestinationList:
        return source_or_destination(value, "destination", kDestinationFields);
      case Kind::kSensorElementList:
        return each(value, [&](element item) {
          if (check_object(item, kSensorElementFields, Extra::kNamespaced, "a sensor element")) {
            require(item.get_object().value_unsafe(), {"sensorReport"});
          }
        });
      case Kind::kSensorMetadata:
        check_object(value, kSensorMetadataFields, Extra::kNamespaced, "sensorMetadata");
        return;
      case Kind::kSensorReportList: {
        array items;
        if (!array_of(value, items)) return;
        if (items.size() == 0) report("must list at least one sensor report");
        return each(value, [&](element item) {
          if (check_object(item, kSensorReportFields, Extra::kNamespaced, "a sensor report")) {
            require(item.get_object().value_unsafe(), {"type"});
          }
        });
      }
      case Kind::kIlmd: {
        object members;
        if (value.get(members) != simdjson::SUCCESS) {
          report("ilmd must be an object, not " + std::string(type_name(value)));
          return;
        }
        for (auto member : members) {
          if (!absolute_uri_problem(member.key).empty()) {
            auto scope = enter(member.key);
            report(in_quotes(member.key) +
                   " is not a namespaced name: ilmd fields need a prefix declared in @context "
                   "(e.g. 'cbvmda:lotNumber')");
          }
        }
        return;
      }
      case Kind::kCertificationInfo:
        if (value.type() == element_type::ARRAY) return check_value(value, Kind::kUriList);
        return uri(value);
      case Kind::kErrorDeclaration:
        if (check_object(value, kErrorDeclarationFields, Extra::kNamespaced,
                         "an error declaration")) {
          require(value.get_object().value_unsafe(), {"declarationTime"});
        }
        return;
      case Kind::kContext:
        return context(value);
      case Kind::kAttributeValue:
        if (!is_number(value) && value.type() != element_type::STRING &&
            value.type() != element_type::OBJECT) {
          report("must be a number, a string or an object, not " + std::string(type_name(value)));
        }
        return;
      case Kind::kHeader:
        check_object(value, kHeaderFields, Extra::kNamespaced, "epcisHeader");
        return;
      case Kind::kMasterData:
        check_object(value, kMasterDataFields, Extra::kAny, "epcisMasterData");
        return;
      case Kind::kVocabularyList:
        return each(value, [&](element item) {
          if (check_object(item, kVocabularyFields, Extra::kAny, "a vocabulary")) {
            require(item.get_object().value_unsafe(), {"type"});
          }
        });
      case Kind::kVocabularyElementList:
        return each(value, [&](element item) {
          if (check_object(item, kVocabularyElementFields, Extra::kAny, "a vocabulary element")) {
            require(item.get_object().value_unsafe(), {"id"});
          }
        });
      case Kind::kAttributeList:
        return each(value, [&](element item) {
          if (check_object(item, kAttributeFields, Extra::kAny, "an attribute")) {
            require(item.get_object().value_unsafe(), {"id"});
          }
        });
      case Kind::kEventList:
        return event_list(value);
      case Kind::kDocumentBody:
        if (check_object(value, kDocumentBodyFields, Extra::kAny, "epcisBody")) {
          require(value.get_object().value_unsafe(), {"eventList"});
        }
        return;
      case Kind::kQueryBody:
        if (check_object(value, kQueryBodyFields, Extra::kNamespaced, "epcisBody")) {
          require(value.get_object().value_unsafe(), {"queryResults"});
        }
        return;
      case Kind::kQueryResults:
        if (check_object(value, kQueryResultsFields, Extra::kNamespaced, "queryResults")) {
          require(value.get_object().value_unsafe(), {"queryName", "resultsBody"});
        }
        return;
      case Kind::kResultsBody:
        if (check_object(value, kResultsBodyFields, Extra::kNamespaced, "resultsBody")) {
          require(value.get_object().value_unsafe(), {"eventList"});
        }
        return;
    }
  }

  void quantity_element(element value) {
    if (!check_object(value, kQuantityElementFields, Extra::kNone, "a quantity element")) return;
    require(value.get_object().value_unsafe(), {"epcClass"});
  }

  void source_or_destination(element value, std::string_view name, std::span<const Field> fields) {
    std::string owner = "a ";
    owner += name;
    each(value, [&](element item) {
      if (!check_object(item, fields, Extra::kNone, owner)) return;
      object members = item.get_object().value_unsafe();
      require(members, {"type", name});
      if (element type; members["type"].get(type) == simdjson::SUCCESS) {
        auto scope = enter("type");
        vocabulary(type, source_dest_type_vocabulary());
      }
    });
  }

  void persistent_disposition(element value) {
    object members;
    if (value.get(members) != simdjson::SUCCESS) {
      report("persistentDisposition must be an object, not " + std::string(type_name(value)));
      return;
    }
    bool any = false;
    for (auto member : members) {
      auto scope = enter(member.key);
      if (member.key != "set" && member.key != "unset") {
        report(in_quotes(member.key) +
               " is not allowed in persistentDisposition (allowed: set unset)");
        continue;
      }
      any = true;
      array items;
      if (!array_of(member.value, items)) continue;
      if (items.size() == 0) report("must list at least one disposition");
      std::vector<std::string_view> seen;
      size_t index = 0;
      for (element item : items) {
        auto item_scope = enter(index++);
        std::string_view text;
        if (!string_of(item, text)) continue;
        if (std::string problem = vocabulary_problem(disposition_vocabulary(), text);
            !problem.empty()) {
          report(problem);
        } else if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
          report(in_quotes(text) + " is listed twice");
        }
        seen.push_back(text);
      }
    }
    if (!any) report("persistentDisposition needs 'set' or 'unset'");
  }

  // "@context": a URI, an object, or an array of distinct URIs and objects.
  void context(element value) {
    if (value.type() == element_type::STRING) return uri(value);
    if (value.type() == element_type::OBJECT) return;
    if (value.type() != element_type::ARRAY) {
      report("@context must be a URI, an object or an array of them, not " +
             std::string(type_name(value)));
      return;
    }
    array items;
    if (value.get(items) != simdjson::SUCCESS) return;
    std::vector<std::string> seen;
    size_t index = 0;
    for (element item : items) {
      auto scope = enter(index++);
      if (item.type() == element_type::STRING) {
        uri(item);
      } else if (item.type() != element_type::OBJECT) {
        report("a @context entry must be a URI or an object, not " + std::string(type_name(item)));
        continue;
      }
      std::string text = simdjson::minify(item);
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) {
        report("this @context entry is listed twice");
      }
      seen.push_back(std::move(text));
    }
  }

  void event_list(element value) {
    array events;
    if (!array_of(value, events)) return;
    if (events.size() > limits_.max_events) {
      report("the document holds " + std::to_string(events.size()) + " events; the limit is " +
             std::to_string(limits_.max_events));
      return;
    }
    event_lists_.push_back(pointer());
    event_ids_.reserve(event_ids_.size() + events.size());
    size_t index = 0;
    for (element item : events) {
      event_index_ = index;
      auto scope = enter(index++);
      event(item, false);
    }
  }

  void event(element value, bool standalone) {
    object members;
    if (value.get(members) != simdjson::SUCCESS) {
      report("an event must be an object, not " + std::string(type_name(value)));
      return;
    }
    const EventTypeRules* rules = nullptr;
    std::string_view type_text;
    if (element type; members["type"].get(type) != simdjson::SUCCESS) {
      report(
          "missing required field 'type' (ObjectEvent, AggregationEvent, TransactionEvent, "
          "TransformationEvent, AssociationEvent or an extension event type)");
    } else {
      auto scope = enter("type");
      if (string_of(type, type_text)) {
        for (const EventTypeRules& candidate : kEventTypes) {
          if (candidate.name == type_text) rules = &candidate;
        }
        if (rules == nullptr && !absolute_uri_problem(type_text).empty()) {
          report("unknown event type " + in_quotes(type_text) +
                 ": use ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent, "
                 "AssociationEvent, or a namespaced extension type such as 'example:MyEvent'");
        }
      }
    }
    if (rules == nullptr) {
      // An extension event (Extended-Event): the common fields, anything else.
      check_object(value, kCommonEventFields, Extra::kAny, "an event");
    } else {
      check_object(value, kCommonEventFields, Extra::kNamespaced, rules->name, rules->fields);
    }
    require(members, {"eventTime", "eventTimeZoneOffset"});
    if (standalone) require(members, {"@context"});
    if (!standalone) check_event_id(members);
    if (rules != nullptr) event_type_rules(members, *rules);
  }

  // eventID names one event: two events of one document must not share it.
  void check_event_id(object members) {
    std::string_view id;
    if (members["eventID"].get(id) != simdjson::SUCCESS) return;
    auto [it, inserted] = event_ids_.emplace(id, EventAt{event_lists_.size() - 1, event_index_});
    if (!inserted) {
      auto scope = enter("eventID");
      std::string first = event_lists_[it->second.list];
      first += '/';
      first += std::to_string(it->second.index);
      report("the same eventID as the event at " + first + "; an eventID must name one event");
    }
  }

  static bool non_empty_array(object members, std::string_view name) {
    array items;
    return members[name].get(items) == simdjson::SUCCESS && items.size() > 0;
  }

  // The rules the schemas express with anyOf/if-then and those of the standard.
  void event_type_rules(object members, const EventTypeRules& rules) {
    std::string_view action;
    bool has_action = members["action"].get(action) == simdjson::SUCCESS;
    auto has = [&](std::string_view name) { return members[name].error() == simdjson::SUCCESS; };
    switch (rules.type) {
      case EventType::kObject:
        require(members, {"action"});
        if (!has("epcList") && !non_empty_array(members, "quantityList") &&
            !(non_empty_array(members, "sensorElementList") && has("readPoint"))) {
          report(
              "ObjectEvent needs an epcList, a non-empty quantityList, or a non-empty "
              "sensorElementList with a readPoint");
        }
        if (has("ilmd") && has_action && action != "ADD") {
          auto scope = enter("ilmd");
          report("ilmd is only allowed when action is ADD (here it is " + in_quotes(action) + ")");
        }
        return;
      case EventType::kAggregation:
      case EventType::kAssociation:
        if (rules.type == EventType::kAssociation) {
          require(members, {"action", "parentID"});
        } else {
          require(members, {"action"});
          // EPCIS 2.0 7.4.3: parentID is optional only for OBSERVE.
          if (has_action && (action == "ADD" || action == "DELETE") && !has("parentID")) {
            report("missing required field 'parentID': an AggregationEvent with action " +
                   std::string(action) + " names its parent (only OBSERVE may omit it)");
          }
        }
        if (has_action && action != "DELETE" && !non_empty_array(members, "childEPCs") &&
            !non_empty_array(members, "childQuantityList")) {
          report(std::string(rules.name) + " with action " + in_quotes(action) +
                 " needs a non-empty childEPCs or childQuantityList (only DELETE may omit both)");
        }
        return;
      case EventType::kTransaction:
        require(members, {"action", "bizTransactionList"});
        if (array list;
            members["bizTransactionList"].get(list) == simdjson::SUCCESS && list.size() == 0) {
          auto scope = enter("bizTransactionList");
          report("a TransactionEvent must list at least one business transaction");
        }
        if (has_action && action != "DELETE" && !has("epcList") &&
            !non_empty_array(members, "quantityList")) {
          report("TransactionEvent with action " + in_quotes(action) +
                 " needs an epcList or a non-empty quantityList (only DELETE may omit both)");
        }
        return;
      case EventType::kTransformation: {
        bool inputs = non_empty_array(members, "inputEPCList") ||
                      non_empty_array(members, "inputQuantityList");
        bool outputs = non_empty_array(members, "outputEPCList") ||
                       non_empty_array(members, "outputQuantityList");
        if (!(inputs && outputs) && !(has("transformationID") && (inputs || outputs))) {
          report(
              "TransformationEvent needs inputs (inputEPCList or inputQuantityList) and "
              "outputs (outputEPCList or outputQuantityList), or a transformationID with at "
              "least one of them");
        }
        return;
      }
      case EventType::kOther:
        return;
    }
  }

  const ValidationLimits& limits_;
  dom_walk::IdentifierForms* forms_;
  IdentifierCache single_identifiers_;  // readPoint, bizLocation, ... (see identifier())
  std::vector<ValidationProblem> problems_;
  std::vector<PathToken> path_;
  bool truncated_ = false;
  std::vector<std::string_view> keys_;  // has_duplicate_key's buffer
  // Where an event is: the pointer of its eventList and its index there.
  struct EventAt {
    size_t list;
    size_t index;
  };
  std::vector<std::string> event_lists_;  // pointers of the eventLists walked
  size_t event_index_ = 0;
  std::unordered_map<std::string_view, EventAt> event_ids_;  // eventID -> its first event
};

}  // namespace

namespace dom_walk {

std::vector<ValidationProblem> parse(simdjson::dom::parser& parser, std::string_view json,
                                     const ValidationLimits& limits, element& root) {
  auto one = [](std::string message) {
    return std::vector<ValidationProblem>{{"", std::move(message)}};
  };
  if (json.size() > limits.max_bytes) {
    return one("the text is " + std::to_string(json.size()) + " bytes; the limit is " +
               std::to_string(limits.max_bytes));
  }
  // simdjson counts the root as one level; max_depth counts nested containers.
  // A reused parser keeps its buffers while they are large enough.
  const size_t capacity = std::max<size_t>(json.size(), 64);
  if (parser.capacity() < capacity || parser.max_depth() != limits.max_depth + 1) {
    if (parser.allocate(std::max(capacity, parser.capacity()), limits.max_depth + 1) !=
        simdjson::SUCCESS) {
      return one("not enough memory to read the document");
    }
  }
  simdjson::error_code error = parser.parse(json.data(), json.size(), true).get(root);
  if (error == simdjson::UTF8_ERROR) return one("the text is not valid UTF-8");
  if (error == simdjson::DEPTH_ERROR) {
    return one("arrays and objects are nested deeper than " + std::to_string(limits.max_depth) +
               " levels");
  }
  if (error == simdjson::NUMBER_ERROR) {
    // Valid JSON that no double or 64-bit integer holds, or a malformed number.
    return one(
        "a number is malformed or out of range (beyond a 64-bit integer or a double); "
        "write such values as strings");
  }
  if (error != simdjson::SUCCESS) {
    return one(std::string("not valid JSON: ") + simdjson::error_message(error));
  }
  return {};
}

void IdentifierForms::add(const char* text, std::string_view canonical) {
  // The two spellings differ only in "'", which the canonical form writes
  // %27 and the event hash leaves bare (DigitalLinkEscaping). A bare '%' is
  // always escaped, so "%27" in the canonical form can only stand for "'".
  if (canonical.find("%27") == std::string_view::npos) {
    forms_.emplace_back(text, std::string(canonical));
    return;
  }
  std::string form;
  form.reserve(canonical.size());
  for (size_t i = 0; i < canonical.size(); ++i) {
    if (canonical.compare(i, 3, "%27") == 0) {
      form += '\'';
      i += 2;
    } else {
      form += canonical[i];
    }
  }
  forms_.emplace_back(text, std::move(form));
}

void IdentifierForms::seal() {
  // The validator adds in document order, so this is usually sorted already.
  std::sort(forms_.begin(), forms_.end(),
            [](const auto& a, const auto& b) { return std::less<>()(a.first, b.first); });
}

const std::string* IdentifierForms::find(const char* text) const {
  auto it = std::lower_bound(
      forms_.begin(), forms_.end(), text,
      [](const auto& entry, const char* key) { return std::less<>()(entry.first, key); });
  if (it == forms_.end() || it->first != text) return nullptr;
  return &it->second;
}

std::vector<ValidationProblem> validate(element root, const ValidationLimits& limits,
                                        ValidationMode mode, IdentifierForms* forms) {
  Validator validator(limits, forms);
  if (mode == ValidationMode::kEither) {
    std::string_view type;
    bool has_type = root["type"].get(type) == simdjson::SUCCESS;
    bool is_document = (has_type && (type == "EPCISDocument" || type == "EPCISQueryDocument")) ||
                       root["epcisBody"].error() == simdjson::SUCCESS;
    mode = is_document ? ValidationMode::kDocument : ValidationMode::kEvent;
  }
  if (mode == ValidationMode::kDocument) {
    validator.document(root);
  } else {
    validator.standalone_event(root);
  }
  return validator.take();
}

}  // namespace dom_walk

namespace {

std::vector<ValidationProblem> run(std::string_view json, const ValidationLimits& limits,
                                   dom_walk::ValidationMode mode) {
  simdjson::dom::parser parser;
  element root;
  std::vector<ValidationProblem> problems = dom_walk::parse(parser, json, limits, root);
  if (!problems.empty()) return problems;
  return dom_walk::validate(root, limits, mode);
}

}  // namespace

std::vector<ValidationProblem> validate_document(std::string_view json,
                                                 const ValidationLimits& limits) {
  return run(json, limits, dom_walk::ValidationMode::kDocument);
}

std::vector<ValidationProblem> validate_event(std::string_view json,
                                              const ValidationLimits& limits) {
  return run(json, limits, dom_walk::ValidationMode::kEvent);
}

std::vector<ValidationProblem> validate_document_or_event(std::string_view json,
                                                          const ValidationLimits& limits) {
  return run(json, limits, dom_walk::ValidationMode::kEither);
}

std::string json_pointer_token(std::string_view key) {
  std::string token;
  token.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token += c;
    }
  }
  return token;
}

}  // namespace custos::epcis
