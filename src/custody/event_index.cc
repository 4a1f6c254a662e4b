#include "custos/custody/event_index.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "custos/custody/page_token.h"
#include "custos/ledger/entry_scan.h"

namespace custos::custody {

namespace {

using store::Family;

// Key prefixes (docs/storage.md, "EPCIS indexes and custody state"). Upper
// case, so no index key starts like the lower-case replay mark key.
constexpr char kEventIdPrefix = 'E';
constexpr char kIdentifierPrefix = 'I';
constexpr char kLocationPrefix = 'L';
constexpr char kReadPointPrefix = 'P';
constexpr char kBizStepPrefix = 'S';
constexpr char kDispositionPrefix = 'D';
constexpr char kEventTimePrefix = 'T';
constexpr char kRecordPrefix = 'R';     // after the log index in event_records: summary + entry
constexpr char kSummaryPrefix = 'V';    // likewise, before format 3: the summary alone
constexpr char kEntryCopyPrefix = 'B';  // likewise, before format 3: the entry copy alone
constexpr char kObjectPrefix = 'O';
constexpr char kPresentPrefix = 'A';
constexpr char kChildPrefix = 'K';

constexpr uint8_t kObjectStateVersion = 2;  // 1: without the role byte (still read)
// Index format 3 lets one index key stand for several events: its value lists
// the log indexes after the key's own (a posting), so a document of events at
// one bizLocation writes one `L` key, not one per event. Format 2 (every value
// empty: one event per key) is format 3 as it stands. Format 3 also writes
// each event's summary and entry copy as one `R` record; the separate `V` and
// `B` records of earlier formats are still read. Format 2 keeps the
// per-event records (summaries, entry copies) in the event_records family,
// keyed by log index first; format 1 kept them in indexes as `V`/`B` + u64 and
// is migrated at open.
constexpr std::string_view kFormatKey = "format";
constexpr uint8_t kIndexFormat = 3;
// A posting lists at most this many log indexes after its key's, so values
// stay small however large a batch of events is.
constexpr size_t kMaxPostingLength = 1024;
constexpr size_t kMigrationChunk = 4096;
constexpr size_t kMaxPerPage = 10000;

void append_u64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

uint64_t parse_u64(std::string_view bytes) {
  return read_u64_be(reinterpret_cast<const uint8_t*>(bytes.data()));
}

// Signed times sort as unsigned big-endian numbers once the sign bit is flipped.
uint64_t sortable_time(int64_t micros) {
  return static_cast<uint64_t>(micros) ^ (uint64_t{1} << 63);
}

// prefix + value + NUL: every key of one value, whatever index follows.
std::string value_prefix(char prefix, std::string_view value) {
  std::string key(1, prefix);
  key += value;
  key.push_back('\0');
  return key;
}

std::string identifier_prefix(IdentifierRole role, std::string_view value) {
  std::string key(1, kIdentifierPrefix);
  key.push_back(static_cast<char>(role));
  key += value;
  key.push_back('\0');
  return key;
}

// An event record's key in event_records: u64 log index + the record's kind.
std::string event_record_key(uint64_t log_index, char kind) {
  std::string key;
  append_u64(key, log_index);
  key.push_back(kind);
  return key;
}
std::string record_key(uint64_t log_index) { return event_record_key(log_index, kRecordPrefix); }
std::string summary_key(uint64_t log_index) { return event_record_key(log_index, kSummaryPrefix); }
std::string entry_copy_key(uint64_t log_index) {
  return event_record_key(log_index, kEntryCopyPrefix);
}

// Format 1 -> 2: moves every `V`/`B` + u64 record of the indexes family to
// event_records. Each chunk moves its records in one batch (put and erase
// together), so an interrupted migration resumes where it stopped.
Status migrate_event_records(store::Store& store) {
  for (char kind : {kSummaryPrefix, kEntryCopyPrefix}) {
    const std::string prefix(1, kind);
    for (;;) {
      store::WriteBatch batch;
      size_t moved = 0;
      auto iterator = store.new_iterator(Family::kIndexes);
      for (iterator->seek(prefix); iterator->valid() && moved < kMigrationChunk;
           iterator->next()) {
        std::string_view key = iterator->key();
        if (!key.starts_with(prefix)) break;
        if (key.size() != 9) continue;  // a format-2 index key of the same letter
        batch.put(Family::kEventRecords, event_record_key(parse_u64(key.substr(1)), kind),
                  iterator->value());
        batch.erase(Family::kIndexes, key);
        ++moved;
      }
      CUSTOS_RETURN_IF_ERROR(iterator->status());
      iterator.reset();
      if (moved == 0) break;
      CUSTOS_RETURN_IF_ERROR(store.write(batch, /*sync=*/false));
    }
  }
  return Status::ok();
}

// A posting's value: each further log index as the unsigned LEB128 varint of
// its distance from the one before (the first from the key's own).
void append_posting_step(std::string& out, uint64_t step) {
  while (step >= 0x80) {
    out.push_back(static_cast<char>((step & 0x7f) | 0x80));
    step >>= 7;
  }
  out.push_back(static_cast<char>(step));
}

// Appends the key's log index and every one its value lists to `out`.
Status append_posting(uint64_t first, std::string_view value, std::vector<uint64_t>& out) {
  out.push_back(first);
  uint64_t current = first;
  size_t offset = 0;
  while (offset < value.size()) {
    uint64_t step = 0;
    int shift = 0;
    for (;;) {
      if (offset == value.size() || shift > 63) return data_loss("malformed index posting");
      const uint8_t byte = static_cast<uint8_t>(value[offset++]);
      step |= uint64_t{byte & 0x7fu} << shift;
      if ((byte & 0x80) == 0) break;
      shift += 7;
    }
    if (step == 0 || step > std::numeric_limits<uint64_t>::max() - current) {
      return data_loss("malformed index posting");
    }
    current += step;
    out.push_back(current);
  }
  return Status::ok();
}

std::string pair_key(char prefix, std::string_view first, std::string_view second) {
  std::string key = value_prefix(prefix, first);
  key += second;
  return key;
}

std::string event_id_key(std::string_view event_id) {
  std::string key(1, kEventIdPrefix);
  key += event_id;
  return key;
}

std::string object_key(std::string_view id) {
  std::string key(1, kObjectPrefix);
  key += id;
  return key;
}

bool is_class_role(IdentifierRole role) {
  return role == IdentifierRole::kEpcClass || role == IdentifierRole::kInputClass ||
         role == IdentifierRole::kOutputClass;
}

// ObjectState::roles: one bit per instance role.
uint8_t role_bit(IdentifierRole role) {
  switch (role) {
    case IdentifierRole::kEpc:
      return 1;
    case IdentifierRole::kChild:
      return 2;
    case IdentifierRole::kParent:
      return 4;
    case IdentifierRole::kInput:
      return 8;
    case IdentifierRole::kOutput:
      return 16;
    default:
      return 0;
  }
}
constexpr uint8_t kEveryInstanceRole = 31;

std::string encode_object_state(const ObjectState& state) {
  std::string out(1, static_cast<char>(kObjectStateVersion));
  for (const std::string* text : {&state.biz_location, &state.read_point, &state.disposition,
                                  &state.parent, &state.last_principal}) {
    append_u64(out, text->size());
    out += *text;
  }
  out.push_back(state.exists ? 1 : 0);
  append_u64(out, state.last_log_index);
  append_u64(out, static_cast<uint64_t>(state.last_event_time_micros));
  out.push_back(static_cast<char>(state.roles));
  return out;
}

Result<ObjectState> decode_object_state(std::string_view bytes) {
  ObjectState state;
  const uint8_t version = bytes.empty() ? 0 : static_cast<uint8_t>(bytes[0]);
  if (version != kObjectStateVersion && version != 1) return data_loss("malformed object state");
  size_t offset = 1;
  for (std::string* text : {&state.biz_location, &state.read_point, &state.disposition,
                            &state.parent, &state.last_principal}) {
    if (bytes.size() - offset < 8) return data_loss("malformed object state");
    uint64_t size = parse_u64(bytes.substr(offset));
    offset += 8;
    if (bytes.size() - offset < size) return data_loss("malformed object state");
    text->assign(bytes.substr(offset, size));
    offset += size;
  }
  // Version 1 has no role byte: any role may have been seen.
  if (bytes.size() - offset != (version == 1 ? 17u : 18u)) return data_loss("malformed object state");
  state.exists = bytes[offset] != 0;
  state.last_log_index = parse_u64(bytes.substr(offset + 1));
  state.last_event_time_micros = static_cast<int64_t>(parse_u64(bytes.substr(offset + 9)));
  state.roles = version == 1 ? kEveryInstanceRole : static_cast<uint8_t>(bytes[offset + 17]);
  return state;
}

template <typename T>
bool any_of_or_empty(const std::vector<T>& wanted, const T& value) {
  return wanted.empty() || std::find(wanted.begin(), wanted.end(), value) != wanted.end();
}

// Every match holds: the event has a pair of its type with one of its values.
bool typed_matches(const std::vector<EventQuery::TypedMatch>& wanted,
                   const std::vector<TypedValue>& pairs) {
  for (const EventQuery::TypedMatch& match : wanted) {
    bool found = std::any_of(pairs.begin(), pairs.end(), [&](const TypedValue& pair) {
      return pair.type == match.type &&
             std::find(match.values.begin(), match.values.end(), pair.value) != match.values.end();
    });
    if (!found) return false;
  }
  return true;
}

}  // namespace

bool event_matches(const IndexedEvent& event, const EventQuery& query) {
  if (!any_of_or_empty(query.event_types, event.type)) return false;
  if (!any_of_or_empty(query.actions, event.action)) return false;
  if (query.ge_event_time && event.event_time_micros < *query.ge_event_time) return false;
  if (query.lt_event_time && event.event_time_micros >= *query.lt_event_time) return false;
  if (query.ge_record_time && event.record_time_micros < *query.ge_record_time) return false;
  if (query.lt_record_time && event.record_time_micros >= *query.lt_record_time) return false;
  if (!any_of_or_empty(query.biz_steps, event.biz_step)) return false;
  if (!any_of_or_empty(query.dispositions, event.disposition)) return false;
  if (!any_of_or_empty(query.read_points, event.read_point)) return false;
  if (!any_of_or_empty(query.biz_locations, event.biz_location)) return false;
  if (!any_of_or_empty(query.event_ids, event.event_id)) return false;
  if (!typed_matches(query.biz_transactions, event.biz_transactions)) return false;
  if (!typed_matches(query.sources, event.sources)) return false;
  if (!typed_matches(query.destinations, event.destinations)) return false;
  if (query.error_declared && event.error_declared != *query.error_declared) return false;
  for (const EventQuery::IdentifierMatch& match : query.identifier_matches) {
    bool found = false;
    for (const auto& role_and_identifier : event.identifiers) {
      const IdentifierRole role = role_and_identifier.first;
      const std::string& identifier = role_and_identifier.second;  // (a lambda may capture it)
      if (std::find(match.roles.begin(), match.roles.end(), role) == match.roles.end()) continue;
      if (std::find(match.values.begin(), match.values.end(), identifier) != match.values.end() ||
          std::any_of(match.patterns.begin(), match.patterns.end(),
                      [&](const epcis::CanonicalPattern& pattern) {
                        return epcis::pattern_matches(pattern, identifier);
                      })) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

namespace {

// The position of an event in the query's order, as a page token compares it.
struct OrderKey {
  uint64_t primary = 0;
  uint64_t log_index = 0;
  auto operator<=>(const OrderKey&) const = default;
};

OrderKey order_key(const IndexedEvent& event, const EventQuery& query) {
  if (query.order_by == EventQuery::OrderBy::kEventTime) {
    return OrderKey{sortable_time(event.event_time_micros), event.log_index};
  }
  return OrderKey{event.log_index, event.log_index};
}

constexpr std::string_view kEventTokenKind = "v1";
constexpr std::string_view kValueTokenKind = "vv1";

std::string encode_event_token(const OrderKey& key) {
  std::string raw;
  append_u64(raw, key.primary);
  append_u64(raw, key.log_index);
  return encode_page_token(kEventTokenKind, as_bytes(raw));
}

Result<OrderKey> decode_event_token(std::string_view token) {
  CUSTOS_ASSIGN_OR_RETURN(Bytes raw, decode_page_token(kEventTokenKind, token, 16));
  return OrderKey{read_u64_be(raw.data()), read_u64_be(raw.data() + 8)};
}

}  // namespace

EventIndex::EventIndex(store::Store& store, const ledger::Log& log, Summariser summarise,
                       EventIndexOptions options, uint64_t indexed_up_to)
    : store_(store),
      log_(log),
      summarise_(std::move(summarise)),
      options_(options),
      indexed_up_to_(indexed_up_to) {}

Result<std::unique_ptr<EventIndex>> EventIndex::open(store::Store& store, const ledger::Log& log,
                                                     Summariser summarise,
                                                     EventIndexOptions options) {
  if (!summarise) return invalid_argument("EventIndex needs a summariser");
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> mark,
                          ledger::read_replay_mark(store, Family::kIndexes, log));
  CUSTOS_ASSIGN_OR_RETURN(auto format, store.get(Family::kIndexes, kFormatKey));
  if (format && (format->size() != 1 || static_cast<uint8_t>((*format)[0]) > kIndexFormat)) {
    return failed_precondition("the EPCIS index is in format " +
                               std::to_string(format->empty() ? 0 : uint8_t((*format)[0])) +
                               ", newer than this build reads (" + std::to_string(kIndexFormat) +
                               ")");
  }
  if (!format && mark && store.read_only()) {
    return failed_precondition("the EPCIS index is in format 1; open the store read-write once "
                               "to move it to format " + std::to_string(kIndexFormat));
  }
  // Format 2 is read as it is (its keys are one-event postings); from format 1
  // the per-event records move first.
  const bool current = format && static_cast<uint8_t>((*format)[0]) == kIndexFormat;
  if (!current && !store.read_only()) {
    if (!format && mark) CUSTOS_RETURN_IF_ERROR(migrate_event_records(store));
    store::WriteBatch batch;
    batch.put(Family::kIndexes, kFormatKey, std::string(1, static_cast<char>(kIndexFormat)));
    CUSTOS_RETURN_IF_ERROR(store.write(batch, /*sync=*/false));
  }
  std::unique_ptr<EventIndex> index(
      new EventIndex(store, log, std::move(summarise), options, mark.value_or(0)));
  // Catch up with the log: events committed after the last indexing.
  const uint64_t from = index->indexed_up_to();
  const uint64_t to = log.tree_size();
  if (from < to) {
    std::vector<IndexedEvent> chunk;
    auto scanned = ledger::scan_entries(
        log, from, to, ledger::EntryKind::kEpcisEvent,
        [&](const ledger::LogEntry& entry, ByteView entry_bytes) -> Status {
          auto summary = index->summarise_(entry);
          if (!summary.is_ok()) {
            return data_loss("log entry " + std::to_string(entry.index) +
                             " is an EPCIS event that cannot be indexed: " +
                             summary.status().message());
          }
          summary->log_index = entry.index;
          summary->entry.assign(entry_bytes.begin(), entry_bytes.end());
          chunk.push_back(std::move(summary).value());
          if (chunk.size() >= options.replay_chunk) {
            CUSTOS_RETURN_IF_ERROR(index->add(chunk));
            chunk.clear();
          }
          return Status::ok();
        });
    if (!scanned.is_ok()) return scanned.status();
    CUSTOS_RETURN_IF_ERROR(index->add(chunk));
  }
  return index;
}

uint64_t EventIndex::indexed_up_to() const {
  std::lock_guard lock(mutex_);
  return indexed_up_to_;
}

Status EventIndex::health() const {
  std::lock_guard lock(mutex_);
  return failure_;
}

Status EventIndex::add(std::span<const IndexedEvent> events) {
  CUSTOS_RETURN_IF_ERROR(health());
  Status added = add_unchecked(events);
  if (!added.is_ok()) {
    std::lock_guard lock(mutex_);
    failure_ = added;
  }
  return added;
}

Status EventIndex::add_unchecked(std::span<const IndexedEvent> events) {
  const uint64_t start = indexed_up_to();
  uint64_t next = start;
  for (const IndexedEvent& event : events) {
    if (event.log_index < next) continue;
    Status indexable = check_indexable(event);
    if (!indexable.is_ok()) {
      return indexable.with_context("event at log index " + std::to_string(event.log_index));
    }
    next = event.log_index + 1;
  }
  if (next == start) return Status::ok();

  store::WriteBatch batch;
  // Object states and container memberships changed by this call, so later
  // events of the same call see earlier ones.
  std::map<std::string, std::optional<ObjectState>> states;
  std::map<std::string, std::map<std::string, bool>> membership;  // parent -> child -> present

  // A stored state (or none) as `states` keeps it.
  auto decode_stored = [](const std::optional<std::string>& stored)
      -> Result<std::optional<ObjectState>> {
    if (!stored) return std::optional<ObjectState>();
    CUSTOS_ASSIGN_OR_RETURN(ObjectState decoded, decode_object_state(*stored));
    return std::optional<ObjectState>(std::move(decoded));
  };
  auto load = [&](const std::string& id) -> Result<std::optional<ObjectState>*> {
    auto found = states.find(id);
    if (found != states.end()) return &found->second;
    CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get(Family::kCustody, object_key(id)));
    CUSTOS_ASSIGN_OR_RETURN(auto state, decode_stored(stored));
    return &states.emplace(id, std::move(state)).first->second;
  };
  // The stored states of every object the events name, read in one batch
  // (the loop below then finds them in `states`).
  {
    std::vector<std::string> ids;
    for (const IndexedEvent& event : events) {
      if (event.log_index < start) continue;
      for (const auto& [role, identifier] : event.identifiers) {
        if (!is_class_role(role)) ids.push_back(identifier);
      }
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::vector<std::string> keys;
    keys.reserve(ids.size());
    for (const std::string& id : ids) keys.push_back(object_key(id));
    CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get_many(Family::kCustody, keys));
    for (size_t i = 0; i < ids.size(); ++i) {
      CUSTOS_ASSIGN_OR_RETURN(auto state, decode_stored(stored[i]));
      states.emplace_hint(states.end(), std::move(ids[i]), std::move(state));
    }
  }
  auto set_membership = [&](const std::string& parent, const std::string& child, bool present) {
    membership[parent][child] = present;
    if (present) {
      batch.put(Family::kCustody, pair_key(kChildPrefix, parent, child), std::string_view());
    } else {
      batch.erase(Family::kCustody, pair_key(kChildPrefix, parent, child));
    }
  };

  // Index keys without their log index -> the events of this call under them,
  // in log order; written as postings at the end.
  std::map<std::string, std::vector<uint64_t>> postings;
  auto post = [&](std::string base, uint64_t log_index) {
    std::vector<uint64_t>& indexes = postings[std::move(base)];
    if (indexes.empty() || indexes.back() != log_index) indexes.push_back(log_index);
  };

  uint64_t position = start;
  for (const IndexedEvent& event : events) {
    if (event.log_index < position) continue;
    position = event.log_index + 1;
    // ---- query indexes ----
    {
      const Bytes summary = encode_indexed_event(event);
      Bytes record;
      record.reserve(4 + summary.size() + event.entry.size());
      append_u32_be(record, static_cast<uint32_t>(summary.size()));
      record.insert(record.end(), summary.begin(), summary.end());
      record.insert(record.end(), event.entry.begin(), event.entry.end());
      batch.put(Family::kEventRecords, record_key(event.log_index), record);
    }
    if (!event.event_id.empty()) {
      const std::string key = event_id_key(event.event_id);
      std::string value;
      append_u64(value, event.log_index);
      value += event.event_hash;
      batch.put(Family::kIndexes, key, value);
    }
    for (const auto& [role, identifier] : event.identifiers) {
      post(identifier_prefix(role, identifier), event.log_index);  // (a repeat is posted once)
    }
    const std::pair<char, const std::string*> valued[] = {
        {kLocationPrefix, &event.biz_location},
        {kReadPointPrefix, &event.read_point},
        {kBizStepPrefix, &event.biz_step},
        {kDispositionPrefix, &event.disposition},
    };
    for (const auto& [prefix, value] : valued) {
      if (!value->empty()) post(value_prefix(prefix, *value), event.log_index);
    }
    std::string time_base(1, kEventTimePrefix);
    append_u64(time_base, sortable_time(event.event_time_micros));
    post(std::move(time_base), event.log_index);

    // ---- current state ----
    std::string parent;
    std::vector<std::string> children;
    for (const auto& [role, identifier] : event.identifiers) {
      if (role == IdentifierRole::kParent && parent.empty()) parent = identifier;
      if (role == IdentifierRole::kChild) children.push_back(identifier);
    }
    for (const auto& [role, identifier] : event.identifiers) {
      if (is_class_role(role)) continue;
      CUSTOS_ASSIGN_OR_RETURN(std::optional<ObjectState>* slot, load(identifier));
      if (*slot && (*slot)->last_event_time_micros > event.event_time_micros) {
        (*slot)->roles |= role_bit(role);  // stale for the state, not for the roles
        continue;
      }
      ObjectState before = slot->value_or(ObjectState{});
      ObjectState after = before;
      after.roles |= role_bit(role);
      const bool ends = role == IdentifierRole::kInput ||
                        (event.type == EventType::kObject && event.action == Action::kDelete);
      if (ends) {
        after.exists = false;
        after.biz_location.clear();
      } else {
        after.exists = true;
        if (!event.biz_location.empty()) after.biz_location = event.biz_location;
        if (!event.read_point.empty()) after.read_point = event.read_point;
      }
      if (!event.disposition.empty()) after.disposition = event.disposition;
      after.last_log_index = event.log_index;
      after.last_event_time_micros = event.event_time_micros;
      after.last_principal = event.principal;
      const bool containment = (event.type == EventType::kAggregation ||
                                event.type == EventType::kAssociation) &&
                               role == IdentifierRole::kChild && !parent.empty();
      if (containment && event.action != Action::kDelete && after.parent != parent) {
        if (!after.parent.empty()) set_membership(after.parent, identifier, false);
        after.parent = parent;
        set_membership(parent, identifier, true);
      } else if (containment && event.action == Action::kDelete && after.parent == parent) {
        after.parent.clear();
        set_membership(parent, identifier, false);
      }
      const bool was_here = *slot && before.exists && !before.biz_location.empty();
      const bool is_here = after.exists && !after.biz_location.empty();
      if (was_here && (!is_here || before.biz_location != after.biz_location)) {
        batch.erase(Family::kCustody, pair_key(kPresentPrefix, before.biz_location, identifier));
      }
      if (is_here && (!was_here || before.biz_location != after.biz_location)) {
        batch.put(Family::kCustody, pair_key(kPresentPrefix, after.biz_location, identifier),
                  std::string_view());
      }
      *slot = std::move(after);
    }
    // Aggregation DELETE without children: every current child leaves the container.
    if ((event.type == EventType::kAggregation || event.type == EventType::kAssociation) &&
        event.action == Action::kDelete && !parent.empty() && children.empty()) {
      CUSTOS_ASSIGN_OR_RETURN(std::vector<std::string> stored,
                              list_under(Family::kCustody, value_prefix(kChildPrefix, parent),
                                         std::numeric_limits<size_t>::max()));
      std::set<std::string> current(stored.begin(), stored.end());
      for (const auto& [child, present] : membership[parent]) {
        if (present) {
          current.insert(child);
        } else {
          current.erase(child);
        }
      }
      for (const std::string& child : current) {
        CUSTOS_ASSIGN_OR_RETURN(std::optional<ObjectState>* slot, load(child));
        if (*slot && (*slot)->parent == parent) (*slot)->parent.clear();
        set_membership(parent, child, false);
      }
    }
  }
  for (const auto& [base, indexes] : postings) {
    for (size_t from = 0; from < indexes.size(); from += kMaxPostingLength + 1) {
      const size_t to = std::min(indexes.size(), from + kMaxPostingLength + 1);
      std::string key = base;
      append_u64(key, indexes[from]);
      std::string value;
      for (size_t i = from + 1; i < to; ++i) append_posting_step(value, indexes[i] - indexes[i - 1]);
      batch.put(Family::kIndexes, key, value);
    }
  }
  for (const auto& [id, state] : states) {
    if (state) batch.put(Family::kCustody, object_key(id), encode_object_state(*state));
  }
  batch.put(Family::kIndexes, ledger::kReplayMarkKey, ledger::encode_replay_mark(next));
  // Derived state: not even logged. A crash loses this write and its mark
  // together (the store flushes every family at once); open() then indexes
  // the same events again.
  CUSTOS_RETURN_IF_ERROR(store_.write_unlogged(batch));
  std::lock_guard lock(mutex_);
  indexed_up_to_ = next;
  return Status::ok();
}

namespace {

Result<std::optional<EventIdRecord>> decode_event_id_record(
    const std::optional<std::string>& stored) {
  if (!stored) return std::optional<EventIdRecord>();
  if (stored->size() < 8) return data_loss("malformed eventID index entry");
  return std::optional<EventIdRecord>(EventIdRecord{parse_u64(*stored), stored->substr(8)});
}

}  // namespace

Result<std::optional<EventIdRecord>> EventIndex::find_event_id(std::string_view event_id) const {
  CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get(Family::kIndexes, event_id_key(event_id)));
  return decode_event_id_record(stored);
}

Result<std::vector<std::optional<EventIdRecord>>> EventIndex::find_event_ids(
    std::span<const std::string> event_ids) const {
  std::vector<std::string> keys;
  keys.reserve(event_ids.size());
  for (const std::string& event_id : event_ids) keys.push_back(event_id_key(event_id));
  CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get_many(Family::kIndexes, keys));
  std::vector<std::optional<EventIdRecord>> records;
  records.reserve(stored.size());
  for (const std::optional<std::string>& value : stored) {
    CUSTOS_ASSIGN_OR_RETURN(auto record, decode_event_id_record(value));
    records.push_back(std::move(record));
  }
  return records;
}

