#include "custos/server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "custos/core/logging.h"

namespace custos {
namespace {

bool is_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

bool is_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__") || name == "le") return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

void append_escaped_label_value(std::string& out, std::string_view value) {
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_escaped_help(std::string& out, std::string_view help) {
  for (char c : help) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
}

void append_double(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, ec == std::errc() ? end : buffer);
  }
}

// `{a="x",b="y"}` or "" for no labels; `extra` is appended last (for "le").
std::string render_labels(const MetricLabels& labels, std::string_view extra = {}) {
  if (labels.empty() && extra.empty()) return {};
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ',';
    out += labels[i].first;
    out += "=\"";
    append_escaped_label_value(out, labels[i].second);
    out += '"';
  }
  if (!extra.empty()) {
    if (!labels.empty()) out += ',';
    out += extra;
  }
  out += '}';
  return out;
}

std::string_view type_name(bool counter, bool gauge) {
  return counter ? "counter" : gauge ? "gauge" : "histogram";
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds) : upper_bounds_(std::move(upper_bounds)) {
  std::erase_if(upper_bounds_, [](double bound) { return !std::isfinite(bound); });
  std::sort(upper_bounds_.begin(), upper_bounds_.end());
  upper_bounds_.erase(std::unique(upper_bounds_.begin(), upper_bounds_.end()), upper_bounds_.end());
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1);
}

void Histogram::observe(double value) {
  // Prometheus buckets are "less than or equal to" the upper bound.
  size_t bucket = static_cast<size_t>(
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::bucket_counts() const {
  std::vector<uint64_t> counts(upper_bounds_.size() + 1);
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = counts_[i].load(std::memory_order_relaxed);
  return counts;
}

uint64_t Histogram::count() const {
  uint64_t total = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
  }
  return total;
}

std::vector<double> default_latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

MetricsRegistry::Series* MetricsRegistry::find_or_create(Type type, std::string_view name,
                                                         std::string_view help,
                                                         const MetricLabels& labels,
                                                         const std::vector<double>* upper_bounds) {
  auto make_series = [&](const std::vector<double>& bounds) {
    Series series;
    series.labels = labels;
    switch (type) {
      case Type::kCounter:
        series.counter = std::make_unique<Counter>();
        break;
      case Type::kGauge:
        series.gauge = std::make_unique<Gauge>();
        break;
      case Type::kHistogram:
        series.histogram = std::make_unique<Histogram>(bounds);
        break;
    }
    return series;
  };
  auto detach = [&](std::string_view reason) {
    log_event(LogLevel::kError, "metrics.misuse",
              {{"metric", std::string(name)}, {"reason", std::string(reason)}});
    std::vector<double> bounds = upper_bounds != nullptr ? *upper_bounds : std::vector<double>{};
    detached_.push_back(std::make_unique<Series>(make_series(bounds)));
    return detached_.back().get();
  };

  std::lock_guard lock(mutex_);
  if (!is_metric_name(name)) return detach("invalid metric name");
  for (const auto& [label_name, value] : labels) {
    if (!is_label_name(label_name)) return detach("invalid label name " + label_name);
  }
  auto family_it = families_.find(name);
  if (family_it == families_.end()) {
    Family family{type, std::string(help), {}, {}};
    if (upper_bounds != nullptr) family.upper_bounds = *upper_bounds;
    family_it = families_.emplace(std::string(name), std::move(family)).first;
  } else if (family_it->second.type != type) {
    return detach("registered before with another type");
  }
  Family& family = family_it->second;
  std::string key = render_labels(labels);
  auto series_it = family.series.find(key);
  if (series_it == family.series.end()) {
    series_it = family.series.emplace(std::move(key), make_series(family.upper_bounds)).first;
  }
  return &series_it->second;
}

Counter& MetricsRegistry::counter(std::string_view name, std::string_view help,
                                  const MetricLabels& labels) {
  return *find_or_create(Type::kCounter, name, help, labels, nullptr)->counter;
}

Gauge& MetricsRegistry::gauge(std::string_view name, std::string_view help,
                              const MetricLabels& labels) {
  return *find_or_create(Type::kGauge, name, help, labels, nullptr)->gauge;
}

Histogram& MetricsRegistry::histogram(std::string_view name, std::string_view help,
                                      const std::vector<double>& upper_bounds,
                                      const MetricLabels& labels) {
  return *find_or_create(Type::kHistogram, name, help, labels, &upper_bounds)->histogram;
}

void MetricsRegistry::add_collector(std::function<void(MetricsRegistry&)> collector) {
  std::lock_guard lock(collectors_mutex_);
  collectors_.push_back(std::move(collector));
}

std::string MetricsRegistry::render() {
  {
    std::lock_guard lock(collectors_mutex_);
    for (const auto& collector : collectors_) collector(*this);
  }
  std::string out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    out += "# HELP ";
    out += name;
    out += ' ';
    append_escaped_help(out, family.help);
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type_name(family.type == Type::kCounter, family.type == Type::kGauge);
    out += '\n';
    for (const auto& [label_text, series] : family.series) {
      if (family.type == Type::kCounter) {
        out += name;
        out += label_text;
        out += ' ';
        out += std::to_string(series.counter->value());
        out += '\n';
      } else if (family.type == Type::kGauge) {
        out += name;
        out += label_text;
        out += ' ';
        append_double(out, series.gauge->value());
        out += '\n';
      } else {
        const Histogram& histogram = *series.histogram;
        std::vector<uint64_t> counts = histogram.bucket_counts();
        uint64_t cumulative = 0;
        for (size_t i = 0; i < counts.size(); ++i) {
          cumulative += counts[i];
          std::string le = "le=\"";
          if (i < histogram.upper_bounds().size()) {
            append_double(le, histogram.upper_bounds()[i]);
          } else {
            le += "+Inf";
          }
          le += '"';
          out += name;
          out += "_bucket";
          out += render_labels(series.labels, le);
          out += ' ';
          out += std::to_string(cumulative);
          out += '\n';
        }
        out += name;
        out += "_sum";
        out += label_text;
        out += ' ';
        append_double(out, histogram.sum());
        out += '\n';
        out += name;
        out += "_count";
        out += label_text;
        out += ' ';
        out += std::to_string(cumulative);
        out += '\n';
      }
    }
  }
  return out;
}

}  // namespace custos
