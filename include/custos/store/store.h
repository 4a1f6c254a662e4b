// custos store: the embedded key-value store under one data directory.
//
// A Store is RocksDB behind a narrow interface: named key spaces (Family),
// atomic multi-key write batches, point reads and ordered iteration. No
// other module includes RocksDB headers; key formats belong to the module
// that owns each family and are documented in docs/storage.md.
//
// Durability: Store::write with sync=true returns only after the batch is
// in the write-ahead log and the log has been synced to disk; a batch is
// applied atomically (all of it or none of it survives a crash).
//
// Ownership: Store::open returns the only handle to the open directory; one
// process at a time may open a directory (a second open, in this or another
// process, fails with FailedPrecondition). Iterators borrow the Store and
// must be destroyed before it.
//
// Thread-safety: every Store method is safe to call concurrently from any
// thread. A WriteBatch or StoreIterator is a plain object: use one from one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos::store {

// Key spaces, each one RocksDB column family created when the store opens.
enum class Family : uint8_t {
  kMeta,         // "meta": per-module state (e.g. the log's tree state)
  kEntries,      // "entries": log entry bundles
  kTiles,        // "tiles": Merkle hash tiles
  kCheckpoints,  // "checkpoints": signed checkpoint notes
  kIndexes,      // "indexes": secondary indexes for queries
  kCustody,      // "custody": current custody state
  kPrincipals,   // "principals": principals and keys
  kPolicies,     // "policies"
  kIncidents,    // "incidents": incidents and alerts
  kVendors,      // "vendors"
  kIntel,        // "intel": threat intelligence objects
  kEventRecords, // "event_records": per-event records of the indexes, keyed by log index
};
inline constexpr size_t kFamilyCount = 12;

// The column family name of `family` (stable: it is part of the on-disk format).
std::string_view family_name(Family family);

struct StoreOptions {
  // Create the directory and database when absent; otherwise a missing
  // database is NotFound.
  bool create_if_missing = true;
  // Open for reading only: writes fail with FailedPrecondition. Does not take
  // the directory lock, so it may run beside a writer (it sees the state at open).
  bool read_only = false;
  // Shared block cache for reads, MiB.
  uint64_t block_cache_mb = 64;
  // Memtable size of the log's busiest family (entries), MiB; event_records
  // uses twice this, the others less (docs/storage.md). All memtables
  // together stay under 6 x this, which bounds memory with block_cache_mb.
  uint64_t write_buffer_mb = 32;
};

// An atomic group of puts, appends and erases, applied by Store::write.
// Values are copied in, so the caller's buffers may be reused at once.
class WriteBatch {
 public:
  WriteBatch();
  ~WriteBatch();
  WriteBatch(WriteBatch&&) noexcept;
  WriteBatch& operator=(WriteBatch&&) noexcept;
  WriteBatch(const WriteBatch&) = delete;
  WriteBatch& operator=(const WriteBatch&) = delete;

  void put(Family family, std::string_view key, ByteView value);
  void put(Family family, std::string_view key, std::string_view value) {
    put(family, key, as_bytes(value));
  }
  // Appends `value` to what `key` holds (to nothing when it is absent): only
  // the new bytes go to the write-ahead log and the memtable, so a value
  // that grows a little at every write (the log's partial entry bundle) is
  // not rewritten whole each time. A later put or erase of the key replaces
  // the appended value; readers always see the whole, concatenated value.
  void append(Family family, std::string_view key, ByteView value);
  void append(Family family, std::string_view key, std::string_view value) {
    append(family, key, as_bytes(value));
  }
  void erase(Family family, std::string_view key);
  void clear();

  // Number of puts, appends and erases.
  size_t operation_count() const { return operation_count_; }
  // Bytes of keys and values held.
  size_t payload_bytes() const { return payload_bytes_; }
  bool empty() const { return operation_count_ == 0; }

 private:
  friend class Store;
  struct Rep;
  void add_value(uint8_t op, Family family, std::string_view key, ByteView value);
  std::unique_ptr<Rep> rep_;
  size_t operation_count_ = 0;
  size_t payload_bytes_ = 0;
};

// A forward cursor over one family in bytewise key order, reading a
// consistent snapshot taken when the iterator was created.
class StoreIterator {
 public:
  virtual ~StoreIterator() = default;
  virtual void seek_to_first() = 0;
  // Positions at the first key >= `key`.
  virtual void seek(std::string_view key) = 0;
  virtual bool valid() const = 0;
  // Precondition: valid().
  virtual void next() = 0;
  // Precondition: valid(). Views are invalidated by next(), seek*() and destruction.
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  // Not OK when iteration stopped because of an error rather than the end.
  virtual Status status() const = 0;
};

class Store {
 public:
  // Opens (or creates) the store in directory `path`, creating any missing
  // families. Fails with FailedPrecondition when the directory is locked by
  // another open Store, in this process or another.
  static Result<std::unique_ptr<Store>> open(const std::string& path, const StoreOptions& options);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Applies `batch` atomically. With sync, returns after the write-ahead log
  // is on disk. The batch is left unchanged (clear() it to reuse). The
  // derived families (indexes, custody, event_records) live in a database of
  // their own, so a batch touches either only them or only the others: a
  // batch mixing both is refused whole with InvalidArgument.
  Status write(WriteBatch& batch, bool sync);

  // Applies `batch` atomically without writing it to the write-ahead log:
  // for derived state that can be rebuilt (indexes with a replay mark in
  // the same batch). A clean close keeps it (the store flushes on close); a
  // crash loses it back to the last flush. Every family is flushed at once
  // (one atomic flush), so a crash loses the unlogged writes of all families
  // back to the same point: a batch is never half kept, and a replay mark
  // written with it never runs ahead of the data it covers. Logged writes
  // (write()) are never lost with them.
  Status write_unlogged(WriteBatch& batch);

  // The value under `key`, or nullopt when absent.
  Result<std::optional<std::string>> get(Family family, std::string_view key) const;
  // The values under `keys`, in their order (nullopt where absent): one
  // batched read (RocksDB's MultiGet), cheaper than a get() per key when a
  // caller needs many at once (a captured document's eventIDs, its objects).
  Result<std::vector<std::optional<std::string>>> get_many(Family family,
                                                           std::span<const std::string> keys) const;

  std::unique_ptr<StoreIterator> new_iterator(Family family) const;

  // Writes memtables to table files (e.g. before a backup or to bound recovery time).
  Status flush();

  // Whether flushes or compactions are running or due (e.g. a benchmark
  // waits for the backlog of a bulk load before measuring reads).
  bool background_work_pending() const;

  // RocksDB's own report for every family (sizes per level, bytes written by
  // flushes and compactions, stalls), for operators and benchmarks.
  std::string statistics() const;

  const std::string& path() const;
  bool read_only() const;

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  Status apply(WriteBatch& batch, bool sync, bool logged);
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos::store
