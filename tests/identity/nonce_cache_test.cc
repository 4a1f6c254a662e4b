// The request-signature replay cache: replays refused within the window,
// forgotten after it, bounded memory, safe under concurrency.
#include "custos/identity/nonce_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace custos::identity {
namespace {

constexpr int64_t kNow = 1'780'000'000;

TEST(NonceCacheTest, ReplayWithinTheWindowIsRefused) {
  NonceCache cache({.max_skew_seconds = 300, .max_entries = 100});
  EXPECT_TRUE(cache.check_and_remember("key-1", "n1", kNow, kNow));
  EXPECT_EQ(cache.check("key-1", "n1", kNow, kNow + 10), NonceVerdict::kReplayed);
  // The same nonce under another key id is a different request.
  EXPECT_TRUE(cache.check_and_remember("key-2", "n1", kNow, kNow));
  // Pairs cannot collide through concatenation.
  EXPECT_TRUE(cache.check_and_remember("key-1n", "1", kNow, kNow));
  EXPECT_TRUE(cache.check_and_remember("key-1", "n2", kNow, kNow));
  EXPECT_EQ(cache.size(), 4u);
  // Replayed right up to the end of the window, even with a created time
  // moved within the window.
  EXPECT_EQ(cache.check("key-1", "n1", kNow + 200, kNow + 300), NonceVerdict::kReplayed);
}

TEST(NonceCacheTest, CreatedOutsideTheWindowIsRefused) {
  NonceCache cache({.max_skew_seconds = 60, .max_entries = 100});
  EXPECT_EQ(cache.check("k", "old", kNow - 61, kNow), NonceVerdict::kOutOfWindow);
  EXPECT_EQ(cache.check("k", "future", kNow + 61, kNow), NonceVerdict::kOutOfWindow);
  EXPECT_EQ(cache.check("k", "edge", kNow - 60, kNow), NonceVerdict::kAccepted);
  EXPECT_EQ(cache.check("", "n", kNow, kNow), NonceVerdict::kInvalid);
  EXPECT_EQ(cache.check("k", "", kNow, kNow), NonceVerdict::kInvalid);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(NonceCacheTest, ExpiredNoncesAreEvicted) {
  NonceCache cache({.max_skew_seconds = 60, .max_entries = 1000});
  for (int i = 0; i < 10; ++i) {
    std::string nonce = "n";
    nonce += std::to_string(i);
    ASSERT_TRUE(cache.check_and_remember("k", nonce, kNow + i, kNow + i));
  }
  EXPECT_EQ(cache.evict_expired(kNow + 60), 0u);
  EXPECT_EQ(cache.evict_expired(kNow + 65), 5u);  // created kNow..kNow+4 expire before then
  EXPECT_EQ(cache.size(), 5u);
  EXPECT_EQ(cache.evict_expired(kNow + 1000), 5u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(NonceCacheTest, FullCacheEvictsExpiredThenFailsClosed) {
  NonceCache cache({.max_skew_seconds = 10, .max_entries = 3});
  EXPECT_TRUE(cache.check_and_remember("k", "a", kNow, kNow));
  EXPECT_TRUE(cache.check_and_remember("k", "b", kNow, kNow));
  EXPECT_TRUE(cache.check_and_remember("k", "c", kNow + 5, kNow + 5));
  // Full, nothing expired: refused rather than forgetting a live nonce.
  EXPECT_EQ(cache.check("k", "d", kNow + 5, kNow + 5), NonceVerdict::kFull);
  EXPECT_EQ(cache.check("k", "a", kNow + 5, kNow + 5), NonceVerdict::kReplayed);
  // At kNow + 11, "a" and "b" (expiry kNow + 10) are evicted to make room.
  EXPECT_EQ(cache.check("k", "d", kNow + 11, kNow + 11), NonceVerdict::kAccepted);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.check("k", "c", kNow + 11, kNow + 11), NonceVerdict::kReplayed);
}

TEST(NonceCacheTest, AnExpiredPairMayBeUsedAgain) {
  NonceCache cache({.max_skew_seconds = 10, .max_entries = 10});
  EXPECT_TRUE(cache.check_and_remember("k", "n", kNow, kNow));
  // A request reusing the nonce with a fresh created time after the first
  // one's window closed is a new request (the old one can no longer verify).
  EXPECT_TRUE(cache.check_and_remember("k", "n", kNow + 20, kNow + 20));
  EXPECT_EQ(cache.size(), 1u);
  // The reuse is remembered with its own window: replayed until it closes,
  // evicted only after it (not at the first use's expiry).
  EXPECT_EQ(cache.check("k", "n", kNow + 25, kNow + 29), NonceVerdict::kReplayed);
  EXPECT_EQ(cache.evict_expired(kNow + 30), 0u);
  EXPECT_EQ(cache.evict_expired(kNow + 31), 1u);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_TRUE(cache.check_and_remember("k", "n", kNow + 31, kNow + 31));
}

TEST(NonceCacheTest, LongKeyIdsAndNoncesAreKeptWhole) {
  NonceCache cache({.max_skew_seconds = 10, .max_entries = 10});
  const std::string key_id(300, 'k');
  const std::string nonce(200, 'n');
  EXPECT_TRUE(cache.check_and_remember(key_id, nonce, kNow, kNow));
  EXPECT_EQ(cache.check(key_id, nonce, kNow, kNow), NonceVerdict::kReplayed);
  // Differs only in its last byte, or in where the key id ends.
  EXPECT_TRUE(cache.check_and_remember(key_id, nonce.substr(1) + "m", kNow, kNow));
  EXPECT_TRUE(cache.check_and_remember(key_id + "n", nonce.substr(1), kNow, kNow));
  EXPECT_EQ(cache.size(), 3u);
}

TEST(NonceCacheTest, ConcurrentUsersAcceptEachNonceOnce) {
  NonceCache cache({.max_skew_seconds = 300, .max_entries = 1 << 16});
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        std::string key_id = "k";
        key_id += std::to_string(i % 3);
        std::string nonce = "n";
        nonce += std::to_string(i);
        if (cache.check_and_remember(key_id, nonce, kNow, kNow)) {
          ++accepted;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(accepted.load(), 2000);
  EXPECT_EQ(cache.size(), 2000u);
}

}  // namespace
}  // namespace custos::identity
