// EPCIS 2.0 JSON / JSON-LD decoding (see custos/epcis/json_codec.h).
//
// One simdjson On-Demand pass walks the document by the shape the standard
// gives it; every standard value is read with a typed accessor (which
// validates it), every extension value is walked token by token (at most
// kMaxJsonDepth levels) and kept as the input text it spans. No value is
// skipped unread, so the whole input is validated, and recursion is bounded
// by the fixed standard structure plus kMaxJsonDepth.
#include <simdjson.h>

#include <array>
#include <cstring>

#include "custos/epcis/json_codec.h"
#include "event_members.h"

namespace custos::epcis {
namespace {

namespace od = simdjson::ondemand;
using namespace event_members;

// The prefixes of the standard EPCIS 2.0 JSON-LD context.
const std::vector<NamespaceBinding>& standard_namespaces() {
  static const std::vector<NamespaceBinding> kBindings = {
      {"epcis", "https://ref.gs1.org/epcis/"},
      {"cbv", "https://ref.gs1.org/cbv/"},
      {"cbvmda", "urn:epcglobal:cbv:mda:"},
      {"gs1", "https://gs1.org/voc/"},
      {"rdfs", "http://www.w3.org/2000/01/rdf-schema#"},
      {"owl", "http://www.w3.org/2002/07/owl#"},
      {"xsd", "http://www.w3.org/2001/XMLSchema#"},
      {"dcterms", "http://purl.org/dc/terms/"},
  };
  return kBindings;
}

// The index of `key` in `keys`, or -1. Length and first character are
// compared before the rest (this runs for every member of every event).
template <size_t N>
int find_key(const std::array<std::string_view, N>& keys, std::string_view key) {
  if (key.empty()) return -1;
  for (size_t i = 0; i < N; ++i) {
    if (keys[i].size() == key.size() && keys[i][0] == key[0] && keys[i] == key) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

enum MetadataKey {
  kMdTime,
  kMdStartTime,
  kMdEndTime,
  kMdDeviceId,
  kMdDeviceMetadata,
  kMdRawData,
  kMdDataProcessingMethod,
  kMdBizRules,
  kMetadataKeyCount
};

constexpr std::array<std::string_view, kMetadataKeyCount> kMetadataKeys = {
    "time",
    "startTime",
    "endTime",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
};

enum ReportKey {
  kRpType,
  kRpException,
  kRpDeviceId,
  kRpDeviceMetadata,
  kRpRawData,
  kRpDataProcessingMethod,
  kRpBizRules,
  kRpTime,
  kRpMicroorganism,
  kRpChemicalSubstance,
  kRpCoordinateReferenceSystem,
  kRpValue,
  kRpComponent,
  kRpStringValue,
  kRpBooleanValue,
  kRpHexBinaryValue,
  kRpUriValue,
  kRpMinValue,
  kRpMaxValue,
  kRpMeanValue,
  kRpSDev,
  kRpPercRank,
  kRpPercValue,
  kRpUom,
  kReportKeyCount
};

constexpr std::array<std::string_view, kReportKeyCount> kReportKeys = {
    "type",
    "exception",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "dataProcessingMethod",
    "bizRules",
    "time",
    "microorganism",
    "chemicalSubstance",
    "coordinateReferenceSystem",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "minValue",
    "maxValue",
    "meanValue",
    "sDev",
    "percRank",
    "percValue",
    "uom",
};

std::string_view trim_right(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// Appends one RFC 6901 reference token ("/" + key with ~ and / escaped).
void append_pointer_token(std::string& pointer, std::string_view key) {
  pointer += '/';
  for (char c : key) {
    if (c == '~') {
      pointer += "~0";
    } else if (c == '/') {
      pointer += "~1";
    } else {
      pointer += c;
    }
  }
}

// The string members of the objects in an @context value (a string, an
// object or an array of both).
void collect_namespaces(simdjson::dom::element context, std::vector<NamespaceBinding>& out) {
  auto add = [&](simdjson::dom::element entry) {
    simdjson::dom::object object;
    if (entry.get(object) != simdjson::SUCCESS) return;
    for (auto [prefix, iri] : object) {
      std::string_view text;
      if (iri.get(text) == simdjson::SUCCESS) {
        out.push_back(NamespaceBinding{std::string(prefix), std::string(text)});
      }
    }
  };
  if (simdjson::dom::array array; context.get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element entry : array) add(entry);
  } else {
    add(context);
  }
}

class Walker {
 public:
  Walker(simdjson::dom::parser& context_parser, DecodeError* error)
      : context_parser_(context_parser), error_(error) {
    path_.reserve(16);
  }

  // The document being walked (for the input position after a value).
  void set_document(od::document* document) { document_ = document; }

  // ---- errors and the JSON pointer of the value being read ----

  // The JSON pointer of the value being read.
  std::string pointer() const {
    std::string out;
    for (const PathToken& token : path_) {
      if (token.is_index) {
        out += '/';
        out += std::to_string(token.index);
      } else {
        append_pointer_token(out, token.key);
      }
    }
    return out;
  }

  Status fail(std::string_view detail) {
    std::string at = pointer();
    std::string message = at;
    if (!message.empty()) message += ": ";
    message += detail;
    if (error_ != nullptr) {
      error_->pointer = std::move(at);
      error_->detail = std::string(detail);
    }
    return invalid_argument(std::move(message));
  }
  Status fail(simdjson::error_code code) { return fail(simdjson::error_message(code)); }

  // One step down the path while a member is read. The pointer text is only
  // built when a read fails. Keys are views of simdjson's string buffer,
  // which lives as long as the walk.
  class Scope {
   public:
    Scope(Walker& walker, std::string_view key) : walker_(walker) {
      walker.path_.push_back(PathToken{key, 0, false});
    }
    Scope(Walker& walker, size_t index) : walker_(walker) {
      walker.path_.push_back(PathToken{{}, index, true});
    }
    ~Scope() { walker_.path_.pop_back(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Walker& walker_;
  };

  // ---- typed readers ----

  Status expect(od::value& value, od::json_type type, std::string_view what) {
    od::json_type actual;
    if (auto code = value.type().get(actual)) return fail(code);
    if (actual != type) return fail(what);
    return Status::ok();
  }

  Status string(od::value value, std::string& out) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::string, "expected a string"));
    std::string_view text;
    if (auto code = value.get_string().get(text)) return fail(code);
    out.assign(text);
    return Status::ok();
  }

  Status string(od::value value, std::optional<std::string>& out) {
    return string(value, out.emplace());
  }

  Status timestamp(od::value value, Timestamp& out) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::string, "expected a string"));
    std::string_view text;
    if (auto code = value.get_string().get(text)) return fail(code);
    Result<Timestamp> parsed = parse_timestamp(text);
    if (!parsed.is_ok()) return fail(parsed.status().message());
    out = std::move(parsed).value();
    return Status::ok();
  }

