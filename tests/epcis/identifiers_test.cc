#include "custos/epcis/identifiers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace custos::epcis {
namespace {

Identifier parse_ok(std::string_view uri) {
  auto parsed = parse_identifier(uri);
  EXPECT_TRUE(parsed.is_ok()) << uri << ": " << parsed.status().to_string();
  return parsed.is_ok() ? *parsed : Identifier{};
}

// Expects InvalidArgument whose message contains `fragment`.
void expect_refused(std::string_view uri, std::string_view fragment) {
  auto parsed = parse_identifier(uri);
  ASSERT_FALSE(parsed.is_ok()) << uri << " parsed as " << parsed->canonical;
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find(fragment), std::string::npos)
      << uri << ": " << parsed.status().message();
}

std::string urn_of(std::string_view uri, int prefix_length) {
  auto urn = to_epc_urn(parse_ok(uri), prefix_length);
  EXPECT_TRUE(urn.is_ok()) << uri << ": " << urn.status().to_string();
  return urn.is_ok() ? *urn : std::string();
}

TEST(CheckDigitTest, Gs1Examples) {
  EXPECT_EQ(gs1_check_digit("1061414107346"), '4');
  EXPECT_EQ(gs1_check_digit("10614141234567890"), '8');
  EXPECT_EQ(gs1_check_digit("061414107346"), '7');
  EXPECT_EQ(gs1_check_digit("0952114112345"), '4');
  EXPECT_EQ(gs1_check_digit("9638507"), '4');  // GTIN-8 96385074
  EXPECT_EQ(gs1_check_digit(""), '0');
}

// Pairs from TDS 2.x and the EPCIS 2.0 examples: URN, Digital Link, prefix length.
struct KnownPair {
  const char* urn;
  const char* link;
  IdentifierKind kind;
  int prefix_length;
};

const KnownPair kKnownPairs[] = {
    {"urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464/21/2017",
     IdentifierKind::kSgtin, 7},
    {"urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908",
     IdentifierKind::kSscc, 7},
    {"urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234",
     IdentifierKind::kSgln, 7},
    {"urn:epc:id:sgln:0614141.07346.0", "https://id.gs1.org/414/0614141073467",
     IdentifierKind::kSgln, 7},
    {"urn:epc:id:pgln:0614141.07346", "https://id.gs1.org/417/0614141073467", IdentifierKind::kPgln,
     7},
    {"urn:epc:id:grai:0614141.12345.400", "https://id.gs1.org/8003/00614141123452400",
     IdentifierKind::kGrai, 7},
    {"urn:epc:id:giai:0614141.12345400", "https://id.gs1.org/8004/061414112345400",
     IdentifierKind::kGiai, 7},
    {"urn:epc:id:gsrn:0614141.1234567890", "https://id.gs1.org/8018/061414112345678902",
     IdentifierKind::kGsrn, 7},
    {"urn:epc:id:gdti:0614141.12345.400", "https://id.gs1.org/253/0614141123452400",
     IdentifierKind::kGdti, 7},
    {"urn:epc:class:lgtin:4012345.012345.998877", "https://id.gs1.org/01/04012345123456/10/998877",
     IdentifierKind::kLgtin, 7},
    {"urn:epc:idpat:sgtin:4012345.098765.*", "https://id.gs1.org/01/04012345987652",
     IdentifierKind::kGtin, 7},
    // The other TDS 2.x schemes, as the CBV 2.0 hash test vectors convert them
    // (tests/data/epcis/hash/epclist_normalisation.*).
    {"urn:epc:id:gsrnp:4012345.0000000007", "https://id.gs1.org/8017/401234500000000074",
     IdentifierKind::kGsrnp, 7},
    {"urn:epc:id:gsin:4012345.222333444", "https://id.gs1.org/402/40123452223334442",
     IdentifierKind::kGsin, 7},
    {"urn:epc:id:ginc:0614141.xyz47%2F11", "https://id.gs1.org/401/0614141xyz47%2F11",
     IdentifierKind::kGinc, 7},
    {"urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234",
     "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234", IdentifierKind::kCpi, 7},
    {"urn:epc:id:itip:4012345.011111.01.02.987",
     "https://id.gs1.org/8006/040123451111180102/21/987", IdentifierKind::kItip, 7},
    {"urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7'SDB",
     "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7%27SDB",
     IdentifierKind::kUpui, 7},
};

