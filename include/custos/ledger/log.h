// custos ledger: the transparency log's write side and its tile-based reads.
//
// A Log sequences entries into an RFC 9162 Merkle tree and keeps it in the
// Store exactly as C2SP tlog-tiles lays it out: entry bundles of 256 entries
// (Family::kEntries), hash tiles of height 8 (Family::kTiles), signed
// checkpoints (Family::kCheckpoints) and the tree state needed to resume
// (Family::kMeta). docs/storage.md documents every key.
//
// Group commit: one sequencer thread takes everything queued (up to
// max_batch_entries), assigns consecutive indexes, encodes the entries,
// updates the tree's right edge in memory (O(batch) hashing, never a rehash
// of the log), signs a checkpoint for the new size and writes it all in ONE
// synced store write. Only after that write returns are the batch's
// callbacks run, so every acknowledged entry is durable and covered by the
// checkpoint in its receipt. While a batch is being written, new appends
// queue up and form the next batch.
//
// Failures: a request that cannot be encoded fails at once with
// InvalidArgument; beyond max_pending_entries accepted-but-unfinished
// entries, append_async fails with ResourceExhausted. If signing fails, the
// batch fails, nothing is written and the in-memory tree is rolled back. If
// the store write fails, the batch fails and the log turns read-only: every
// later append fails with FailedPrecondition naming the original error
// (reopen the log to resume from the last synced batch, which is the truth).
//
// Thread-safety: all methods are safe to call concurrently. Reads see only
// committed (synced) state and run concurrently with appends. Callbacks run
// on the sequencer thread: they must be quick and must not call append()
// (the blocking form), which would deadlock.
//
// Ownership: the Log borrows the Store and the Clock, which must outlive it.
// One Log per store (the sequencer is the only writer of the log families).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/ledger/entry.h"
#include "custos/store/store.h"

namespace custos::ledger {

namespace log_internal {
class TreeEdge;
}

// What one group commit did, for metrics and benchmarks.
struct BatchStats {
  uint64_t entries = 0;        // entries committed by the batch
  uint64_t tree_size = 0;      // tree size after the batch
  uint64_t write_bytes = 0;    // bytes in the synced write batch
  int64_t commit_micros = 0;   // hashing + signing + synced write, wall time
};

struct LogOptions {
  // The checkpoint origin line, e.g. "example.com/custos/log1". Stored at the
  // first open; a later open with another origin is refused.
  std::string origin;
  // Signs a checkpoint body and returns the whole signed note (the body,
  // then the blank line and signature lines). Called on the sequencer thread.
  std::function<Result<std::string>(std::string_view checkpoint_body)> sign_checkpoint;
  // Assigns receive times. Required.
  const Clock* clock = nullptr;
  // Most entries in one group commit.
  uint64_t max_batch_entries = 65536;
  // Most entries accepted but not yet completed (queued or being committed).
  uint64_t max_pending_entries = 1 << 20;
  // Called on the sequencer thread after each committed batch, before its
  // callbacks run. Optional; must be quick.
  std::function<void(const BatchStats&)> on_batch;
};

struct AppendRequest {
  EntryKind kind = EntryKind::kRawPayload;
  std::string principal;
  Bytes request_signature;
  Bytes payload;
};

struct AppendReceipt {
  uint64_t index = 0;
  Hash256 leaf_hash;
  // The signed checkpoint of the batch that committed the entry.
  std::string checkpoint;
  uint64_t tree_size = 0;  // the checkpoint's size (> index)
  UnixMicros receive_time = 0;  // assigned by the log; part of the entry bytes
};

using AppendCallback = std::function<void(Result<AppendReceipt>)>;
// The receipts of a group, in request order, or the error that failed it whole.
using GroupCallback = std::function<void(Result<std::vector<AppendReceipt>>)>;

class Log {
 public:
  // Opens the log kept in `store`, resuming from its stored tree state (or
  // starting an empty log, with a signed checkpoint of size 0). Checks that
  // the stored right edge of the tree hashes to the stored root (DataLoss if not).
  static Result<std::unique_ptr<Log>> open(store::Store& store, LogOptions options);

