#include "custos/identity/nonce_cache.h"

namespace custos::identity {

NonceCache::NonceCache(NonceCacheOptions options) : options_(options) {}

NonceVerdict NonceCache::check(std::string_view key_id, std::string_view nonce, int64_t created,
                               int64_t now) {
  if (key_id.empty() || nonce.empty()) return NonceVerdict::kInvalid;
  if (created < now - options_.max_skew_seconds || created > now + options_.max_skew_seconds) {
    return NonceVerdict::kOutOfWindow;
  }
  // Length-prefixed, so no (key id, nonce) pair can collide with another.
  std::string pair = std::to_string(key_id.size());
  pair += ':';
  pair.append(key_id);
  pair.append(nonce);
  int64_t expiry = created + options_.max_skew_seconds;

  std::lock_guard lock(mutex_);
  auto found = expiry_by_pair_.find(pair);
  if (found != expiry_by_pair_.end()) {
    if (found->second >= now) return NonceVerdict::kReplayed;
    // Its window closed; forget it and treat this as a first use.
    pairs_by_expiry_.erase({found->second, pair});
    expiry_by_pair_.erase(found);
  }
  if (expiry_by_pair_.size() >= options_.max_entries) {
    evict_expired_locked(now);
    if (expiry_by_pair_.size() >= options_.max_entries) return NonceVerdict::kFull;
  }
  pairs_by_expiry_.emplace(expiry, pair);
  expiry_by_pair_.emplace(std::move(pair), expiry);
  return NonceVerdict::kAccepted;
}

size_t NonceCache::evict_expired(int64_t now) {
  std::lock_guard lock(mutex_);
  return evict_expired_locked(now);
}

size_t NonceCache::evict_expired_locked(int64_t now) {
  size_t evicted = 0;
  while (!pairs_by_expiry_.empty() && pairs_by_expiry_.begin()->first < now) {
    expiry_by_pair_.erase(pairs_by_expiry_.begin()->second);
    pairs_by_expiry_.erase(pairs_by_expiry_.begin());
    ++evicted;
  }
  return evicted;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mutex_);
  return expiry_by_pair_.size();
}

}  // namespace custos::identity
