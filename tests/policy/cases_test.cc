// File-driven authorization cases: every tests/data/policy/*.json file holds
//   {"description": "...", "policies": "<cedar text>", "entities": [...],
//    "requests": [{"principal": {"type","id"}, "action": ..., "resource": ...,
//                  "context": {...}, "decision": "allow"|"deny",
//                  "reasons": [...], "errors": [...]}]}
// Adding a case is adding a file. The expected answers were produced by
// cedar-wasm 4.13.0 (the reference implementation), see tests/cedar_oracle.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "custos/policy/authorizer.h"

namespace custos::policy {
namespace {

EntityUid uid_of(simdjson::dom::element element) {
  return EntityUid{std::string(element["type"].get_string().value()),
                   std::string(element["id"].get_string().value())};
}

std::vector<std::string> strings_of(simdjson::dom::element element) {
  std::vector<std::string> out;
  simdjson::dom::array array = element.get_array().value();
  for (auto item : array) out.emplace_back(item.get_string().value());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(PolicyCasesTest, AllFilesAgree) {
  std::filesystem::path dir = std::filesystem::path(CUSTOS_TEST_DATA_DIR) / "policy";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  size_t requests = 0;
  simdjson::dom::parser parser;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    simdjson::dom::element root;
    ASSERT_EQ(parser.load(file.string()).get(root), simdjson::SUCCESS);
    auto policies = parse_policies(root["policies"].get_string().value());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    auto entities = EntityStore::from_json(simdjson::minify(root["entities"].value()));
    ASSERT_TRUE(entities.is_ok()) << entities.status().to_string();
    simdjson::dom::array cases = root["requests"].get_array().value();
    size_t index = 0;
    for (simdjson::dom::element c : cases) {
      SCOPED_TRACE("request " + std::to_string(index++));
      auto context = parse_context_json(simdjson::minify(c["context"].value()));
      ASSERT_TRUE(context.is_ok()) << context.status().to_string();
      Request request{uid_of(c["principal"].value()), uid_of(c["action"].value()),
                      uid_of(c["resource"].value()), *context};
      Decision decision = is_authorized(request, *policies, *entities);
      EXPECT_EQ(decision.allowed, c["decision"].get_string().value() == "allow");
      std::vector<std::string> reasons = decision.reasons;
      std::sort(reasons.begin(), reasons.end());
      EXPECT_EQ(reasons, strings_of(c["reasons"].value()));
      std::vector<std::string> errors;
      for (const auto& error : decision.errors) errors.push_back(error.policy_id);
      std::sort(errors.begin(), errors.end());
      EXPECT_EQ(errors, strings_of(c["errors"].value()));
      ++requests;
    }
  }
  EXPECT_GT(files.size(), 0u);
  EXPECT_GT(requests, 0u);
}

}  // namespace
}  // namespace custos::policy
