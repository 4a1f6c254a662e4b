#include "custos/ledger/store_audit.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <span>

#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/ledger/tile_reader.h"
#include "log_internal.h"

namespace custos::ledger {
namespace {

using store::Family;
using Kind = StoreAuditProblemKind;

constexpr uint64_t kProgressInterval = uint64_t{1} << 20;
constexpr uint64_t kNone = std::numeric_limits<uint64_t>::max();

std::string tile_name(uint64_t level, uint64_t tile_index) {
  return std::to_string(level) + "/" + std::to_string(tile_index);
}

uint64_t key_u64(std::string_view key) {
  return read_u64_be(reinterpret_cast<const uint8_t*>(key.data()));
}

std::string key_hex(std::string_view key) { return hex_encode(as_bytes(key)); }

// Re-derives the tree from the stored entries, one hash at a time, comparing
// each layer with the stored one (see the header for the carrying rule).
class StoreAuditor {
 public:
  StoreAuditor(const store::Store& store, const NoteVerifier& log_key,
               const std::function<void(const StoreAuditProgress&)>& progress)
      : store_(store), log_key_(log_key), progress_(progress) {}

  Result<StoreAuditReport> run();

 private:
  // The stored tile the next hash of a level is compared with.
  struct StoredTile {
    uint64_t index = kNone;
    std::vector<Hash256> hashes;  // empty when missing
  };
  struct Level {
    uint64_t count = 0;           // hashes pushed so far
    uint64_t first = 0;           // position of hashes[0] within the level
    std::vector<Hash256> hashes;  // level 0: the current tile; level >= 1: all
    std::vector<bool> unknown;    // parallel to a tile being built: no hash could be had
    StoredTile stored;
  };

  void report(Kind kind, uint64_t position, std::string message, uint8_t tile_level = 0);

  Status audit_entries();
  Status audit_bundle(uint64_t bundle_index, const std::string* bundle);
  Status load_stored_tile(size_t level, uint64_t tile_index);
  // Adds the hash recomputed for the next position of `level` (nullopt when
  // it could not be recomputed), comparing it with the stored tile.
  Status push(size_t level, std::optional<Hash256> recomputed);

  Status audit_checkpoints_up_to(uint64_t processed_size);
  Status audit_checkpoint(uint64_t tree_size, std::string_view note);
  Status audit_tiles_outside_tree();
  Status audit_tree_root_and_latest();

  TileFetcher recomputed_tiles();
  Result<Hash256> recomputed_root(uint64_t tree_size);

  const store::Store& store_;
  const NoteVerifier& log_key_;
  const std::function<void(const StoreAuditProgress&)>& progress_;
  StoreAuditReport report_;
  uint64_t tree_size_ = 0;
  Hash256 stored_root_;
  bool have_origin_ = false;

  std::vector<Level> levels_;
  // The level-0 tile holding the previous checkpoint's size, kept for the
  // consistency proof to the next checkpoint once the current tile moves on.
  uint64_t pinned_tile_ = kNone;
  uint64_t kept_tile_index_ = kNone;
  std::vector<Hash256> kept_tile_;
  // First leaf whose hash is unknown (its bundle and its tile are both gone).
  uint64_t unknown_from_ = kNone;
  uint64_t unverifiable_checkpoints_ = 0;
  // A stored hash above level 0 replaced a recomputed one, so the carried
  // tree is no longer one Merkle tree and consistency proofs across the
  // patch may fail without any further fault (the tile problem says why).
  bool patched_ = false;

