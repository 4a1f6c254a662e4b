// read_capture_document / read_capture_event give exactly what the three calls
// they replace give (validate, decode, hash), for every JSON file under
// tests/data/epcis and for documents made invalid on purpose.
#include "custos/epcis/capture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "custos/epcis/event_hash.h"
#include "support/test_files.h"

namespace custos::epcis {
namespace {

namespace fs = std::filesystem;

const fs::path kEpcisDir = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis";

using test_support::read_text;

// Every .json / .jsonld file under tests/data/epcis (schemas and contexts too:
// they are JSON that is no EPCIS document, which is worth comparing as well).
std::vector<fs::path> json_files() {
  return test_support::files_under(kEpcisDir, {".json", ".jsonld"}, /*recursive=*/true);
}

// What the capture route computed before read_capture_document, call by call.
DocumentCapture three_calls(std::string_view json, const ValidationLimits& limits) {
  DocumentCapture expected;
  expected.problems = validate_document(json, limits);
  if (!expected.problems.empty()) return expected;
  Result<Document> document = JsonCodec().decode_document(json, &expected.decode_error);
  if (!document.is_ok()) {
    expected.document_status = document.status();
    return expected;
  }
  expected.document = std::move(document).value();
  Result<std::vector<std::string>> hashes = document_event_hashes(json);
  if (!hashes.is_ok()) {
    expected.hash_status = hashes.status();
    return expected;
  }
  expected.event_hashes = std::move(hashes).value();
  return expected;
}

EventCapture three_event_calls(std::string_view json, const ValidationLimits& limits) {
  EventCapture expected;
  expected.problems = validate_event(json, limits);
  if (!expected.problems.empty()) return expected;
  Result<Event> event = decode_event(json, &expected.decode_error);
  if (!event.is_ok()) {
    expected.event_status = event.status();
    return expected;
  }
  expected.event = std::move(event).value();
  Result<std::string> hash = event_hash(json);
  if (!hash.is_ok()) {
    expected.hash_status = hash.status();
    return expected;
  }
  expected.event_hash = std::move(hash).value();
  return expected;
}

std::string describe(const std::vector<ValidationProblem>& problems) {
  std::string out;
  for (const auto& problem : problems) {
    out += "  ";
    out += problem.pointer;
    out += ": ";
    out += problem.message;
    out += "\n";
  }
  return out;
}

void expect_same_status(const Status& expected, const Status& actual) {
  EXPECT_EQ(expected.code(), actual.code());
  EXPECT_EQ(expected.message(), actual.message());
}

// What a comparison covered, so a test can require that it compared something.
struct Coverage {
  size_t invalid = 0;
  size_t decoded = 0;
  size_t hashed_events = 0;
};

// The fields both captures have: problems, decode error, hash status.
template <typename Capture>
void expect_same_common(const Capture& expected, const Capture& actual) {
  EXPECT_EQ(expected.problems, actual.problems) << "expected:\n"
                                                << describe(expected.problems) << "actual:\n"
                                                << describe(actual.problems);
  EXPECT_EQ(expected.decode_error.pointer, actual.decode_error.pointer);
  EXPECT_EQ(expected.decode_error.detail, actual.decode_error.detail);
  expect_same_status(expected.hash_status, actual.hash_status);
}

void expect_same_document(std::string_view json, Coverage& coverage,
                          const ValidationLimits& limits = {}) {
  DocumentCapture expected = three_calls(json, limits);
  DocumentCapture actual = read_capture_document(json, limits);
  expect_same_common(expected, actual);
  expect_same_status(expected.document_status, actual.document_status);
  EXPECT_TRUE(expected.document == actual.document);
  EXPECT_EQ(expected.event_hashes, actual.event_hashes);
  if (!expected.problems.empty()) ++coverage.invalid;
  if (expected.problems.empty() && expected.document_status.is_ok()) ++coverage.decoded;
  coverage.hashed_events += expected.event_hashes.size();
}

void expect_same_event(std::string_view json, Coverage& coverage,
                       const ValidationLimits& limits = {}) {
  EventCapture expected = three_event_calls(json, limits);
  EventCapture actual = read_capture_event(json, limits);
  expect_same_common(expected, actual);
  expect_same_status(expected.event_status, actual.event_status);
  EXPECT_TRUE(expected.event == actual.event);
  EXPECT_EQ(expected.event_hash, actual.event_hash);
  if (!expected.problems.empty()) ++coverage.invalid;
  if (expected.problems.empty() && expected.event_status.is_ok()) ++coverage.decoded;
  if (!expected.event_hash.empty()) ++coverage.hashed_events;
}

TEST(ReadCaptureDocument, SameAsThreeCallsForEveryDataFile) {
  Coverage coverage;
  size_t files = 0;
  for (const fs::path& path : json_files()) {
    SCOPED_TRACE(path.string());
    expect_same_document(read_text(path), coverage);
    ++files;
  }
  // The GS1 examples and hash vectors decode and hash; the invalid cases and
  // the schemas do not validate as documents.
  EXPECT_GT(files, 100u);
  EXPECT_GT(coverage.decoded, 40u);
  EXPECT_GE(coverage.hashed_events, 80u);
  EXPECT_GT(coverage.invalid, 40u);
}

TEST(ReadCaptureEvent, SameAsThreeCallsForEveryEventOfTheDataFiles) {
  // Each event of each data document, given alone with the document's
  // @context (as POST /events takes it), and each file as it is.
  Coverage coverage;
  for (const fs::path& path : json_files()) {
    SCOPED_TRACE(path.string());
    std::string json = read_text(path);
    expect_same_event(json, coverage);
    Result<Document> document = decode_document(json);
    if (!document.is_ok()) continue;
    for (const Event& event : document->events) {
      Event alone = event;
      if (!alone.context_json) alone.context_json = document->context_json;
      expect_same_event(encode_event(alone), coverage);
    }
  }
  EXPECT_GE(coverage.decoded, 90u);
  EXPECT_GE(coverage.hashed_events, 90u);
  EXPECT_GT(coverage.invalid, 40u);
}

// A small valid document around the given events (JSON object texts).
std::string document_with(std::string_view events) {
  std::string json =
      R"({"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",)"
      R"({"example":"https://example.org/ns/"}],"type":"EPCISDocument","schemaVersion":"2.0",)"
      R"("creationDate":"2024-01-01T00:00:00Z","epcisBody":{"eventList":[)";
  json += events;
  json += "]}}";
  return json;
}

constexpr std::string_view kEvent =
    R"({"type":"ObjectEvent","eventTime":"2024-01-01T10:00:00.000+01:00",)"
    R"("eventTimeZoneOffset":"+01:00","action":"OBSERVE",)"
    R"("epcList":["urn:epc:id:sgtin:0614141.107346.2017","https://id.gs1.org/01/09520123456788/21/1",)"
    R"("urn:epc:id:sgtin:0614141.107346.O'Brien%2Fx","urn:epc:id:sgtin:0614141.107346.%25'27"],)"
    R"("quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.998877","quantity":2.50,)"
    R"("uom":"KGM"}],"bizStep":"shipping","readPoint":{"id":"urn:epc:id:sgln:0614141.07346.1234"},)"
    R"("example:note":{"a": [1, 2 ,3], "b" : "x"}})";

TEST(ReadCaptureDocument, SameAsThreeCallsForInvalidDocuments) {
  const std::vector<std::string> documents = {
      // not JSON, not UTF-8, not an object, trailing text, a number out of range
      "",
      "{",
      "[]",
      "42",
      std::string("{\"type\":\"EPCISDocument\",\"x\":\"\xff\xfe\"}"),
      document_with(kEvent) + " x",
      document_with(R"({"type":"ObjectEvent","quantity":1e999})"),
      // wrong types and missing fields
      R"({"type":"EPCISDocument"})",
      R"({"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z"})",
      R"({"type":7,"epcisBody":{}})",
      document_with(R"({"type":"ObjectEvent","eventTime":5,"eventTimeZoneOffset":true,)"
                    R"("action":"JUMP","epcList":"urn:epc:id:sgtin:0614141.107346.2017"})"),
      document_with(R"({"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z"})"),
      document_with(R"({"type":"AggregationEvent","eventTime":"2024-01-01T00:00:00Z",)"
                    R"("eventTimeZoneOffset":"+00:00","action":"ADD"})"),
      document_with(R"({"type":"TransformationEvent","eventTime":"2024-01-01T00:00:00Z",)"
                    R"("eventTimeZoneOffset":"+00:00","action":"ADD"})"),
      document_with(R"("not an event")"),
      document_with(R"({"type":"MyEvent","eventTime":"x"})"),
      // bad identifiers, the same EPC twice, the same eventID twice
      document_with(
          R"({"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z",)"
          R"("eventTimeZoneOffset":"+00:00","action":"ADD","epcList":)"
          R"(["urn:epc:id:sgtin:0614141.107346","not a uri","urn:epc:id:sgtin:0614141.107346.1",)"
          R"("https://id.gs1.org/01/00614141073467/21/1"],"readPoint":{"id":"urn:epc:id:sgln:x"}})"),
      document_with(
          R"({"type":"ObjectEvent","eventID":"urn:uuid:1","eventTime":"2024-01-01T00:00:00Z",)"
          R"("eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[]},)"
          R"({"type":"ObjectEvent","eventID":"urn:uuid:1","eventTime":"2024-01-01T00:00:00Z",)"
          R"("eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[]})"),
      // duplicate keys, at the root, in an event, in an extension
      R"({"type":"EPCISDocument","type":"EPCISDocument","epcisBody":{"eventList":[]}})",
      document_with(
          R"({"type":"ObjectEvent","type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z",)"
          R"("eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[],)"
          R"("example:x":{"a":1,"a":2,"a":3,"b/~c":{"d":1,"d":2}}})"),
      // an unknown field, a field of another event type, an unprefixed extension
      document_with(R"({"type":"ObjectEvent","eventTime":"2024-01-01T00:00:00Z",)"
                    R"("eventTimeZoneOffset":"+00:00","action":"ADD","epcList":[],)"
                    R"("childEPCs":[],"myField":1,"ilmd":{"lot":1}})"),
  };
  Coverage coverage;
  for (const std::string& json : documents) {
    SCOPED_TRACE(json);
    expect_same_document(json, coverage);
    expect_same_event(json, coverage);
  }
  EXPECT_GE(coverage.invalid, documents.size() * 2 - 2);
}