TEST(IdentifierTest, KnownPairsConvertBothWays) {
  for (const auto& pair : kKnownPairs) {
    Identifier from_urn = parse_ok(pair.urn);
    Identifier from_link = parse_ok(pair.link);
    EXPECT_EQ(from_urn.kind, pair.kind) << pair.urn;
    EXPECT_EQ(from_urn.canonical, pair.link) << pair.urn;
    EXPECT_EQ(from_urn.original, pair.urn);
    EXPECT_TRUE(same_identifier(from_urn, from_link)) << pair.urn;
    EXPECT_EQ(urn_of(pair.link, pair.prefix_length), pair.urn);
  }
}

TEST(IdentifierTest, DigitalLinkOnAnyDomainAndPrefixIsTheSameObject) {
  Identifier urn = parse_ok("urn:epc:id:sgtin:0614141.107346.2017");
  for (const char* link : {
           "https://example.com/01/10614141073464/21/2017",
           "http://brand.example/products/a/b/01/10614141073464/21/2017?linkType=all#x",
           "https://id.gs1.org/01/10614141073464/10/LOT9/21/2017",  // lot beside serial
           "https://id.gs1.org/01/10614141073464/21/2017/",
           "HTTPS://ID.GS1.ORG/01/10614141073464/21/%32017",
       }) {
    Identifier other = parse_ok(link);
    EXPECT_EQ(other.kind, IdentifierKind::kSgtin) << link;
    EXPECT_TRUE(same_identifier(urn, other)) << link << " -> " << other.canonical;
  }
  EXPECT_FALSE(same_identifier(urn, parse_ok("urn:epc:id:sgtin:0614141.107346.2018")));
}

TEST(IdentifierTest, GtinShorterFormsArePadded) {
  // GTIN-13 9521141123454, GTIN-12 614141000036, GTIN-8 96385074.
  EXPECT_EQ(parse_ok("https://x.example/01/9521141123454/21/ABC").canonical,
            "https://id.gs1.org/01/09521141123454/21/ABC");
  EXPECT_EQ(parse_ok("https://x.example/01/614141000036").canonical,
            "https://id.gs1.org/01/00614141000036");
  EXPECT_EQ(parse_ok("https://x.example/01/96385074/10/L1").canonical,
            "https://id.gs1.org/01/00000096385074/10/L1");
  EXPECT_EQ(urn_of("https://id.gs1.org/01/09521141123454/21/ABC", 7),
            "urn:epc:id:sgtin:9521141.012345.ABC");
}

TEST(IdentifierTest, SerialsArePercentEncodedCanonically) {
  // TDS: / must be escaped in a URN; the canonical form escapes all but
  // unreserved characters, so every spelling of a serial meets in one string.
  Identifier urn = parse_ok("urn:epc:id:sgtin:0614141.107346.A%2FB!(c)*+,:;=1.2_-'");
  EXPECT_EQ(urn.canonical,
            "https://id.gs1.org/01/10614141073464/21/A%2FB%21%28c%29%2A%2B%2C%3A%3B%3D1.2_-%27");
  Identifier link = parse_ok("https://id.gs1.org/01/10614141073464/21/A%2fB!(c)*+,:;=1.2_-'");
  EXPECT_TRUE(same_identifier(urn, link)) << link.canonical;
  EXPECT_EQ(*to_epc_urn(link, 7), "urn:epc:id:sgtin:0614141.107346.A%2FB!(c)*+,:;=1.2_-'");
  // Characters that must be escaped in a URN round-trip as escapes.
  Identifier escaped = parse_ok("urn:epc:id:sgtin:0614141.107346.%22%25%26%3C%3E%3F");
  EXPECT_EQ(escaped.canonical, "https://id.gs1.org/01/10614141073464/21/%22%25%26%3C%3E%3F");
  EXPECT_EQ(*to_epc_urn(escaped, 7), "urn:epc:id:sgtin:0614141.107346.%22%25%26%3C%3E%3F");
  // A dot belongs to the serial: only the first two dots separate fields.
  EXPECT_EQ(parse_ok("urn:epc:id:sgtin:0614141.107346.1.2").canonical,
            "https://id.gs1.org/01/10614141073464/21/1.2");
}

