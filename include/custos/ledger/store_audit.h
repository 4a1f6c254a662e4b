// custos ledger: the offline verifier of a log kept in a store.
//
// audit_log_store re-derives the whole log from its stored entry bundles,
// independently of the code that wrote it, and checks every stored artefact
// against what it recomputed: the framing of each entry bundle (u16 BE
// length + bytes per entry) and each entry's encoding and index field; every
// level-0 tile hash against the leaf hash of its entry; every level-L tile
// hash against the root of the level-(L-1) tile below it (full and partial
// tiles, and that no tile or bundle lies outside the tree); the tree state's
// root; and every stored checkpoint: its signature by the log key, its body,
// origin and size, its root against the root recomputed at its size, and a
// consistency proof from the previous checkpoint (generated from the
// recomputed tiles with a TileReader, then checked with verify_consistency).
// The "latest" checkpoint must be the one stored for the tree state's size.
//
// Where two adjacent layers disagree (an entry and its level-0 tile hash, a
// tile hash and the root of the tile below) the problem is reported once, at
// that layer, and the stored value is carried upward, so one corrupted byte
// gives one problem naming where it is rather than a cascade through every
// later checkpoint. A report without problems therefore means the entries,
// tiles, tree state and checkpoints all agree. Where an entry bundle cannot
// be read, the stored tile hashes stand in for its entries; if those are
// missing too, checkpoints beyond that point cannot be checked and the report
// says so. A stored hash is a root's direct input while its tile is partial,
// so a corrupted hash there also shows as checkpoint roots that differ. Once
// a tile hash above level 0 has been found wrong, the carried tree is no
// longer one Merkle tree and consistency proofs are no longer checked (the
// tile problem already explains what they would find).
//
// Memory is bounded: entries are streamed bundle by bundle; only level-0
// hashes of the current tile (and of the tile holding the previous
// checkpoint's size) are kept, plus every level-1+ hash (N/256 hashes, about
// 1.3 MB for 10 M entries). At most kMaxStoreAuditProblems problems are kept;
// further ones are only counted.
//
// Errors: a Status is returned only when the audit itself cannot run (a
// store read fails: IoError and the like; no log in the store: NotFound).
// Everything wrong with the log's data is a problem in the report.
//
// Thread-safety: the function may run beside a live writer only on a
// read-only Store opened after the last commit of interest (a snapshot is not
// taken across families). It is otherwise pure and reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"
#include "custos/store/store.h"

namespace custos::ledger {

inline constexpr size_t kMaxStoreAuditProblems = 1000;

enum class StoreAuditProblemKind : uint8_t {
  kTreeState,              // tree state or origin missing or undecodable
  kBundleMissing,          // an entry bundle the tree needs is absent
  kBundleFraming,          // a bundle's u16 lengths overrun, end early or leave trailing bytes
  kBundleExtra,            // a bundle (or malformed key) outside the tree
  kEntryDecode,            // decode_entry refused an entry
  kEntryIndex,             // an entry's index field is not its position
  kLeafHash,               // an entry's leaf hash differs from its level-0 tile hash
  kTileMissing,            // a tile the tree needs is absent
  kTileMalformed,          // a tile's size is not the width the tree needs
  kTileHash,               // a level-L hash differs from the root of the tile below
  kTileExtra,              // a tile (or malformed key) outside the tree
  kRoot,                   // the tree state's root differs from the recomputed root
  kCheckpointSignature,    // the note does not open with the log key
  kCheckpointBody,         // unparsable body, wrong origin or size, bad key
  kCheckpointRoot,         // the root differs from the recomputed root at its size
  kCheckpointConsistency,  // no valid consistency proof from the previous checkpoint
  kCheckpointLatest,       // "latest" missing or not the checkpoint of the tree state
  kUnverifiable,           // part of the tree could not be recomputed at all
};

std::string_view store_audit_problem_kind_name(StoreAuditProblemKind kind);

struct StoreAuditProblem {
  StoreAuditProblemKind kind = StoreAuditProblemKind::kTreeState;
  // The entry index (bundle, entry and leaf problems, kUnverifiable), the
  // tree size (root and checkpoint problems) or the tile index at
  // `tile_level` (tile problems).
  uint64_t position = 0;
  uint8_t tile_level = 0;  // tile problems only
  std::string
      message;  // one line, e.g. "entry 1234: leaf hash does not match tile 0/4 position 210"
};

struct StoreAuditReport {
  std::string origin;
  uint64_t tree_size = 0;  // from the stored tree state
  Hash256 root_hash;       // recomputed root at tree_size
  uint64_t entries_checked = 0;
  uint64_t bundles_checked = 0;
  uint64_t tiles_checked = 0;               // stored tiles read and compared
  uint64_t checkpoints_checked = 0;         // including "latest"
  std::vector<StoreAuditProblem> problems;  // in the order found, at most kMaxStoreAuditProblems
  uint64_t problems_omitted = 0;            // found beyond that cap

  bool ok() const { return problems.empty() && problems_omitted == 0; }
};

struct StoreAuditProgress {
  uint64_t entries_checked = 0;
  uint64_t tree_size = 0;
};

// Audits the log kept in `store` (see the contract above). `progress`, when
// not empty, is called on the calling thread about every million entries and
// once at the end of the entries.
Result<StoreAuditReport> audit_log_store(
    const store::Store& store, const NoteVerifier& log_key,
    const std::function<void(const StoreAuditProgress&)>& progress);

}  // namespace custos::ledger
