// The EPCIS 2.0 JSON / JSON-LD codec:
//  - round trip of every GS1 example (tests/data/epcis/JSON/**) and every
//    event hash test input (tests/data/epcis/hash/*.jsonld): decode, encode,
//    compare with the original as JSON values (objects order-insensitive,
//    arrays in order), and decode(encode(x)) == x;
//  - event counts and fields per event type checked against the files;
//  - bad input: each error class names the right JSON pointer, hostile input
//    (deep nesting, huge arrays, invalid UTF-8, truncation, byte flips) gives
//    an error and never a crash;
//  - extensions keep their raw JSON and their namespace IRI.
#include "custos/epcis/json_codec.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "custos/epcis/event_hash.h"
#include "support/test_files.h"

namespace custos::epcis {
namespace {

namespace fs = std::filesystem;

const fs::path kDataDir = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis";

using test_support::read_text;

// Every JSON / JSON-LD document of the corpus, sorted.
std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(kDataDir / "JSON")) {
    std::string extension = entry.path().extension().string();
    if (entry.is_regular_file() && (extension == ".json" || extension == ".jsonld")) {
      files.push_back(entry.path());
    }
  }
  for (const auto& entry : fs::directory_iterator(kDataDir / "hash")) {
    if (entry.path().extension() == ".jsonld") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

void append_token(std::string& pointer, std::string_view key) {
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

// The JSON pointer of the first difference between two JSON values, with a
// description, or nullopt when they are equal. Objects are compared without
// regard to member order, arrays in order, numbers by type and value.
std::optional<std::string> first_difference(simdjson::dom::element a, simdjson::dom::element b,
                                            const std::string& pointer) {
  using simdjson::dom::element_type;
  if (a.type() != b.type()) {
    return pointer + ": type differs (" + simdjson::to_string(a).substr(0, 80) + " vs " +
           simdjson::to_string(b).substr(0, 80) + ")";
  }
  switch (a.type()) {
    case element_type::OBJECT: {
      simdjson::dom::object oa = a.get_object().value_unsafe();
      simdjson::dom::object ob = b.get_object().value_unsafe();
      if (oa.size() != ob.size()) {
        // Name a member present on one side only.
        for (auto [key, value] : oa) {
          simdjson::dom::element other;
          if (ob.at_key(key).get(other) != simdjson::SUCCESS) {
            std::string at = pointer;
            append_token(at, key);
            return at + ": missing after the round trip";
          }
        }
        for (auto [key, value] : ob) {
          simdjson::dom::element other;
          if (oa.at_key(key).get(other) != simdjson::SUCCESS) {
            std::string at = pointer;
            append_token(at, key);
            return at + ": added by the round trip";
          }
        }
        return pointer + ": member count differs";
      }
      for (auto [key, value] : oa) {
        std::string at = pointer;
        append_token(at, key);
        simdjson::dom::element other;
        if (ob.at_key(key).get(other) != simdjson::SUCCESS) {
          return at + ": missing after the round trip";
        }
        if (auto difference = first_difference(value, other, at)) return difference;
      }
      return std::nullopt;
    }
    case element_type::ARRAY: {
      simdjson::dom::array xa = a.get_array().value_unsafe();
      simdjson::dom::array xb = b.get_array().value_unsafe();
      if (xa.size() != xb.size()) return pointer + ": array length differs";
      auto ib = xb.begin();
      size_t index = 0;
      for (simdjson::dom::element member : xa) {
        if (auto difference =
                first_difference(member, *ib, pointer + "/" + std::to_string(index))) {
          return difference;
        }
        ++ib;
        ++index;
      }
      return std::nullopt;
    }
    default:
      if (simdjson::to_string(a) != simdjson::to_string(b)) {
        return pointer + ": " + simdjson::to_string(a) + " vs " + simdjson::to_string(b);
      }
      return std::nullopt;
  }
}

// nullopt when both texts are the same JSON value; else where they differ.
std::optional<std::string> json_difference(const std::string& expected, const std::string& actual) {
  simdjson::dom::parser pa, pb;
  simdjson::dom::element a, b;
  if (pa.parse(expected).get(a) != simdjson::SUCCESS) return "expected text is not JSON";
  if (pb.parse(actual).get(b) != simdjson::SUCCESS) return "encoded text is not JSON";
  return first_difference(a, b, "");
}

// Corpus files the codec refuses, with the message it gives. GS1's
// AssociationEvent-h.jsonld names "eventID" twice in one event; JSON leaves
// the meaning of that open, so custos refuses it rather than guess.
const std::map<std::string, std::string> kRefusedCorpusFiles = {
    {"AssociationEvent-h.jsonld", "/epcisBody/eventList/0/eventID: repeated member"},
};

bool refused_corpus_file(const fs::path& file) {
  return kRefusedCorpusFiles.contains(file.filename().string());
}

TEST(JsonCodecTest, CorpusRoundTrip) {
  std::vector<fs::path> files = corpus_files();
  ASSERT_GE(files.size(), 60u);
  JsonCodec codec;
  size_t events = 0, documents = 0, refused = 0;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    std::string text = read_text(file);
    DecodeError error;
    Result<Document> document = codec.decode_document(text, &error);
    if (refused_corpus_file(file)) {
      ASSERT_FALSE(document.is_ok());
      EXPECT_EQ(document.status().message(), kRefusedCorpusFiles.at(file.filename().string()));
      ++refused;
      continue;
    }
    ASSERT_TRUE(document.is_ok()) << file << ": " << document.status().to_string();
    std::string encoded = encode_document(*document);
    std::optional<std::string> difference = json_difference(text, encoded);
    EXPECT_FALSE(difference.has_value()) << file << ": " << *difference;
    Result<Document> again = codec.decode_document(encoded);
    ASSERT_TRUE(again.is_ok()) << file << ": " << again.status().to_string();
    EXPECT_TRUE(*again == *document) << file << ": decode(encode(x)) != x";
    // Events alone round-trip too.
    for (const Event& event : document->events) {
      std::string event_json = encode_event(event);
      Result<Event> event_again = codec.decode_event(event_json);
      ASSERT_TRUE(event_again.is_ok()) << file << ": " << event_again.status().to_string();
      // Outside the document, prefixes of the document's @context are unknown,
      // so compare everything but the resolved namespaces.
      EXPECT_EQ(encode_event(*event_again), event_json) << file;
    }
    events += document->events.size();
    ++documents;
  }
  std::cout << "[ round trip ] " << documents << " of " << files.size() << " documents, " << events
            << " events; " << refused << " refused as expected\n";
  EXPECT_EQ(documents + refused, files.size());
  EXPECT_EQ(refused, kRefusedCorpusFiles.size());
  EXPECT_EQ(events, 90u);
}

// The round trip keeps what the CBV 2.0 event hash is taken over: every
// event of every corpus document hashes the same before and after.
TEST(JsonCodecTest, RoundTripKeepsEventHashes) {
  size_t compared = 0;
  for (const fs::path& file : corpus_files()) {
    if (refused_corpus_file(file)) continue;
    SCOPED_TRACE(file.string());
    std::string text = read_text(file);
    Result<std::vector<std::string>> before = document_event_hashes(text);
    if (!before.is_ok()) continue;  // a document the hash module does not take
    Result<Document> document = decode_document(text);
    ASSERT_TRUE(document.is_ok());
    Result<std::vector<std::string>> after = document_event_hashes(encode_document(*document));
    ASSERT_TRUE(after.is_ok()) << after.status().to_string();
    EXPECT_EQ(*after, *before);
    compared += before->size();
  }
  EXPECT_GE(compared, 80u);
}

// Counts of events per type in each file equal what a plain JSON parser sees.
TEST(JsonCodecTest, CorpusEventTypesMatchFiles) {
  for (const fs::path& file : corpus_files()) {
    if (refused_corpus_file(file)) continue;
    SCOPED_TRACE(file.string());
    std::string text = read_text(file);
    Result<Document> document = decode_document(text);
    ASSERT_TRUE(document.is_ok()) << document.status().to_string();
    simdjson::dom::parser parser;
    simdjson::dom::element root = parser.parse(text).value();
    simdjson::dom::array list;
    if (root.at_pointer("/epcisBody/eventList").get(list) != simdjson::SUCCESS) {
      ASSERT_EQ(root.at_pointer("/epcisBody/queryResults/resultsBody/eventList").get(list),
                simdjson::SUCCESS);
      EXPECT_EQ(document->type, DocumentType::kEpcisQueryDocument);
    } else {
      EXPECT_EQ(document->type, DocumentType::kEpcisDocument);
    }
    ASSERT_EQ(document->events.size(), list.size());
    size_t index = 0;
    for (simdjson::dom::element event : list) {
      std::string_view type = event["type"].get_string().value();
      EXPECT_EQ(event_type_name(document->events[index].type), type);
      std::string_view time = event["eventTime"].get_string().value();
      EXPECT_EQ(document->events[index].event_time.text, time);
      ++index;
    }
  }
}

Document decode_file(const std::string& relative) {
  Result<Document> document = decode_document(read_text(kDataDir / relative));
  EXPECT_TRUE(document.is_ok()) << relative << ": " << document.status().to_string();
  return document.is_ok() ? std::move(document).value() : Document{};
}

TEST(JsonCodecTest, ObjectEventFields) {
  Document document = decode_file("JSON/Example_9.6.1-ObjectEvent.jsonld");
  ASSERT_EQ(document.events.size(), 2u);
  const Event& e = document.events[0];
  EXPECT_EQ(e.type, EventType::kObjectEvent);
  EXPECT_EQ(e.action, Action::kObserve);
  EXPECT_EQ(e.biz_step, "shipping");
  EXPECT_EQ(e.disposition, "in_transit");
  ASSERT_TRUE(e.epc_list.has_value());
  EXPECT_EQ(*e.epc_list, (std::vector<std::string>{"urn:epc:id:sgtin:0614141.107346.2017",
                                                   "urn:epc:id:sgtin:0614141.107346.2018"}));
  EXPECT_EQ(e.event_time.text, "2005-04-03T20:33:31.116000-06:00");
  // 2005-04-04T02:33:31.116Z
  EXPECT_EQ(e.event_time.utc_micros, 1112582011116000);
  EXPECT_EQ(e.event_time_zone_offset, "-06:00");
  ASSERT_TRUE(e.read_point.has_value());
  EXPECT_EQ(e.read_point->id, "urn:epc:id:sgln:0614141.07346.1234");
  EXPECT_FALSE(e.biz_location.has_value());
  ASSERT_TRUE(e.biz_transaction_list.has_value());
  ASSERT_EQ(e.biz_transaction_list->size(), 1u);
  EXPECT_EQ((*e.biz_transaction_list)[0].type, "po");
  EXPECT_EQ((*e.biz_transaction_list)[0].value, "http://transaction.acme.com/po/12345678");
  EXPECT_EQ(document.schema_version, "2.0");
  ASSERT_TRUE(document.creation_date.has_value());
}

TEST(JsonCodecTest, AggregationEventFields) {
  Document document = decode_file("JSON/Example_9.6.3-AggregationEvent.jsonld");
  ASSERT_EQ(document.events.size(), 1u);
  const Event& e = document.events[0];
  EXPECT_EQ(e.type, EventType::kAggregationEvent);
  EXPECT_EQ(e.parent_id, "urn:epc:id:sscc:0614141.1234567890");
  ASSERT_TRUE(e.child_epcs.has_value());
  EXPECT_EQ(e.child_epcs->size(), 2u);
  ASSERT_TRUE(e.child_quantity_list.has_value());
  ASSERT_EQ(e.child_quantity_list->size(), 2u);
  const QuantityElement& q = (*e.child_quantity_list)[1];
  EXPECT_EQ(q.epc_class, "urn:epc:class:lgtin:4012345.012345.998877");
  ASSERT_TRUE(q.quantity.has_value());
  EXPECT_EQ(q.quantity->text, "200.5");
  EXPECT_DOUBLE_EQ(q.quantity->value, 200.5);
  EXPECT_EQ(q.uom, "KGM");
  EXPECT_FALSE((*e.child_quantity_list)[0].uom.has_value());
  ASSERT_EQ(e.extensions.size(), 1u);
  EXPECT_EQ(e.extensions[0].key, "example:myField");
  EXPECT_EQ(e.extensions[0].namespace_iri, "http://ns.example.com/epcis/");
  EXPECT_EQ(e.extensions[0].json, "\"Example of a vendor/user extension\"");
}

TEST(JsonCodecTest, TransformationEventFields) {
  Document document = decode_file("JSON/Example_9.6.4-TransformationEvent.jsonld");
  ASSERT_EQ(document.events.size(), 1u);
  const Event& e = document.events[0];
  EXPECT_EQ(e.type, EventType::kTransformationEvent);
  EXPECT_FALSE(e.action.has_value());
  ASSERT_TRUE(e.input_epc_list && e.input_quantity_list && e.output_epc_list);
  EXPECT_EQ(e.input_epc_list->size(), 2u);
  EXPECT_EQ(e.input_quantity_list->size(), 3u);
  EXPECT_EQ(e.output_epc_list->size(), 4u);
  EXPECT_EQ((*e.input_quantity_list)[2].epc_class, "urn:epc:idpat:sgtin:4012345.066666.*");
  ASSERT_TRUE(e.ilmd.has_value());
  ASSERT_FALSE(e.ilmd->empty());
  EXPECT_EQ((*e.ilmd)[0].key, "example:bestBeforeDate");
  EXPECT_EQ((*e.ilmd)[0].namespace_iri, "http://ns.example.com/epcis/");
}

TEST(JsonCodecTest, TransactionEventFields) {
  Document document = decode_file("JSON/Example-TransactionEvents-2020_07_03y.jsonld");
  ASSERT_EQ(document.events.size(), 2u);
  const Event& e = document.events[0];
  EXPECT_EQ(e.type, EventType::kTransactionEvent);
  EXPECT_EQ(e.action, Action::kAdd);
  ASSERT_TRUE(e.biz_transaction_list.has_value());
  EXPECT_FALSE((*e.biz_transaction_list)[0].type.has_value());
  EXPECT_EQ((*e.biz_transaction_list)[0].value, "urn:epc:id:gdti:95252084.0001.0003555480001000");
  EXPECT_EQ(e.biz_step, "http://epcis.example.org/hc/bizstep/summarising_discharge");
  // The rail: prefix of this document's @context.
  bool found_rail = false;
  for (const Event& event : document.events) {
    for (const Extension& extension : event.extensions) {
      if (extension.key.starts_with("rail:")) {
        EXPECT_EQ(extension.namespace_iri, "urn:gs1:epcisapp:rail:");
        found_rail = true;
      }
    }
  }
  EXPECT_TRUE(found_rail);
}

TEST(JsonCodecTest, AssociationEventFields) {
  Document document = decode_file("JSON/AssociationEvent/AssociationEvent-a.jsonld");
  ASSERT_EQ(document.events.size(), 1u);
  const Event& e = document.events[0];
  EXPECT_EQ(e.type, EventType::kAssociationEvent);
  EXPECT_EQ(e.parent_id, "urn:epc:id:grai:4012345.55555.987");
  ASSERT_TRUE(e.child_epcs.has_value());
  EXPECT_EQ(*e.child_epcs, std::vector<std::string>{"urn:epc:id:giai:4000001.12345"});
  EXPECT_EQ(e.action, Action::kAdd);
  EXPECT_EQ(e.biz_step, "assembling");
  // 2019-11-01T14:00:00.000+01:00 = 13:00Z
  EXPECT_EQ(e.event_time.utc_micros, 1572613200000000);
}

TEST(JsonCodecTest, SensorAndErrorDeclarationFields) {
  Document sensors = decode_file("JSON/WithSensorData/SensorDataExample1.jsonld");
  ASSERT_EQ(sensors.events.size(), 1u);
  const Event& e = sensors.events[0];
  ASSERT_TRUE(e.sensor_element_list.has_value());
  const SensorElement& element = (*e.sensor_element_list)[0];
  ASSERT_TRUE(element.metadata.has_value());
  ASSERT_TRUE(element.metadata->time.has_value());
  EXPECT_EQ(element.metadata->device_id, "urn:epc:id:giai:4000001.111");
  ASSERT_TRUE(element.reports.has_value());
  ASSERT_EQ(element.reports->size(), 4u);
  EXPECT_EQ((*element.reports)[0].type, "Temperature");
  ASSERT_TRUE((*element.reports)[0].value.has_value());
  EXPECT_EQ((*element.reports)[0].value->text, "26.0");  // not re-rendered as 26
  EXPECT_EQ((*element.reports)[0].uom, "CEL");

  Document all =
      decode_file("JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld");
  ASSERT_EQ(all.events.size(), 1u);
  const Event& f = all.events[0];
  ASSERT_TRUE(f.error_declaration.has_value());
  EXPECT_EQ(f.error_declaration->reason, "incorrect_data");
  EXPECT_EQ(f.error_declaration->declaration_time.text, "2006-11-07T14:00:00.000+01:00");
  ASSERT_TRUE(f.error_declaration->corrective_event_ids.has_value());
  EXPECT_EQ(f.error_declaration->corrective_event_ids->size(), 1u);
  ASSERT_TRUE(f.persistent_disposition.has_value());
  EXPECT_EQ(f.persistent_disposition->set, std::vector<std::string>{"completeness_verified"});
  EXPECT_EQ(f.persistent_disposition->unset, std::vector<std::string>{"completeness_inferred"});
  ASSERT_TRUE(f.certification_info.has_value());
  EXPECT_FALSE(f.certification_info->is_list);
  ASSERT_TRUE(f.sensor_element_list.has_value());
  const SensorReport& report = *(*f.sensor_element_list)[0].reports->begin();
  EXPECT_EQ(report.boolean_value, true);
  EXPECT_EQ(report.hex_binary_value, "f0f0f0");
  ASSERT_TRUE(report.s_dev.has_value());
  EXPECT_EQ(report.s_dev->text, "0.1");
  ASSERT_EQ(report.extensions.size(), 1u);
  EXPECT_EQ(report.extensions[0].key, "ext1:someFurtherReportData");
  EXPECT_EQ(report.extensions[0].namespace_iri, "http://example.com/ext1/");
  ASSERT_TRUE(f.source_list.has_value());
  EXPECT_EQ(f.source_list->size(), 3u);
  EXPECT_EQ((*f.source_list)[1].type, "possessing_party");
  ASSERT_TRUE(f.quantity_list.has_value());
  EXPECT_EQ((*f.quantity_list)[0].quantity->text, "200");
}

// The @context of that document comes after its body: prefixes still resolve,
// nested extension objects stay raw.
TEST(JsonCodecTest, ExtensionsKeepRawJsonAndNamespace) {
  Document all =
      decode_file("JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld");
  ASSERT_EQ(all.events.size(), 1u);
  const Event& e = all.events[0];
  const Extension* object = nullptr;
  for (const Extension& extension : e.extensions) {
    EXPECT_EQ(extension.namespace_iri, "http://example.com/ext1/") << extension.key;
    if (extension.key == "ext1:object") object = &extension;
  }
  ASSERT_NE(object, nullptr);
  EXPECT_EQ(object->local_name(), "object");
  EXPECT_TRUE(object->json.starts_with("{\n")) << object->json;  // raw text, whitespace kept
  EXPECT_NE(object->json.find("\"ext3:string\": \"stringInObjectInObject\""), std::string::npos);
  ASSERT_TRUE(e.ilmd.has_value());
  bool found_cbvmda = false;
  for (const Extension& extension : *e.ilmd) {
    if (extension.key == "cbvmda:lotNumber") {
      // A prefix of the standard EPCIS context.
      EXPECT_EQ(extension.namespace_iri, "urn:epcglobal:cbv:mda:");
      EXPECT_EQ(extension.json, "\"ABC123\"");
      found_cbvmda = true;
    }
  }
  EXPECT_TRUE(found_cbvmda);
  const SensorElement& element = (*e.sensor_element_list)[0];
  ASSERT_FALSE(element.extensions.empty());
  EXPECT_EQ(element.extensions[0].key, "ext1:float");
  ASSERT_EQ(element.metadata->extensions.size(), 1u);
  EXPECT_EQ(element.metadata->extensions[0].key, "ext1:someFurtherMetadata");
  EXPECT_EQ(element.metadata->extensions[0].namespace_iri, "http://example.com/ext1/");
}

TEST(JsonCodecTest, ExtensionValuesAreWrittenBackByteForByte) {
  std::string event_json = R"({"@context":[{"x":"urn:x:"},{"y":"urn:y:"}],"type":"ObjectEvent",
    "eventTime":"2020-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00","action":"OBSERVE",
    "x:n": 1.50e+3, "x:big": 123456789012345678901234567890, "y:o": {"b": [1, 2.0, "\u00e9"], "a": null},
    "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "x:where": "dock 4"},
    "plain": true})";
  Result<Event> event = decode_event(event_json);
  ASSERT_TRUE(event.is_ok()) << event.status().to_string();
  ASSERT_EQ(event->extensions.size(), 4u);
  EXPECT_EQ(event->extensions[0].json, "1.50e+3");
  EXPECT_EQ(event->extensions[0].namespace_iri, "urn:x:");
  EXPECT_EQ(event->extensions[1].json, "123456789012345678901234567890");
  EXPECT_EQ(event->extensions[2].json, R"({"b": [1, 2.0, "\u00e9"], "a": null})");
  EXPECT_EQ(event->extensions[2].namespace_iri, "urn:y:");
  EXPECT_EQ(event->extensions[3].key, "plain");
  EXPECT_EQ(event->extensions[3].namespace_iri, "");  // no prefix: kept, unresolved
  ASSERT_TRUE(event->read_point.has_value());
  ASSERT_EQ(event->read_point->extensions.size(), 1u);
  EXPECT_EQ(event->read_point->extensions[0].namespace_iri, "urn:x:");
  std::string encoded = encode_event(*event);
  EXPECT_NE(encoded.find(R"("y:o":{"b": [1, 2.0, "\u00e9"], "a": null})"), std::string::npos)
      << encoded;
  EXPECT_NE(encoded.find(R"("x:n":1.50e+3)"), std::string::npos) << encoded;
  // (simdjson's DOM refuses the 30-digit integer, so compare models here.)
  Result<Event> again = decode_event(encoded);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_TRUE(*again == *event);
}

