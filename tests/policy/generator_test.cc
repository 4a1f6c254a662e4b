// The differential generator must only produce inputs our parser and entity
// loader accept (apart from the deliberate non-action-parent entity sets), so
// a disagreement with the oracle is always about evaluation. Also a crash
// check: thousands of random policies evaluated in-process.
#include <gtest/gtest.h>

#include "case_generator.h"
#include "custos/policy/authorizer.h"

namespace custos::policy {
namespace {

TEST(CaseGeneratorTest, GeneratedCasesParseAndEvaluate) {
  testing::CaseGenerator generator(42);
  int evaluated = 0;
  for (int i = 0; i < 2000; ++i) {
    testing::GeneratedCase c = generator.generate();
    auto policies = parse_policies(c.policies);
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string() << "\n" << c.policies;
    auto context = parse_context_json(c.context_json);
    ASSERT_TRUE(context.is_ok()) << context.status().to_string();
    auto entities = EntityStore::from_json(c.entities_json);
    if (!entities.is_ok()) {
      EXPECT_NE(entities.status().message().find("non-action parent"), std::string::npos)
          << entities.status().to_string();
      continue;
    }
    Request request{{c.principal_type, c.principal_id},
                    {c.action_type, c.action_id},
                    {c.resource_type, c.resource_id},
                    *context};
    Decision decision = is_authorized(request, *policies, *entities);
    EXPECT_LE(decision.reasons.size() + decision.errors.size(), policies->size());
    ++evaluated;
  }
  EXPECT_GT(evaluated, 1500);
}

TEST(CaseGeneratorTest, DeterministicForASeed) {
  testing::CaseGenerator a(7), b(7);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.generate().to_json_line(i), b.generate().to_json_line(i));
}

}  // namespace
}  // namespace custos::policy
