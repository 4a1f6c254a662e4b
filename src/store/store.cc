#include "custos/store/store.h"

#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <vector>

namespace custos::store {
namespace {

constexpr std::array<std::string_view, kFamilyCount> kFamilyNames = {
    "meta",       "entries",  "tiles",     "checkpoints", "indexes", "custody",
    "principals", "policies", "incidents", "vendors",     "intel",   "event_records",
};

constexpr uint64_t kMiB = 1024 * 1024;
// Store::write keeps its per-thread buffers up to this size.
constexpr size_t kMaxKeptBatchBytes = 8 * kMiB;

rocksdb::Slice to_slice(std::string_view text) { return rocksdb::Slice(text.data(), text.size()); }

// RocksDB reports a held LOCK file as "lock hold by current process" (same
// process) or "While lock file: <dir>/LOCK: ..." (another process).
bool is_lock_error(const rocksdb::Status& status) {
  if (!status.IsIOError()) return false;
  std::string text = status.ToString();
  return text.find("lock hold") != std::string::npos ||
         text.find("While lock file") != std::string::npos ||
         text.find("/LOCK") != std::string::npos;
}

Status from_rocksdb(const rocksdb::Status& status, std::string_view what) {
  std::string message = std::string(what) + ": " + status.ToString();
  if (status.IsNotFound()) return not_found(std::move(message));
  if (status.IsCorruption()) return data_loss(std::move(message));
  if (status.IsInvalidArgument()) return invalid_argument(std::move(message));
  if (status.IsNotSupported()) return failed_precondition(std::move(message));
  if (status.IsBusy() || status.IsTimedOut() || status.IsTryAgain()) {
    return unavailable(std::move(message));
  }
  return io_error(std::move(message));
}

// WriteBatch::append as a RocksDB merge: the value is the base (if any)
// followed by every operand in write order. All operands are joined in one
// pass (RocksDB's associative helper would copy the growing value once per
// operand: quadratic for a bundle built by hundreds of small commits).
class AppendOperator final : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "custos.append"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    join(in.existing_value, in.operand_list, out->new_value);
    return true;
  }

  bool PartialMergeMulti(const rocksdb::Slice& /*key*/,
                         const std::deque<rocksdb::Slice>& operands, std::string* new_value,
                         rocksdb::Logger* /*logger*/) const override {
    join(nullptr, operands, *new_value);
    return true;
  }

 private:
  // `out` = base (when given) followed by every operand, sized once.
  template <typename Operands>
  static void join(const rocksdb::Slice* base, const Operands& operands, std::string& out) {
    size_t total = base != nullptr ? base->size() : 0;
    for (const rocksdb::Slice& operand : operands) total += operand.size();
    out.clear();
    out.reserve(total);
    if (base != nullptr) out.append(base->data(), base->size());
    for (const rocksdb::Slice& operand : operands) out.append(operand.data(), operand.size());
  }
};

bool compression_supported(rocksdb::CompressionType type) {
  for (auto supported : rocksdb::GetSupportedCompressions()) {
    if (supported == type) return true;
  }
  return false;
}

