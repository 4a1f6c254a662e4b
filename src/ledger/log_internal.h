// Private to the ledger module: the log's key schema (docs/storage.md), the
// in-memory right edge of the tree the sequencer extends, and the tile
// reader that answers roots and proofs from stored tiles.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/ledger/tile_reader.h"
#include "custos/store/store.h"

namespace custos::ledger::log_internal {

using ledger::kTileHeight;
using ledger::kTileWidth;
using ledger::tile_width_at;
using ledger::bundle_width_at;
static_assert(sizeof(Hash256) == Hash256::kSize, "Hash256 arrays are stored as raw bytes");

// Key schema v1 (docs/storage.md).
inline constexpr std::string_view kLatestCheckpointKey = "latest";
inline constexpr std::string_view kTreeStateKey = "log/tree_state";
inline constexpr std::string_view kOriginKey = "log/origin";
inline constexpr uint8_t kTreeStateVersion = 1;

std::string entry_bundle_key(uint64_t bundle_index);       // u64 BE
std::string tile_key(uint8_t level, uint64_t tile_index);  // u8 level + u64 BE
std::string checkpoint_key(uint64_t tree_size);            // u64 BE

struct TreeState {
  uint64_t tree_size = 0;
  Hash256 root_hash;
};
std::string encode_tree_state(const TreeState& state);
Result<TreeState> decode_tree_state(std::string_view bytes);

inline ByteView hash_bytes(std::span<const Hash256> hashes) {
  return ByteView(reinterpret_cast<const uint8_t*>(hashes.data()), hashes.size() * Hash256::kSize);
}


// Returns the first `width` entries of an entry bundle (u16 BE length +
// bytes each); DataLoss if the bundle is malformed or holds fewer.
Result<std::string_view> bundle_prefix(std::string_view bundle, uint64_t width);

// The right edge of the tree: per tile level the current partial tile (width
// < 256) with the perfect-subtree roots of its hashes (a compact range, so
// each appended hash costs one node hash amortised and a completed tile's
// root comes for free), plus the partial entry bundle. Copyable (the
// sequencer copies it to roll back a failed batch). Not thread-safe.
class TreeEdge {
 public:
  uint64_t size() const { return size_; }

  // Adds a leaf hash. Tiles completed by it are put into `batch`; partial
  // tiles changed by it are remembered for write_partial_tiles().
  void append_leaf(const Hash256& leaf_hash, store::WriteBatch& batch);
  // Puts every partial tile changed since the last call into `batch`.
  void write_partial_tiles(store::WriteBatch& batch);
  // RFC 9162 root of the tree so far.
  Hash256 root() const;

  // Rebuilds the edge of a stored tree of `tree_size` leaves from its tiles
  // (the bundle is restored by the caller).
  static Result<TreeEdge> restore(const store::Store& store, uint64_t tree_size);

  // The partial entry bundle (entries since the last full bundle).
  Bytes bundle;
  uint32_t bundle_entries = 0;
  // Whether the store holds exactly `bundle` under its key, so a commit may
  // append its new entries to it; otherwise the next commit puts it whole.
  bool bundle_stored = true;

 private:
  struct Level {
    std::vector<Hash256> hashes;    // the partial tile
    std::vector<Hash256> subtrees;  // perfect subtree roots, largest first
    uint64_t tile_index = 0;        // index of the partial tile at this level
    bool dirty = false;
  };
  // Pushes a hash into level `level`'s partial tile, completing tiles upward.
  void push(size_t level, const Hash256& hash, store::WriteBatch& batch);

  uint64_t size_ = 0;
  std::vector<Level> levels_;
};

// A TileFetcher reading tiles of the committed tree from the store.
TileFetcher store_tile_fetcher(const store::Store& store);

}  // namespace custos::ledger::log_internal
