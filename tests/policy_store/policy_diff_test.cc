// diff_policy_text (unified diff, checked against what diff -u prints for
// the same inputs) and read_policy_dir.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "custos/policy/policy_store.h"

namespace custos::policy {
namespace {

std::string numbered(int count, std::map<int, std::string> replaced = {}) {
  std::string text;
  for (int i = 1; i <= count; ++i) {
    auto it = replaced.find(i);
    if (it != replaced.end()) {
      text += it->second;
    } else {
      text += 'l';
      text += std::to_string(i);
    }
    text += '\n';
  }
  return text;
}

TEST(PolicyDiffTest, EqualTextsHaveNoDiff) {
  EXPECT_EQ(diff_policy_text("", "", "a", "b"), "");
  EXPECT_EQ(diff_policy_text(numbered(5), numbered(5), "a", "b"), "");
}

TEST(PolicyDiffTest, OneChangedLineWithThreeLinesOfContext) {
  EXPECT_EQ(diff_policy_text(numbered(10), numbered(10, {{5, "L5"}}), "v1", "v2"),
            "--- v1\n+++ v2\n"
            "@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n");
}

TEST(PolicyDiffTest, DistantChangesMakeTwoHunksCloseOnesOne) {
  EXPECT_EQ(diff_policy_text(numbered(20), numbered(20, {{2, "L2"}, {18, "L18"}}), "a", "b"),
            "--- a\n+++ b\n"
            "@@ -1,5 +1,5 @@\n l1\n-l2\n+L2\n l3\n l4\n l5\n"
            "@@ -15,6 +15,6 @@\n l15\n l16\n l17\n-l18\n+L18\n l19\n l20\n");
  EXPECT_EQ(diff_policy_text(numbered(20), numbered(20, {{5, "L5"}, {11, "L11"}}), "a", "b"),
            "--- a\n+++ b\n"
            "@@ -2,13 +2,13 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n l9\n l10\n-l11\n+L11\n"
            " l12\n l13\n l14\n");
}

TEST(PolicyDiffTest, InsertionsDeletionsAndEdges) {
  EXPECT_EQ(diff_policy_text("1\n2\n3\n", "1\n2\nX\n3\n", "a", "b"),
            "--- a\n+++ b\n@@ -1,3 +1,4 @@\n 1\n 2\n+X\n 3\n");
  EXPECT_EQ(diff_policy_text("1\n2\n3\n4\n", "1\n4\n", "a", "b"),
            "--- a\n+++ b\n@@ -1,4 +1,2 @@\n 1\n-2\n-3\n 4\n");
  EXPECT_EQ(diff_policy_text("", "p\n", "a", "b"), "--- a\n+++ b\n@@ -0,0 +1 @@\n+p\n");
  EXPECT_EQ(diff_policy_text("p\nq\n", "", "a", "b"), "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-p\n-q\n");
  EXPECT_EQ(diff_policy_text("x\n", "x", "a", "b"),
            "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+x\n\\ No newline at end of file\n");
  // Removals print before additions within a change.
  EXPECT_EQ(diff_policy_text("a\nb\nc\n", "a\nB\nC\nc\n", "x", "y"),
            "--- x\n+++ y\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c\n");
}

class PolicyDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-policy-dir-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
  }
  std::filesystem::path dir_;
};

TEST_F(PolicyDirTest, JoinsCedarFilesInNameOrder) {
  write("20-b.cedar", "b1\nb2\n");
  write("10-a.cedar", "a1\na2");  // no final newline
  write("30-c.cedar", "c1\n");
  write("notes.txt", "not policy\n");
  std::filesystem::create_directories(dir_ / "15-dir.cedar");
  auto joined = read_policy_dir_sources(dir_.string());
  ASSERT_TRUE(joined.is_ok()) << joined.status().to_string();
  EXPECT_EQ(joined->text, "a1\na2\nb1\nb2\n\nc1\n");
  ASSERT_EQ(joined->files.size(), 3u);
  EXPECT_EQ(joined->files[0].first_line, 1u);
  EXPECT_EQ(joined->files[1].first_line, 3u);
  EXPECT_EQ(joined->files[2].first_line, 6u);
  auto [file, line] = joined->locate(4);
  EXPECT_EQ(std::filesystem::path(file->path).filename(), "20-b.cedar");
  EXPECT_EQ(line, 2u);
  EXPECT_EQ(joined->locate(6).second, 1u);
  EXPECT_EQ(*read_policy_dir(dir_.string()), joined->text);
}

TEST_F(PolicyDirTest, RefusesMissingOrEmptyDirectories) {
  EXPECT_EQ(read_policy_dir((dir_ / "missing").string()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(read_policy_dir(dir_.string()).status().code(), StatusCode::kInvalidArgument);
  write("policy.cedar", "x");
  EXPECT_EQ(read_policy_dir((dir_ / "policy.cedar").string()).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(read_policy_dir(dir_.string()).is_ok());
}

TEST(PolicyDirShippedTest, DefaultPolicyDirectoryValidates) {
  auto text = read_policy_dir(CUSTOS_TEST_DATA_DIR "/../../docs/policies");
  ASSERT_TRUE(text.is_ok()) << text.status().to_string();
  auto policies = validate_policies(*text, custos_schema());
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  EXPECT_GE(policies->size(), 19u);
}

}  // namespace
}  // namespace custos::policy
