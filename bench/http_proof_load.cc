// http_proof_load: latency of GET /custos/v1/log/proof/inclusion over HTTP.
//
// Reads the server's latest checkpoint, then sends --requests inclusion-proof
// requests for random indexes at that tree size over --connections
// keep-alive connections (one thread each, one request in flight each) and
// reports per-request latency (send to complete response, microseconds).
// The first --verify proofs are checked against the checkpoint's root hash
// (RFC 9162 verification), so a fast wrong answer does not pass as a result.
// Progress on stderr each second; JSON summary with --json.
//
//   http_proof_load --url http://127.0.0.1:PORT --requests 20000 --json
#include <simdjson.h>

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
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/proof.h"
#include "custos/server/http_client.h"

namespace custos::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct ProofLoadOptions {
  std::string url;
  uint32_t connections = 1;
  uint64_t requests = 20000;
  uint64_t verify = 200;
  uint64_t seed = 1;
  double max_seconds = 600;
  bool json = false;
};

struct WorkerResult {
  std::vector<uint32_t> latencies_us;
  std::map<std::string, uint64_t> errors;
  uint64_t verified = 0;
  uint64_t verify_failures = 0;
  std::string first_verify_error;
};

// Checks one proof response against the checkpoint root.
Status verify_response(std::string_view body, uint64_t index, uint64_t tree_size,
                       const Hash256& root) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document document;
  if (parser.iterate(padded).get(document) != simdjson::SUCCESS) {
    return invalid_argument("response is not JSON");
  }
  std::string_view leaf_text;
  if (document["leaf_hash"].get_string().get(leaf_text) != simdjson::SUCCESS) {
    return invalid_argument("response has no leaf_hash");
  }
  CUSTOS_ASSIGN_OR_RETURN(Hash256 leaf, Hash256::from_base64(leaf_text));
  simdjson::ondemand::array hashes;
  if (document["inclusion_proof"].get_array().get(hashes) != simdjson::SUCCESS) {
    return invalid_argument("response has no inclusion_proof array");
  }
  std::vector<Hash256> proof;
  for (auto item : hashes) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return invalid_argument("inclusion_proof holds a non-string");
    }
    CUSTOS_ASSIGN_OR_RETURN(Hash256 hash, Hash256::from_base64(text));
    proof.push_back(hash);
  }
  return ledger::verify_inclusion(index, tree_size, leaf, proof, root);
}

