// The EPCIS query parameters (src/server/epcis_query.h) on their own: a query
// string and the same query written as a named query's definition parse to
// the same EventQuery, and refusals name the parameter. Inputs the fuzzer
// (fuzz/epcis_query_fuzz.cc) found wrong are kept here as regressions.
#include "epcis_query.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "custos/server/http.h"

namespace custos::epcis_query {
namespace {

Result<ParsedQuery> parse_text(std::string_view query_string) {
  auto params = parse_query(query_string);
  if (!params.is_ok()) return params.status();
  return parse_event_query(*params);
}

// One query as GET /events?... and as POST /queries {"query": ...} write it.
constexpr std::string_view kQueryString =
    "eventType=ObjectEvent,%20AggregationEvent&MATCH_epc=urn%3Aepc%3Aidpat%3Asgtin%3A0614141."
    "107346.*&EQ_bizStep=shipping&EQ_readPoint=urn:epc:id:sgln:0614141.07346.1234"
    "&GE_eventTime=2026-05-28T10:00:00%2B02:00&orderBy=eventTime&eventCountLimit=5";
constexpr std::string_view kDefinition =
    R"({"eventType":["ObjectEvent","AggregationEvent"],)"
    R"("MATCH_epc":"urn:epc:idpat:sgtin:0614141.107346.*","EQ_bizStep":"shipping",)"
    R"("EQ_readPoint":"urn:epc:id:sgln:0614141.07346.1234",)"
    R"("GE_eventTime":"2026-05-28T10:00:00+02:00","orderBy":"eventTime","eventCountLimit":5})";

TEST(EpcisQuery, QueryStringAndDefinitionGiveOneQuery) {
  auto from_text = parse_text(kQueryString);
  ASSERT_TRUE(from_text.is_ok()) << from_text.status().message();
  auto arguments = definition_arguments(kDefinition);
  ASSERT_TRUE(arguments.is_ok()) << arguments.status().message();
  auto from_definition = parse_event_query(*arguments);
  ASSERT_TRUE(from_definition.is_ok()) << from_definition.status().message();
  EXPECT_TRUE(from_text->query == from_definition->query);
  EXPECT_EQ(from_text->query.event_types.size(), 2u);
  EXPECT_EQ(from_text->query.biz_steps,
            std::vector<std::string>{"https://ref.gs1.org/cbv/BizStep-shipping"});
  EXPECT_EQ(from_text->query.event_count_limit, 5u);
  EXPECT_EQ(from_text->per_page, kDefaultPerPage);
}

TEST(EpcisQuery, RefusalsNameTheParameter) {
  for (const char* text :
       {"MATCH_colour=red", "GE_eventTime=yesterday", "orderBy=size", "eventCountLimit=0",
        "eventType=ObjectEvent&eventType=ObjectEvent", "EQ_readPoint=not%20a%20uri", "proof=yes"}) {
    auto parsed = parse_text(text);
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_FALSE(parsed.status().message().empty()) << text;
  }
}

TEST(EpcisQuery, PerPageIsOneCountRule) {
  EXPECT_EQ(*parse_per_page("1"), 1u);
  EXPECT_EQ(*parse_per_page("10000"), kMaxPerPage);
  EXPECT_EQ(*parse_per_page("0025"), 25u);
  for (const char* bad : {"", "ten", "-1", "+5", " 5", "1e3", "1234567890"}) {
    auto refused = parse_per_page(bad);
    ASSERT_FALSE(refused.is_ok()) << bad;
    EXPECT_EQ(refused.status().message(), "perPage must be a positive integer") << bad;
  }
  for (const char* out_of_range : {"0", "10001", "999999999"}) {
    auto refused = parse_per_page(out_of_range);
    ASSERT_FALSE(refused.is_ok()) << out_of_range;
    EXPECT_EQ(refused.status().message(), "perPage must be between 1 and 10000") << out_of_range;
  }
  // GET /events gives the same answers.
  EXPECT_EQ(parse_text("perPage=0025")->per_page, 25u);
  EXPECT_EQ(parse_text("perPage=ten").status().message(), "perPage must be a positive integer");
}

}  // namespace
}  // namespace custos::epcis_query
