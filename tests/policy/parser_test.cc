#include "custos/policy/parser.h"

#include <gtest/gtest.h>

#include <string>

namespace custos::policy {
namespace {

ParseError parse_error(std::string_view text) {
  ParseError error;
  auto result = parse_policies_detailed(text, &error);
  EXPECT_FALSE(result.is_ok()) << "expected a parse error for: " << text;
  return error;
}

TEST(ParserTest, AssignsDefaultIdsAndHonoursIdAnnotation) {
  auto set = parse_policies(
      "permit(principal, action, resource);\n"
      "@id(\"named\") @advice(\"why\") forbid(principal, action, resource);\n"
      "permit(principal, action, resource) when { true };");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  ASSERT_EQ(set->size(), 3u);
  EXPECT_EQ(set->id(0), "policy0");
  EXPECT_EQ(set->id(1), "named");
  EXPECT_EQ(set->id(2), "policy2");
  EXPECT_EQ(set->effect(1), Effect::kForbid);
  EXPECT_EQ(set->annotations(1).at("advice"), "why");
}

TEST(ParserTest, AcceptsEveryScopeForm) {
  auto set = parse_policies(R"(
    permit(principal == User::"a", action == Action::"read", resource == Doc::"d");
    permit(principal in Group::"g", action in Action::"all", resource in Site::"s");
    permit(principal is User, action in [Action::"a", Action::"b"], resource is Custos::Device);
    permit(principal is User in Group::"g", action in [], resource is Doc in Site::"s");
  )");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->size(), 4u);
}

TEST(ParserTest, AcceptsTheExpressionLanguage) {
  auto set = parse_policies(R"(
    // comment
    permit(principal, action, resource)
    when { if context.a then 1 + 2 * 3 - -4 > 0 else !false }
    when { principal has name && principal has "odd key" && context has a.b.c }
    when { context.name like "a*b\*c" || [1, 2].contains(1) && [1].containsAll([]) }
    when { [1].containsAny([1]) && ![].isEmpty() == false }
    when { ip("10.0.0.1").isInRange(ip("10.0.0.0/8")) && decimal("1.5").lessThan(decimal("2.0")) }
    when { principal is User in Group::"g" && {a: 1, "b c": [true]} == context.rec }
    when { resource["owner"] == principal && Custos::Org::Team::"x\u{e9}\n" in principal.teams }
    unless { - - 1 == 1 && !!true && -9223372036854775808 < 0 };
  )");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
}

TEST(ParserTest, ReportsLineAndColumn) {
  ParseError error = parse_error("permit(principal, action, resource)\n  when { 1 + };");
  EXPECT_EQ(error.line, 2);
  EXPECT_EQ(error.column, 14);
  auto status = parse_policies("permit(principal, action, resource)\n  when { 1 + };").status();
  EXPECT_EQ(status.message().rfind("2:14: ", 0), 0u) << status.message();
}

TEST(ParserTest, RejectsMalformedPolicies) {
  struct Case {
    const char* text;
    int line, column;
  };
  const Case cases[] = {
      {"permit(principal, action);", 1, 25},                               // missing resource
      {"allow(principal, action, resource);", 1, 1},                       // bad effect
      {"permit(principal, action, resource)", 1, 36},                      // missing `;`
      {"permit(principal, action, resource) when { 1 == 1 == 1 };", 1, 51},  // chained relations
      {"permit(principal, action, resource) when { \"unterminated };", 1, 44},
      {"permit(principal, action, resource) when { \"\\q\" };", 1, 44},  // bad escape
      {"permit(principal, action, resource) when { 9223372036854775808 };", 1, 44},
      {"permit(principal, action, resource) when { !-1 };", 1, 45},         // mixed unary
      {"permit(principal, action, resource) when { -----1 == 1 };", 1, 44},  // five unary
      {"permit(principal, action, resource) when { [].frobnicate() };", 1, 47},
      {"permit(principal, action, resource) when { {a: 1, a: 2} };", 1, 51},
      {"permit(principal, action, resource) when { };", 1, 44},
      {"permit(principal, action, resource) when { foo(1) };", 1, 44},
      {"permit(principal, action, resource) when { principal.x like 1 };", 1, 61},
      {"permit(principal in [User::\"a\"], action, resource);", 1, 21},
      {"permit(principal == ?principal, action, resource);", 1, 21},
      {"permit(principal, action, resource) when { 1 = 1 };", 1, 46},
      {"@id(\"x\") permit(principal, action, resource);\n@id(\"x\") permit(principal, action, resource);", 2, 1},
      {"permit(principal, action, resource) when { \"a\\*\" };", 1, 44},
  };
  for (const Case& c : cases) {
    ParseError error = parse_error(c.text);
    EXPECT_EQ(error.line, c.line) << c.text << " -> " << error.message;
    EXPECT_EQ(error.column, c.column) << c.text << " -> " << error.message;
    EXPECT_FALSE(error.message.empty());
  }
}

TEST(ParserTest, EmptyTextIsAnEmptySet) {
  auto set = parse_policies("  // nothing here\n");
  ASSERT_TRUE(set.is_ok());
  EXPECT_EQ(set->size(), 0u);
}

}  // namespace
}  // namespace custos::policy
