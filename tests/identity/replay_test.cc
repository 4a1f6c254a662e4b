// The log is the source of truth: the state rebuilt by open() (from the
// journal, from the log tail, or from the log alone) equals the live state.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <random>
#include <thread>

#include "custos/core/bytes.h"
#include "custos/identity/identity_service.h"
#include "identity_test_support.h"

namespace custos::identity::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class ReplayTest : public IdentityFixture {
 protected:
  // Appends `count` non-identity entries: raw payloads and another module's
  // control entries, which replay must skip.
  void append_foreign(uint64_t count) {
    if (count == 0) return;
    struct Tracker {
      std::atomic<uint64_t> remaining;
      std::promise<void> done;
    };
    auto tracker = std::make_shared<Tracker>();
    tracker->remaining = count;
    std::future<void> finished = tracker->done.get_future();
    for (uint64_t i = 0; i < count; ++i) {
      ledger::AppendRequest request;
      request.principal = "dev-other";
      if (i % 3 == 0) {
        request.kind = ledger::EntryKind::kControlChange;
        request.payload =
            to_bytes("{\"v\":1,\"op\":\"policy.set\",\"n\":" + std::to_string(i) + "}");
      } else {
        request.kind = ledger::EntryKind::kRawPayload;
        request.payload = to_bytes("event " + std::to_string(i));
      }
      log_->append_async(std::move(request), [tracker](Result<ledger::AppendReceipt> receipt) {
        EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
        if (--tracker->remaining == 0) tracker->done.set_value();
      });
    }
    finished.wait();
  }

  uint64_t identity_entry_count() {
    uint64_t count = 0;
    for (const ledger::LogEntry& entry : log_entries()) {
      if (entry.kind == ledger::EntryKind::kControlChange && is_identity_payload(entry.payload)) {
        ++count;
      }
    }
    return count;
  }

  // Deletes the journal at and above `from_index` and sets replayed_up_to
  // there: what a crash between the log commit and the journal write leaves.
  void truncate_journal(uint64_t from_index) {
    service_.reset();
    store::WriteBatch batch;
    for (uint64_t index = from_index; index < log_->tree_size(); ++index) {
      Bytes key = to_bytes("journal/");
      append_u64_be(key, index);
      batch.erase(store::Family::kPrincipals, as_text(key));
    }
    Bytes value;
    append_u8(value, 1);
    append_u64_be(value, from_index);
    batch.put(store::Family::kPrincipals, "replayed_up_to", value);
    ASSERT_TRUE(store_->write(batch, true).is_ok());
  }