// An event built in code (no original text for times and numbers) encodes to
// JSON that decodes to the same instants and values.
TEST(JsonCodecTest, EventBuiltInCodeEncodes) {
  Event event;
  event.type = EventType::kObjectEvent;
  event.event_time.utc_micros = 1112582011116000;
  event.event_time_zone_offset = "-06:00";
  event.action = Action::kObserve;
  event.epc_list = {"urn:epc:id:sgtin:0614141.107346.2017"};
  event.quantity_list = {QuantityElement{
      "urn:epc:class:lgtin:4012345.012345.998877", JsonNumber{"", 200.5}, "KGM", {}}};
  event.extensions = {Extension{"example:x", "http://ns.example.com/epcis/", "[1,{\"a\":2}]"},
                      Extension{"example:empty", "http://ns.example.com/epcis/", ""}};
  std::string json = encode_event(event);
  EXPECT_NE(json.find("\"eventTime\":\"2005-04-04T02:33:31.116Z\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"quantity\":200.5"), std::string::npos) << json;
  EXPECT_NE(json.find("\"example:empty\":null"), std::string::npos) << json;
  Result<Event> decoded = decode_event(json);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string() << "\n" << json;
  EXPECT_EQ(decoded->event_time.utc_micros, event.event_time.utc_micros);
  EXPECT_DOUBLE_EQ((*decoded->quantity_list)[0].quantity->value, 200.5);
  EXPECT_EQ(decoded->extensions[0].json, "[1,{\"a\":2}]");
}