namespace {

// An `R` record's two parts: the encoded summary and the entry copy (empty
// when the event was indexed without one).
Result<std::pair<std::string_view, std::string_view>> split_record(std::string_view record) {
  if (record.size() < 4) return data_loss("malformed event record");
  const uint32_t summary_size = read_u32_be(reinterpret_cast<const uint8_t*>(record.data()));
  if (record.size() - 4 < summary_size) return data_loss("malformed event record");
  return std::make_pair(record.substr(4, summary_size), record.substr(4 + summary_size));
}

}  // namespace

Result<std::optional<IndexedEvent>> EventIndex::summary(uint64_t log_index) const {
  CUSTOS_ASSIGN_OR_RETURN(auto record, store_.get(Family::kEventRecords, record_key(log_index)));
  std::string_view encoded;
  std::optional<std::string> older;
  if (record) {
    CUSTOS_ASSIGN_OR_RETURN(auto parts, split_record(*record));
    encoded = parts.first;
  } else {
    CUSTOS_ASSIGN_OR_RETURN(older, store_.get(Family::kEventRecords, summary_key(log_index)));
    if (!older) return std::optional<IndexedEvent>();
    encoded = *older;
  }
  CUSTOS_ASSIGN_OR_RETURN(IndexedEvent event, decode_indexed_event(as_bytes(encoded)));
  return std::optional<IndexedEvent>(std::move(event));
}

