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

Result<TileReader::CachedTile*> TileReader::tile(uint8_t level, uint64_t tile_index,
                                                 uint64_t min_width) {
  CachedTile* narrower = nullptr;
  for (auto& cached : cache_) {
    if (cached.level == level && cached.index == tile_index) {
      if (cached.hashes.size() >= min_width) return &cached;
      narrower = &cached;
      break;
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
  CachedTile* fetched = narrower != nullptr ? narrower : &cache_.emplace_back();
  fetched->level = level;
  fetched->index = tile_index;
  fetched->hashes.resize(stored.size() / Hash256::kSize);
  std::memcpy(fetched->hashes.data(), stored.data(), stored.size());
  fetched->known.reset();  // a wider fetch replaces the narrower copy and what was hashed from it
  return fetched;
}

const Hash256& TileReader::tile_node(CachedTile& tile, uint32_t height, uint64_t position) {
  if (height == 0) return tile.hashes[position];
  size_t slot = kTileWidth - (2 * kTileWidth >> height) + position;
  if (!tile.known[slot]) {
    if (tile.interior.empty()) tile.interior.resize(kInteriorSlots);
    tile.interior[slot] = hash_children(tile_node(tile, height - 1, 2 * position),
                                        tile_node(tile, height - 1, 2 * position + 1));
    tile.known.set(slot);
  }
  return tile.interior[slot];
}

Result<Hash256> TileReader::subtree_hash(uint64_t start, uint64_t size) {
  if (size == 0 || !std::has_single_bit(size) || start % size != 0 || start + size > tree_size_ ||
      start + size < start) {
    return internal_error("subtree [" + std::to_string(start) + ", +" + std::to_string(size) +
                          ") is not a complete subtree of the tree of size " +
                          std::to_string(tree_size_));
  }
  // A subtree of 2^k leaves, k = 8*level + rest, is one hash of a level tile
  // (rest = 0) or the root of 2^rest consecutive hashes of one.
  auto height = static_cast<uint32_t>(std::countr_zero(size));
  uint32_t level = height / kTileHeight;
  uint32_t rest = height % kTileHeight;
  uint64_t first = start >> (level * kTileHeight);
  uint64_t offset = first % kTileWidth;
  CUSTOS_ASSIGN_OR_RETURN(CachedTile * holder, tile(static_cast<uint8_t>(level), first / kTileWidth,
                                                    offset + (uint64_t{1} << rest)));
  return tile_node(*holder, rest, offset >> rest);
}

Result<Hash256> TileReader::range_hash(uint64_t start, uint64_t end) {
  if (start >= end) return internal_error("empty hash range");
  // The first aligned perfect subtree, then the rest of the range (aligned
  // subtrees of decreasing size), each range remembered for later proofs.
  uint64_t size = std::bit_floor(end - start);
  if (start != 0) size = std::min(size, start & (~start + 1));
  if (start + size == end) return subtree_hash(start, size);
  auto cached = range_cache_.find({start, end});
  if (cached != range_cache_.end()) return cached->second;
  CUSTOS_ASSIGN_OR_RETURN(auto left, subtree_hash(start, size));
  CUSTOS_ASSIGN_OR_RETURN(auto right, range_hash(start + size, end));
  Hash256 root = hash_children(left, right);
  range_cache_.emplace(std::make_pair(start, end), root);
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
  proof.reserve(std::bit_width(tree_size_));  // at least the path's length
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