  Status timestamp(od::value value, std::optional<Timestamp>& out) {
    return timestamp(value, out.emplace());
  }

  Status number(od::value value, std::optional<JsonNumber>& out) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::number, "expected a number"));
    std::string_view text = trim_right(value.raw_json_token());
    double parsed;
    if (auto code = value.get_double().get(parsed)) return fail(code);
    out.emplace(JsonNumber{std::string(text), parsed});
    return Status::ok();
  }

  Status boolean(od::value value, std::optional<bool>& out) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::boolean, "expected true or false"));
    bool parsed;
    if (auto code = value.get_bool().get(parsed)) return fail(code);
    out = parsed;
    return Status::ok();
  }

  // Calls `each(value)` for every member of an array, with the pointer set.
  template <typename Each>
  Status array(od::value value, Each&& each) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::array, "expected an array"));
    od::array items;
    if (auto code = value.get_array().get(items)) return fail(code);
    size_t index = 0;
    for (auto item : items) {
      Scope scope(*this, index++);
      od::value member;
      if (auto code = std::move(item).get(member)) return fail(code);
      CUSTOS_RETURN_IF_ERROR(each(member));
    }
    return Status::ok();
  }

  Status strings(od::value value, std::optional<std::vector<std::string>>& out) {
    std::vector<std::string>& list = out.emplace();
    return array(value, [&](od::value member) { return string(member, list.emplace_back()); });
  }

  // Calls `member(key, value)` for every member of an object, with the
  // pointer set. `member` returns the Status of reading the value.
  template <typename Member>
  Status object(od::value value, Member&& member) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::object, "expected an object"));
    od::object fields;
    if (auto code = value.get_object().get(fields)) return fail(code);
    return members(fields, member);
  }

  template <typename Member>
  Status members(od::object& fields, Member&& member) {
    for (auto entry : fields) {
      od::field field;
      if (auto code = std::move(entry).get(field)) return fail(code);
      std::string_view key;
      if (auto code = field.unescaped_key().get(key)) return fail(code);
      Scope scope(*this, key);
      CUSTOS_RETURN_IF_ERROR(member(key, field.value()));
    }
    return Status::ok();
  }

  // Marks standard member `index` as read; an error when it was read before.
  Status once(uint64_t& seen, int index) {
    uint64_t bit = uint64_t{1} << index;
    if ((seen & bit) != 0) return fail("repeated member");
    seen |= bit;
    return Status::ok();
  }

  // Reads a value of any shape, checking every token, at most
  // kMaxJsonDepth - depth levels deep.
  Status check_value(od::value value, size_t depth) {
    od::json_type type;
    if (auto code = value.type().get(type)) return fail(code);
    switch (type) {
      case od::json_type::object: {
        if (depth >= kMaxJsonDepth) return fail("nested too deep");
        od::object fields;
        if (auto code = value.get_object().get(fields)) return fail(code);
        return members(fields, [&](std::string_view, od::value member) {
          return check_value(member, depth + 1);
        });
      }
      case od::json_type::array: {
        if (depth >= kMaxJsonDepth) return fail("nested too deep");
        return array(value, [&](od::value member) { return check_value(member, depth + 1); });
      }
      case od::json_type::string: {
        std::string_view text;
        if (auto code = value.get_string().get(text)) return fail(code);
        return Status::ok();
      }
      case od::json_type::number: {
        // Any valid JSON number, however large: the text is what is kept.
        double parsed;
        if (auto code = value.get_double().get(parsed)) return fail(code);
        return Status::ok();
      }
      case od::json_type::boolean: {
        bool parsed;
        if (auto code = value.get_bool().get(parsed)) return fail(code);
        return Status::ok();
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto code = value.is_null().get(is_null)) return fail(code);
        if (!is_null) return fail("invalid literal");
        return Status::ok();
      }
    }
    return fail("unexpected token");
  }

  // The value's JSON text as written, after checking it (check_value). The
  // text is a view of the input: it ends where the next token begins.
  Status raw(od::value value, std::string& out) {
    const char* start = value.raw_json_token().data();
    CUSTOS_RETURN_IF_ERROR(check_value(value, 0));
    const char* end = nullptr;
    if (auto code = document_->current_location().get(end)) return fail(code);
    if (end < start) return fail("unexpected token");
    out.assign(trim_right(std::string_view(start, static_cast<size_t>(end - start))));
    return Status::ok();
  }

  Status extension(std::string_view key, od::value value, Extensions& out) {
    Extension& extension = out.emplace_back();
    extension.key.assign(key);
    return raw(value, extension.json);
  }

  Status context(od::value value, std::string& json, std::vector<NamespaceBinding>& namespaces) {
    CUSTOS_RETURN_IF_ERROR(raw(value, json));
    // The text is checked already; the DOM parser reads a padded copy of it.
    // A context it refuses (an integer beyond 64 bits) just binds no prefixes.
    simdjson::dom::element element;
    if (context_parser_.parse(json.data(), json.size(), true).get(element) == simdjson::SUCCESS) {
      collect_namespaces(element, namespaces);
    }
    return Status::ok();
  }

  // ---- EPCIS structures ----

  Status quantities(od::value value, std::optional<std::vector<QuantityElement>>& out) {
    std::vector<QuantityElement>& list = out.emplace();
    return array(value, [&](od::value member) {
      QuantityElement& quantity = list.emplace_back();
      uint64_t seen = 0;
      bool has_class = false;
      CUSTOS_RETURN_IF_ERROR(object(member, [&](std::string_view key, od::value field) -> Status {
        if (key == "epcClass") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 0));
          has_class = true;
          return string(field, quantity.epc_class);
        }
        if (key == "quantity") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 1));
          return number(field, quantity.quantity);
        }
        if (key == "uom") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 2));
          return string(field, quantity.uom);
        }
        return extension(key, field, quantity.extensions);
      }));
      if (!has_class) return fail("missing \"epcClass\"");
      return Status::ok();
    });
  }

  Status location(od::value value, std::optional<Location>& out) {
    Location& place = out.emplace();
    bool has_id = false;
    CUSTOS_RETURN_IF_ERROR(object(value, [&](std::string_view key, od::value field) -> Status {
      if (key == "id") {
        if (has_id) return fail("repeated member");
        has_id = true;
        return string(field, place.id);
      }
      return extension(key, field, place.extensions);
    }));
    if (!has_id) return fail("missing \"id\"");
    return Status::ok();
  }

  Status biz_transactions(od::value value, std::optional<std::vector<BizTransaction>>& out) {
    std::vector<BizTransaction>& list = out.emplace();
    return array(value, [&](od::value member) {
      BizTransaction& transaction = list.emplace_back();
      uint64_t seen = 0;
      CUSTOS_RETURN_IF_ERROR(object(member, [&](std::string_view key, od::value field) -> Status {
        if (key == "type") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 0));
          return string(field, transaction.type);
        }
        if (key == "bizTransaction") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 1));
          return string(field, transaction.value);
        }
        return fail("not a member of a bizTransaction");
      }));
      if ((seen & 2) == 0) return fail("missing \"bizTransaction\"");
      return Status::ok();
    });
  }

  Status parties(od::value value, std::string_view name,
                 std::optional<std::vector<SourceDestination>>& out) {
    std::vector<SourceDestination>& list = out.emplace();
    return array(value, [&](od::value member) {
      SourceDestination& party = list.emplace_back();
      uint64_t seen = 0;
      CUSTOS_RETURN_IF_ERROR(object(member, [&](std::string_view key, od::value field) -> Status {
        if (key == "type") {
          CUSTOS_RETURN_IF_ERROR(once(seen, 0));
          return string(field, party.type);
        }
        if (key == name) {
          CUSTOS_RETURN_IF_ERROR(once(seen, 1));
          return string(field, party.value);
        }
        std::string detail = "not a member of a ";
        detail += name;
        return fail(detail);
      }));
      if ((seen & 1) == 0) return fail("missing \"type\"");
      if ((seen & 2) == 0) {
        std::string detail = "missing \"";
        detail += name;
        detail += '"';
        return fail(detail);
      }
      return Status::ok();
    });
  }

  Status persistent_disposition(od::value value, std::optional<PersistentDisposition>& out) {
    PersistentDisposition& disposition = out.emplace();
    return object(value, [&](std::string_view key, od::value field) -> Status {
      if (key == "set") {
        if (disposition.set) return fail("repeated member");
        return strings(field, disposition.set);
      }
      if (key == "unset") {
        if (disposition.unset) return fail("repeated member");
        return strings(field, disposition.unset);
      }
      return fail("not a member of persistentDisposition");
    });
  }

  Status certification_info(od::value value, std::optional<CertificationInfo>& out) {
    CertificationInfo& info = out.emplace();
    od::json_type type;
    if (auto code = value.type().get(type)) return fail(code);
    if (type == od::json_type::array) {
      info.is_list = true;
      return array(value,
                   [&](od::value member) { return string(member, info.uris.emplace_back()); });
    }
    if (type != od::json_type::string) return fail("expected a string or an array of strings");
    return string(value, info.uris.emplace_back());
  }

  Status error_declaration(od::value value, std::optional<ErrorDeclaration>& out) {
    ErrorDeclaration& declaration = out.emplace();
    uint64_t seen = 0;
    CUSTOS_RETURN_IF_ERROR(object(value, [&](std::string_view key, od::value field) -> Status {
      if (key == "declarationTime") {
        CUSTOS_RETURN_IF_ERROR(once(seen, 0));
        return timestamp(field, declaration.declaration_time);
      }
      if (key == "reason") {
        CUSTOS_RETURN_IF_ERROR(once(seen, 1));
        return string(field, declaration.reason);
      }
      if (key == "correctiveEventIDs") {
        CUSTOS_RETURN_IF_ERROR(once(seen, 2));
        return strings(field, declaration.corrective_event_ids);
      }
      return extension(key, field, declaration.extensions);
    }));
    if ((seen & 1) == 0) return fail("missing \"declarationTime\"");
    return Status::ok();
  }

  Status sensor_metadata(od::value value, std::optional<SensorMetadata>& out) {
    SensorMetadata& metadata = out.emplace();
    uint64_t seen = 0;
    return object(value, [&](std::string_view key, od::value field) -> Status {
      int index = find_key(kMetadataKeys, key);
      if (index < 0) return extension(key, field, metadata.extensions);
      CUSTOS_RETURN_IF_ERROR(once(seen, index));
      switch (static_cast<MetadataKey>(index)) {
        case kMdTime:
          return timestamp(field, metadata.time);
        case kMdStartTime:
          return timestamp(field, metadata.start_time);
        case kMdEndTime:
          return timestamp(field, metadata.end_time);
        case kMdDeviceId:
          return string(field, metadata.device_id);
        case kMdDeviceMetadata:
          return string(field, metadata.device_metadata);
        case kMdRawData:
          return string(field, metadata.raw_data);
        case kMdDataProcessingMethod:
          return string(field, metadata.data_processing_method);
        case kMdBizRules:
          return string(field, metadata.biz_rules);
        case kMetadataKeyCount:
          break;
      }
      return Status::ok();
    });
  }

  Status sensor_report(od::value value, SensorReport& report) {
    uint64_t seen = 0;
    return object(value, [&](std::string_view key, od::value field) -> Status {
      int index = find_key(kReportKeys, key);
      if (index < 0) return extension(key, field, report.extensions);
      CUSTOS_RETURN_IF_ERROR(once(seen, index));
      switch (static_cast<ReportKey>(index)) {
        case kRpType:
          return string(field, report.type);
        case kRpException:
          return string(field, report.exception);
        case kRpDeviceId:
          return string(field, report.device_id);
        case kRpDeviceMetadata:
          return string(field, report.device_metadata);
        case kRpRawData:
          return string(field, report.raw_data);
        case kRpDataProcessingMethod:
          return string(field, report.data_processing_method);
        case kRpBizRules:
          return string(field, report.biz_rules);
        case kRpTime:
          return timestamp(field, report.time);
        case kRpMicroorganism:
          return string(field, report.microorganism);
        case kRpChemicalSubstance:
          return string(field, report.chemical_substance);
        case kRpCoordinateReferenceSystem:
          return string(field, report.coordinate_reference_system);
        case kRpValue:
          return number(field, report.value);
        case kRpComponent:
          return string(field, report.component);
        case kRpStringValue:
          return string(field, report.string_value);
        case kRpBooleanValue:
          return boolean(field, report.boolean_value);
        case kRpHexBinaryValue:
          return string(field, report.hex_binary_value);
        case kRpUriValue:
          return string(field, report.uri_value);
        case kRpMinValue:
          return number(field, report.min_value);
        case kRpMaxValue:
          return number(field, report.max_value);
        case kRpMeanValue:
          return number(field, report.mean_value);
        case kRpSDev:
          return number(field, report.s_dev);
        case kRpPercRank:
          return number(field, report.perc_rank);
        case kRpPercValue:
          return number(field, report.perc_value);
        case kRpUom:
          return string(field, report.uom);
        case kReportKeyCount:
          break;
      }
      return Status::ok();
    });
  }

  Status sensor_elements(od::value value, std::optional<std::vector<SensorElement>>& out) {
    std::vector<SensorElement>& list = out.emplace();
    return array(value, [&](od::value member) {
      SensorElement& element = list.emplace_back();
      return object(member, [&](std::string_view key, od::value field) -> Status {
        if (key == "sensorMetadata") {
          if (element.metadata) return fail("repeated member");
          return sensor_metadata(field, element.metadata);
        }
        if (key == "sensorReport") {
          if (element.reports) return fail("repeated member");
          std::vector<SensorReport>& reports = element.reports.emplace();
          return array(field, [&](od::value report) {
            return sensor_report(report, reports.emplace_back());
          });
        }
        return extension(key, field, element.extensions);
      });
    });
  }

  Status ilmd(od::value value, std::optional<Extensions>& out) {
    Extensions& members = out.emplace();
    return object(value, [&](std::string_view key, od::value field) {
      return extension(key, field, members);
    });
  }

  // One event; `namespaces` receives the bindings of its own @context.
  Status event(od::value value, Event& event, std::vector<NamespaceBinding>& namespaces) {
    CUSTOS_RETURN_IF_ERROR(expect(value, od::json_type::object, "expected an object"));
    od::object fields;
    if (auto code = value.get_object().get(fields)) return fail(code);
    return event_object(fields, event, namespaces);
  }

  Status event_object(od::object& fields, Event& event, std::vector<NamespaceBinding>& namespaces) {
    uint64_t seen = 0;
    CUSTOS_RETURN_IF_ERROR(members(fields, [&](std::string_view key, od::value field) -> Status {
      int index = find_key(kEventMembers, key);
      if (index < 0) return extension(key, field, event.extensions);
      CUSTOS_RETURN_IF_ERROR(once(seen, index));
      switch (static_cast<EventMember>(index)) {
        case kType: {
          std::string_view name;
          CUSTOS_RETURN_IF_ERROR(expect(field, od::json_type::string, "expected a string"));
          if (auto code = field.get_string().get(name)) return fail(code);
          std::optional<EventType> type = event_type_from_name(name);
          if (!type) return fail("unknown event type");
          event.type = *type;
          return Status::ok();
        }
        case kEventTime:
          return timestamp(field, event.event_time);
        case kEventTimeZoneOffset: {
          CUSTOS_RETURN_IF_ERROR(string(field, event.event_time_zone_offset));
          const std::string& zone = event.event_time_zone_offset;
          auto digit = [&](size_t i) { return zone[i] >= '0' && zone[i] <= '9'; };
          if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':' ||
              !digit(1) || !digit(2) || !digit(4) || !digit(5)) {
            return fail("expected a time zone offset \"+hh:mm\" or \"-hh:mm\"");
          }
          return Status::ok();
        }
        case kRecordTime:
          return timestamp(field, event.record_time);
        case kEventId:
          return string(field, event.event_id);
        case kCertificationInfo:
          return certification_info(field, event.certification_info);
        case kErrorDeclaration:
          return error_declaration(field, event.error_declaration);
        case kEpcList:
          return strings(field, event.epc_list);
        case kQuantityList:
          return quantities(field, event.quantity_list);
        case kParentId:
          return string(field, event.parent_id);
        case kChildEpcs:
          return strings(field, event.child_epcs);
        case kChildQuantityList:
          return quantities(field, event.child_quantity_list);
        case kInputEpcList:
          return strings(field, event.input_epc_list);
        case kInputQuantityList:
          return quantities(field, event.input_quantity_list);
        case kOutputEpcList:
          return strings(field, event.output_epc_list);
        case kOutputQuantityList:
          return quantities(field, event.output_quantity_list);
        case kTransformationId:
          return string(field, event.transformation_id);
        case kAction: {
          std::string_view name;
          CUSTOS_RETURN_IF_ERROR(expect(field, od::json_type::string, "expected a string"));
          if (auto code = field.get_string().get(name)) return fail(code);
          event.action = action_from_name(name);
          if (!event.action) return fail("expected \"ADD\", \"OBSERVE\" or \"DELETE\"");
          return Status::ok();
        }
        case kBizStep:
          return string(field, event.biz_step);
        case kDisposition:
          return string(field, event.disposition);
        case kPersistentDisposition:
          return persistent_disposition(field, event.persistent_disposition);
        case kReadPoint:
          return location(field, event.read_point);
        case kBizLocation:
          return location(field, event.biz_location);
        case kBizTransactionList:
          return biz_transactions(field, event.biz_transaction_list);
        case kSourceList:
          return parties(field, "source", event.source_list);
        case kDestinationList:
          return parties(field, "destination", event.destination_list);
        case kSensorElementList:
          return sensor_elements(field, event.sensor_element_list);
        case kIlmd:
          return ilmd(field, event.ilmd);
        case kContext:
          return context(field, event.context_json.emplace(), namespaces);
        case kEventMemberCount:
          break;
      }
      return Status::ok();
    }));
    auto missing = [&](int index) {
      std::string detail = "missing \"";
      detail += kEventMembers[static_cast<size_t>(index)];
      detail += '"';
      return fail(detail);
    };
    for (int required : {kType, kEventTime, kEventTimeZoneOffset}) {
      if ((seen & (uint64_t{1} << required)) == 0) return missing(required);
    }
    if (event.type != EventType::kTransformationEvent && !event.action) return missing(kAction);
    return Status::ok();
  }

  // An eventList; events with their own @context are noted in `contexts`.
  Status event_list(od::value value, std::vector<Event>& events,
                    std::vector<std::pair<size_t, std::vector<NamespaceBinding>>>& contexts) {
    return array(value, [&](od::value member) {
      Event& event = events.emplace_back();
      std::vector<NamespaceBinding> own;
      CUSTOS_RETURN_IF_ERROR(this->event(member, event, own));
      if (event.context_json) contexts.emplace_back(events.size() - 1, std::move(own));
      return Status::ok();
    });
  }

  struct PathToken {
    std::string_view key;
    size_t index;
    bool is_index;
  };
  std::vector<PathToken> path_;

 private:
  simdjson::dom::parser& context_parser_;
  DecodeError* error_;
  od::document* document_ = nullptr;
};