// Column family tuning. The log appends in key order, overwrites only its
// right edge, and reads rarely and mostly recently written data, so the
// entries family gets a large memtable (fewer, bigger flushes). The indexes
// written at every capture (event records, indexes, custody) get large
// memtables too: every family flushes at once (atomic flush, for unlogged
// writes), and a flush of index keys spread over the whole key space is
// merged into everything below it by the next compaction, so fewer, larger
// flushes mean far less compaction. Hash tiles do not compress; the rest do.
rocksdb::ColumnFamilyOptions family_options(Family family, const StoreOptions& options,
                                            const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf;
  static const auto append_operator = std::make_shared<AppendOperator>();
  cf.merge_operator = append_operator;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Index and filter blocks live in the block cache (bounded memory) but are
  // partitioned: a lookup loads one small partition, not a whole SST's filter
  // (a full filter of a large SST is megabytes, and re-reading and
  // checksumming it on every get after it was evicted made point reads cost
  // milliseconds once the indexes outgrew the cache). The top-level index and
  // filter of each table stay pinned, and metadata blocks are cached with
  // high priority so data blocks evict them last.
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_size = 16 * 1024;
  table.format_version = 5;
  // Debian's RocksDB is built without SSE4.2, so its CRC32C runs the slow
  // table-driven kernel; XXH3 block checksums cost a fraction of that.
  table.checksum = rocksdb::kXXH3;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.level_compaction_dynamic_level_bytes = true;

  uint64_t write_buffer = std::max<uint64_t>(options.write_buffer_mb, 1) * kMiB;
  rocksdb::CompressionType compression = compression_supported(rocksdb::kLZ4Compression)
                                             ? rocksdb::kLZ4Compression
                                             : rocksdb::kNoCompression;
  switch (family) {
    case Family::kEntries:
      cf.write_buffer_size = write_buffer;
      cf.max_write_buffer_number = 3;
      cf.target_file_size_base = 64 * kMiB;
      cf.compression = compression;
      break;
    case Family::kTiles:
      cf.write_buffer_size = std::max<uint64_t>(write_buffer / 4, kMiB);
      cf.compression = rocksdb::kNoCompression;
      break;
    case Family::kEventRecords:
      // Keyed by log index, so written in key order like the entries: each
      // flushed file covers its own key range and compactions move it down
      // without rewriting it.
      cf.write_buffer_size = 2 * write_buffer;
      cf.target_file_size_base = 64 * kMiB;
      cf.compression = compression;
      break;
    default:
      cf.write_buffer_size = family == Family::kIndexes || family == Family::kCustody
                                 ? std::max<uint64_t>(write_buffer / 2, kMiB)
                                 : std::max<uint64_t>(write_buffer / 8, kMiB);
      cf.compression = compression;
      // Indexes and custody state are read by point lookups that mostly miss
      // (is this eventID new? does this object have a state yet?): a bloom
      // filter over the memtable's keys answers those without a skip-list search.
      cf.memtable_prefix_bloom_size_ratio = 0.05;
      cf.memtable_whole_key_filtering = true;
      // Their keys spread over the whole key space, so each compaction out of
      // L0 rewrites the level below: waiting for 8 flushed files rather than 4
      // halves that work (sustained capture +6 %); 12 made point reads cost more
      // than it saved.
      if (family == Family::kIndexes || family == Family::kCustody) {
        cf.level0_file_num_compaction_trigger = 8;
      }
      break;
  }
  return cf;
}

