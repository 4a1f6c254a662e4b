// custos ledger: roots and proofs from tiles (C2SP tlog-tiles).
//
// A TileReader answers Merkle tree hashes, inclusion proofs and consistency
// proofs for a tree of a fixed size using only tile hashes, fetched through
// a TileFetcher: the server's log fetches from its store, the remote auditor
// fetches over HTTP. A perfect subtree of 2^k leaves (k = 8*L + r) is one
// hash of a level-L tile (r = 0) or is hashed up from at most 2^r hashes of
// one tile, so no query rehashes the log. Not thread-safe (one per query);
// it caches for its lifetime the tiles it fetched and every node hash it
// computed (subtrees inside a tile, ranges that are not perfect subtrees),
// so the proofs of many entries of one tree (a capture's receipts) hash each
// interior node at most once.
#pragma once

#include <cstdint>
#include <bitset>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/crypto/sha256.h"

namespace custos::ledger {

inline constexpr uint32_t kTileHeight = 8;
inline constexpr uint32_t kTileWidth = 256;  // hashes per full tile, entries per full bundle

// Number of hashes tile `tile_index` at `level` holds in a tree of
// `tree_size` leaves: 0..256 (0: the tile does not exist at that size).
uint64_t tile_width_at(uint8_t level, uint64_t tile_index, uint64_t tree_size);
// Number of entries entry bundle `bundle_index` holds at `tree_size`.
uint64_t bundle_width_at(uint64_t bundle_index, uint64_t tree_size);

// Returns the bytes of tile (level, index) holding at least `width` hashes
// (the width that tile has in the reader's tree); more is allowed.
using TileFetcher =
    std::function<Result<std::string>(uint8_t level, uint64_t tile_index, uint64_t width)>;

class TileReader {
 public:
  TileReader(TileFetcher fetch, uint64_t tree_size)
      : fetch_(std::move(fetch)), tree_size_(tree_size) {}

  uint64_t tree_size() const { return tree_size_; }

  // Root of the perfect subtree of `size` = 2^k leaves starting at `start`
  // (a multiple of size).
  Result<Hash256> subtree_hash(uint64_t start, uint64_t size);
  // RFC 9162 MTH(D[start:end]) for start < end where the range splits into
  // aligned perfect subtrees of decreasing size (as in PATH and SUBPROOF).
  Result<Hash256> range_hash(uint64_t start, uint64_t end);
  // The root of the reader's whole tree (the empty-tree hash for size 0).
  Result<Hash256> root();

  // RFC 9162 PATH for `index` < tree_size().
  Result<std::vector<Hash256>> inclusion_proof(uint64_t index);
  // RFC 9162 PROOF from `old_size` <= tree_size() (empty for 0 or equal sizes).
  Result<std::vector<Hash256>> consistency_proof(uint64_t old_size);

 private:
  static constexpr size_t kInteriorSlots = kTileWidth - 2;
  struct CachedTile {
    uint8_t level;
    uint64_t index;
    std::vector<Hash256> hashes;
    // Roots of the aligned runs of 2^h hashes (1 <= h < kTileHeight), run j
    // of height h in slot kTileWidth - (2 * kTileWidth >> h) + j; allocated
    // and filled on first use.
    std::vector<Hash256> interior;
    std::bitset<kInteriorSlots> known;
  };

  Result<CachedTile*> tile(uint8_t level, uint64_t tile_index, uint64_t min_width);
  // Root of run `position` of 2^height hashes of `tile` (height < kTileHeight),
  // which holds all of them.
  const Hash256& tile_node(CachedTile& tile, uint32_t height, uint64_t position);
  Status path(uint64_t index, uint64_t start, uint64_t end, std::vector<Hash256>& proof);
  Status subproof(uint64_t old_size, uint64_t start, uint64_t end, bool complete,
                  std::vector<Hash256>& proof);

  TileFetcher fetch_;
  uint64_t tree_size_;
  std::deque<CachedTile> cache_;  // a deque: tiles stay in place as more are fetched
  std::map<std::pair<uint64_t, uint64_t>, Hash256> range_cache_;  // (start, end) -> hash
};

}  // namespace custos::ledger
