// TileReader over tiles computed directly from leaf hashes: roots and proofs
// against the RFC 6962 reference tree (tests/data/merkle/rfc6962-roots.json;
// the proofs of tests/data/merkle/testdata/inclusion/1..4/happy-path.json) and the naive
// RFC 9162 reference, and the proofs of many entries from one reader (which
// remembers the node hashes it computed) against one fresh reader per entry,
// for tree sizes around tile edges with full and partial tiles.
#include "custos/ledger/tile_reader.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "custos/ledger/proof.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

// Tiles of a tree of `leaves`: level 0 holds the leaf hashes, level L + 1
// the roots of the full level-L tiles.
class MemoryTiles {
 public:
  explicit MemoryTiles(std::vector<Hash256> leaves) {
    levels_.push_back(std::move(leaves));
    while (levels_.back().size() >= kTileWidth) {
      const std::vector<Hash256>& below = levels_.back();
      std::vector<Hash256> above;
      for (size_t at = 0; at + kTileWidth <= below.size(); at += kTileWidth) {
        above.push_back(root_from_leaf_hashes(std::span(below).subspan(at, kTileWidth)));
      }
      levels_.push_back(std::move(above));
    }
  }

  const std::vector<Hash256>& leaves() const { return levels_[0]; }

  // With `exact`, a tile holds just the `width` hashes asked for (partial
  // tiles as a reader of a smaller tree sees them); otherwise every hash the
  // tile has in the whole tree ("more is allowed").
  TileFetcher fetcher(bool exact) {
    return
        [this, exact](uint8_t level, uint64_t tile_index, uint64_t width) -> Result<std::string> {
          ++fetches_[{level, tile_index}];
          if (level >= levels_.size()) return not_found("no such level");
          const std::vector<Hash256>& hashes = levels_[level];
          uint64_t first = tile_index * kTileWidth;
          if (first >= hashes.size()) return not_found("no such tile");
          uint64_t count = std::min<uint64_t>(kTileWidth, hashes.size() - first);
          if (exact) count = std::min(count, width);
          std::string bytes(count * Hash256::kSize, '\0');
          std::memcpy(bytes.data(), hashes.data() + first, bytes.size());
          return bytes;
        };
  }

  // Times each tile was fetched since the last reset.
  const std::map<std::pair<uint8_t, uint64_t>, int>& fetches() const { return fetches_; }
  void reset_fetches() { fetches_.clear(); }

 private:
  std::vector<std::vector<Hash256>> levels_;
  std::map<std::pair<uint8_t, uint64_t>, int> fetches_;
};

std::vector<Hash256> numbered_leaves(uint64_t count) {
  std::vector<Hash256> leaves;
  leaves.reserve(count);
  for (uint64_t i = 0; i < count; ++i) leaves.push_back(hash_leaf(as_bytes(std::to_string(i))));
  return leaves;
}

std::vector<Hash256> from_base64(const std::vector<std::string>& texts) {
  std::vector<Hash256> hashes;
  for (const std::string& text : texts) hashes.push_back(*Hash256::from_base64(text));
  return hashes;
}

