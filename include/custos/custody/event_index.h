// custos custody: query indexes and current custody state for EPCIS events.
//
// The log is the truth; an EventIndex is state derived from it, kept in the
// store's "indexes" and "custody" families (docs/storage.md) and brought up to
// date from the log on open: every kEpcisEvent entry past the index's replay
// mark is summarised (by the caller's Summariser, which decodes the event) and
// indexed, so a crash between a commit and its indexing loses nothing.
//
// Indexes (keys in docs/storage.md): eventID -> log index + event hash (for
// idempotent capture), identifiers by role, bizLocation, readPoint, bizStep,
// disposition, event time, and one summary per event. A query picks the most
// selective indexed condition, reads the summaries of its candidates and checks
// every other condition on them; a query whose candidates exceed
// max_query_candidates is refused (ResourceExhausted) rather than left to run.
//
// Current state, updated as events are indexed (never recomputed per query):
// per object (canonical EPC) its bizLocation, readPoint, disposition, the
// container it is aggregated into, whether it still exists (not deleted or
// consumed by a transformation) and its latest event; per bizLocation the
// objects there; per container its children. An event older (by eventTime)
// than an object's latest one does not move that object's state back.
//
// Thread-safety: add() from one thread at a time (the capture path's commit
// order); reads are safe concurrently with add() and with each other.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/status.h"
#include "custos/custody/indexed_event.h"
#include "custos/epcis/epc_pattern.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"

namespace custos::custody {

struct EventQuery {
  std::vector<EventType> event_types;   // empty: any
  std::optional<int64_t> ge_event_time;  // micros, inclusive
  std::optional<int64_t> lt_event_time;  // exclusive
  std::optional<int64_t> ge_record_time;
  std::optional<int64_t> lt_record_time;
  std::vector<Action> actions;
  std::vector<std::string> biz_steps;  // each list: any of (empty: no condition)
  std::vector<std::string> dispositions;
  std::vector<std::string> read_points;
  std::vector<std::string> biz_locations;
  // One entry per MATCH_* parameter; all must hold, each by any value in any role.
  struct IdentifierMatch {
    IdentifierMatch() = default;
    IdentifierMatch(std::vector<IdentifierRole> roles, std::vector<std::string> values,
                    std::vector<epcis::CanonicalPattern> patterns = {})
        : roles(std::move(roles)), values(std::move(values)), patterns(std::move(patterns)) {}
    std::vector<IdentifierRole> roles;
    std::vector<std::string> values;  // canonical identifiers
    std::vector<epcis::CanonicalPattern> patterns;  // EPC patterns (epc_pattern.h)
    friend bool operator==(const IdentifierMatch&, const IdentifierMatch&) = default;
  };
  std::vector<IdentifierMatch> identifier_matches;
  // EQ_bizTransaction_<type>, EQ_source_<type>, EQ_destination_<type>: each
  // entry must hold (an event pair with that type and one of the values).
  struct TypedMatch {
    std::string type;  // full CBV URI
    std::vector<std::string> values;
    friend bool operator==(const TypedMatch&, const TypedMatch&) = default;
  };
  std::vector<TypedMatch> biz_transactions;
  std::vector<TypedMatch> sources;
  std::vector<TypedMatch> destinations;
  std::vector<std::string> event_ids;
  std::optional<bool> error_declared;  // EXISTS_errorDeclaration
  enum class OrderBy { kRecordTime, kEventTime };
  OrderBy order_by = OrderBy::kRecordTime;  // record time = log order
  bool descending = false;
  size_t event_count_limit = 0;  // 0: no limit
  friend bool operator==(const EventQuery&, const EventQuery&) = default;
};

// Whether `event` meets every condition of `query` (event_count_limit and
// the order are about result sets and play no part).
bool event_matches(const IndexedEvent& event, const EventQuery& query);

struct QueryPage {
  std::vector<IndexedEvent> events;
  std::string next_page_token;  // empty on the last page
};

struct ObjectState {
  std::string biz_location;
  std::string read_point;
  std::string disposition;
  std::string parent;    // current container ("" when not aggregated)
  bool exists = true;    // false after DELETE or when consumed as a transformation input
  uint64_t last_log_index = 0;
  int64_t last_event_time_micros = 0;
  std::string last_principal;
  // The instance roles (epcList, childEPCs, parentID, inputEPCList,
  // outputEPCList; one bit each, in that order) any indexed event has named
  // the object in: a query over several roles of one object looks only
  // under these. All set for states kept before roles were recorded.
  uint8_t roles = 0;
  friend bool operator==(const ObjectState&, const ObjectState&) = default;
};

// What a top-level resource of the REST binding lists (/bizSteps, /epcs, ...).
enum class Vocabulary { kBizStep, kDisposition, kReadPoint, kBizLocation, kObject };

struct ValuePage {
  std::vector<std::string> values;  // distinct, in ascending byte order
  std::string next_page_token;      // empty on the last page
};

struct EventIdRecord {
  uint64_t log_index = 0;
  std::string event_hash;
};

struct EventIndexOptions {
  size_t max_query_candidates = 1'000'000;
  size_t replay_chunk = 4096;  // events indexed per store write during open()
};

class EventIndex {
 public:
  // Decodes a committed kEpcisEvent entry into its summary (log_index and
  // record time from the entry).
  using Summariser = std::function<Result<IndexedEvent>(const ledger::LogEntry& entry)>;