class RocksIterator final : public StoreIterator {
 public:
  explicit RocksIterator(std::unique_ptr<rocksdb::Iterator> it) : it_(std::move(it)) {}
  void seek_to_first() override { it_->SeekToFirst(); }
  void seek(std::string_view key) override { it_->Seek(to_slice(key)); }
  bool valid() const override { return it_->Valid(); }
  void next() override { it_->Next(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override {
    auto status = it_->status();
    return status.ok() ? Status::ok() : from_rocksdb(status, "store iterator");
  }

 private:
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

std::string_view family_name(Family family) {
  auto index = static_cast<size_t>(family);
  return index < kFamilyNames.size() ? kFamilyNames[index] : std::string_view("unknown");
}

// Records: op (u8), family (u8), key length (u32), key, [value length (u32), value].
struct WriteBatch::Rep {
  std::string records;
};

namespace {
constexpr uint8_t kOpPut = 1;
constexpr uint8_t kOpErase = 2;
constexpr uint8_t kOpAppend = 3;

void append_u32(std::string& out, uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}
uint32_t load_u32(const char* in) {
  uint32_t value;
  std::memcpy(&value, in, 4);
  return value;
}
}  // namespace

WriteBatch::WriteBatch() : rep_(std::make_unique<Rep>()) {}
WriteBatch::~WriteBatch() = default;
WriteBatch::WriteBatch(WriteBatch&&) noexcept = default;
WriteBatch& WriteBatch::operator=(WriteBatch&&) noexcept = default;

void WriteBatch::put(Family family, std::string_view key, ByteView value) {
  add_value(kOpPut, family, key, value);
}

void WriteBatch::append(Family family, std::string_view key, ByteView value) {
  add_value(kOpAppend, family, key, value);
}

void WriteBatch::add_value(uint8_t op, Family family, std::string_view key, ByteView value) {
  std::string& records = rep_->records;
  records.push_back(static_cast<char>(op));
  records.push_back(static_cast<char>(family));
  append_u32(records, static_cast<uint32_t>(key.size()));
  records.append(key);
  append_u32(records, static_cast<uint32_t>(value.size()));
  records.append(reinterpret_cast<const char*>(value.data()), value.size());
  ++operation_count_;
  payload_bytes_ += key.size() + value.size();
}

void WriteBatch::erase(Family family, std::string_view key) {
  std::string& records = rep_->records;
  records.push_back(static_cast<char>(kOpErase));
  records.push_back(static_cast<char>(family));
  append_u32(records, static_cast<uint32_t>(key.size()));
  records.append(key);
  ++operation_count_;
  payload_bytes_ += key.size();
}

void WriteBatch::clear() {
  rep_->records.clear();
  operation_count_ = 0;
  payload_bytes_ = 0;
}

namespace {

// The derived families (state rebuilt from the log by its owner: the EPCIS
// indexes, event records and custody state) live in a second RocksDB database
// in the subdirectory `derived` of the store, so that their writes (unlogged,
// a dozen keys per event) have their own write queue: in one database they
// waited behind every synced log commit (its WAL append and fdatasync), and
// each log commit behind their memtable inserts.
// A WriteBatch holds either derived families only or none of them.
constexpr std::string_view kDerivedDirectory = "derived";
bool is_derived_family(Family family) {
  return family == Family::kIndexes || family == Family::kCustody ||
         family == Family::kEventRecords;
}

// One open RocksDB database and its column families.
struct Database {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // every family opened, default first

  Database() = default;
  Database(Database&& other) noexcept = default;
  Database& operator=(Database&& other) noexcept {
    close();
    db = std::move(other.db);
    handles = std::move(other.handles);
    return *this;
  }
  ~Database() { close(); }
  void close() {
    if (!db) return;
    for (auto* handle : handles) {
      if (handle) db->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db->Close().PermitUncheckedError();
    db.reset();
    handles.clear();
  }
  rocksdb::ColumnFamilyHandle* find(std::string_view name) const {
    for (auto* handle : handles) {
      if (handle && handle->GetName() == name) return handle;
    }
    return nullptr;
  }
};

}  // namespace

struct Store::Impl {
  std::string path;
  bool read_only = false;
  std::shared_ptr<rocksdb::Cache> cache;
  // Declared before the databases: destroyed after them.
  Database log_db;      // every family but the derived ones (path)
  Database derived_db;  // the derived families (path/derived); unopened for a
                        // read-only open of a store written before the split
  // Indexed by Family: the database and handle holding it.
  std::array<rocksdb::DB*, kFamilyCount> dbs{};
  std::array<rocksdb::ColumnFamilyHandle*, kFamilyCount> families{};

  rocksdb::ColumnFamilyHandle* handle(Family family) const {
    return families[static_cast<size_t>(family)];
  }
  rocksdb::DB* db(Family family) const { return dbs[static_cast<size_t>(family)]; }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

namespace {

rocksdb::DBOptions database_options(const StoreOptions& options, uint64_t write_buffer_share) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // Writers waiting for the write group spin and yield for up to 100 µs by
  // default; on a few cores that burns the time the writer ahead needs.
  db_options.enable_write_thread_adaptive_yield = false;
  db_options.bytes_per_sync = kMiB;
  db_options.wal_bytes_per_sync = 0;  // synced explicitly by sync writes
  db_options.max_total_wal_size = 256 * kMiB;
  db_options.db_write_buffer_size =
      write_buffer_share * std::max<uint64_t>(options.write_buffer_mb, 1) * kMiB;
  // Unlogged writes (write_unlogged) are consistent across families only if
  // every family flushes at once.
  db_options.atomic_flush = true;
  db_options.keep_log_file_num = 4;
  db_options.max_log_file_size = 16 * kMiB;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  return db_options;
}

// Opens the database at `path` with `wanted` families (created when missing,
// unless read-only) plus every family already on disk (known ones with their
// tuning, unknown ones as they are).
Result<Database> open_database(const std::string& path, const rocksdb::DBOptions& db_options,
                               bool read_only, const std::vector<Family>& wanted,
                               const StoreOptions& options,
                               const std::shared_ptr<rocksdb::Cache>& cache) {
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (Family family : wanted) {
    descriptors.emplace_back(std::string(family_name(family)),
                             family_options(family, options, cache));
  }
  // RocksDB must open every family present on disk.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(db_options, path, &existing).ok()) {
    for (const auto& name : existing) {
      bool listed = false;
      for (const auto& descriptor : descriptors) listed = listed || descriptor.name == name;
      if (listed) continue;
      std::optional<Family> known;
      for (size_t i = 0; i < kFamilyCount; ++i) {
        if (family_name(static_cast<Family>(i)) == name) known = static_cast<Family>(i);
      }
      descriptors.emplace_back(name, known ? family_options(*known, options, cache)
                                           : rocksdb::ColumnFamilyOptions());
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  rocksdb::Status status;
  if (read_only) {
    status = rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles, &raw_db);
  } else {
    status = rocksdb::DB::Open(db_options, path, descriptors, &handles, &raw_db);
  }
  if (!status.ok()) {
    if (is_lock_error(status)) {
      return failed_precondition("store directory " + path +
                                 " is locked: another process (or another open store in this "
                                 "process) is using it; stop it first (" +
                                 status.ToString() + ")");
    }
    if (status.IsInvalidArgument() && !db_options.create_if_missing) {
      return not_found("no store in directory " + path + " (" + status.ToString() + ")");
    }
    return from_rocksdb(status, "opening store " + path);
  }
  Database database;
  database.db.reset(raw_db);
  database.handles = std::move(handles);
  return database;
}

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const std::string& path, const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->read_only = options.read_only;
  // Half the cache may hold index and filter blocks at high priority.
  impl->cache = rocksdb::NewLRUCache(std::max<uint64_t>(options.block_cache_mb, 1) * kMiB,
                                     /*num_shard_bits=*/-1, /*strict_capacity_limit=*/false,
                                     /*high_pri_pool_ratio=*/0.5);
  std::vector<Family> log_families;
  std::vector<Family> derived_families;
  for (size_t i = 0; i < kFamilyCount; ++i) {
    auto family = static_cast<Family>(i);
    (is_derived_family(family) ? derived_families : log_families).push_back(family);
  }
  // Each database gets half of the memtable budget (4 x write_buffer_mb).
  const rocksdb::DBOptions db_options = database_options(options, 2);
  CUSTOS_ASSIGN_OR_RETURN(impl->log_db, open_database(path, db_options, options.read_only,
                                                      log_families, options, impl->cache));
  const std::string derived_path = path + "/" + std::string(kDerivedDirectory);
  std::error_code error;
  const bool derived_exists = std::filesystem::exists(derived_path + "/CURRENT", error);
  // Stores written before the split keep the derived families in the log's
  // database. Read-only, those are read where they are; read-write, they are
  // dropped (the index is rebuilt from the log by its owner when it opens).
  const bool old_layout = !derived_exists && impl->log_db.find(family_name(Family::kIndexes));
  if (options.read_only && !derived_exists) {
    if (!old_layout) {
      return failed_precondition("store " + path +
                                 " has no derived families (indexes); open it read-write once");
    }
  } else {
    rocksdb::DBOptions derived_options = db_options;
    derived_options.create_if_missing = true;  // the log's database exists
    // Every family of this database flushes when event_records' memtable
    // fills (atomic flush): a larger one makes the index and custody files
    // larger and fewer, so fewer compactions rewrite the level below them
    // (sustained capture +3-8 %, peak RSS +25 MB in the capture benchmark).
    derived_options.db_write_buffer_size *= 2;
    CUSTOS_ASSIGN_OR_RETURN(impl->derived_db,
                            open_database(derived_path, derived_options, options.read_only,
                                          derived_families, options, impl->cache));
  }
  for (size_t i = 0; i < kFamilyCount; ++i) {
    auto family = static_cast<Family>(i);
    const Database& home =
        is_derived_family(family) && impl->derived_db.db ? impl->derived_db : impl->log_db;
    impl->dbs[i] = home.db.get();
    impl->families[i] = home.find(family_name(family));
    if (impl->families[i] == nullptr) {
      return internal_error("store " + path + " did not open family " +
                            std::string(family_name(family)));
    }
  }
  if (!options.read_only) {
    for (Family family : derived_families) {
      rocksdb::ColumnFamilyHandle* stale = impl->log_db.find(family_name(family));
      if (stale == nullptr) continue;
      auto dropped = impl->log_db.db->DropColumnFamily(stale);
      if (!dropped.ok()) return from_rocksdb(dropped, "dropping the old derived family");
    }
  }
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Status Store::write(WriteBatch& batch, bool sync) { return apply(batch, sync, /*logged=*/true); }

Status Store::write_unlogged(WriteBatch& batch) { return apply(batch, false, /*logged=*/false); }

Status Store::apply(WriteBatch& batch, bool sync, bool logged) {
  if (impl_->read_only) {
    return failed_precondition("store " + impl_->path + " is open read-only");
  }
  if (batch.empty()) return Status::ok();
  // The records go to RocksDB sorted by (family, key), stably so that
  // operations on one key keep their order (the last one still wins): a
  // memtable insert then starts from where the previous one ended instead of
  // searching the skip list from the top, which made memtable inserts the
  // largest cost of indexing (index keys arrive interleaved across indexes).
  struct Record {
    uint8_t op;
    uint8_t family;
    rocksdb::Slice key;
    rocksdb::Slice value;
  };
  const std::string& records = batch.rep_->records;
  // Reused per thread: a log commit's batch is hundreds of KiB, and a fresh
  // buffer of that size is mapped, faulted in page by page and unmapped at
  // every write.
  thread_local std::vector<Record> sorted;
  thread_local rocksdb::WriteBatch rocks_batch;
  sorted.clear();
  rocks_batch.Clear();
  sorted.reserve(batch.operation_count());
  size_t at = 0;
  while (at < records.size()) {
    Record record;
    record.op = static_cast<uint8_t>(records[at]);
    record.family = static_cast<uint8_t>(records[at + 1]);
    if (record.family >= kFamilyCount)
      return invalid_argument("write batch names an unknown family");
    uint32_t key_size = load_u32(records.data() + at + 2);
    record.key = rocksdb::Slice(records.data() + at + 6, key_size);
    at += 6 + key_size;
    if (record.op != kOpErase) {
      uint32_t value_size = load_u32(records.data() + at);
      record.value = rocksdb::Slice(records.data() + at + 4, value_size);
      at += 4 + value_size;
    }
    sorted.push_back(record);
  }
  std::stable_sort(sorted.begin(), sorted.end(), [](const Record& a, const Record& b) {
    if (a.family != b.family) return a.family < b.family;
    return a.key.compare(b.key) < 0;
  });
  // One database per batch: an atomic write cannot span the two.
  rocksdb::DB* target = impl_->dbs[sorted.front().family];
  for (const Record& record : sorted) {
    if (impl_->dbs[record.family] != target) {
      return invalid_argument(
          "a write batch mixes derived families (indexes, custody, event_records) with others; "
          "write them in separate batches");
    }
    auto* handle = impl_->families[record.family];
    rocksdb::Status status = record.op == kOpPut      ? rocks_batch.Put(handle, record.key, record.value)
                             : record.op == kOpAppend ? rocks_batch.Merge(handle, record.key, record.value)
                                                      : rocks_batch.Delete(handle, record.key);
    if (!status.ok()) return from_rocksdb(status, "building write batch");
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = sync;
  write_options.disableWAL = !logged;
  auto status = target->Write(write_options, &rocks_batch);
  if (rocks_batch.GetDataSize() > kMaxKeptBatchBytes) {
    rocks_batch = rocksdb::WriteBatch();  // do not keep a rare huge buffer for good
    sorted = std::vector<Record>();
  }
  if (!status.ok()) return from_rocksdb(status, "writing to store " + impl_->path);
  return Status::ok();
}

Result<std::optional<std::string>> Store::get(Family family, std::string_view key) const {
  std::string value;
  auto status = impl_->db(family)->Get(rocksdb::ReadOptions(), impl_->handle(family),
                                      to_slice(key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return from_rocksdb(status, "reading store");
  return std::optional<std::string>(std::move(value));
}

Result<std::vector<std::optional<std::string>>> Store::get_many(
    Family family, std::span<const std::string> keys) const {
  std::vector<std::optional<std::string>> values(keys.size());
  if (keys.empty()) return values;
  std::vector<rocksdb::Slice> slices;
  slices.reserve(keys.size());
  for (const std::string& key : keys) slices.push_back(to_slice(key));
  std::vector<rocksdb::PinnableSlice> found(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  impl_->db(family)->MultiGet(rocksdb::ReadOptions(), impl_->handle(family), keys.size(),
                              slices.data(), found.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return from_rocksdb(statuses[i], "reading store");
    values[i].emplace(found[i].data(), found[i].size());
  }
  return values;
}

std::unique_ptr<StoreIterator> Store::new_iterator(Family family) const {
  return std::make_unique<RocksIterator>(std::unique_ptr<rocksdb::Iterator>(
      impl_->db(family)->NewIterator(rocksdb::ReadOptions(), impl_->handle(family))));
}

Status Store::flush() {
  if (impl_->read_only) return Status::ok();
  rocksdb::FlushOptions flush_options;
  flush_options.wait = true;
  for (const Database* database : {&impl_->log_db, &impl_->derived_db}) {
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    for (size_t i = 0; i < kFamilyCount; ++i) {
      if (impl_->dbs[i] == database->db.get()) handles.push_back(impl_->families[i]);
    }
    if (handles.empty()) continue;
    auto status = database->db->Flush(flush_options, handles);
    if (!status.ok()) return from_rocksdb(status, "flushing store " + impl_->path);
  }
  return Status::ok();
}

bool Store::background_work_pending() const {
  static constexpr const char* kBacklog[] = {
      "rocksdb.num-running-flushes", "rocksdb.num-running-compactions",
      "rocksdb.mem-table-flush-pending", "rocksdb.compaction-pending"};
  for (size_t i = 0; i < kFamilyCount; ++i) {
    for (const char* property : kBacklog) {
      uint64_t value = 0;
      if (impl_->dbs[i]->GetIntProperty(impl_->families[i], property, &value) && value > 0) {
        return true;
      }
    }
  }
  return false;
}

std::string Store::statistics() const {
  std::string text;
  for (size_t i = 0; i < kFamilyCount; ++i) {
    std::string family;
    if (impl_->dbs[i]->GetProperty(impl_->families[i], "rocksdb.cfstats-no-file-histogram",
                                   &family)) {
      text += family;
    }
  }
  for (const Database* database : {&impl_->log_db, &impl_->derived_db}) {
    std::string db;
    if (database->db && database->db->GetProperty("rocksdb.dbstats", &db)) text += db;
  }
  return text;
}

const std::string& Store::path() const { return impl_->path; }
bool Store::read_only() const { return impl_->read_only; }

}  // namespace custos::store
