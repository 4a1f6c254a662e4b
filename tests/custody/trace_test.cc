// trace(): an item's chain of custody through the case and pallet it was
// packed in, the pallet's contents, transformation inputs, gaps and bounds.
#include "custos/custody/trace.h"

#include <gtest/gtest.h>

#include <map>

#include "custody_fixture.h"

namespace custos::custody {
namespace {

class TraceTest : public EventIndexTest {
 protected:
  // (relation, subject) of every step, in trace order, keyed by log index.
  std::map<uint64_t, std::pair<TraceRelation, std::string>> steps_of(const Trace& trace) {
    std::map<uint64_t, std::pair<TraceRelation, std::string>> steps;
    for (const TraceStep& step : trace.steps) {
      steps[step.event.log_index] = {step.relation, step.subject};
    }
    return steps;
  }
};

TEST_F(TraceTest, FollowsContainersUpWhileTheItemIsInsideThem) {
  const std::string kase = "https://id.gs1.org/01/10614141123459/21/case-1";
  auto logged = capture({
      object_event(Action::kAdd, {item(1)}, kDock, kReceiving, kBase),                      // 0
      aggregation_event(Action::kAdd, kase, {item(1), item(2)}, kDock, kBase + kHour),       // 1
      aggregation_event(Action::kAdd, pallet(1), {kase}, kDock, kBase + 2 * kHour),          // 2
      object_event(Action::kObserve, {pallet(1)}, kTruck, kShipping, kBase + 3 * kHour),     // 3
      aggregation_event(Action::kDelete, pallet(1), {kase}, kCage, kBase + 4 * kHour),       // 4
      object_event(Action::kObserve, {pallet(1)}, kCage, kShipping, kBase + 5 * kHour),      // 5
      object_event(Action::kObserve, {item(2)}, kCage, kReceiving, kBase + 6 * kHour),       // 6
  });
  auto trace = custody::trace(*index_, item(1));
  ASSERT_TRUE(trace.is_ok()) << trace.status().to_string();
  auto steps = steps_of(*trace);
  // Its own events, the case's packing onto the pallet and the pallet's trip
  // while the case was on it; not the pallet's later event, not item 2's.
  EXPECT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps.at(0), std::make_pair(TraceRelation::kSelf, item(1)));
  EXPECT_EQ(steps.at(1), std::make_pair(TraceRelation::kSelf, item(1)));
  EXPECT_EQ(steps.at(2).first, TraceRelation::kContainer);
  EXPECT_EQ(steps.at(2).second, kase);
  EXPECT_EQ(steps.at(3), std::make_pair(TraceRelation::kContainer, pallet(1)));
  EXPECT_EQ(steps.at(4).first, TraceRelation::kContainer);
  EXPECT_FALSE(steps.contains(5));
  EXPECT_FALSE(steps.contains(6));
  // In event-time order, with depths.
  for (size_t i = 1; i < trace->steps.size(); ++i) {
    EXPECT_LE(trace->steps[i - 1].event.event_time_micros, trace->steps[i].event.event_time_micros);
  }
  EXPECT_TRUE(trace->gaps.empty());
  EXPECT_FALSE(trace->truncated);
}

TEST_F(TraceTest, FollowsContentsDownAndFlagsSilences) {
  capture({
      aggregation_event(Action::kAdd, pallet(2), {item(3), item(4)}, kDock, kBase),           // 0
      object_event(Action::kObserve, {item(3)}, kDock, kReceiving, kBase + kHour),            // 1
      aggregation_event(Action::kDelete, pallet(2), {}, kCage, kBase + 50 * kHour),           // 2
      object_event(Action::kObserve, {item(4)}, kCage, kReceiving, kBase + 51 * kHour),       // 3
  });
  auto trace = custody::trace(*index_, pallet(2));
  ASSERT_TRUE(trace.is_ok()) << trace.status().to_string();
  auto steps = steps_of(*trace);
  EXPECT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps.at(1), std::make_pair(TraceRelation::kContent, item(3)));
  EXPECT_FALSE(steps.contains(3));  // after the pallet was emptied
  // 49 hours without any event: one gap, between entries 1 and 2.
  ASSERT_EQ(trace->gaps.size(), 1u);
  EXPECT_EQ(trace->gaps[0].after_log_index, 1u);
  EXPECT_EQ(trace->gaps[0].before_log_index, 2u);
}

TEST_F(TraceTest, GoesBackThroughTransformationsAndStaysBounded) {
  IndexedEvent blend;
  blend.type = EventType::kTransformation;
  blend.identifiers = {{IdentifierRole::kInput, item(5)}, {IdentifierRole::kInput, item(6)},
                       {IdentifierRole::kOutput, item(7)}};
  blend.biz_location = kCage;
  blend.event_time_micros = kBase + 2 * kHour;
  capture({
      object_event(Action::kAdd, {item(5)}, kDock, kReceiving, kBase),               // 0
      object_event(Action::kAdd, {item(6)}, kTruck, kReceiving, kBase + kHour),      // 1
      blend,                                                                          // 2
      object_event(Action::kObserve, {item(7)}, kCage, kShipping, kBase + 3 * kHour),  // 3
      object_event(Action::kObserve, {item(5)}, kCage, kShipping, kBase + 9 * kHour),  // 4
  });
  auto trace = custody::trace(*index_, item(7));
  ASSERT_TRUE(trace.is_ok()) << trace.status().to_string();
  auto steps = steps_of(*trace);
  EXPECT_EQ(steps.at(0), std::make_pair(TraceRelation::kInput, item(5)));
  EXPECT_EQ(steps.at(1), std::make_pair(TraceRelation::kInput, item(6)));
  EXPECT_EQ(steps.at(2).first, TraceRelation::kSelf);
  EXPECT_FALSE(steps.contains(4));  // the input's events after the transformation

  TraceOptions tight;
  tight.max_steps = 2;
  auto cut = custody::trace(*index_, item(7), tight);
  ASSERT_TRUE(cut.is_ok());
  EXPECT_EQ(cut->steps.size(), 2u);
  EXPECT_TRUE(cut->truncated);

  EXPECT_EQ(custody::trace(*index_, item(99)).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace custos::custody