  // Applies `count` random changes (valid and invalid), with foreign
  // entries and clock steps in between. Returns how many were applied.
  int random_changes(std::mt19937& rng, int count) {
    int applied = 0;
    auto pick = [&](const std::vector<std::string>& from) -> std::string {
      if (from.empty()) return "nobody";
      return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
    };
    auto roll = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
    for (int i = 0; i < count; ++i) {
      clock_.advance(roll(120) * kSecond);
      if (roll(10) == 0) append_foreign(1 + roll(3));
      Status status;
      int choice = principals_.size() < 3 ? 0 : roll(12);
      std::string principal_id = pick(principals_);
      switch (choice) {
        case 0: {
          std::string id = "p-" + std::to_string(i);
          int kind = roll(3);
          PrincipalAttributes attributes =
              kind == 0
                  ? device(id, static_cast<DeviceSubtype>(1 + roll(6)))
                  : user(id, roll(2) ? std::set<std::string>{"viewer"} : std::set<std::string>{});
          if (kind == 2) {
            attributes.kind = PrincipalKind::kService;
            attributes.tags = {{"team", "t" + std::to_string(roll(3))}};
          }
          status = service_->apply(PrincipalCreate{attributes}, kActor, kDecision).status();
          if (status.is_ok()) {
            principals_.push_back(id);
            if (attributes.kind == PrincipalKind::kUser) users_.push_back(id);
          }
          break;
        }
        case 1: {
          PrincipalUpdate update;
          update.id = principal_id;
          update.zone = "zone-" + std::to_string(roll(5));
          if (roll(2)) update.roles = std::set<std::string>{"r" + std::to_string(roll(4))};
          status = service_->apply(update, kActor, kDecision).status();
          break;
        }
        case 2:
          status =
              service_
                  ->apply(PrincipalStatusChange{principal_id, static_cast<PrincipalStatus>(roll(4)),
                                                "reason " + std::to_string(i)},
                          kActor, kDecision)
                  .status();
          break;
        case 3: {
          std::string key_id = "k-" + std::to_string(i);
          std::optional<UnixMicros> not_after;
          if (roll(2)) not_after = clock_.now_micros() + roll(1000) * kSecond + 1;
          status = service_
                       ->apply(KeyAdd{principal_id, key_id, Ed25519KeyPair::generate().public_key(),
                                      clock_.now_micros(), not_after},
                               kActor, kDecision)
                       .status();
          if (status.is_ok()) keys_.emplace_back(principal_id, key_id);
          break;
        }
        case 4: {
          if (keys_.empty()) continue;
          auto [owner, key_id] = keys_[roll(static_cast<int>(keys_.size()))];
          status = service_
                       ->apply(KeyExpire{owner, key_id, clock_.now_micros() + roll(100) * kSecond},
                               kActor, kDecision)
                       .status();
          break;
        }
        case 5: {
          auto ticket =
              service_->create_enrollment(principal_id, minutes(5 + roll(30)), kActor, kDecision);
          status = ticket.status();
          if (ticket.is_ok()) tickets_.emplace_back(principal_id, ticket->token);
          break;
        }
        case 6: {
          if (tickets_.empty()) continue;
          // Mostly the newest ticket, which is likely still live.
          auto [owner, token] =
              roll(4) ? tickets_.back() : tickets_[roll(static_cast<int>(tickets_.size()))];
          Ed25519KeyPair key = Ed25519KeyPair::generate();
          status =
              service_
                  ->complete_enrollment(
                      token, key.public_key(),
                      key.sign(as_bytes(enrollment_proof_message(owner, key.public_key(), token))),
                      kDecision)
                  .status();
          break;
        }
        case 7: {
          auto token =
              service_->create_api_token(principal_id, {"read", "s" + std::to_string(roll(3))},
                                         hours(1 + roll(3)), kActor, kDecision);
          status = token.status();
          if (token.is_ok()) tokens_.emplace_back(principal_id, token->token_id);
          break;
        }
        case 8: {
          if (tokens_.empty()) continue;
          auto [owner, token_id] = tokens_[roll(static_cast<int>(tokens_.size()))];
          status = service_->revoke_api_token(owner, token_id, kActor, kDecision).status();
          break;
        }
        case 9:
          status =
              service_->set_password(pick(users_), "pw-" + std::to_string(i), kActor, kDecision)
                  .status();
          break;
        case 10:
          status = service_->enroll_totp(pick(users_), kActor, kDecision).status();
          break;
        default:
          status = service_->apply(PrincipalCreate{device(principal_id)}, kActor, kDecision)
                       .status();  // duplicate: always refused
          break;
      }
      if (status.is_ok()) ++applied;
    }
    return applied;
  }

  std::vector<std::string> principals_;
  std::vector<std::string> users_;
  std::vector<std::pair<std::string, std::string>> keys_;
  std::vector<std::pair<std::string, std::string>> tickets_;
  std::vector<std::pair<std::string, std::string>> tokens_;
};

TEST_F(ReplayTest, RebuiltStateEqualsLiveStateAfterRandomChanges) {
  std::mt19937 rng(20261126);
  int applied = random_changes(rng, 200);
  EXPECT_GT(applied, 100);
  std::string live = service_->dump_state();
  uint64_t identity_entries = identity_entry_count();
  EXPECT_GE(identity_entries, static_cast<uint64_t>(applied));
  EXPECT_NE(live.find("\"principals\":[{"), std::string::npos);
  std::set<std::string> ops;
  for (const ledger::LogEntry& entry : log_entries()) {
    if (!is_identity_payload(entry.payload)) continue;
    auto decoded = decode_control_change(as_text(entry.payload));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    ops.emplace(control_op_name(decoded->change));
  }
  std::string seen;
  for (const std::string& op : ops) seen += op + " ";
  EXPECT_EQ(ops.size(), std::variant_size_v<ControlChange>) << "ops exercised: " << seen;

  // Restart: the journal has everything.
  restart();
  EXPECT_EQ(service_->dump_state(), live);
  ReplayStats stats = service_->replay_stats();
  EXPECT_EQ(stats.journal_entries, identity_entries);
  EXPECT_EQ(stats.applied_entries, 0u);
  EXPECT_EQ(stats.skipped_entries, 0u);
  EXPECT_EQ(stats.missing_secrets, 0u);
  EXPECT_EQ(stats.replayed_up_to, log_->tree_size());

  // From the log alone (no journal at all).
  truncate_journal(0);
  open_service();
  EXPECT_EQ(service_->dump_state(), live);
  stats = service_->replay_stats();
  EXPECT_EQ(stats.journal_entries, 0u);
  EXPECT_EQ(stats.applied_entries, identity_entries);
  EXPECT_EQ(stats.scanned_entries, log_->tree_size());

  // And the journal it rebuilt serves the next open.
  restart();
  EXPECT_EQ(service_->dump_state(), live);
  EXPECT_EQ(service_->replay_stats().journal_entries, identity_entries);

  // The rebuilt service keeps going where the live one stopped.
  int more = random_changes(rng, 40);
  EXPECT_GT(more, 0);
  live = service_->dump_state();
  restart();
  EXPECT_EQ(service_->dump_state(), live);
}

