// PolicyStore: pushing versions through the log, refusals that log nothing,
// rebuilding from the journal and from the log, and readers during pushes.
#include "custos/policy/policy_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/policy/authorizer.h"
#include "policy_store_test_support.h"

namespace custos::policy::testing {
namespace {

class PolicyStoreTest : public PolicyStoreFixture {
 protected:
  void expect_same_versions(const std::vector<PolicyVersionInfo>& a,
                            const std::vector<PolicyVersionInfo>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].version, b[i].version);
      EXPECT_EQ(a[i].sha256, b[i].sha256);
      EXPECT_EQ(a[i].log_index, b[i].log_index);
      EXPECT_EQ(a[i].logged_at, b[i].logged_at);
      EXPECT_EQ(a[i].actor, b[i].actor);
      EXPECT_EQ(a[i].decision_id, b[i].decision_id);
      EXPECT_EQ(a[i].policy_count, b[i].policy_count);
    }
  }
};

TEST_F(PolicyStoreTest, NoVersionBeforeTheFirstPush) {
  EXPECT_EQ(policies_->current(), nullptr);
  EXPECT_TRUE(policies_->list().empty());
  EXPECT_EQ(policies_->get(1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(policies_->replay_stats().replayed_up_to, 0u);
}

TEST_F(PolicyStoreTest, PushMakesCurrentAndLogsAControlEntry) {
  std::vector<uint64_t> notified;
  policies_->set_on_change([&](std::shared_ptr<const PolicyVersion> version) {
    ASSERT_NE(version, nullptr);
    notified.push_back(version->version);
    // By the time the callback runs, the version is current.
    EXPECT_EQ(policies_->current()->version, version->version);
  });
  append_raw("before");
  PolicyVersionInfo first = push(policy_text(0));
  EXPECT_EQ(first.version, 1u);
  EXPECT_EQ(first.log_index, 1u);
  EXPECT_EQ(first.policy_count, 1u);
  EXPECT_EQ(first.sha256, sha256(policy_text(0)));
  EXPECT_EQ(log_->tree_size(), 2u);

  auto current = policies_->current();
  ASSERT_NE(current, nullptr);
  EXPECT_EQ(current->version, 1u);
  EXPECT_EQ(current->text, policy_text(0));
  EXPECT_EQ(current->actor, kActor);
  EXPECT_EQ(current->decision_id, kDecision);
  EXPECT_EQ(current->log_index, 1u);
  EXPECT_EQ(current->logged_at, clock_.now_micros());
  ASSERT_EQ(current->policies.size(), 1u);
  EXPECT_EQ(current->policies.id(0), "log-read");

  // The compiled set decides requests.
  Request request{EntityUid{"Custos::User", "u"}, EntityUid{"Custos::Action", "log.read"},
                  EntityUid{"Custos::Log", "main"}, Value::record({})};
  EXPECT_TRUE(is_authorized(request, current->policies, EntityStore()).allowed);

  // The log entry: a control change by the actor with the canonical payload.
  auto bytes = log_->entry(first.log_index);
  ASSERT_TRUE(bytes.is_ok());
  auto entry = ledger::decode_entry(*bytes);
  ASSERT_TRUE(entry.is_ok());
  EXPECT_EQ(entry->kind, ledger::EntryKind::kControlChange);
  EXPECT_EQ(entry->principal, kActor);
  EXPECT_EQ(as_text(entry->payload),
            "{\"v\":1,\"op\":\"policy.set\",\"actor\":\"policy-admin-1\",\"decision_id\":"
            "\"decision-1\",\"version\":1,\"sha256\":\"" +
                sha256(policy_text(0)).hex() +
                "\",\"text\":\"// reads of the public log\\n@id(\\\"log-read\\\")\\n"
                "permit (principal, action == Custos::Action::\\\"log.read\\\", resource is "
                "Custos::Log);\\n\"}");

  PolicyVersionInfo second = push(policy_text(1));
  EXPECT_EQ(second.version, 2u);
  EXPECT_EQ(policies_->current()->version, 2u);
  EXPECT_EQ(policies_->current()->policies.size(), 2u);
  auto list = policies_->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].version, 1u);
  EXPECT_EQ(list[1].version, 2u);
  auto old = policies_->get(1);
  ASSERT_TRUE(old.is_ok());
  EXPECT_EQ((*old)->text, policy_text(0));
  EXPECT_EQ(policies_->get(3).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(notified, (std::vector<uint64_t>{1, 2}));
}

TEST_F(PolicyStoreTest, RefusalsLeaveTheVersionAndTheLogUnchanged) {
  push(policy_text(0));
  int notified = 0;
  policies_->set_on_change([&](std::shared_ptr<const PolicyVersion>) { ++notified; });
  uint64_t size = log_->tree_size();

  std::vector<ValidationError> errors;
  std::string typo =
      policy_text(0) + "permit (principal, action, resource)\nwhen { principal.sitee == \"n\" };";
  auto refused = policies_->push(typo, kActor, kDecision, &errors);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message().rfind("5:18: ", 0), 0u) << refused.status().message();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 5);
  EXPECT_EQ(errors[0].column, 18);

  auto code = [&](std::string_view text, const std::string& actor = kActor,
                  const std::string& decision = kDecision) {
    return policies_->push(text, actor, decision).status();
  };
  Status parse_error = code("permit (principal, action, resource) when { 1 + };");
  EXPECT_EQ(parse_error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_error.message().rfind("1:49: ", 0), 0u) << parse_error.message();
  EXPECT_EQ(code("// nothing but a comment\n").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(policy_text(0) + "// \xff\xfe\n").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(policy_text(1), "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(policy_text(1), "line\nbreak").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(policy_text(1), kActor, std::string(300, 'd')).code(),
            StatusCode::kInvalidArgument);
  Status identical = code(policy_text(0));
  EXPECT_EQ(identical.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(identical.message().find("identical to the current version 1"), std::string::npos);
  std::string huge = policy_text(0) + "// " + std::string(70000, 'x') + "\n";
  EXPECT_EQ(code(huge).code(), StatusCode::kResourceExhausted);

  EXPECT_EQ(log_->tree_size(), size);
  EXPECT_EQ(policies_->current()->version, 1u);
  EXPECT_EQ(policies_->list().size(), 1u);
  EXPECT_EQ(notified, 0);
  // The next accepted push still takes version 2.
  EXPECT_EQ(push(policy_text(1)).version, 2u);
  // Going back to an earlier text is a new version, not a refusal.
  EXPECT_EQ(push(policy_text(0)).version, 3u);
}

TEST_F(PolicyStoreTest, ReopenRebuildsFromTheJournal) {
  push(policy_text(0));
  append_raw("between");
  push(policy_text(1));
  push(policy_text(2));
  append_raw("after");
  auto before = policies_->list();
  restart();
  const PolicyReplayStats& stats = policies_->replay_stats();
  EXPECT_EQ(stats.journal_versions, 3u);
  EXPECT_EQ(stats.log_versions, 0u);
  EXPECT_EQ(stats.scanned_entries, 0u);  // the journal covered the whole log
  EXPECT_EQ(stats.replayed_up_to, log_->tree_size());
  expect_same_versions(policies_->list(), before);
  ASSERT_NE(policies_->current(), nullptr);
  EXPECT_EQ(policies_->current()->version, 3u);
  EXPECT_EQ(policies_->current()->text, policy_text(2));
  EXPECT_EQ(push(policy_text(3)).version, 4u);
}

TEST_F(PolicyStoreTest, ReopenWithoutTheJournalRebuildsFromTheLog) {
  push(policy_text(0));
  append_raw("between");
  push(policy_text(1));
  push(policy_text(2));
  auto before = policies_->list();
  policies_.reset();
  delete_journal();
  open_policies();
  EXPECT_EQ(policies_->replay_stats().journal_versions, 0u);
  EXPECT_EQ(policies_->replay_stats().log_versions, 3u);
  EXPECT_EQ(policies_->replay_stats().scanned_entries, log_->tree_size());
  expect_same_versions(policies_->list(), before);
  EXPECT_EQ(policies_->current()->text, policy_text(2));

  // That open wrote the journal again.
  restart();
  EXPECT_EQ(policies_->replay_stats().journal_versions, 3u);
  EXPECT_EQ(policies_->replay_stats().log_versions, 0u);
  expect_same_versions(policies_->list(), before);
}

TEST_F(PolicyStoreTest, AVersionMissingFromTheJournalIsFoundInTheLogTail) {
  push(policy_text(0));
  push(policy_text(1));
  PolicyVersionInfo third = push(policy_text(2));
  auto before = policies_->list();
  policies_.reset();
  // As after a crash between the log commit and the journal write.
  store::WriteBatch batch;
  Bytes key = to_bytes("version/");
  append_u64_be(key, 3);
  batch.erase(store::Family::kPolicies, as_text(key));
  Bytes replayed = {1};
  append_u64_be(replayed, third.log_index);
  batch.put(store::Family::kPolicies, "replayed_up_to", replayed);
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  open_policies();
  EXPECT_EQ(policies_->replay_stats().journal_versions, 2u);
  EXPECT_EQ(policies_->replay_stats().log_versions, 1u);
  EXPECT_EQ(policies_->replay_stats().scanned_entries, 1u);
  expect_same_versions(policies_->list(), before);
}

TEST_F(PolicyStoreTest, BadPayloadsInTheLogAreSkippedAndCounted) {
  push(policy_text(0));
  auto payload = [](uint64_t version, const std::string& text) {
    return encode_policy_change({"intruder", "d", version, sha256(text), text});
  };
  // Not ours: an identity change and an arbitrary control payload.
  append_control("{\"v\":1,\"op\":\"principal.status\",\"actor\":\"a\"}");
  append_control("not json at all");
  // Ours but broken: not JSON, a wrong digest, out of sequence, non-canonical.
  append_control("{\"v\":1,\"op\":\"policy.set\",");
  PolicyChange wrong_digest{"intruder", "d", 2, sha256(std::string("other")), policy_text(1)};
  append_control(encode_policy_change(wrong_digest));
  append_control(payload(7, policy_text(1)));
  std::string spaced = payload(2, policy_text(1));
  spaced.pop_back();  // '}' (g++ 12 -Wrestrict false positive with insert)
  spaced += " }";
  append_control(spaced);
  // In sequence but not valid against the schema: takes number 2, not loaded.
  append_control(payload(2, "permit (principal is Custos::Robot, action, resource);"));
  // In sequence and valid: version 3.
  append_control(payload(3, policy_text(3)));

  policies_.reset();
  delete_journal();
  open_policies();
  const PolicyReplayStats& stats = policies_->replay_stats();
  EXPECT_EQ(stats.skipped_entries, 4u);
  EXPECT_EQ(stats.invalid_versions, 1u);
  EXPECT_EQ(stats.log_versions, 3u);  // 1, 2 (invalid) and 3
  auto list = policies_->list();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].version, 1u);
  EXPECT_EQ(list[1].version, 3u);
  EXPECT_EQ(list[1].actor, "intruder");
  EXPECT_EQ(policies_->get(2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(policies_->current()->version, 3u);
  EXPECT_EQ(push(policy_text(4)).version, 4u);

  // The journal replays the same way (the invalid version included).
  restart();
  EXPECT_EQ(policies_->replay_stats().journal_versions, 4u);
  EXPECT_EQ(policies_->replay_stats().invalid_versions, 1u);
  EXPECT_EQ(policies_->list().size(), 3u);
  EXPECT_EQ(policies_->current()->version, 4u);
}

TEST_F(PolicyStoreTest, ReadersSeeConsistentVersionsDuringPushes) {
  constexpr int kPushes = 12;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::atomic<int> problems{0};
  auto reader = [&] {
    uint64_t last_seen = 0;
    while (!done.load()) {
      auto current = policies_->current();
      if (current) {
        if (current->version < last_seen || current->sha256 != sha256(current->text) ||
            current->policies.size() != current->version) {
          ++problems;
        }
        last_seen = current->version;
        auto again = policies_->get(current->version);
        if (!again.is_ok() || (*again)->text != current->text) ++problems;
      }
      auto list = policies_->list();
      if (list.size() < last_seen) ++problems;
      for (size_t i = 0; i < list.size(); ++i) {
        if (list[i].version != i + 1) ++problems;
      }
      ++reads;
    }
  };
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) readers.emplace_back(reader);
  for (int i = 0; i < kPushes; ++i) push(policy_text(i));
  done = true;
  for (auto& thread : readers) thread.join();
  EXPECT_EQ(problems.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(policies_->current()->version, static_cast<uint64_t>(kPushes));
}

TEST_F(PolicyStoreTest, ConcurrentPushesAreSerialised) {
  std::vector<std::thread> pushers;
  std::atomic<int> accepted{0};
  for (int i = 0; i < 4; ++i) {
    pushers.emplace_back([&, i] {
      if (policies_->push(policy_text(i), kActor, kDecision).is_ok()) ++accepted;
    });
  }
  for (auto& thread : pushers) thread.join();
  EXPECT_EQ(accepted.load(), 4);
  auto list = policies_->list();
  ASSERT_EQ(list.size(), 4u);
  for (size_t i = 0; i < list.size(); ++i) {
    EXPECT_EQ(list[i].version, i + 1);
    if (i > 0) {
      EXPECT_GT(list[i].log_index, list[i - 1].log_index);
    }
  }
}

}  // namespace
}  // namespace custos::policy::testing
