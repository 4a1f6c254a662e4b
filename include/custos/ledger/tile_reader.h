// custos ledger: roots and proofs from tiles (C2SP tlog-tiles).
//
// A TileReader answers Merkle tree hashes, inclusion proofs and consistency
// proofs for a tree of a fixed size using only tile hashes, fetched through
// a TileFetcher: the server's log fetches from its store, the remote auditor
// fetches over HTTP. A perfect subtree of 2^k leaves (k = 8*L + r) is one
// hash of a level-L tile (r = 0) or is hashed up from at most 2^r hashes of
// one tile, so no query rehashes the log. Not thread-safe (one per query);
// it caches the tiles it fetched for its lifetime.
#pragma once

#include <cstdint>
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
  Result<std::span<const Hash256>> tile_hashes(uint8_t level, uint64_t tile_index,
                                               uint64_t min_width);
  Status path(uint64_t index, uint64_t start, uint64_t end, std::vector<Hash256>& proof);
  Status subproof(uint64_t old_size, uint64_t start, uint64_t end, bool complete,
                  std::vector<Hash256>& proof);

  TileFetcher fetch_;
  uint64_t tree_size_;
  struct CachedTile {
    uint8_t level;
    uint64_t index;
    std::vector<Hash256> hashes;
  };
  std::vector<CachedTile> cache_;
  std::map<std::pair<uint64_t, uint64_t>, Hash256> subtree_cache_;  // (start, size) -> hash
};

}  // namespace custos::ledger
