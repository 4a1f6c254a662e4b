// A server with the identity, approval and policy routes over a fresh
// store and log, the default policies, and users with API tokens (pam:
// policy_admin, alice: security, oscar: operator, adam: admin), for the
// server API tests.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <set>
#include <string>

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
#include "custos/server/policy_api.h"
#include "custos/server/server.h"
#include "custos/store/store.h"

namespace custos::test_support {

class ApiFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-api-" + std::to_string(::getpid()) + "-" +
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
    adam_ = user_token("adam", {"admin"});
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
    auto token = identity_->create_api_token(
        id,
        {"policy.change", "approval.grant", "status.read", "principal.change", "key.change",
         "containment.override", "log.append"},
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

  // A request with a bearer token and optional extra header fields.
  Result<HttpResponse> call(std::string_view method, std::string_view path, std::string_view body,
                            const std::string& token,
                            std::initializer_list<std::pair<std::string_view, std::string_view>>
                                extra = {}) {
    HttpHeaders headers;
    if (!token.empty()) headers.set("Authorization", "Bearer " + token);
    for (const auto& [name, value] : extra) headers.set(name, value);
    return client_->request(method, path, body, headers);
  }

  // `approver` approves `requester`'s next `action` on the resource; returns the approval id.
  std::string approval(const std::string& approver, const std::string& requester,
                       const std::string& action, const std::string& type,
                       const std::string& id) {
    auto response = call("POST", "/custos/v1/approvals",
                         R"({"requester":")" + requester + R"(","action":")" + action +
                             R"(","resource_type":")" + type + R"(","resource_id":")" + id +
                             R"("})",
                         approver);
    EXPECT_TRUE(response.is_ok());
    if (!response.is_ok()) return "";
    EXPECT_EQ(response->status, 201) << response->body;
    simdjson::dom::parser parser;
    simdjson::dom::element answer;
    if (parser.parse(response->body).get(answer) != simdjson::SUCCESS) return "";
    return std::string(std::string_view(answer["approval_id"]));
  }

  // alice approves pam's next policy change.
  std::string approval_for_pam() {
    return approval(alice_, "pam", "policy.change", "Custos::Policy", "active");
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
  std::string pam_, alice_, oscar_, adam_;
};

}  // namespace custos::test_support
