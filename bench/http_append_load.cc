// http_append_load: HTTP load generator for POST /custos/v1/log/entries.
//
// Opens --connections keep-alive connections, one thread each, and posts
// payloads back to back (each connection has one request in flight, so
// --connections is the concurrency). Every request's latency is measured from
// send to the complete 201 receipt, which the server sends only after the
// entry's group commit is synced. The run is bounded by --entries (total
// requests) and/or --seconds, and never lasts longer than --max-seconds.
// Prints progress to stderr each second and a summary (JSON with --json).
//
//   http_append_load --url http://127.0.0.1:PORT --token-file TOKEN_FILE
//       --connections 64 --entries 200000 --size 256 --json
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "custos/core/json_writer.h"
#include "custos/server/http_client.h"

namespace custos::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr std::string_view kAppendTarget = "/custos/v1/log/entries";

struct LoadOptions {
  std::string url;
  std::string token_file;
  uint32_t connections = 64;
  uint64_t entries = 0;  // 0: bounded by time only
  double seconds = 0;    // 0: bounded by entries only
  double max_seconds = 600;
  uint32_t size = 256;
  uint32_t timeout_ms = 30000;
  bool json = false;
};

// What one connection saw; merged after the threads end.
struct WorkerResult {
  std::vector<uint32_t> latencies_us;      // of successful (201) requests
  std::map<std::string, uint64_t> errors;  // "503", "network", ...
};