  std::unique_ptr<store::StoreIterator> checkpoints_;
  std::optional<uint64_t> previous_size_;
  Hash256 previous_root_;
};

void StoreAuditor::report(Kind kind, uint64_t position, std::string message, uint8_t tile_level) {
  if (report_.problems.size() >= kMaxStoreAuditProblems) {
    ++report_.problems_omitted;
    return;
  }
  report_.problems.push_back(StoreAuditProblem{kind, position, tile_level, std::move(message)});
}

Result<StoreAuditReport> StoreAuditor::run() {
  CUSTOS_ASSIGN_OR_RETURN(auto origin, store_.get(Family::kMeta, log_internal::kOriginKey));
  CUSTOS_ASSIGN_OR_RETURN(auto state_bytes, store_.get(Family::kMeta, log_internal::kTreeStateKey));
  if (!state_bytes) {
    if (!origin) return not_found("the store holds no log (no tree state, no origin)");
    report(Kind::kTreeState, 0, "the log origin is stored but the tree state is missing");
    return std::move(report_);
  }
  auto state = log_internal::decode_tree_state(*state_bytes);
  if (!state.is_ok()) {
    report(Kind::kTreeState, 0, "tree state: " + state.status().message());
    return std::move(report_);
  }
  if (origin) {
    report_.origin = *origin;
    have_origin_ = true;
  } else {
    report(Kind::kTreeState, state->tree_size, "the log origin is missing");
  }
  tree_size_ = state->tree_size;
  stored_root_ = state->root_hash;
  report_.tree_size = tree_size_;

  checkpoints_ = store_.new_iterator(Family::kCheckpoints);
  checkpoints_->seek_to_first();
  CUSTOS_RETURN_IF_ERROR(audit_checkpoints_up_to(0));
  CUSTOS_RETURN_IF_ERROR(audit_entries());
  CUSTOS_RETURN_IF_ERROR(audit_checkpoints_up_to(kNone));
  CUSTOS_RETURN_IF_ERROR(checkpoints_->status());
  checkpoints_.reset();
  CUSTOS_RETURN_IF_ERROR(audit_tiles_outside_tree());
  CUSTOS_RETURN_IF_ERROR(audit_tree_root_and_latest());
  if (unknown_from_ != kNone) {
    report(Kind::kUnverifiable, unknown_from_,
           "entries from " + std::to_string(unknown_from_) +
               " on could not be recomputed (bundle and tile both missing); " +
               std::to_string(unverifiable_checkpoints_) +
               " checkpoint roots beyond that were not checked");
  }
  return std::move(report_);
}

Status StoreAuditor::audit_entries() {
  uint64_t bundle_count = (tree_size_ + kTileWidth - 1) / kTileWidth;
  auto entries = store_.new_iterator(Family::kEntries);
  entries->seek_to_first();
  std::string bundle;
  uint64_t next_progress = kProgressInterval;
  for (uint64_t bundle_index = 0; bundle_index < bundle_count; ++bundle_index) {
    while (entries->valid() && entries->key().size() != 8) {
      report(Kind::kBundleExtra, bundle_index * kTileWidth,
             "entries family holds a malformed key " + key_hex(entries->key()));
      entries->next();
    }
    bool present = entries->valid() && key_u64(entries->key()) == bundle_index;
    if (present) {
      bundle.assign(entries->value());
      entries->next();
    }
    CUSTOS_RETURN_IF_ERROR(audit_bundle(bundle_index, present ? &bundle : nullptr));
    uint64_t processed = std::min(tree_size_, (bundle_index + 1) * kTileWidth);
    CUSTOS_RETURN_IF_ERROR(audit_checkpoints_up_to(processed));
    if (progress_ && processed >= next_progress) {
      progress_(StoreAuditProgress{report_.entries_checked, tree_size_});
      next_progress = (processed / kProgressInterval + 1) * kProgressInterval;
    }
  }
  for (; entries->valid(); entries->next()) {
    if (entries->key().size() != 8) {
      report(Kind::kBundleExtra, tree_size_,
             "entries family holds a malformed key " + key_hex(entries->key()));
      continue;
    }
    uint64_t bundle_index = key_u64(entries->key());
    report(Kind::kBundleExtra, bundle_index * kTileWidth,
           "entry bundle " + std::to_string(bundle_index) + " is stored but the tree of size " +
               std::to_string(tree_size_) + " ends before it");
  }
  CUSTOS_RETURN_IF_ERROR(entries->status());
  if (progress_) progress_(StoreAuditProgress{report_.entries_checked, tree_size_});
  return Status::ok();
}

Status StoreAuditor::audit_bundle(uint64_t bundle_index, const std::string* bundle) {
  uint64_t width = bundle_width_at(bundle_index, tree_size_);
  uint64_t first = bundle_index * kTileWidth;
  std::array<Hash256, kTileWidth> leaves;
  uint64_t known = 0;
  if (bundle == nullptr) {
    report(Kind::kBundleMissing, first,
           "entry bundle " + std::to_string(bundle_index) + " (entries " + std::to_string(first) +
               ".." + std::to_string(first + width - 1) + ") is missing");
  } else {
    ++report_.bundles_checked;
    std::string_view bytes = *bundle;
    size_t at = 0;
    for (uint64_t i = 0; i < width; ++i) {
      uint64_t index = first + i;
      if (at + 2 > bytes.size()) {
        report(Kind::kBundleFraming, index,
               "entry " + std::to_string(index) + ": entry bundle " + std::to_string(bundle_index) +
                   " ends after " + std::to_string(i) + " entries; the tree needs " +
                   std::to_string(width));
        break;
      }
      size_t length = read_u16_be(reinterpret_cast<const uint8_t*>(bytes.data() + at));
      if (at + 2 + length > bytes.size()) {
        report(Kind::kBundleFraming, index,
               "entry " + std::to_string(index) + ": its length " + std::to_string(length) +
                   " overruns entry bundle " + std::to_string(bundle_index) + " (" +
                   std::to_string(bytes.size() - at - 2) + " bytes left)");
        break;
      }
      ByteView entry = as_bytes(bytes.substr(at + 2, length));
      at += 2 + length;
      auto decoded = decode_entry(entry);
      if (!decoded.is_ok()) {
        report(Kind::kEntryDecode, index,
               "entry " + std::to_string(index) + ": " + decoded.status().message());
      } else if (decoded->index != index) {
        report(Kind::kEntryIndex, index,
               "entry " + std::to_string(index) + ": its index field says " +
                   std::to_string(decoded->index));
      }
      leaves[i] = hash_leaf(entry);
      ++known;
      ++report_.entries_checked;
    }
    if (known == width && at != bytes.size()) {
      report(Kind::kBundleFraming, first + width,
             "entry bundle " + std::to_string(bundle_index) + " has " +
                 std::to_string(bytes.size() - at) + " bytes after its " + std::to_string(width) +
                 " entries");
    }
  }
  for (uint64_t i = 0; i < width; ++i) {
    CUSTOS_RETURN_IF_ERROR(push(0, i < known ? std::optional<Hash256>(leaves[i]) : std::nullopt));
  }
  return Status::ok();
}

Status StoreAuditor::load_stored_tile(size_t level, uint64_t tile_index) {
  StoredTile& stored = levels_[level].stored;
  stored.index = tile_index;
  stored.hashes.clear();
  uint64_t width = tile_width_at(static_cast<uint8_t>(level), tile_index, tree_size_);
  auto level8 = static_cast<uint8_t>(level);
  CUSTOS_ASSIGN_OR_RETURN(auto bytes,
                          store_.get(Family::kTiles, log_internal::tile_key(level8, tile_index)));
  std::string name = tile_name(level, tile_index);
  if (!bytes) {
    report(Kind::kTileMissing, tile_index,
           "tile " + name + " is missing (the tree needs " + std::to_string(width) + " hashes)",
           level8);
    return Status::ok();
  }
  ++report_.tiles_checked;
  if (bytes->size() % Hash256::kSize != 0 || bytes->size() / Hash256::kSize != width) {
    report(Kind::kTileMalformed, tile_index,
           "tile " + name + " has " + std::to_string(bytes->size()) + " bytes; the tree of size " +
               std::to_string(tree_size_) + " needs " + std::to_string(width) + " hashes (" +
               std::to_string(width * Hash256::kSize) + " bytes)",
           level8);
  }
  size_t count = std::min<size_t>(bytes->size() / Hash256::kSize, kTileWidth);
  stored.hashes.resize(count);
  std::memcpy(stored.hashes.data(), bytes->data(), count * Hash256::kSize);
  return Status::ok();
}

Status StoreAuditor::push(size_t level, std::optional<Hash256> recomputed) {
  if (levels_.size() <= level) levels_.resize(level + 1);
  uint64_t position = levels_[level].count;
  uint64_t tile_index = position / kTileWidth;
  uint64_t offset = position % kTileWidth;
  if (level == 0 && offset == 0) {
    Level& leaves = levels_[0];
    if (!leaves.hashes.empty() && tile_index - 1 == pinned_tile_) {
      kept_tile_index_ = tile_index - 1;
      kept_tile_ = leaves.hashes;
    }
    leaves.hashes.clear();
    leaves.first = position;
  }
  if (offset == 0) levels_[level].unknown.clear();
  if (levels_[level].stored.index != tile_index) {
    CUSTOS_RETURN_IF_ERROR(load_stored_tile(level, tile_index));
  }

  Level& current = levels_[level];
  const std::vector<Hash256>& stored = current.stored.hashes;
  bool have_stored = offset < stored.size();
  Hash256 carried;
  bool unknown = false;
  if (recomputed && have_stored && stored[offset] != *recomputed) {
    if (level == 0) {
      report(Kind::kLeafHash, position,
             "entry " + std::to_string(position) + ": leaf hash does not match tile " +
                 tile_name(0, tile_index) + " position " + std::to_string(offset));
    } else {
      uint64_t below = position;
      report(Kind::kTileHash, tile_index,
             "tile " + tile_name(level, tile_index) + " position " + std::to_string(offset) +
                 " does not match the root of tile " + tile_name(level - 1, below) +
                 " recomputed below it",
             static_cast<uint8_t>(level));
    }
    carried = stored[offset];
    if (level > 0) patched_ = true;
  } else if (recomputed) {
    carried = *recomputed;
  } else if (have_stored) {
    carried = stored[offset];
  } else {
    unknown = true;
    if (level == 0) unknown_from_ = std::min(unknown_from_, position);
  }
  current.hashes.push_back(carried);
  current.unknown.push_back(unknown);
  ++current.count;
  if (current.count % kTileWidth != 0) return Status::ok();

  bool any_unknown =
      std::find(current.unknown.begin(), current.unknown.end(), true) != current.unknown.end();
  std::span<const Hash256> tile(
      current.hashes.data() + (current.count - current.first - kTileWidth), kTileWidth);
  std::optional<Hash256> root;
  if (!any_unknown) root = root_from_leaf_hashes(tile);
  return push(level + 1, root);  // may reallocate levels_: `current` is dead from here
}

TileFetcher StoreAuditor::recomputed_tiles() {
  return [this](uint8_t level, uint64_t tile_index, uint64_t width) -> Result<std::string> {
    std::span<const Hash256> hashes;
    if (level < levels_.size()) {
      const Level& at_level = levels_[level];
      uint64_t first = tile_index * kTileWidth;
      if (first >= at_level.first && first < at_level.first + at_level.hashes.size()) {
        uint64_t offset = first - at_level.first;
        hashes =
            std::span<const Hash256>(at_level.hashes)
                .subspan(offset, std::min<uint64_t>(kTileWidth, at_level.hashes.size() - offset));
      } else if (level == 0 && tile_index == kept_tile_index_) {
        hashes = kept_tile_;
      }
    }
    if (hashes.size() < width) {
      return internal_error("the audit kept no recomputed tile " + tile_name(level, tile_index) +
                            " of width " + std::to_string(width));
    }
    return std::string(reinterpret_cast<const char*>(hashes.data()),
                       hashes.size() * Hash256::kSize);
  };
}

Result<Hash256> StoreAuditor::recomputed_root(uint64_t tree_size) {
  TileReader reader(recomputed_tiles(), tree_size);
  return reader.root();
}

Status StoreAuditor::audit_checkpoints_up_to(uint64_t processed_size) {
  while (checkpoints_->valid()) {
    std::string_view key = checkpoints_->key();
    if (key == log_internal::kLatestCheckpointKey) {
      checkpoints_->next();
      continue;
    }
    if (key.size() != 8) {
      report(Kind::kCheckpointBody, 0, "checkpoints family holds a malformed key " + key_hex(key));
      checkpoints_->next();
      continue;
    }
    uint64_t tree_size = key_u64(key);
    if (tree_size > processed_size) break;
    std::string note(checkpoints_->value());
    checkpoints_->next();
    CUSTOS_RETURN_IF_ERROR(audit_checkpoint(tree_size, note));
  }
  return checkpoints_->status();
}

Status StoreAuditor::audit_checkpoint(uint64_t tree_size, std::string_view note) {
  ++report_.checkpoints_checked;
  std::string name = "checkpoint " + std::to_string(tree_size);
  if (tree_size > tree_size_) {
    report(Kind::kCheckpointBody, tree_size,
           name + " is stored but the tree state's size is " + std::to_string(tree_size_));
    return Status::ok();
  }
  const NoteVerifier* known[] = {&log_key_};
  auto opened = open_note(note, known);
  if (!opened.is_ok()) {
    report(Kind::kCheckpointSignature, tree_size,
           name + ": does not open with key " + log_key_.name() + ": " + opened.status().message());
    return Status::ok();
  }
  auto checkpoint = parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok()) {
    report(Kind::kCheckpointBody, tree_size, name + ": " + checkpoint.status().message());
    return Status::ok();
  }
  if (have_origin_ && checkpoint->origin != report_.origin) {
    report(Kind::kCheckpointBody, tree_size,
           name + ": origin \"" + checkpoint->origin + "\" is not the log's \"" + report_.origin +
               "\"");
  }
  if (checkpoint->tree_size != tree_size) {
    report(Kind::kCheckpointBody, tree_size,
           name + ": stored under size " + std::to_string(tree_size) + " but signs size " +
               std::to_string(checkpoint->tree_size));
    return Status::ok();
  }
  if (unknown_from_ != kNone && tree_size > unknown_from_) {
    ++unverifiable_checkpoints_;
    return Status::ok();
  }
  TileReader reader(recomputed_tiles(), tree_size);
  auto root = reader.root();
  if (!root.is_ok()) return root.status().with_context("recomputing the root of " + name);
  if (*root != checkpoint->root_hash) {
    report(Kind::kCheckpointRoot, tree_size,
           name + ": root " + checkpoint->root_hash.hex() + " does not match the root " +
               root->hex() + " recomputed from the stored entries and tiles");
  }
  if (!patched_ && previous_size_ && *previous_size_ > 0 && *previous_size_ < tree_size) {
    auto proof = reader.consistency_proof(*previous_size_);
    if (!proof.is_ok()) {
      return proof.status().with_context("building the consistency proof to " + name);
    }
    Status consistent =
        verify_consistency(*previous_size_, tree_size, previous_root_, *root, *proof);
    if (!consistent.is_ok()) {
      report(Kind::kCheckpointConsistency, tree_size,
             name + ": not consistent with checkpoint " + std::to_string(*previous_size_) + ": " +
                 consistent.message());
    }
  }
  previous_size_ = tree_size;
  previous_root_ = *root;
  pinned_tile_ = tree_size % kTileWidth != 0 ? tree_size / kTileWidth : kNone;
  return Status::ok();
}

Status StoreAuditor::audit_tiles_outside_tree() {
  auto tiles = store_.new_iterator(Family::kTiles);
  for (tiles->seek_to_first(); tiles->valid(); tiles->next()) {
    std::string_view key = tiles->key();
    if (key.size() != 9) {
      report(Kind::kTileExtra, 0, "tiles family holds a malformed key " + key_hex(key));
      continue;
    }
    auto level = static_cast<uint8_t>(key[0]);
    uint64_t tile_index = key_u64(key.substr(1));
    if (tile_width_at(level, tile_index, tree_size_) == 0) {
      report(Kind::kTileExtra, tile_index,
             "tile " + tile_name(level, tile_index) + " is stored but the tree of size " +
                 std::to_string(tree_size_) + " has no such tile",
             level);
    }
  }
  return tiles->status();
}

Status StoreAuditor::audit_tree_root_and_latest() {
  std::string size_text = std::to_string(tree_size_);
  bool root_known = unknown_from_ == kNone || tree_size_ <= unknown_from_;
  if (root_known) {
    CUSTOS_ASSIGN_OR_RETURN(report_.root_hash, recomputed_root(tree_size_));
    if (report_.root_hash != stored_root_) {
      report(Kind::kRoot, tree_size_,
             "tree state of size " + size_text + " records root " + stored_root_.hex() +
                 " but the entries and tiles give " + report_.root_hash.hex());
    }
  }

  CUSTOS_ASSIGN_OR_RETURN(auto latest,
                          store_.get(Family::kCheckpoints, log_internal::kLatestCheckpointKey));
  CUSTOS_ASSIGN_OR_RETURN(
      auto at_size, store_.get(Family::kCheckpoints, log_internal::checkpoint_key(tree_size_)));
  if (!at_size) {
    report(Kind::kCheckpointLatest, tree_size_,
           "no checkpoint is stored for the tree state's size " + size_text);
  }
  if (!latest) {
    report(Kind::kCheckpointLatest, tree_size_, "the latest checkpoint is missing");
    return Status::ok();
  }
  ++report_.checkpoints_checked;
  const NoteVerifier* known[] = {&log_key_};
  auto opened = open_note(*latest, known);
  if (!opened.is_ok()) {
    report(Kind::kCheckpointSignature, tree_size_,
           "latest checkpoint: does not open with key " + log_key_.name() + ": " +
               opened.status().message());
    return Status::ok();
  }
  auto checkpoint = parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok()) {
    report(Kind::kCheckpointBody, tree_size_,
           "latest checkpoint: " + checkpoint.status().message());
    return Status::ok();
  }
  if (checkpoint->tree_size != tree_size_ || checkpoint->root_hash != stored_root_) {
    report(Kind::kCheckpointLatest, tree_size_,
           "latest checkpoint signs size " + std::to_string(checkpoint->tree_size) + " root " +
               checkpoint->root_hash.hex() + " but the tree state has size " + size_text +
               " root " + stored_root_.hex());
  } else if (at_size && *at_size != *latest) {
    report(Kind::kCheckpointLatest, tree_size_,
           "latest checkpoint differs from the checkpoint stored for size " + size_text);
  }
  return Status::ok();
}

}  // namespace

