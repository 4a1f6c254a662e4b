// The log's write side: receipts, group commit, back-pressure, failures,
// resumption and concurrency.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "custos/ledger/checkpoint.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

class LogTest : public LogFixture {};

Checkpoint body_of(const std::string& note) {
  auto checkpoint = parse_checkpoint_body(note.substr(0, note.find("\n\n") + 1));
  EXPECT_TRUE(checkpoint.is_ok()) << note;
  return checkpoint.is_ok() ? *checkpoint : Checkpoint{};
}

TEST_F(LogTest, NewLogStartsWithASignedEmptyCheckpoint) {
  open_log();
  EXPECT_EQ(log_->tree_size(), 0u);
  EXPECT_TRUE(log_->health().is_ok());
  std::string note = log_->latest_checkpoint();
  EXPECT_EQ(note, std::string(kOrigin) + "\n0\n" + empty_tree_hash().base64() +
                      "\n\n\u2014 fake-signer AAAA\n");
  EXPECT_EQ(*log_->checkpoint_at(0), note);
}

TEST_F(LogTest, OpenRefusesBadOptions) {
  auto options = log_options();
  options.origin = "";
  EXPECT_EQ(Log::open(*store_, options).status().code(), StatusCode::kInvalidArgument);
  options = log_options("two\nlines");
  EXPECT_EQ(Log::open(*store_, options).status().code(), StatusCode::kInvalidArgument);
  options = log_options();
  options.sign_checkpoint = nullptr;
  EXPECT_EQ(Log::open(*store_, options).status().code(), StatusCode::kInvalidArgument);
  options = log_options();
  options.clock = nullptr;
  EXPECT_EQ(Log::open(*store_, options).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LogTest, BlockingAppendReturnsADurableReceipt) {
  open_log();
  clock_.set(kStartTime + 42);
  AppendRequest request;
  request.kind = EntryKind::kControlChange;
  request.principal = "user:alice";
  request.request_signature = {1, 2, 3};
  request.payload = to_bytes("enroll device 9");
  auto receipt = log_->append(request);
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->index, 0u);
  EXPECT_EQ(receipt->tree_size, 1u);
  EXPECT_EQ(log_->tree_size(), 1u);
  EXPECT_EQ(receipt->checkpoint, log_->latest_checkpoint());

  LogEntry expected{EntryKind::kControlChange,  0, kStartTime + 42, "user:alice", {1, 2, 3},
                    to_bytes("enroll device 9")};
  EXPECT_EQ(receipt->leaf_hash, hash_leaf(encode_entry(expected)));
  Checkpoint checkpoint = body_of(receipt->checkpoint);
  EXPECT_EQ(checkpoint.origin, kOrigin);
  EXPECT_EQ(checkpoint.tree_size, 1u);
  EXPECT_EQ(checkpoint.root_hash, receipt->leaf_hash);

  auto stored = log_->entry(0);
  ASSERT_TRUE(stored.is_ok());
  auto decoded = decode_entry(*stored);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, expected);

  // Durable: visible after reopening the store.
  reopen();
  EXPECT_EQ(log_->tree_size(), 1u);
  EXPECT_EQ(log_->latest_checkpoint(), receipt->checkpoint);
  EXPECT_EQ(hash_leaf(*log_->entry(0)), receipt->leaf_hash);
}

TEST_F(LogTest, InvalidRequestsFailAtOnce) {
  open_log();
  AppendRequest request;
  request.payload.assign(kMaxEntrySize, 0);
  auto receipt = log_->append(request);
  EXPECT_EQ(receipt.status().code(), StatusCode::kInvalidArgument);
  request.payload.clear();
  request.principal = "\xff";
  EXPECT_EQ(log_->append(request).status().code(), StatusCode::kInvalidArgument);
  request.principal = "ok";
  request.kind = static_cast<EntryKind>(9);
  EXPECT_EQ(log_->append(request).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->tree_size(), 0u);
  EXPECT_TRUE(log_->health().is_ok());
}

