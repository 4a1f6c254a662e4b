#include "custos/store/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace custos::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<Store> open_store(StoreOptions options = {}) {
    options.block_cache_mb = 8;
    options.write_buffer_mb = 4;
    auto store = Store::open(dir_.string(), options);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<Store> open_read_only() {
    StoreOptions options;
    options.read_only = true;
    return open_store(options);
  }

  std::filesystem::path dir_;
};

std::string get_or_die(const Store& store, Family family, std::string_view key) {
  auto value = store.get(family, key);
  EXPECT_TRUE(value.is_ok()) << value.status().to_string();
  if (!value.is_ok() || !value->has_value()) return "<absent>";
  return **value;
}

TEST_F(StoreTest, FamilyNamesAreStableAndDistinct) {
  EXPECT_EQ(family_name(Family::kMeta), "meta");
  EXPECT_EQ(family_name(Family::kEntries), "entries");
  EXPECT_EQ(family_name(Family::kTiles), "tiles");
  EXPECT_EQ(family_name(Family::kCheckpoints), "checkpoints");
  EXPECT_EQ(family_name(Family::kIntel), "intel");
  EXPECT_EQ(family_name(Family::kEventRecords), "event_records");
  for (size_t i = 0; i < kFamilyCount; ++i) {
    for (size_t j = i + 1; j < kFamilyCount; ++j) {
      EXPECT_NE(family_name(static_cast<Family>(i)), family_name(static_cast<Family>(j)));
    }
  }
}

TEST_F(StoreTest, WriteThenGet) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  EXPECT_TRUE(batch.empty());
  batch.put(Family::kMeta, "a", std::string_view("one"));
  batch.put(Family::kMeta, "b", to_bytes("two"));
  EXPECT_EQ(batch.operation_count(), 2u);
  EXPECT_EQ(batch.payload_bytes(), 8u);
  ASSERT_TRUE(store->write(batch, /*sync=*/true).is_ok());
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "a"), "one");
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "b"), "two");
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "c"), "<absent>");
}

TEST_F(StoreTest, EraseAndOverwrite) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.put(Family::kTiles, "k", std::string_view("v1"));
  batch.put(Family::kTiles, "gone", std::string_view("x"));
  ASSERT_TRUE(store->write(batch, false).is_ok());
  batch.clear();
  EXPECT_TRUE(batch.empty());
  batch.put(Family::kTiles, "k", std::string_view("v2"));
  batch.erase(Family::kTiles, "gone");
  ASSERT_TRUE(store->write(batch, true).is_ok());
  EXPECT_EQ(get_or_die(*store, Family::kTiles, "k"), "v2");
  EXPECT_EQ(get_or_die(*store, Family::kTiles, "gone"), "<absent>");
}

// get_many answers in the order asked, absent keys as nullopt, a repeated
// key twice, from memtables, flushed files, merges and the derived database.
TEST_F(StoreTest, GetManyAnswersEachKeyInOrderWherever) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.put(Family::kIndexes, "flushed", std::string_view("f"));
  batch.put(Family::kIndexes, "erased", std::string_view("x"));
  ASSERT_TRUE(store->write_unlogged(batch).is_ok());
  ASSERT_TRUE(store->flush().is_ok());
  batch.clear();
  batch.put(Family::kIndexes, "fresh", std::string_view("n"));
  batch.erase(Family::kIndexes, "erased");
  ASSERT_TRUE(store->write_unlogged(batch).is_ok());
  batch.clear();
  batch.append(Family::kEntries, "joined", to_bytes("ab"));
  ASSERT_TRUE(store->write(batch, false).is_ok());
  batch.clear();
  batch.append(Family::kEntries, "joined", to_bytes("cd"));
  ASSERT_TRUE(store->write(batch, false).is_ok());

  const std::vector<std::string> keys = {"fresh", "missing", "flushed", "erased", "fresh"};
  auto values = store->get_many(Family::kIndexes, keys);
  ASSERT_TRUE(values.is_ok()) << values.status().to_string();
  ASSERT_EQ(values->size(), keys.size());
  EXPECT_EQ((*values)[0], std::optional<std::string>("n"));
  EXPECT_EQ((*values)[1], std::nullopt);
  EXPECT_EQ((*values)[2], std::optional<std::string>("f"));
  EXPECT_EQ((*values)[3], std::nullopt);
  EXPECT_EQ((*values)[4], std::optional<std::string>("n"));
  // The indexes' keys are not in the log's database, and the other way round.
  auto entries = store->get_many(Family::kEntries, std::vector<std::string>{"joined", "fresh"});
  ASSERT_TRUE(entries.is_ok());
  EXPECT_EQ((*entries)[0], std::optional<std::string>("abcd"));
  EXPECT_EQ((*entries)[1], std::nullopt);
  auto none = store->get_many(Family::kMeta, {});
  ASSERT_TRUE(none.is_ok());
  EXPECT_TRUE(none->empty());
}

