// custos server: a small metrics registry with Prometheus text exposition.
//
// A MetricsRegistry owns counters, gauges and histograms, each identified by
// a metric name plus a set of labels, and renders them in the Prometheus text
// exposition format 0.0.4 (one "# HELP" and "# TYPE" line per metric name).
// Look-up (counter(), gauge(), histogram()) takes a mutex and creates the
// series on first use; the returned reference stays valid for the registry's
// lifetime, so hot paths look a series up once and then only touch atomics:
// Counter::inc, Gauge::set/add and Histogram::observe take no lock.
//
// A name reused with a different type, or an invalid metric or label name, is
// a programming error: it is logged and the caller receives a detached series
// that works but is never rendered, so a metrics mistake cannot stop a
// request. A histogram's bucket bounds are fixed by the first registration of
// its name. Collectors registered with add_collector() run at the start of
// every render(), to refresh gauges computed on demand.
//
// Thread-safety: every method of every class here is thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace custos {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void inc() { add(1.0); }
  void dec() { add(-1.0); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

class Histogram {
 public:
  // `upper_bounds` must be sorted ascending and finite; +Inf is implicit.
  explicit Histogram(std::vector<double> upper_bounds);

  void observe(double value);

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }
  // Per-bucket (non-cumulative) counts; the last entry is the +Inf bucket.
  std::vector<uint64_t> bucket_counts() const;
  uint64_t count() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // upper_bounds_.size() + 1
  std::atomic<double> sum_{0.0};
};

// Buckets for request latencies in seconds, 0.5 ms to 10 s.
std::vector<double> default_latency_buckets();

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Gauge& gauge(std::string_view name, std::string_view help, const MetricLabels& labels = {});
  Histogram& histogram(std::string_view name, std::string_view help,
                       const std::vector<double>& upper_bounds, const MetricLabels& labels = {});

  // `collector` runs at the start of each render(); it may call the methods above.
  void add_collector(std::function<void(MetricsRegistry&)> collector);

  // Prometheus text format 0.0.4, metric names in lexicographic order.
  std::string render();

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    MetricLabels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    Type type;
    std::string help;
    std::vector<double> upper_bounds;
    std::map<std::string, Series> series;  // keyed by rendered label set
  };
  Series* find_or_create(Type type, std::string_view name, std::string_view help,
                         const MetricLabels& labels, const std::vector<double>* upper_bounds);

  std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::unique_ptr<Series>> detached_;
  std::mutex collectors_mutex_;
  std::vector<std::function<void(MetricsRegistry&)>> collectors_;
};

}  // namespace custos