TEST(TileReaderTest, Rfc6962ReferenceTree) {
  simdjson::dom::parser parser;
  simdjson::dom::element vectors;
  ASSERT_EQ(
      parser.load(std::string(CUSTOS_TEST_DATA_DIR) + "/merkle/rfc6962-roots.json").get(vectors),
      simdjson::SUCCESS);
  auto hex_strings = [&](const char* key) {
    std::vector<std::string> texts;
    simdjson::dom::array array;
    EXPECT_EQ(vectors[key].get_array().get(array), simdjson::SUCCESS) << key;
    for (simdjson::dom::element item : array) {
      std::string_view text;
      EXPECT_EQ(item.get_string().get(text), simdjson::SUCCESS) << key;
      texts.emplace_back(text);
    }
    return texts;
  };
  std::vector<Hash256> leaves;
  for (const std::string& hex : hex_strings("leaves_hex"))
    leaves.push_back(hash_leaf(*hex_decode(hex)));
  std::vector<std::string> roots_hex = hex_strings("roots_hex");
  ASSERT_EQ(leaves.size(), 8u);
  ASSERT_EQ(roots_hex.size(), 8u);
  MemoryTiles tiles(leaves);
  for (bool exact : {true, false}) {
    for (uint64_t size = 1; size <= 8; ++size) {
      TileReader reader(tiles.fetcher(exact), size);
      auto root = reader.root();
      ASSERT_TRUE(root.is_ok()) << root.status().to_string();
      EXPECT_EQ(root->hex(), roots_hex[size - 1]) << "size " << size;
      // Every index of the tree from one reader, then the root again.
      for (uint64_t index = 0; index < size; ++index) {
        auto proof = reader.inclusion_proof(index);
        ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
        EXPECT_EQ(*proof, reference_path(index, std::span(leaves).first(size)))
            << "index " << index << " size " << size;
        EXPECT_TRUE(verify_inclusion(index, size, leaves[index], *proof, *root).is_ok())
            << "index " << index << " size " << size;
      }
      EXPECT_EQ(reader.root()->hex(), roots_hex[size - 1]) << "size " << size;
    }
  }

  // The transparency-dev happy-path probes (inclusion/1..4), from one reader per tree size.
  TileReader size8(tiles.fetcher(true), 8);
  EXPECT_EQ(*size8.inclusion_proof(0),
            from_base64({"lqKW0iTyhcZ77pPDD4owkVfw2qNdxbh+QQt4YwoJz8c=",
                         "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                         "a0eq8p7jwq+a+Im8H7klTavTEXfxYjLdaqsDXKOb9uQ="}));
  EXPECT_EQ(*size8.inclusion_proof(5),
            from_base64({"vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms=",
                         "yoVOoSjtBQtBs1/8G4e46yveRh6eO1WW7Oa51ZdaCuA=",
                         "037kGJdt2VdTwcc4Yrk5j6Kiz5tP8P3+izDNlSCWFLc="}));
  TileReader size3(tiles.fetcher(true), 3);
  EXPECT_EQ(*size3.inclusion_proof(2),
            from_base64({"+sVCA+fMaWzw38tCySodnbr3CtnmIfS9jZhmLwDjwSU="}));
  TileReader size5(tiles.fetcher(true), 5);
  EXPECT_EQ(*size5.inclusion_proof(1),
            from_base64({"bjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=",
                         "Xwg/ChozygdqlSeYMlgNs+DvRYS9/x9UyKNg9Q3jAx4=",
                         "vBoGQ7EuTS18d5GPROD095qDi2z57FtcKD4fTYhZnms="}));
}

// A tile first served narrower than the reader's tree (but wide enough for
// the query then) is fetched again when a later query needs more of it.
TEST(TileReaderTest, ANarrowTileIsFetchedAgainWhenMoreIsNeeded) {
  MemoryTiles tiles(numbered_leaves(8));
  TileFetcher full = tiles.fetcher(true);
  int calls = 0;
  TileFetcher short_first = [&](uint8_t level, uint64_t tile_index,
                                uint64_t width) -> Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(std::string bytes, full(level, tile_index, width));
    if (calls++ == 0) bytes.resize(2 * Hash256::kSize);
    return bytes;
  };
  TileReader reader(short_first, 8);
  auto proof = reader.inclusion_proof(0);  // needs leaf 1 first, then leaves 2..7
  ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
  EXPECT_EQ(*proof, reference_path(0, tiles.leaves()));
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(*reader.inclusion_proof(6), reference_path(6, tiles.leaves()));
  EXPECT_EQ(*reader.root(), reference_mth(tiles.leaves()));
  EXPECT_EQ(calls, 2);
}

class TileReaderManyProofsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { tiles_ = new MemoryTiles(numbered_leaves(65536 + 600)); }
  static void TearDownTestSuite() {
    delete tiles_;
    tiles_ = nullptr;
  }

  // The proofs of `indexes` in order from one reader equal those of one
  // fresh reader per index; the first `checked_against_reference` of them
  // also equal the naive reference (which rehashes the whole tree).
  static void expect_shared_reader_matches(uint64_t size, const std::vector<uint64_t>& indexes,
                                           bool exact, size_t checked_against_reference) {
    TileReader shared(tiles_->fetcher(exact), size);
    for (size_t k = 0; k < indexes.size(); ++k) {
      uint64_t index = indexes[k];
      auto proof = shared.inclusion_proof(index);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      TileReader fresh(tiles_->fetcher(exact), size);
      auto single = fresh.inclusion_proof(index);
      ASSERT_TRUE(single.is_ok()) << single.status().to_string();
      ASSERT_EQ(*proof, *single) << "index " << index << " size " << size << " exact " << exact;
      if (k < checked_against_reference) {
        ASSERT_EQ(*proof, reference_path(index, std::span(tiles_->leaves()).first(size)))
            << "index " << index << " size " << size << " exact " << exact;
      }
    }
    // What the shared reader remembered does not change its root.
    auto root = shared.root();
    ASSERT_TRUE(root.is_ok());
    TileReader fresh(tiles_->fetcher(exact), size);
    EXPECT_EQ(*root, *fresh.root()) << "size " << size;
  }

  static MemoryTiles* tiles_;
};

MemoryTiles* TileReaderManyProofsTest::tiles_ = nullptr;

const uint64_t kSizes[] = {1,     2,           3,           7,           8,          255,   256,
                           257,   511,         512,         513,         1000,       65535, 65536,
                           65537, 65536 + 255, 65536 + 256, 65536 + 257, 65536 + 600};

TEST_F(TileReaderManyProofsTest, ConsecutiveRunsMatchSingleProofs) {
  for (uint64_t size : kSizes) {
    for (bool exact : {true, false}) {
      SCOPED_TRACE("size " + std::to_string(size));
      // A capture's receipts: the last 100 entries; then the first 100, and
      // runs across the level-0 and level-1 tile edges.
      std::vector<std::vector<uint64_t>> runs;
      auto run = [&](uint64_t first, uint64_t count) {
        std::vector<uint64_t> indexes;
        for (uint64_t i = first; i < std::min(first + count, size); ++i) indexes.push_back(i);
        if (!indexes.empty()) runs.push_back(std::move(indexes));
      };
      run(size > 100 ? size - 100 : 0, 100);
      run(0, 100);
      run(200, 100);
      run(65536 - 50, 100);
      for (const auto& indexes : runs) {
        size_t against_reference = size > 2000 ? 3 : indexes.size();
        expect_shared_reader_matches(size, indexes, exact, against_reference);
      }
    }
  }
}

TEST_F(TileReaderManyProofsTest, ScatteredIndexesMatchSingleProofs) {
  std::mt19937_64 random(9162);
  for (uint64_t size : kSizes) {
    for (bool exact : {true, false}) {
      SCOPED_TRACE("size " + std::to_string(size));
      // Random order with repeats, plus both ends and the tile edges.
      std::vector<uint64_t> indexes = {size - 1, 0};
      for (uint64_t edge : {255ull, 256ull, 257ull, 65535ull, 65536ull}) {
        if (edge < size) indexes.push_back(edge);
      }
      for (int i = 0; i < 40; ++i) indexes.push_back(random() % size);
      indexes.push_back(size - 1);
      indexes.push_back(indexes[3 % indexes.size()]);
      size_t against_reference = size > 2000 ? 4 : indexes.size();
      expect_shared_reader_matches(size, indexes, exact, against_reference);
    }
  }
}

// After many proofs a reader still answers consistency proofs and ranges as a fresh one.
TEST_F(TileReaderManyProofsTest, RememberedNodesServeOtherQueries) {
  for (uint64_t size : {uint64_t{513}, uint64_t{1000}, uint64_t{65537}, uint64_t{65536 + 600}}) {
    SCOPED_TRACE("size " + std::to_string(size));
    TileReader shared(tiles_->fetcher(true), size);
    for (uint64_t index = size - 100; index < size; ++index) {
      ASSERT_TRUE(shared.inclusion_proof(index).is_ok());
    }
    for (uint64_t old_size : {uint64_t{1}, uint64_t{255}, uint64_t{256}, uint64_t{257},
                              uint64_t{500}, size - 99, size - 1, size}) {
      auto proof = shared.consistency_proof(old_size);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      TileReader fresh(tiles_->fetcher(true), size);
      EXPECT_EQ(*proof, *fresh.consistency_proof(old_size)) << "old size " << old_size;
      if (size <= 1000) {
        EXPECT_EQ(*proof, reference_consistency(old_size, std::span(tiles_->leaves()).first(size)))
            << "old size " << old_size;
      }
      auto range = shared.range_hash(0, old_size);
      ASSERT_TRUE(range.is_ok());
      EXPECT_EQ(*range, *fresh.range_hash(0, old_size)) << "old size " << old_size;
    }
  }
  TileReader small(tiles_->fetcher(false), 1000);
  ASSERT_TRUE(small.inclusion_proof(999).is_ok());
  EXPECT_EQ(*small.root(), reference_mth(std::span(tiles_->leaves()).first(1000)));
  EXPECT_EQ(*small.range_hash(0, 700), reference_mth(std::span(tiles_->leaves()).first(700)));
}

TEST_F(TileReaderManyProofsTest, EachTileIsFetchedOncePerReader) {
  tiles_->reset_fetches();
  TileReader reader(tiles_->fetcher(true), 65537);
  for (uint64_t index = 65537 - 100; index < 65537; ++index) {
    ASSERT_TRUE(reader.inclusion_proof(index).is_ok());
  }
  ASSERT_TRUE(reader.inclusion_proof(3).is_ok());
  ASSERT_FALSE(tiles_->fetches().empty());
  for (const auto& [tile, count] : tiles_->fetches()) {
    EXPECT_EQ(count, 1) << "tile " << int(tile.first) << "/" << tile.second;
  }
}

}  // namespace
}  // namespace custos::ledger::testing
