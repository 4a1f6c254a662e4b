// EventIndex: queries over the indexes, paging, current custody state,
// catching up with the log after a restart, and refusals. Events are logged
// as kEpcisEvent entries whose payload is the summary itself, so the test's
// summariser is decode_indexed_event.
#include "custos/custody/event_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "custody_fixture.h"
#include "custos/ledger/entry_scan.h"

namespace custos::custody {
namespace {

TEST_F(EventIndexTest, QueriesByEachIndexedConditionAndFilters) {
  auto logged = capture({
      object_event(Action::kAdd, {item(1), item(2)}, kDock, kReceiving, kBase),
      object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase + kHour),
      object_event(Action::kObserve, {item(2), item(3)}, kTruck, kShipping, kBase + 2 * kHour),
      aggregation_event(Action::kAdd, pallet(1), {item(1), item(3)}, kCage, kBase + 3 * kHour),
  });
  EventQuery by_epc;
  by_epc.identifier_matches.push_back({{IdentifierRole::kEpc, IdentifierRole::kChild}, {item(1)}});
  EXPECT_EQ(indexes_of(by_epc), (std::vector<uint64_t>{0, 1, 3}));

  EventQuery by_parent;
  by_parent.identifier_matches.push_back({{IdentifierRole::kParent}, {pallet(1)}});
  EXPECT_EQ(indexes_of(by_parent), (std::vector<uint64_t>{3}));

  EventQuery epc_only;  // MATCH_epc without childEPCs would not see the aggregation
  epc_only.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(1)}});
  EXPECT_EQ(indexes_of(epc_only), (std::vector<uint64_t>{0, 1}));

  EventQuery by_location;
  by_location.biz_locations = {kCage};
  EXPECT_EQ(indexes_of(by_location), (std::vector<uint64_t>{1, 3}));

  EventQuery by_step;
  by_step.biz_steps = {kReceiving};
  by_step.actions = {Action::kObserve};
  EXPECT_EQ(indexes_of(by_step), (std::vector<uint64_t>{1}));

  EventQuery by_time;
  by_time.ge_event_time = kBase + kHour;
  by_time.lt_event_time = kBase + 3 * kHour;
  EXPECT_EQ(indexes_of(by_time), (std::vector<uint64_t>{1, 2}));

  EventQuery by_type;
  by_type.event_types = {EventType::kAggregation};
  EXPECT_EQ(indexes_of(by_type), (std::vector<uint64_t>{3}));

  EventQuery two_epcs_and_location;  // AND across conditions, OR within one
  two_epcs_and_location.identifier_matches.push_back(
      {{IdentifierRole::kEpc}, {item(2), item(3)}});
  two_epcs_and_location.biz_locations = {kTruck};
  EXPECT_EQ(indexes_of(two_epcs_and_location), (std::vector<uint64_t>{2}));

  EventQuery by_id;
  by_id.event_ids = {logged[2].event_id, "urn:uuid:unknown"};
  EXPECT_EQ(indexes_of(by_id), (std::vector<uint64_t>{2}));

  EventQuery nothing;
  nothing.biz_locations = {"https://id.gs1.org/414/0000000000000"};
  EXPECT_TRUE(indexes_of(nothing).empty());

  auto found = index_->find_event_id(logged[1].event_id);
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_EQ((*found)->log_index, 1u);
  EXPECT_EQ((*found)->event_hash, logged[1].event_hash);
  auto many = index_->find_event_ids(
      std::vector<std::string>{logged[3].event_id, "urn:uuid:unknown", logged[0].event_id});
  ASSERT_TRUE(many.is_ok()) << many.status().to_string();
  ASSERT_EQ(many->size(), 3u);
  ASSERT_TRUE((*many)[0].has_value());
  EXPECT_EQ((*many)[0]->log_index, 3u);
  EXPECT_EQ((*many)[0]->event_hash, logged[3].event_hash);
  EXPECT_FALSE((*many)[1].has_value());
  ASSERT_TRUE((*many)[2].has_value());
  EXPECT_EQ((*many)[2]->log_index, 0u);
  auto summary = index_->summary(3);
  ASSERT_TRUE(summary.is_ok() && summary->has_value());
  EXPECT_EQ(**summary, logged[3]);
}