TEST_F(LogTest, ReceiptsOfOneBatchShareItsCheckpoint) {
  open_log();
  signer_.hold();
  auto first = append_many_async(0, 1);
  signer_.wait_for_calls(2);  // batch {0} is signing; the next 50 queue behind it
  std::vector<Result<AppendReceipt>> receipts;
  std::mutex mutex;
  for (uint64_t n = 1; n <= 50; ++n) {
    log_->append_async(request_for(n), [&](Result<AppendReceipt> receipt) {
      std::lock_guard lock(mutex);
      receipts.push_back(std::move(receipt));
    });
  }
  signer_.release_all();
  first.wait();
  log_->close();  // drains
  ASSERT_EQ(receipts.size(), 50u);
  for (size_t i = 0; i < receipts.size(); ++i) {
    ASSERT_TRUE(receipts[i].is_ok());
    EXPECT_EQ(receipts[i]->index, i + 1);  // callbacks run in index order
    EXPECT_EQ(receipts[i]->tree_size, 51u);
    EXPECT_EQ(receipts[i]->checkpoint, receipts[0]->checkpoint);
    EXPECT_EQ(receipts[i]->leaf_hash, expected_leaf(i + 1, i + 1));
  }
}

// A group lands whole in one batch even beyond max_batch_entries, between
// single appends that batch around it.
TEST_F(LogTest, GroupsCommitTogetherInOneBatch) {
  auto options = log_options();
  options.max_batch_entries = 4;
  open_log(std::move(options));
  signer_.hold();
  auto first = append_many_async(0, 1);
  signer_.wait_for_calls(2);  // entry 0 is being committed; the rest queues
  auto before = append_many_async(1, 3);
  std::vector<AppendRequest> group;
  for (uint64_t n = 4; n < 14; ++n) group.push_back(request_for(n));
  std::promise<Result<std::vector<AppendReceipt>>> grouped;
  log_->append_group_async(std::move(group), [&](Result<std::vector<AppendReceipt>> receipts) {
    grouped.set_value(std::move(receipts));
  });
  auto after = append_many_async(14, 2);
  signer_.release_all();
  first.wait();
  before.wait();
  after.wait();
  auto receipts = grouped.get_future().get();
  ASSERT_TRUE(receipts.is_ok()) << receipts.status().to_string();
  ASSERT_EQ(receipts->size(), 10u);
  for (size_t i = 0; i < receipts->size(); ++i) {
    EXPECT_EQ((*receipts)[i].index, 4 + i);
    EXPECT_EQ((*receipts)[i].checkpoint, (*receipts)[0].checkpoint);
    EXPECT_EQ((*receipts)[i].leaf_hash, expected_leaf(4 + i, 4 + i));
  }
  // Batches: {0}, {1,2,3} + the whole group (not cut at 4), then {14,15}.
  std::vector<uint64_t> sizes;
  for (const auto& body : signer_.signed_bodies()) sizes.push_back(body_of(body + "\n").tree_size);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{0, 1, 14, 16}));
}

