// Test support for the custody module: a store + log (StoreLogFixture) with an
// EventIndex over it, and builders for event summaries. Events are logged as
// kEpcisEvent entries whose payload is the summary itself, so the index's
// summariser is decode_indexed_event.
#pragma once

#include <gtest/gtest.h>

#include <set>
#include <span>
#include <string>
#include <vector>

#include "custos/custody/event_index.h"
#include "support/log_fixture.h"

namespace custos::custody {


constexpr int64_t kHour = int64_t{3600} * 1000000;
constexpr int64_t kBase = int64_t{1780000000} * 1000000;

inline const std::string kDock = "https://id.gs1.org/414/0614141000016";
inline const std::string kCage = "https://id.gs1.org/414/0614141000023";
inline const std::string kTruck = "https://id.gs1.org/414/0614141000030";
inline const std::string kShipping = "https://ref.gs1.org/cbv/BizStep-shipping";
inline const std::string kReceiving = "https://ref.gs1.org/cbv/BizStep-receiving";
inline const std::string kPacking = "https://ref.gs1.org/cbv/BizStep-packing";

inline std::string item(int n) { return "https://id.gs1.org/01/00614141123452/21/" + std::to_string(n); }
inline std::string pallet(int n) { return "https://id.gs1.org/00/10614141" + std::to_string(100000000 + n); }

inline IndexedEvent object_event(Action action, std::vector<std::string> epcs, std::string location,
                          std::string biz_step, int64_t event_time) {
  IndexedEvent event;
  event.type = EventType::kObject;
  event.action = action;
  for (auto& epc : epcs) event.identifiers.emplace_back(IdentifierRole::kEpc, std::move(epc));
  event.biz_location = std::move(location);
  event.read_point = event.biz_location;
  event.biz_step = std::move(biz_step);
  event.event_time_micros = event_time;
  event.principal = "dev-dock-1";
  return event;
}

inline IndexedEvent aggregation_event(Action action, const std::string& parent,
                               const std::vector<std::string>& children, std::string location,
                               int64_t event_time) {
  IndexedEvent event;
  event.type = EventType::kAggregation;
  event.action = action;
  event.identifiers.emplace_back(IdentifierRole::kParent, parent);
  for (const auto& child : children) event.identifiers.emplace_back(IdentifierRole::kChild, child);
  event.biz_location = std::move(location);
  event.biz_step = kPacking;
  event.event_time_micros = event_time;
  event.principal = "dev-packer-2";
  return event;
}

class EventIndexTest : public test_support::StoreLogFixture {
 protected:
  EventIndexTest() : StoreLogFixture("event-index", "custos.test/custody", kBase) {}

  void open_consumers() override { open_index(); }
  void close_consumers() override { index_.reset(); }

  void open_index(EventIndexOptions options = {}) {
    auto index = EventIndex::open(
        *store_, *log_,
        [](const ledger::LogEntry& entry) { return decode_indexed_event(entry.payload); }, options);
    ASSERT_TRUE(index.is_ok()) << index.status().to_string();
    index_ = std::move(index).value();
  }

  // Logs `event` (as its own summary), returning it with its log index, hash,
  // eventID and record time filled in.
  IndexedEvent log_event(IndexedEvent event) {
    event.log_index = log_->tree_size();
    event.event_hash = "ni:///sha-256;" + std::to_string(event.log_index) + "?ver=CBV2.0";
    if (event.event_id.empty()) event.event_id = "urn:uuid:event-" + std::to_string(event.log_index);
    event.record_time_micros = clock_.now_micros();
    ledger::AppendRequest request;
    request.kind = ledger::EntryKind::kEpcisEvent;
    request.principal = event.principal;
    request.payload = encode_indexed_event(event);
    auto receipt = log_->append(std::move(request));
    EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    EXPECT_EQ(receipt->index, event.log_index);
    event.record_time_micros = receipt->receive_time;
    return event;
  }

  // Logs and indexes each event, one add() per event.
  std::vector<IndexedEvent> capture(std::vector<IndexedEvent> events) {
    std::vector<IndexedEvent> logged;
    for (auto& event : events) {
      logged.push_back(log_event(std::move(event)));
      Status added = index_->add(std::span(&logged.back(), 1));
      EXPECT_TRUE(added.is_ok()) << added.to_string();
    }
    return logged;
  }

  // Logs `event` and indexes it with a copy of its log entry (as capture
  // does), returning the entry's bytes.
  Bytes capture_with_entry_copy(IndexedEvent event) {
    IndexedEvent logged = log_event(std::move(event));
    auto entry = log_->entry(logged.log_index);
    EXPECT_TRUE(entry.is_ok()) << entry.status().to_string();
    if (!entry.is_ok()) return Bytes();
    logged.entry = *entry;
    Status added = index_->add(std::span(&logged, 1));
    EXPECT_TRUE(added.is_ok()) << added.to_string();
    return *entry;
  }

  std::vector<uint64_t> indexes_of(const EventQuery& query, size_t per_page = 1000) {
    auto page = index_->query(query, per_page);
    EXPECT_TRUE(page.is_ok()) << page.status().to_string();
    std::vector<uint64_t> out;
    if (page.is_ok()) {
      for (const auto& event : page->events) out.push_back(event.log_index);
    }
    return out;
  }

  std::set<std::string> at(const std::string& location) {
    auto objects = index_->objects_at(location, 1000);
    EXPECT_TRUE(objects.is_ok());
    return objects.is_ok() ? std::set<std::string>(objects->begin(), objects->end())
                           : std::set<std::string>();
  }

  ObjectState state_of(const std::string& id) {
    auto state = index_->object_state(id);
    EXPECT_TRUE(state.is_ok() && state->has_value()) << id;
    return state.is_ok() && state->has_value() ? **state : ObjectState{};
  }

  std::unique_ptr<EventIndex> index_;
};

}  // namespace custos::custody
