// Shared by the log tests: a temporary store, a fake checkpoint signer that
// can hold the sequencer (to shape group-commit batches exactly), and a
// naive RFC 9162 reference (MTH, PATH, PROOF) over all leaf hashes.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <bit>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "custos/core/clock.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/ledger/merkle.h"
#include "custos/store/store.h"

namespace custos::ledger::testing {

inline constexpr std::string_view kOrigin = "test.example/custos/log";
inline constexpr UnixMicros kStartTime = 1'780'000'000'000'000;

// Signs by appending a fixed signature line. While held, each call waits
// until release() allows it, so a test can queue entries behind a batch.
class FakeSigner {
 public:
  Result<std::string> sign(std::string_view body) {
    std::unique_lock lock(mutex_);
    uint64_t call = ++calls_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_ || call <= allowed_; });
    if (fail_next_) {
      fail_next_ = false;
      return internal_error("fake signer refused");
    }
    signed_bodies_.emplace_back(body);
    return std::string(body) + "\n\u2014 fake-signer AAAA\n";
  }

  // From now on, calls after the current ones block until released.
  void hold() {
    std::lock_guard lock(mutex_);
    held_ = true;
    allowed_ = calls_;
  }
  // Lets `count` more calls through.
  void release(uint64_t count = 1) {
    std::lock_guard lock(mutex_);
    allowed_ += count;
    changed_.notify_all();
  }
  void release_all() {
    std::lock_guard lock(mutex_);
    held_ = false;
    changed_.notify_all();
  }
  // Waits until `count` calls have started.
  void wait_for_calls(uint64_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return calls_ >= count; });
  }
  uint64_t calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  void fail_next() {
    std::lock_guard lock(mutex_);
    fail_next_ = true;
  }
  std::vector<std::string> signed_bodies() {
    std::lock_guard lock(mutex_);
    return signed_bodies_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t calls_ = 0;
  uint64_t allowed_ = 0;
  bool held_ = false;
  bool fail_next_ = false;
  std::vector<std::string> signed_bodies_;
};

class LogFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-log-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open_store();
  }
  void TearDown() override {
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open_store(bool read_only = false) {
    store::StoreOptions options;
    options.block_cache_mb = 8;
    options.write_buffer_mb = 8;
    options.read_only = read_only;
    auto store = store::Store::open(dir_.string(), options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }

  LogOptions log_options(std::string origin = std::string(kOrigin)) {
    LogOptions options;
    options.origin = std::move(origin);
    options.clock = &clock_;
    options.sign_checkpoint = [this](std::string_view body) { return signer_.sign(body); };
    options.max_batch_entries = 1 << 20;
    options.max_pending_entries = 1 << 20;
    return options;
  }

  void open_log(LogOptions options) {
    auto log = Log::open(*store_, std::move(options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
  }
  void open_log() { open_log(log_options()); }

  void reopen() {
    log_.reset();
    store_.reset();
    open_store();
    open_log();
  }

  static AppendRequest request_for(uint64_t n) {
    AppendRequest request;
    request.kind = static_cast<EntryKind>(1 + n % 5);
    request.principal = "device:" + std::to_string(n % 7);
    if (n % 3 != 0) request.request_signature = Bytes(n % 3 == 1 ? 64 : 3, uint8_t(n));
    std::string payload = "payload #" + std::to_string(n) + std::string(n % 40, 'x');
    request.payload = to_bytes(payload);
    return request;
  }

  // The leaf hash entry `index` has when request_for(n) is logged at kStartTime.
  static Hash256 expected_leaf(uint64_t index, uint64_t n, UnixMicros time = kStartTime) {
    AppendRequest request = request_for(n);
    LogEntry entry{request.kind,   index, time, request.principal, request.request_signature,
                   request.payload};
    return hash_leaf(encode_entry(entry));
  }

  // Queues `count` appends (request_for(first + i)) and returns a future
  // that is ready when all have completed; each must succeed.
  std::future<void> append_many_async(uint64_t first, uint64_t count) {
    struct Tracker {
      std::mutex mutex;
      uint64_t remaining;
      std::promise<void> done;
    };
    auto tracker = std::make_shared<Tracker>();
    tracker->remaining = count;
    auto future = tracker->done.get_future();
    if (count == 0) {
      tracker->done.set_value();
      return future;
    }
    for (uint64_t i = 0; i < count; ++i) {
      log_->append_async(request_for(first + i), [tracker](Result<AppendReceipt> receipt) {
        EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
        std::lock_guard lock(tracker->mutex);
        if (--tracker->remaining == 0) tracker->done.set_value();
      });
    }
    return future;
  }

  std::filesystem::path dir_;
  ManualClock clock_{kStartTime};
  FakeSigner signer_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Log> log_;
};

// ---- Naive RFC 9162 reference over all leaf hashes (section 2.1) ----

inline uint64_t reference_split(uint64_t n) { return std::bit_floor(n - 1); }

inline Hash256 reference_mth(std::span<const Hash256> leaves) {
  return root_from_leaf_hashes(leaves);
}

// PATH(m, D[n]) (section 2.1.3.1).
inline std::vector<Hash256> reference_path(uint64_t m, std::span<const Hash256> leaves) {
  if (leaves.size() <= 1) return {};
  uint64_t k = reference_split(leaves.size());
  std::vector<Hash256> proof;
  if (m < k) {
    proof = reference_path(m, leaves.first(k));
    proof.push_back(reference_mth(leaves.subspan(k)));
  } else {
    proof = reference_path(m - k, leaves.subspan(k));
    proof.push_back(reference_mth(leaves.first(k)));
  }
  return proof;
}

// SUBPROOF(m, D[n], b) (section 2.1.4.1).
inline std::vector<Hash256> reference_subproof(uint64_t m, std::span<const Hash256> leaves,
                                               bool b) {
  uint64_t n = leaves.size();
  if (m == n) {
    if (b) return {};
    return {reference_mth(leaves)};
  }
  uint64_t k = reference_split(n);
  std::vector<Hash256> proof;
  if (m <= k) {
    proof = reference_subproof(m, leaves.first(k), b);
    proof.push_back(reference_mth(leaves.subspan(k)));
  } else {
    proof = reference_subproof(m - k, leaves.subspan(k), false);
    proof.push_back(reference_mth(leaves.first(k)));
  }
  return proof;
}

inline std::vector<Hash256> reference_consistency(uint64_t m, std::span<const Hash256> leaves) {
  if (m == 0 || m == leaves.size()) return {};
  return reference_subproof(m, leaves, true);
}

}  // namespace custos::ledger::testing
