#include "custos/custody/trace.h"

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>

namespace custos::custody {

namespace {

constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();

const std::vector<IdentifierRole> kInstanceRoles = {IdentifierRole::kEpc, IdentifierRole::kChild,
                                                    IdentifierRole::kParent, IdentifierRole::kInput,
                                                    IdentifierRole::kOutput};

struct Interval {
  int64_t from = std::numeric_limits<int64_t>::min();
  int64_t to = kOpen;  // exclusive
  bool contains(int64_t time) const { return time >= from && time < to; }
};

bool names(const IndexedEvent& event, IdentifierRole role, std::string_view id) {
  return std::any_of(event.identifiers.begin(), event.identifiers.end(),
                     [&](const auto& named) { return named.first == role && named.second == id; });
}

std::vector<std::string> named_as(const IndexedEvent& event, IdentifierRole role) {
  std::vector<std::string> ids;
  for (const auto& [named_role, id] : event.identifiers) {
    if (named_role == role) ids.push_back(id);
  }
  return ids;
}

bool is_containment(const IndexedEvent& event) {
  return event.type == EventType::kAggregation || event.type == EventType::kAssociation;
}

class Tracer {
 public:
  Tracer(const EventIndex& index, const TraceOptions& options, Trace& out)
      : index_(index), options_(options), out_(out) {}

  enum Direction : uint8_t { kUp = 1, kDown = 2, kBack = 4, kAll = 7 };

  Status visit(const std::string& id, TraceRelation relation, uint32_t depth, Interval window,
               uint8_t directions) {
    // A subject is expanded once per relation; deeper repeats add nothing new.
    if (!expanded_.insert({id, relation, window.from, window.to}).second) return Status::ok();
    CUSTOS_ASSIGN_OR_RETURN(const Events* found, events_of_ptr(id));
    const Events& events = *found;  // map nodes stay put while visiting
    for (const IndexedEvent* event : events) {
      if (window.contains(event->event_time_micros)) add_step(*event, relation, id, depth);
    }
    if (depth >= options_.max_depth) {
      if (has_links(events, id)) out_.truncated = true;
      return Status::ok();
    }
    if (directions & kUp) {
      CUSTOS_ASSIGN_OR_RETURN(auto containers, container_intervals(id, events));
      for (const auto& [container, interval] : containers) {
        Interval overlap{std::max(interval.from, window.from), std::min(interval.to, window.to)};
        if (overlap.from >= overlap.to) continue;
        CUSTOS_RETURN_IF_ERROR(visit(container, TraceRelation::kContainer, depth + 1, overlap, kUp));
      }
    }
    if (directions & kDown) {
      for (const auto& [content, interval] : content_intervals(id, events)) {
        Interval overlap{std::max(interval.from, window.from), std::min(interval.to, window.to)};
        if (overlap.from >= overlap.to) continue;
        CUSTOS_RETURN_IF_ERROR(visit(content, TraceRelation::kContent, depth + 1, overlap, kDown));
      }
    }
    if (directions & kBack) {
      for (const IndexedEvent* event : events) {
        if (event->type != EventType::kTransformation ||
            !names(*event, IdentifierRole::kOutput, id) ||
            !window.contains(event->event_time_micros)) {
          continue;
        }
        Interval before{std::numeric_limits<int64_t>::min(), event->event_time_micros + 1};
        for (const std::string& input : named_as(*event, IdentifierRole::kInput)) {
          CUSTOS_RETURN_IF_ERROR(
              visit(input, TraceRelation::kInput, depth + 1, before, kUp | kBack));
        }
      }
    }
    return Status::ok();
  }

 private:
  // Events are kept by log index for the whole trace: an aggregation naming
  // a case and its 25 items is read and decoded once, not once per item.
  using Events = std::vector<const IndexedEvent*>;

  // Every event naming `id` as an instance, in event-time order.
  Result<const Events*> events_of_ptr(const std::string& id) {
    auto cached = events_.find(id);
    if (cached != events_.end()) return &cached->second;
    EventQuery query;
    query.identifier_matches.push_back({kInstanceRoles, {id}});
    CUSTOS_ASSIGN_OR_RETURN(std::vector<uint64_t> found, index_.candidate_indexes(query));
    Events events;
    events.reserve(found.size());
    for (uint64_t log_index : found) {
      auto known = summaries_.find(log_index);
      if (known == summaries_.end()) {
        CUSTOS_ASSIGN_OR_RETURN(std::optional<IndexedEvent> summary, index_.summary(log_index));
        if (!summary) {
          return data_loss("index names log entry " + std::to_string(log_index) +
                           " but holds no summary for it");
        }
        known = summaries_.emplace(log_index, std::move(*summary)).first;
      }
      if (event_matches(known->second, query)) events.push_back(&known->second);
    }
    std::sort(events.begin(), events.end(), [](const IndexedEvent* a, const IndexedEvent* b) {
      return std::pair(a->event_time_micros, a->log_index) <
             std::pair(b->event_time_micros, b->log_index);
    });
    return &events_.emplace(id, std::move(events)).first->second;
  }
  bool has_links(const Events& events, std::string_view id) const {
    return std::any_of(events.begin(), events.end(), [&](const IndexedEvent* event) {
      return (is_containment(*event) && (names(*event, IdentifierRole::kChild, id) ||
                                         names(*event, IdentifierRole::kParent, id))) ||
             (event->type == EventType::kTransformation &&
              names(*event, IdentifierRole::kOutput, id));
    });
  }

