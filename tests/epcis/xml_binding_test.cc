// The EPCIS XML binding (xml_document_to_json) against the GS1 corpus in
// tests/data/epcis: every XML file converts (or is refused for a stated
// reason), the CBV 2.0 event hash cases for XML hash the converted JSON to
// the expected IDs, XML and JSON versions of the same examples agree event by
// event, and hostile XML is refused with a path and a line.
#include "custos/epcis/xml_binding.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "custos/epcis/event_hash.h"
#include "support/test_files.h"

namespace custos::epcis {
namespace {

namespace fs = std::filesystem;

const fs::path kEpcisDir = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis";
const fs::path kHashDir = kEpcisDir / "hash";
const fs::path kOwnDir = kEpcisDir / "xml_binding";

using test_support::read_text;

std::vector<std::string> read_lines(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_text(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

std::string corpus_path(const fs::path& path) { return fs::relative(path, kEpcisDir).string(); }

std::vector<std::string> corpus_xml_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(kEpcisDir / "XML")) {
    if (entry.path().extension() == ".xml") files.push_back(corpus_path(entry.path()));
  }
  for (const auto& entry : fs::directory_iterator(kHashDir)) {
    if (entry.path().extension() == ".xml") files.push_back(corpus_path(entry.path()));
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string test_name(std::string name) {
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

Result<std::string> convert_file(const fs::path& path) {
  return xml_document_to_json(read_text(path));
}

// ---- (a) every XML file of the corpus ----

// Files that are not EPCIS event documents, and the words their refusal names.
const std::map<std::string, std::string> kRefused = {
    {"XML/CaptureJob/Example-CaptureJobRunning.xml", "EPCISCaptureJob"},
    {"XML/CaptureJob/Example-CaptureJobSuccess.xml", "EPCISCaptureJob"},
    {"XML/CaptureJob/Example-CaptureJobWithErrorFile.xml", "EPCISCaptureJob"},
    {"XML/CaptureJob/Example-CaptureJobWithErrors.xml", "EPCISCaptureJob"},
    {"XML/CBV/CBV-11.4-2020-06-16a.xml", "EPCISMasterDataDocument"},
    {"XML/Mimasu/Example-masterData.xml", "EPCISMasterDataDocument"},
};

size_t count_event_elements(const std::string& xml) {
  static const std::regex kEvent(
      "<([A-Za-z0-9_.-]+:)?(Object|Aggregation|Transaction|Transformation|Association)Event[\\s>/"
      "]");
  return static_cast<size_t>(
      std::distance(std::sregex_iterator(xml.begin(), xml.end(), kEvent), std::sregex_iterator()));
}

class CorpusFile : public ::testing::TestWithParam<std::string> {};

TEST_P(CorpusFile, ConvertsOrIsRefusedForItsReason) {
  const std::string file = GetParam();
  const std::string xml = read_text(kEpcisDir / file);
  Result<std::string> json = xml_document_to_json(xml);
  auto refused = kRefused.find(file);
  if (refused != kRefused.end()) {
    ASSERT_FALSE(json.is_ok()) << file << " should be refused";
    EXPECT_EQ(json.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(json.status().message().find(refused->second), std::string::npos)
        << json.status().message();
    EXPECT_TRUE(json.status().message().starts_with("/")) << json.status().message();
    return;
  }
  ASSERT_TRUE(json.is_ok()) << file << ": " << json.status().message();
  simdjson::dom::parser parser;
  simdjson::dom::element document;
  ASSERT_EQ(parser.parse(*json).get(document), simdjson::SUCCESS) << *json;
  std::string_view type;
  ASSERT_EQ(document["type"].get(type), simdjson::SUCCESS);
  EXPECT_TRUE(type == "EPCISDocument" || type == "EPCISQueryDocument") << type;
  Result<std::vector<std::string>> hashes = document_event_hashes(*json);
  ASSERT_TRUE(hashes.is_ok()) << hashes.status().message() << "\n" << *json;
  EXPECT_EQ(hashes->size(), count_event_elements(xml)) << *json;
}

INSTANTIATE_TEST_SUITE_P(Corpus, CorpusFile, ::testing::ValuesIn(corpus_xml_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(info.param);
                         });

TEST(XmlBindingCorpus, FindsTheFiles) {
  std::vector<std::string> files = corpus_xml_files();
  EXPECT_GE(files.size(), 50u);
  for (const auto& [file, reason] : kRefused) {
    EXPECT_TRUE(std::find(files.begin(), files.end(), file) != files.end()) << file;
  }
}

// ---- (b) the CBV 2.0 event hash cases for XML ----

std::vector<std::string> xml_hash_stems() {
  std::vector<std::string> stems;
  for (const auto& entry : fs::directory_iterator(kHashDir)) {
    if (entry.path().extension() == ".xml" &&
        fs::exists(kHashDir / (entry.path().stem().string() + ".hashes"))) {
      stems.push_back(entry.path().stem().string());
    }
  }
  std::sort(stems.begin(), stems.end());
  return stems;
}

std::string first_difference(const std::string& expected, const std::string& actual) {
  size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  return "first difference at offset " + std::to_string(i) + "\n  expected: ..." +
         expected.substr(from, 160) + "\n  actual:   ..." + actual.substr(from, 160);
}

// Events whose expected pre-hash the converted JSON does not reach, and why:
// each a quirk of the reference generator against the CBV 2.0 hash rules (as
// its README states them). The test asserts that they still differ, so a fix
// shows up here.
const std::map<std::string, std::string> kKnownHashDifferences = {
    {"SensorDataExamples#6",
     "stringValue (xsd:string) \"111100001111000011110000\" went through a double in the "
     "reference (111100001111000003641344); rule 6 trims quantitative values only, and event_hash "
     "keeps the text"},
    {"SensorDataExamples#7",
     "the reference appends sensorReport's no-namespace bizRules attribute as a second "
     "sensorElementList block after the event, against rule 11 (a list name appears once) and 21 "
     "(extensions end their own sensorReport); event_hash leaves it out"},
    {"SensorDataExamples#10",
     "the reference puts this TransactionEvent's bizTransactionList after sensorElementList; the "
     "canonical property order (and event_hash) has it at 20, before sensorElementList at 23"},
};

class XmlHashCase : public ::testing::TestWithParam<std::string> {};

TEST_P(XmlHashCase, PrehashesAndHashesMatch) {
  const std::string stem = GetParam();
  Result<std::string> json = convert_file(kHashDir / (stem + ".xml"));
  ASSERT_TRUE(json.is_ok()) << json.status().message();
  Result<std::vector<std::string>> prehashes = document_event_prehashes(*json);
  ASSERT_TRUE(prehashes.is_ok()) << prehashes.status().message();
  std::vector<std::string> expected_hashes = read_lines(kHashDir / (stem + ".hashes"));
  ASSERT_EQ(expected_hashes.size(), prehashes->size()) << "event count\n" << *json;
  const fs::path prehash_file = kHashDir / (stem + ".prehashes");
  if (fs::exists(prehash_file)) {
    std::vector<std::string> expected = read_lines(prehash_file);
    ASSERT_EQ(expected.size(), prehashes->size()) << "event count";
    for (size_t i = 0; i < expected.size(); ++i) {
      // Every .prehashes line of the XML cases hashes to its .hashes line.
      ASSERT_EQ(event_hash_from_prehash(expected[i]), expected_hashes[i]) << stem << "#" << i;
      if (kKnownHashDifferences.contains(stem + "#" + std::to_string(i))) {
        EXPECT_NE(expected[i], (*prehashes)[i]) << stem << "#" << i << " now matches";
        continue;
      }
      EXPECT_EQ(expected[i], (*prehashes)[i])
          << "event " << i << " pre-hash: " << first_difference(expected[i], (*prehashes)[i])
          << "\n"
          << *json;
    }
  }
  Result<std::vector<std::string>> hashes = document_event_hashes(*json);
  ASSERT_TRUE(hashes.is_ok()) << hashes.status().message();
  for (size_t i = 0; i < expected_hashes.size(); ++i) {
    const std::string key = stem + "#" + std::to_string(i);
    if (kKnownHashDifferences.contains(key)) {
      EXPECT_NE(expected_hashes[i], (*hashes)[i]) << key << " now matches";
    } else {
      EXPECT_EQ(expected_hashes[i], (*hashes)[i]) << "event " << i << " hash";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HashData, XmlHashCase, ::testing::ValuesIn(xml_hash_stems()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return test_name(info.param);
                         });

TEST(XmlBindingHash, FindsTheXmlHashCases) {
  EXPECT_GE(xml_hash_stems().size(), 13u);
  for (const auto& [key, reason] : kKnownHashDifferences) {
    std::string stem = key.substr(0, key.find('#'));
    EXPECT_TRUE(fs::exists(kHashDir / (stem + ".xml"))) << key;
  }
}

// ---- (c) the same examples in XML and in JSON ----

struct XmlJsonPair {
  std::string xml;
  std::vector<std::string> json;  // their events, concatenated, are the counterparts
  // XML event index -> JSON event index of an equal event hash.
  std::vector<std::pair<size_t, size_t>> agree;
  // Why the other XML events differ from their JSON versions.
  std::string differences;
};

std::vector<XmlJsonPair> xml_json_pairs() {
  std::vector<XmlJsonPair> pairs = {
      {"XML/Example_9.6.1-ObjectEvent-2020_06_18a.xml",
       {"JSON/Example_9.6.1-ObjectEvent.jsonld"},
       {{0, 0}},
       "#1: example:myField is in http://ns.example.com/epcis (XML) but "
       "http://ns.example.com/epcis/ (JSON), another namespace"},
      {"XML/Example-PersistentDisposition.xml",
       {"JSON/PersistentDisposition-example.jsonld"},
       {},
       "the XML events are AggregationEvents, the JSON ones ObjectEvents"},
      {"XML/Example-TransactionEvent-2020_07_03y.xml",
       {"JSON/Example-TransactionEvents-2020_07_03y.jsonld"},
       {{0, 0}},
       "#1: the XML has an empty <rail:vehicleMasterGIAI/> that the JSON leaves out"},
      {"XML/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.xml",
       {"JSON/WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld"},
       {},
       "the XML inputQuantityList has quantity xsi:nil and no uom, the JSON 500 KGM"},
      {"XML/AssociationEvent/AssociationEventExamples.xml",
       {"JSON/AssociationEvent/AssociationEvent-a.jsonld",
        "JSON/AssociationEvent/AssociationEvent-b.jsonld",
        "JSON/AssociationEvent/AssociationEvent-c.jsonld",
        "JSON/AssociationEvent/AssociationEvent-d.jsonld",
        "JSON/AssociationEvent/AssociationEvent-e.jsonld",
        "JSON/AssociationEvent/AssociationEvent-f.jsonld",
        "JSON/AssociationEvent/AssociationEvent-g.jsonld",
        "JSON/AssociationEvent/AssociationEvent-h.jsonld"},
       {{0, 0}, {1, 1}, {2, 2}, {3, 3}, {4, 4}, {5, 5}, {6, 6}, {7, 7}},
       ""},
      {"XML/WithSensorData/SensorDataExamples.xml",
       {"JSON/WithSensorData/SensorDataExample1.jsonld",
        "JSON/WithSensorData/SensorDataExample1b.jsonld",
        "JSON/WithSensorData/SensorDataExample2.jsonld",
        "JSON/WithSensorData/SensorDataExample3.jsonld",
        "JSON/WithSensorData/SensorDataExample4.jsonld",
        "JSON/WithSensorData/SensorDataExample5.jsonld",
        "JSON/WithSensorData/SensorDataExample6.jsonld",
        "JSON/WithSensorData/SensorDataExample7.jsonld",
        "JSON/WithSensorData/SensorDataExample8.jsonld",
        "JSON/WithSensorData/SensorDataExample9.jsonld",
        "JSON/WithSensorData/SensorDataExample10.jsonld",
        "JSON/WithSensorData/SensorDataExample11.jsonld",
        "JSON/WithSensorData/SensorDataExample12.jsonld",
        "JSON/WithSensorData/SensorDataExample13.jsonld",
        "JSON/WithSensorData/SensorDataExample14.jsonld",
        "JSON/WithSensorData/SensorDataExample15.jsonld",
        "JSON/WithSensorData/SensorDataExample16.jsonld",
        "JSON/WithSensorData/SensorDataExample17.jsonld"},
       {{0, 0}, {1, 2}, {4, 5}},
       "content differs: no epcList in XML #2, #3, #5; extension namespaces "
       "https://ns.example.com/epcis vs http://ns.example.com/epcis/; sensor types "
       "example:Abc vs full URIs, no type in XML #8, EffectiveDoseRate vs DoseEquivalentRate; "
       "extra example:gs1ES in XML #11; XML #12, #13 spell the bizStep Bizstep-sensor_reporting"},
      {"XML/WithEventHashID/event_with_identical_hash_id_2.xml",
       {"XML/WithEventHashID/event_with_identical_hash_id_7.json"},
       {},
       "the same instant with eventTimeZoneOffset -05:00 instead of -06:00: the offset is part "
       "of the CBV 2.0 pre-hash, so the hash is not identical despite the file name"},
  };
  for (const char* type :
       {"object", "aggregation", "transaction", "transformation", "association"}) {
    std::string name = std::string(type) + "_event_all_possible_fields";
    pairs.push_back({"XML/WithFullCombinationOfFields/" + name + ".xml",
                     {"JSON/WithFullCombinationOfFields/" + name + ".jsonld"},
                     {},
                     "the JSON version has fields the XML lacks (certificationInfo, eventID, "
                     "errorDeclaration, ilmd, more extensions)"});
  }
  for (int n : {1, 3, 4, 5, 6}) {
    pairs.push_back(
        {"XML/WithEventHashID/event_with_identical_hash_id_" + std::to_string(n) + ".xml",
         {"XML/WithEventHashID/event_with_identical_hash_id_7.json"},
         {{0, 0}},
         ""});
  }
  for (const char* stem : {"CertificationInfoAndSensorReportWithCRS", "ReferenceEventHashAlgorithm",
                           "epcisDocWithSensorComponent", "epcisDocWithVariousEventTypes",
                           "epcisDocWithXMLstartTagAndErrorDeclaration", "epcisEventWithCURIEs",
                           "epcisQueryDocument"}) {
    std::string base = std::string("hash/") + stem;
    std::string text = read_text(kEpcisDir / (base + ".xml"));
    std::vector<std::pair<size_t, size_t>> all;
    for (size_t i = 0; i < count_event_elements(text); ++i) all.emplace_back(i, i);
    pairs.push_back({base + ".xml", {base + ".jsonld"}, all, ""});
  }
  return pairs;
}

class XmlJsonAgreement : public ::testing::TestWithParam<XmlJsonPair> {};

TEST_P(XmlJsonAgreement, EventHashesAgreeWhereTheContentDoes) {
  const XmlJsonPair& pair = GetParam();
  Result<std::string> json = convert_file(kEpcisDir / pair.xml);
  ASSERT_TRUE(json.is_ok()) << json.status().message();
  Result<std::vector<std::string>> xml_prehashes = document_event_prehashes(*json);
  ASSERT_TRUE(xml_prehashes.is_ok()) << xml_prehashes.status().message();
  std::vector<std::string> json_prehashes;
  for (const std::string& file : pair.json) {
    Result<std::vector<std::string>> prehashes =
        document_event_prehashes(read_text(kEpcisDir / file));
    ASSERT_TRUE(prehashes.is_ok()) << file << ": " << prehashes.status().message();
    json_prehashes.insert(json_prehashes.end(), prehashes->begin(), prehashes->end());
  }
  std::set<size_t> agreeing;
  for (const auto& [xml_index, json_index] : pair.agree) {
    ASSERT_LT(xml_index, xml_prehashes->size());
    ASSERT_LT(json_index, json_prehashes.size());
    EXPECT_EQ(json_prehashes[json_index], (*xml_prehashes)[xml_index])
        << "XML event " << xml_index << " vs JSON event " << json_index << ": "
        << first_difference(json_prehashes[json_index], (*xml_prehashes)[xml_index]);
    agreeing.insert(xml_index);
  }
  for (size_t i = 0; i < xml_prehashes->size(); ++i) {
    if (agreeing.contains(i)) continue;
    EXPECT_TRUE(std::find(json_prehashes.begin(), json_prehashes.end(), (*xml_prehashes)[i]) ==
                json_prehashes.end())
        << "XML event " << i
        << " now has an equal JSON event; documented difference: " << pair.differences;
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, XmlJsonAgreement, ::testing::ValuesIn(xml_json_pairs()),
                         [](const ::testing::TestParamInfo<XmlJsonPair>& info) {
                           return test_name(info.param.xml);
                         });

TEST(XmlJsonAgreement, Epcis12DocumentAgreesWithItsJsonVersion) {
  Result<std::string> json = convert_file(kOwnDir / "epcis12_document.xml");
  ASSERT_TRUE(json.is_ok()) << json.status().message();
  Result<std::vector<std::string>> from_xml = document_event_prehashes(*json);
  Result<std::vector<std::string>> from_json =
      document_event_prehashes(read_text(kOwnDir / "epcis12_document.jsonld"));
  ASSERT_TRUE(from_xml.is_ok()) << from_xml.status().message();
  ASSERT_TRUE(from_json.is_ok()) << from_json.status().message();
  ASSERT_EQ(from_json->size(), 4u);
  ASSERT_EQ(from_xml->size(), from_json->size()) << *json;
  for (size_t i = 0; i < from_json->size(); ++i) {
    EXPECT_EQ((*from_json)[i], (*from_xml)[i])
        << "event " << i << ": " << first_difference((*from_json)[i], (*from_xml)[i]) << "\n"
        << *json;
  }
}

// ---- the JSON the conversion writes ----

class ConvertedDocument {
 public:
  explicit ConvertedDocument(const std::string& xml) {
    Result<std::string> json = xml_document_to_json(xml);
    EXPECT_TRUE(json.is_ok()) << json.status().message();
    if (!json.is_ok()) return;
    text_ = *json;
    ok_ = parser_.parse(text_).get(root_) == simdjson::SUCCESS;
    EXPECT_TRUE(ok_) << text_;
  }

  // The value at a JSON pointer as text (strings unquoted, others as JSON),
  // or "<missing>".
  std::string at(std::string_view pointer) {
    if (!ok_) return "<no document>";
    simdjson::dom::element value;
    if (root_.at_pointer(pointer).get(value) != simdjson::SUCCESS) return "<missing>";
    std::string_view text;
    if (value.get(text) == simdjson::SUCCESS) return std::string(text);
    return simdjson::minify(value);
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

TEST(XmlBindingMapping, Epcis12WrappersHeaderAndExtensions) {
  ConvertedDocument document(read_text(kOwnDir / "epcis12_document.xml"));
  EXPECT_EQ(document.at("/type"), "EPCISDocument");
  EXPECT_EQ(document.at("/schemaVersion"), "2.0");
  EXPECT_EQ(document.at("/creationDate"), "2021-03-01T10:00:00Z");
  EXPECT_EQ(document.at("/sender"), "urn:epc:id:sgln:0614141.00001.0");
  EXPECT_EQ(document.at("/receiver"), "urn:epc:id:sgln:0614141.00002.0");
  EXPECT_EQ(document.at("/instanceIdentifier"), "1234567890");
  const std::string vocabulary = "/epcisHeader/epcisMasterData/vocabularyList/0";
  EXPECT_EQ(document.at(vocabulary + "/type"), "urn:epcglobal:epcis:vtype:BusinessLocation");
  const std::string element = vocabulary + "/vocabularyElementList/0";
  EXPECT_EQ(document.at(element + "/id"), "urn:epc:id:sgln:0614141.00777.0");
  EXPECT_EQ(document.at(element + "/attributes/0/id"), "urn:epcglobal:cbv:mda#name");
  EXPECT_EQ(document.at(element + "/attributes/0/attribute"), "Central warehouse");
  EXPECT_EQ(document.at(element + "/attributes/1/attribute/acme:city"), "Brussels");
  EXPECT_EQ(document.at(element + "/children"), R"(["urn:epc:id:sgln:0614141.00777.1"])");

  const std::string event = "/epcisBody/eventList/0";
  EXPECT_EQ(document.at(event + "/type"), "ObjectEvent");
  EXPECT_EQ(document.at(event + "/eventID"), "urn:uuid:6a9d2f12-0b0b-4bb2-9f0e-7a0f5bf6b0a1");
  EXPECT_EQ(document.at(event + "/errorDeclaration/reason"), "incorrect_data");
  EXPECT_EQ(document.at(event + "/errorDeclaration/correctiveEventIDs/0"),
            "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8");
  EXPECT_EQ(document.at(event + "/errorDeclaration/acme:ticket"), "T-17");
  EXPECT_EQ(document.at(event + "/bizStep"), "commissioning");
  EXPECT_EQ(document.at(event + "/disposition"), "active");
  EXPECT_EQ(document.at(event + "/readPoint"),
            R"({"id":"urn:epc:id:sgln:0614141.00777.0","acme:dock":"7"})");
  EXPECT_EQ(document.at(event + "/bizTransactionList"),
            R"([{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:0614141073467:PO-1"},)"
            R"({"bizTransaction":"urn:epcglobal:cbv:bt:0614141073467:X-9"}])");
  EXPECT_EQ(document.at(event + "/quantityList/0/quantity"), "200.5");
  EXPECT_EQ(document.at(event + "/quantityList/1"),
            R"({"epcClass":"urn:epc:idpat:sgtin:4012345.012345.*","quantity":3})");
  EXPECT_EQ(document.at(event + "/sourceList/0/type"), "owning_party");
  EXPECT_EQ(document.at(event + "/destinationList/0/type"), "location");
  EXPECT_EQ(document.at(event + "/ilmd"), R"({"acme:bestBefore":"2022-01-01"})");
  EXPECT_EQ(document.at(event + "/acme:batch"),
            R"({"acme:line":"3","acme:shift":"night","acme:operator":["A","B"]})");
  // The default namespace gets a made-up prefix, declared in @context.
  EXPECT_EQ(document.at(event + "/ns1:note"), "checked twice");
  EXPECT_EQ(document.at("/@context/0"),
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld");
  EXPECT_EQ(document.at("/@context/1/acme"), "https://acme.example.com/epcis/");
  EXPECT_EQ(document.at("/@context/1/ns1"), "https://notes.example.org/v1");
  EXPECT_EQ(document.at("/epcisBody/eventList/1/childQuantityList/0/quantity"), "10");
  EXPECT_EQ(document.at("/epcisBody/eventList/3/type"), "TransformationEvent");
  EXPECT_EQ(document.at("/epcisBody/eventList/3/ilmd/acme:lot"), "L-1");
}

const char kEventHead[] =
    R"(<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" )"
    R"(creationDate="2020-01-01T00:00:00Z")";

std::string document_with_events(std::string_view namespaces, std::string_view events) {
  std::string xml = kEventHead;
  xml += ' ';
  xml += namespaces;
  xml += "><EPCISBody><EventList>";
  xml += events;
  xml += "</EventList></EPCISBody></epcis:EPCISDocument>";
  return xml;
}

TEST(XmlBindingMapping, SensorElementsArePlainJson) {
  ConvertedDocument document(document_with_events(
      R"(xmlns:x="https://x.example/")",
      R"(<ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime>)"
      R"(<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>OBSERVE</action>)"
      R"(<sensorElementList><sensorElement>)"
      R"(<sensorMetadata time="2020-01-01T00:00:00Z" x:batch="b1"/>)"
      R"(<sensorReport type="gs1:Temperature" value="+26.50" booleanValue="1" uom="CEL"/>)"
      R"(<sensorReport type="gs1:Humidity" minValue=".5" maxValue="1E2"/>)"
      R"(<x:note>n</x:note></sensorElement></sensorElementList>)"
      R"(<persistentDisposition><unset>urn:epcglobal:cbv:disp:completeness_inferred</unset>)"
      R"(<set>urn:epcglobal:cbv:disp:completeness_verified</set></persistentDisposition>)"
      R"(</ObjectEvent>)"));
  const std::string element = "/epcisBody/eventList/0/sensorElementList/0";
  EXPECT_EQ(document.at(element + "/sensorMetadata"),
            R"({"time":"2020-01-01T00:00:00Z","x:batch":"b1"})");
  EXPECT_EQ(document.at(element + "/sensorReport/0"),
            R"({"type":"gs1:Temperature","value":26.5,"booleanValue":true,"uom":"CEL"})");
  EXPECT_EQ(document.at(element + "/sensorReport/1"),
            R"({"type":"gs1:Humidity","minValue":0.5,"maxValue":100.0})");
  EXPECT_EQ(document.at(element + "/x:note"), "n");
  EXPECT_EQ(document.at("/epcisBody/eventList/0/persistentDisposition"),
            R"({"unset":["completeness_inferred"],"set":["completeness_verified"]})");
}

TEST(XmlBindingMapping, PrefixesNeverShadowTheContextOrValues) {
  ConvertedDocument document(document_with_events(
      R"(xmlns:gs1="https://not-gs1.example/" xmlns:example="https://ex.example/" )"
      R"(xmlns:https="https://h.example/" xmlns:std="https://gs1.org/voc/")",
      R"(<ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime>)"
      R"(<eventTimeZoneOffset>+00:00</eventTimeZoneOffset><action>OBSERVE</action>)"
      R"(<readPoint><id>example:rp</id></readPoint>)"
      R"(<gs1:a>1</gs1:a><example:b>2</example:b><https:c>3</https:c><std:d>4</std:d>)"
      R"(</ObjectEvent>)"));
  const std::string event = "/epcisBody/eventList/0";
  // gs1 is the EPCIS context's; "example" starts a value (example:rp is a URI
  // with the scheme "example"); "https" is a URI scheme: all three renamed.
  EXPECT_EQ(document.at(event + "/gs1_1:a"), "1") << document.text();
  EXPECT_EQ(document.at(event + "/example_1:b"), "2") << document.text();
  EXPECT_EQ(document.at(event + "/https_1:c"), "3") << document.text();
  // A namespace the EPCIS context already names keeps the context's prefix.
  EXPECT_EQ(document.at(event + "/gs1:d"), "4") << document.text();
  EXPECT_EQ(document.at("/@context/1"),
            R"({"gs1_1":"https://not-gs1.example/","example_1":"https://ex.example/",)"
            R"("https_1":"https://h.example/"})");
  Result<std::vector<std::string>> prehashes = document_event_prehashes(document.text());
  ASSERT_TRUE(prehashes.is_ok());
  EXPECT_NE(prehashes->at(0).find("readPointid=example:rp"), std::string::npos) << prehashes->at(0);
  EXPECT_NE(prehashes->at(0).find("{https://not-gs1.example/}a=1"), std::string::npos);
  EXPECT_NE(prehashes->at(0).find("{https://gs1.org/voc/}d=4"), std::string::npos);
}

TEST(XmlBindingMapping, QueryDocument) {
  ConvertedDocument document(read_text(kHashDir / "epcisQueryDocument.xml"));
  EXPECT_EQ(document.at("/type"), "EPCISQueryDocument");
  EXPECT_EQ(document.at("/epcisBody/queryResults/queryName"), "SimpleEventQuery");
  EXPECT_EQ(document.at("/epcisBody/queryResults/subscriptionID"),
            "32d2aec1-a6d2-46d9-900a-24124288cce1");
  EXPECT_EQ(document.at("/epcisBody/queryResults/resultsBody/eventList/1/example:myField"),
            "Example of a vendor/user extension");
}

TEST(XmlBindingMapping, Epcis12QueryDocumentAndNestedEventListExtensions) {
  ConvertedDocument document(
      R"(<q:EPCISQueryDocument xmlns:q="urn:epcglobal:epcis-query:xsd:1" schemaVersion="1.2" )"
      R"(creationDate="2021-01-01T00:00:00Z"><EPCISBody><q:QueryResults>)"
      R"(<queryName>SimpleEventQuery</queryName><resultsBody><EventList>)"
      R"(<ObjectEvent><eventTime>2021-01-01T00:00:00Z</eventTime><action>OBSERVE</action></ObjectEvent>)"
      R"(<extension><TransformationEvent><eventTime>2021-01-01T00:00:00Z</eventTime>)"
      R"(</TransformationEvent><extension><AssociationEvent><eventTime>2021-01-01T00:00:00Z)"
      R"(</eventTime><parentID>urn:epc:id:grai:4012345.55555.987</parentID><action>ADD</action>)"
      R"(</AssociationEvent></extension></extension>)"
      R"(</EventList></resultsBody></q:QueryResults></EPCISBody></q:EPCISQueryDocument>)");
  EXPECT_EQ(document.at("/type"), "EPCISQueryDocument");
  const std::string events = "/epcisBody/queryResults/resultsBody/eventList";
  EXPECT_EQ(document.at(events + "/0/type"), "ObjectEvent");
  EXPECT_EQ(document.at(events + "/1/type"), "TransformationEvent");
  EXPECT_EQ(document.at(events + "/2/type"), "AssociationEvent");
  EXPECT_EQ(document.at(events + "/2/parentID"), "urn:epc:id:grai:4012345.55555.987");
  EXPECT_EQ(document.at(events + "/3"), "<missing>");
}

TEST(XmlBindingMapping, Epcis20ExtensionElementsKeepTheirStructure) {
  ConvertedDocument document(read_text(kEpcisDir / "XML/WithExtension/ObjectEvent.xml"));
  EXPECT_EQ(document.at("/epcisBody/eventList/0/example:userElement"),
            R"({"anotherElement":"elementData"})");
  EXPECT_EQ(document.at("/epcisBody/eventList/1/ilmd/example:userIlmd"),
            R"({"part1":"1","part2":"2","part3":"3"})");
  EXPECT_EQ(document.at("/epcisBody/eventList/1/example:extension"), R"({"futureExtension":""})");
  EXPECT_EQ(document.at("/@context/1/example"), "http://ns.example.com/epcis");
}

TEST(XmlBindingMapping, IgnoreFieldsBecomeAList) {
  ConvertedDocument document(read_text(kHashDir / "epcisXmlDocHavingEventWithIgnoreFields.xml"));
  EXPECT_EQ(document.at("/repository-x:ignoreFields"),
            R"(["example:testField1","example:testField2"])");
  // An empty <epcList/> is left out, as the hash cases expect.
  EXPECT_EQ(document.at("/epcisBody/eventList/0/epcList"), "<missing>");
}

TEST(XmlBindingMapping, ConcurrentConversionsAgree) {
  const std::string xml = read_text(kHashDir / "epcisDocWithVariousEventTypes.xml");
  Result<std::string> expected = xml_document_to_json(xml);
  ASSERT_TRUE(expected.is_ok());
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < mismatches.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 25; ++round) {
        Result<std::string> json = xml_document_to_json(xml);
        if (!json.is_ok() || *json != *expected) ++mismatches[t];
        // Errors go to each parse's own state, never to another thread's.
        if (xml_document_to_json("<a>").is_ok()) ++mismatches[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches, std::vector<int>(4, 0));
}

// ---- (d) hostile and malformed XML ----

struct Refusal {
  StatusCode code;
  std::string message;
};

Refusal refuse(std::string_view xml, const XmlBindingLimits& limits = {}) {
  Result<std::string> json = xml_document_to_json(xml, limits);
  EXPECT_FALSE(json.is_ok()) << "accepted: " << *json;
  if (json.is_ok()) return {StatusCode::kOk, ""};
  return {json.status().code(), json.status().message()};
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST(XmlBindingHostile, ExternalEntityIsRefused) {
  Refusal refusal = refuse(
      "<?xml version=\"1.0\"?>\n<!DOCTYPE d [\n<!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n" +
      document_with_events("", "<ObjectEvent><eventTime>&xxe;</eventTime></ObjectEvent>"));
  EXPECT_EQ(refusal.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(refusal.message, "entity 'xxe'")) << refusal.message;
  EXPECT_TRUE(contains(refusal.message, "(line 3)")) << refusal.message;
  EXPECT_FALSE(contains(refusal.message, "root:")) << refusal.message;
}

TEST(XmlBindingHostile, ParameterEntityAndExternalDtdAreNotFetched) {
  Refusal parameter =
      refuse("<!DOCTYPE d [<!ENTITY % pe SYSTEM \"http://127.0.0.1:9/evil.dtd\"> %pe;]>" +
             document_with_events("", ""));
  EXPECT_TRUE(contains(parameter.message, "entity 'pe'")) << parameter.message;
  // An external subset is not loaded, so &undeclared; stays unresolved and is refused.
  Refusal external = refuse("<!DOCTYPE d SYSTEM \"http://127.0.0.1:9/evil.dtd\">" +
                            document_with_events("", "<ObjectEvent>&undeclared;</ObjectEvent>"));
  EXPECT_EQ(external.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(external.message, "undeclared")) << external.message;
  EXPECT_TRUE(contains(external.message, "/EPCISDocument/EPCISBody/EventList/ObjectEvent"))
      << external.message;
}

TEST(XmlBindingHostile, BillionLaughsIsRefused) {
  std::string dtd = "<!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  for (int level = 1; level <= 9; ++level) {
    std::string previous = level == 1 ? "lol" : "lol" + std::to_string(level - 1);
    dtd += "<!ENTITY lol" + std::to_string(level) + " \"";
    for (int i = 0; i < 10; ++i) dtd += "&" + previous + ";";
    dtd += "\">";
  }
  dtd += "]>";
  Refusal refusal = refuse(dtd + document_with_events("",
                                                      "<ObjectEvent><eventTime>&lol9;"
                                                      "</eventTime></ObjectEvent>"));
  EXPECT_EQ(refusal.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(refusal.message, "entity 'lol'")) << refusal.message;
}

TEST(XmlBindingHostile, DeepNestingIsRefused) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "<x:n>";
  for (int i = 0; i < 10000; ++i) deep += "</x:n>";
  Refusal parser_limit = refuse(document_with_events(
      R"(xmlns:x="https://x.example/")",
      "<ObjectEvent><eventTime>2020-01-01T00:00:00Z</eventTime>" + deep + "</ObjectEvent>"));
  EXPECT_EQ(parser_limit.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(parser_limit.message, "/EPCISDocument/EPCISBody/EventList/ObjectEvent/x:n"))
      << parser_limit.message.substr(0, 300);
  EXPECT_TRUE(contains(parser_limit.message, "(line 1)")) << parser_limit.message.substr(0, 300);

  std::string moderate;
  for (int i = 0; i < 70; ++i) moderate += "<x:n>";
  for (int i = 0; i < 70; ++i) moderate += "</x:n>";
  Refusal own_limit = refuse(document_with_events(R"(xmlns:x="https://x.example/")",
                                                  "<ObjectEvent>" + moderate + "</ObjectEvent>"));
  EXPECT_TRUE(contains(own_limit.message, "nested deeper than 64")) << own_limit.message;
  XmlBindingLimits generous;
  generous.max_depth = 100;
  EXPECT_TRUE(
      xml_document_to_json(document_with_events(R"(xmlns:x="https://x.example/")",
                                                "<ObjectEvent>" + moderate + "</ObjectEvent>"),
                           generous)
          .is_ok());
}

TEST(XmlBindingHostile, NotWellFormedNamesPathAndLine) {
  Refusal refusal = refuse(
      document_with_events("",
                           "\n<ObjectEvent><action>ADD</action></ObjectEvent>\n<ObjectEvent>\n"
                           "<eventTime>2020-01-01T00:00:00Z</eventTme>\n</ObjectEvent>"));
  EXPECT_EQ(refusal.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      contains(refusal.message, "/EPCISDocument/EPCISBody/EventList/ObjectEvent[2]/eventTime"))
      << refusal.message;
  EXPECT_TRUE(contains(refusal.message, "(line 4)")) << refusal.message;
  EXPECT_EQ(refuse("").message, "/ (line 1): Document is empty");
  EXPECT_EQ(refuse("<a>").code, StatusCode::kInvalidArgument);
  EXPECT_EQ(refuse("not xml at all").code, StatusCode::kInvalidArgument);
}

TEST(XmlBindingHostile, WrongRootIsRefused) {
  Refusal other = refuse("<html><body/></html>");
  EXPECT_TRUE(contains(other.message, "/html (line 1): not an EPCIS document")) << other.message;
  Refusal wrong_namespace =
      refuse(R"(<EPCISDocument xmlns="urn:example"><EPCISBody/></EPCISDocument>)");
  EXPECT_TRUE(contains(wrong_namespace.message, "{urn:example}EPCISDocument"))
      << wrong_namespace.message;
}

TEST(XmlBindingHostile, InvalidUtf8IsRefused) {
  Refusal refusal = refuse(document_with_events(
      "", "<ObjectEvent>\n<eventTime>2020-01-01T00:00:00Z\xff\xfe</eventTime></ObjectEvent>"));
  EXPECT_EQ(refusal.code, StatusCode::kInvalidArgument);
  EXPECT_TRUE(contains(refusal.message, "UTF-8")) << refusal.message;
  EXPECT_TRUE(contains(refusal.message, "(line 2)")) << refusal.message;
}

TEST(XmlBindingHostile, SizeLimit) {
  XmlBindingLimits small;
  small.max_document_bytes = 100;
  Refusal refusal = refuse(document_with_events("", ""), small);
  EXPECT_EQ(refusal.code, StatusCode::kResourceExhausted);
}

TEST(XmlBindingErrors, InvalidContentNamesTheElement) {
  auto event = [](std::string_view body) {
    return document_with_events("",
                                "<ObjectEvent><action>ADD</action></ObjectEvent>"
                                "<ObjectEvent>" +
                                    std::string(body) + "</ObjectEvent>");
  };
  const std::string path = "/EPCISDocument/EPCISBody/EventList/ObjectEvent[2]/";
  EXPECT_TRUE(contains(refuse(event("<bogus/>")).message, path + "bogus (line 1): unexpected"));
  EXPECT_TRUE(contains(refuse(event("<eventTime><b/></eventTime>")).message,
                       path + "eventTime/b (line 1)"));
  EXPECT_TRUE(contains(refuse(event("<action>ADD</action><action>ADD</action>")).message,
                       path + "action[2] (line 1): repeated element action"));
  EXPECT_TRUE(contains(
      refuse(event("<quantityList><quantityElement><epcClass>c</epcClass><quantity>lots</quantity>"
                   "</quantityElement></quantityList>"))
          .message,
      path + "quantityList/quantityElement/quantity (line 1): quantity is not a decimal"));
  EXPECT_TRUE(
      contains(refuse(event(R"(<sensorElementList><sensorElement><sensorReport value="INF"/>)"
                            "</sensorElement></sensorElementList>"))
                   .message,
               "not a finite number"));
  EXPECT_TRUE(contains(refuse(document_with_events("", "<QuantityEvent/>")).message,
                       "QuantityEvent (deprecated"));
  EXPECT_TRUE(
      contains(refuse(R"(<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2"/>)").message,
               "no EPCISBody"));
}

// Many children with distinct names, each in its own default namespace:
// object members and made-up prefixes are found in constant time, so this
// converts quickly (quadratic lookups took seconds here).
TEST(XmlBindingHostile, WideDocumentsConvertInLinearTime) {
  constexpr int kChildren = 20000;
  std::string children;
  for (int i = 0; i < kChildren; ++i) {
    std::string n = std::to_string(i);
    children += "<c" + n + " xmlns=\"urn:x:" + n + "\">" + n + "</c" + n + ">";
  }
  auto started = std::chrono::steady_clock::now();
  ConvertedDocument document(
      document_with_events(R"(xmlns:w="https://w.example/")",
                           "<ObjectEvent><w:wide>" + children + "</w:wide></ObjectEvent>"));
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(document.at("/epcisBody/eventList/0/w:wide/ns1:c0"), "0");
  EXPECT_EQ(document.at("/epcisBody/eventList/0/w:wide/ns20000:c19999"), "19999");
  EXPECT_EQ(document.at("/@context/1/ns20000"), "urn:x:19999");
  EXPECT_LT(seconds, 30.0);
}

// Truncations and byte flips of a corpus file: any result, but no crash
// (run under the sanitizer build in CI).
TEST(XmlBindingHostile, DamagedCorpusFilesNeverCrash) {
  const std::string xml = read_text(kHashDir / "SensorDataExamples.xml");
  ASSERT_FALSE(xml.empty());
  size_t refused = 0;
  for (size_t cut = 0; cut < xml.size(); cut += 97) {
    refused += xml_document_to_json(std::string_view(xml).substr(0, cut)).is_ok() ? 0 : 1;
  }
  EXPECT_GT(refused, 0u);
  uint32_t seed = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string damaged = xml;
    for (int flip = 0; flip < 4; ++flip) {
      seed = seed * 1103515245u + 12345u;
      damaged[seed % damaged.size()] = static_cast<char>(seed >> 24);
    }
    Result<std::string> json = xml_document_to_json(damaged);
    if (!json.is_ok()) {
      ++refused;
      continue;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element document;
    EXPECT_EQ(parser.parse(*json).get(document), simdjson::SUCCESS) << "invalid JSON out";
  }
}

}  // namespace
}  // namespace custos::epcis