TEST(IdentifierTest, UrnToDigitalLinkEscapesAsAsked) {
  const char* urn = "urn:epc:id:sgtin:0614141.107346.A%2FB!(c)*'1";
  EXPECT_EQ(*epc_urn_to_digital_link(urn), parse_ok(urn).canonical);
  EXPECT_EQ(*epc_urn_to_digital_link(urn, DigitalLinkEscaping::kCanonical),
            "https://id.gs1.org/01/10614141073464/21/A%2FB%21%28c%29%2A%271");
  // The event hash vectors keep "'" bare and escape everything else the same.
  EXPECT_EQ(*epc_urn_to_digital_link(urn, DigitalLinkEscaping::kEventHash),
            "https://id.gs1.org/01/10614141073464/21/A%2FB%21%28c%29%2A'1");
  EXPECT_EQ(
      *epc_urn_to_digital_link("urn:epc:id:sgln:4012345.00005.0", DigitalLinkEscaping::kEventHash),
      "https://id.gs1.org/414/4012345000054");
  // Only EPC URNs of the modelled schemes have a Digital Link here.
  for (const char* other : {"urn:epc:id:gid:95100000.12345.400", "urn:epc:idpat:sgtin:4012345.*.*",
                            "https://id.gs1.org/01/10614141073464/21/1", "urn:example:1"}) {
    auto refused = epc_urn_to_digital_link(other);
    ASSERT_FALSE(refused.is_ok()) << other;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument) << other;
  }
  auto malformed = epc_urn_to_digital_link("urn:epc:id:sgtin:0614141.10734.1");
  ASSERT_FALSE(malformed.is_ok());
  EXPECT_NE(malformed.status().message().find("must be 13 digits"), std::string::npos);
}

TEST(IdentifierTest, OtherSchemesFollowTheirTdsRules) {
  expect_refused("urn:epc:id:gsrnp:4012345.000000007", "must be 17 digits");
  expect_refused("urn:epc:id:gsin:4012345.22233344", "must be 16 digits");
  expect_refused("urn:epc:id:itip:4012345.011111.1.02.987", "piece number '1' must be 2 digits");
  expect_refused("urn:epc:id:itip:4012345.011111.01.02", "expected CompanyPrefix");
  expect_refused("urn:epc:id:upui:1234567.098765.12345678901234567890123456789", "at most 28");
  expect_refused("urn:epc:id:cpi:0614141.abc.1", "outside set 39");
  expect_refused("urn:epc:id:cpi:0614141.A/B.1", "unescaped '/'");
  expect_refused("urn:epc:id:cpi:0614141.AB.12A", "CPI serial '12A' must be 1 to 12 digits");
  expect_refused("urn:epc:id:cpi:0614141.AB.1234567890123", "must be 1 to 12 digits");
  expect_refused("urn:epc:id:cpi:0614141.12345678901234567890123A.1", "1 to 30 characters");
  expect_refused("urn:epc:id:ginc:0614141.12345678901234567890123A", "at most 30");
  expect_refused("https://id.gs1.org/8017/401234500000000075", "expected 4");
  expect_refused("https://id.gs1.org/402/40123452223334443", "expected 2");
  expect_refused("https://id.gs1.org/8006/040123451111170102/21/987", "expected 8");
  expect_refused("https://id.gs1.org/8006/0401234511111801/21/987", "must be 18 digits");
  expect_refused("https://id.gs1.org/8010/0614141ab/8011/1", "outside set 39");
  expect_refused("https://id.gs1.org/01/01234567987651/235/%7E", "outside the GS1 AI encodable");
  // A lot beside an ITIP serial is redundant, as it is beside a GTIN's.
  EXPECT_EQ(parse_ok("https://id.gs1.org/8006/040123451111180102/10/L1/21/987").canonical,
            "https://id.gs1.org/8006/040123451111180102/21/987");
  // Class-level CPI and ITIP, and a TPX beside a serial, are not modelled.
  for (const char* opaque :
       {"https://id.gs1.org/8010/0614141AB", "https://id.gs1.org/8006/040123451111180102",
        "https://id.gs1.org/01/01234567987651/21/1/235/X"}) {
    EXPECT_EQ(parse_ok(opaque).kind, IdentifierKind::kOpaque) << opaque;
  }
}

