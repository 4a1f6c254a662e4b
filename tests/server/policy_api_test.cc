// The policy endpoints end to end over loopback: versions are public, a push
// is policy.change under the default set's two-person rule, invalid text is
// refused with positions before anything is logged, and the new version is
// enforced from the next request.
#include "custos/server/policy_api.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>

#include "custos/core/clock.h"
#include "custos/core/work_queue.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/policy/policy_store.h"
#include "custos/server/default_policies.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/http_client.h"
#include "custos/server/identity_api.h"
#include "custos/server/log_api.h"
#include "custos/server/server.h"
#include "custos/store/store.h"

namespace custos {
namespace {

class PolicyApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-policy-api-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ledger::LogOptions options;
    options.origin = "policy.test/log";
    options.clock = &clock_;
    options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n";
    };
    auto log = ledger::Log::open(*store_, std::move(options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    auto identity = identity::IdentityService::open(*log_, *store_, clock_);
    ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();
    identity_ = std::move(identity).value();
    auto policies = policy::PolicyStore::open(*log_, *store_, policy::custos_schema());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    policies_ = std::move(policies).value();
    ASSERT_TRUE(policies_->push(default_policy_text(), "bootstrap", "init").is_ok());

    access_ = std::make_unique<AccessControl>(*identity_, clock_, metrics_);
    ASSERT_TRUE(follow_policy_store(*policies_, *access_).is_ok());
    Router router;
    ASSERT_TRUE(add_policy_routes(router, *policies_, access_->gatekeeper(), control_).is_ok());
    ASSERT_TRUE(add_identity_routes(router, *identity_, *access_, *log_, control_).is_ok());
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(server_options, std::move(router), &metrics_);
    ASSERT_TRUE(server_->start().is_ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());

    pam_ = user_token("pam", {"policy_admin"});
    alice_ = user_token("alice", {"security"});
    oscar_ = user_token("oscar", {"operator"});
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
    server_.reset();
    policies_->set_on_change({});
    access_.reset();
    policies_.reset();
    identity_.reset();
    if (log_) log_->close();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }

  // A user with `roles` and an API token for the actions these tests use.
  std::string user_token(const std::string& id, std::set<std::string> roles) {
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kUser;
    attributes.roles = std::move(roles);
    EXPECT_TRUE(identity_->apply(identity::PrincipalCreate{attributes}, "test", "dec-test").is_ok());
    auto token = identity_->create_api_token(id, {"policy.change", "approval.grant", "status.read"},
                                             std::chrono::hours(1), "test", "dec-test");
    EXPECT_TRUE(token.is_ok()) << token.status().to_string();
    return token.is_ok() ? token->token : "";
  }

  Result<HttpResponse> push(std::string_view text, const std::string& token,
                            const std::string& approval = "") {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + token);
    headers.set("Content-Type", "text/plain");
    if (!approval.empty()) headers.set("Custos-Approval", approval);
    return client_->request("POST", "/custos/v1/policies", text, headers);
  }

  // alice approves pam's next policy change; returns the approval id.
  std::string approval_for_pam() {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + alice_);
    auto response = client_->request(
        "POST", "/custos/v1/approvals",
        R"({"requester":"pam","action":"policy.change","resource_type":"Custos::Policy",)"
        R"("resource_id":"active"})",
        headers);
    EXPECT_TRUE(response.is_ok());
    if (!response.is_ok()) return "";
    EXPECT_EQ(response->status, 201) << response->body;
    simdjson::dom::parser parser;
    simdjson::dom::element answer;
    if (parser.parse(response->body).get(answer) != simdjson::SUCCESS) return "";
    return std::string(std::string_view(answer["approval_id"]));
  }

  // A principal list request by oscar (operator): status.read on the registry,
  // which the default set does not give operators.
  int oscar_lists_principals() {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + oscar_);
    auto response = client_->request("GET", "/custos/v1/principals", "", headers);
    return response.is_ok() ? response->status : -1;
  }

  std::filesystem::path directory_;
  SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<policy::PolicyStore> policies_;
  std::unique_ptr<AccessControl> access_;
  WorkQueue control_{1};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::string pam_, alice_, oscar_;
};

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
