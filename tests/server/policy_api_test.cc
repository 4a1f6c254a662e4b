// The policy endpoints end to end over loopback: versions are public, a push
// is policy.change under the default set's two-person rule, invalid text is
// refused with positions before anything is logged, and the new version is
// enforced from the next request.
#include "custos/server/policy_api.h"

#include "server/api_fixture.h"

namespace custos {
namespace {

using PolicyApiTest = test_support::ApiFixture;

constexpr std::string_view kOperatorsMayList = R"(
@id("status-read-operators")
permit (principal is Custos::User, action == Custos::Action::"status.read", resource)
when { principal has roles && principal.roles.contains("operator") };
)";

TEST_F(PolicyApiTest, VersionsAreReadableByAnyone) {
  auto list = client_->get("/custos/v1/policies");
  ASSERT_TRUE(list.is_ok());
  ASSERT_EQ(list->status, 200) << list->body;
  EXPECT_NE(list->body.find("\"current\":1"), std::string::npos) << list->body;
  EXPECT_NE(list->body.find("\"actor\":\"bootstrap\""), std::string::npos);

  auto current = client_->get("/custos/v1/policies/current");
  ASSERT_TRUE(current.is_ok());
  simdjson::dom::parser parser;
  simdjson::dom::element version = parser.parse(current->body);
  EXPECT_EQ(std::string_view(version["text"]), default_policy_text());
  EXPECT_EQ(uint64_t(version["version"]), 1u);

  EXPECT_EQ(client_->get("/custos/v1/policies/1")->status, 200);
  EXPECT_EQ(client_->get("/custos/v1/policies/7")->status, 404);
  EXPECT_EQ(client_->get("/custos/v1/policies/latest")->status, 400);
}

TEST_F(PolicyApiTest, PushNeedsASecondApproverAndTakesEffectOnTheNextRequest) {
  std::string text = std::string(default_policy_text()) + std::string(kOperatorsMayList);
  EXPECT_EQ(oscar_lists_principals(), 403);

  // The policy admin alone: refused by the two-person rule, nothing logged.
  const uint64_t before = log_->tree_size();
  auto alone = push(text, pam_);
  ASSERT_TRUE(alone.is_ok());
  EXPECT_EQ(alone->status, 403) << alone->body;
  EXPECT_NE(alone->body.find("forbid-two-person-rule"), std::string::npos) << alone->body;
  EXPECT_EQ(log_->tree_size(), before);

  // An operator cannot push even with an approval for someone else.
  std::string approval = approval_for_pam();
  ASSERT_FALSE(approval.empty());
  auto wrong_requester = push(text, oscar_, approval);
  ASSERT_TRUE(wrong_requester.is_ok());
  EXPECT_EQ(wrong_requester->status, 403);

  auto approved = push(text, pam_, approval);
  ASSERT_TRUE(approved.is_ok());
  ASSERT_EQ(approved->status, 201) << approved->body;
  EXPECT_NE(approved->body.find("\"version\":2"), std::string::npos) << approved->body;
  EXPECT_NE(approved->body.find("\"actor\":\"pam\""), std::string::npos);
  ASSERT_NE(policies_->current(), nullptr);
  EXPECT_EQ(policies_->current()->version, 2u);
  EXPECT_EQ(oscar_lists_principals(), 200);  // version 2 is enforced at once

  // The approval was used up.
  auto again = push(std::string(default_policy_text()), pam_, approval);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->status, 403);
}

TEST_F(PolicyApiTest, InvalidOrUnchangedTextIsRefusedBeforeAnythingIsLogged) {
  std::string approval = approval_for_pam();
  const uint64_t before = log_->tree_size();
  auto invalid = push(
      "permit (principal, action == Custos::Action::\"nope\", resource)\n"
      "when { principal.sitee == \"x\" };\n",
      pam_, approval);
  ASSERT_TRUE(invalid.is_ok());
  ASSERT_EQ(invalid->status, 400) << invalid->body;
  simdjson::dom::parser parser;
  simdjson::dom::element problem = parser.parse(invalid->body);
  simdjson::dom::array errors = problem["errors"];
  ASSERT_EQ(errors.size(), 2u) << invalid->body;
  EXPECT_EQ(int64_t(errors.at(0)["line"]), 1);
  EXPECT_EQ(int64_t(errors.at(1)["line"]), 2);
  EXPECT_NE(std::string_view(errors.at(1)["message"]).find("sitee"), std::string_view::npos);
  EXPECT_EQ(log_->tree_size(), before);
  EXPECT_EQ(policies_->current()->version, 1u);

  // The approval was used by the (allowed, then refused) request: ask again.
  auto unchanged = push(default_policy_text(), pam_, approval_for_pam());
  ASSERT_TRUE(unchanged.is_ok());
  EXPECT_EQ(unchanged->status, 409) << unchanged->body;
  EXPECT_EQ(policies_->current()->version, 1u);
}

}  // namespace
}  // namespace custos
