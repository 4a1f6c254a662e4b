// custos identity: the replay cache for request-signature nonces.
//
// A signed request carries a nonce and a created time (RFC 9421 section
// 2.3); the server accepts it only within max_skew of created. NonceCache
// remembers every (key id, nonce) pair it accepted until created + max_skew,
// after which the signature window has closed and the request would be
// refused anyway, so the pair can be forgotten. Memory is bounded: at most
// max_entries pairs. When full, expired pairs are evicted first; if the cache
// is still full the request is refused (failing closed: a nonce that cannot
// be remembered cannot be protected against replay).
//
// Thread-safety: every method is safe to call concurrently (one mutex; each
// call is O(log n) plus the expired pairs it evicts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace custos::identity {

struct NonceCacheOptions {
  int64_t max_skew_seconds = 300;  // the signature window, as VerifyPolicy::max_skew_seconds
  size_t max_entries = 1 << 20;
};

enum class NonceVerdict {
  kAccepted,     // first use: remembered until created + max_skew
  kReplayed,     // this key id already used this nonce within the window
  kOutOfWindow,  // created is outside [now - max_skew, now + max_skew]
  kFull,         // max_entries unexpired pairs are held; refused
  kInvalid,      // empty key id or nonce
};

class NonceCache {
 public:
  explicit NonceCache(NonceCacheOptions options = {});
  NonceCache(const NonceCache&) = delete;
  NonceCache& operator=(const NonceCache&) = delete;

  // The verdict for a request by `key_id` with `nonce`, created at `created`
  // (UNIX seconds), seen at `now` (UNIX seconds); remembers it when accepted.
  NonceVerdict check(std::string_view key_id, std::string_view nonce, int64_t created, int64_t now);
  // True when check() accepts.
  bool check_and_remember(std::string_view key_id, std::string_view nonce, int64_t created,
                          int64_t now) {
    return check(key_id, nonce, created, now) == NonceVerdict::kAccepted;
  }

  // Forgets every pair whose window closed before `now`; returns how many.
  size_t evict_expired(int64_t now);
  size_t size() const;

 private:
  size_t evict_expired_locked(int64_t now);

  const NonceCacheOptions options_;
  mutable std::mutex mutex_;
  // key id + '\0' + nonce -> the time after which it may be forgotten.
  std::unordered_map<std::string, int64_t> expiry_by_pair_;
  std::set<std::pair<int64_t, std::string>> pairs_by_expiry_;
};

}  // namespace custos::identity