std::string_view store_audit_problem_kind_name(StoreAuditProblemKind kind) {
  switch (kind) {
    case Kind::kTreeState:
      return "tree_state";
    case Kind::kBundleMissing:
      return "bundle_missing";
    case Kind::kBundleFraming:
      return "bundle_framing";
    case Kind::kBundleExtra:
      return "bundle_extra";
    case Kind::kEntryDecode:
      return "entry_decode";
    case Kind::kEntryIndex:
      return "entry_index";
    case Kind::kLeafHash:
      return "leaf_hash";
    case Kind::kTileMissing:
      return "tile_missing";
    case Kind::kTileMalformed:
      return "tile_malformed";
    case Kind::kTileHash:
      return "tile_hash";
    case Kind::kTileExtra:
      return "tile_extra";
    case Kind::kRoot:
      return "root";
    case Kind::kCheckpointSignature:
      return "checkpoint_signature";
    case Kind::kCheckpointBody:
      return "checkpoint_body";
    case Kind::kCheckpointRoot:
      return "checkpoint_root";
    case Kind::kCheckpointConsistency:
      return "checkpoint_consistency";
    case Kind::kCheckpointLatest:
      return "checkpoint_latest";
    case Kind::kUnverifiable:
      return "unverifiable";
  }
  return "unknown";
}

Result<StoreAuditReport> audit_log_store(
    const store::Store& store, const NoteVerifier& log_key,
    const std::function<void(const StoreAuditProgress&)>& progress) {
  StoreAuditor auditor(store, log_key, progress);
  return auditor.run();
}

}  // namespace custos::ledger
