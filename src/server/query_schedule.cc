#include "custos/server/query_schedule.h"

#include <algorithm>
#include <chrono>
#include <initializer_list>
#include <string_view>

namespace custos {

namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kSecondsPerDay = 86400;
// The Gregorian calendar repeats every 400 years: a schedule that has not
// fired within that span never will.
constexpr int64_t kSearchDays = 146097;

using Values = std::bitset<64>;

std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

// InvalidArgument "schedule.<field>: <pieces...>".
Status field_error(std::string_view field, std::initializer_list<std::string_view> pieces) {
  std::string message = "schedule.";
  message += field;
  message += ": ";
  for (std::string_view piece : pieces) message += piece;
  return invalid_argument(std::move(message));
}

Result<int> parse_value(std::string_view field, std::string_view text, int low, int high) {
  text = trim_spaces(text);
  const bool digits =
      !text.empty() && text.size() <= 2 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return field_error(field, {"'", text, "' is not a number"});
  int value = 0;
  for (char c : text) value = value * 10 + (c - '0');
  if (value < low || value > high) {
    return field_error(field, {std::to_string(value), " is outside ", std::to_string(low), "-",
                               std::to_string(high)});
  }
  return value;
}

// "5", "1,3", "[9-17]", "9-17,20": the values a field lists.
Result<Values> parse_field(std::string_view field, std::string_view text, int low, int high) {
  Values values;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string_view element = trim_spaces(
        text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    bool bracketed = element.size() >= 2 && element.front() == '[' && element.back() == ']';
    if (bracketed) element = element.substr(1, element.size() - 2);
    const size_t dash = element.find('-');
    if (dash == std::string_view::npos) {
      if (bracketed) return field_error(field, {"'[", element, "]' is not a range [lo-hi]"});
      CUSTOS_ASSIGN_OR_RETURN(int value, parse_value(field, element, low, high));
      values.set(static_cast<size_t>(value));
    } else {
      CUSTOS_ASSIGN_OR_RETURN(int first, parse_value(field, element.substr(0, dash), low, high));
      CUSTOS_ASSIGN_OR_RETURN(int last, parse_value(field, element.substr(dash + 1), low, high));
      if (first > last) return field_error(field, {"the range ", element, " runs backwards"});
      for (int value = first; value <= last; ++value) values.set(static_cast<size_t>(value));
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return values;
}

template <size_t N>
std::bitset<N> narrow(const Values& values) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out.set(i, values.test(i));
  return out;
}

// The first set position >= from in `values` (N when none).
template <size_t N>
size_t next_set(const std::bitset<N>& values, size_t from) {
  while (from < N && !values.test(from)) ++from;
  return from;
}

}  // namespace

Result<QuerySchedule> parse_query_schedule(const QueryScheduleSpec& spec) {
  struct Field {
    std::string_view name;
    const std::string* text;
    int low;
    int high;
    int significance;  // second 0 < minute 1 < hour 2 < day 3 < month 4
  };
  const Field fields[] = {
      {"second", &spec.second, 0, 59, 0}, {"minute", &spec.minute, 0, 59, 1},
      {"hour", &spec.hour, 0, 23, 2},     {"dayOfMonth", &spec.day_of_month, 1, 31, 3},
      {"month", &spec.month, 1, 12, 4},   {"dayOfWeek", &spec.day_of_week, 1, 7, 3},
  };
  int most_significant = -1;
  Values parsed[6];
  for (size_t i = 0; i < 6; ++i) {
    const Field& field = fields[i];
    if (field.text->empty()) continue;
    CUSTOS_ASSIGN_OR_RETURN(parsed[i], parse_field(field.name, *field.text, field.low, field.high));
    most_significant = std::max(most_significant, field.significance);
  }
  if (most_significant < 0) {
    return invalid_argument(
        "schedule: give at least one of second, minute, hour, dayOfMonth, month, dayOfWeek");
  }
  for (size_t i = 0; i < 6; ++i) {
    const Field& field = fields[i];
    if (!field.text->empty()) continue;
    const bool any = field.significance > most_significant || field.name == "dayOfWeek" ||
                     (field.name == "dayOfMonth" && !spec.day_of_week.empty());
    if (any) {
      for (int value = field.low; value <= field.high; ++value) {
        parsed[i].set(static_cast<size_t>(value));
      }
    } else {
      parsed[i].set(static_cast<size_t>(field.low));
    }
  }
  QuerySchedule schedule;
  schedule.spec = spec;
  schedule.seconds = narrow<60>(parsed[0]);
  schedule.minutes = narrow<60>(parsed[1]);
  schedule.hours = narrow<24>(parsed[2]);
  schedule.days_of_month = narrow<32>(parsed[3]);
  schedule.months = narrow<13>(parsed[4]);
  schedule.days_of_week = narrow<8>(parsed[5]);
  if (!next_fire_time(schedule, 0).is_ok()) {
    return invalid_argument("schedule: no date matches dayOfMonth, month and dayOfWeek together");
  }
  return schedule;
}

Result<UnixMicros> next_fire_time(const QuerySchedule& schedule, UnixMicros after) {
  using namespace std::chrono;
  // The first whole second strictly after `after` (floor division for times before 1970).
  int64_t after_seconds = after / kMicrosPerSecond;
  if (after % kMicrosPerSecond < 0) --after_seconds;
  const int64_t start = after_seconds + 1;
  int64_t day = start / kSecondsPerDay;
  if (start % kSecondsPerDay < 0) --day;
  int64_t time_of_day = start - day * kSecondsPerDay;
  const int64_t last_day = day + kSearchDays;
  while (day <= last_day) {
    const sys_days date{days{day}};
    const year_month_day ymd{date};
    const auto month = static_cast<unsigned>(ymd.month());
    if (!schedule.months.test(month)) {
      const year_month_day next_month{(ymd.year() / ymd.month() / 1) + months{1}};
      day = sys_days{next_month}.time_since_epoch().count();
      time_of_day = 0;
      continue;
    }
    const unsigned day_of_month = static_cast<unsigned>(ymd.day());
    const unsigned day_of_week = weekday{date}.iso_encoding();
    if (schedule.days_of_month.test(day_of_month) && schedule.days_of_week.test(day_of_week)) {
      const auto from_hour = static_cast<size_t>(time_of_day / 3600);
      const auto from_minute = static_cast<size_t>(time_of_day / 60 % 60);
      const auto from_second = static_cast<size_t>(time_of_day % 60);
      for (size_t hour = next_set(schedule.hours, from_hour); hour < 24;
           hour = next_set(schedule.hours, hour + 1)) {
        const bool same_hour = hour == from_hour;
        for (size_t minute = next_set(schedule.minutes, same_hour ? from_minute : 0); minute < 60;
             minute = next_set(schedule.minutes, minute + 1)) {
          const bool same_minute = same_hour && minute == from_minute;
          const size_t second = next_set(schedule.seconds, same_minute ? from_second : 0);
          if (second < 60) {
            const int64_t at =
                day * kSecondsPerDay + static_cast<int64_t>(hour * 3600 + minute * 60 + second);
            return at * kMicrosPerSecond;
          }
        }
      }
    }
    ++day;
    time_of_day = 0;
  }
  return not_found("the schedule never fires");
}

}  // namespace custos