// ---- errors ----

// Decodes `json` as a document and expects an error at `pointer` whose
// detail contains `detail`.
void expect_document_error(const std::string& json, const std::string& pointer,
                           const std::string& detail) {
  DecodeError error;
  Result<Document> document = decode_document(json, &error);
  ASSERT_FALSE(document.is_ok()) << "accepted: " << json.substr(0, 200);
  EXPECT_EQ(document.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(error.pointer, pointer) << document.status().message();
  EXPECT_NE(error.detail.find(detail), std::string::npos) << document.status().message();
  if (!pointer.empty()) {
    EXPECT_TRUE(document.status().message().starts_with(pointer + ": "))
        << document.status().message();
  }
}

std::string document_with_events(const std::string& events) {
  return R"({"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],)"
         R"("type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2020-01-01T00:00:00Z",)"
         R"("epcisBody":{"eventList":[)" +
         events + "]}}";
}

const std::string kGoodEvent =
    R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00",)"
    R"("action":"OBSERVE","epcList":["urn:epc:id:sgtin:0614141.107346.2017"]})";

// kGoodEvent with `member` added (a "key": value text).
std::string event_with(const std::string& member) {
  std::string event = kGoodEvent;
  event.insert(event.size() - 1, "," + member);
  return event;
}

TEST(JsonCodecTest, GoodEventDecodes) {
  ASSERT_TRUE(decode_document(document_with_events(kGoodEvent)).is_ok());
  std::string four = kGoodEvent + "," + kGoodEvent + "," + kGoodEvent + "," + kGoodEvent;
  Result<Document> document = decode_document(document_with_events(four));
  ASSERT_TRUE(document.is_ok()) << document.status().to_string();
  EXPECT_EQ(document->events.size(), 4u);
}