  // When `id` was inside which container: from its own ADD/OBSERVE/DELETE
  // as a child, closed also by a DELETE that empties the container.
  Result<std::vector<std::pair<std::string, Interval>>> container_intervals(
      const std::string& id, const Events& events) {
    std::vector<std::pair<std::string, Interval>> intervals;
    constexpr size_t kNone = std::numeric_limits<size_t>::max();
    size_t open = kNone;  // the interval still open, if any
    for (const IndexedEvent* event_ptr : events) {
      const IndexedEvent& event = *event_ptr;
      if (!is_containment(event) || !names(event, IdentifierRole::kChild, id)) continue;
      std::vector<std::string> parents = named_as(event, IdentifierRole::kParent);
      if (parents.empty()) continue;
      const std::string& parent = parents.front();
      const int64_t time = event.event_time_micros;
      if (event.action == Action::kDelete) {
        if (open != kNone && intervals[open].first == parent) {
          intervals[open].second.to = time;
          open = kNone;
        }
        continue;
      }
      if (open != kNone && intervals[open].first == parent) continue;  // still inside
      if (open != kNone) intervals[open].second.to = time;              // moved to another container
      intervals.push_back({parent, Interval{time, kOpen}});
      open = intervals.size() - 1;
    }
    if (open != kNone) {
      // The container may have been emptied by a DELETE that lists no children.
      CUSTOS_ASSIGN_OR_RETURN(const Events* parent_events, events_of_ptr(intervals[open].first));
      for (const IndexedEvent* event_ptr : *parent_events) {
        const IndexedEvent& event = *event_ptr;
        if (is_containment(event) && event.action == Action::kDelete &&
            event.event_time_micros >= intervals[open].second.from &&
            names(event, IdentifierRole::kParent, intervals[open].first) &&
            named_as(event, IdentifierRole::kChild).empty()) {
          intervals[open].second.to = event.event_time_micros;
          break;
        }
      }
    }
    return intervals;
  }

  // What was inside `id` and when: from its own containment events as parent.
  std::vector<std::pair<std::string, Interval>> content_intervals(const std::string& id,
                                                                 const Events& events) const {
    std::vector<std::pair<std::string, Interval>> intervals;
    std::map<std::string, size_t> open;
    for (const IndexedEvent* event_ptr : events) {
      const IndexedEvent& event = *event_ptr;
      if (!is_containment(event) || !names(event, IdentifierRole::kParent, id)) continue;
      const int64_t time = event.event_time_micros;
      std::vector<std::string> children = named_as(event, IdentifierRole::kChild);
      if (event.action == Action::kDelete) {
        if (children.empty()) {
          for (const auto& [child, position] : open) intervals[position].second.to = time;
          open.clear();
        }
        for (const std::string& child : children) {
          auto found = open.find(child);
          if (found == open.end()) continue;
          intervals[found->second].second.to = time;
          open.erase(found);
        }
        continue;
      }
      for (const std::string& child : children) {
        if (open.contains(child)) continue;
        intervals.push_back({child, Interval{time, kOpen}});
        open[child] = intervals.size() - 1;
      }
    }
    return intervals;
  }

  void add_step(const IndexedEvent& event, TraceRelation relation, const std::string& subject,
                uint32_t depth) {
    if (!logged_.insert(event.log_index).second) return;  // one step per event
    if (out_.steps.size() >= options_.max_steps) {
      out_.truncated = true;
      return;
    }
    out_.steps.push_back(TraceStep{event, relation, subject, depth});
  }

  const EventIndex& index_;
  const TraceOptions& options_;
  Trace& out_;
  std::map<uint64_t, IndexedEvent> summaries_;  // by log index; nodes never move
  std::map<std::string, Events> events_;
  std::set<std::tuple<std::string, TraceRelation, int64_t, int64_t>> expanded_;
  std::set<uint64_t> logged_;
};

}  // namespace

std::string_view trace_relation_name(TraceRelation relation) {
  switch (relation) {
    case TraceRelation::kSelf:
      return "self";
    case TraceRelation::kContainer:
      return "container";
    case TraceRelation::kContent:
      return "content";
    case TraceRelation::kInput:
      return "input";
  }
  return "unknown";
}

Result<Trace> trace(const EventIndex& index, std::string_view canonical_id,
                    const TraceOptions& options) {
  Trace out;
  out.subject = std::string(canonical_id);
  Tracer tracer(index, options, out);
  CUSTOS_RETURN_IF_ERROR(
      tracer.visit(out.subject, TraceRelation::kSelf, 0, Interval{}, Tracer::kAll));
  if (out.steps.empty()) {
    return not_found("no captured event names " + out.subject);
  }
  std::sort(out.steps.begin(), out.steps.end(), [](const TraceStep& a, const TraceStep& b) {
    return std::pair(a.event.event_time_micros, a.event.log_index) <
           std::pair(b.event.event_time_micros, b.event.log_index);
  });
  for (size_t i = 1; i < out.steps.size(); ++i) {
    const IndexedEvent& before = out.steps[i - 1].event;
    const IndexedEvent& after = out.steps[i].event;
    if (after.event_time_micros - before.event_time_micros > options.max_silence_micros) {
      out.gaps.push_back(TraceGap{before.log_index, after.log_index, before.event_time_micros,
                                  after.event_time_micros});
    }
  }
  return out;
}

}  // namespace custos::custody
