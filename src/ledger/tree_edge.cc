#include <algorithm>
#include <cstring>
#include <optional>

#include "custos/ledger/merkle.h"
#include "log_internal.h"

namespace custos::ledger::log_internal {
namespace {

void put_u64_be(char* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (56 - 8 * i));
}

uint64_t get_u64_be(std::string_view bytes, size_t at) {
  return read_u64_be(reinterpret_cast<const uint8_t*>(bytes.data() + at));
}

}  // namespace

std::string entry_bundle_key(uint64_t bundle_index) {
  std::string key(8, '\0');
  put_u64_be(key.data(), bundle_index);
  return key;
}

std::string tile_key(uint8_t level, uint64_t tile_index) {
  std::string key(9, '\0');
  key[0] = static_cast<char>(level);
  put_u64_be(key.data() + 1, tile_index);
  return key;
}

std::string checkpoint_key(uint64_t tree_size) { return entry_bundle_key(tree_size); }

std::string encode_tree_state(const TreeState& state) {
  std::string bytes(1 + 8 + Hash256::kSize, '\0');
  bytes[0] = static_cast<char>(kTreeStateVersion);
  put_u64_be(bytes.data() + 1, state.tree_size);
  std::memcpy(bytes.data() + 9, state.root_hash.bytes.data(), Hash256::kSize);
  return bytes;
}

Result<TreeState> decode_tree_state(std::string_view bytes) {
  if (bytes.size() != 1 + 8 + Hash256::kSize) {
    return data_loss("log tree state has " + std::to_string(bytes.size()) + " bytes, expected 41");
  }
  if (static_cast<uint8_t>(bytes[0]) != kTreeStateVersion) {
    return data_loss("log tree state version " + std::to_string(static_cast<uint8_t>(bytes[0])) +
                     " is not supported");
  }
  TreeState state;
  state.tree_size = get_u64_be(bytes, 1);
  std::memcpy(state.root_hash.bytes.data(), bytes.data() + 9, Hash256::kSize);
  return state;
}

Result<std::string_view> bundle_prefix(std::string_view bundle, uint64_t width) {
  size_t at = 0;
  for (uint64_t i = 0; i < width; ++i) {
    if (at + 2 > bundle.size()) {
      return data_loss("entry bundle holds " + std::to_string(i) + " entries, expected at least " +
                       std::to_string(width));
    }
    size_t length = read_u16_be(reinterpret_cast<const uint8_t*>(bundle.data() + at));
    if (at + 2 + length > bundle.size()) return data_loss("entry bundle is truncated");
    at += 2 + length;
  }
  return bundle.substr(0, at);
}

void TreeEdge::push(size_t level, const Hash256& hash, store::WriteBatch& batch) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  Level& current = levels_[level];
  uint64_t width_before = current.hashes.size();
  current.hashes.push_back(hash);
  // Merge equal-sized perfect subtrees, like carrying in a binary counter.
  Hash256 node = hash;
  for (uint64_t w = width_before; w & 1; w >>= 1) {
    node = hash_children(current.subtrees.back(), node);
    current.subtrees.pop_back();
  }
  current.subtrees.push_back(node);
  current.dirty = true;
  if (current.hashes.size() < kTileWidth) return;

  // The tile is full: its root is the single remaining subtree.
  batch.put(store::Family::kTiles, tile_key(static_cast<uint8_t>(level), current.tile_index),
            hash_bytes(current.hashes));
  Hash256 tile_root = current.subtrees.front();
  current.hashes.clear();
  current.subtrees.clear();
  current.dirty = false;
  ++current.tile_index;
  push(level + 1, tile_root, batch);  // may reallocate levels_: `current` is not used after this
}

void TreeEdge::append_leaf(const Hash256& leaf_hash, store::WriteBatch& batch) {
  push(0, leaf_hash, batch);
  ++size_;
}

void TreeEdge::write_partial_tiles(store::WriteBatch& batch) {
  for (size_t level = 0; level < levels_.size(); ++level) {
    Level& current = levels_[level];
    if (current.dirty && !current.hashes.empty()) {
      batch.put(store::Family::kTiles, tile_key(static_cast<uint8_t>(level), current.tile_index),
                hash_bytes(current.hashes));
    }
    current.dirty = false;
  }
}

Hash256 TreeEdge::root() const {
  std::optional<Hash256> right;
  for (const Level& level : levels_) {
    for (auto it = level.subtrees.rbegin(); it != level.subtrees.rend(); ++it) {
      right = right ? hash_children(*it, *right) : *it;
    }
  }
  return right ? *right : empty_tree_hash();
}

Result<TreeEdge> TreeEdge::restore(const store::Store& store, uint64_t tree_size) {
  TreeEdge edge;
  store::WriteBatch unused;  // partial tiles never complete while restoring
  for (uint64_t level = 0; level * kTileHeight < 64 && (tree_size >> (level * kTileHeight)) > 0;
       ++level) {
    uint64_t width = (tree_size >> (level * kTileHeight)) % kTileWidth;
    uint64_t tile_index = level * kTileHeight + kTileHeight >= 64
                              ? 0
                              : tree_size >> (level * kTileHeight + kTileHeight);
    edge.levels_.resize(level + 1);
    edge.levels_[level].tile_index = tile_index;
    if (width == 0) continue;
    auto key = tile_key(static_cast<uint8_t>(level), tile_index);
    CUSTOS_ASSIGN_OR_RETURN(auto stored, store.get(store::Family::kTiles, key));
    if (!stored || stored->size() < width * Hash256::kSize ||
        stored->size() % Hash256::kSize != 0) {
      return data_loss("tile " + std::to_string(level) + "/" + std::to_string(tile_index) +
                       " is missing or shorter than the stored tree size " +
                       std::to_string(tree_size) + " needs");
    }
    for (uint64_t i = 0; i < width; ++i) {
      Hash256 hash;
      std::memcpy(hash.bytes.data(), stored->data() + i * Hash256::kSize, Hash256::kSize);
      edge.push(level, hash, unused);
    }
    edge.levels_[level].dirty = false;
  }
  edge.size_ = tree_size;
  return edge;
}

}  // namespace custos::ledger::log_internal
