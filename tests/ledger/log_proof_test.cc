// Roots, tiles, entry bundles and proofs of a log built in group-commit
// batches of chosen sizes, checked against a naive RFC 9162 reference.
#include <algorithm>
#include <random>
#include <set>

#include "custos/ledger/checkpoint.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

class LogProofTest : public LogFixture {
 protected:
  // Appends batches of exactly `sizes` entries (request_for(index) each) by
  // holding the sequencer in the signer while the next batch queues.
  void append_batches(const std::vector<uint64_t>& sizes) {
    signer_.hold();
    uint64_t calls = signer_.calls();
    uint64_t next = log_->tree_size();
    std::vector<std::future<void>> pending;
    for (size_t i = 0; i < sizes.size(); ++i) {
      pending.push_back(append_many_async(next, sizes[i]));
      next += sizes[i];
      if (i > 0) signer_.release(1);  // lets batch i-1 commit; batch i is all queued
      signer_.wait_for_calls(calls + i + 1);
    }
    signer_.release_all();
    for (auto& done : pending) done.wait();
    ASSERT_EQ(log_->tree_size(), next);
    for (uint64_t i = leaves_.size(); i < next; ++i) leaves_.push_back(expected_leaf(i, i));
  }

  std::span<const Hash256> first(uint64_t size) const {
    return std::span<const Hash256>(leaves_).first(size);
  }

  void expect_inclusion(uint64_t index, uint64_t size) {
    auto proof = log_->inclusion_proof(index, size);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    EXPECT_EQ(*proof, reference_path(index, first(size))) << "index " << index << " size " << size;
  }

  void expect_consistency(uint64_t size1, uint64_t size2) {
    auto proof = log_->consistency_proof(size1, size2);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    EXPECT_EQ(*proof, reference_consistency(size1, first(size2)))
        << "size1 " << size1 << " size2 " << size2;
  }

  std::vector<Hash256> leaves_;
};

Bytes concat(std::span<const Hash256> hashes) {
  Bytes out;
  for (const auto& hash : hashes) out.insert(out.end(), hash.bytes.begin(), hash.bytes.end());
  return out;
}

// Log::inclusion_proofs of `indexes` in the tree of `size` equals
// inclusion_proof of each index alone.
void expect_batched_proofs_equal_single(const ledger::Log& log,
                                        const std::vector<uint64_t>& indexes, uint64_t size) {
  auto batched = log.inclusion_proofs(indexes, size);
  ASSERT_TRUE(batched.is_ok()) << batched.status().to_string();
  ASSERT_EQ(batched->size(), indexes.size());
  for (size_t k = 0; k < indexes.size(); ++k) {
    auto single = log.inclusion_proof(indexes[k], size);
    ASSERT_TRUE(single.is_ok());
    EXPECT_EQ((*batched)[k], *single) << "index " << indexes[k] << " size " << size;
  }
}

TEST_F(LogProofTest, BatchSizesAreExactlyAsQueued) {
  open_log();
  append_batches({1, 255, 256, 257, 3});
  std::vector<uint64_t> sizes;
  for (const auto& body : signer_.signed_bodies()) {
    auto checkpoint = parse_checkpoint_body(body);
    ASSERT_TRUE(checkpoint.is_ok());
    sizes.push_back(checkpoint->tree_size);
  }
  EXPECT_EQ(sizes, (std::vector<uint64_t>{0, 1, 256, 512, 769, 772}));
}

TEST_F(LogProofTest, LargeLogAcrossTileLevels) {
  open_log();
  // Crosses level-0 tile and bundle edges, then a level-1 tile (65536 leaves).
  std::vector<uint64_t> batches = {1, 255, 256, 257, 3, 511, 65536 + 300, 2, 1};
  append_batches(batches);
  const uint64_t total = leaves_.size();
  ASSERT_EQ(total, 67122u);

  std::set<uint64_t> sizes = {1, 2, 3, 4, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537, total};
  uint64_t cumulative = 0;
  for (uint64_t batch : batches) sizes.insert(cumulative += batch);

  // Roots and stored checkpoints.
  for (uint64_t size : sizes) {
    auto root = log_->root_at(size);
    ASSERT_TRUE(root.is_ok()) << root.status().to_string();
    EXPECT_EQ(*root, reference_mth(first(size))) << "size " << size;
  }
  cumulative = 0;
  for (uint64_t batch : batches) {
    cumulative += batch;
    auto note = log_->checkpoint_at(cumulative);
    ASSERT_TRUE(note.is_ok()) << note.status().to_string();
    auto checkpoint = parse_checkpoint_body(note->substr(0, note->find("\n\n") + 1));
    ASSERT_TRUE(checkpoint.is_ok());
    EXPECT_EQ(checkpoint->origin, kOrigin);
    EXPECT_EQ(checkpoint->tree_size, cumulative);
    EXPECT_EQ(checkpoint->root_hash, reference_mth(first(cumulative)));
  }
  EXPECT_EQ(log_->latest_checkpoint(), *log_->checkpoint_at(total));

  // Inclusion proofs at tile boundaries.
  for (uint64_t size : sizes) {
    std::set<uint64_t> indexes = {0, size - 1, size / 2};
    for (uint64_t index : {1ull, 255ull, 256ull, 257ull, 65535ull, 65536ull, 65537ull}) {
      if (index < size) indexes.insert(index);
    }
    for (uint64_t index : indexes) expect_inclusion(index, size);
  }
  // Receipts: from one inclusion_proofs call, the last 100 entries of each
  // size and scattered ones equal the single proofs.
  std::mt19937_64 random(6962);
  for (uint64_t size : sizes) {
    std::vector<uint64_t> indexes;
    for (uint64_t i = size > 100 ? size - 100 : 0; i < size; ++i) indexes.push_back(i);
    for (int i = 0; i < 10; ++i) indexes.push_back(random() % size);
    expect_batched_proofs_equal_single(*log_, indexes, size);
  }
  // Consistency proofs between those sizes.
  std::vector<uint64_t> sorted(sizes.begin(), sizes.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    for (size_t j = i; j < sorted.size(); j += 5) expect_consistency(sorted[i], sorted[j]);
    expect_consistency(sorted[i], total);
    expect_consistency(0, sorted[i]);
  }
}

