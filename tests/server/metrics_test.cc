#include "custos/server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace custos {
namespace {

bool contains(const std::string& text, std::string_view needle) {
  return text.find(needle) != std::string::npos;
}

TEST(Metrics, CountersRenderWithHelpTypeAndLabels) {
  MetricsRegistry registry;
  registry.counter("requests_total", "Requests.", {{"route", "a"}, {"code", "200"}}).inc();
  Counter& c = registry.counter("requests_total", "Requests.", {{"route", "a"}, {"code", "200"}});
  c.inc(2);
  registry.counter("requests_total", "Requests.", {{"route", "b"}, {"code", "404"}}).inc();
  EXPECT_EQ(c.value(), 3u);
  std::string text = registry.render();
  EXPECT_EQ(text,
            "# HELP requests_total Requests.\n"
            "# TYPE requests_total counter\n"
            "requests_total{route=\"a\",code=\"200\"} 3\n"
            "requests_total{route=\"b\",code=\"404\"} 1\n");
}

TEST(Metrics, GaugesAndUnlabelledSeries) {
  MetricsRegistry registry;
  Gauge& gauge = registry.gauge("open_connections", "Open connections.");
  gauge.inc();
  gauge.inc();
  gauge.dec();
  registry.gauge("temperature", "Temp.").set(-1.5);
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE open_connections gauge\nopen_connections 1\n"));
  EXPECT_TRUE(contains(text, "temperature -1.5\n"));
}

TEST(Metrics, HistogramBucketsAreCumulativeWithInf) {
  MetricsRegistry registry;
  Histogram& histogram =
      registry.histogram("latency_seconds", "Latency.", {0.1, 0.5, 1}, {{"route", "x"}});
  histogram.observe(0.05);
  histogram.observe(0.1);  // upper bounds are inclusive
  histogram.observe(0.7);
  histogram.observe(3);
  EXPECT_EQ(histogram.count(), 4u);
  EXPECT_DOUBLE_EQ(histogram.sum(), 3.85);
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE latency_seconds histogram\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{route=\"x\",le=\"0.1\"} 2\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{route=\"x\",le=\"0.5\"} 2\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{route=\"x\",le=\"1\"} 3\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{route=\"x\",le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_sum{route=\"x\"} 3.85\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_count{route=\"x\"} 4\n"));
}

TEST(Metrics, HistogramBoundsAreFixedByFirstRegistration) {
  MetricsRegistry registry;
  registry.histogram("h", "H.", {1, 2}, {{"k", "a"}});
  Histogram& second = registry.histogram("h", "H.", {5}, {{"k", "b"}});
  EXPECT_EQ(second.upper_bounds(), (std::vector<double>{1, 2}));
  Histogram unsorted({3, 1, 2, 2});
  EXPECT_EQ(unsorted.upper_bounds(), (std::vector<double>{1, 2, 3}));
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.counter("escaped_total", "Line one\nback\\slash", {{"path", "a\"b\\c\nd"}}).inc();
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP escaped_total Line one\\nback\\\\slash\n"));
  EXPECT_TRUE(contains(text, "escaped_total{path=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(Metrics, MisuseGivesDetachedSeriesThatIsNotRendered) {
  MetricsRegistry registry;
  registry.counter("thing", "A counter.").inc();
  Gauge& wrong_type = registry.gauge("thing", "Now a gauge.");
  wrong_type.set(5);  // works, but is not exported
  registry.counter("bad name", "Bad.").inc();
  registry.counter("good_total", "Good.", {{"bad-label", "x"}}).inc();
  registry.counter("le_total", "Reserved label.", {{"le", "1"}}).inc();
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# TYPE thing counter\nthing 1\n"));
  EXPECT_FALSE(contains(text, "thing 5"));
  EXPECT_FALSE(contains(text, "bad name"));
  EXPECT_FALSE(contains(text, "good_total"));
  EXPECT_FALSE(contains(text, "le_total"));
}

TEST(Metrics, CollectorsRunBeforeRender) {
  MetricsRegistry registry;
  int calls = 0;
  registry.add_collector([&calls](MetricsRegistry& metrics) {
    ++calls;
    metrics.gauge("tree_size", "Entries in the log.").set(calls * 10);
  });
  EXPECT_TRUE(contains(registry.render(), "tree_size 10\n"));
  EXPECT_TRUE(contains(registry.render(), "tree_size 20\n"));
}

TEST(Metrics, ConcurrentUpdatesAreNotLost) {
  MetricsRegistry registry;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry, t] {
      Counter& counter = registry.counter("hits_total", "Hits.");
      Histogram& histogram = registry.histogram("size", "Sizes.", {1, 10});
      Gauge& gauge = registry.gauge("level", "Level.");
      for (int i = 0; i < kPerThread; ++i) {
        counter.inc();
        histogram.observe(i % 20);
        gauge.add(1);
        if (i % 5000 == 0) {
          registry.counter("per_thread_total", "Per thread.", {{"t", std::to_string(t)}}).inc();
          (void)registry.render();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(registry.counter("hits_total", "Hits.").value(), uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(registry.histogram("size", "Sizes.", {}).count(), uint64_t{kThreads} * kPerThread);
  EXPECT_DOUBLE_EQ(registry.gauge("level", "Level.").value(), double{kThreads} * kPerThread);
}

}  // namespace
}  // namespace custos
