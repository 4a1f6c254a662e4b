// The default policy set shipped in docs/policies/*.cedar, tested from the
// shipped files themselves:
//   - every file parses, every policy has a unique @id and a comment;
//   - the copy of the policy text in tests/data/policy/default_policies.json
//     (which the file-driven cases_test and the cedar-wasm check_cases.js also
//     run) is exactly the shipped files concatenated in file-name order;
//   - every scenario in that case file gets its expected answer when run
//     against the policies read from docs/policies.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "custos/policy/authorizer.h"
#include "support/test_files.h"

namespace custos::policy {
namespace {

const std::filesystem::path kPolicyDir =
    std::filesystem::path(CUSTOS_TEST_DATA_DIR "/../../docs/policies");
const std::filesystem::path kCaseFile =
    std::filesystem::path(CUSTOS_TEST_DATA_DIR) / "policy" / "default_policies.json";

using test_support::read_text;

std::vector<std::filesystem::path> policy_files() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kPolicyDir)) {
    if (entry.path().extension() == ".cedar") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The shipped set: the files concatenated in file-name order, one newline
// between files (how the server is meant to load a policy directory).
std::string shipped_text() {
  std::string text;
  bool first = true;
  for (const auto& file : policy_files()) {
    if (!first) text += "\n";
    first = false;
    text += read_text(file);
  }
  return text;
}

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

TEST(DefaultPoliciesTest, EachFileParsesAndEveryPolicyHasAnIdAndAComment) {
  auto files = policy_files();
  ASSERT_FALSE(files.empty()) << "no .cedar files in " << kPolicyDir;
  std::set<std::string> ids;
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::string text = read_text(file);
    auto set = parse_policies(text);
    ASSERT_TRUE(set.is_ok()) << set.status().to_string();
    EXPECT_GT(set->size(), 0u);
    for (size_t i = 0; i < set->size(); ++i) {
      const auto& annotations = set->annotations(i);
      ASSERT_TRUE(annotations.count("id")) << "policy " << i << " has no @id";
      EXPECT_TRUE(ids.insert(annotations.at("id")).second) << "duplicate @id " << annotations.at("id");
      // The line just above the @id annotation must be a comment.
      std::string marker = "@id(\"" + annotations.at("id") + "\")";
      size_t at = text.find(marker);
      ASSERT_NE(at, std::string::npos) << marker;
      ASSERT_GT(at, 0u);
      size_t line_end = at - 1;  // the newline ending the previous line
      size_t line_start = text.rfind('\n', line_end == 0 ? 0 : line_end - 1);
      line_start = line_start == std::string::npos ? 0 : line_start + 1;
      std::string previous = text.substr(line_start, line_end - line_start);
      EXPECT_EQ(previous.rfind("//", 0), 0u) << marker << " is not preceded by a comment";
    }
  }
  EXPECT_GE(ids.size(), 10u);
}

TEST(DefaultPoliciesTest, CaseFileCopyMatchesShippedFiles) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load(kCaseFile.string()).get(root), simdjson::SUCCESS);
  std::string copy(root["policies"].get_string().value());
  EXPECT_EQ(copy, shipped_text())
      << "tests/data/policy/default_policies.json is out of date with docs/policies/*.cedar";
}

TEST(DefaultPoliciesTest, ScenariosAgainstShippedFiles) {
  auto policies = parse_policies(shipped_text());
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load(kCaseFile.string()).get(root), simdjson::SUCCESS);
  auto entities = EntityStore::from_json(simdjson::minify(root["entities"].value()));
  ASSERT_TRUE(entities.is_ok()) << entities.status().to_string();
  size_t index = 0, allows = 0, denies = 0;
  simdjson::dom::array cases = root["requests"].get_array().value();
  for (simdjson::dom::element c : cases) {
    std::string note(c["note"].get_string().value());
    SCOPED_TRACE("request " + std::to_string(index++) + ": " + note);
    auto context = parse_context_json(simdjson::minify(c["context"].value()));
    ASSERT_TRUE(context.is_ok()) << context.status().to_string();
    Request request{uid_of(c["principal"].value()), uid_of(c["action"].value()),
                    uid_of(c["resource"].value()), *context};
    Decision decision = is_authorized(request, *policies, *entities);
    bool want_allow = c["decision"].get_string().value() == "allow";
    EXPECT_EQ(decision.allowed, want_allow);
    (want_allow ? allows : denies)++;
    std::vector<std::string> reasons = decision.reasons;
    std::sort(reasons.begin(), reasons.end());
    EXPECT_EQ(reasons, strings_of(c["reasons"].value()));
    std::vector<std::string> errors;
    for (const auto& error : decision.errors) errors.push_back(error.policy_id);
    std::sort(errors.begin(), errors.end());
    EXPECT_EQ(errors, strings_of(c["errors"].value()));
  }
  EXPECT_GE(index, 30u);
  EXPECT_GT(allows, 0u);
  EXPECT_GT(denies, 0u);
}

// Every forbid in the shipped set is exercised by at least one scenario that
// it decides, so a forbid cannot silently stop matching.
TEST(DefaultPoliciesTest, EveryPolicyDecidesSomeScenario) {
  auto policies = parse_policies(shipped_text());
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  ASSERT_EQ(parser.load(kCaseFile.string()).get(root), simdjson::SUCCESS);
  std::set<std::string> seen;
  simdjson::dom::array cases = root["requests"].get_array().value();
  for (simdjson::dom::element c : cases) {
    for (const auto& reason : strings_of(c["reasons"].value())) seen.insert(reason);
  }
  for (size_t i = 0; i < policies->size(); ++i) {
    EXPECT_TRUE(seen.count(policies->id(i))) << "no scenario is decided by " << policies->id(i);
  }
}

}  // namespace
}  // namespace custos::policy