// ---- namespace resolution ----

class Resolver {
 public:
  // Bindings searched in order: own (event @context), then document, then standard.
  Resolver(const std::vector<NamespaceBinding>* own, const std::vector<NamespaceBinding>& document)
      : own_(own), document_(document) {}

  void resolve(Extensions& extensions) const {
    for (Extension& extension : extensions) {
      size_t colon = extension.key.find(':');
      if (colon == std::string::npos) continue;
      std::string_view prefix(extension.key.data(), colon);
      if (const std::string* iri = find(prefix)) extension.namespace_iri = *iri;
    }
  }

  void resolve(Event& event) const {
    resolve(event.extensions);
    if (event.read_point) resolve(event.read_point->extensions);
    if (event.biz_location) resolve(event.biz_location->extensions);
    if (event.error_declaration) resolve(event.error_declaration->extensions);
    if (event.ilmd) resolve(*event.ilmd);
    for (auto* list : {&event.quantity_list, &event.child_quantity_list, &event.input_quantity_list,
                       &event.output_quantity_list}) {
      if (!*list) continue;
      for (QuantityElement& quantity : **list) resolve(quantity.extensions);
    }
    if (event.sensor_element_list) {
      for (SensorElement& element : *event.sensor_element_list) {
        resolve(element.extensions);
        if (element.metadata) resolve(element.metadata->extensions);
        if (element.reports) {
          for (SensorReport& report : *element.reports) resolve(report.extensions);
        }
      }
    }
  }