// Store::write hands RocksDB the batch sorted by key: operations on one key
// must still apply in the order they were added, whatever the keys around them.
TEST_F(StoreTest, OperationsOnOneKeyKeepTheirOrderInASortedBatch) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.put(Family::kIndexes, "z", std::string_view("first"));
  batch.put(Family::kIndexes, "put-then-erase", std::string_view("x"));
  batch.put(Family::kCustody, "m", std::string_view("other family"));
  batch.erase(Family::kIndexes, "erase-then-put");
  batch.put(Family::kIndexes, "a", std::string_view("1"));
  batch.put(Family::kIndexes, "z", std::string_view("second"));
  batch.erase(Family::kIndexes, "put-then-erase");
  batch.put(Family::kIndexes, "erase-then-put", std::string_view("back"));
  batch.put(Family::kIndexes, "a", std::string_view("2"));
  batch.put(Family::kIndexes, "z", std::string_view("third"));
  ASSERT_TRUE(store->write(batch, /*sync=*/false).is_ok());
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "z"), "third");
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "a"), "2");
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "put-then-erase"), "<absent>");
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "erase-then-put"), "back");
  EXPECT_EQ(get_or_die(*store, Family::kCustody, "m"), "other family");
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "m"), "<absent>");
}

TEST_F(StoreTest, AppendsJoinInWriteOrderAcrossFlushesAndReopens) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.append(Family::kEntries, "grown", std::string_view("ab"));  // absent: starts it
    batch.put(Family::kEntries, "replaced", std::string_view("old"));
    batch.append(Family::kEntries, "replaced", std::string_view("+1"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "grown"), "ab");
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "replaced"), "old+1");
    ASSERT_TRUE(store->flush().is_ok());  // the base now lives in a table file

    batch.clear();
    batch.append(Family::kEntries, "grown", std::string_view("cd"));
    batch.append(Family::kEntries, "grown", std::string_view("ef"));
    batch.put(Family::kEntries, "replaced", std::string_view("new"));  // a put wins over appends
    batch.append(Family::kEntries, "erased", std::string_view("x"));
    batch.erase(Family::kEntries, "erased");
    batch.append(Family::kEntries, "after-erase", std::string_view("gone"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
    batch.clear();
    batch.erase(Family::kEntries, "after-erase");
    batch.append(Family::kEntries, "after-erase", std::string_view("fresh"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "grown"), "abcdef");
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "replaced"), "new");
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "erased"), "<absent>");
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "after-erase"), "fresh");
    auto it = store->new_iterator(Family::kEntries);
    it->seek("grown");
    ASSERT_TRUE(it->valid());
    EXPECT_EQ(it->value(), "abcdef");
  }
  {
    // Recovered from the write-ahead log, then flushed (the merge runs in the flush).
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(get_or_die(*store, Family::kEntries, "grown"), "abcdef");
    WriteBatch batch;
    batch.append(Family::kEntries, "grown", std::string_view("gh"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
    ASSERT_TRUE(store->flush().is_ok());
  }
  auto store = open_read_only();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(get_or_die(*store, Family::kEntries, "grown"), "abcdefgh");
  EXPECT_EQ(get_or_die(*store, Family::kEntries, "replaced"), "new");
}

TEST_F(StoreTest, BinaryKeysAndValues) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  std::string key("\x00\x01\xff\x00", 4);
  Bytes value = {0, 0, 255, 0, 7};
  WriteBatch batch;
  batch.put(Family::kEntries, key, value);
  ASSERT_TRUE(store->write(batch, true).is_ok());
  auto got = store->get(Family::kEntries, key);
  ASSERT_TRUE(got.is_ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ(to_bytes(**got), value);
}

// State rebuilt from the log, kept in a database of its own (docs/storage.md).
bool is_derived_family(Family family) {
  return family == Family::kIndexes || family == Family::kCustody ||
         family == Family::kEventRecords;
}

TEST_F(StoreTest, FamiliesAreIsolated) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  // The derived families (their own database) are written apart from the others.
  WriteBatch batch;
  WriteBatch derived;
  for (size_t i = 0; i < kFamilyCount; ++i) {
    auto family = static_cast<Family>(i);
    (is_derived_family(family) ? derived : batch)
        .put(family, "same-key", std::string(family_name(family)));
  }
  batch.put(Family::kVendors, "only-vendors", std::string_view("v"));
  ASSERT_TRUE(store->write(batch, true).is_ok());
  ASSERT_TRUE(store->write(derived, true).is_ok());
  for (size_t i = 0; i < kFamilyCount; ++i) {
    auto family = static_cast<Family>(i);
    EXPECT_EQ(get_or_die(*store, family, "same-key"), family_name(family));
    if (family != Family::kVendors) {
      EXPECT_EQ(get_or_die(*store, family, "only-vendors"), "<absent>");
    }
  }
  // Erasing in one family leaves the others.
  batch.clear();
  batch.erase(Family::kPolicies, "same-key");
  ASSERT_TRUE(store->write(batch, true).is_ok());
  EXPECT_EQ(get_or_die(*store, Family::kPolicies, "same-key"), "<absent>");
  EXPECT_EQ(get_or_die(*store, Family::kIncidents, "same-key"), "incidents");
}