  // Borrows store and log, which must outlive the index.
  static Result<std::unique_ptr<EventIndex>> open(store::Store& store, const ledger::Log& log,
                                                  Summariser summarise,
                                                  EventIndexOptions options = {});

  // Indexes committed events, in log order. Events below the replay mark
  // are skipped (already indexed), so calling twice is harmless.
  // InvalidArgument for a summary check_indexable refuses (nothing written).
  // Fail-stop: after a failed add every later add fails with the same error
  // (indexing past a gap would lose the events that failed); queries keep
  // answering from what is indexed, and reopening resumes from the mark.
  Status add(std::span<const IndexedEvent> events);
  Status health() const;

  // Every log index below this is indexed.
  uint64_t indexed_up_to() const;

  Result<std::optional<EventIdRecord>> find_event_id(std::string_view event_id) const;
  // find_event_id for many at once (one batched read), in their order.
  Result<std::vector<std::optional<EventIdRecord>>> find_event_ids(
      std::span<const std::string> event_ids) const;
  Result<std::optional<IndexedEvent>> summary(uint64_t log_index) const;
  // The log indexes (ascending, distinct) of the events `query`'s most
  // selective indexed condition selects: a superset of its matches, to be
  // filtered with event_matches on their summaries (for callers that keep
  // summaries across queries, such as a trace). ResourceExhausted like query().
  Result<std::vector<uint64_t>> candidate_indexes(const EventQuery& query) const {
    return candidates(query);
  }
  // The copy of the entry at `log_index` indexed with its summary (an
  // IndexedEvent's `entry`), or nullopt when none was kept (callers then read
  // the log). A copy is only as trusted as the index: a proof checked against
  // a checkpoint (hash_leaf of these bytes) is what makes it evidence.
  Result<std::optional<Bytes>> entry_copy(uint64_t log_index) const;

  // One page (at most per_page events, 1..10000) of the events matching
  // `query`, after the position `page_token` names (empty: from the start).
  // InvalidArgument for a malformed token, ResourceExhausted for a query too
  // broad to answer.
  Result<QueryPage> query(const EventQuery& query, size_t per_page,
                          std::string_view page_token = {}) const;

  // One page (1..10000) of the distinct values of `vocabulary` among indexed
  // events (full CBV URIs, canonical location ids; kObject: every object with
  // custody state, i.e. instance-level identifiers), after `page_token`.
  // InvalidArgument for a malformed token or page size.
  Result<ValuePage> distinct_values(Vocabulary vocabulary, size_t per_page,
                                    std::string_view page_token = {}) const;
  // Whether any indexed event has this value (kObject: custody state exists).
  Result<bool> has_value(Vocabulary vocabulary, std::string_view value) const;

  Result<std::optional<ObjectState>> object_state(std::string_view canonical_id) const;
  // Objects whose current bizLocation is `biz_location` (and that exist), in
  // identifier order, at most `limit`.
  Result<std::vector<std::string>> objects_at(std::string_view biz_location, size_t limit) const;
  // Current children of a container, in identifier order, at most `limit`.
  Result<std::vector<std::string>> children_of(std::string_view parent, size_t limit) const;

 private:
  EventIndex(store::Store& store, const ledger::Log& log, Summariser summarise,
             EventIndexOptions options, uint64_t indexed_up_to);

  Status add_unchecked(std::span<const IndexedEvent> events);
  Result<std::vector<uint64_t>> candidates(const EventQuery& query) const;
  Result<std::vector<std::string>> list_under(store::Family family, std::string_view prefix,
                                              size_t limit) const;

  store::Store& store_;
  const ledger::Log& log_;
  Summariser summarise_;
  EventIndexOptions options_;
  mutable std::mutex mutex_;  // guards indexed_up_to_ and failure_
  uint64_t indexed_up_to_ = 0;
  Status failure_;
};

}  // namespace custos::custody
