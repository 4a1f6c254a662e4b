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
// call is O(1) on average (a hash lookup and an insertion at the end of the
// expiry index, since pairs mostly arrive in expiry order), O(log n) at worst,
// plus the expired pairs it evicts).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <map>
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

  struct PairHash {
    using is_transparent = void;
    size_t operator()(std::string_view pair) const noexcept {
      return std::hash<std::string_view>{}(pair);
    }
  };
  // The time after which a pair may be forgotten -> the pair (a key of
  // expiry_by_pair_, whose nodes never move), oldest first.
  using ExpiryIndex = std::multimap<int64_t, const std::string*>;

  const NonceCacheOptions options_;
  mutable std::mutex mutex_;
  // "<key id length>:<key id><nonce>" -> its entry in pairs_by_expiry_.
  std::unordered_map<std::string, ExpiryIndex::iterator, PairHash, std::equal_to<>>
      expiry_by_pair_;
  ExpiryIndex pairs_by_expiry_;
};

}  // namespace custos::identity
