// EPCIS 2.0 validation: every GS1 example in tests/data/epcis is valid, and
// every negative case in tests/data/epcis/invalid gives exactly the problems
// its .expected file lists (one "pointer<TAB>substring of the message" a line).
#include "custos/epcis/validate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "custos/epcis/identifiers.h"
#include "support/test_files.h"

namespace custos::epcis {
namespace {

namespace fs = std::filesystem;

const fs::path kEpcisDir = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis";

using test_support::read_text;

std::string describe(const std::vector<ValidationProblem>& problems) {
  std::string out;
  for (const auto& problem : problems) {
    out += "  ";
    out += problem.pointer.empty() ? "(root)" : problem.pointer;
    out += ": ";
    out += problem.message;
    out += "\n";
  }
  return out;
}

using test_support::files_under;

// A minimal valid document around one event (given as JSON object text).
std::string document_with(const std::string& event) {
  std::string doc =
      R"({"@context": "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",)"
      R"( "type": "EPCISDocument", "schemaVersion": "2.0",)"
      R"( "creationDate": "2024-05-01T10:00:00Z", "epcisBody": {"eventList": [)";
  doc += event;
  doc += "]}}";
  return doc;
}

const std::string kObjectEvent =
    R"({"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2024-05-01T10:00:00.000+02:00",)"
    R"( "eventTimeZoneOffset": "+02:00", "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]})";

TEST(ValidateTest, EveryGs1ExampleDocumentIsValid) {
  std::vector<fs::path> files = files_under(kEpcisDir / "JSON", {".json", ".jsonld"}, true);
  std::vector<fs::path> hash_files = files_under(kEpcisDir / "hash", {".jsonld"}, false);
  files.insert(files.end(), hash_files.begin(), hash_files.end());
  ASSERT_GE(files.size(), 60u);
  size_t checked = 0;
  for (const fs::path& file : files) {
    std::vector<ValidationProblem> problems = validate_document(read_text(file));
    std::string name = file.filename().string();
    if (name == "epcisDocHavingEventWithIgnoreFields.jsonld" ||
        name == "epcisQueryDocHavingEventWithIgnoreFields.jsonld") {
      // These hash test cases repeat one event (same eventID, the second
      // without the fields named in ignoreFields) to show both hash alike.
      // EPCIS 2.0 7.4.1 makes an eventID name one event, so a document
      // carrying it twice is refused; this is the only problem.
      ASSERT_EQ(problems.size(), 1u) << name << "\n" << describe(problems);
      EXPECT_NE(problems[0].pointer.find("/eventList/1/eventID"), std::string::npos);
      EXPECT_NE(problems[0].message.find("same eventID"), std::string::npos);
    } else if (name == "AssociationEvent-h.jsonld") {
      // The event repeats the key "eventID" (a hash ID, then a urn:uuid): JSON
      // readers disagree on which one wins, so the event has no sure ID.
      ASSERT_EQ(problems.size(), 1u) << name << "\n" << describe(problems);
      EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/eventID");
      EXPECT_NE(problems[0].message.find("duplicate key 'eventID'"), std::string::npos);
    } else {
      EXPECT_TRUE(problems.empty()) << file << "\n" << describe(problems);
    }
    ++checked;
  }
  EXPECT_EQ(checked, files.size());
}

TEST(ValidateTest, EveryGs1SchemaTestEventIsValid) {
  std::vector<fs::path> files = files_under(kEpcisDir / "JSON-Schema" / "test", {".json"}, false);
  ASSERT_EQ(files.size(), 5u);
  for (const fs::path& file : files) {
    std::vector<ValidationProblem> problems = validate_event(read_text(file));
    EXPECT_TRUE(problems.empty()) << file << "\n" << describe(problems);
    EXPECT_TRUE(validate_document_or_event(read_text(file)).empty()) << file;
    // A lone event is not a document.
    problems = validate_document(read_text(file));
    if (file.filename() == "Extended-Event.json") {  // judged as a document gone wrong
      EXPECT_GT(problems.size(), 1u);
      continue;
    }
    ASSERT_EQ(problems.size(), 1u) << file << "\n" << describe(problems);
    EXPECT_NE(problems[0].message.find(", not an EPCISDocument: validate it as an event"),
              std::string::npos)
        << problems[0].message;
  }
}

