// The offline store verifier: a clean log passes, and each kind of damage
// done directly through the Store is reported where it is, without crashing.
#include "custos/ledger/store_audit.h"

#include <algorithm>
#include <array>
#include <set>

#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/tile_reader.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

using store::Family;
using Kind = StoreAuditProblemKind;

std::string u64_key(uint64_t value) {
  std::string key(8, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(value >> (56 - 8 * i));
  return key;
}
std::string tile_key(uint8_t level, uint64_t tile_index) {
  std::string key(9, static_cast<char>(level));
  key.replace(1, 8, u64_key(tile_index));
  return key;
}

NoteSigner make_signer(uint8_t seed_byte) {
  std::array<uint8_t, 32> seed;
  seed.fill(seed_byte);
  auto key_pair = Ed25519KeyPair::from_seed(seed);
  EXPECT_TRUE(key_pair.is_ok());
  auto signer = NoteSigner::create(std::string(kOrigin), *key_pair);
  EXPECT_TRUE(signer.is_ok());
  return *signer;
}

class StoreAuditTest : public LogFixture {
 protected:
  // A log signed with a real key, built in group commits of at most 5000
  // entries from chunks of 7000, so it has many checkpoints at unaligned sizes.
  void build_log(uint64_t count) {
    auto options = log_options();
    options.sign_checkpoint = [this](std::string_view body) {
      const NoteSigner* signers[] = {&signer_key_};
      return sign_note(body, signers);
    };
    options.max_batch_entries = 5000;
    open_log(std::move(options));
    for (uint64_t first = 0; first < count; first += 7000) {
      append_many_async(first, std::min<uint64_t>(7000, count - first)).wait();
    }
    ASSERT_EQ(log_->tree_size(), count);
    // The log stays open only to answer roots; the tests damage the store directly.
  }

  StoreAuditReport audit(const NoteVerifier& key) {
    auto report = audit_log_store(*store_, key, nullptr);
    EXPECT_TRUE(report.is_ok()) << report.status().to_string();
    return report.is_ok() ? *report : StoreAuditReport{};
  }
  StoreAuditReport audit() { return audit(verifier_); }

  std::string get(Family family, std::string_view key) {
    auto value = store_->get(family, key);
    EXPECT_TRUE(value.is_ok() && value->has_value());
    return value.is_ok() && value->has_value() ? **value : std::string();
  }
  void put(Family family, std::string_view key, std::string_view value) {
    store::WriteBatch batch;
    batch.put(family, key, value);
    ASSERT_TRUE(store_->write(batch, true).is_ok());
  }
  void erase(Family family, std::string_view key) {
    store::WriteBatch batch;
    batch.erase(family, key);
    ASSERT_TRUE(store_->write(batch, true).is_ok());
  }

  // Offset of entry `index`'s bytes (after its length) within its bundle.
  static size_t entry_offset(std::string_view bundle, uint64_t index, size_t* length) {
    size_t at = 0;
    for (uint64_t i = 0; i < index % kTileWidth; ++i) {
      at += 2 + read_u16_be(reinterpret_cast<const uint8_t*>(bundle.data() + at));
    }
    *length = read_u16_be(reinterpret_cast<const uint8_t*>(bundle.data() + at));
    return at + 2;
  }

  std::vector<uint64_t> checkpoint_sizes() {
    std::vector<uint64_t> sizes;
    auto it = store_->new_iterator(Family::kCheckpoints);
    for (it->seek_to_first(); it->valid(); it->next()) {
      if (it->key().size() == 8) sizes.push_back(read_u64_be(as_bytes(it->key()).data()));
    }
    return sizes;
  }

  static std::string describe(const StoreAuditReport& report) {
    std::string text;
    for (const auto& problem : report.problems) {
      text += std::string(store_audit_problem_kind_name(problem.kind)) + " @" +
              std::to_string(problem.position) + ": " + problem.message + "\n";
    }
    return text;
  }

  NoteSigner signer_key_ = make_signer(7);
  NoteVerifier verifier_ = signer_key_.verifier();
};

TEST_F(StoreAuditTest, CleanLogPassesAndEverythingIsCounted) {
  build_log(70000);
  std::vector<StoreAuditProgress> calls;
  auto report = audit_log_store(
      *store_, verifier_, [&](const StoreAuditProgress& progress) { calls.push_back(progress); });
  ASSERT_TRUE(report.is_ok()) << report.status().to_string();
  EXPECT_TRUE(report->ok()) << describe(*report);
  EXPECT_EQ(report->origin, kOrigin);
  EXPECT_EQ(report->tree_size, 70000u);
  EXPECT_EQ(report->entries_checked, 70000u);
  EXPECT_EQ(report->bundles_checked, 274u);
  // 274 level-0 tiles, 2 level-1 tiles (273 hashes), 1 level-2 tile (1 hash).
  EXPECT_EQ(report->tiles_checked, 277u);
  auto sizes = checkpoint_sizes();
  EXPECT_GE(sizes.size(), 12u);                              // size 0 plus at least one per chunk
  EXPECT_EQ(report->checkpoints_checked, sizes.size() + 1);  // plus "latest"
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().entries_checked, 70000u);
  EXPECT_EQ(calls.back().tree_size, 70000u);
  EXPECT_EQ(report->root_hash, *log_->root_at(70000));
}