TEST_F(StoreTest, ABatchMixingDerivedAndOtherFamiliesIsRefusedWhole) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.put(Family::kMeta, "m", std::string_view("log side"));
  batch.put(Family::kIndexes, "i", std::string_view("derived side"));
  EXPECT_EQ(store->write(batch, true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->write_unlogged(batch).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "m"), "<absent>");
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "i"), "<absent>");
}

// Builds before the derived database kept every family in one database.
TEST_F(StoreTest, AStoreOfTheOneDatabaseLayoutIsReadInPlaceThenItsDerivedFamiliesAreDropped) {
  {
    rocksdb::DBOptions options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    // Every family in the one database, in Family order after the default.
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {{rocksdb::kDefaultColumnFamilyName, {}}};
    for (size_t i = 0; i < kFamilyCount; ++i) {
      families.emplace_back(std::string(family_name(static_cast<Family>(i))),
                            rocksdb::ColumnFamilyOptions());
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), families, &handles, &db).ok());
    auto handle = [&](Family family) { return handles[1 + static_cast<size_t>(family)]; };
    ASSERT_TRUE(db->Put({}, handle(Family::kMeta), "m", "kept").ok());
    ASSERT_TRUE(db->Put({}, handle(Family::kIndexes), "i", "old index").ok());
    for (auto* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    ASSERT_TRUE(db->Close().ok());
    delete db;
  }
  {
    auto reader = open_read_only();
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(get_or_die(*reader, Family::kIndexes, "i"), "old index");
    EXPECT_EQ(get_or_die(*reader, Family::kMeta, "m"), "kept");
  }
  {
    // Read-write: the old derived families are dropped (their owner rebuilds
    // them from the log) and the derived database takes their place.
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(get_or_die(*store, Family::kIndexes, "i"), "<absent>");
    EXPECT_EQ(get_or_die(*store, Family::kMeta, "m"), "kept");
    WriteBatch batch;
    batch.put(Family::kIndexes, "i", std::string_view("new index"));
    ASSERT_TRUE(store->write_unlogged(batch).is_ok());
  }
  EXPECT_TRUE(std::filesystem::exists(dir_ / "derived" / "CURRENT"));
  auto reader = open_read_only();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(get_or_die(*reader, Family::kIndexes, "i"), "new index");
  EXPECT_EQ(get_or_die(*reader, Family::kMeta, "m"), "kept");
}

TEST_F(StoreTest, ReopenPersists) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.put(Family::kCheckpoints, "latest", std::string_view("note"));
    batch.put(Family::kPrincipals, "p1", std::string_view("key"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
  }
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(get_or_die(*store, Family::kCheckpoints, "latest"), "note");
    EXPECT_EQ(get_or_die(*store, Family::kPrincipals, "p1"), "key");
    // Survives a flush to table files and another reopen as well.
    ASSERT_TRUE(store->flush().is_ok());
  }
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(get_or_die(*store, Family::kCheckpoints, "latest"), "note");
}