TEST(IdentifierTest, SglnExtensionZeroMeansNone) {
  EXPECT_TRUE(same_identifier(parse_ok("https://id.gs1.org/414/0614141073467/254/0"),
                              parse_ok("urn:epc:id:sgln:0614141.07346.0")));
  EXPECT_EQ(urn_of("https://id.gs1.org/414/9506000134307", 7), "urn:epc:id:sgln:9506000.13430.0");
  // A 12-digit company prefix leaves an empty location reference.
  EXPECT_EQ(parse_ok("urn:epc:id:sgln:061414107346..0").canonical,
            "https://id.gs1.org/414/0614141073467");
  EXPECT_EQ(urn_of("https://id.gs1.org/414/0614141073467", 12), "urn:epc:id:sgln:061414107346..0");
}

TEST(IdentifierTest, RefusesBadCheckDigits) {
  expect_refused("https://id.gs1.org/01/10614141073465/21/2017", "check digit 5, expected 4");
  expect_refused("https://id.gs1.org/00/106141412345678909", "expected 8");
  expect_refused("https://id.gs1.org/414/0614141073461", "expected 7");
  expect_refused("https://id.gs1.org/8018/061414112345678903", "expected 2");
  expect_refused("https://id.gs1.org/8003/00614141123453400", "expected 2");
  expect_refused("https://id.gs1.org/253/0614141123453400", "expected 2");
}

TEST(IdentifierTest, RefusesWrongDigitCounts) {
  expect_refused("urn:epc:id:sgtin:0614141.10734.2017", "must be 13 digits, got 12");
  expect_refused("urn:epc:id:sscc:0614141.123456789", "must be 17 digits, got 16");
  expect_refused("urn:epc:id:sgln:0614141.0734.1", "must be 12 digits, got 11");
  expect_refused("urn:epc:id:gsrn:0614141.123456789", "must be 17 digits");
  expect_refused("urn:epc:id:sgtin:06141.1073460.1", "company prefix '06141' must be 6 to 12");
  expect_refused("urn:epc:id:sgtin:0614141.10734A.1", "must be digits");
  expect_refused("urn:epc:id:sgtin:0614141.107346", "expected CompanyPrefix.IndicatorItemRef");
  expect_refused("https://id.gs1.org/01/1061414107346/21/1", "expected 0");  // 13 digits, bad check
  expect_refused("https://id.gs1.org/01/106141410734/21/1", "check digit");
  expect_refused("https://id.gs1.org/01/1061414107/21/1", "must be 8, 12, 13 or 14 digits");
  expect_refused("https://id.gs1.org/00/10614141234567890", "must be 18 digits");
  expect_refused("https://id.gs1.org/8003/10614141123452400", "must start with the digit 0");
}

TEST(IdentifierTest, RefusesBadCharactersAndLengths) {
  expect_refused("urn:epc:id:sgtin:0614141.107346.A/B", "unescaped '/'");
  expect_refused("urn:epc:id:sgtin:0614141.107346.A%2", "malformed percent escape");
  expect_refused("urn:epc:id:sgtin:0614141.107346.A%7E", "outside the GS1 AI encodable");
  expect_refused("urn:epc:id:sgtin:0614141.107346.123456789012345678901", "at most 20");
  expect_refused("urn:epc:id:sgtin:0614141.107346.", "serial is empty");
  expect_refused("urn:epc:id:grai:0614141.12345.12345678901234567", "at most 16");
  expect_refused("urn:epc:id:giai:0614141.12345678901234567890123A", "at most 30");
  expect_refused("https://id.gs1.org/01/10614141073464/21/A%23", "outside the GS1 AI encodable");
  expect_refused("https://id.gs1.org/01/10614141073464/10/%C3%A9", "outside the GS1 AI encodable");
}