struct ExpectedProblem {
  std::string pointer;
  std::string message_part;
};

std::vector<ExpectedProblem> read_expected(const fs::path& path) {
  std::vector<ExpectedProblem> expected;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      ADD_FAILURE() << path << ": line without a tab: " << line;
      continue;
    }
    expected.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return expected;
}

// Each file X.json in invalid/ (validated as a document, or as a lone event
// when the name starts with "event-") must give exactly the problems of
// X.expected: as many, and each expected line matched by a distinct problem at
// that pointer whose message contains the text.
TEST(ValidateTest, EveryNegativeCaseGivesExactlyItsExpectedProblems) {
  std::vector<fs::path> cases = files_under(kEpcisDir / "invalid", {".json"}, false);
  ASSERT_GE(cases.size(), 30u);
  for (const fs::path& file : cases) {
    SCOPED_TRACE(file.filename().string());
    fs::path expected_path = file;
    expected_path.replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected_path)) << expected_path;
    std::vector<ExpectedProblem> expected = read_expected(expected_path);
    ASSERT_FALSE(expected.empty()) << "a negative case must expect a problem";
    bool lone_event = file.filename().string().rfind("event-", 0) == 0;
    std::string text = read_text(file);
    std::vector<ValidationProblem> problems =
        lone_event ? validate_event(text) : validate_document(text);
    EXPECT_EQ(problems.size(), expected.size()) << describe(problems);
    std::vector<bool> used(problems.size(), false);
    for (const ExpectedProblem& want : expected) {
      bool found = false;
      for (size_t i = 0; i < problems.size() && !found; ++i) {
        if (!used[i] && problems[i].pointer == want.pointer &&
            problems[i].message.find(want.message_part) != std::string::npos) {
          used[i] = found = true;
        }
      }
      EXPECT_TRUE(found) << "expected a problem at '" << want.pointer << "' containing '"
                         << want.message_part << "'; got\n"
                         << describe(problems);
    }
  }
}

TEST(ValidateTest, ARepeatedPlaceIsJudgedTheSameInEveryEvent) {
  // Valid places are remembered across a document's events; invalid ones are
  // reported at every event that names them.
  auto event = [](const std::string& read_point) {
    return R"({"type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2024-05-01T10:00:00Z",)"
           R"( "eventTimeZoneOffset": "+00:00", "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],)"
           R"( "readPoint": {"id": ")" +
           read_point + R"("}})";
  };
  const std::string good = "urn:epc:id:sgln:0614141.00777.0";
  const std::string bad = "urn:epc:id:sgln:0614141.00777";  // no extension
  std::string events = event(good) + "," + event(bad) + "," + event(good) + "," + event(bad) + "," +
                       event(good);
  std::vector<ValidationProblem> problems = validate_document(document_with(events));
  ASSERT_EQ(problems.size(), 2u) << describe(problems);
  EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/1/readPoint/id") << describe(problems);
  EXPECT_EQ(problems[1].pointer, "/epcisBody/eventList/3/readPoint/id") << describe(problems);
  EXPECT_TRUE(validate_document(document_with(event(good) + "," + event(good))).empty());
}

TEST(ValidateTest, TheBaseDocumentOfTheseTestsIsValid) {
  EXPECT_TRUE(validate_document(document_with(kObjectEvent)).empty())
      << describe(validate_document(document_with(kObjectEvent)));
}

