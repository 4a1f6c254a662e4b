#include "custos/server/http.h"

#include "custos/core/bytes.h"

#include <gtest/gtest.h>

namespace custos {
namespace {

TEST(HttpHeaders, LookupIsCaseInsensitiveAndKeepsOrder) {
  HttpHeaders headers;
  headers.add("Content-Type", "application/json");
  headers.add("X-Trace", "a");
  headers.add("x-trace", "b");
  EXPECT_EQ(headers.get("content-type"), "application/json");
  EXPECT_EQ(headers.get("X-TRACE"), "a");
  EXPECT_FALSE(headers.get("Accept").has_value());
  headers.set("X-TRACE", "c");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.fields()[1].second, "c");
  headers.remove("CONTENT-TYPE");
  EXPECT_FALSE(headers.contains("Content-Type"));
}

TEST(PercentDecode, DecodesEscapesAndOptionallyPlus) {
  EXPECT_EQ(percent_decode("a%20b%2Fc%7e").value(), "a b/c~");
  EXPECT_EQ(percent_decode("a+b").value(), "a+b");
  EXPECT_EQ(percent_decode("a+b", true).value(), "a b");
  EXPECT_EQ(percent_decode("%00").value(), std::string(1, '\0'));
}

TEST(PercentDecode, RefusesMalformedEscapes) {
  for (std::string_view bad : {"%", "%2", "a%g0", "%0x", "abc%"}) {
    auto decoded = percent_decode(bad);
    ASSERT_FALSE(decoded.is_ok()) << bad;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(PercentEncode, RoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string encoded = percent_encode(all);
  EXPECT_EQ(encoded.find_first_of(" /?&=+"), std::string::npos);
  EXPECT_EQ(percent_decode(encoded).value(), all);
  EXPECT_EQ(percent_encode("a b/~"), "a%20b%2F~");
}

TEST(ParseQuery, DecodesPairsInOrder) {
  auto query = parse_query("a=1&b=x%20y&flag&&c=p+q&a=2&empty=");
  ASSERT_TRUE(query.is_ok());
  QueryParams expected = {{"a", "1"},   {"b", "x y"}, {"flag", ""},
                          {"c", "p q"}, {"a", "2"},   {"empty", ""}};
  EXPECT_EQ(query.value(), expected);
  EXPECT_TRUE(parse_query("").value().empty());
  EXPECT_EQ(parse_query("k%3D=v%26").value(), (QueryParams{{"k=", "v&"}}));
}

TEST(ParseQuery, RefusesMalformedEscapeInNameOrValue) {
  EXPECT_FALSE(parse_query("a=%zz").is_ok());
  EXPECT_FALSE(parse_query("%4=1").is_ok());
  EXPECT_FALSE(parse_query("ok=1&bad=%").is_ok());
}

TEST(HttpRequest, QueryParamReturnsFirstMatch) {
  HttpRequest request;
  request.query = {{"a", "1"}, {"a", "2"}};
  EXPECT_EQ(request.query_param("a"), "1");
  EXPECT_FALSE(request.query_param("A").has_value());
}

TEST(ProblemResponse, IsRfc9457Json) {
  HttpResponse response = problem_response(404, "Not Found", "no \"entry\" 7", "not-found");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_EQ(response.body, R"({"type":"https://custos.dev/problems/not-found","title":"Not Found",)"
                           R"("status":404,"detail":"no \"entry\" 7"})");
  HttpResponse blank = problem_response(500, "Internal Server Error", "oops");
  EXPECT_NE(blank.body.find(R"("type":"about:blank")"), std::string::npos);
}

TEST(JsonResponse, SetsContentType) {
  HttpResponse response = json_response(201, R"({"ok":true})");
  EXPECT_EQ(response.status, 201);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(response.body, R"({"ok":true})");
  EXPECT_EQ(text_response(200, "hi").content_type, "text/plain; charset=utf-8");
}

TEST(ReasonPhrase, KnowsCommonCodes) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(413), "Content Too Large");
  EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(reason_phrase(299), "Unknown");
}

TEST(EqualsIgnoreCase, ComparesAscii) {
  EXPECT_TRUE(equals_ignore_case("Content-Length", "content-length"));
  EXPECT_FALSE(equals_ignore_case("Content-Length", "content-lengt"));
  EXPECT_FALSE(equals_ignore_case("a", "b"));
}

}  // namespace
}  // namespace custos
