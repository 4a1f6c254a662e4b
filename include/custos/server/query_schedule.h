// custos server: the schedule of a scheduled EPCIS query subscription.
//
// A QuerySchedule is the EPCIS QuerySchedule (EPCIS 1.2 section 8.2.5.3, the
// REST binding's QueryScheduleSubscription): six optional fields, each a
// comma-separated list whose elements are a number or an inclusive range
// written "[lo-hi]" (the binding's grammar) or "lo-hi":
//   second 0-59, minute 0-59, hour 0-23, dayOfMonth 1-31, month 1-12,
//   dayOfWeek 1-7 (1 = Monday ... 7 = Sunday).
// The schedule fires at every UTC second that matches every given field (a
// day must match both dayOfMonth and dayOfWeek when both are given). A field
// that is omitted matches any value when it is more significant than the
// most significant field given, and only its lowest value otherwise (the
// significance order is second < minute < hour < day < month), so
// {"hour":"1","minute":"5"} fires once a day at 01:05:00, {"minute":"0"}
// hourly, {"dayOfWeek":"1"} on Mondays at 00:00:00. When dayOfWeek is given
// an omitted dayOfMonth matches any day. At least one field must be given,
// and the schedule must be able to fire (not, say, 31 February).
//
// Pure functions of their arguments; thread-safe.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>

#include "custos/core/clock.h"
#include "custos/core/status.h"

namespace custos {

// The six fields as written (empty: omitted).
struct QueryScheduleSpec {
  std::string second{};
  std::string minute{};
  std::string hour{};
  std::string day_of_month{};
  std::string month{};
  std::string day_of_week{};
};

// A checked schedule: the spec and, per field, the values it fires at.
struct QuerySchedule {
  QueryScheduleSpec spec;
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days_of_month;  // bit d for day d (1..31)
  std::bitset<13> months;         // bit m for month m (1..12)
  std::bitset<8> days_of_week;    // bit d for ISO weekday d (1 = Monday .. 7 = Sunday)
};

// Checks a spec. InvalidArgument naming the field (by its binding name,
// e.g. "schedule.minute: 61 is outside 0-59") for a malformed element, a value
// out of range, a reversed range, an empty schedule or one that never fires.
Result<QuerySchedule> parse_query_schedule(const QueryScheduleSpec& spec);

// The first whole UTC second strictly after `after` at which the schedule
// fires, in Unix microseconds. NotFound only for a schedule that cannot fire
// (parse_query_schedule refuses those).
Result<UnixMicros> next_fire_time(const QuerySchedule& schedule, UnixMicros after);

}  // namespace custos