TEST(JsonCodecTest, WrongTypesNameThePointer) {
  std::string four = kGoodEvent + "," + kGoodEvent + "," + kGoodEvent + ",";
  std::string bad_epc = R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z",)"
                        R"("eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":[42]})";
  expect_document_error(document_with_events(four + bad_epc), "/epcisBody/eventList/3/epcList/0",
                        "expected a string");
  expect_document_error(document_with_events(event_with(R"("bizStep":["shipping"])")),
                        "/epcisBody/eventList/0/bizStep", "expected a string");
  expect_document_error(document_with_events(event_with(R"("readPoint":"urn:x")")),
                        "/epcisBody/eventList/0/readPoint", "expected an object");
  expect_document_error(document_with_events(event_with(R"("readPoint":{"id":7})")),
                        "/epcisBody/eventList/0/readPoint/id", "expected a string");
  expect_document_error(
      document_with_events(event_with(R"("quantityList":[{"epcClass":"urn:x","quantity":"2"}])")),
      "/epcisBody/eventList/0/quantityList/0/quantity", "expected a number");
  expect_document_error(
      document_with_events(event_with(
          R"("sensorElementList":[{"sensorReport":[{"type":"Temperature","booleanValue":"true"}]}])")),
      "/epcisBody/eventList/0/sensorElementList/0/sensorReport/0/booleanValue",
      "expected true or false");
  expect_document_error(document_with_events(event_with(R"("childEPCs":{})")),
                        "/epcisBody/eventList/0/childEPCs", "expected an array");
  expect_document_error(document_with_events("7"), "/epcisBody/eventList/0", "expected an object");
  expect_document_error(R"({"type":"EPCISDocument","epcisBody":{"eventList":{}}})",
                        "/epcisBody/eventList", "expected an array");
  expect_document_error("[]", "", "expected an object");
  // A key with / and ~ is escaped in the pointer (RFC 6901).
  expect_document_error(document_with_events(event_with(R"("sourceList":[{"a/b~c":1}])")),
                        "/epcisBody/eventList/0/sourceList/0/a~1b~0c", "not a member");
}

