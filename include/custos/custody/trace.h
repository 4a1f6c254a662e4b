// custos custody: the chain of custody of one object, from the indexes.
//
// trace() gathers every event that tells where an object was and who held
// it:
//   - its own events (as epc, child, parent, input or output);
//   - up: while it was aggregated into a container (AggregationEvent or
//     AssociationEvent ADD naming it as a child, until a DELETE that removes
//     it or empties the container), the container's own events in that
//     interval, recursively (item in case in pallet in truck);
//   - down: while it contained children, their events in that interval,
//     recursively;
//   - back through transformations: the history of the inputs of a
//     TransformationEvent that output it.
// Steps are ordered by event time (then log index); each names the object
// the event was about and how it relates to the traced one. A gap is flagged
// where no event covers the object for longer than `max_silence`, and where
// a step hands the object from one capturing principal to another without
// a receiving event in between is left to the detectors (issue 6).
//
// Bounded: at most `max_steps` steps and `max_depth` levels of containers,
// contents and transformation inputs; `truncated` says when a bound cut it.
// Thread-safe as EventIndex's reads are.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/custody/event_index.h"
#include "custos/custody/indexed_event.h"

namespace custos::custody {

enum class TraceRelation : uint8_t {
  kSelf,        // the traced object's own event
  kContainer,   // an event of a container the object was in at the time
  kContent,     // an event of an object inside the traced one at the time
  kInput,       // an event of a transformation input the object was made from
};
std::string_view trace_relation_name(TraceRelation relation);

struct TraceStep {
  IndexedEvent event;
  TraceRelation relation = TraceRelation::kSelf;
  std::string subject;  // the object (canonical id) the event is about
  uint32_t depth = 0;   // levels from the traced object (0 for its own events)
};

struct TraceGap {
  uint64_t after_log_index = 0;   // the last step before the silence
  uint64_t before_log_index = 0;  // the first step after it
  int64_t from_micros = 0;        // event times
  int64_t to_micros = 0;
};

struct Trace {
  std::string subject;  // canonical id traced
  std::vector<TraceStep> steps;
  std::vector<TraceGap> gaps;
  bool truncated = false;
};

struct TraceOptions {
  size_t max_steps = 20000;
  uint32_t max_depth = 4;
  int64_t max_silence_micros = int64_t{24} * 3600 * 1000000;  // one day
};

// NotFound when no event names `canonical_id`.
Result<Trace> trace(const EventIndex& index, std::string_view canonical_id,
                    const TraceOptions& options = {});

}  // namespace custos::custody
