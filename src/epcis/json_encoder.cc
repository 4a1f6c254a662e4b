// EPCIS 2.0 JSON-LD encoding (see custos/epcis/json_codec.h).
#include <charconv>
#include <cmath>

#include "custos/core/json_writer.h"
#include "custos/epcis/json_codec.h"

namespace custos::epcis {
namespace {

// A compact JSON writer appending to a caller's buffer.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  void begin_object() {
    separator();
    out_ += '{';
    need_comma_ = false;
  }
  void end_object() {
    out_ += '}';
    need_comma_ = true;
  }
  void begin_array() {
    separator();
    out_ += '[';
    need_comma_ = false;
  }
  void end_array() {
    out_ += ']';
    need_comma_ = true;
  }
  void key(std::string_view name) {
    separator();
    append_json_string(out_, name);
    out_ += ':';
    need_comma_ = false;
  }
  void string(std::string_view value) {
    separator();
    append_json_string(out_, value);
  }
  void raw(std::string_view json) {
    separator();
    out_ += json;
  }

  // Member helpers.
  void member(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void member(std::string_view name, const std::string& value) {
    member(name, std::string_view(value));
  }
  void member(std::string_view name, const std::optional<std::string>& value) {
    if (value) member(name, *value);
  }
  // A Timestamp built in code may carry only its instant.
  void member(std::string_view name, const Timestamp& value) {
    if (value.text.empty()) {
      member(name, timestamp_from_utc_micros(value.utc_micros).text);
    } else {
      member(name, value.text);
    }
  }
  void member(std::string_view name, const std::optional<Timestamp>& value) {
    if (value) member(name, *value);
  }
  // A JsonNumber built in code may carry only its value.
  void member(std::string_view name, const std::optional<JsonNumber>& value) {
    if (!value) return;
    key(name);
    if (value->text.empty()) {
      char buffer[32];
      auto written = std::to_chars(buffer, buffer + sizeof buffer, value->value);
      bool finite = std::isfinite(value->value) && written.ec == std::errc();
      raw(finite ? std::string_view(buffer, static_cast<size_t>(written.ptr - buffer)) : "null");
    } else {
      raw(value->text);
    }
  }
  void member(std::string_view name, const std::optional<bool>& value) {
    if (!value) return;
    key(name);
    raw(*value ? "true" : "false");
  }
  void member(std::string_view name, const std::optional<std::vector<std::string>>& values) {
    if (!values) return;
    key(name);
    strings(*values);
  }
  void strings(const std::vector<std::string>& values) {
    begin_array();
    for (const std::string& value : values) string(value);
    end_array();
  }
  void extensions(const Extensions& members) {
    for (const Extension& extension : members) {
      key(extension.key);
      raw(extension.json.empty() ? std::string_view("null") : std::string_view(extension.json));
    }
  }

 private:
  void separator() {
    if (need_comma_) out_ += ',';
    need_comma_ = true;
  }

  std::string& out_;
  bool need_comma_ = false;
};

void write_quantities(Writer& w, std::string_view name,
                      const std::optional<std::vector<QuantityElement>>& list) {
  if (!list) return;
  w.key(name);
  w.begin_array();
  for (const QuantityElement& quantity : *list) {
    w.begin_object();
    w.member("epcClass", quantity.epc_class);
    w.member("quantity", quantity.quantity);
    w.member("uom", quantity.uom);
    w.extensions(quantity.extensions);
    w.end_object();
  }
  w.end_array();
}

void write_location(Writer& w, std::string_view name, const std::optional<Location>& place) {
  if (!place) return;
  w.key(name);
  w.begin_object();
  w.member("id", place->id);
  w.extensions(place->extensions);
  w.end_object();
}

void write_parties(Writer& w, std::string_view name, std::string_view member,
                   const std::optional<std::vector<SourceDestination>>& list) {
  if (!list) return;
  w.key(name);
  w.begin_array();
  for (const SourceDestination& party : *list) {
    w.begin_object();
    w.member("type", party.type);
    w.member(member, party.value);
    w.end_object();
  }
  w.end_array();
}

void write_sensor_elements(Writer& w, const std::vector<SensorElement>& elements) {
  w.key("sensorElementList");
  w.begin_array();
  for (const SensorElement& element : elements) {
    w.begin_object();
    if (element.metadata) {
      const SensorMetadata& m = *element.metadata;
      w.key("sensorMetadata");
      w.begin_object();
      w.member("time", m.time);
      w.member("startTime", m.start_time);
      w.member("endTime", m.end_time);
      w.member("deviceID", m.device_id);
      w.member("deviceMetadata", m.device_metadata);
      w.member("rawData", m.raw_data);
      w.member("dataProcessingMethod", m.data_processing_method);
      w.member("bizRules", m.biz_rules);
      w.extensions(m.extensions);
      w.end_object();
    }
    if (element.reports) {
      w.key("sensorReport");
      w.begin_array();
      for (const SensorReport& r : *element.reports) {
        w.begin_object();
        w.member("type", r.type);
        w.member("exception", r.exception);
        w.member("deviceID", r.device_id);
        w.member("deviceMetadata", r.device_metadata);
        w.member("rawData", r.raw_data);
        w.member("dataProcessingMethod", r.data_processing_method);
        w.member("bizRules", r.biz_rules);
        w.member("time", r.time);
        w.member("microorganism", r.microorganism);
        w.member("chemicalSubstance", r.chemical_substance);
        w.member("coordinateReferenceSystem", r.coordinate_reference_system);
        w.member("value", r.value);
        w.member("component", r.component);
        w.member("stringValue", r.string_value);
        w.member("booleanValue", r.boolean_value);
        w.member("hexBinaryValue", r.hex_binary_value);
        w.member("uriValue", r.uri_value);
        w.member("minValue", r.min_value);
        w.member("maxValue", r.max_value);
        w.member("meanValue", r.mean_value);
        w.member("sDev", r.s_dev);
        w.member("percRank", r.perc_rank);
        w.member("percValue", r.perc_value);
        w.member("uom", r.uom);
        w.extensions(r.extensions);
        w.end_object();
      }
      w.end_array();
    }
    w.extensions(element.extensions);
    w.end_object();
  }
  w.end_array();
}

void write_event(Writer& w, const Event& e) {
  w.begin_object();
  if (e.context_json) {
    w.key("@context");
    w.raw(*e.context_json);
  }
  w.member("type", event_type_name(e.type));
  w.member("eventID", e.event_id);
  w.member("eventTime", e.event_time);
  w.member("eventTimeZoneOffset", e.event_time_zone_offset);
  w.member("recordTime", e.record_time);
  if (e.certification_info) {
    w.key("certificationInfo");
    if (e.certification_info->is_list) {
      w.strings(e.certification_info->uris);
    } else {
      w.string(e.certification_info->uris.empty() ? std::string_view()
                                                  : e.certification_info->uris.front());
    }
  }
  if (e.error_declaration) {
    const ErrorDeclaration& d = *e.error_declaration;
    w.key("errorDeclaration");
    w.begin_object();
    w.member("declarationTime", d.declaration_time);
    w.member("reason", d.reason);
    w.member("correctiveEventIDs", d.corrective_event_ids);
    w.extensions(d.extensions);
    w.end_object();
  }
  w.member("parentID", e.parent_id);
  w.member("epcList", e.epc_list);
  w.member("childEPCs", e.child_epcs);
  w.member("inputEPCList", e.input_epc_list);
  w.member("outputEPCList", e.output_epc_list);
  write_quantities(w, "quantityList", e.quantity_list);
  write_quantities(w, "childQuantityList", e.child_quantity_list);
  write_quantities(w, "inputQuantityList", e.input_quantity_list);
  write_quantities(w, "outputQuantityList", e.output_quantity_list);
  w.member("transformationID", e.transformation_id);
  if (e.action) w.member("action", action_name(*e.action));
  w.member("bizStep", e.biz_step);
  w.member("disposition", e.disposition);
  if (e.persistent_disposition) {
    w.key("persistentDisposition");
    w.begin_object();
    w.member("set", e.persistent_disposition->set);
    w.member("unset", e.persistent_disposition->unset);
    w.end_object();
  }
  write_location(w, "readPoint", e.read_point);
  write_location(w, "bizLocation", e.biz_location);
  if (e.biz_transaction_list) {
    w.key("bizTransactionList");
    w.begin_array();
    for (const BizTransaction& transaction : *e.biz_transaction_list) {
      w.begin_object();
      w.member("type", transaction.type);
      w.member("bizTransaction", transaction.value);
      w.end_object();
    }
    w.end_array();
  }
  write_parties(w, "sourceList", "source", e.source_list);
  write_parties(w, "destinationList", "destination", e.destination_list);
  if (e.sensor_element_list) write_sensor_elements(w, *e.sensor_element_list);
  if (e.ilmd) {
    w.key("ilmd");
    w.begin_object();
    w.extensions(*e.ilmd);
    w.end_object();
  }
  w.extensions(e.extensions);
  w.end_object();
}

void write_event_list(Writer& w, const std::vector<Event>& events) {
  w.key("eventList");
  w.begin_array();
  for (const Event& event : events) write_event(w, event);
  w.end_array();
}

}  // namespace