TEST_F(StoreAuditTest, EmptyLogPassesAndAStoreWithoutLogIsNotFound) {
  auto none = audit_log_store(*store_, verifier_, nullptr);
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  build_log(0);
  auto report = audit();
  EXPECT_TRUE(report.ok()) << describe(report);
  EXPECT_EQ(report.checkpoints_checked, 2u);  // size 0 and "latest"
  EXPECT_EQ(report.root_hash, empty_tree_hash());
}

TEST_F(StoreAuditTest, FlippedEntryByteIsReportedAtExactlyItsIndex) {
  build_log(70000);
  const uint64_t index = 12345;  // bundle 48, position 57
  std::string bundle = get(Family::kEntries, u64_key(index / kTileWidth));
  size_t length = 0;
  size_t at = entry_offset(bundle, index, &length);
  bundle[at + length - 1] ^= 0x01;  // the last payload byte: still decodes
  put(Family::kEntries, u64_key(index / kTileWidth), bundle);

  auto report = audit();
  ASSERT_EQ(report.problems.size(), 1u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kLeafHash);
  EXPECT_EQ(report.problems[0].position, index);
  EXPECT_EQ(report.problems[0].message,
            "entry 12345: leaf hash does not match tile 0/48 position 57");
  EXPECT_FALSE(report.ok());
}

TEST_F(StoreAuditTest, RewrittenIndexFieldIsReported) {
  build_log(3000);
  const uint64_t index = 700;
  std::string bundle = get(Family::kEntries, u64_key(index / kTileWidth));
  size_t length = 0;
  size_t at = entry_offset(bundle, index, &length);
  bundle.replace(at + 2, 8, u64_key(701));  // version, kind, then the u64 index
  put(Family::kEntries, u64_key(index / kTileWidth), bundle);

  auto report = audit();
  ASSERT_EQ(report.problems.size(), 2u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kEntryIndex);
  EXPECT_EQ(report.problems[0].position, index);
  EXPECT_EQ(report.problems[0].message, "entry 700: its index field says 701");
  EXPECT_EQ(report.problems[1].kind, Kind::kLeafHash);
  EXPECT_EQ(report.problems[1].position, index);
}

TEST_F(StoreAuditTest, UndecodableEntryAndBrokenFramingAreReported) {
  build_log(3000);
  // Entry 300: an unknown format version.
  std::string bundle = get(Family::kEntries, u64_key(1));
  size_t length = 0;
  size_t at = entry_offset(bundle, 300, &length);
  bundle[at] = 9;
  put(Family::kEntries, u64_key(1), bundle);
  // Bundle 3: the first length overruns the bundle.
  std::string broken = get(Family::kEntries, u64_key(3));
  broken[0] = '\xff';
  broken[1] = '\xff';
  put(Family::kEntries, u64_key(3), broken);
  // Bundle 5: trailing garbage after its 256 entries.
  put(Family::kEntries, u64_key(5), get(Family::kEntries, u64_key(5)) + "xyz");

  auto report = audit();
  ASSERT_EQ(report.problems.size(), 4u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kEntryDecode);
  EXPECT_EQ(report.problems[0].position, 300u);
  EXPECT_EQ(report.problems[1].kind, Kind::kLeafHash);
  EXPECT_EQ(report.problems[1].position, 300u);
  EXPECT_EQ(report.problems[2].kind, Kind::kBundleFraming);
  EXPECT_EQ(report.problems[2].position, 768u);
  EXPECT_NE(report.problems[2].message.find("overruns entry bundle 3"), std::string::npos);
  EXPECT_EQ(report.problems[3].kind, Kind::kBundleFraming);
  EXPECT_EQ(report.problems[3].position, 1536u);
  EXPECT_NE(report.problems[3].message.find("3 bytes after its 256 entries"), std::string::npos);
  EXPECT_EQ(report.entries_checked, 3000u - 256u);  // bundle 3 could not be read
}