TEST_F(LogProofTest, TilesHoldLeafHashesAndSubtreeRoots) {
  open_log();
  append_batches({300, 65536 - 300 + 256 * 3 + 17});
  const uint64_t total = leaves_.size();  // 65536 + 785: level 0 width 17, level 1 width 3
  ASSERT_EQ(total, 65536u + 785u);

  // Level 0: leaf hashes, 256 per tile, the last one partial.
  for (uint64_t tile = 0; tile < total / 256; tile += 37) {
    auto bytes = log_->read_tile(0, tile, 256);
    ASSERT_TRUE(bytes.is_ok()) << bytes.status().to_string();
    EXPECT_EQ(*bytes, concat(first(total).subspan(tile * 256, 256)));
  }
  uint64_t last = total / 256;
  auto partial = log_->read_tile(0, last, 17);
  ASSERT_TRUE(partial.is_ok());
  EXPECT_EQ(*partial, concat(first(total).subspan(last * 256, 17)));
  // A smaller width is served by truncating; a larger one does not exist yet.
  auto narrower = log_->read_tile(0, last, 5);
  ASSERT_TRUE(narrower.is_ok());
  EXPECT_EQ(*narrower, concat(first(total).subspan(last * 256, 5)));
  EXPECT_EQ(log_->read_tile(0, last, 18).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_tile(0, last + 1, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_tile(0, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->read_tile(0, 0, 257).status().code(), StatusCode::kInvalidArgument);

  // Level 1: roots of full level-0 tiles.
  std::vector<Hash256> level1;
  for (uint64_t tile = 0; tile < total / 256; ++tile) {
    level1.push_back(reference_mth(first(total).subspan(tile * 256, 256)));
  }
  auto full1 = log_->read_tile(1, 0, 256);
  ASSERT_TRUE(full1.is_ok());
  EXPECT_EQ(*full1, concat(std::span<const Hash256>(level1).first(256)));
  auto partial1 = log_->read_tile(1, 1, 3);
  ASSERT_TRUE(partial1.is_ok());
  EXPECT_EQ(*partial1, concat(std::span<const Hash256>(level1).subspan(256, 3)));
  EXPECT_EQ(log_->read_tile(1, 1, 4).status().code(), StatusCode::kNotFound);

  // Level 2: one hash, the root of the first 65536 leaves.
  auto level2 = log_->read_tile(2, 0, 1);
  ASSERT_TRUE(level2.is_ok());
  EXPECT_EQ(*level2, concat(std::vector<Hash256>{reference_mth(first(65536))}));
  EXPECT_EQ(log_->read_tile(2, 0, 2).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_tile(3, 0, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_tile(63, 0, 1).status().code(), StatusCode::kNotFound);
}

TEST_F(LogProofTest, EntryBundlesFollowTlogTilesFormat) {
  open_log();
  append_batches({100, 600});
  const uint64_t total = leaves_.size();
  for (uint64_t bundle_index = 0; bundle_index <= total / 256; ++bundle_index) {
    uint64_t width = std::min<uint64_t>(256, total - bundle_index * 256);
    auto bundle = log_->read_entry_bundle(bundle_index, static_cast<uint32_t>(width));
    ASSERT_TRUE(bundle.is_ok()) << bundle.status().to_string();
    size_t at = 0;
    for (uint64_t i = 0; i < width; ++i) {
      ASSERT_LE(at + 2, bundle->size());
      size_t length = read_u16_be(bundle->data() + at);
      ASSERT_LE(at + 2 + length, bundle->size());
      ByteView bytes(bundle->data() + at + 2, length);
      uint64_t index = bundle_index * 256 + i;
      EXPECT_EQ(hash_leaf(bytes), leaves_[index]);
      auto entry = decode_entry(bytes);
      ASSERT_TRUE(entry.is_ok());
      EXPECT_EQ(entry->index, index);
      EXPECT_EQ(entry->payload, request_for(index).payload);
      at += 2 + length;
    }
    EXPECT_EQ(at, bundle->size()) << "bundle " << bundle_index << " has trailing bytes";
  }
  // 700 entries: bundle 2 holds 188; narrower widths truncate, wider is NotFound.
  auto partial = log_->read_entry_bundle(2, 10);
  ASSERT_TRUE(partial.is_ok());
  auto full_partial = log_->read_entry_bundle(2, 188);
  ASSERT_TRUE(full_partial.is_ok());
  EXPECT_TRUE(std::equal(partial->begin(), partial->end(), full_partial->begin()));
  EXPECT_EQ(log_->read_entry_bundle(2, 189).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_entry_bundle(3, 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->read_entry_bundle(0, 0).status().code(), StatusCode::kInvalidArgument);

  for (uint64_t index : {0ull, 255ull, 256ull, 699ull}) {
    auto entry = log_->entry(index);
    ASSERT_TRUE(entry.is_ok());
    EXPECT_EQ(hash_leaf(*entry), leaves_[index]);
  }
  EXPECT_EQ(log_->entry(700).status().code(), StatusCode::kOutOfRange);
}

TEST_F(LogProofTest, EveryProofOfASmallLogMatchesTheReference) {
  open_log();
  // Many batch shapes, every size below is a committed or intermediate size.
  append_batches({1, 1, 2, 3, 7, 16, 100, 125, 256, 1, 300, 17, 221});
  const uint64_t total = leaves_.size();
  ASSERT_EQ(total, 1050u);
  for (uint64_t size = 1; size <= total; ++size) {
    auto root = log_->root_at(size);
    ASSERT_TRUE(root.is_ok());
    ASSERT_EQ(*root, reference_mth(first(size))) << "size " << size;
  }
  std::mt19937_64 random(7);
  for (uint64_t size = 1; size <= total; size += (size < 300 ? 1 : 7)) {
    std::set<uint64_t> indexes = {0, size - 1, size / 2, random() % size, random() % size};
    if (size <= 40 || size == 256 || size == 257 || size == 512 || size == 513) {
      for (uint64_t i = 0; i < size; ++i) indexes.insert(i);
    }
    for (uint64_t index : indexes) expect_inclusion(index, size);
  }
  for (uint64_t size2 = 1; size2 <= total; size2 += (size2 < 64 ? 1 : 29)) {
    for (uint64_t size1 = 0; size1 <= size2; size1 += (size2 < 64 ? 1 : 13)) {
      expect_consistency(size1, size2);
    }
    expect_consistency(size2 - 1, size2);
  }
}

// inclusion_proofs shares one reader's tiles across indexes: same answers.
TEST_F(LogProofTest, BatchedProofsEqualSingleProofs) {
  open_log();
  append_batches({3, 250, 300, 97, 1});
  const uint64_t total = leaves_.size();
  for (uint64_t size : {uint64_t{1}, uint64_t{253}, uint64_t{256}, uint64_t{557}, total}) {
    std::vector<uint64_t> indexes;
    for (uint64_t i = 0; i < size; i += (size > 300 ? 7 : 1)) indexes.push_back(i);
    indexes.push_back(size - 1);
    expect_batched_proofs_equal_single(*log_, indexes, size);
  }
  std::vector<uint64_t> beyond = {0, total};
  EXPECT_EQ(log_->inclusion_proofs(beyond, total).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(log_->inclusion_proofs(std::vector<uint64_t>{0}, total + 1).status().code(),
            StatusCode::kOutOfRange);
}

TEST_F(LogProofTest, ProofRequestsBeyondTheTreeAreRefused) {
  open_log();
  append_batches({10});
  EXPECT_EQ(log_->inclusion_proof(0, 11).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(log_->inclusion_proof(10, 10).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(log_->consistency_proof(5, 11).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(log_->consistency_proof(6, 5).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->root_at(11).status().code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(log_->consistency_proof(10, 10)->empty());
  EXPECT_TRUE(log_->consistency_proof(0, 10)->empty());
  EXPECT_TRUE(log_->inclusion_proof(0, 1)->empty());
  EXPECT_EQ(*log_->root_at(0), empty_tree_hash());
  EXPECT_EQ(log_->checkpoint_at(5).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(log_->checkpoint_at(11).status().code(), StatusCode::kOutOfRange);
  EXPECT_TRUE(log_->checkpoint_at(0).is_ok());
  EXPECT_TRUE(log_->checkpoint_at(10).is_ok());
}

TEST_F(LogProofTest, ProofsStayCorrectAfterReopen) {
  open_log();
  append_batches({300, 5});
  reopen();
  append_batches({250, 1, 700});
  const uint64_t total = leaves_.size();
  EXPECT_EQ(*log_->root_at(total), reference_mth(first(total)));
  for (uint64_t size : std::vector<uint64_t>{305, 555, 556, total}) {
    for (uint64_t index : std::vector<uint64_t>{0, 256, 304, size - 1})
      expect_inclusion(index, size);
    expect_consistency(305, size);
  }
}

}  // namespace
}  // namespace custos::ledger::testing