// The edges of the rules, from the valid side: what the standard allows must
// not be refused.
TEST(ValidateTest, WhatTheRulesAllowIsValid) {
  const std::string when =
      R"("eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "-06:00")";
  const std::string cases[] = {
      // AggregationEvent OBSERVE may omit parentID; DELETE may omit children.
      R"({"type": "AggregationEvent", "action": "OBSERVE", )" + when +
          R"(, "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2018"]})",
      R"({"type": "AggregationEvent", "action": "DELETE", )" + when +
          R"(, "parentID": "urn:epc:id:sscc:0614141.1234567890"})",
      R"({"type": "AssociationEvent", "action": "DELETE", )" + when +
          R"(, "parentID": "urn:epc:id:grai:4012345.55555.987"})",
      R"({"type": "TransactionEvent", "action": "DELETE", )" + when +
          R"(, "bizTransactionList": [{"bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1152"}]})",
      // A transformationID with outputs only; an empty epcList is a list.
      R"({"type": "TransformationEvent", )" + when +
          R"(, "transformationID": "urn:epc:id:gdti:0614141.12345.400", "outputQuantityList":)"
          R"( [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 2.5, "uom": "KGM"}]})",
      R"({"type": "ObjectEvent", "action": "OBSERVE", )" + when + R"(, "epcList": []})",
      // Sensors with a readPoint stand for the objects; ilmd with ADD.
      R"({"type": "ObjectEvent", "action": "ADD", )" + when +
          R"(, "readPoint": {"id": "https://id.gs1.org/414/4012345000245", "example:x": 1},)"
          R"( "sensorElementList": [{"sensorReport": [{"type": "gs1:Temperature", "value": -3,)"
          R"( "uom": "CEL", "component": "x", "example:note": "ok"}], "example:e": {}}],)"
          R"( "ilmd": {"cbvmda:lotNumber": "L1"}})",
      // Digital Links and other URIs name objects; other URIs name CBV-like values.
      R"({"type": "ObjectEvent", "action": "OBSERVE", )" + when +
          R"(, "epcList": ["https://example.com/01/10614141073464/21/2017", "urn:uuid:0d2d2b5e-4f6a-4f5e-9a55-3c1b0f1e9b11",)"
          R"( "https://example.com/asset/7"], "bizStep": "https://example.com/steps/blessing",)"
          R"( "disposition": "example:quarantined", "certificationInfo": "https://cert.example.com/1",)"
          R"( "errorDeclaration": {"declarationTime": "2024-05-02T00:00:00+14:00", "reason": "incorrect_data",)"
          R"( "example:by": "auditor"}, "persistentDisposition": {"unset": ["completeness_inferred"]}})",
      // An extension event type holds what it likes.
      R"({"type": "example:CustomEvent", )" + when + R"(, "anything": [1, {"goes": true}]})",
  };
  for (const std::string& event : cases) {
    auto problems = validate_document(document_with(event));
    EXPECT_TRUE(problems.empty()) << event << "\n" << describe(problems);
  }
}

TEST(ValidateTest, TextThatIsNotJsonIsOneProblemAtTheRoot) {
  for (std::string text : {std::string(""), std::string("{"), std::string("{\"a\": tru}"),
                           std::string("[1,]"), document_with(kObjectEvent) + "x"}) {
    std::vector<ValidationProblem> problems = validate_document(text);
    ASSERT_EQ(problems.size(), 1u) << text;
    EXPECT_EQ(problems[0].pointer, "");
    EXPECT_NE(problems[0].message.find("not valid JSON"), std::string::npos);
  }
  std::string bad_utf8 = document_with(kObjectEvent);
  bad_utf8.insert(bad_utf8.find("ObjectEvent"), "\xC3\x28");
  std::vector<ValidationProblem> problems = validate_document(bad_utf8);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], (ValidationProblem{"", "the text is not valid UTF-8"}));
}