void append_event_json(std::string& out, const Event& event) {
  Writer w(out);
  write_event(w, event);
}

std::string encode_event(const Event& event) {
  std::string out;
  append_event_json(out, event);
  return out;
}

std::string encode_document(const Document& d) {
  std::string out;
  Writer w(out);
  w.begin_object();
  if (!d.context_json.empty()) {
    w.key("@context");
    w.raw(d.context_json);
  }
  w.member("type", document_type_name(d.type));
  w.member("id", d.id);
  w.member("schemaVersion", d.schema_version);
  w.member("creationDate", d.creation_date);
  w.extensions(d.members);
  if (d.epcis_header_json) {
    w.key("epcisHeader");
    w.raw(*d.epcis_header_json);
  }
  w.key("epcisBody");
  w.begin_object();
  if (d.type == DocumentType::kEpcisDocument) {
    write_event_list(w, d.events);
  } else {
    w.key("queryResults");
    w.begin_object();
    w.member("subscriptionID", d.subscription_id);
    w.member("queryName", d.query_name);
    w.extensions(d.query_results_members);
    w.key("resultsBody");
    w.begin_object();
    if (d.has_event_list) write_event_list(w, d.events);
    w.extensions(d.results_body_members);
    w.end_object();
    w.end_object();
  }
  w.extensions(d.body_members);
  w.end_object();
  w.end_object();
  return out;
}

}  // namespace custos::epcis