TEST(ReadCaptureDocument, SameAsThreeCallsAtTheLimits) {
  Coverage coverage;
  // Deep nesting in an extension: refused by the validator's depth limit.
  std::string deep = "1";
  for (int i = 0; i < 70; ++i) deep = "[" + deep + "]";
  std::string nested_event(kEvent);
  nested_event.insert(nested_event.size() - 1, R"(,"example:deep":)" + deep);
  expect_same_document(document_with(nested_event), coverage);

  std::string events(kEvent);
  for (int i = 0; i < 5; ++i) {
    events += ',';
    events += kEvent;
  }
  const std::string json = document_with(events);
  ValidationLimits small;
  small.max_events = 3;
  expect_same_document(json, coverage, small);
  small = {};
  small.max_bytes = 100;
  expect_same_document(json, coverage, small);
  small = {};
  small.max_depth = 3;
  expect_same_document(json, coverage, small);
  small = {};
  small.max_problems = 2;
  expect_same_document(document_with(R"({"type":"ObjectEvent","eventTime":5,"action":1,"x":2})"),
                       coverage, small);
  // The thread's parser, reallocated for the small limits above, still
  // reads a valid document with the default ones.
  expect_same_document(json, coverage);
  EXPECT_EQ(coverage.invalid, 5u);
  EXPECT_EQ(coverage.decoded, 1u);
  EXPECT_EQ(coverage.hashed_events, 6u);
}

TEST(ReadCaptureDocument, LargeTextUsesAOneOffParserWithTheSameResult) {
  Coverage coverage;
  std::string json = document_with(kEvent);
  json.append(kMaxReusedParserBytes + 10, ' ');
  expect_same_document(json, coverage);
  // And the reused parser still works after it.
  expect_same_document(document_with(kEvent), coverage);
  EXPECT_EQ(coverage.decoded, 2u);
}

}  // namespace
}  // namespace custos::epcis
