#include "custos/identity/nonce_cache.h"

#include <array>
#include <cstring>

namespace custos::identity {

NonceCache::NonceCache(NonceCacheOptions options) : options_(options) {}

NonceVerdict NonceCache::check(std::string_view key_id, std::string_view nonce, int64_t created,
                               int64_t now) {
  if (key_id.empty() || nonce.empty()) return NonceVerdict::kInvalid;
  if (created < now - options_.max_skew_seconds || created > now + options_.max_skew_seconds) {
    return NonceVerdict::kOutOfWindow;
  }
  // Length-prefixed, so no (key id, nonce) pair can collide with another.
  // Built on the stack when it fits (key ids and nonces are short).
  std::array<char, 160> buffer;
  std::string heap_pair;
  std::string_view pair;
  char length_digits[20];
  size_t digit_count = 0;
  for (size_t length = key_id.size(); digit_count == 0 || length != 0; length /= 10) {
    length_digits[digit_count++] = static_cast<char>('0' + length % 10);
  }
  const size_t pair_size = digit_count + 1 + key_id.size() + nonce.size();
  char* out = buffer.data();
  if (pair_size > buffer.size()) {
    heap_pair.resize(pair_size);
    out = heap_pair.data();
  }
  size_t at = 0;
  while (digit_count > 0) out[at++] = length_digits[--digit_count];
  out[at++] = ':';
  std::memcpy(out + at, key_id.data(), key_id.size());
  std::memcpy(out + at + key_id.size(), nonce.data(), nonce.size());
  pair = std::string_view(out, pair_size);
  const int64_t expiry = created + options_.max_skew_seconds;

  std::lock_guard lock(mutex_);
  auto found = expiry_by_pair_.find(pair);
  if (found != expiry_by_pair_.end()) {
    if (found->second->first >= now) return NonceVerdict::kReplayed;
    // Its window closed: this is a first use again, remembered until the new
    // expiry (the node, and so the key the index points to, is kept).
    pairs_by_expiry_.erase(found->second);
    found->second = pairs_by_expiry_.emplace_hint(pairs_by_expiry_.end(), expiry, &found->first);
    return NonceVerdict::kAccepted;
  }
  if (expiry_by_pair_.size() >= options_.max_entries) {
    evict_expired_locked(now);
    if (expiry_by_pair_.size() >= options_.max_entries) return NonceVerdict::kFull;
  }
  auto inserted = expiry_by_pair_.emplace(std::string(pair), ExpiryIndex::iterator()).first;
  inserted->second = pairs_by_expiry_.emplace_hint(pairs_by_expiry_.end(), expiry, &inserted->first);
  return NonceVerdict::kAccepted;
}

size_t NonceCache::evict_expired(int64_t now) {
  std::lock_guard lock(mutex_);
  return evict_expired_locked(now);
}

size_t NonceCache::evict_expired_locked(int64_t now) {
  size_t evicted = 0;
  while (!pairs_by_expiry_.empty() && pairs_by_expiry_.begin()->first < now) {
    auto pair = expiry_by_pair_.find(*pairs_by_expiry_.begin()->second);
    pairs_by_expiry_.erase(pairs_by_expiry_.begin());
    expiry_by_pair_.erase(pair);
    ++evicted;
  }
  return evicted;
}

size_t NonceCache::size() const {
  std::lock_guard lock(mutex_);
  return expiry_by_pair_.size();
}

}  // namespace custos::identity
