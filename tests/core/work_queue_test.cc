#include "custos/core/work_queue.h"

#include <gtest/gtest.h>

#include <atomic>

namespace custos {
namespace {

TEST(WorkQueueTest, RunsEveryPostedTaskBeforeDestruction) {
  std::atomic<int> sum{0};
  {
    WorkQueue queue(3);
    for (int i = 1; i <= 1000; ++i) queue.post([&sum, i] { sum += i; });
  }
  EXPECT_EQ(sum.load(), 500500);
}

TEST(WorkQueueTest, SingleWorkerKeepsOrder) {
  std::vector<int> order;
  {
    WorkQueue queue(1);
    for (int i = 0; i < 100; ++i) queue.post([&order, i] { order.push_back(i); });
  }
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

}  // namespace
}  // namespace custos