TEST_F(EventIndexTest, OrdersAndPagesWithoutGapsOrRepeats) {
  std::vector<IndexedEvent> events;
  // Event times out of log order: 5, 3, 8, 1, 7, 2, 6, 4 hours.
  for (int hours : {5, 3, 8, 1, 7, 2, 6, 4}) {
    events.push_back(object_event(Action::kObserve, {item(9)}, kDock, kReceiving,
                                  kBase + hours * kHour));
  }
  capture(std::move(events));
  EventQuery query;
  query.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(9)}});
  query.order_by = EventQuery::OrderBy::kEventTime;
  query.descending = true;
  std::vector<int64_t> times;
  std::string token;
  int pages = 0;
  do {
    auto page = index_->query(query, 3, token);
    ASSERT_TRUE(page.is_ok()) << page.status().to_string();
    for (const auto& event : page->events) times.push_back((event.event_time_micros - kBase) / kHour);
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(times, (std::vector<int64_t>{8, 7, 6, 5, 4, 3, 2, 1}));

  query.order_by = EventQuery::OrderBy::kRecordTime;
  query.descending = false;
  query.event_count_limit = 5;
  EXPECT_EQ(indexes_of(query), (std::vector<uint64_t>{0, 1, 2, 3, 4}));

  EXPECT_EQ(index_->query(query, 3, "v1.nothex").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->query(query, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->query(query, 10001).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EventIndexTest, ListsDistinctValuesPageByPage) {
  // Several events per value, and a value that extends another ("...-shipping"
  // and "...-shipping-2"): each value is listed once, in byte order.
  const std::string shipping_2 = kShipping + "-2";
  std::vector<IndexedEvent> events;
  for (int i = 0; i < 3; ++i) {
    events.push_back(object_event(Action::kObserve, {item(i)}, kDock, kShipping, kBase + i));
    events.push_back(object_event(Action::kObserve, {item(10 + i)}, kCage, shipping_2, kBase + i));
    events.push_back(object_event(Action::kAdd, {item(20 + i)}, kTruck, kReceiving, kBase + i));
  }
  capture(std::move(events));
  auto all = [&](Vocabulary vocabulary, size_t per_page) {
    std::vector<std::string> values;
    std::string token;
    int pages = 0;
    do {
      auto page = index_->distinct_values(vocabulary, per_page, token);
      EXPECT_TRUE(page.is_ok()) << page.status().to_string();
      if (!page.is_ok()) break;
      EXPECT_LE(page->values.size(), per_page);
      values.insert(values.end(), page->values.begin(), page->values.end());
      token = page->next_page_token;
    } while (!token.empty() && ++pages < 100);
    return values;
  };
  const std::vector<std::string> steps = {kReceiving, kShipping, shipping_2};
  EXPECT_EQ(all(Vocabulary::kBizStep, 1), steps);
  EXPECT_EQ(all(Vocabulary::kBizStep, 2), steps);
  EXPECT_EQ(all(Vocabulary::kBizStep, 3), steps);
  EXPECT_EQ(all(Vocabulary::kBizLocation, 2), (std::vector<std::string>{kDock, kCage, kTruck}));
  EXPECT_EQ(all(Vocabulary::kReadPoint, 10), (std::vector<std::string>{kDock, kCage, kTruck}));
  EXPECT_TRUE(all(Vocabulary::kDisposition, 10).empty());
  std::vector<std::string> objects = all(Vocabulary::kObject, 4);
  EXPECT_EQ(objects.size(), 9u);
  EXPECT_TRUE(std::is_sorted(objects.begin(), objects.end()));
  EXPECT_EQ(std::set<std::string>(objects.begin(), objects.end()).size(), 9u);

  EXPECT_TRUE(*index_->has_value(Vocabulary::kBizStep, shipping_2));
  EXPECT_FALSE(*index_->has_value(Vocabulary::kBizStep, kPacking));
  EXPECT_TRUE(*index_->has_value(Vocabulary::kObject, item(21)));
  EXPECT_FALSE(*index_->has_value(Vocabulary::kObject, item(99)));

  EXPECT_EQ(index_->distinct_values(Vocabulary::kBizStep, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->distinct_values(Vocabulary::kBizStep, 1, "vv1.zz").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->distinct_values(Vocabulary::kBizStep, 1, "v1.00").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(EventIndexTest, CurrentStateFollowsMovesAggregationAndEnds) {
  capture({
      object_event(Action::kAdd, {item(1), item(2), item(3)}, kDock, kReceiving, kBase),
      object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase + kHour),
  });
  EXPECT_EQ(at(kDock), (std::set<std::string>{item(2), item(3)}));
  EXPECT_EQ(at(kCage), (std::set<std::string>{item(1)}));
  EXPECT_EQ(state_of(item(1)).biz_location, kCage);
  EXPECT_EQ(state_of(item(1)).last_log_index, 1u);

  // A late event (older eventTime) does not move the item back.
  capture({object_event(Action::kObserve, {item(1)}, kTruck, kShipping, kBase + kHour / 2)});
  EXPECT_EQ(state_of(item(1)).biz_location, kCage);
  EXPECT_TRUE(at(kTruck).empty());

  capture({aggregation_event(Action::kAdd, pallet(1), {item(2), item(3)}, kDock,
                             kBase + 2 * kHour)});
  auto children = index_->children_of(pallet(1), 100);
  ASSERT_TRUE(children.is_ok());
  EXPECT_EQ(*children, (std::vector<std::string>{item(2), item(3)}));
  EXPECT_EQ(state_of(item(2)).parent, pallet(1));
  EXPECT_EQ(state_of(pallet(1)).biz_location, kDock);

  // Repacking item 3 onto pallet 2 takes it off pallet 1.
  capture({aggregation_event(Action::kAdd, pallet(2), {item(3)}, kDock, kBase + 3 * kHour)});
  EXPECT_EQ(*index_->children_of(pallet(1), 100), (std::vector<std::string>{item(2)}));
  EXPECT_EQ(state_of(item(3)).parent, pallet(2));

  // DELETE without childEPCs empties the container.
  capture({aggregation_event(Action::kDelete, pallet(1), {}, kDock, kBase + 4 * kHour)});
  EXPECT_TRUE(index_->children_of(pallet(1), 100)->empty());
  EXPECT_EQ(state_of(item(2)).parent, "");

  // A transformation consumes its inputs; an ObjectEvent DELETE ends an object.
  IndexedEvent transformation;
  transformation.type = EventType::kTransformation;
  transformation.identifiers = {{IdentifierRole::kInput, item(2)},
                                {IdentifierRole::kOutput, item(7)}};
  transformation.biz_location = kCage;
  transformation.event_time_micros = kBase + 5 * kHour;
  capture({transformation,
           object_event(Action::kDelete, {item(3)}, "", kShipping, kBase + 5 * kHour)});
  EXPECT_FALSE(state_of(item(2)).exists);
  EXPECT_FALSE(state_of(item(3)).exists);
  EXPECT_EQ(at(kDock), (std::set<std::string>{pallet(1), pallet(2)}));
  EXPECT_EQ(at(kCage), (std::set<std::string>{item(1), item(7)}));
  auto unknown = index_->object_state(item(99));
  ASSERT_TRUE(unknown.is_ok());
  EXPECT_FALSE(unknown->has_value());
}

// A query over many roles of one object seeks only the roles its state
// records; every role must still be found, also when the event naming it is
// older (by eventTime) than the object's state, and for states written
// before roles were recorded (version 1, read as "every role").
TEST_F(EventIndexTest, QueriesOverEveryRoleFindEachRoleTheObjectWasNamedIn) {
  const std::vector<IdentifierRole> every_role = {IdentifierRole::kEpc, IdentifierRole::kChild,
                                                  IdentifierRole::kParent, IdentifierRole::kInput,
                                                  IdentifierRole::kOutput};
  auto any_role = [&](const std::string& id) {
    EventQuery query;
    query.identifier_matches.push_back({every_role, {id}});
    return indexes_of(query);
  };
  capture({object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase + 2 * kHour)});
  // Older than item 1's state: its state does not move, but the role counts.
  capture({aggregation_event(Action::kAdd, item(1), {item(2)}, kDock, kBase)});
  IndexedEvent transformation;
  transformation.type = EventType::kTransformation;
  transformation.identifiers = {{IdentifierRole::kInput, item(2)}, {IdentifierRole::kOutput, item(1)}};
  transformation.biz_location = kCage;
  transformation.event_time_micros = kBase + 3 * kHour;
  capture({transformation});
  EXPECT_EQ(any_role(item(1)), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(any_role(item(2)), (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(state_of(item(1)).roles, 1 | 4 | 16);  // epcList, parentID, outputEPCList
  EXPECT_EQ(state_of(item(2)).roles, 2 | 8);       // childEPCs, inputEPCList
  EXPECT_TRUE(any_role(item(3)).empty());

  // A version-1 state (no role byte) of item 1: every role is looked at again.
  std::string v1(1, '\x01');
  for (const std::string& text : {kCage, std::string(), std::string(), std::string(),
                                  std::string("dock-scanner")}) {
    for (int shift = 56; shift >= 0; shift -= 8) v1.push_back(static_cast<char>((text.size() >> shift) & 0xff));
    v1 += text;
  }
  v1.push_back(1);
  for (int k = 0; k < 16; ++k) v1.push_back(k == 7 ? 2 : 0);  // last log index 2, eventTime 0
  store::WriteBatch batch;
  batch.put(store::Family::kCustody, "O" + item(1), std::string_view(v1));
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  EXPECT_EQ(state_of(item(1)).roles, 31);
  EXPECT_EQ(state_of(item(1)).biz_location, kCage);
  EXPECT_EQ(any_role(item(1)), (std::vector<uint64_t>{0, 1, 2}));
}

TEST_F(EventIndexTest, CatchesUpWithTheLogOnOpenAndIgnoresRepeats) {
  auto indexed = capture({object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase)});
  // Logged but never indexed (a crash between commit and indexing) ...
  log_event(object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase + kHour));
  ledger::AppendRequest control;  // entries of other kinds are skipped
  control.kind = ledger::EntryKind::kControlChange;
  control.payload = {1, 2, 3};
  ASSERT_TRUE(log_->append(std::move(control)).is_ok());
  log_event(object_event(Action::kObserve, {item(1)}, kTruck, kShipping, kBase + 2 * kHour));
  EXPECT_EQ(index_->indexed_up_to(), 1u);
  EXPECT_EQ(state_of(item(1)).biz_location, kDock);

  restart();  // ... is indexed when the index opens again.
  EXPECT_EQ(index_->indexed_up_to(), 4u);
  EXPECT_EQ(state_of(item(1)).biz_location, kTruck);
  EventQuery query;
  query.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(1)}});
  EXPECT_EQ(indexes_of(query), (std::vector<uint64_t>{0, 1, 3}));

  // Adding an already-indexed event again changes nothing.
  ASSERT_TRUE(index_->add(indexed).is_ok());
  EXPECT_EQ(indexes_of(query), (std::vector<uint64_t>{0, 1, 3}));
  EXPECT_EQ(state_of(item(1)).biz_location, kTruck);
}

TEST_F(EventIndexTest, KeepsACopyOfEachEntryGivenAndOfEveryReplayedEntry) {
  // An event indexed with its entry bytes keeps them; one without has no copy.
  const uint64_t with_copy = log_->tree_size();
  const Bytes logged =
      capture_with_entry_copy(object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase));
  ASSERT_FALSE(logged.empty());
  auto without_copy = capture({object_event(Action::kObserve, {item(1)}, kCage, kReceiving,
                                            kBase + kHour)});
  auto copy = index_->entry_copy(with_copy);
  ASSERT_TRUE(copy.is_ok());
  ASSERT_TRUE(copy->has_value());
  EXPECT_EQ(**copy, logged);
  auto none = index_->entry_copy(without_copy[0].log_index);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());

  // Events indexed when the index catches up with the log get the log's bytes.
  IndexedEvent late = log_event(object_event(Action::kObserve, {item(2)}, kTruck, kShipping,
                                             kBase + 2 * kHour));
  restart();
  auto replayed = index_->entry_copy(late.log_index);
  ASSERT_TRUE(replayed.is_ok());
  ASSERT_TRUE(replayed->has_value());
  auto from_log = log_->entry(late.log_index);
  ASSERT_TRUE(from_log.is_ok());
  EXPECT_EQ(**replayed, *from_log);
  auto beyond = index_->entry_copy(late.log_index + 1);
  ASSERT_TRUE(beyond.is_ok());
  EXPECT_FALSE(beyond->has_value());
}

