// CBV 2.0 event hash IDs against the epcis-event-hash-generator test cases in
// tests/data/epcis/hash (MIT): for every JSON-LD input, each event's pre-hash
// string and hash ID must equal the corresponding line of .prehashes/.hashes.
#include "custos/epcis/event_hash.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "custos/crypto/sha256.h"
#include "support/test_files.h"

namespace custos::epcis {
namespace {

namespace fs = std::filesystem;

const fs::path kHashDir = fs::path(CUSTOS_TEST_DATA_DIR) / "epcis" / "hash";

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

std::vector<std::string> jsonld_stems() {
  std::vector<std::string> stems;
  for (const auto& entry : fs::directory_iterator(kHashDir)) {
    if (entry.path().extension() == ".jsonld") stems.push_back(entry.path().stem().string());
  }
  std::sort(stems.begin(), stems.end());
  return stems;
}

// Where two strings first differ, with some context either side.
std::string first_difference(const std::string& expected, const std::string& actual) {
  size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  size_t from = i > 60 ? i - 60 : 0;
  return "first difference at offset " + std::to_string(i) + "\n  expected: ..." +
         expected.substr(from, 140) + "\n  actual:   ..." + actual.substr(from, 140);
}

// .prehashes lines that do not hash to the matching .hashes line: stale in the
// upstream data (they describe another event), so only the hash is checked.
const std::set<std::string> kStalePrehashes = {
    "epcisDocWithCustomSchemaInContext#1",
    "epcisDocWithDefaultSchemaInContext#1",
};

class EventHashCase : public ::testing::TestWithParam<std::string> {};

TEST_P(EventHashCase, PrehashesAndHashesMatch) {
  const std::string stem = GetParam();
  Result<std::vector<std::string>> prehashes =
      document_event_prehashes(read_text(kHashDir / (stem + ".jsonld")));
  ASSERT_TRUE(prehashes.is_ok()) << prehashes.status().message();

  std::vector<std::string> expected_hashes = read_lines(kHashDir / (stem + ".hashes"));
  const fs::path prehash_file = kHashDir / (stem + ".prehashes");
  if (fs::exists(prehash_file)) {
    std::vector<std::string> expected = read_lines(prehash_file);
    ASSERT_EQ(expected.size(), prehashes->size()) << "event count";
    ASSERT_EQ(expected.size(), expected_hashes.size()) << ".prehashes and .hashes disagree";
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::string key = stem + "#" + std::to_string(i);
      const bool consistent = event_hash_from_prehash(expected[i]) == expected_hashes[i];
      EXPECT_EQ(consistent, !kStalePrehashes.contains(key))
          << key << ": kStalePrehashes is out of date";
      if (!consistent) continue;
      ASSERT_EQ(expected[i], (*prehashes)[i])
          << "event " << i << " pre-hash: " << first_difference(expected[i], (*prehashes)[i]);
    }
  }