TEST(IdentifierTest, OtherUrisAreOpaque) {
  for (const char* uri : {
           "urn:example:thing:42",
           "https://example.com/products/42",
           "https://example.com/01/10614141073464/99/x",         // not a key path
           "https://id.gs1.org/01/10614141073464/22/CPV1/21/1",  // CPV not modelled
           "urn:epc:id:gid:95100000.12345.400",                  // EPC scheme not modelled
           "urn:epc:idpat:sgtin:4012345.*.*",
           "mailto:someone@example.com",
       }) {
    Identifier id = parse_ok(uri);
    EXPECT_EQ(id.kind, IdentifierKind::kOpaque) << uri;
    EXPECT_EQ(id.canonical, uri);
    EXPECT_EQ(id.original, uri);
    EXPECT_FALSE(to_epc_urn(id, 7).is_ok());
  }
}

TEST(IdentifierTest, RefusesNonUris) {
  expect_refused("", "empty");
  expect_refused("urn:epc:id:sgtin:0614141.107346.20 17",
                 "space or control character at offset 34");
  expect_refused("0614141.107346.2017", "no scheme");
  expect_refused(":abc", "no scheme");
  expect_refused("1urn:x", "no scheme");
  expect_refused("urn:", "no scheme");
}

TEST(IdentifierTest, ToEpcUrnChecksPrefixLength) {
  Identifier id = parse_ok("https://id.gs1.org/00/106141412345678908");
  EXPECT_FALSE(to_epc_urn(id, 5).is_ok());
  EXPECT_FALSE(to_epc_urn(id, 13).is_ok());
  EXPECT_EQ(*to_epc_urn(id, 9), "urn:epc:id:sscc:061414123.14567890");
  EXPECT_FALSE(to_epc_urn(parse_ok("https://id.gs1.org/8004/ABC123"), 7).is_ok());
  EXPECT_FALSE(to_epc_urn(parse_ok("https://id.gs1.org/8003/00614141123452"), 7).is_ok());
}

// Every EPC URN and id.gs1.org Digital Link in the EPCIS 2.0 example documents
// (GS1 EPCIS repository, tests/data/epcis/JSON) must parse as a GS1 key.
TEST(IdentifierTest, EpcisExampleDocumentsParse) {
  const std::regex pattern(R"re("((urn:epc:(id|class|idpat):|https://id\.gs1\.org/)[^"]*)")re");
  std::set<std::string> seen;
  size_t files = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(CUSTOS_TEST_DATA_DIR "/epcis/JSON")) {
    auto extension = entry.path().extension();
    if (!entry.is_regular_file() || (extension != ".jsonld" && extension != ".json")) continue;
    ++files;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    std::string content = text.str();
    for (std::sregex_iterator it(content.begin(), content.end(), pattern), end; it != end; ++it) {
      seen.insert((*it)[1].str());
    }
  }
  EXPECT_GT(files, 30u);
  EXPECT_GT(seen.size(), 100u);
  for (const auto& uri : seen) {
    auto parsed = parse_identifier(uri);
    ASSERT_TRUE(parsed.is_ok()) << uri << ": " << parsed.status().to_string();
    EXPECT_NE(parsed->kind, IdentifierKind::kOpaque) << uri;
  }
  // The Digital Link examples name the same objects as their URN twins.
  EXPECT_TRUE(same_identifier(parse_ok("https://id.gs1.org/8004/4000001111"),
                              parse_ok("urn:epc:id:giai:4000001.111")));
}

}  // namespace
}  // namespace custos::epcis
