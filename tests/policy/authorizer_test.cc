#include "custos/policy/authorizer.h"

#include <gtest/gtest.h>

#include <string>

namespace custos::policy {
namespace {

constexpr const char* kEntities = R"([
  {"uid": {"type": "User", "id": "alice"},
   "attrs": {"level": 5, "name": "alice", "tags": ["a", "b"], "manager": {"__entity": {"type": "User", "id": "bob"}},
             "addr": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}, "info": {"nested": {"x": 1}},
             "big": 9007199254740991},
   "parents": [{"type": "Group", "id": "ops"}]},
  {"uid": {"type": "Group", "id": "ops"}, "attrs": {}, "parents": [{"type": "Group", "id": "all"}]},
  {"uid": {"type": "Group", "id": "all"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Action", "id": "read"}, "attrs": {}, "parents": [{"type": "Action", "id": "any"}]},
  {"uid": {"type": "Doc", "id": "d1"}, "attrs": {"owner": {"__entity": {"type": "User", "id": "alice"}}}, "parents": []}
])";

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = EntityStore::from_json(kEntities);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    entities_ = std::move(store).value();
    auto context = parse_context_json(
        R"({"n": 3, "s": "hello*world", "flag": true, "set": [1, 2, 3],
            "ip": {"__extn": {"fn": "ip", "arg": "192.168.0.1"}},
            "d": {"__extn": {"fn": "decimal", "arg": "1.25"}}, "rec": {"a": 1}})");
    ASSERT_TRUE(context.is_ok()) << context.status().to_string();
    request_ = Request{{"User", "alice"}, {"Action", "read"}, {"Doc", "d1"}, *context};
  }

  // "true", "false" or "error" for one condition expression.
  std::string outcome(const std::string& condition) {
    auto set = parse_policies("permit(principal, action, resource) when { " + condition + " };");
    EXPECT_TRUE(set.is_ok()) << condition << ": " << set.status().to_string();
    if (!set.is_ok()) return "parse-error";
    Decision decision = is_authorized(request_, *set, entities_);
    if (!decision.errors.empty()) return "error";
    return decision.allowed ? "true" : "false";
  }

  EntityStore entities_;
  Request request_;
};

TEST_F(AuthorizerTest, EveryOperator) {
  struct Case {
    const char* expr;
    const char* expected;
  };
  const Case cases[] = {
      // literals, equality across types
      {"true", "true"}, {"false", "false"}, {"1 == 1", "true"}, {"1 == \"1\"", "false"},
      {"1 != 2", "true"}, {"[1, 2] == [2, 1, 1]", "true"}, {"{a: 1} == context.rec", "true"},
      {"User::\"alice\" == principal", "true"}, {"principal == resource", "false"},
      // comparisons and arithmetic
      {"1 < 2", "true"}, {"2 <= 2", "true"}, {"3 > 4", "false"}, {"4 >= 4", "true"},
      {"1 < \"a\"", "error"}, {"decimal(\"1.0\") < decimal(\"2.0\")", "error"},
      {"1 + 2 * 3 == 7", "true"}, {"(1 + 2) * 3 == 9", "true"}, {"10 - 2 - 3 == 5", "true"},
      {"-context.n == -3", "true"}, {"- -3 == 3", "true"}, {"-9223372036854775808 < 0", "true"},
      {"9223372036854775807 + 1 > 0", "error"}, {"-9223372036854775807 - 2 < 0", "error"},
      {"principal.big * principal.big > 0", "error"}, {"-(-9223372036854775808) > 0", "error"},
      {"1 + true == 2", "error"},
      // boolean operators and short-circuit
      {"true && false", "false"}, {"false && (1 + \"a\" == 1)", "false"},
      {"true || (1 + \"a\" == 1)", "true"}, {"false || (1 + \"a\" == 1)", "error"},
      {"!false", "true"}, {"!1", "error"}, {"1 && true", "error"}, {"true && 1", "error"},
      {"if context.flag then true else 1", "true"}, {"if 1 then true else false", "error"},
      {"true || false && false", "true"},
      // hierarchy
      {"principal in Group::\"all\"", "true"}, {"principal in [Group::\"x\", Group::\"ops\"]", "true"},
      {"principal in [1]", "error"}, {"1 in Group::\"all\"", "error"}, {"principal in principal", "true"},
      {"User::\"ghost\" in Group::\"all\"", "false"}, {"action in Action::\"any\"", "true"},
      {"principal is User", "true"}, {"principal is Group", "false"}, {"1 is User", "error"},
      {"principal is User in Group::\"ops\"", "true"}, {"resource is Doc in Group::\"ops\"", "false"},
      // attributes
      {"principal.level == 5", "true"}, {"principal[\"name\"] == \"alice\"", "true"},
      {"principal.missing == 1", "error"}, {"principal has missing", "false"},
      {"principal has level", "true"}, {"principal has info.nested.x", "true"},
      {"principal has info.nested.y", "false"}, {"User::\"ghost\" has level", "false"},
      {"User::\"ghost\".level == 1", "error"}, {"principal.manager.level == 1", "error"},
      {"resource.owner == principal", "true"}, {"context.rec.a == 1", "true"},
      {"context.nope", "error"}, {"1 has a", "error"}, {"1.a", "error"},
      // `has` through a record built at evaluation time (its only owner is the
      // value being walked; a use-after-free here was found by ASan)
      {"{a: {b: context.n}} has a.b", "true"}, {"{a: {b: context.n}} has a.c", "false"},
      // like
      {"\"hello world\" like \"hello*\"", "true"}, {"context.s like \"hello\\*world\"", "true"},
      {"\"hello-world\" like \"hello\\*world\"", "false"}, {"\"abc\" like \"a*c*\"", "true"},
      {"\"\" like \"*\"", "true"}, {"\"abc\" like \"abc\"", "true"}, {"\"aXbXc\" like \"*b*c\"", "true"},
      {"\"abcab\" like \"*ab\"", "true"}, {"\"ab\" like \"a*b*b\"", "false"}, {"1 like \"*\"", "error"},
      // sets
      {"context.set.contains(2)", "true"}, {"context.set.contains(\"2\")", "false"},
      {"context.set.containsAll([1, 3])", "true"}, {"context.set.containsAll([1, 4])", "false"},
      {"context.set.containsAny([4, 3])", "true"}, {"context.set.containsAny([])", "false"},
      {"[].isEmpty()", "true"}, {"context.set.isEmpty()", "false"}, {"1.contains(1)", "error"},
      {"context.set.containsAll(1)", "error"}, {"principal.tags.contains(\"a\")", "true"},
      // extensions
      {"ip(\"10.0.0.1\").isIpv4()", "true"}, {"ip(\"::1\").isIpv6()", "true"},
      {"ip(\"127.0.0.1\").isLoopback()", "true"}, {"ip(\"224.1.2.3\").isMulticast()", "true"},
      {"principal.addr.isInRange(ip(\"10.0.0.0/8\"))", "true"},
      {"context.ip.isInRange(ip(\"10.0.0.0/8\"))", "false"}, {"ip(\"nope\").isIpv4()", "error"},
      {"ip(context.s).isIpv4()", "error"}, {"ip(1).isIpv4()", "error"}, {"context.n.isIpv4()", "error"},
      {"ip(\"10.0.0.1\") == ip(\"10.0.0.1/32\")", "true"},
      {"context.d.lessThan(decimal(\"1.2501\"))", "true"},
      {"context.d.lessThanOrEqual(decimal(\"1.25\"))", "true"},
      {"context.d.greaterThan(decimal(\"-1.0\"))", "true"},
      {"context.d.greaterThanOrEqual(decimal(\"2.0\"))", "false"},
      {"decimal(\"1.23456\") == context.d", "error"}, {"context.d.lessThan(1)", "error"},
      {"decimal(\"1.2500\") == context.d", "true"},
  };
  for (const Case& c : cases) EXPECT_EQ(outcome(c.expr), c.expected) << c.expr;
}