TEST_F(LogTest, GroupWithABadEntryOrTooLargeIsRefusedWhole) {
  auto options = log_options();
  options.max_pending_entries = 8;
  open_log(std::move(options));
  auto refusal = [&](std::vector<AppendRequest> group) {
    std::promise<Status> status;
    log_->append_group_async(std::move(group), [&](Result<std::vector<AppendReceipt>> receipts) {
      status.set_value(receipts.status());
    });
    return status.get_future().get();
  };
  std::vector<AppendRequest> bad = {request_for(1), request_for(2)};
  bad[1].principal = std::string(70000, 'p');
  EXPECT_EQ(refusal(std::move(bad)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refusal({}).code(), StatusCode::kInvalidArgument);
  std::vector<AppendRequest> huge;
  for (uint64_t n = 0; n < 9; ++n) huge.push_back(request_for(n));
  EXPECT_EQ(refusal(std::move(huge)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->tree_size(), 0u);
  std::vector<AppendRequest> fits;
  for (uint64_t n = 0; n < 8; ++n) fits.push_back(request_for(n));
  EXPECT_TRUE(refusal(std::move(fits)).is_ok());
  EXPECT_EQ(log_->tree_size(), 8u);
}

// A failed write fails every entry of the group, and the group's callback once.
TEST_F(LogTest, SignerFailureFailsTheWholeGroupOnce) {
  open_log();
  signer_.fail_next();
  std::atomic<int> calls{0};
  std::promise<Status> status;
  std::vector<AppendRequest> group = {request_for(1), request_for(2), request_for(3)};
  log_->append_group_async(std::move(group), [&](Result<std::vector<AppendReceipt>> receipts) {
    ++calls;
    status.set_value(receipts.status());
  });
  EXPECT_FALSE(status.get_future().get().is_ok());
  log_->close();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(log_->tree_size(), 0u);
}

TEST_F(LogTest, BackPressureRefusesBeyondMaxPending) {
  auto options = log_options();
  options.max_pending_entries = 4;
  options.max_batch_entries = 2;
  open_log(std::move(options));
  signer_.hold();
  auto first = append_many_async(0, 1);
  signer_.wait_for_calls(2);              // entry 0 is being committed
  auto queued = append_many_async(1, 3);  // 4 pending now
  std::promise<Status> refused;
  log_->append_async(request_for(4),
                     [&](Result<AppendReceipt> receipt) { refused.set_value(receipt.status()); });
  Status status = refused.get_future().get();
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status.to_string();
  signer_.release_all();
  first.wait();
  queued.wait();
  EXPECT_EQ(log_->tree_size(), 4u);
  // With the queue drained, appends are accepted again; batches were capped at 2.
  auto receipt = log_->append(request_for(4));
  ASSERT_TRUE(receipt.is_ok());
  EXPECT_EQ(receipt->index, 4u);
  std::vector<uint64_t> sizes;
  for (const auto& body : signer_.signed_bodies()) sizes.push_back(body_of(body + "\n").tree_size);
  EXPECT_EQ(sizes, (std::vector<uint64_t>{0, 1, 3, 4, 5}));
}

TEST_F(LogTest, CloseDrainsTheQueueThenRefuses) {
  open_log();
  std::atomic<int> succeeded{0};
  for (uint64_t n = 0; n < 2000; ++n) {
    log_->append_async(request_for(n), [&](Result<AppendReceipt> receipt) {
      if (receipt.is_ok()) ++succeeded;
    });
  }
  log_->close();
  EXPECT_EQ(succeeded.load(), 2000);
  EXPECT_EQ(log_->tree_size(), 2000u);
  auto after = log_->append(request_for(0));
  EXPECT_EQ(after.status().code(), StatusCode::kUnavailable);
  log_->close();                           // idempotent
  EXPECT_TRUE(log_->entry(1999).is_ok());  // reads keep working
}

TEST_F(LogTest, ReopenResumesTheTreeAndItsPartialTiles) {
  open_log();
  append_many_async(0, 700).wait();
  std::string checkpoint = log_->latest_checkpoint();
  reopen();
  EXPECT_EQ(log_->tree_size(), 700u);
  EXPECT_EQ(log_->latest_checkpoint(), checkpoint);
  append_many_async(700, 400).wait();
  std::vector<Hash256> leaves;
  for (uint64_t i = 0; i < 1100; ++i) leaves.push_back(expected_leaf(i, i));
  EXPECT_EQ(*log_->root_at(1100), reference_mth(leaves));
  EXPECT_EQ(body_of(log_->latest_checkpoint()).root_hash, reference_mth(leaves));
  for (uint64_t i : {0, 255, 256, 699, 700, 767, 768, 1099}) {
    EXPECT_EQ(hash_leaf(*log_->entry(i)), leaves[i]) << i;
  }
}

TEST_F(LogTest, ACommitWritesItsNewEntriesNotThePartialBundleAgain) {
  LogOptions options = log_options();
  std::vector<BatchStats> batches;
  std::mutex batches_mutex;
  options.on_batch = [&](const BatchStats& stats) {
    std::lock_guard lock(batches_mutex);
    batches.push_back(stats);
  };
  open_log(std::move(options));
  append_many_async(0, 200).wait();
  ASSERT_TRUE(log_->append(request_for(200)).is_ok());
  ASSERT_TRUE(log_->append(request_for(201)).is_ok());
  auto bundle = log_->read_entry_bundle(0, 202);
  ASSERT_TRUE(bundle.is_ok()) << bundle.status().to_string();
  {
    std::lock_guard lock(batches_mutex);
    ASSERT_GE(batches.size(), 2u);
    // One entry, its tiles, the checkpoint: not the 200 entries before it.
    EXPECT_LT(batches.back().write_bytes, bundle->size() / 2);
  }
  for (uint64_t i : {0, 150, 199, 200, 201}) {
    EXPECT_EQ(hash_leaf(*log_->entry(i)), expected_leaf(i, i)) << i;
  }
  // Across a reopen, a completed bundle and the next partial one.
  reopen();
  append_many_async(202, 100).wait();
  for (uint64_t i : {201, 202, 255, 256, 301}) {
    EXPECT_EQ(hash_leaf(*log_->entry(i)), expected_leaf(i, i)) << i;
  }
  std::vector<Hash256> leaves;
  for (uint64_t i = 0; i < 302; ++i) leaves.push_back(expected_leaf(i, i));
  EXPECT_EQ(*log_->root_at(302), reference_mth(leaves));
}

TEST_F(LogTest, BytesStoredPastTheTreeInThePartialBundleAreDropped) {
  open_log();
  append_many_async(0, 10).wait();
  log_.reset();
  std::string key(8, '\0');  // bundle 0
  auto stored = store_->get(store::Family::kEntries, key);
  ASSERT_TRUE(stored.is_ok() && stored->has_value());
  store::WriteBatch batch;
  batch.put(store::Family::kEntries, key, **stored + "junk");
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  open_log();
  ASSERT_TRUE(log_->append(request_for(10)).is_ok());
  for (uint64_t i : {0, 9, 10}) EXPECT_EQ(hash_leaf(*log_->entry(i)), expected_leaf(i, i)) << i;
  auto again = store_->get(store::Family::kEntries, key);
  ASSERT_TRUE(again.is_ok() && again->has_value());
  EXPECT_EQ((*again)->find("junk"), std::string::npos);
}

TEST_F(LogTest, AFailedCommitLeavesThePartialBundleAsStored) {
  open_log();
  append_many_async(0, 5).wait();
  signer_.fail_next();
  EXPECT_FALSE(log_->append(request_for(99)).is_ok());
  ASSERT_TRUE(log_->append(request_for(5)).is_ok());
  reopen();
  ASSERT_TRUE(log_->append(request_for(6)).is_ok());
  for (uint64_t i = 0; i < 7; ++i) EXPECT_EQ(hash_leaf(*log_->entry(i)), expected_leaf(i, i)) << i;
}

TEST_F(LogTest, ReopenWithAnotherOriginIsRefused) {
  open_log();
  ASSERT_TRUE(log_->append(request_for(0)).is_ok());
  log_.reset();
  auto other = Log::open(*store_, log_options("other.example/log"));
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LogTest, TamperedTileIsDetectedOnOpen) {
  open_log();
  append_many_async(0, 300).wait();
  log_.reset();
  store::WriteBatch batch;
  std::string key(9, '\0');  // level 0, tile 1: the partial tile of width 44
  key[8] = 1;
  batch.put(store::Family::kTiles, key, Bytes(44 * 32, 0x11));
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  auto log = Log::open(*store_, log_options());
  EXPECT_EQ(log.status().code(), StatusCode::kDataLoss) << log.status().to_string();
}

TEST_F(LogTest, SignerFailureFailsTheBatchAndRollsBack) {
  open_log();
  ASSERT_TRUE(log_->append(request_for(0)).is_ok());
  signer_.fail_next();
  auto failed = log_->append(request_for(1));
  EXPECT_FALSE(failed.is_ok());
  EXPECT_NE(failed.status().message().find("fake signer refused"), std::string::npos);
  EXPECT_EQ(log_->tree_size(), 1u);
  EXPECT_TRUE(log_->health().is_ok());
  // The next entry takes the index the failed one would have had.
  auto receipt = log_->append(request_for(1));
  ASSERT_TRUE(receipt.is_ok());
  EXPECT_EQ(receipt->index, 1u);
  std::vector<Hash256> leaves = {expected_leaf(0, 0), expected_leaf(1, 1)};
  EXPECT_EQ(body_of(receipt->checkpoint).root_hash, reference_mth(leaves));
  reopen();
  EXPECT_EQ(*log_->root_at(2), reference_mth(leaves));
}

TEST_F(LogTest, StoreWriteFailureMakesTheLogReadOnly) {
  open_log();
  append_many_async(0, 10).wait();
  std::string checkpoint = log_->latest_checkpoint();
  log_.reset();
  store_.reset();
  open_store(/*read_only=*/true);  // every write now fails
  open_log();
  EXPECT_EQ(log_->tree_size(), 10u);
  auto failed = log_->append(request_for(10));
  ASSERT_FALSE(failed.is_ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kFailedPrecondition);
  Status health = log_->health();
  EXPECT_FALSE(health.is_ok());
  EXPECT_NE(health.message().find("read-only"), std::string::npos) << health.to_string();
  auto again = log_->append(request_for(10));
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  // Nothing was acknowledged or published; reads still serve the committed tree.
  EXPECT_EQ(log_->tree_size(), 10u);
  EXPECT_EQ(log_->latest_checkpoint(), checkpoint);
  EXPECT_TRUE(log_->inclusion_proof(3, 10).is_ok());
  EXPECT_EQ(log_->entry(10).status().code(), StatusCode::kOutOfRange);
}

TEST_F(LogTest, NewLogInReadOnlyStoreIsRefused) {
  store_.reset();
  {
    store::StoreOptions options;
    auto store = store::Store::open(dir_.string(), options);  // create the directory
    ASSERT_TRUE(store.is_ok());
  }
  open_store(/*read_only=*/true);
  auto log = Log::open(*store_, log_options());
  EXPECT_EQ(log.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LogTest, ConcurrentAppendersGetUniqueConsecutiveIndexes) {
  open_log();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 1500;
  std::vector<std::vector<AppendReceipt>> receipts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Mix blocking appends with bursts of async ones.
        AppendRequest request = request_for(static_cast<uint64_t>(t * kPerThread + i));
        auto receipt = log_->append(std::move(request));
        ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
        receipts[t].push_back(*receipt);
        clock_.advance(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::vector<uint64_t> indexes;
  std::vector<Hash256> leaves(kThreads * kPerThread);
  for (const auto& per_thread : receipts) {
    uint64_t previous = 0;
    bool first = true;
    for (const auto& receipt : per_thread) {
      indexes.push_back(receipt.index);
      leaves[receipt.index] = receipt.leaf_hash;
      EXPECT_GT(receipt.tree_size, receipt.index);
      if (!first) {
        EXPECT_GT(receipt.index, previous);  // one thread's appends keep their order
      }
      previous = receipt.index;
      first = false;
    }
  }
  std::sort(indexes.begin(), indexes.end());
  for (size_t i = 0; i < indexes.size(); ++i) ASSERT_EQ(indexes[i], i);
  EXPECT_EQ(log_->tree_size(), static_cast<uint64_t>(kThreads * kPerThread));
  EXPECT_EQ(*log_->root_at(log_->tree_size()), reference_mth(leaves));
  // Receive times never go backwards along the log.
  UnixMicros previous_time = 0;
  for (uint64_t i = 0; i < log_->tree_size(); i += 7) {
    auto entry = decode_entry(*log_->entry(i));
    ASSERT_TRUE(entry.is_ok());
    EXPECT_GE(entry->receive_time, previous_time);
    previous_time = entry->receive_time;
  }
}

TEST_F(LogTest, ReadsRunConcurrentlyWithAppends) {
  open_log();
  std::atomic<bool> stop{false};
  std::atomic<int> checked{0};
  std::thread reader([&] {
    while (!stop.load()) {
      uint64_t size = log_->tree_size();
      if (size == 0) continue;
      auto root = log_->root_at(size);
      ASSERT_TRUE(root.is_ok()) << root.status().to_string();
      auto proof = log_->inclusion_proof(size - 1, size);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      auto tile = log_->read_tile(0, (size - 1) / 256, static_cast<uint32_t>((size - 1) % 256 + 1));
      ASSERT_TRUE(tile.is_ok()) << tile.status().to_string();
      ++checked;
    }
  });
  for (uint64_t n = 0; n < 3000; n += 100) append_many_async(n, 100).wait();
  stop = true;
  reader.join();
  EXPECT_GT(checked.load(), 0);
}

}  // namespace
}  // namespace custos::ledger::testing