TEST(JsonCodecTest, UnknownTypesAndMissingMembers) {
  std::string unknown = kGoodEvent;
  unknown.replace(unknown.find("ObjectEvent"), 11, "ThingEvent");
  expect_document_error(document_with_events(unknown), "/epcisBody/eventList/0/type",
                        "unknown event type");
  expect_document_error(R"({"type":"EPCISMasterDataDocument","epcisBody":{"eventList":[]}})",
                        "/type", "expected \"EPCISDocument\"");
  expect_document_error(
      document_with_events(
          R"({"type":"ObjectEvent","eventTimeZoneOffset":"+00:00","action":"ADD"})"),
      "/epcisBody/eventList/0", "missing \"eventTime\"");
  expect_document_error(
      document_with_events(
          R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00"})"),
      "/epcisBody/eventList/0", "missing \"action\"");
  expect_document_error(document_with_events(event_with(R"("action":"ADD")")),
                        "/epcisBody/eventList/0/action", "repeated member");
  expect_document_error(document_with_events(event_with(R"("readPoint":{})")),
                        "/epcisBody/eventList/0/readPoint", "missing \"id\"");
  expect_document_error(R"({"type":"EPCISDocument"})", "", "missing \"epcisBody\"");
  expect_document_error(R"({"type":"EPCISDocument","epcisBody":{}})", "/epcisBody",
                        "missing \"eventList\"");
  std::string move = kGoodEvent;
  move.replace(move.find("OBSERVE"), 7, "MOVE");
  expect_document_error(document_with_events(move), "/epcisBody/eventList/0/action",
                        "expected \"ADD\"");
}