// Shared between the workers and the progress reporter.
struct LoadState {
  std::atomic<uint64_t> claimed{0};
  std::atomic<uint64_t> succeeded{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<bool> stop{false};
};

// A payload of `size` bytes, distinct per connection; the first bytes are
// overwritten with a sequence number before each post.
std::string make_payload(uint32_t size, uint32_t connection) {
  std::mt19937_64 random(0x9e3779b97f4a7c15ULL ^ connection);
  std::string payload(size, '\0');
  for (auto& byte : payload) byte = static_cast<char>('a' + random() % 26);
  return payload;
}

void stamp_sequence(std::string& payload, uint32_t connection, uint64_t sequence) {
  char stamp[32];
  int length = std::snprintf(stamp, sizeof stamp, "%u:%llu;", connection,
                             static_cast<unsigned long long>(sequence));
  std::copy_n(stamp, std::min<size_t>(static_cast<size_t>(length), payload.size()),
              payload.begin());
}

void run_connection(const LoadOptions& options, const HostPort& server, const std::string& token,
                    uint32_t connection, SteadyClock::time_point deadline, LoadState& state,
                    WorkerResult& result) {
  HttpClientOptions client_options;
  client_options.timeout = std::chrono::milliseconds(options.timeout_ms);
  HttpClient client(server.host, server.port, client_options);
  HttpHeaders headers;
  headers.set("Authorization", "Bearer " + token);
  headers.set("Content-Type", "application/octet-stream");
  std::string payload = make_payload(options.size, connection);
  if (options.entries > 0) result.latencies_us.reserve(options.entries / options.connections + 1);

  while (!state.stop.load(std::memory_order_relaxed) && SteadyClock::now() < deadline) {
    uint64_t sequence = state.claimed.fetch_add(1, std::memory_order_relaxed);
    if (options.entries > 0 && sequence >= options.entries) break;
    stamp_sequence(payload, connection, sequence);
    auto sent = SteadyClock::now();
    auto response = client.request("POST", kAppendTarget, payload, headers);
    auto elapsed = SteadyClock::now() - sent;
    if (response.is_ok() && response->status == 201) {
      result.latencies_us.push_back(static_cast<uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
      state.succeeded.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    state.failed.fetch_add(1, std::memory_order_relaxed);
    if (response.is_ok()) {
      ++result.errors[std::to_string(response->status)];
    } else {
      ++result.errors["network:" + std::string(status_code_name(response.status().code()))];
      // Do not spin on a server that is gone.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

// User + system CPU seconds this process has used (the load generator's own cost).
double process_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

uint64_t fetch_tree_size(const HostPort& server) {
  HttpClient client(server.host, server.port);
  auto response = client.get("/checkpoint");
  if (!response.is_ok() || response->status != 200) return 0;
  return checkpoint_tree_size(response->body);
}

int run(const LoadOptions& options) {
  auto server = parse_http_url(options.url);
  if (!server.is_ok()) {
    std::cerr << "http_append_load: " << server.status().message() << "\n";
    return 2;
  }
  auto token = read_trimmed_file(options.token_file);
  if (!token.is_ok()) {
    std::cerr << "http_append_load: " << token.status().message() << "\n";
    return 2;
  }
  if (options.connections == 0 || options.size == 0) {
    std::cerr << "http_append_load: --connections and --size must be positive\n";
    return 2;
  }
  double bound_seconds =
      options.seconds > 0 ? std::min(options.seconds, options.max_seconds) : options.max_seconds;

  uint64_t tree_size_before = fetch_tree_size(*server);
  std::string load_before = load_average();
  LoadState state;
  std::vector<WorkerResult> results(options.connections);
  auto started = SteadyClock::now();
  auto deadline = started + std::chrono::duration_cast<SteadyClock::duration>(
                                std::chrono::duration<double>(bound_seconds));

  std::vector<std::thread> workers;
  workers.reserve(options.connections);
  for (uint32_t c = 0; c < options.connections; ++c) {
    workers.emplace_back(
        [&, c] { run_connection(options, *server, *token, c, deadline, state, results[c]); });
  }

  std::atomic<bool> finished{false};
  std::mutex progress_mutex;
  std::condition_variable progress_wake;
  std::thread progress([&] {
    uint64_t last_done = 0;
    auto last = SteadyClock::now();
    std::unique_lock lock(progress_mutex);
    while (
        !progress_wake.wait_for(lock, std::chrono::seconds(1), [&] { return finished.load(); })) {
      auto now = SteadyClock::now();
      uint64_t ok = state.succeeded.load();
      uint64_t failed = state.failed.load();
      double interval = std::chrono::duration<double>(now - last).count();
      double elapsed = std::chrono::duration<double>(now - started).count();
      std::fprintf(stderr, "http_append_load: %6.1f s  %llu ok  %llu errors  %.0f req/s  load %s\n",
                   elapsed, static_cast<unsigned long long>(ok),
                   static_cast<unsigned long long>(failed),
                   static_cast<double>(ok + failed - last_done) / interval, load_average().c_str());
      last_done = ok + failed;
      last = now;
    }
  });

  for (auto& worker : workers) worker.join();
  double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  {
    std::lock_guard lock(progress_mutex);
    finished = true;
  }
  progress_wake.notify_all();
  progress.join();
  std::string load_after = load_average();
  uint64_t tree_size_after = fetch_tree_size(*server);

  std::vector<uint32_t> latencies;
  std::map<std::string, uint64_t> errors;
  for (auto& result : results) {
    latencies.insert(latencies.end(), result.latencies_us.begin(), result.latencies_us.end());
    for (const auto& [kind, count] : result.errors) errors[kind] += count;
  }
  LatencySummary summary = summarise_latencies(latencies);
  uint64_t ok = state.succeeded.load();
  uint64_t failed = state.failed.load();
  double rate = static_cast<double>(ok) / seconds;

  if (options.json) {
    // clang-format off
    JsonWriter json;
    json.begin_object()
        .key("url").string(options.url)
        .key("connections").number(static_cast<uint64_t>(options.connections))
        .key("payload_bytes").number(static_cast<uint64_t>(options.size))
        .key("requested_entries").number(options.entries)
        .key("seconds").number(seconds)
        .key("requests").number(ok + failed)
        .key("ok").number(ok)
        .key("failed").number(failed)
        .key("entries_per_s").number(rate)
        .key("payload_mb_per_s").number(rate * options.size / 1e6)
        .key("latency_us");
    write_latency_json(json, summary);
    json.key("errors").begin_object();
    for (const auto& [kind, count] : errors) json.key(kind).number(count);
    json.end_object()
        .key("tree_size_before").number(tree_size_before)
        .key("tree_size_after").number(tree_size_after)
        .key("loadavg_start").string(load_before)
        .key("loadavg_end").string(load_after)
        .key("client_cpu_seconds").number(process_cpu_seconds())
        .end_object();
    std::cout << json.str() << "\n";
    // clang-format on
  } else {
    std::cout << ok << " entries appended (" << failed << " failed) in " << seconds
              << " s: " << static_cast<uint64_t>(rate) << " entries/s; latency us p50 "
              << summary.p50_us << " p90 " << summary.p90_us << " p99 " << summary.p99_us << " max "
              << summary.max_us << "\n";
    for (const auto& [kind, count] : errors)
      std::cout << "  error " << kind << ": " << count << "\n";
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace custos::bench

int main(int argc, char** argv) {
  custos::bench::LoadOptions options;
  CLI::App app{"HTTP append load generator: keep-alive connections posting log entries"};
  app.add_option("--url", options.url, "Server base URL, http://host:port")->required();
  app.add_option("--token-file", options.token_file, "File holding a bearer token allowed to append (log.append)")
      ->required();
  app.add_option("--connections", options.connections, "Keep-alive connections (one thread each)")
      ->capture_default_str();
  app.add_option("--entries", options.entries, "Total requests (0: bounded by --seconds)")
      ->capture_default_str();
  app.add_option("--seconds", options.seconds, "Run time bound (0: bounded by --entries)")
      ->capture_default_str();
  app.add_option("--max-seconds", options.max_seconds, "Hard bound on run time")
      ->capture_default_str();
  app.add_option("--size", options.size, "Payload bytes per entry")->capture_default_str();
  app.add_option("--timeout-ms", options.timeout_ms, "Per-request timeout")->capture_default_str();
  app.add_flag("--json", options.json, "Print the summary as JSON");
  CLI11_PARSE(app, argc, argv);
  if (options.entries == 0 && options.seconds <= 0) options.entries = 200000;
  return custos::bench::run(options);
}