int run(const ProofLoadOptions& options) {
  auto server = parse_http_url(options.url);
  if (!server.is_ok() || options.connections == 0) {
    std::cerr << "http_proof_load: "
              << (server.is_ok() ? "--connections must be positive" : server.status().message())
              << "\n";
    return 2;
  }
  HttpClient probe(server->host, server->port);
  auto checkpoint = probe.get("/checkpoint");
  if (!checkpoint.is_ok() || checkpoint->status != 200) {
    std::cerr << "http_proof_load: cannot read " << options.url << "/checkpoint\n";
    return 4;
  }
  const std::string& note = checkpoint->body;
  auto parsed = ledger::parse_checkpoint_body(note.substr(0, note.find("\n\n") + 1));
  if (!parsed.is_ok() || parsed->tree_size == 0) {
    std::cerr << "http_proof_load: the server's log is empty or its checkpoint unreadable\n";
    return 4;
  }
  const uint64_t tree_size = parsed->tree_size;
  const Hash256 root = parsed->root_hash;

  std::atomic<uint64_t> claimed{0};
  std::atomic<uint64_t> finished_requests{0};
  std::vector<WorkerResult> results(options.connections);
  std::string load_before = load_average();
  auto started = SteadyClock::now();
  auto deadline = started + std::chrono::duration_cast<SteadyClock::duration>(
                                std::chrono::duration<double>(options.max_seconds));
  std::vector<std::thread> workers;
  for (uint32_t c = 0; c < options.connections; ++c) {
    workers.emplace_back([&, c] {
      WorkerResult& result = results[c];
      result.latencies_us.reserve(options.requests / options.connections + 1);
      HttpClient client(server->host, server->port);
      std::mt19937_64 random(options.seed * 1000003 + c);
      std::uniform_int_distribution<uint64_t> pick(0, tree_size - 1);
      std::string target;
      while (SteadyClock::now() < deadline) {
        uint64_t sequence = claimed.fetch_add(1, std::memory_order_relaxed);
        if (sequence >= options.requests) break;
        uint64_t index = pick(random);
        target = "/custos/v1/log/proof/inclusion?index=" + std::to_string(index) +
                 "&tree_size=" + std::to_string(tree_size);
        auto sent = SteadyClock::now();
        auto response = client.get(target);
        auto elapsed = SteadyClock::now() - sent;
        finished_requests.fetch_add(1, std::memory_order_relaxed);
        if (!response.is_ok()) {
          ++result.errors["network:" + std::string(status_code_name(response.status().code()))];
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
          continue;
        }
        if (response->status != 200) {
          ++result.errors[std::to_string(response->status)];
          continue;
        }
        result.latencies_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
        if (sequence < options.verify) {
          Status checked = verify_response(response->body, index, tree_size, root);
          if (checked.is_ok()) {
            ++result.verified;
          } else if (result.verify_failures++ == 0) {
            result.first_verify_error = checked.to_string();
          }
        }
      }
    });
  }
  std::atomic<bool> finished{false};
  std::mutex progress_mutex;
  std::condition_variable progress_wake;
  std::thread progress([&] {
    std::unique_lock lock(progress_mutex);
    while (
        !progress_wake.wait_for(lock, std::chrono::seconds(1), [&] { return finished.load(); })) {
      double elapsed = std::chrono::duration<double>(SteadyClock::now() - started).count();
      std::fprintf(stderr, "http_proof_load: %6.1f s  %llu/%llu requests  load %s\n", elapsed,
                   static_cast<unsigned long long>(finished_requests.load()),
                   static_cast<unsigned long long>(options.requests), load_average().c_str());
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

  std::vector<uint32_t> latencies;
  std::map<std::string, uint64_t> errors;
  uint64_t verified = 0, verify_failures = 0, failed = 0;
  std::string first_verify_error;
  for (auto& result : results) {
    latencies.insert(latencies.end(), result.latencies_us.begin(), result.latencies_us.end());
    for (const auto& [kind, count] : result.errors) {
      errors[kind] += count;
      failed += count;
    }
    verified += result.verified;
    verify_failures += result.verify_failures;
    if (first_verify_error.empty()) first_verify_error = result.first_verify_error;
  }
  LatencySummary summary = summarise_latencies(latencies);
  if (options.json) {
    // clang-format off
    JsonWriter json;
    json.begin_object()
        .key("url").string(options.url)
        .key("tree_size").number(tree_size)
        .key("connections").number(static_cast<uint64_t>(options.connections))
        .key("requests").number(summary.count + failed)
        .key("ok").number(summary.count)
        .key("failed").number(failed)
        .key("seconds").number(seconds)
        .key("requests_per_s").number(static_cast<double>(summary.count) / seconds)
        .key("latency_us");
    write_latency_json(json, summary);
    json.key("errors").begin_object();
    for (const auto& [kind, count] : errors) json.key(kind).number(count);
    json.end_object()
        .key("verified").number(verified)
        .key("verify_failures").number(verify_failures);
    if (!first_verify_error.empty()) json.key("first_verify_error").string(first_verify_error);
    json.key("loadavg_start").string(load_before)
        .key("loadavg_end").string(load_average())
        .end_object();
    std::cout << json.str() << "\n";
    // clang-format on
  } else {
    std::cout << summary.count << " inclusion proofs at tree size " << tree_size << " in "
              << seconds << " s; latency us p50 " << summary.p50_us << " p99 " << summary.p99_us
              << " max " << summary.max_us << "; " << failed << " failed, " << verified
              << " verified, " << verify_failures << " did not verify\n";
  }
  return failed == 0 && verify_failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace custos::bench

int main(int argc, char** argv) {
  custos::bench::ProofLoadOptions options;
  CLI::App app{"HTTP inclusion-proof load: random indexes at the latest checkpoint's size"};
  app.add_option("--url", options.url, "Server base URL, http://host:port")->required();
  app.add_option("--connections", options.connections, "Keep-alive connections (one thread each)")
      ->capture_default_str();
  app.add_option("--requests", options.requests, "Total requests")->capture_default_str();
  app.add_option("--verify", options.verify, "Proofs checked against the checkpoint root")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed for the random indexes")->capture_default_str();
  app.add_option("--max-seconds", options.max_seconds, "Hard bound on run time")
      ->capture_default_str();
  app.add_flag("--json", options.json, "Print the summary as JSON");
  CLI11_PARSE(app, argc, argv);
  return custos::bench::run(options);
}