TEST_F(StoreAuditTest, CorruptTileHashesAreReportedAtTheirTile) {
  build_log(70000);
  // Level 0, tile 10, position 255 (the last hash of a tile is never a root's
  // direct input: by then the level-1 hash stands for the whole tile).
  std::string tile = get(Family::kTiles, tile_key(0, 10));
  tile[255 * 32] ^= 0x80;
  put(Family::kTiles, tile_key(0, 10), tile);
  auto report = audit();
  ASSERT_EQ(report.problems.size(), 2u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kLeafHash);
  EXPECT_EQ(report.problems[0].position, 10u * 256 + 255);
  EXPECT_EQ(report.problems[0].message,
            "entry 2815: leaf hash does not match tile 0/10 position 255");
  EXPECT_EQ(report.problems[1].kind, Kind::kTileHash);
  EXPECT_EQ(report.problems[1].tile_level, 1);
  EXPECT_EQ(report.problems[1].position, 0u);
  EXPECT_EQ(report.problems[1].message,
            "tile 1/0 position 10 does not match the root of tile 0/10 recomputed below it");
  tile[255 * 32] ^= 0x80;
  put(Family::kTiles, tile_key(0, 10), tile);

  // Level 1, full tile 0, position 255: the level-2 hash above it no longer matches.
  std::string upper = get(Family::kTiles, tile_key(1, 0));
  upper[255 * 32 + 5] ^= 0x01;
  put(Family::kTiles, tile_key(1, 0), upper);
  report = audit();
  ASSERT_EQ(report.problems.size(), 2u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kTileHash);
  EXPECT_EQ(report.problems[0].tile_level, 1);
  EXPECT_EQ(report.problems[1].kind, Kind::kTileHash);
  EXPECT_EQ(report.problems[1].tile_level, 2);
}

TEST_F(StoreAuditTest, CorruptPartialTileBreaksTheRoots) {
  build_log(3000);  // level-0 tile 11 is partial (184 hashes)
  std::string tile = get(Family::kTiles, tile_key(0, 11));
  tile[100 * 32] ^= 0x01;
  put(Family::kTiles, tile_key(0, 11), tile);
  auto report = audit();
  ASSERT_GE(report.problems.size(), 3u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kLeafHash);
  EXPECT_EQ(report.problems[0].position, 11u * 256 + 100);
  std::set<Kind> kinds;
  for (const auto& problem : report.problems) kinds.insert(problem.kind);
  EXPECT_TRUE(kinds.contains(Kind::kRoot)) << describe(report);
  EXPECT_TRUE(kinds.contains(Kind::kCheckpointRoot)) << describe(report);
}

TEST_F(StoreAuditTest, TileOfTheWrongWidthMissingOrExtraIsReported) {
  build_log(3000);
  std::string tile = get(Family::kTiles, tile_key(0, 11));
  put(Family::kTiles, tile_key(0, 11), tile.substr(0, tile.size() - 32));
  erase(Family::kTiles, tile_key(0, 4));
  put(Family::kTiles, tile_key(0, 40), std::string(32, 'x'));
  put(Family::kEntries, u64_key(40), "\x00\x01z");
  auto report = audit();
  std::set<Kind> kinds;
  for (const auto& problem : report.problems) kinds.insert(problem.kind);
  EXPECT_TRUE(kinds.contains(Kind::kTileMalformed)) << describe(report);
  EXPECT_TRUE(kinds.contains(Kind::kTileMissing)) << describe(report);
  EXPECT_TRUE(kinds.contains(Kind::kTileExtra)) << describe(report);
  EXPECT_TRUE(kinds.contains(Kind::kBundleExtra)) << describe(report);
}