TEST_F(EventIndexTest, ACrashLosesUnloggedIndexWritesTogetherAndOpenIndexesThemAgain) {
  // Indexed and flushed: survives anything.
  capture({object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase)});
  ASSERT_TRUE(store_->flush().is_ok());
  // Committed to the log (synced), indexed without logging: only in memory.
  auto late = capture({
      object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase + kHour),
      aggregation_event(Action::kAdd, pallet(1), {item(1)}, kTruck, kBase + 2 * kHour),
  });
  ASSERT_EQ(index_->indexed_up_to(), 3u);

  // A crash: the files on disk as they are now, without a close (a close
  // flushes). The copy is taken while no flush or compaction runs.
  while (store_->background_work_pending()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::filesystem::path crashed = dir_.string() + "-crashed";
  std::filesystem::remove_all(crashed);
  std::filesystem::copy(dir_, crashed, std::filesystem::copy_options::recursive);
  close_all();
  std::filesystem::remove_all(dir_);
  std::filesystem::rename(crashed, dir_);

  // The log kept everything; the index lost both late writes and their mark,
  // in every family alike (none of their keys is left).
  store::StoreOptions options;
  auto store = store::Store::open(dir_.string(), options);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  auto mark = (*store)->get(store::Family::kIndexes, ledger::kReplayMarkKey);
  ASSERT_TRUE(mark.is_ok() && mark->has_value());
  EXPECT_EQ(**mark, ledger::encode_replay_mark(1));
  auto pallet_state = (*store)->get(store::Family::kCustody, "O" + pallet(1));
  ASSERT_TRUE(pallet_state.is_ok());
  EXPECT_FALSE(pallet_state->has_value());
  auto record = (*store)->get(store::Family::kEventRecords, std::string(7, '\0') + "\x02R");
  ASSERT_TRUE(record.is_ok());
  EXPECT_FALSE(record->has_value());
  auto kept = (*store)->get(store::Family::kEventRecords, std::string(8, '\0') + "R");
  ASSERT_TRUE(kept.is_ok());
  EXPECT_TRUE(kept->has_value());
  store->reset();

  open_all();  // the index catches up with the log
  EXPECT_EQ(log_->tree_size(), 3u);
  EXPECT_EQ(index_->indexed_up_to(), 3u);
  EXPECT_EQ(state_of(item(1)).biz_location, kTruck);
  EXPECT_EQ(state_of(item(1)).parent, pallet(1));
  EventQuery query;
  query.identifier_matches.push_back({{IdentifierRole::kEpc, IdentifierRole::kChild}, {item(1)}});
  EXPECT_EQ(indexes_of(query), (std::vector<uint64_t>{0, 1, 2}));
  auto summary = index_->summary(2);
  ASSERT_TRUE(summary.is_ok() && summary->has_value());
  EXPECT_EQ((*summary)->principal, late[1].principal);
}