 private:
  static const std::string* find_in(const std::vector<NamespaceBinding>& bindings,
                                    std::string_view prefix) {
    // The last binding of a prefix wins, as later @context entries override
    // earlier ones.
    for (auto it = bindings.rbegin(); it != bindings.rend(); ++it) {
      if (it->prefix == prefix) return &it->iri;
    }
    return nullptr;
  }

  const std::string* find(std::string_view prefix) const {
    if (own_ != nullptr) {
      if (const std::string* iri = find_in(*own_, prefix)) return iri;
    }
    if (const std::string* iri = find_in(document_, prefix)) return iri;
    return find_in(standard_namespaces(), prefix);
  }

  const std::vector<NamespaceBinding>* own_;
  const std::vector<NamespaceBinding>& document_;
};

void resolve_events(std::vector<Event>& events, const std::vector<NamespaceBinding>& document,
                    const std::vector<std::pair<size_t, std::vector<NamespaceBinding>>>& contexts) {
  size_t next_context = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const std::vector<NamespaceBinding>* own = nullptr;
    if (next_context < contexts.size() && contexts[next_context].first == i) {
      own = &contexts[next_context++].second;
    }
    Resolver(own, document).resolve(events[i]);
  }
}

}  // namespace

struct JsonCodec::Parsers {
  od::parser walker;
  simdjson::dom::parser context_parser;  // reads the prefixes of @context values
  std::string buffer;                    // the input plus simdjson's padding, reused between calls