Result<std::optional<Bytes>> EventIndex::entry_copy(uint64_t log_index) const {
  CUSTOS_ASSIGN_OR_RETURN(auto record, store_.get(Family::kEventRecords, record_key(log_index)));
  if (record) {
    CUSTOS_ASSIGN_OR_RETURN(auto parts, split_record(*record));
    if (parts.second.empty()) return std::optional<Bytes>();
    return std::optional<Bytes>(Bytes(parts.second.begin(), parts.second.end()));
  }
  CUSTOS_ASSIGN_OR_RETURN(auto stored,
                          store_.get(Family::kEventRecords, entry_copy_key(log_index)));
  if (!stored) return std::optional<Bytes>();
  return std::optional<Bytes>(Bytes(stored->begin(), stored->end()));
}

Result<std::vector<uint64_t>> EventIndex::candidates(const EventQuery& query) const {
  std::vector<uint64_t> found;
  auto too_many = [&] {
    return resource_exhausted("the query matches more than " +
                              std::to_string(options_.max_query_candidates) +
                              " events before filtering; narrow it (an EPC, location, bizStep "
                              "or time range)");
  };
  // One iterator for every prefix (creating one costs more than a seek).
  auto iterator = store_.new_iterator(Family::kIndexes);
  // The events of the posting under the iterator: the log index that ends
  // `key` and those its value lists.
  auto take = [&](std::string_view key) -> Status {
    CUSTOS_RETURN_IF_ERROR(
        append_posting(parse_u64(key.substr(key.size() - 8)), iterator->value(), found));
    if (found.size() > options_.max_query_candidates) return too_many();
    return Status::ok();
  };
  // Every posting under `prefix` (keys of exactly prefix + u64).
  auto collect = [&](std::string_view prefix) -> Status {
    for (iterator->seek(prefix); iterator->valid(); iterator->next()) {
      std::string_view key = iterator->key();
      if (!key.starts_with(prefix)) break;
      if (key.size() != prefix.size() + 8) continue;
      CUSTOS_RETURN_IF_ERROR(take(key));
    }
    return iterator->status();
  };
  auto collect_values = [&](char prefix, const std::vector<std::string>& values) -> Status {
    for (const std::string& value : values) CUSTOS_RETURN_IF_ERROR(collect(value_prefix(prefix, value)));
    return Status::ok();
  };

  if (!query.event_ids.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(auto records, find_event_ids(query.event_ids));
    for (const std::optional<EventIdRecord>& record : records) {
      if (record) found.push_back(record->log_index);
    }
  } else if (!query.identifier_matches.empty()) {
    const EventQuery::IdentifierMatch& match = query.identifier_matches.front();
    // Over three or more roles (MATCH_anyEPC, traces), one read of each
    // object's state names the instance roles worth a seek.
    std::vector<uint8_t> known_roles(match.values.size(), kEveryInstanceRole);
    if (match.roles.size() >= 3) {
      for (size_t v = 0; v < match.values.size(); ++v) {
        CUSTOS_ASSIGN_OR_RETURN(std::optional<ObjectState> state, object_state(match.values[v]));
        known_roles[v] = state ? state->roles : 0;  // no state: never named as an instance
      }
    }
    for (IdentifierRole role : match.roles) {
      for (size_t v = 0; v < match.values.size(); ++v) {
        const uint8_t bit = role_bit(role);
        if (bit != 0 && (known_roles[v] & bit) == 0) continue;
        CUSTOS_RETURN_IF_ERROR(collect(identifier_prefix(role, match.values[v])));
      }
      // A pattern: every key under its fixed prefix whose identifier matches.
      for (const epcis::CanonicalPattern& pattern : match.patterns) {
        std::string prefix(1, kIdentifierPrefix);
        prefix.push_back(static_cast<char>(role));
        const size_t value_start = prefix.size();
        prefix += pattern.prefix;
        for (iterator->seek(prefix); iterator->valid(); iterator->next()) {
          std::string_view key = iterator->key();
          if (!key.starts_with(prefix)) break;
          if (key.size() < value_start + 9 || key[key.size() - 9] != '\0') continue;
          if (!epcis::pattern_matches(pattern, key.substr(value_start, key.size() - 9 - value_start))) {
            continue;
          }
          CUSTOS_RETURN_IF_ERROR(take(key));
        }
        CUSTOS_RETURN_IF_ERROR(iterator->status());
      }
    }
  } else if (!query.biz_locations.empty()) {
    CUSTOS_RETURN_IF_ERROR(collect_values(kLocationPrefix, query.biz_locations));
  } else if (!query.read_points.empty()) {
    CUSTOS_RETURN_IF_ERROR(collect_values(kReadPointPrefix, query.read_points));
  } else if (!query.biz_steps.empty()) {
    CUSTOS_RETURN_IF_ERROR(collect_values(kBizStepPrefix, query.biz_steps));
  } else if (!query.dispositions.empty()) {
    CUSTOS_RETURN_IF_ERROR(collect_values(kDispositionPrefix, query.dispositions));
  } else if (query.ge_event_time || query.lt_event_time) {
    std::string first(1, kEventTimePrefix);
    append_u64(first, sortable_time(query.ge_event_time.value_or(std::numeric_limits<int64_t>::min())));
    std::string end(1, kEventTimePrefix);
    if (query.lt_event_time) {
      append_u64(end, sortable_time(*query.lt_event_time));
    } else {
      end.push_back(static_cast<char>(0xff));
    }
    for (iterator->seek(first); iterator->valid(); iterator->next()) {
      std::string_view key = iterator->key();
      if (key >= std::string_view(end) || key.size() != 17) break;
      CUSTOS_RETURN_IF_ERROR(take(key));
    }
    CUSTOS_RETURN_IF_ERROR(iterator->status());
  } else {
    // No indexed condition: every summary is a candidate.
    auto records = store_.new_iterator(Family::kEventRecords);
    for (records->seek_to_first(); records->valid(); records->next()) {
      std::string_view key = records->key();
      if (key.size() != 9 || (key.back() != kRecordPrefix && key.back() != kSummaryPrefix)) continue;
      if (found.size() >= options_.max_query_candidates) return too_many();
      found.push_back(parse_u64(key.substr(0, 8)));
    }
    CUSTOS_RETURN_IF_ERROR(records->status());
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

Result<QueryPage> EventIndex::query(const EventQuery& query, size_t per_page,
                                    std::string_view page_token) const {
  if (per_page == 0 || per_page > kMaxPerPage) {
    return invalid_argument("perPage must be between 1 and " + std::to_string(kMaxPerPage));
  }
  std::optional<OrderKey> after;
  if (!page_token.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(OrderKey key, decode_event_token(page_token));
    after = key;
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<uint64_t> candidate_indexes, candidates(query));
  std::vector<IndexedEvent> matched;
  for (uint64_t log_index : candidate_indexes) {
    CUSTOS_ASSIGN_OR_RETURN(auto event, summary(log_index));
    if (!event) return data_loss("index names log entry " + std::to_string(log_index) +
                                 " but holds no summary for it");
    if (event_matches(*event, query)) matched.push_back(std::move(*event));
  }
  auto before = [&](const IndexedEvent& a, const IndexedEvent& b) {
    return query.descending ? order_key(b, query) < order_key(a, query)
                            : order_key(a, query) < order_key(b, query);
  };
  std::sort(matched.begin(), matched.end(), before);
  if (query.event_count_limit > 0 && matched.size() > query.event_count_limit) {
    matched.resize(query.event_count_limit);
  }
  size_t first = 0;
  if (after) {
    while (first < matched.size()) {
      OrderKey key = order_key(matched[first], query);
      const bool past = query.descending ? key < *after : *after < key;
      if (past) break;
      ++first;
    }
  }
  QueryPage page;
  const size_t last = std::min(matched.size(), first + per_page);
  for (size_t i = first; i < last; ++i) page.events.push_back(std::move(matched[i]));
  if (last < matched.size()) page.next_page_token = encode_event_token(order_key(page.events.back(), query));
  return page;
}

Result<std::optional<ObjectState>> EventIndex::object_state(std::string_view canonical_id) const {
  CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get(Family::kCustody, object_key(canonical_id)));
  if (!stored) return std::optional<ObjectState>();
  CUSTOS_ASSIGN_OR_RETURN(ObjectState state, decode_object_state(*stored));
  return std::optional<ObjectState>(std::move(state));
}

Result<std::vector<std::string>> EventIndex::list_under(Family family, std::string_view prefix,
                                                        size_t limit) const {
  std::vector<std::string> out;
  auto iterator = store_.new_iterator(family);
  for (iterator->seek(prefix); iterator->valid() && out.size() < limit; iterator->next()) {
    std::string_view key = iterator->key();
    if (!key.starts_with(prefix)) break;
    out.emplace_back(key.substr(prefix.size()));
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  return out;
}

namespace {


struct VocabularyKeys {
  Family family;
  char prefix;
  bool value_then_nul;  // index keys: prefix + value + NUL + log index
};

VocabularyKeys vocabulary_keys(Vocabulary vocabulary) {
  switch (vocabulary) {
    case Vocabulary::kBizStep:
      return {Family::kIndexes, kBizStepPrefix, true};
    case Vocabulary::kDisposition:
      return {Family::kIndexes, kDispositionPrefix, true};
    case Vocabulary::kReadPoint:
      return {Family::kIndexes, kReadPointPrefix, true};
    case Vocabulary::kBizLocation:
      return {Family::kIndexes, kLocationPrefix, true};
    case Vocabulary::kObject:
      break;
  }
  return {Family::kCustody, kObjectPrefix, false};
}

}  // namespace

Result<ValuePage> EventIndex::distinct_values(Vocabulary vocabulary, size_t per_page,
                                              std::string_view page_token) const {
  if (per_page == 0 || per_page > kMaxPerPage) {
    return invalid_argument("perPage must be between 1 and " + std::to_string(kMaxPerPage));
  }
  std::string after;
  if (!page_token.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(Bytes raw, decode_page_token(kValueTokenKind, page_token));
    after.assign(raw.begin(), raw.end());
  }
  const VocabularyKeys keys = vocabulary_keys(vocabulary);
  const std::string prefix(1, keys.prefix);
  ValuePage page;
  auto iterator = store_.new_iterator(keys.family);
  // Past every key of the last value shown: its keys continue with NUL (index
  // keys) or end there (object keys), and "\x01" sorts after both.
  std::string target = prefix;
  if (!after.empty()) {
    target += after;
    target.push_back('\x01');
  }
  iterator->seek(target);
  bool more = false;
  while (iterator->valid()) {
    std::string_view key = iterator->key();
    if (!key.starts_with(prefix)) break;
    std::string_view value = key.substr(1);
    if (keys.value_then_nul) {
      const size_t nul = value.find('\0');
      if (nul == std::string_view::npos) return data_loss("malformed index key");
      value = value.substr(0, nul);
    }
    if (page.values.size() == per_page) {
      more = true;
      break;
    }
    page.values.emplace_back(value);
    if (keys.value_then_nul) {
      target = prefix;
      target += value;
      target.push_back('\x01');
      iterator->seek(target);
    } else {
      iterator->next();
    }
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  if (more) {
    page.next_page_token = encode_page_token(kValueTokenKind, as_bytes(page.values.back()));
  }
  return page;
}

Result<bool> EventIndex::has_value(Vocabulary vocabulary, std::string_view value) const {
  const VocabularyKeys keys = vocabulary_keys(vocabulary);
  if (!keys.value_then_nul) {
    CUSTOS_ASSIGN_OR_RETURN(auto stored, store_.get(keys.family, object_key(value)));
    return stored.has_value();
  }
  CUSTOS_ASSIGN_OR_RETURN(auto found, list_under(keys.family, value_prefix(keys.prefix, value), 1));
  return !found.empty();
}

Result<std::vector<std::string>> EventIndex::objects_at(std::string_view biz_location,
                                                        size_t limit) const {
  return list_under(Family::kCustody, value_prefix(kPresentPrefix, biz_location), limit);
}

Result<std::vector<std::string>> EventIndex::children_of(std::string_view parent,
                                                         size_t limit) const {
  return list_under(Family::kCustody, value_prefix(kChildPrefix, parent), limit);
}

}  // namespace custos::custody