// Rewrites every format-3 `R` record of event_records as the `V` (summary)
// and `B` (entry copy, when there is one) records formats 1 and 2 wrote:
// into indexes as kind + u64 (format 1), or event_records as u64 + kind.
// Returns how many records it rewrote.
size_t rewrite_records_as_before_format_three(store::Store& store, bool format_one) {
  store::WriteBatch batch;
  size_t rewritten = 0;
  auto records = store.new_iterator(store::Family::kEventRecords);
  for (records->seek_to_first(); records->valid(); records->next()) {
    std::string_view key = records->key();
    if (key.size() != 9 || key.back() != 'R') continue;
    std::string_view value = records->value();
    if (value.size() < 4) {
      ADD_FAILURE() << "an R record shorter than its length field";
      continue;
    }
    const uint32_t summary_size = read_u32_be(reinterpret_cast<const uint8_t*>(value.data()));
    const std::pair<char, std::string_view> parts[] = {
        {'V', value.substr(4, summary_size)}, {'B', value.substr(4 + summary_size)}};
    for (const auto& [kind, part] : parts) {
      if (kind == 'B' && part.empty()) continue;
      std::string old_key = format_one ? std::string(1, kind) + std::string(key.substr(0, 8))
                                       : std::string(key.substr(0, 8)) + kind;
      batch.put(format_one ? store::Family::kIndexes : store::Family::kEventRecords, old_key, part);
    }
    batch.erase(store::Family::kEventRecords, key);
    ++rewritten;
  }
  EXPECT_TRUE(records->status().is_ok());
  records.reset();
  EXPECT_TRUE(store.write(batch, true).is_ok());
  return rewritten;
}