TEST(ValidateTest, DocumentOrEventIsChosenByTheRoot) {
  // A document without its type is still judged as a document.
  auto problems = validate_document_or_event(R"({"epcisBody": {"eventList": []}})");
  ASSERT_EQ(problems.size(), 4u) << describe(problems);  // type, @context, version, date
  EXPECT_EQ(problems[0], (ValidationProblem{"",
                                            "missing required field 'type' (EPCISDocument or "
                                            "EPCISQueryDocument)"}));
  // Anything else is judged as one event.
  problems = validate_document_or_event(R"({"type": "ObjectEvent"})");
  EXPECT_EQ(problems.size(), 5u) << describe(problems);
  EXPECT_EQ(problems.back(),
            (ValidationProblem{"",
                               "ObjectEvent needs an epcList, a non-empty quantityList, or a "
                               "non-empty sensorElementList with a readPoint"}));
}

// Robustness on damaged input: every cut of a valid document is one "not
// valid JSON" problem, and overwriting any byte gives well-formed pointers.
TEST(ValidateTest, DamagedDocumentsGiveProblemsNotCrashes) {
  const std::string text = read_text(kEpcisDir / "JSON" / "Example_9.6.1-ObjectEvent.jsonld");
  ASSERT_TRUE(validate_document(text).empty());
  std::string trimmed = text;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back()))) {
    trimmed.pop_back();
  }
  for (size_t cut = 0; cut < trimmed.size(); ++cut) {
    auto problems = validate_document(std::string_view(trimmed).substr(0, cut));
    ASSERT_EQ(problems.size(), 1u) << "cut at " << cut;
    EXPECT_EQ(problems[0].pointer, "");
  }
  size_t invalid = 0;
  for (size_t at = 0; at < trimmed.size(); ++at) {
    for (char replacement : {'"', '0', '\x80'}) {
      std::string damaged = trimmed;
      if (damaged[at] == replacement) continue;
      damaged[at] = replacement;
      auto problems = validate_document(damaged);
      invalid += problems.empty() ? 0 : 1;
      for (const auto& problem : problems) {
        ASSERT_TRUE(problem.pointer.empty() || problem.pointer[0] == '/') << problem.pointer;
        ASSERT_FALSE(problem.message.empty());
      }
    }
  }
  EXPECT_GT(invalid, trimmed.size());  // most damage is caught
}

TEST(ValidateTest, ARootThatIsNotAnObjectIsAProblem) {
  auto problems = validate_document("[1, 2]");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("must be a JSON object"), std::string::npos);
  problems = validate_event("\"ObjectEvent\"");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("an event must be an object"), std::string::npos);
}

TEST(ValidateTest, NestingBeyondTheLimitIsAProblemNotACrash) {
  ValidationLimits limits;
  limits.max_depth = 8;
  // The base document nests 4 deep (document, body, list, event, epcList).
  EXPECT_TRUE(validate_document(document_with(kObjectEvent), limits).empty());
  std::string deep_event = kObjectEvent;
  deep_event.insert(deep_event.size() - 1, R"(, "example:x": [[[[[[1]]]]]])");
  auto problems = validate_document(document_with(deep_event), limits);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "");
  EXPECT_NE(problems[0].message.find("nested deeper than 8"), std::string::npos);
  // Far beyond any limit with the defaults.
  std::string bomb(100000, '[');
  problems = validate_document(bomb + std::string(100000, ']'));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("nested deeper than 64"), std::string::npos);
}

TEST(ValidateTest, EventsBeyondTheLimitAreAProblem) {
  ValidationLimits limits;
  limits.max_events = 2;
  std::string two = kObjectEvent + "," + kObjectEvent;
  EXPECT_TRUE(validate_document(document_with(two), limits).empty());
  auto problems = validate_document(document_with(two + "," + kObjectEvent), limits);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList");
  EXPECT_NE(problems[0].message.find("3 events; the limit is 2"), std::string::npos);
}

