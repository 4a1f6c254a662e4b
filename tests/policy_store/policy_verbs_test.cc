// The offline `custos policy check | test | diff` verbs: output and exit codes.
#include "policy_verbs.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.h"

namespace custos::cli {
namespace {

const std::string kGood =
    "// log reads\n@id(\"log-read\")\n"
    "permit (principal, action == Custos::Action::\"log.read\", resource is Custos::Log);\n";
const std::string kTypo =
    "@id(\"typo\")\npermit (principal, action, resource)\nwhen { context.hourr > 3 };\n";

const std::string kCases = R"({
  "description": "log reads",
  "entities": [{"uid": {"type": "Custos::User", "id": "u"}, "attrs": {}, "parents": []}],
  "requests": [
    {"note": "a user reads the log", "principal": {"type": "Custos::User", "id": "u"},
     "action": {"type": "Custos::Action", "id": "log.read"},
     "resource": {"type": "Custos::Log", "id": "main"}, "context": {},
     "decision": "allow", "reasons": ["log-read"], "errors": []},
    {"note": "a user may not append", "principal": {"type": "Custos::User", "id": "u"},
     "action": {"type": "Custos::Action", "id": "log.append"},
     "resource": {"type": "Custos::Log", "id": "main"},
     "decision": "deny", "reasons": [], "errors": []}
  ]
})";

class PolicyVerbsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-policy-verbs-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "set");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
  std::ostringstream out_, err_;
};

TEST_F(PolicyVerbsTest, CheckReportsOkOrEveryErrorWithItsFileAndPosition) {
  EXPECT_EQ(run_policy_check(write("good.cedar", kGood), out_, err_), kExitOk);
  EXPECT_EQ(out_.str(), "ok: 1 policies\n");

  std::string typo = write("typo.cedar", kTypo);
  EXPECT_EQ(run_policy_check(typo, out_, err_), kExitUsage);
  EXPECT_NE(err_.str().find(typo + ":3:16: `context.hourr`: the context has no key `hourr`"),
            std::string::npos)
      << err_.str();

  // In a directory, the position is in the file the error comes from.
  write("set/10-good.cedar", kGood);
  std::string second = write("set/20-typo.cedar", kTypo);
  err_.str("");
  EXPECT_EQ(run_policy_check((dir_ / "set").string(), out_, err_), kExitUsage);
  EXPECT_EQ(err_.str().rfind(second + ":3:16: ", 0), 0u) << err_.str();

  EXPECT_EQ(run_policy_check((dir_ / "missing.cedar").string(), out_, err_), kExitUsage);
  EXPECT_EQ(run_policy_check((dir_ / "set" / "nothing").string(), out_, err_), kExitUsage);
}

TEST_F(PolicyVerbsTest, TestRunsCasesAgainstThePolicies) {
  std::string policies = write("good.cedar", kGood);
  std::string cases = write("cases.json", kCases);
  EXPECT_EQ(run_policy_test(policies, cases, false, out_, err_), kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "2 cases: 2 passed, 0 failed\n");

  // Against a set that denies everything, the allow case fails.
  std::string other = write("other.cedar",
                            "@id(\"status\")\npermit (principal, action == "
                            "Custos::Action::\"status.read\", resource);\n");
  out_.str("");
  EXPECT_EQ(run_policy_test(other, cases, false, out_, err_), kExitVerifyFailed);
  EXPECT_NE(out_.str().find("FAIL a user reads the log\n  expected: allow, reasons [log-read], "
                            "errors []\n  got:      deny, reasons [], errors []\n"),
            std::string::npos)
      << out_.str();
  EXPECT_NE(out_.str().find("2 cases: 1 passed, 1 failed"), std::string::npos);

  out_.str("");
  EXPECT_EQ(run_policy_test(other, cases, true, out_, err_), kExitVerifyFailed);
  simdjson::dom::parser parser;
  simdjson::padded_string json(out_.str());
  simdjson::dom::element root;
  ASSERT_EQ(parser.parse(json).get(root), simdjson::SUCCESS) << out_.str();
  EXPECT_EQ(root["cases"].get_uint64().value(), 2u);
  EXPECT_EQ(root["failed"].get_uint64().value(), 1u);
  EXPECT_EQ(root["failures"].at(0)["name"].get_string().value(), "a user reads the log");
  EXPECT_EQ(root["failures"].at(0)["got"]["decision"].get_string().value(), "deny");

  // Bad input: invalid policies, a missing or malformed case file.
  EXPECT_EQ(run_policy_test(write("typo.cedar", kTypo), cases, false, out_, err_), kExitUsage);
  EXPECT_EQ(run_policy_test(policies, (dir_ / "none.json").string(), false, out_, err_),
            kExitStorage);
  EXPECT_EQ(run_policy_test(policies, write("bad.json", "{\"requests\": 3}"), false, out_, err_),
            kExitUsage);
  EXPECT_EQ(run_policy_test(policies, write("bad2.json", "{\"requests\": [{\"principal\": 1}]}"),
                            false, out_, err_),
            kExitUsage);
}

TEST_F(PolicyVerbsTest, DiffPrintsAUnifiedDiff) {
  std::string a = write("a.cedar", kGood);
  std::string b = write("b.cedar", kGood + kTypo);
  EXPECT_EQ(run_policy_diff_files(a, a, out_, err_), kExitOk);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(run_policy_diff_files(a, b, out_, err_), kExitVerifyFailed);
  EXPECT_EQ(out_.str().rfind("--- " + a + "\n+++ " + b + "\n@@ -1,3 +1,6 @@\n", 0), 0u)
      << out_.str();
  EXPECT_NE(out_.str().find("+when { context.hourr > 3 };\n"), std::string::npos);
  EXPECT_EQ(run_policy_diff_files(a, (dir_ / "none.cedar").string(), out_, err_), kExitUsage);
}

}  // namespace
}  // namespace custos::cli