TEST_F(EventIndexTest, MovesFormatOneEventRecordsOutOfTheIndexesFamily) {
  auto logged = capture({
      object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase),
      object_event(Action::kObserve, {item(1), item(2)}, kCage, kReceiving, kBase + kHour),
  });
  // Rewrite the store as format 1 left it: `V`/`B` + u64 in indexes, no format key.
  EXPECT_EQ(rewrite_records_as_before_format_three(*store_, true), 2u);
  {
    store::WriteBatch batch;
    batch.erase(store::Family::kIndexes, "format");
    ASSERT_TRUE(store_->write(batch, true).is_ok());
  }
  restart();
  auto summary = index_->summary(1);
  ASSERT_TRUE(summary.is_ok() && summary->has_value());
  EXPECT_EQ(**summary, logged[1]);
  EXPECT_EQ(indexes_of(EventQuery{}), (std::vector<uint64_t>{0, 1}));
  auto format = store_->get(store::Family::kIndexes, "format");
  ASSERT_TRUE(format.is_ok() && format->has_value());
  EXPECT_EQ(**format, std::string(1, '\x03'));
  auto left = store_->new_iterator(store::Family::kIndexes);
  for (left->seek("V"); left->valid() && left->key().starts_with("V"); left->next()) {
    ADD_FAILURE() << "a format-1 summary key is left in indexes";
  }
}

