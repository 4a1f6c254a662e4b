// EPC pattern URIs as conditions on canonical identifiers: every scheme's
// "CP.REF.*", "CP.*" and "*" forms, class-level sgtin patterns (GTIN and its
// lots), refusals, and a generated check that a key's own company prefix
// always matches and a changed one never does, at every prefix length.
#include "custos/epcis/epc_pattern.h"

#include <gtest/gtest.h>

#include <random>

#include "custos/epcis/identifiers.h"

namespace custos::epcis {
namespace {

std::vector<CanonicalPattern> patterns_of(std::string_view uri,
                                          PatternLevel level = PatternLevel::kInstance) {
  auto parsed = parse_epc_pattern(uri, level);
  EXPECT_TRUE(parsed.is_ok()) << uri << ": " << parsed.status().to_string();
  if (!parsed.is_ok() || !*parsed) {
    ADD_FAILURE() << uri << " is not read as a pattern";
    return {};
  }
  return **parsed;
}

bool matches(std::string_view pattern_uri, std::string_view identifier,
             PatternLevel level = PatternLevel::kInstance) {
  auto id = parse_identifier(identifier);
  EXPECT_TRUE(id.is_ok()) << identifier;
  for (const CanonicalPattern& pattern : patterns_of(pattern_uri, level)) {
    if (pattern_matches(pattern, id->canonical)) return true;
  }
  return false;
}

TEST(EpcPatternTest, SgtinPatternsAtTheInstanceLevel) {
  const std::string item = "urn:epc:id:sgtin:0614141.107346.2017";
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.107346.*", item));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.*.*", item));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:*.*.*", item));
  EXPECT_TRUE(matches("URN:EPC:IDPAT:SGTIN:0614141.107346.*", item));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.107346.2017", item));
  // The same item spelled as a Digital Link.
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.*.*", "https://example.com/01/10614141073464/21/2017"));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614141.107346.2018", item));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614141.107347.*", item));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614142.*.*", item));
  // Not an item: the GTIN class, a lot, another scheme.
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:class:lgtin:0614141.107346.L1"));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:*.*.*", "urn:epc:idpat:sgtin:0614141.107346.*"));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:*.*.*", "urn:epc:id:sscc:0614141.1234567890"));
}

TEST(EpcPatternTest, SgtinPatternsAtTheClassLevelMatchTheGtinAndItsLots) {
  const auto kClass = PatternLevel::kClass;
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:class:lgtin:0614141.107346.L1", kClass));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:idpat:sgtin:0614141.107346.*", kClass));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:0614141.*.*", "urn:epc:class:lgtin:0614141.107346.L1", kClass));
  EXPECT_TRUE(matches("urn:epc:idpat:sgtin:*.*.*", "urn:epc:class:lgtin:0614141.107346.L1", kClass));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614141.107346.*", "urn:epc:id:sgtin:0614141.107346.1", kClass));
  EXPECT_FALSE(matches("urn:epc:idpat:sgtin:0614141.107347.*", "urn:epc:class:lgtin:0614141.107346.L1", kClass));
}

TEST(EpcPatternTest, OtherSchemes) {
  const std::string pallet = "urn:epc:id:sscc:0614141.1234567890";
  EXPECT_TRUE(matches("urn:epc:idpat:sscc:0614141.*", pallet));
  EXPECT_TRUE(matches("urn:epc:idpat:sscc:*.*", pallet));
  EXPECT_FALSE(matches("urn:epc:idpat:sscc:0614142.*", pallet));

  EXPECT_TRUE(matches("urn:epc:idpat:sgln:0614141.00001.*", "urn:epc:id:sgln:0614141.00001.0"));
  EXPECT_TRUE(matches("urn:epc:idpat:sgln:0614141.00001.*", "urn:epc:id:sgln:0614141.00001.12"));
  EXPECT_TRUE(matches("urn:epc:idpat:sgln:0614141.*.*", "urn:epc:id:sgln:0614141.00001.12"));
  EXPECT_FALSE(matches("urn:epc:idpat:sgln:0614141.00002.*", "urn:epc:id:sgln:0614141.00001.0"));

  EXPECT_TRUE(matches("urn:epc:idpat:grai:0614141.12345.*", "urn:epc:id:grai:0614141.12345.400"));
  EXPECT_TRUE(matches("urn:epc:idpat:grai:0614141.*.*", "urn:epc:id:grai:0614141.12345.400"));
  EXPECT_FALSE(matches("urn:epc:idpat:grai:0614141.12346.*", "urn:epc:id:grai:0614141.12345.400"));

  EXPECT_TRUE(matches("urn:epc:idpat:giai:0614141.*", "urn:epc:id:giai:0614141.12345400"));
  EXPECT_TRUE(matches("urn:epc:idpat:giai:*.*", "urn:epc:id:giai:0614141.12345400"));
  EXPECT_FALSE(matches("urn:epc:idpat:giai:0614142.*", "urn:epc:id:giai:0614141.12345400"));

  EXPECT_TRUE(matches("urn:epc:idpat:gsrn:0614141.*", "urn:epc:id:gsrn:0614141.1234567890"));
  EXPECT_TRUE(matches("urn:epc:idpat:gdti:0614141.12345.*", "urn:epc:id:gdti:0614141.12345.006847"));
  EXPECT_FALSE(matches("urn:epc:idpat:gdti:0614141.12345.*", "urn:epc:id:grai:0614141.12345.006847"));
}