TEST(ValidateTest, NumbersNoDoubleHoldsAreOneProblemAtTheRoot) {
  for (std::string number : {"123456789012345678901234567890", "1e400"}) {
    std::string event = kObjectEvent;
    event.insert(event.size() - 1, R"(, "example:n": )" + number);
    auto problems = validate_document(document_with(event));
    ASSERT_EQ(problems.size(), 1u) << number;
    EXPECT_EQ(problems[0].pointer, "");
    EXPECT_NE(problems[0].message.find("out of range"), std::string::npos);
  }
}

TEST(ValidateTest, TextBeyondTheByteLimitIsAProblem) {
  ValidationLimits limits;
  limits.max_bytes = 100;
  auto problems = validate_document(document_with(kObjectEvent), limits);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].message.find("the limit is 100"), std::string::npos);
}

TEST(ValidateTest, ProblemsStopAtTheLimitWithOneFinalNote) {
  std::string events;
  for (int i = 0; i < 20; ++i) {
    if (i > 0) events += ",";
    events += R"({"type": "ObjectEvent"})";  // 4 problems each
  }
  EXPECT_EQ(validate_document(document_with(events)).size(), 80u);
  ValidationLimits limits;
  limits.max_problems = 10;
  auto problems = validate_document(document_with(events), limits);
  ASSERT_EQ(problems.size(), 11u);
  EXPECT_EQ(problems.back().pointer, "");
  EXPECT_NE(problems.back().message.find("stopped after 10 problems"), std::string::npos);
}

TEST(ValidateTest, PointersEscapeTildeAndSlash) {
  EXPECT_EQ(json_pointer_token("a/b~c"), "a~1b~0c");
  EXPECT_EQ(json_pointer_token("plain"), "plain");
  std::string event = kObjectEvent;
  event.insert(event.size() - 1, R"(, "a/b~c": 1)");
  auto problems = validate_document(document_with(event));
  ASSERT_EQ(problems.size(), 1u) << describe(problems);
  EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/a~1b~0c");
}

// Long lists are checked through an index, short ones item by item: both
// name the first item an EPC repeats, whatever the spelling (URN or Digital
// Link).
TEST(ValidateTest, RepeatedEpcsInALongListNameTheirFirstItem) {
  std::vector<std::string> epcs;
  for (int i = 0; i < 40; ++i) {
    epcs.push_back("urn:epc:id:sgtin:0614141.107346." + std::to_string(1000 + i));
  }
  epcs[10] = epcs[2];
  epcs[20] = epcs[3];
  epcs[30] = parse_identifier(epcs[25])->canonical;  // item 25 as a Digital Link
  ASSERT_TRUE(epcs[30].starts_with("https://id.gs1.org/01/"));
  epcs[35] = epcs[3];
  std::string list;
  for (const std::string& epc : epcs) {
    if (!list.empty()) list += ",";
    list += "\"" + epc + "\"";
  }
  std::string event = kObjectEvent;
  event.replace(event.find(R"(["urn:epc:id:sgtin:0614141.107346.2017"])"),
                std::string_view(R"(["urn:epc:id:sgtin:0614141.107346.2017"])").size(),
                "[" + list + "]");
  auto problems = validate_document(document_with(event));
  ASSERT_EQ(problems.size(), 4u) << describe(problems);
  const std::string at = "/epcisBody/eventList/0/epcList/";
  EXPECT_EQ(problems[0].pointer, at + "10");
  EXPECT_NE(problems[0].message.find("as item 2;"), std::string::npos);
  EXPECT_EQ(problems[1].pointer, at + "20");
  EXPECT_NE(problems[1].message.find("as item 3;"), std::string::npos);
  EXPECT_EQ(problems[2].pointer, at + "30");
  EXPECT_NE(problems[2].message.find("as item 25;"), std::string::npos);
  EXPECT_EQ(problems[3].pointer, at + "35");
  EXPECT_NE(problems[3].message.find("as item 3;"), std::string::npos);
}