TEST_F(StoreTest, UnloggedWritesAreReadAtOnceAndKeptByACleanClose) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.put(Family::kIndexes, "i", std::string_view("derived"));
    batch.put(Family::kCustody, "c", std::string_view("state"));
    ASSERT_TRUE(store->write_unlogged(batch).is_ok());
    EXPECT_EQ(get_or_die(*store, Family::kIndexes, "i"), "derived");
    WriteBatch erase;
    erase.erase(Family::kCustody, "c");
    ASSERT_TRUE(store->write_unlogged(erase).is_ok());
    EXPECT_EQ(get_or_die(*store, Family::kCustody, "c"), "<absent>");
  }
  // Closing flushes what was never logged.
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(get_or_die(*store, Family::kIndexes, "i"), "derived");
  EXPECT_EQ(get_or_die(*store, Family::kCustody, "c"), "<absent>");
  // Read-only stores refuse them like logged writes.
  store.reset();
  auto reader = open_read_only();
  ASSERT_NE(reader, nullptr);
  WriteBatch batch;
  batch.put(Family::kIndexes, "i", std::string_view("other"));
  EXPECT_EQ(reader->write_unlogged(batch).code(), StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, IteratorWalksOneFamilyInKeyOrder) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  std::vector<std::string> keys = {"b", "a", "c2", "c10", std::string("\x00", 1), "\xff"};
  for (const auto& key : keys) batch.put(Family::kIndexes, key, std::string("v").append(key));
  batch.put(Family::kCustody, "a0", std::string_view("other family"));
  ASSERT_TRUE(store->write(batch, true).is_ok());

  auto it = store->new_iterator(Family::kIndexes);
  std::vector<std::string> seen;
  for (it->seek_to_first(); it->valid(); it->next()) {
    seen.emplace_back(it->key());
    EXPECT_EQ(it->value(), std::string("v").append(it->key()));
  }
  EXPECT_TRUE(it->status().is_ok());
  std::vector<std::string> expected = {std::string("\x00", 1), "a", "b", "c10", "c2", "\xff"};
  EXPECT_EQ(seen, expected);

  it->seek("b");
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(it->key(), "b");
  it->seek("c");
  ASSERT_TRUE(it->valid());
  EXPECT_EQ(it->key(), "c10");
  it->seek("\xff\xff");
  EXPECT_FALSE(it->valid());
}

TEST_F(StoreTest, IteratorSeesSnapshotAtCreation) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  batch.put(Family::kIntel, "1", std::string_view("x"));
  ASSERT_TRUE(store->write(batch, true).is_ok());
  auto it = store->new_iterator(Family::kIntel);
  batch.clear();
  batch.put(Family::kIntel, "2", std::string_view("y"));
  ASSERT_TRUE(store->write(batch, true).is_ok());
  size_t count = 0;
  for (it->seek_to_first(); it->valid(); it->next()) ++count;
  EXPECT_EQ(count, 1u);
}

TEST_F(StoreTest, SecondOpenOfLockedDirectoryFails) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  auto second = Store::open(dir_.string(), StoreOptions{});
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("locked"), std::string::npos)
      << second.status().message();
  // Once the first closes, the directory opens again.
  store.reset();
  EXPECT_NE(open_store(), nullptr);
}

TEST_F(StoreTest, MissingStoreWithoutCreateIsRefused) {
  StoreOptions options;
  options.create_if_missing = false;
  auto store = Store::open(dir_.string(), options);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound) << store.status().to_string();
}

TEST_F(StoreTest, ReadOnlyStoreRefusesWrites) {
  {
    auto store = open_store();
    ASSERT_NE(store, nullptr);
    WriteBatch batch;
    batch.put(Family::kMeta, "k", std::string_view("v"));
    ASSERT_TRUE(store->write(batch, true).is_ok());
  }
  auto store = open_read_only();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->read_only());
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "k"), "v");
  WriteBatch batch;
  batch.put(Family::kMeta, "k", std::string_view("w"));
  auto status = store->write(batch, true);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(get_or_die(*store, Family::kMeta, "k"), "v");
}

TEST_F(StoreTest, LargeBatchIsAtomicAndReadable) {
  auto store = open_store();
  ASSERT_NE(store, nullptr);
  WriteBatch batch;
  Bytes value(70000, 0xab);
  for (int i = 0; i < 200; ++i) batch.put(Family::kEntries, std::to_string(1000 + i), value);
  ASSERT_TRUE(store->write(batch, true).is_ok());
  auto it = store->new_iterator(Family::kEntries);
  size_t count = 0;
  for (it->seek_to_first(); it->valid(); it->next()) {
    EXPECT_EQ(it->value().size(), value.size());
    ++count;
  }
  EXPECT_EQ(count, 200u);
}

}  // namespace
}  // namespace custos::store