// Keys under `prefix` in the indexes family.
size_t keys_under(store::Store& store, std::string_view prefix) {
  size_t count = 0;
  auto keys = store.new_iterator(store::Family::kIndexes);
  for (keys->seek(prefix); keys->valid() && keys->key().starts_with(prefix); keys->next()) ++count;
  EXPECT_TRUE(keys->status().is_ok());
  return count;
}

std::string value_key_prefix(char prefix, const std::string& value) {
  std::string key(1, prefix);
  key += value;
  key.push_back('\0');
  return key;
}

TEST_F(EventIndexTest, EventsIndexedTogetherShareOneKeyPerValueAndEveryQueryFindsThemAll) {
  close_consumers();
  EventIndexOptions options;
  options.max_query_candidates = 100000;
  open_index(options);
  // 2,600 events in one add(): all at the dock, receiving, at two times; the
  // EPCs of the even ones repeat item(7) twice (indexed once per event).
  constexpr int kEvents = 2600;
  std::vector<IndexedEvent> logged;
  for (int i = 0; i < kEvents; ++i) {
    std::vector<std::string> epcs = {item(1000 + i)};
    if (i % 2 == 0) epcs = {item(7), item(7)};
    logged.push_back(log_event(object_event(Action::kObserve, std::move(epcs), kDock, kReceiving,
                                            kBase + (i < 100 ? 0 : kHour))));
  }
  ASSERT_TRUE(index_->add(logged).is_ok());
  // A posting lists at most 1,024 events after its key's own: ceil(2600 / 1025) keys.
  EXPECT_EQ(keys_under(*store_, value_key_prefix('L', kDock)), 3u);
  EXPECT_EQ(keys_under(*store_, value_key_prefix('S', kReceiving)), 3u);
  EXPECT_EQ(keys_under(*store_, value_key_prefix('I', std::string(1, 'e') + item(7))), 2u);
  // One more event alone adds a key of its own.
  capture({object_event(Action::kObserve, {item(7)}, kDock, kReceiving, kBase)});

  std::vector<uint64_t> all(kEvents + 1);
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  EventQuery by_location;
  by_location.biz_locations = {kDock};
  EXPECT_EQ(indexes_of(by_location, 10000), all);
  EventQuery by_read_point;
  by_read_point.read_points = {kDock};
  EXPECT_EQ(indexes_of(by_read_point, 10000), all);
  EventQuery by_step;
  by_step.biz_steps = {kReceiving};
  EXPECT_EQ(indexes_of(by_step, 10000), all);

  std::vector<uint64_t> early;  // the first 100 and the lone one, at kBase
  for (uint64_t i = 0; i < 100; ++i) early.push_back(i);
  early.push_back(kEvents);
  EventQuery by_time;
  by_time.lt_event_time = kBase + 1;
  EXPECT_EQ(indexes_of(by_time, 10000), early);

  std::vector<uint64_t> sevens;
  for (uint64_t i = 0; i < kEvents; i += 2) sevens.push_back(i);
  sevens.push_back(kEvents);
  EventQuery by_epc;
  by_epc.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(7)}});
  EXPECT_EQ(indexes_of(by_epc, 10000), sevens);
  EventQuery by_pattern;  // serials 10NN: item(1000 + i) for the odd i < 100
  by_pattern.identifier_matches.push_back(
      {{IdentifierRole::kEpc}, {}, {{item(10), 2, "", epcis::CanonicalPattern::Tail::kNothing}}});
  std::vector<uint64_t> odd_early;
  for (uint64_t i = 1; i < 100; i += 2) odd_early.push_back(i);
  EXPECT_EQ(indexes_of(by_pattern, 10000), odd_early);

  // Paging walks across postings without gaps or repeats.
  std::vector<uint64_t> paged;
  std::string token;
  do {
    auto page = index_->query(by_location, 999, token);
    ASSERT_TRUE(page.is_ok()) << page.status().to_string();
    for (const auto& event : page->events) paged.push_back(event.log_index);
    token = page->next_page_token;
  } while (!token.empty());
  EXPECT_EQ(paged, all);
}

