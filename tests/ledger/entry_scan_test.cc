// scan_entries: ranges across bundle boundaries, the kind filter, the
// visitor's errors and the DataLoss cases of a damaged bundle.
#include "custos/ledger/entry_scan.h"

#include <vector>

#include "custos/ledger/tile_reader.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

class EntryScanTest : public LogFixture {
 protected:
  void SetUp() override {
    LogFixture::SetUp();
    open_log();
    append_many_async(0, kEntries).wait();
    ASSERT_EQ(log_->tree_size(), kEntries);
  }

  // The indexes scan_entries visits, checking each entry against what was logged.
  Result<std::vector<uint64_t>> visited(uint64_t from, uint64_t to, std::optional<EntryKind> kind) {
    std::vector<uint64_t> indexes;
    auto scanned = scan_entries(
        *log_, from, to, kind, [&](const LogEntry& entry, ByteView entry_bytes) -> Status {
          AppendRequest request = request_for(entry.index);
          EXPECT_EQ(entry.kind, request.kind);
          EXPECT_EQ(entry.payload, request.payload);
          EXPECT_EQ(Bytes(entry_bytes.begin(), entry_bytes.end()), encode_entry(entry));
          indexes.push_back(entry.index);
          return Status::ok();
        });
    if (!scanned.is_ok()) return scanned.status();
    EXPECT_EQ(*scanned, to - from);
    return indexes;
  }

  // Rewrites entry bundle `bundle` in the store.
  void put_bundle(uint64_t bundle, std::string_view bytes) {
    Bytes key;
    append_u64_be(key, bundle);
    store::WriteBatch batch;
    batch.put(store::Family::kEntries, as_text(key), bytes);
    ASSERT_TRUE(store_->write(batch, /*sync=*/true).is_ok());
  }
  std::string get_bundle(uint64_t bundle) {
    Bytes key;
    append_u64_be(key, bundle);
    auto value = store_->get(store::Family::kEntries, as_text(key));
    EXPECT_TRUE(value.is_ok() && value->has_value());
    return value.is_ok() && value->has_value() ? **value : std::string();
  }

  static constexpr uint64_t kEntries = 600;  // two full bundles and a partial one
};

TEST_F(EntryScanTest, VisitsEveryEntryInOrderAcrossBundles) {
  auto indexes = visited(0, kEntries, std::nullopt);
  ASSERT_TRUE(indexes.is_ok()) << indexes.status().to_string();
  ASSERT_EQ(indexes->size(), kEntries);
  for (uint64_t i = 0; i < kEntries; ++i) EXPECT_EQ((*indexes)[i], i);
}

TEST_F(EntryScanTest, UnalignedRangeAndKindFilter) {
  auto indexes = visited(300, 530, EntryKind::kControlChange);
  ASSERT_TRUE(indexes.is_ok()) << indexes.status().to_string();
  std::vector<uint64_t> expected;
  for (uint64_t i = 300; i < 530; ++i) {
    if (request_for(i).kind == EntryKind::kControlChange) expected.push_back(i);
  }
  EXPECT_EQ(*indexes, expected);
}

TEST_F(EntryScanTest, EmptyAndInvalidRanges) {
  auto empty = visited(kEntries, kEntries, std::nullopt);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
  auto never = [](const LogEntry&, ByteView) { return Status::ok(); };
  EXPECT_EQ(scan_entries(*log_, 5, 4, std::nullopt, never).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(scan_entries(*log_, 0, kEntries + 1, std::nullopt, never).status().code(),
            StatusCode::kOutOfRange);
}

TEST_F(EntryScanTest, VisitorErrorStopsTheScan) {
  uint64_t calls = 0;
  auto scanned = scan_entries(*log_, 0, kEntries, std::nullopt,
                              [&](const LogEntry& entry, ByteView) -> Status {
                                ++calls;
                                if (entry.index == 260) return internal_error("stop here");
                                return Status::ok();
                              });
  EXPECT_EQ(scanned.status().code(), StatusCode::kInternal);
  EXPECT_EQ(calls, 261u);
}

TEST_F(EntryScanTest, WrongIndexInAMatchingEntryIsDataLoss) {
  // Entry 2 is a control change: its index field (bytes 2..9) now says 3.
  std::string bundle = get_bundle(0);
  size_t at = 0;
  for (int i = 0; i < 2; ++i) at += 2 + read_u16_be(reinterpret_cast<const uint8_t*>(&bundle[at]));
  ASSERT_EQ(static_cast<uint8_t>(bundle[at + 2 + 1]),
            static_cast<uint8_t>(EntryKind::kControlChange));
  bundle[at + 2 + 9] = 3;
  put_bundle(0, bundle);
  auto never = [](const LogEntry&, ByteView) { return Status::ok(); };
  auto scanned = scan_entries(*log_, 0, 10, EntryKind::kControlChange, never);
  EXPECT_EQ(scanned.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(scanned.status().to_string().find("log entry 2"), std::string::npos);
  // A filter that skips the entry never decodes it.
  EXPECT_TRUE(scan_entries(*log_, 0, 10, EntryKind::kAlert, never).is_ok());
}

TEST_F(EntryScanTest, TruncatedBundleIsDataLoss) {
  std::string bundle = get_bundle(1);
  put_bundle(1, bundle.substr(0, bundle.size() / 2));
  auto never = [](const LogEntry&, ByteView) { return Status::ok(); };
  EXPECT_EQ(scan_entries(*log_, 0, kEntries, std::nullopt, never).status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace custos::ledger::testing