TEST(JsonCodecTest, BadTimesNameThePointer) {
  for (const char* time : {"2020-01-01T00:00:00", "2020-02-30T00:00:00Z", "2020-01-01 00:00:00Z",
                           "2020-01-01T24:00:00Z", "2020-01-01T00:00:00.Z",
                           "2020-01-01T00:00:00+1:00", "yesterday", ""}) {
    std::string event = kGoodEvent;
    event.replace(event.find("2020-01-01T00:00:00Z"), 20, time);
    expect_document_error(document_with_events(event), "/epcisBody/eventList/0/eventTime",
                          "xsd:dateTime");
  }
  expect_document_error(document_with_events(event_with(
                            R"("errorDeclaration":{"declarationTime":"2020-13-01T00:00:00Z"})")),
                        "/epcisBody/eventList/0/errorDeclaration/declarationTime", "no such date");
  std::string zone = kGoodEvent;
  zone.replace(zone.find("+00:00"), 6, "UTC");
  expect_document_error(document_with_events(zone), "/epcisBody/eventList/0/eventTimeZoneOffset",
                        "time zone offset");
}

TEST(JsonCodecTest, MalformedJsonIsAnError) {
  expect_document_error("", "", "");
  expect_document_error("{", "", "");
  expect_document_error(R"({"type":"EPCISDocument",})", "", "");
  expect_document_error(document_with_events(kGoodEvent) + "{}", "", "after the JSON value");
  expect_document_error(document_with_events(kGoodEvent) + " x", "", "");
  // Inside an extension value the pointer goes down to the bad member.
  expect_document_error(document_with_events(event_with(R"("x:a": [1 2])")),
                        "/epcisBody/eventList/0/x:a/1", "");
  expect_document_error(document_with_events(event_with(R"("x:a": tru)")),
                        "/epcisBody/eventList/0/x:a", "");
  expect_document_error(document_with_events(event_with(R"("bizStep":"\ud800")")),
                        "/epcisBody/eventList/0/bizStep", "");
  expect_document_error(
      document_with_events(event_with(R"("quantityList":[{"epcClass":"u","quantity":1e999}])")),
      "/epcisBody/eventList/0/quantityList/0/quantity", "");
}

TEST(JsonCodecTest, InvalidUtf8IsAnError) {
  std::string bad = document_with_events(event_with("\"bizStep\":\"ship\xff\xfeing\""));
  DecodeError error;
  Result<Document> document = decode_document(bad, &error);
  ASSERT_FALSE(document.is_ok());
  EXPECT_NE(document.status().message().find("UTF-8"), std::string::npos)
      << document.status().message();
  // An overlong encoding and a lone continuation byte, in an extension.
  EXPECT_FALSE(decode_document(document_with_events(event_with("\"x:a\":\"\xc0\xaf\""))).is_ok());
  EXPECT_FALSE(decode_document(document_with_events(event_with("\"x:a\":\"\x80\""))).is_ok());
}

TEST(JsonCodecTest, DeepNestingIsAnErrorWithoutCrash) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  // Inside an extension: the depth-limited walk stops at the first level
  // beyond kMaxJsonDepth and names it.
  std::string too_deep = "/epcisBody/eventList/0/x:deep";
  for (size_t i = 0; i < kMaxJsonDepth; ++i) too_deep += "/0";
  expect_document_error(document_with_events(event_with("\"x:deep\":" + deep)), too_deep,
                        "nested too deep");
  // In a standard field: the shape check fails first.
  expect_document_error(document_with_events(event_with("\"childEPCs\":" + deep)),
                        "/epcisBody/eventList/0/childEPCs/0", "expected a string");
  // As the whole document, and unbalanced.
  EXPECT_FALSE(decode_document(deep).is_ok());
  EXPECT_FALSE(decode_document(std::string(10000, '[')).is_ok());
  EXPECT_FALSE(decode_document(std::string(10000, '{')).is_ok());
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"x:a\":";
  objects += "1";
  objects += std::string(10000, '}');
  EXPECT_FALSE(decode_document(document_with_events(event_with("\"x:o\":" + objects))).is_ok());
  // Exactly at the limit is fine.
  std::string at_limit = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(decode_document(document_with_events(event_with("\"x:ok\":" + at_limit))).is_ok());
}

TEST(JsonCodecTest, HugeArraysDecode) {
  std::string epcs;
  const size_t count = 200000;
  for (size_t i = 0; i < count; ++i) {
    if (i != 0) epcs += ',';
    epcs += "\"urn:epc:id:sgtin:0614141.107346." + std::to_string(i) + "\"";
  }
  std::string event = R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z",)"
                      R"("eventTimeZoneOffset":"+00:00","action":"OBSERVE","epcList":[)" +
                      epcs + "]}";
  Result<Document> document = decode_document(document_with_events(event));
  ASSERT_TRUE(document.is_ok()) << document.status().to_string();
  ASSERT_EQ(document->events[0].epc_list->size(), count);
  // One bad member at the end is found and named.
  std::string bad = event;
  bad.insert(bad.size() - 2, ",null");
  expect_document_error(document_with_events(bad),
                        "/epcisBody/eventList/0/epcList/" + std::to_string(count),
                        "expected a string");
  // A huge extension array is kept raw.
  std::string numbers = "[";
  for (size_t i = 0; i < count; ++i) numbers += i == 0 ? "0" : ",0";
  numbers += "]";
  Result<Document> with_numbers =
      decode_document(document_with_events(event_with("\"x:n\":" + numbers)));
  ASSERT_TRUE(with_numbers.is_ok());
  EXPECT_EQ(with_numbers->events[0].extensions[0].json, numbers);
}

// Every prefix of a rich document, and every single-byte change of it, is
// either decoded or refused with an error: never a crash or a hang.
TEST(JsonCodecTest, TruncatedAndMutatedInputNeverCrashes) {
  std::string text = read_text(kDataDir / "JSON" / "WithFullCombinationOfFields" /
                               "object_event_all_possible_fields.jsonld");
  JsonCodec codec;
  size_t complete = text.find_last_not_of(" \r\n\t") + 1;
  for (size_t length = 0; length < complete; ++length) {
    Result<Document> document = codec.decode_document(std::string_view(text).substr(0, length));
    EXPECT_FALSE(document.is_ok()) << length;
  }
  const char replacements[] = {'"', '{', '}', '[', ']', ':', ',', '\\', '\0', '\xff', 'x', '1'};
  size_t accepted = 0, refused = 0;
  for (size_t i = 0; i < text.size(); i += 3) {
    for (char c : replacements) {
      std::string mutated = text;
      mutated[i] = c;
      Result<Document> document = codec.decode_document(mutated);
      if (document.is_ok()) {
        ++accepted;
        // What is accepted round-trips.
        std::string encoded = encode_document(*document);
        Result<Document> again = codec.decode_document(encoded);
        ASSERT_TRUE(again.is_ok()) << again.status().to_string();
        EXPECT_TRUE(*again == *document);
      } else {
        ++refused;
        EXPECT_EQ(document.status().code(), StatusCode::kInvalidArgument);
      }
    }
  }
  EXPECT_GT(refused, 0u);
  EXPECT_GT(accepted, 0u);
}