TEST_F(EventIndexTest, AFormatTwoIndexIsReadAsItIsAndMarkedFormatThreeWhenOpenedReadWrite) {
  const Bytes entry =
      capture_with_entry_copy(object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase));
  ASSERT_FALSE(entry.empty());
  auto logged = capture({object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase + kHour)});
  // As format 2 left it: separate `V` and `B` records, format byte 2.
  EXPECT_EQ(rewrite_records_as_before_format_three(*store_, false), 2u);
  store::WriteBatch batch;
  batch.put(store::Family::kIndexes, "format", std::string(1, '\x02'));
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  restart();
  auto format = store_->get(store::Family::kIndexes, "format");
  ASSERT_TRUE(format.is_ok() && format->has_value());
  EXPECT_EQ(**format, std::string(1, '\x03'));
  EventQuery by_epc;
  by_epc.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(1)}});
  EXPECT_EQ(indexes_of(by_epc), (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(indexes_of(EventQuery{}), (std::vector<uint64_t>{0, 1}));  // the scan of summaries
  auto summary = index_->summary(1);
  ASSERT_TRUE(summary.is_ok() && summary->has_value());
  EXPECT_EQ(**summary, logged[0]);
  auto copy = index_->entry_copy(0);
  ASSERT_TRUE(copy.is_ok() && copy->has_value());
  EXPECT_EQ(**copy, entry);
  auto none = index_->entry_copy(1);
  ASSERT_TRUE(none.is_ok());
  EXPECT_FALSE(none->has_value());

  batch = store::WriteBatch();
  batch.put(store::Family::kIndexes, "format", std::string(1, '\x04'));
  ASSERT_TRUE(store_->write(batch, true).is_ok());
  close_consumers();
  auto newer = EventIndex::open(
      *store_, *log_,
      [](const ledger::LogEntry& entry) { return decode_indexed_event(entry.payload); });
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(EventIndexTest, ADamagedPostingIsDataLossNotACrash) {
  capture({object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase)});
  auto keys = store_->new_iterator(store::Family::kIndexes);
  const std::string prefix = value_key_prefix('L', kDock);
  keys->seek(prefix);
  ASSERT_TRUE(keys->valid() && keys->key().starts_with(prefix));
  const std::string key(keys->key());
  keys.reset();
  EventQuery by_location;
  by_location.biz_locations = {kDock};
  // A varint cut short, a zero step (a repeat), a step past 2^64.
  for (std::string damage : {std::string("\x81"), std::string(1, '\0'),
                             std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01")}) {
    store::WriteBatch batch;
    batch.put(store::Family::kIndexes, key, damage);
    ASSERT_TRUE(store_->write(batch, true).is_ok());
    EXPECT_EQ(index_->query(by_location, 10).status().code(), StatusCode::kDataLoss);
  }
}

TEST_F(EventIndexTest, RefusesTooBroadQueriesAndUnindexableEvents) {
  close_consumers();
  EventIndexOptions options;
  options.max_query_candidates = 3;
  open_index(options);
  std::vector<IndexedEvent> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back(object_event(Action::kObserve, {item(i)}, kDock, kReceiving, kBase + i));
  }
  capture(std::move(events));
  EventQuery everything;
  EXPECT_EQ(index_->query(everything, 10).status().code(), StatusCode::kResourceExhausted);
  EventQuery one;
  one.identifier_matches.push_back({{IdentifierRole::kEpc}, {item(2)}});
  EXPECT_EQ(indexes_of(one), (std::vector<uint64_t>{2}));

  IndexedEvent bad = log_event(object_event(Action::kObserve, {item(1)}, std::string("a\0b", 3),
                                            kReceiving, kBase));
  EXPECT_EQ(index_->add(std::span(&bad, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index_->indexed_up_to(), 5u);
  // Fail-stop: a later, valid event is not indexed past the gap.
  IndexedEvent later = log_event(object_event(Action::kObserve, {item(1)}, kCage, kReceiving, kBase));
  EXPECT_EQ(index_->add(std::span(&later, 1)).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(index_->health().is_ok());
  EXPECT_EQ(index_->indexed_up_to(), 5u);
}

TEST(IndexedEventTest, EncodingRoundTripsAndRefusesDamage) {
  IndexedEvent event = object_event(Action::kAdd, {item(1), item(2)}, kDock, kReceiving, -5);
  event.identifiers.emplace_back(IdentifierRole::kEpcClass, "https://id.gs1.org/01/00614141123452");
  event.biz_transactions = {{"https://ref.gs1.org/cbv/BTT-po", "urn:epcglobal:cbv:bt:0614141073467:1152"}};
  event.sources = {{"https://ref.gs1.org/cbv/SDT-owning_party", "https://id.gs1.org/417/0614141000005"}};
  event.error_declared = true;
  event.log_index = 42;
  event.event_hash = "ni:///sha-256;00?ver=CBV2.0";
  Bytes encoded = encode_indexed_event(event);
  auto decoded = decode_indexed_event(encoded);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, event);
  for (size_t size = 0; size < encoded.size(); ++size) {
    EXPECT_FALSE(decode_indexed_event(ByteView(encoded.data(), size)).is_ok()) << size;
  }
  Bytes longer = encoded;
  longer.push_back(0);
  EXPECT_FALSE(decode_indexed_event(longer).is_ok());
  // The capturer's vendor is an optional tail (summaries written before it
  // existed still decode).
  event.principal_vendor = "acme-trucking";
  auto with_vendor = decode_indexed_event(encode_indexed_event(event));
  ASSERT_TRUE(with_vendor.is_ok()) << with_vendor.status().to_string();
  EXPECT_EQ(*with_vendor, event);
  Bytes vendor_then_junk = encode_indexed_event(event);
  vendor_then_junk.push_back(0);
  EXPECT_FALSE(decode_indexed_event(vendor_then_junk).is_ok());
  EXPECT_EQ(parse_event_type("AggregationEvent").value(), EventType::kAggregation);
  EXPECT_FALSE(parse_event_type("PalletEvent").is_ok());
  EXPECT_EQ(parse_action("DELETE").value(), Action::kDelete);
  EXPECT_FALSE(parse_action("delete").is_ok());
}

}  // namespace
}  // namespace custos::custody
