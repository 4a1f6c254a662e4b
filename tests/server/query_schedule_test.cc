// The schedule of scheduled EPCIS subscriptions: the binding's field grammar
// (numbers, [lo-hi] ranges, lists), the defaults of omitted fields, and the
// next fire time across minute, hour, day, month and year boundaries.
#include "custos/server/query_schedule.h"

#include <gtest/gtest.h>

#include "custos/epcis/event.h"

namespace custos {
namespace {

UnixMicros at(std::string_view text) {
  auto parsed = epcis::parse_timestamp(text);
  EXPECT_TRUE(parsed.is_ok()) << text;
  return parsed.is_ok() ? parsed->utc_micros : 0;
}

QuerySchedule schedule_of(const QueryScheduleSpec& spec) {
  auto parsed = parse_query_schedule(spec);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  return parsed.is_ok() ? std::move(parsed).value() : QuerySchedule{};
}

std::string next_after(const QueryScheduleSpec& spec, std::string_view after) {
  auto next = next_fire_time(schedule_of(spec), at(after));
  EXPECT_TRUE(next.is_ok()) << next.status().to_string();
  return next.is_ok() ? format_rfc3339_micros(*next) : "";
}

TEST(QueryScheduleTest, TheBindingsExampleFiresDailyAtFiveAfterOne) {
  const QueryScheduleSpec spec{.minute = "5", .hour = "1"};
  EXPECT_EQ(next_after(spec, "2026-11-26T00:00:00Z"), "2026-11-26T01:05:00.000000Z");
  // Strictly after: the fire time itself moves on to the next day.
  EXPECT_EQ(next_after(spec, "2026-11-26T01:05:00Z"), "2026-11-27T01:05:00.000000Z");
  EXPECT_EQ(next_after(spec, "2026-11-26T01:04:59.999Z"), "2026-11-26T01:05:00.000000Z");
}

TEST(QueryScheduleTest, MinuteAndHourRollOver) {
  const QueryScheduleSpec hourly{.minute = "0"};
  EXPECT_EQ(next_after(hourly, "2026-11-26T10:30:15Z"), "2026-11-26T11:00:00.000000Z");
  EXPECT_EQ(next_after(hourly, "2026-11-26T23:00:00Z"), "2026-11-27T00:00:00.000000Z");

  const QueryScheduleSpec seconds{.second = "0,30"};
  EXPECT_EQ(next_after(seconds, "2026-11-26T10:00:00.5Z"), "2026-11-26T10:00:30.000000Z");
  EXPECT_EQ(next_after(seconds, "2026-11-26T10:59:30Z"), "2026-11-26T11:00:00.000000Z");

  const QueryScheduleSpec range{.minute = "[10-12]"};
  EXPECT_EQ(next_after(range, "2026-11-26T10:11:00Z"), "2026-11-26T10:12:00.000000Z");
  EXPECT_EQ(next_after(range, "2026-11-26T10:12:00Z"), "2026-11-26T11:10:00.000000Z");

  const QueryScheduleSpec last_second{.second = "59", .minute = "59", .hour = "23"};
  EXPECT_EQ(next_after(last_second, "2026-12-31T23:59:59Z"), "2027-01-01T23:59:59.000000Z");
}

TEST(QueryScheduleTest, DaysMonthsAndWeekdays) {
  const QueryScheduleSpec mondays{.day_of_week = "1"};  // 2026-11-26 is a Thursday
  EXPECT_EQ(next_after(mondays, "2026-11-26T12:00:00Z"), "2026-11-30T00:00:00.000000Z");
  const QueryScheduleSpec weekend{.hour = "[8-9],18", .day_of_week = "6-7"};
  EXPECT_EQ(next_after(weekend, "2026-11-26T12:00:00Z"), "2026-11-28T08:00:00.000000Z");
  EXPECT_EQ(next_after(weekend, "2026-11-28T09:00:00Z"), "2026-11-28T18:00:00.000000Z");
  EXPECT_EQ(next_after(weekend, "2026-11-29T18:00:00Z"), "2026-12-05T08:00:00.000000Z");

  const QueryScheduleSpec day31{.day_of_month = "31"};  // skips the months without one
  EXPECT_EQ(next_after(day31, "2026-04-01T00:00:00Z"), "2026-05-31T00:00:00.000000Z");
  const QueryScheduleSpec new_year{.month = "1"};
  EXPECT_EQ(next_after(new_year, "2026-12-31T23:59:59.5Z"), "2027-01-01T00:00:00.000000Z");
  const QueryScheduleSpec leap{.day_of_month = "29", .month = "2"};
  EXPECT_EQ(next_after(leap, "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00.000000Z");
  // Both day fields must match.
  const QueryScheduleSpec friday13{.day_of_month = "13", .day_of_week = "5"};
  EXPECT_EQ(next_after(friday13, "2026-11-26T00:00:00Z"), "2027-08-13T00:00:00.000000Z");
}

TEST(QueryScheduleTest, OmittedFieldsBelowTheMostSignificantTakeTheirLowestValue) {
  const QueryScheduleSpec spec{.hour = "6"};
  const QuerySchedule schedule = schedule_of(spec);
  EXPECT_EQ(schedule.minutes.count(), 1u);
  EXPECT_TRUE(schedule.minutes.test(0));
  EXPECT_EQ(schedule.seconds.count(), 1u);
  EXPECT_EQ(schedule.days_of_month.count(), 31u);  // more significant: any
  EXPECT_EQ(schedule.days_of_week.count(), 7u);
  EXPECT_EQ(schedule.months.count(), 12u);
  const QueryScheduleSpec monthly{.month = "3,6"};
  const QuerySchedule quarterly = schedule_of(monthly);
  EXPECT_EQ(quarterly.days_of_month.count(), 1u);
  EXPECT_TRUE(quarterly.days_of_month.test(1));
}

TEST(QueryScheduleTest, BadSpecsAreRefusedNamingTheField) {
  auto refused = [](QueryScheduleSpec spec, std::string_view expected) {
    auto parsed = parse_query_schedule(spec);
    ASSERT_FALSE(parsed.is_ok());
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos)
        << parsed.status().message();
  };
  refused({}, "at least one");
  refused({.minute = "61"}, "schedule.minute: 61 is outside 0-59");
  refused({.minute = "[5-3]"}, "schedule.minute: the range 5-3 runs backwards");
  refused({.minute = "five"}, "schedule.minute: 'five' is not a number");
  refused({.minute = "1,,2"}, "schedule.minute");
  refused({.minute = "[7]"}, "is not a range");
  refused({.day_of_week = "0"}, "schedule.dayOfWeek: 0 is outside 1-7");
  refused({.day_of_month = "32"}, "schedule.dayOfMonth");
  refused({.day_of_month = "30", .month = "2"}, "no date matches");
}

}  // namespace
}  // namespace custos
