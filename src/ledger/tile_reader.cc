#include <algorithm>
#include <bit>
#include <cstring>

#include "custos/ledger/merkle.h"
#include "custos/ledger/tile_reader.h"
#include "log_internal.h"

namespace custos::ledger {
namespace {

// Largest power of two strictly below n (n >= 2), the RFC 9162 split point k.
uint64_t split_point(uint64_t n) { return std::bit_floor(n - 1); }

}  // namespace

uint64_t tile_width_at(uint8_t level, uint64_t tile_index, uint64_t tree_size) {
  uint64_t shift = uint64_t{kTileHeight} * level;
  if (shift >= 64) return 0;
  uint64_t hashes_at_level = tree_size >> shift;
  if (tile_index > (UINT64_MAX >> kTileHeight)) return 0;
  uint64_t first = tile_index * kTileWidth;
  if (hashes_at_level <= first) return 0;
  return std::min<uint64_t>(kTileWidth, hashes_at_level - first);
}

uint64_t bundle_width_at(uint64_t bundle_index, uint64_t tree_size) {
  return tile_width_at(0, bundle_index, tree_size);
}

Result<std::span<const Hash256>> TileReader::tile_hashes(uint8_t level, uint64_t tile_index,
                                                         uint64_t min_width) {
  for (const auto& cached : cache_) {
    if (cached.level == level && cached.index == tile_index) {
      if (cached.hashes.size() < min_width) break;
      return std::span<const Hash256>(cached.hashes);
    }
  }
  uint64_t width = tile_width_at(level, tile_index, tree_size_);
  if (width < min_width) return internal_error("tile width below what the query needs");
  CUSTOS_ASSIGN_OR_RETURN(auto stored, fetch_(level, tile_index, width));
  std::string where = "tile " + std::to_string(level) + "/" + std::to_string(tile_index);
  if (stored.size() % Hash256::kSize != 0 || stored.size() > kTileWidth * Hash256::kSize) {
    return data_loss(where + " has a malformed size of " + std::to_string(stored.size()));
  }
  if (stored.size() < min_width * Hash256::kSize) {
    return data_loss(where + " holds fewer hashes than the committed tree needs");
  }
  CachedTile tile{level, tile_index, std::vector<Hash256>(stored.size() / Hash256::kSize)};
  std::memcpy(tile.hashes.data(), stored.data(), stored.size());
  cache_.push_back(std::move(tile));
  return std::span<const Hash256>(cache_.back().hashes);
}

Result<Hash256> TileReader::subtree_hash(uint64_t start, uint64_t size) {
  if (size == 0 || !std::has_single_bit(size) || start % size != 0 || start + size > tree_size_ ||
      start + size < start) {
    return internal_error("subtree [" + std::to_string(start) + ", +" + std::to_string(size) +
                          ") is not a complete subtree of the tree of size " +
                          std::to_string(tree_size_));
  }
  // A subtree of 2^k leaves, k = 8*level + rest, is 2^rest consecutive hashes of one level tile.
  auto height = static_cast<uint64_t>(std::countr_zero(size));
  uint64_t level = height / kTileHeight;
  uint64_t count = uint64_t{1} << (height % kTileHeight);
  if (count == 1) {
    CUSTOS_ASSIGN_OR_RETURN(auto hashes, tile_hashes(static_cast<uint8_t>(level),
                                                     (start >> (level * kTileHeight)) / kTileWidth,
                                                     (start >> (level * kTileHeight)) % kTileWidth + 1));
    return hashes[(start >> (level * kTileHeight)) % kTileWidth];
  }
  // Hashed up from several tile hashes: remembered, as the proofs of
  // neighbouring leaves (Log::inclusion_proofs) need the same subtrees.
  auto cached = subtree_cache_.find({start, size});
  if (cached != subtree_cache_.end()) return cached->second;
  uint64_t first = start >> (level * kTileHeight);
  uint64_t tile_index = first / kTileWidth;
  uint64_t offset = first % kTileWidth;
  CUSTOS_ASSIGN_OR_RETURN(auto hashes,
                          tile_hashes(static_cast<uint8_t>(level), tile_index, offset + count));
  Hash256 root = root_from_leaf_hashes(hashes.subspan(offset, count));
  subtree_cache_.emplace(std::make_pair(start, size), root);
  return root;
}

Result<Hash256> TileReader::range_hash(uint64_t start, uint64_t end) {
  if (start >= end) return internal_error("empty hash range");
  // Split into aligned perfect subtrees left to right, then fold right to left.
  Hash256 parts[64];
  size_t part_count = 0;
  for (uint64_t at = start; at < end;) {
    uint64_t size = std::bit_floor(end - at);
    if (at != 0) size = std::min(size, at & (~at + 1));
    CUSTOS_ASSIGN_OR_RETURN(parts[part_count], subtree_hash(at, size));
    ++part_count;
    at += size;
  }
  Hash256 root = parts[part_count - 1];
  for (size_t i = part_count - 1; i-- > 0;) root = hash_children(parts[i], root);
  return root;
}

// RFC 9162 section 2.1.3.1 PATH(m, D[start:end]), appended leaf to root.
Status TileReader::path(uint64_t index, uint64_t start, uint64_t end, std::vector<Hash256>& proof) {
  uint64_t n = end - start;
  if (n <= 1) return Status::ok();
  uint64_t k = split_point(n);
  if (index < k) {
    CUSTOS_RETURN_IF_ERROR(path(index, start, start + k, proof));
    CUSTOS_ASSIGN_OR_RETURN(auto sibling, range_hash(start + k, end));
    proof.push_back(sibling);
  } else {
    CUSTOS_RETURN_IF_ERROR(path(index - k, start + k, end, proof));
    CUSTOS_ASSIGN_OR_RETURN(auto sibling, range_hash(start, start + k));
    proof.push_back(sibling);
  }
  return Status::ok();
}

// RFC 9162 section 2.1.4.1 SUBPROOF(m, D[start:end], b).
Status TileReader::subproof(uint64_t old_size, uint64_t start, uint64_t end, bool complete,
                            std::vector<Hash256>& proof) {
  uint64_t n = end - start;
  if (old_size == n) {
    if (!complete) {
      CUSTOS_ASSIGN_OR_RETURN(auto root, range_hash(start, end));
      proof.push_back(root);
    }
    return Status::ok();
  }
  uint64_t k = split_point(n);
  if (old_size <= k) {
    CUSTOS_RETURN_IF_ERROR(subproof(old_size, start, start + k, complete, proof));
    CUSTOS_ASSIGN_OR_RETURN(auto right, range_hash(start + k, end));
    proof.push_back(right);
  } else {
    CUSTOS_RETURN_IF_ERROR(subproof(old_size - k, start + k, end, false, proof));
    CUSTOS_ASSIGN_OR_RETURN(auto left, range_hash(start, start + k));
    proof.push_back(left);
  }
  return Status::ok();
}

Result<std::vector<Hash256>> TileReader::inclusion_proof(uint64_t index) {
  std::vector<Hash256> proof;
  CUSTOS_RETURN_IF_ERROR(path(index, 0, tree_size_, proof));
  return proof;
}

Result<std::vector<Hash256>> TileReader::consistency_proof(uint64_t old_size) {
  std::vector<Hash256> proof;
  if (old_size == 0 || old_size == tree_size_) return proof;
  CUSTOS_RETURN_IF_ERROR(subproof(old_size, 0, tree_size_, true, proof));
  return proof;
}

Result<Hash256> TileReader::root() {
  if (tree_size_ == 0) return empty_tree_hash();
  return range_hash(0, tree_size_);
}

}  // namespace custos::ledger

namespace custos::ledger::log_internal {

TileFetcher store_tile_fetcher(const store::Store& store) {
  return [&store](uint8_t level, uint64_t tile_index, uint64_t width) -> Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(auto stored, store.get(store::Family::kTiles, tile_key(level, tile_index)));
    if (!stored) {
      return data_loss("tile " + std::to_string(level) + "/" + std::to_string(tile_index) +
                       " is missing from the store");
    }
    (void)width;  // the store keeps each tile at its widest committed width
    return std::move(*stored);
  };
}

}  // namespace custos::ledger::log_internal