TEST_F(StoreAuditTest, CheckpointWithABadSignatureIsReported) {
  build_log(70000);
  auto sizes = checkpoint_sizes();
  ASSERT_GE(sizes.size(), 5u);
  uint64_t size = sizes[sizes.size() / 2];
  std::string note = get(Family::kCheckpoints, u64_key(size));
  size_t at = note.size() - 20;  // inside the base64 signature
  note[at] = note[at] == 'A' ? 'B' : 'A';
  put(Family::kCheckpoints, u64_key(size), note);

  auto report = audit();
  ASSERT_EQ(report.problems.size(), 1u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kCheckpointSignature);
  EXPECT_EQ(report.problems[0].position, size);

  // With the wrong key every checkpoint is refused.
  NoteSigner other = make_signer(8);
  report = audit(other.verifier());
  EXPECT_EQ(report.problems.size(), sizes.size() + 1) << describe(report);
  for (const auto& problem : report.problems) {
    EXPECT_EQ(problem.kind, Kind::kCheckpointSignature);
  }
}

TEST_F(StoreAuditTest, SignedCheckpointWithAWrongRootOrOriginIsReported) {
  build_log(70000);
  auto sizes = checkpoint_sizes();
  uint64_t size = sizes[3];
  const NoteSigner* signers[] = {&signer_key_};
  Checkpoint lie{std::string(kOrigin), size, sha256("not the tree"), {}};
  put(Family::kCheckpoints, u64_key(size), *sign_note(format_checkpoint_body(lie), signers));
  uint64_t other_size = sizes[5];
  Checkpoint elsewhere{"other.example/log", other_size, *log_->root_at(other_size), {}};
  put(Family::kCheckpoints, u64_key(other_size),
      *sign_note(format_checkpoint_body(elsewhere), signers));

  auto report = audit();
  ASSERT_EQ(report.problems.size(), 2u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kCheckpointRoot);
  EXPECT_EQ(report.problems[0].position, size);
  EXPECT_NE(report.problems[0].message.find("does not match the root"), std::string::npos);
  EXPECT_EQ(report.problems[1].kind, Kind::kCheckpointBody);
  EXPECT_EQ(report.problems[1].position, other_size);
  EXPECT_NE(report.problems[1].message.find("other.example/log"), std::string::npos);
}

TEST_F(StoreAuditTest, TreeStateAndLatestCheckpointMustAgree) {
  build_log(3000);
  std::string state = get(Family::kMeta, "log/tree_state");
  state[20] ^= 0x01;  // inside the root
  put(Family::kMeta, "log/tree_state", state);
  auto report = audit();
  ASSERT_EQ(report.problems.size(), 2u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kRoot);
  EXPECT_EQ(report.problems[0].position, 3000u);
  EXPECT_EQ(report.problems[1].kind, Kind::kCheckpointLatest);

  put(Family::kMeta, "log/tree_state", "garbage");
  report = audit();
  ASSERT_EQ(report.problems.size(), 1u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kTreeState);
}

TEST_F(StoreAuditTest, DeletedBundleIsReportedAndTheTilesStandIn) {
  build_log(70000);
  erase(Family::kEntries, u64_key(100));
  auto report = audit();
  ASSERT_EQ(report.problems.size(), 1u) << describe(report);
  EXPECT_EQ(report.problems[0].kind, Kind::kBundleMissing);
  EXPECT_EQ(report.problems[0].position, 25600u);
  EXPECT_EQ(report.problems[0].message, "entry bundle 100 (entries 25600..25855) is missing");
  EXPECT_EQ(report.entries_checked, 70000u - 256u);

  // Without its tile too, nothing past it can be tied to a checkpoint: said once.
  erase(Family::kTiles, tile_key(0, 100));
  report = audit();
  std::set<Kind> kinds;
  for (const auto& problem : report.problems) kinds.insert(problem.kind);
  EXPECT_EQ(kinds, (std::set<Kind>{Kind::kBundleMissing, Kind::kTileMissing, Kind::kUnverifiable}))
      << describe(report);
}

TEST_F(StoreAuditTest, ProblemsBeyondTheCapAreCounted) {
  build_log(3000);
  for (uint64_t tile = 0; tile < 5; ++tile) {
    put(Family::kTiles, tile_key(0, tile), std::string(256 * 32, '\0'));
  }
  auto report = audit();
  EXPECT_EQ(report.problems.size(), kMaxStoreAuditProblems);
  // 1280 leaves, 5 level-1 hashes, and any checkpoint inside those tiles.
  EXPECT_GE(report.problems_omitted, 5u * 256 + 5 - kMaxStoreAuditProblems);
  EXPECT_FALSE(report.ok());
}

}  // namespace
}  // namespace custos::ledger::testing