// Objects with many members are checked for repeated keys by sorting; the
// problems come in key order, once per repeated key.
TEST(ValidateTest, RepeatedKeysInALargeObjectAreEachReportedOnce) {
  std::string extension = R"({)";
  for (int i = 0; i < 40; ++i) {
    if (i > 0) extension += ",";
    extension += "\"k" + std::to_string(i % 37) + "\": " + std::to_string(i);
  }
  extension += "}";
  std::string event = kObjectEvent;
  event.insert(event.size() - 1, R"(, "example:big": )" + extension);
  auto problems = validate_document(document_with(event));
  // k0, k1 and k2 appear twice; "example:" is a prefix the test context
  // does not declare, which is no problem for the validator (any URI).
  ASSERT_EQ(problems.size(), 3u) << describe(problems);
  EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/example:big/k0");
  EXPECT_EQ(problems[1].pointer, "/epcisBody/eventList/0/example:big/k1");
  EXPECT_EQ(problems[2].pointer, "/epcisBody/eventList/0/example:big/k2");
  EXPECT_NE(problems[0].message.find("duplicate key 'k0'"), std::string::npos);
}

TEST(ValidateTest, TimeZoneOffsetsAtTheEdgesOfTheRange) {
  auto with_offset = [](const std::string& offset) {
    std::string event = kObjectEvent;
    size_t at = event.find("\"+02:00\"");
    event.replace(at + 1, 6, offset);
    return validate_document(document_with(event));
  };
  for (std::string ok : {"+14:00", "-14:00", "+00:00", "-00:00", "+13:59", "+05:45"}) {
    EXPECT_TRUE(with_offset(ok).empty()) << ok << describe(with_offset(ok));
  }
  for (std::string bad : {"+14:01", "-15:00", "+2:00", "+02:60", "02:00", "Z", "+0200"}) {
    auto problems = with_offset(bad);
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/eventTimeZoneOffset");
  }
}

TEST(ValidateTest, DateTimesNeedATimeZoneAndARealDate) {
  auto with_time = [](const std::string& time) {
    std::string event = kObjectEvent;
    size_t at = event.find("2024-05-01T10:00:00.000+02:00");
    event.replace(at, 29, time);
    return validate_document(document_with(event));
  };
  for (std::string ok :
       {"2024-02-29T23:59:59Z", "2024-05-01t10:00:00z", "2024-05-01T10:00:00-14:00",
        "2024-05-01T10:00:00.123456789+05:30", "2016-12-31T23:59:60Z"}) {
    EXPECT_TRUE(with_time(ok).empty()) << ok << describe(with_time(ok));
  }
  for (std::string bad : {"2024-05-01T10:00:00", "2023-02-29T10:00:00Z", "2024-13-01T10:00:00Z",
                          "2024-05-01 10:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:00:00.Z",
                          "2024-05-01T10:00Z", "2024-05-01T10:00:00+0200", "1714557600"}) {
    auto problems = with_time(bad);
    ASSERT_EQ(problems.size(), 1u) << bad << describe(problems);
    EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/eventTime") << bad;
  }
  EXPECT_NE(with_time("2024-05-01T10:00:00")[0].message.find("no time zone"), std::string::npos);
}

TEST(ValidateTest, RecordTimeIsAcceptedButMustBeADateTime) {
  std::string event = kObjectEvent;
  event.insert(event.size() - 1, R"(, "recordTime": "2024-05-01T10:00:01Z")");
  EXPECT_TRUE(validate_document(document_with(event)).empty());
  event = kObjectEvent;
  event.insert(event.size() - 1, R"(, "recordTime": "yesterday")");
  auto problems = validate_document(document_with(event));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].pointer, "/epcisBody/eventList/0/recordTime");
}

}  // namespace
}  // namespace custos::epcis