  // Drains the queue (close()).
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  // Queues an entry; `done` runs exactly once, with the receipt after the
  // entry's batch is synced, or with the error. Never blocks on I/O.
  void append_async(AppendRequest request, AppendCallback done);
  // Queues an entry and waits for its receipt. Not from inside a callback.
  Result<AppendReceipt> append(AppendRequest request);
  // Queues entries that commit together: all in the same group commit (one
  // synced write, consecutive indexes, one checkpoint) or none. A group is
  // never split across batches, even beyond max_batch_entries. An empty
  // group, an entry that cannot be encoded or a group larger than
  // max_pending_entries fails at once with InvalidArgument, queueing nothing.
  // `done` runs exactly once, on the sequencer thread (or at once on refusal).
  void append_group_async(std::vector<AppendRequest> requests, GroupCallback done);

  // Stops taking appends (they fail with Unavailable), commits everything
  // already queued and stops the sequencer. Idempotent. Reads keep working.
  // Called from a callback it only stops intake (the destructor then waits).
  void close();

  // Not OK once a store write has failed (the log is then read-only).
  Status health() const;

  // Committed tree size (every entry below it is synced).
  uint64_t tree_size() const { return committed_size_.load(std::memory_order_acquire); }
  // The signed checkpoint of the committed tree.
  std::string latest_checkpoint() const;
  // The signed checkpoint stored for exactly `tree_size` (one per commit); NotFound otherwise.
  Result<std::string> checkpoint_at(uint64_t tree_size) const;

  // The encoded entry at `index` (decode with decode_entry); OutOfRange
  // when index >= tree_size().
  Result<Bytes> entry(uint64_t index) const;
  // Tile `index` at `level` holding its first `width` hashes (1..256),
  // as served at tile/<L>/<N>[.p/<W>]. NotFound when the committed tree does
  // not have that many hashes in the tile.
  Result<Bytes> read_tile(uint8_t level, uint64_t index, uint32_t width) const;
  // Entry bundle `index` with its first `width` entries (1..256), as served
  // at tile/entries/<N>[.p/<W>]. NotFound like read_tile.
  Result<Bytes> read_entry_bundle(uint64_t index, uint32_t width) const;

  // RFC 9162 root of the first `tree_size` entries; OutOfRange beyond the committed size.
  Result<Hash256> root_at(uint64_t tree_size) const;
  // RFC 9162 inclusion proof (PATH) of entry `index` in the tree of
  // `tree_size` leaves, leaf to root order. OutOfRange when tree_size exceeds
  // the committed size or index >= tree_size.
  Result<std::vector<Hash256>> inclusion_proof(uint64_t index, uint64_t tree_size) const;
  // The proofs of several entries in one tree, sharing the tiles they read
  // (a capture's receipts: consecutive entries need mostly the same tiles).
  // Same answers and errors as inclusion_proof for each index, in order.
  Result<std::vector<std::vector<Hash256>>> inclusion_proofs(std::span<const uint64_t> indexes,
                                                             uint64_t tree_size) const;
  // RFC 9162 consistency proof (PROOF) between sizes size1 <= size2; empty
  // when size1 is 0 or equal to size2. InvalidArgument when size1 > size2,
  // OutOfRange when size2 exceeds the committed size.
  Result<std::vector<Hash256>> consistency_proof(uint64_t size1, uint64_t size2) const;

 private:
  struct Pending {
    AppendRequest request;
    UnixMicros receive_time;
    AppendCallback done;
    uint64_t group_left = 1;  // entries of its group from this one on (1: last or alone)
  };

  Log(store::Store& store, LogOptions options);
  Status load();
  // Why `entries` more appends cannot be queued now (OK when they can).
  // Requires queue_mutex_.
  Status admission_locked(uint64_t entries) const;
  void run_sequencer();
  void commit_batch(std::vector<Pending>& batch);
  void finish_batch(std::vector<Pending>& batch, const Status& error);

  store::Store& store_;
  LogOptions options_;

  // Sequencer-owned: the right edge of the tree at the committed size.
  std::unique_ptr<log_internal::TreeEdge> edge_;
  std::vector<Hash256> batch_leaf_hashes_;
  store::WriteBatch write_batch_;

  std::atomic<uint64_t> committed_size_{0};
  mutable std::mutex checkpoint_mutex_;
  std::string latest_checkpoint_;

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<Pending> queue_;
  uint64_t pending_entries_ = 0;  // queued + being committed
  bool closing_ = false;
  Status failure_;          // set once a store write failed
  std::mutex close_mutex_;  // serialises close()
  std::thread sequencer_;
};

}  // namespace custos::ledger