TEST_F(AuthorizerTest, ForbidOverridesPermit) {
  auto set = parse_policies(R"(
    permit(principal, action, resource);
    @id("block") forbid(principal in Group::"ops", action, resource);
    permit(principal == User::"alice", action, resource);
  )");
  ASSERT_TRUE(set.is_ok());
  Decision decision = is_authorized(request_, *set, entities_);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.reasons, std::vector<std::string>{"block"});
  EXPECT_TRUE(decision.errors.empty());
}

TEST_F(AuthorizerTest, ErroringPoliciesAreSkippedAndReported) {
  auto set = parse_policies(R"(
    forbid(principal, action, resource) when { principal.nope };
    permit(principal, action, resource) when { 1 + "a" == 2 };
    permit(principal == User::"alice", action == Action::"read", resource) when { context.n == 3 };
    permit(principal == User::"bob", action, resource);
  )");
  ASSERT_TRUE(set.is_ok());
  Decision decision = is_authorized(request_, *set, entities_);
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.reasons, std::vector<std::string>{"policy2"});
  ASSERT_EQ(decision.errors.size(), 2u);
  EXPECT_EQ(decision.errors[0].policy_id, "policy0");
  EXPECT_EQ(decision.errors[1].policy_id, "policy1");
  EXPECT_FALSE(decision.errors[0].message.empty());
}

TEST_F(AuthorizerTest, DefaultDenyAndScopeIndex) {
  auto set = parse_policies(R"(
    permit(principal == User::"bob", action, resource);
    permit(principal, action, resource == Doc::"other");
    permit(principal, action in [Action::"write"], resource);
    permit(principal, action, resource) unless { true };
  )");
  ASSERT_TRUE(set.is_ok());
  Decision decision = is_authorized(request_, *set, entities_);
  EXPECT_FALSE(decision.allowed);
  EXPECT_TRUE(decision.reasons.empty());
  EXPECT_TRUE(decision.errors.empty());

  // Indexed and unindexed policies are both found, reported in set order.
  auto indexed = parse_policies(R"(
    permit(principal, action, resource == Doc::"d1");
    permit(principal == User::"alice", action, resource);
    permit(principal, action, resource);
  )");
  ASSERT_TRUE(indexed.is_ok());
  Decision reused;
  is_authorized(request_, *indexed, entities_, reused);
  EXPECT_TRUE(reused.allowed);
  EXPECT_EQ(reused.reasons, (std::vector<std::string>{"policy0", "policy1", "policy2"}));
}

TEST_F(AuthorizerTest, ScopeNeverErrorsOnUnknownEntities) {
  auto set = parse_policies(R"(permit(principal in Group::"all", action, resource is Doc);)");
  ASSERT_TRUE(set.is_ok());
  Request ghost = request_;
  ghost.principal = {"User", "ghost"};
  Decision decision = is_authorized(ghost, *set, entities_);
  EXPECT_FALSE(decision.allowed);
  EXPECT_TRUE(decision.errors.empty());
}

}  // namespace
}  // namespace custos::policy