// Seeded random edits (byte replaced, inserted, deleted, span duplicated) of
// every corpus document: refused with InvalidArgument or decoded into a model
// that round-trips. Deterministic, so a failure reproduces.
TEST(JsonCodecTest, RandomEditsOfTheCorpusNeverCrash) {
  // CUSTOS_JSON_EDIT_ROUNDS and CUSTOS_JSON_EDIT_SEED widen the sweep by hand.
  const char* rounds_text = std::getenv("CUSTOS_JSON_EDIT_ROUNDS");
  const char* seed_text = std::getenv("CUSTOS_JSON_EDIT_SEED");
  const int rounds = rounds_text != nullptr ? std::atoi(rounds_text) : 400;
  std::mt19937_64 random(seed_text != nullptr ? std::strtoull(seed_text, nullptr, 10) : 20261126);
  const std::string alphabet = "{}[]:,\"\\0123456789-+.eEtrufalsn \n\x80\xc3\xa9\xed\xa0\xff";
  JsonCodec codec;
  size_t accepted = 0, refused = 0;
  for (const fs::path& file : corpus_files()) {
    const std::string text = read_text(file);
    for (int round = 0; round < rounds; ++round) {
      std::string mutated = text;
      int edits = 1 + static_cast<int>(random() % 3);
      for (int k = 0; k < edits && !mutated.empty(); ++k) {
        size_t at = random() % mutated.size();
        char c = alphabet[random() % alphabet.size()];
        switch (random() % 4) {
          case 0:
            mutated[at] = c;
            break;
          case 1:
            mutated.insert(mutated.begin() + static_cast<std::ptrdiff_t>(at), c);
            break;
          case 2:
            mutated.erase(at, 1 + random() % 8);
            break;
          default: {
            size_t length = std::min<size_t>(1 + random() % 64, mutated.size() - at);
            mutated.insert(at, mutated.substr(at, length));
          }
        }
      }
      Result<Document> document = codec.decode_document(mutated);
      if (!document.is_ok()) {
        ++refused;
        ASSERT_EQ(document.status().code(), StatusCode::kInvalidArgument);
        continue;
      }
      ++accepted;
      Result<Document> again = codec.decode_document(encode_document(*document));
      ASSERT_TRUE(again.is_ok()) << file << ": " << again.status().to_string();
      ASSERT_TRUE(*again == *document) << file;
    }
  }
  std::cout << "[ random edits ] " << accepted << " accepted and round-tripped, " << refused
            << " refused\n";
  EXPECT_GT(refused, 0u);
  EXPECT_GT(accepted, 0u);
}

TEST(JsonCodecTest, QueryDocumentKeepsQueryMembers) {
  Document document = decode_file("JSON/EPCISQueryDocument.jsonld");
  EXPECT_EQ(document.type, DocumentType::kEpcisQueryDocument);
  EXPECT_EQ(document.query_name, "SimpleEventQuery");
  EXPECT_EQ(document.subscription_id, "32d2aec1-a6d2-46d9-900a-24124288cce1");
  EXPECT_EQ(document.id, "https://id.example.org/document1");
  EXPECT_EQ(document.events.size(), 2u);
  ASSERT_EQ(document.events[1].extensions.size(), 1u);
  EXPECT_EQ(document.events[1].extensions[0].namespace_iri, "http://ns.example.com/epcis/");
}

TEST(JsonCodecTest, HeaderMembersAreKept) {
  Document document =
      decode_file("JSON/WithFullCombinationOfFields/object_event_all_possible_fields.jsonld");
  std::vector<std::string> keys;
  for (const Extension& member : document.members) keys.push_back(member.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"sender", "receiver", "instanceIdentifier"}));
  EXPECT_EQ(document.members[0].json, "\"urn:epc:id:sgln:0353579.00001.0\"");
  ASSERT_GE(document.namespaces.size(), 3u);
  EXPECT_EQ(document.namespaces[0].prefix, "ext3");
}

TEST(JsonCodecTest, EmptyListsStayPresent) {
  Document document = decode_file("JSON/WithSensorData/SensorDataExample3.jsonld");
  ASSERT_FALSE(document.events.empty());
  ASSERT_TRUE(document.events[0].epc_list.has_value());
  EXPECT_TRUE(document.events[0].epc_list->empty());
  EXPECT_NE(encode_event(document.events[0]).find("\"epcList\":[]"), std::string::npos);
}

// ---- identifiers ----

TEST(JsonCodecTest, CanonicalIdentifiersWithRoles) {
  Document document = decode_file("JSON/Example_9.6.3-AggregationEvent.jsonld");
  Result<std::vector<RoleIdentifier>> ids = canonical_identifiers(document.events[0]);
  ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
  std::vector<std::string> seen;
  for (const RoleIdentifier& id : *ids) {
    seen.push_back(std::string(identifier_role_name(id.role)) + " " + id.id.canonical + " " +
                   id.pointer);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      // sscc 0614141.1234567890: extension 1, check digit 8
                      "parentID https://id.gs1.org/00/106141412345678908 /parentID",
                      "childEPC https://id.gs1.org/01/10614141073464/21/2017 /childEPCs/0",
                      "childEPC https://id.gs1.org/01/10614141073464/21/2018 /childEPCs/1",
                      // urn:epc:idpat:sgtin:4012345.098765.* is the class GTIN alone
                      "childEPCClass https://id.gs1.org/01/04012345987652 "
                      "/childQuantityList/0/epcClass",
                      "childEPCClass https://id.gs1.org/01/04012345123456/10/998877 "
                      "/childQuantityList/1/epcClass",
                      "readPoint https://id.gs1.org/414/0614141007776 /readPoint/id",
                      "bizLocation https://id.gs1.org/414/0614141008889 /bizLocation/id",
                  }));
}