TEST(EpcPatternTest, NonPatternsAndMalformedPatterns) {
  for (std::string_view not_a_pattern :
       {"urn:epc:id:sgtin:0614141.107346.2017", "https://id.gs1.org/01/10614141073464", "urn:x:y"}) {
    auto parsed = parse_epc_pattern(not_a_pattern, PatternLevel::kInstance);
    ASSERT_TRUE(parsed.is_ok()) << not_a_pattern;
    EXPECT_FALSE(parsed->has_value()) << not_a_pattern;
  }
  for (std::string_view bad : {
           "urn:epc:idpat:sgtin:0614141.*.2017",   // a value after "*"
           "urn:epc:idpat:sgtin:*.107346.*",       // likewise
           "urn:epc:idpat:sgtin:06141.*.*",        // company prefix too short
           "urn:epc:idpat:sgtin:0614141.107346",   // a field missing
           "urn:epc:idpat:sgtin:0614141.10734.*",  // prefix + reference not 13 digits
           "urn:epc:idpat:cpi:0614141.*.*",        // a scheme not modelled
           "urn:epc:idpat:sgtin",                  // no fields
       }) {
    auto parsed = parse_epc_pattern(bad, PatternLevel::kInstance);
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad;
    if (!parsed.is_ok()) {
      EXPECT_NE(parsed.status().message().find(std::string(bad)), std::string::npos);
    }
  }
}

// Random keys at every company prefix length: the key's own prefix (and
// reference) match; the same pattern with one company-prefix digit changed
// does not.
TEST(EpcPatternTest, GeneratedKeysMatchTheirOwnPrefixOnly) {
  std::mt19937_64 random(20261126);
  auto digits = [&](size_t count) {
    std::string out;
    for (size_t i = 0; i < count; ++i) out += static_cast<char>('0' + random() % 10);
    return out;
  };
  struct Shape {
    std::string scheme;
    size_t reference_digits;  // company prefix + reference
    bool serial;
  };
  const std::vector<Shape> shapes = {{"sgtin", 13, true}, {"sscc", 17, false}, {"sgln", 12, true},
                                     {"grai", 12, true},  {"gsrn", 17, false}, {"gdti", 12, true}};
  size_t checked = 0;
  for (int round = 0; round < 50; ++round) {
    for (const Shape& shape : shapes) {
      for (size_t length = 6; length <= 12; ++length) {
        const std::string company = digits(length);
        const std::string reference = digits(shape.reference_digits - length);
        std::string urn = "urn:epc:id:" + shape.scheme + ":" + company + "." + reference;
        if (shape.serial) {
          urn += '.';
          urn += digits(1 + random() % 6);
        }
        auto id = parse_identifier(urn);
        ASSERT_TRUE(id.is_ok()) << urn << ": " << id.status().to_string();
        const std::string stars = shape.serial ? ".*.*" : ".*";
        std::string other = company;
        const size_t changed = random() % length;
        other[changed] = static_cast<char>('0' + (company[changed] - '0' + 1 + random() % 9) % 10);
        auto any = [&](const std::string& pattern) {
          for (const CanonicalPattern& p : patterns_of(pattern)) {
            if (pattern_matches(p, id->canonical)) return true;
          }
          return false;
        };
        EXPECT_TRUE(any("urn:epc:idpat:" + shape.scheme + ":" + company + stars)) << urn;
        EXPECT_TRUE(any("urn:epc:idpat:" + shape.scheme + (shape.serial ? ":*.*.*" : ":*.*"))) << urn;
        if (shape.serial) {
          EXPECT_TRUE(any("urn:epc:idpat:" + shape.scheme + ":" + company + "." + reference + ".*"))
              << urn;
        }
        // One digit differs at the company prefix's place: never a match.
        EXPECT_FALSE(any("urn:epc:idpat:" + shape.scheme + ":" + other + stars)) << urn << " vs " << other;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 1500u);
}

}  // namespace
}  // namespace custos::epcis