  // The input copied into the padded buffer.
  std::string_view pad(std::string_view json) {
    buffer.resize(json.size() + simdjson::SIMDJSON_PADDING);
    if (!json.empty()) std::memcpy(buffer.data(), json.data(), json.size());
    std::memset(buffer.data() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    return std::string_view(buffer.data(), json.size());
  }
};

JsonCodec::JsonCodec() : parsers_(std::make_unique<Parsers>()) {}
JsonCodec::~JsonCodec() = default;
JsonCodec::JsonCodec(JsonCodec&&) noexcept = default;
JsonCodec& JsonCodec::operator=(JsonCodec&&) noexcept = default;

namespace {

// Starts the On-Demand walk of `json` (padded) and hands the root object to
// `read`; checks that nothing follows it.
template <typename Read>
Status walk_root(od::parser& parser, std::string_view json, size_t capacity, Walker& walker,
                 Read&& read) {
  od::document document;
  if (auto code = parser.iterate(json.data(), json.size(), capacity).get(document)) {
    return walker.fail(code);
  }
  walker.set_document(&document);
  od::json_type type;
  if (auto code = document.type().get(type)) return walker.fail(code);
  if (type != od::json_type::object) return walker.fail("expected an object");
  od::object root;
  if (auto code = document.get_object().get(root)) return walker.fail(code);
  CUSTOS_RETURN_IF_ERROR(read(root));
  // In bounds after the root object means more text follows it.
  const char* rest = nullptr;
  if (document.current_location().get(rest) == simdjson::SUCCESS) {
    return walker.fail("unexpected text after the JSON value");
  }
  return Status::ok();
}

}  // namespace

Result<Document> JsonCodec::decode_document(std::string_view json, DecodeError* error) {
  std::string_view padded = parsers_->pad(json);
  Walker walker(parsers_->context_parser, error);
  Document document;
  std::vector<std::pair<size_t, std::vector<NamespaceBinding>>> event_contexts;
  uint64_t seen = 0;
  bool has_type = false, has_body = false, body_event_list = false, has_query_results = false;

  auto read_results_body = [&](od::value value) {
    document.has_event_list = false;
    return walker.object(value, [&](std::string_view key, od::value field) -> Status {
      if (key == "eventList") {
        if (document.has_event_list) return walker.fail("repeated member");
        document.has_event_list = true;
        return walker.event_list(field, document.events, event_contexts);
      }
      return walker.extension(key, field, document.results_body_members);
    });
  };
  auto read_query_results = [&](od::value value) {
    uint64_t query_seen = 0;
    bool has_results_body = false;
    CUSTOS_RETURN_IF_ERROR(
        walker.object(value, [&](std::string_view key, od::value field) -> Status {
          if (key == "subscriptionID") {
            CUSTOS_RETURN_IF_ERROR(walker.once(query_seen, 0));
            return walker.string(field, document.subscription_id);
          }
          if (key == "queryName") {
            CUSTOS_RETURN_IF_ERROR(walker.once(query_seen, 1));
            return walker.string(field, document.query_name);
          }
          if (key == "resultsBody") {
            CUSTOS_RETURN_IF_ERROR(walker.once(query_seen, 2));
            has_results_body = true;
            return read_results_body(field);
          }
          return walker.extension(key, field, document.query_results_members);
        }));
    if (!has_results_body) return walker.fail("missing \"resultsBody\"");
    return Status::ok();
  };
  auto read_body = [&](od::value value) {
    return walker.object(value, [&](std::string_view key, od::value field) -> Status {
      if (key == "eventList") {
        if (body_event_list || has_query_results) return walker.fail("repeated member");
        body_event_list = true;
        return walker.event_list(field, document.events, event_contexts);
      }
      if (key == "queryResults") {
        if (body_event_list || has_query_results) {
          return walker.fail("an epcisBody holds one eventList or one queryResults");
        }
        has_query_results = true;
        return read_query_results(field);
      }
      return walker.extension(key, field, document.body_members);
    });
  };

  Status status =
      walk_root(parsers_->walker, padded, parsers_->buffer.size(), walker, [&](od::object& root) {
        return walker.members(root, [&](std::string_view key, od::value field) -> Status {
          if (key == "@context") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 0));
            return walker.context(field, document.context_json, document.namespaces);
          }
          if (key == "type") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 1));
            std::string_view name;
            CUSTOS_RETURN_IF_ERROR(
                walker.expect(field, od::json_type::string, "expected a string"));
            if (auto code = field.get_string().get(name)) return walker.fail(code);
            if (name == "EPCISDocument") {
              document.type = DocumentType::kEpcisDocument;
            } else if (name == "EPCISQueryDocument") {
              document.type = DocumentType::kEpcisQueryDocument;
            } else {
              return walker.fail("expected \"EPCISDocument\" or \"EPCISQueryDocument\"");
            }
            has_type = true;
            return Status::ok();
          }
          if (key == "id") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 2));
            return walker.string(field, document.id);
          }
          if (key == "schemaVersion") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 3));
            return walker.string(field, document.schema_version);
          }
          if (key == "creationDate") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 4));
            return walker.timestamp(field, document.creation_date);
          }
          if (key == "epcisHeader") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 5));
            return walker.raw(field, document.epcis_header_json.emplace());
          }
          if (key == "epcisBody") {
            CUSTOS_RETURN_IF_ERROR(walker.once(seen, 6));
            has_body = true;
            return read_body(field);
          }
          return walker.extension(key, field, document.members);
        });
      });
  if (!status.is_ok()) return status;
  if (!has_type) return walker.fail("missing \"type\"");
  if (!has_body) return walker.fail("missing \"epcisBody\"");
  if (document.type == DocumentType::kEpcisDocument && !body_event_list) {
    Walker::Scope scope(walker, "epcisBody");
    return walker.fail("missing \"eventList\"");
  }
  if (document.type == DocumentType::kEpcisQueryDocument && !has_query_results) {
    Walker::Scope scope(walker, "epcisBody");
    return walker.fail("missing \"queryResults\"");
  }
  if (document.type == DocumentType::kEpcisDocument) document.has_event_list = true;
  Resolver document_resolver(nullptr, document.namespaces);
  for (Extensions* members : {&document.members, &document.body_members,
                              &document.query_results_members, &document.results_body_members}) {
    document_resolver.resolve(*members);
  }
  resolve_events(document.events, document.namespaces, event_contexts);
  return document;
}

Result<Event> JsonCodec::decode_event(std::string_view json, DecodeError* error) {
  std::string_view padded = parsers_->pad(json);
  Walker walker(parsers_->context_parser, error);
  Event event;
  std::vector<NamespaceBinding> own;
  Status status =
      walk_root(parsers_->walker, padded, parsers_->buffer.size(), walker,
                [&](od::object& root) { return walker.event_object(root, event, own); });
  if (!status.is_ok()) return status;
  const std::vector<NamespaceBinding> no_document_namespaces;
  Resolver(&own, no_document_namespaces).resolve(event);
  return event;
}

Result<Document> decode_document(std::string_view json, DecodeError* error) {
  return JsonCodec().decode_document(json, error);
}

Result<Event> decode_event(std::string_view json, DecodeError* error) {
  return JsonCodec().decode_event(json, error);
}

}  // namespace custos::epcis