TEST_F(ReplayTest, SnapshotPlusTailReplay) {
  create(device("dev-1"));
  create(device("dev-2"));
  append_foreign(300);  // the tail crosses entry bundles
  uint64_t crash_point = log_->tree_size();
  ASSERT_TRUE(service_
                  ->apply(PrincipalStatusChange{"dev-1", PrincipalStatus::kQuarantined, "x"},
                          kActor, kDecision)
                  .is_ok());
  append_foreign(20);
  create(user("alice", {"viewer"}));
  ASSERT_TRUE(service_->set_password("alice", "pw", kActor, kDecision).is_ok());
  append_foreign(5);
  std::string live = service_->dump_state();

  // A crash after the last three log commits but before their journal writes.
  truncate_journal(crash_point);
  open_service();
  EXPECT_EQ(service_->dump_state(), live);
  ReplayStats stats = service_->replay_stats();
  EXPECT_EQ(stats.journal_entries, 2u);
  EXPECT_EQ(stats.applied_entries, 3u);
  EXPECT_EQ(stats.scanned_entries, log_->tree_size() - crash_point);
  EXPECT_EQ(stats.missing_secrets, 0u);
  EXPECT_EQ(service_->find_principal("dev-1")->status, PrincipalStatus::kQuarantined);
  EXPECT_TRUE(service_->login("alice", "pw").is_ok());

  // The tail is now in the journal: the next open scans only what follows.
  service_.reset();
  append_foreign(7);
  open_service();
  EXPECT_EQ(service_->dump_state(), live);
  stats = service_->replay_stats();
  EXPECT_EQ(stats.journal_entries, 5u);
  EXPECT_EQ(stats.applied_entries, 0u);
  EXPECT_EQ(stats.scanned_entries, 7u);
}

TEST_F(ReplayTest, TheLogWinsOverTheService) {
  create(device("dev-1"));
  service_.reset();
  // Entries appended behind the service's back are part of the truth: a
  // valid one is applied, an invalid one is skipped (by every replay alike).
  auto append_control = [&](const ControlChange& change) {
    ledger::AppendRequest request;
    request.kind = ledger::EntryKind::kControlChange;
    request.principal = kActor;
    request.payload = to_bytes(encode_control_change(change, kActor, kDecision));
    ASSERT_TRUE(log_->append(request).is_ok());
  };
  append_control(PrincipalCreate{device("dev-2")});
  append_control(PrincipalStatusChange{"dev-404", PrincipalStatus::kRevoked, "no such"});
  ledger::AppendRequest garbage;
  garbage.kind = ledger::EntryKind::kControlChange;
  garbage.principal = kActor;
  garbage.payload = to_bytes("{\"v\":1,\"op\":\"key.add\",broken");
  ASSERT_TRUE(log_->append(garbage).is_ok());

  open_service();
  EXPECT_NE(service_->find_principal("dev-2"), nullptr);
  ReplayStats stats = service_->replay_stats();
  EXPECT_EQ(stats.applied_entries, 1u);
  EXPECT_EQ(stats.skipped_entries, 2u);
  std::string state = service_->dump_state();
  restart();
  EXPECT_EQ(service_->dump_state(), state);
  EXPECT_EQ(service_->replay_stats().skipped_entries, 2u);
}

TEST_F(ReplayTest, ReplayedUpToBeyondTheLogIsDataLoss) {
  create(device("dev-1"));
  truncate_journal(log_->tree_size() + 5);
  auto service = IdentityService::open(*log_, *store_, clock_, options());
  EXPECT_EQ(service.status().code(), StatusCode::kDataLoss);
}

TEST_F(ReplayTest, ReadersRunConcurrentlyWithChanges) {
  create(device("dev-1"));
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  ASSERT_TRUE(
      service_->apply(KeyAdd{"dev-1", "k1", key.public_key(), 0, std::nullopt}, kActor, kDecision)
          .is_ok());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> lookups{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        KeyLookup lookup = service_->find_by_key_id("k1");
        EXPECT_TRUE(lookup.verdict == KeyVerdict::kValid ||
                    lookup.verdict == KeyVerdict::kPrincipalSuspended);
        EXPECT_EQ(lookup.principal->id(), "dev-1");
        service_->list_principals();
        ++lookups;
      }
    });
  }
  for (int i = 0; i < 20; ++i) {
    PrincipalStatus status = i % 2 == 0 ? PrincipalStatus::kSuspended : PrincipalStatus::kActive;
    ASSERT_TRUE(
        service_->apply(PrincipalStatusChange{"dev-1", status, ""}, kActor, kDecision).is_ok());
    create(device("dev-x" + std::to_string(i)));
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_GT(lookups.load(), 0u);
  std::string live = service_->dump_state();
  restart();
  EXPECT_EQ(service_->dump_state(), live);
}

}  // namespace
}  // namespace custos::identity::testing