  Result<std::vector<std::string>> hashes =
      document_event_hashes(read_text(kHashDir / (stem + ".jsonld")));
  ASSERT_TRUE(hashes.is_ok()) << hashes.status().message();
  ASSERT_EQ(expected_hashes.size(), hashes->size()) << "event count";
  for (size_t i = 0; i < expected_hashes.size(); ++i) {
    EXPECT_EQ(expected_hashes[i], (*hashes)[i]) << "event " << i << " hash";
  }
}

INSTANTIATE_TEST_SUITE_P(HashData, EventHashCase, ::testing::ValuesIn(jsonld_stems()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

TEST(EventHash, FindsTheTestCases) { EXPECT_GE(jsonld_stems().size(), 16u); }

TEST(EventHash, HashIsSha256OfPrehash) {
  EXPECT_EQ(
      event_hash_from_prehash("abc"),
      "ni:///sha-256;ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad?ver=CBV2.0");
}

TEST(EventHash, SingleEventOutsideADocument) {
  Result<std::string> prehash = event_prehash(R"({"type": "ObjectEvent",
      "eventTime": "2020-03-04T11:00:30.0004+01:00", "eventTimeZoneOffset": "+01:00",
      "epcList": ["urn:epc:id:sgtin:4012345.011111.9876"], "action": "OBSERVE",
      "bizStep": "urn:epcglobal:cbv:bizstep:shipping", "recordTime": "2020-03-04T11:00:31Z",
      "readPoint": {"id": "geo:50.9,6.9"}})");
  ASSERT_TRUE(prehash.is_ok()) << prehash.status().message();
  EXPECT_EQ(*prehash,
            "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00"
            "epcListepc=https://id.gs1.org/01/04012345111118/21/9876action=OBSERVE"
            "bizStep=https://ref.gs1.org/cbv/BizStep-shippingreadPointid=geo:50.9,6.9");
  Result<std::string> hash = event_hash(R"({"type": "ObjectEvent", "action": "OBSERVE"})");
  ASSERT_TRUE(hash.is_ok());
  EXPECT_EQ(*hash, event_hash_from_prehash("eventType=ObjectEventaction=OBSERVE"));
}

TEST(EventHash, TimestampsRollOverWhenRounded) {
  Result<std::string> prehash =
      event_prehash(R"({"type": "ObjectEvent", "eventTime": "2020-12-31T23:59:59.9996Z"})");
  ASSERT_TRUE(prehash.is_ok());
  EXPECT_EQ(*prehash, "eventType=ObjectEventeventTime=2021-01-01T00:00:00.000Z");
}

// CBV 2.0 hash rules 17/18 hold in extensions too; rule 20 takes every
// element nested in an extension, a no-namespace one by its bare name.
TEST(EventHash, ExtensionValuesAndNestedNamesCount) {
  Result<std::string> prehash = event_prehash(R"({"type": "ObjectEvent",
      "@context": [{"ex": "https://ns.example.com/epcis/"}],
      "ex:machine": "urn:epc:id:giai:4012345.ABC", "ex:note": "urn:epc:id:sgtin:bad",
      "ex:part": {"epcClass": "urn:epc:class:lgtin:4012345.012345.L1", "ex:n": "1", "@id": "x"},
      "epcClass": "not an extension"})");
  ASSERT_TRUE(prehash.is_ok()) << prehash.status().message();
  EXPECT_EQ(
      *prehash,
      "eventType=ObjectEvent"
      "{https://ns.example.com/epcis/}machine=https://id.gs1.org/8004/4012345ABC"
      "{https://ns.example.com/epcis/}note=urn:epc:id:sgtin:bad"
      "{https://ns.example.com/epcis/}part"
      "epcClass=https://id.gs1.org/01/04012345123456/10/L1{https://ns.example.com/epcis/}n=1");
}

// The EPC URN schemes beyond the query model's (TDS 2.x: gsrnp, cpi, ginc,
// gsin, itip, upui) hash as Digital Links, "'" kept bare as the vectors have it.
TEST(EventHash, EveryEpcSchemeBecomesADigitalLink) {
  Result<std::string> prehash = event_prehash(R"({"type": "ObjectEvent", "epcList": [
      "urn:epc:id:upui:1234567.098765.A'B", "urn:epc:id:itip:4012345.011111.01.02.9'8"]})");
  ASSERT_TRUE(prehash.is_ok()) << prehash.status().message();
  EXPECT_EQ(*prehash,
            "eventType=ObjectEventepcList"
            "epc=https://id.gs1.org/01/01234567987651/235/A'B"
            "epc=https://id.gs1.org/8006/040123451111180102/21/9'8");
}

TEST(EventHash, RejectsMalformedInput) {
  EXPECT_FALSE(document_event_hashes("{not json").is_ok());
  EXPECT_FALSE(document_event_hashes(R"({"type": "EPCISDocument"})").is_ok());
  EXPECT_FALSE(
      document_event_hashes(R"({"epcisBody": {"eventList": [{"action": "ADD"}]}})").is_ok());
  EXPECT_FALSE(event_prehash(R"({"type": "ObjectEvent", "eventTime": "yesterday"})").is_ok());
  EXPECT_FALSE(
      event_prehash(R"({"type": "ObjectEvent", "eventTime": "2020-01-01T00:00:00"})").is_ok());
}

}  // namespace
}  // namespace custos::epcis
