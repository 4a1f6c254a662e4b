// custos bench: helpers shared by the bench/ programs (header-only, so that
// bench/CMakeLists.txt keeps building one executable per *.cc).
//
// Latency summaries, the machine facts every figure in docs/benchmarks.md is
// reported with (load average, process memory), URL and file helpers. Not
// part of any custos library; nothing here is thread-safe unless stated.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/json_writer.h"
#include "custos/core/status.h"

namespace custos::bench {

// Order statistics of latency samples in microseconds (nearest-rank).
struct LatencySummary {
  uint64_t count = 0;
  double mean_us = 0;
  uint64_t p50_us = 0;
  uint64_t p90_us = 0;
  uint64_t p99_us = 0;
  uint64_t p999_us = 0;
  uint64_t max_us = 0;
};

// Sorts `samples` in place and summarises them.
inline LatencySummary summarise_latencies(std::vector<uint32_t>& samples) {
  LatencySummary summary;
  if (samples.empty()) return summary;
  std::sort(samples.begin(), samples.end());
  auto rank = [&samples](double p) {
    auto at = static_cast<size_t>(p * static_cast<double>(samples.size() - 1) + 0.5);
    return static_cast<uint64_t>(samples[std::min(at, samples.size() - 1)]);
  };
  double total = 0;
  for (uint32_t sample : samples) total += sample;
  summary.count = samples.size();
  summary.mean_us = total / static_cast<double>(samples.size());
  summary.p50_us = rank(0.50);
  summary.p90_us = rank(0.90);
  summary.p99_us = rank(0.99);
  summary.p999_us = rank(0.999);
  summary.max_us = samples.back();
  return summary;
}

// Writes the summary as the value of the key the caller just wrote.
inline void write_latency_json(JsonWriter& json, const LatencySummary& summary) {
  // clang-format off
  json.begin_object()
      .key("count").number(summary.count)
      .key("mean").number(summary.mean_us)
      .key("p50").number(summary.p50_us)
      .key("p90").number(summary.p90_us)
      .key("p99").number(summary.p99_us)
      .key("p999").number(summary.p999_us)
      .key("max").number(summary.max_us)
      .end_object();
  // clang-format on
}

// The first line of /proc/loadavg ("0.52 0.61 0.70 1/300 1234"), trimmed.
inline std::string load_average() {
  std::ifstream file("/proc/loadavg");
  std::string line;
  std::getline(file, line);
  return line;
}

// User + system CPU time in seconds that getrusage reports for `who`
// (RUSAGE_SELF: every thread of this process; RUSAGE_THREAD: the caller).
inline double cpu_seconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}
inline double process_cpu_seconds() { return cpu_seconds(RUSAGE_SELF); }
// Page faults the process has taken that needed no I/O (mostly first touches
// of fresh memory, which a VM may make expensive).
inline uint64_t process_minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_minflt);
}
inline double thread_cpu_seconds() { return cpu_seconds(RUSAGE_THREAD); }

// A "kB" field of /proc/<pid>/status (e.g. "VmRSS", "VmHWM") in KiB; 0 when absent.
inline uint64_t proc_status_kib(std::string_view pid, std::string_view field) {
  std::ifstream file("/proc/" + std::string(pid) + "/status");
  std::string line;
  while (std::getline(file, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      std::istringstream value(line.substr(field.size() + 1));
      uint64_t kib = 0;
      value >> kib;
      return kib;
    }
  }
  return 0;
}

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses "http://host:port[/...]" (or "host:port"); https is refused.
inline Result<HostPort> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.starts_with("https://"))
    return invalid_argument("https is not supported: " + std::string(url));
  if (url.starts_with(kScheme)) url.remove_prefix(kScheme.size());
  url = url.substr(0, url.find('/'));
  size_t colon = url.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return invalid_argument("expected http://host:port, got '" + std::string(url) + "'");
  }
  std::string_view host = url.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  std::string_view port_text = url.substr(colon + 1);
  unsigned port = 0;
  auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (parsed.ec != std::errc() || parsed.ptr != port_text.data() + port_text.size() || port == 0 ||
      port > 65535) {
    return invalid_argument("bad port in '" + std::string(url) + "'");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(port)};
}

// The whole file with trailing CR/LF removed; NotFound when unreadable.
inline Result<std::string> read_trimmed_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return not_found("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  std::string contents = text.str();
  while (!contents.empty() && (contents.back() == '\n' || contents.back() == '\r'))
    contents.pop_back();
  return contents;
}

// The tree size on the second line of a checkpoint note; 0 when malformed.
inline uint64_t checkpoint_tree_size(std::string_view note) {
  size_t first = note.find('\n');
  if (first == std::string_view::npos) return 0;
  std::string_view rest = note.substr(first + 1);
  rest = rest.substr(0, rest.find('\n'));
  uint64_t size = 0;
  auto parsed = std::from_chars(rest.data(), rest.data() + rest.size(), size);
  return parsed.ec == std::errc() ? size : 0;
}

}  // namespace custos::bench