// The same event written with EPC URNs and with Digital Links names the same
// canonical identifiers.
TEST(JsonCodecTest, UrnAndDigitalLinkEventsNameTheSameIdentifiers) {
  const std::string urn = R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z",
    "eventTimeZoneOffset":"+00:00","action":"OBSERVE",
    "epcList":["urn:epc:id:sgtin:0614141.107346.2017"],
    "readPoint":{"id":"urn:epc:id:sgln:0614141.00777.0"},
    "sourceList":[{"type":"owning_party","source":"urn:epc:id:pgln:0614141.00777"}]})";
  const std::string link = R"({"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z",
    "eventTimeZoneOffset":"+00:00","action":"OBSERVE",
    "epcList":["https://example.com/01/10614141073464/21/2017?x=1"],
    "readPoint":{"id":"https://id.gs1.org/414/0614141007776"},
    "sourceList":[{"type":"owning_party","source":"https://id.gs1.org/417/0614141007776"}]})";
  Result<Event> a = decode_event(urn);
  Result<Event> b = decode_event(link);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  auto ids_a = canonical_identifiers(*a);
  auto ids_b = canonical_identifiers(*b);
  ASSERT_TRUE(ids_a.is_ok() && ids_b.is_ok());
  ASSERT_EQ(ids_a->size(), 3u);
  ASSERT_EQ(ids_b->size(), 3u);
  const IdentifierRole roles[] = {IdentifierRole::kEpc, IdentifierRole::kReadPoint,
                                  IdentifierRole::kSource};
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ((*ids_a)[k].role, roles[k]);
    EXPECT_EQ((*ids_b)[k].role, roles[k]);
    EXPECT_EQ((*ids_a)[k].id.canonical, (*ids_b)[k].id.canonical)
        << (*ids_a)[k].id.original << " vs " << (*ids_b)[k].id.original;
  }
}

TEST(JsonCodecTest, CanonicalIdentifiersOverTheCorpus) {
  size_t events = 0, identifiers = 0;
  std::vector<std::string> refused;
  for (const fs::path& file : corpus_files()) {
    if (refused_corpus_file(file)) continue;
    Result<Document> document = decode_document(read_text(file));
    ASSERT_TRUE(document.is_ok());
    for (const Event& event : document->events) {
      Result<std::vector<RoleIdentifier>> ids = canonical_identifiers(event);
      ++events;
      if (ids.is_ok()) {
        identifiers += ids->size();
      } else {
        refused.push_back(file.filename().string() + ": " + ids.status().message());
      }
    }
  }
  for (const std::string& line : refused) std::cout << "[ identifiers ] refused " << line << "\n";
  std::cout << "[ identifiers ] " << identifiers << " identifiers in " << events << " events, "
            << refused.size() << " events refused\n";
  EXPECT_GT(identifiers, events);
}

TEST(JsonCodecTest, AnIdentifierCacheGivesTheSameIdentifiersAndKeepsOnlySharedOnes) {
  size_t documents_with_hits = 0;
  for (const fs::path& file : corpus_files()) {
    if (refused_corpus_file(file)) continue;
    Result<Document> document = decode_document(read_text(file));
    ASSERT_TRUE(document.is_ok());
    IdentifierCache cache;  // one per document, as capture uses it
    std::set<std::string> shared_texts;
    size_t shared_mentions = 0;
    for (const Event& event : document->events) {
      auto plain = canonical_identifiers(event);
      auto cached = canonical_identifiers(event, &cache);
      ASSERT_EQ(plain.is_ok(), cached.is_ok()) << file;
      if (!plain.is_ok()) {
        EXPECT_EQ(plain.status().message(), cached.status().message()) << file;
        continue;
      }
      ASSERT_EQ(plain->size(), cached->size()) << file;
      for (size_t k = 0; k < plain->size(); ++k) {
        const RoleIdentifier& a = (*plain)[k];
        const RoleIdentifier& b = (*cached)[k];
        EXPECT_EQ(a.role, b.role) << file;
        EXPECT_EQ(a.pointer, b.pointer) << file;
        EXPECT_EQ(a.id.kind, b.id.kind) << file << " " << a.id.original;
        EXPECT_EQ(a.id.canonical, b.id.canonical) << file << " " << a.id.original;
        EXPECT_EQ(a.id.original, b.id.original) << file;
        const bool instance = a.role == IdentifierRole::kEpc || a.role == IdentifierRole::kParent ||
                              a.role == IdentifierRole::kChildEpc ||
                              a.role == IdentifierRole::kInputEpc ||
                              a.role == IdentifierRole::kOutputEpc;
        if (!instance) {
          shared_texts.insert(a.id.original);
          ++shared_mentions;
        }
      }
    }
    // Exactly the distinct places, parties and classes are kept.
    EXPECT_EQ(cache.size(), shared_texts.size()) << file;
    if (shared_mentions > shared_texts.size()) ++documents_with_hits;
  }
  EXPECT_GT(documents_with_hits, 0u);  // some corpus documents repeat a place
}

TEST(JsonCodecTest, MalformedIdentifierNamesItsPointer) {
  Result<Event> event = decode_event(event_with(R"("childEPCs":["urn:epc:id:sgtin:12.34"])"));
  ASSERT_TRUE(event.is_ok());
  Result<std::vector<RoleIdentifier>> ids = canonical_identifiers(*event);
  ASSERT_FALSE(ids.is_ok());
  EXPECT_TRUE(ids.status().message().starts_with("/childEPCs/0: ")) << ids.status().message();
}

}  // namespace
}  // namespace custos::epcis
