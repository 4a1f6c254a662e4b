// proof_at_scale: inclusion and consistency proof latency on a large log, in-process.
//
// Builds a log of --entries entries (10 M by default) of --size bytes in the
// data directory --data through Log::append_async with up to --in-flight
// appends outstanding (the same group-commit path the server uses), or, with
// --reuse, opens the log already there and only appends what is missing.
// The directory is laid out like `custos init` makes it (db/, log.key,
// log.vkey), so `custos serve --data DIR` serves it afterwards.
//
// Then it measures, on the committed tree:
//   inclusion_latest    inclusion_proof(random index, tree_size)
//   inclusion_recent    inclusion_proof(one of the last 64 indexes, tree_size), as a receipt
//   inclusion_any_size  inclusion_proof(random index, random size > index)
//   consistency         consistency_proof(random size1, random size2 >= size1)
//   receipts            inclusion_proofs(the last --receipt-entries indexes, tree_size),
//                       what a capture's 202 answer computes (one call per query)
// each over --queries calls, and verifies the first --verify proofs of each
// kind against roots computed from the tiles (RFC 9162 verification).
// Latencies are wall time per call, in microseconds. Progress on stderr.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/random.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/log.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/store/store.h"

namespace custos::bench {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

struct ScaleOptions {
  std::string data_dir;
  bool reuse = false;
  uint64_t entries = 10'000'000;
  uint32_t size = 256;
  uint64_t in_flight = 65536;
  uint64_t queries = 100'000;
  uint64_t verify = 1000;
  uint64_t receipt_entries = 100;
  uint64_t seed = 1;
  uint64_t block_cache_mb = 64;
  bool json = false;
};

std::string self_pid() { return std::to_string(::getpid()); }

double thread_cpu_us() {
  timespec now{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e6 + static_cast<double>(now.tv_nsec) / 1e3;
}

Status write_new_file(const std::string& path, std::string_view text, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create " + path + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return io_error("cannot write " + path + ": " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return io_error("cannot sync " + path);
  return Status::ok();
}

// The log's signer: read from DIR/log.key when the directory holds a log,
// otherwise created together with the files `custos serve` expects
// (the same formats and modes as `custos init`).
Result<NoteSigner> prepare_data_dir(const ScaleOptions& options) {
  const std::string& dir = options.data_dir;
  if (fs::exists(dir + "/db")) {
    if (!options.reuse) {
      return failed_precondition(dir +
                                 " already holds a log; pass --reuse to extend and measure it");
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string key, read_trimmed_file(dir + "/log.key"));
    return NoteSigner::parse_private_key(key);
  }
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) return io_error("cannot create " + dir + ": " + error.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, error);
  CUSTOS_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::create("bench.custos.local/proof-at-scale",
                                                                Ed25519KeyPair::generate()));
  CUSTOS_RETURN_IF_ERROR(
      write_new_file(dir + "/log.key", signer.private_key_string() + "\n", 0600));
  CUSTOS_RETURN_IF_ERROR(
      write_new_file(dir + "/log.vkey", signer.verifier().vkey_string() + "\n", 0644));
  return signer;
}

uint64_t directory_bytes(const std::string& path) {
  uint64_t total = 0;
  std::error_code error;
  for (const auto& item : fs::recursive_directory_iterator(path, error)) {
    if (item.is_regular_file(error)) total += item.file_size(error);
  }
  return total;
}

// Caps appends outstanding; released from the sequencer thread's callbacks.
class AppendWindow {
 public:
  explicit AppendWindow(uint64_t limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return outstanding_ < limit_; });
    ++outstanding_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      --outstanding_;
    }
    released_.notify_one();
  }
  void drain() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return outstanding_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  uint64_t outstanding_ = 0;
  uint64_t limit_;
};

struct BuildResult {
  uint64_t appended = 0;
  uint64_t failures = 0;
  uint64_t batches = 0;
  uint64_t write_bytes = 0;  // bytes in the synced write batches
  double seconds = 0;
};

BuildResult build_log(ledger::Log& log, const ScaleOptions& options,
                      const std::atomic<uint64_t>& batches,
                      const std::atomic<uint64_t>& write_bytes) {
  BuildResult result;
  uint64_t start_size = log.tree_size();
  if (start_size >= options.entries) return result;
  uint64_t missing = options.entries - start_size;
  uint64_t batches_before = batches.load();
  uint64_t write_bytes_before = write_bytes.load();
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> completed{0};
  AppendWindow window(options.in_flight);
  Bytes payload = random_bytes(options.size);

  std::atomic<bool> finished{false};
  auto started = SteadyClock::now();
  std::thread progress([&] {
    uint64_t last_size = start_size;
    while (!finished.load()) {
      for (int i = 0; i < 10 && !finished.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      uint64_t size = log.tree_size();
      double elapsed = std::chrono::duration<double>(SteadyClock::now() - started).count();
      std::fprintf(stderr,
                   "proof_at_scale: build %6.1f s  tree %llu/%llu  %llu entries/s  rss %llu MiB  "
                   "load %s\n",
                   elapsed, static_cast<unsigned long long>(size),
                   static_cast<unsigned long long>(options.entries),
                   static_cast<unsigned long long>(size - last_size),
                   static_cast<unsigned long long>(proc_status_kib(self_pid(), "VmRSS") / 1024),
                   load_average().c_str());
      last_size = size;
    }
  });

  for (uint64_t i = 0; i < missing; ++i) {
    window.acquire();
    ledger::AppendRequest request;
    request.principal = "bench";
    request.payload = payload;
    // Distinct leaves: stamp the sequence number into the payload.
    uint64_t stamp = start_size + i;
    std::memcpy(request.payload.data(), &stamp, std::min<size_t>(sizeof stamp, payload.size()));
    log.append_async(std::move(request), [&](Result<ledger::AppendReceipt> receipt) {
      if (!receipt.is_ok()) failures.fetch_add(1, std::memory_order_relaxed);
      completed.fetch_add(1, std::memory_order_relaxed);
      window.release();
    });
  }
  window.drain();
  result.seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
  finished = true;
  progress.join();
  result.appended = completed.load() - failures.load();
  result.failures = failures.load();
  result.batches = batches.load() - batches_before;
  result.write_bytes = write_bytes.load() - write_bytes_before;
  return result;
}

struct QueryResult {
  LatencySummary latency;
  uint64_t failures = 0;
  uint64_t verified = 0;
  uint64_t verify_failures = 0;
  double mean_proof_hashes = 0;
  double mean_cpu_us = 0;  // thread CPU time per call: insensitive to other load on the machine
  std::string first_error;
};

// Runs `queries` timed calls of `prove(i)`, which returns the proof length or an error.
template <typename Prove>
QueryResult time_queries(uint64_t queries, Prove prove) {
  QueryResult result;
  std::vector<uint32_t> latencies;
  latencies.reserve(queries);
  uint64_t hashes = 0;
  double cpu_started = thread_cpu_us();
  for (uint64_t i = 0; i < queries; ++i) {
    auto started = SteadyClock::now();
    Result<size_t> proof_length = prove(i);
    auto elapsed = SteadyClock::now() - started;
    latencies.push_back(static_cast<uint32_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
    if (proof_length.is_ok()) {
      hashes += *proof_length;
    } else if (result.failures++ == 0) {
      result.first_error = proof_length.status().to_string();
    }
  }
  double cpu_used = thread_cpu_us() - cpu_started;
  result.latency = summarise_latencies(latencies);
  if (queries > 0) {
    result.mean_proof_hashes = static_cast<double>(hashes) / static_cast<double>(queries);
    result.mean_cpu_us = cpu_used / static_cast<double>(queries);
  }
  return result;
}

Result<Hash256> leaf_hash_of(const ledger::Log& log, uint64_t index) {
  CUSTOS_ASSIGN_OR_RETURN(Bytes entry, log.entry(index));
  return ledger::hash_leaf(entry);
}

Status verify_inclusion_at(const ledger::Log& log, uint64_t index, uint64_t tree_size,
                           const Hash256& root) {
  CUSTOS_ASSIGN_OR_RETURN(auto proof, log.inclusion_proof(index, tree_size));
  CUSTOS_ASSIGN_OR_RETURN(Hash256 leaf, leaf_hash_of(log, index));
  return ledger::verify_inclusion(index, tree_size, leaf, proof, root);
}

void write_query_json(JsonWriter& json, std::string_view name, const QueryResult& result) {
  // clang-format off
  json.key(name).begin_object().key("latency_us");
  write_latency_json(json, result.latency);
  json.key("failures").number(result.failures)
      .key("mean_proof_hashes").number(result.mean_proof_hashes)
      .key("mean_cpu_us").number(result.mean_cpu_us)
      .key("verified").number(result.verified)
      .key("verify_failures").number(result.verify_failures);
  if (!result.first_error.empty()) json.key("first_error").string(result.first_error);
  json.end_object();
  // clang-format on
}

int run(const ScaleOptions& options) {
  if (options.size < 8 || options.size > 60 * 1024 || options.entries == 0 ||
      options.in_flight == 0) {
    std::cerr << "proof_at_scale: --size must be 8..61440, --entries and --in-flight positive\n";
    return 2;
  }
  auto signer = prepare_data_dir(options);
  if (!signer.is_ok()) {
    std::cerr << "proof_at_scale: " << signer.status().to_string() << "\n";
    return 2;
  }
  store::StoreOptions store_options;
  store_options.block_cache_mb = options.block_cache_mb;
  auto store = store::Store::open(options.data_dir + "/db", store_options);
  if (!store.is_ok()) {
    std::cerr << "proof_at_scale: " << store.status().to_string() << "\n";
    return 3;
  }
  SystemClock clock;
  std::atomic<uint64_t> batches{0};
  std::atomic<uint64_t> write_bytes{0};
  ledger::LogOptions log_options;
  log_options.origin = signer->name();
  log_options.clock = &clock;
  log_options.sign_checkpoint = [&signer](std::string_view body) -> Result<std::string> {
    const NoteSigner* signers[] = {&*signer};
    return sign_note(body, signers);
  };
  log_options.max_pending_entries = std::max<uint64_t>(options.in_flight * 2, 1 << 20);
  log_options.on_batch = [&batches, &write_bytes](const ledger::BatchStats& stats) {
    batches.fetch_add(1);
    write_bytes.fetch_add(stats.write_bytes);
  };
  auto opened_at = SteadyClock::now();
  auto log = ledger::Log::open(**store, std::move(log_options));
  if (!log.is_ok()) {
    std::cerr << "proof_at_scale: " << log.status().to_string() << "\n";
    return 3;
  }
  double open_seconds = std::chrono::duration<double>(SteadyClock::now() - opened_at).count();
  std::string load_build_start = load_average();
  BuildResult build = build_log(**log, options, batches, write_bytes);
  std::string load_build_end = load_average();
  if (build.failures > 0) {
    std::cerr << "proof_at_scale: " << build.failures
              << " appends failed: " << (*log)->health().to_string() << "\n";
    return 3;
  }

  const ledger::Log& ledger_log = **log;
  uint64_t tree_size = ledger_log.tree_size();
  std::mt19937_64 random(options.seed);
  auto uniform = [&random](uint64_t low, uint64_t high) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(low, high)(random);
  };
  std::vector<uint64_t> indexes(options.queries), sizes(options.queries);
  std::vector<uint64_t> recent_indexes(options.queries);
  std::vector<uint64_t> any_indexes(options.queries), size1s(options.queries),
      size2s(options.queries);
  for (uint64_t i = 0; i < options.queries; ++i) {
    indexes[i] = uniform(0, tree_size - 1);
    recent_indexes[i] = tree_size - 1 - uniform(0, std::min<uint64_t>(63, tree_size - 1));
    sizes[i] = uniform(1, tree_size);
    any_indexes[i] = uniform(0, sizes[i] - 1);
    size2s[i] = uniform(1, tree_size);
    size1s[i] = uniform(1, size2s[i]);
  }
  std::string load_query_start = load_average();
  std::cerr << "proof_at_scale: measuring " << options.queries << " queries of each kind on "
            << tree_size << " entries\n";
  QueryResult latest = time_queries(options.queries, [&](uint64_t i) -> Result<size_t> {
    CUSTOS_ASSIGN_OR_RETURN(auto proof, ledger_log.inclusion_proof(indexes[i], tree_size));
    return proof.size();
  });
  // What a 201 receipt computes: one of the last entries, at the committed size.
  QueryResult recent = time_queries(options.queries, [&](uint64_t i) -> Result<size_t> {
    CUSTOS_ASSIGN_OR_RETURN(auto proof, ledger_log.inclusion_proof(recent_indexes[i], tree_size));
    return proof.size();
  });
  QueryResult any_size = time_queries(options.queries, [&](uint64_t i) -> Result<size_t> {
    CUSTOS_ASSIGN_OR_RETURN(auto proof, ledger_log.inclusion_proof(any_indexes[i], sizes[i]));
    return proof.size();
  });
  QueryResult consistency = time_queries(options.queries, [&](uint64_t i) -> Result<size_t> {
    CUSTOS_ASSIGN_OR_RETURN(auto proof, ledger_log.consistency_proof(size1s[i], size2s[i]));
    return proof.size();
  });
  // A capture's receipts: the proofs of its whole batch, the last entries, in one call.
  std::vector<uint64_t> receipt_indexes;
  for (uint64_t index = tree_size - std::min(options.receipt_entries, tree_size); index < tree_size;
       ++index) {
    receipt_indexes.push_back(index);
  }
  QueryResult receipts = time_queries(options.queries, [&](uint64_t) -> Result<size_t> {
    CUSTOS_ASSIGN_OR_RETURN(auto proofs, ledger_log.inclusion_proofs(receipt_indexes, tree_size));
    size_t hashes = 0;
    for (const auto& proof : proofs) hashes += proof.size();
    return hashes;
  });
  std::string load_query_end = load_average();

  // Correctness of what was timed, outside the timed loops.
  auto full_root = ledger_log.root_at(tree_size);
  uint64_t verify = std::min(options.verify, options.queries);
  for (uint64_t i = 0; i < verify && full_root.is_ok(); ++i) {
    Status checked = verify_inclusion_at(ledger_log, indexes[i], tree_size, *full_root);
    ++(checked.is_ok() ? latest.verified : latest.verify_failures);
    checked = verify_inclusion_at(ledger_log, recent_indexes[i], tree_size, *full_root);
    ++(checked.is_ok() ? recent.verified : recent.verify_failures);
    auto root = ledger_log.root_at(sizes[i]);
    checked = root.is_ok() ? verify_inclusion_at(ledger_log, any_indexes[i], sizes[i], *root)
                           : root.status();
    ++(checked.is_ok() ? any_size.verified : any_size.verify_failures);
    auto root1 = ledger_log.root_at(size1s[i]);
    auto root2 = ledger_log.root_at(size2s[i]);
    auto proof = ledger_log.consistency_proof(size1s[i], size2s[i]);
    checked = root1.is_ok() && root2.is_ok() && proof.is_ok()
                  ? ledger::verify_consistency(size1s[i], size2s[i], *root1, *root2, *proof)
                  : internal_error("root or proof unavailable");
    ++(checked.is_ok() ? consistency.verified : consistency.verify_failures);
  }
  auto receipt_proofs = ledger_log.inclusion_proofs(receipt_indexes, tree_size);
  for (size_t k = 0; k < receipt_indexes.size() && full_root.is_ok(); ++k) {
    Status checked = receipt_proofs.status();
    if (checked.is_ok()) {
      auto leaf = leaf_hash_of(ledger_log, receipt_indexes[k]);
      checked = leaf.is_ok() ? ledger::verify_inclusion(receipt_indexes[k], tree_size, *leaf,
                                                        (*receipt_proofs)[k], *full_root)
                             : leaf.status();
    }
    ++(checked.is_ok() ? receipts.verified : receipts.verify_failures);
  }
  uint64_t problems = latest.failures + recent.failures + recent.verify_failures +
                      any_size.failures + consistency.failures + latest.verify_failures +
                      any_size.verify_failures + consistency.verify_failures +
                      receipts.failures + receipts.verify_failures;
  bool all_ok = full_root.is_ok() && problems == 0;
  auto per = [](double total, uint64_t count) {
    return count > 0 ? total / static_cast<double>(count) : 0.0;
  };

  // clang-format off
  JsonWriter json;
  json.begin_object()
      .key("data_dir").string(options.data_dir)
      .key("tree_size").number(tree_size)
      .key("payload_bytes").number(static_cast<uint64_t>(options.size))
      .key("open_seconds").number(open_seconds)
      .key("build").begin_object()
      .key("appended").number(build.appended)
      .key("seconds").number(build.seconds)
      .key("entries_per_s").number(build.seconds > 0 ? build.appended / build.seconds : 0.0)
      .key("batches").number(build.batches)
      .key("write_bytes").number(build.write_bytes)
      .key("write_bytes_per_entry")
          .number(per(static_cast<double>(build.write_bytes), build.appended))
      .key("in_flight").number(options.in_flight)
      .key("loadavg_start").string(load_build_start)
      .key("loadavg_end").string(load_build_end)
      .end_object()
      .key("queries").number(options.queries)
      .key("block_cache_mb").number(options.block_cache_mb);
  write_query_json(json, "inclusion_latest", latest);
  write_query_json(json, "inclusion_recent", recent);
  write_query_json(json, "inclusion_any_size", any_size);
  write_query_json(json, "consistency", consistency);
  write_query_json(json, "receipts", receipts);
  json.key("loadavg_queries_start").string(load_query_start)
      .key("loadavg_queries_end").string(load_query_end)
      .key("vmrss_kib").number(proc_status_kib(self_pid(), "VmRSS"))
      .key("vmhwm_kib").number(proc_status_kib(self_pid(), "VmHWM"))
      .key("db_bytes").number(directory_bytes(options.data_dir + "/db"))
      .key("ok").boolean(all_ok)
      .end_object();
  // clang-format on
  if (options.json) {
    std::cout << json.str() << "\n";
  } else {
    std::cout << "tree " << tree_size << ": inclusion p50 " << latest.latency.p50_us << " us p99 "
              << latest.latency.p99_us << " us max " << latest.latency.max_us
              << " us; consistency p50 " << consistency.latency.p50_us << " us p99 "
              << consistency.latency.p99_us << " us; receipts of " << receipt_indexes.size()
              << " entries p50 " << receipts.latency.p50_us << " us, CPU " << receipts.mean_cpu_us
              << " us per call\n";
  }
  (*log)->close();
  return all_ok ? 0 : 1;
}

}  // namespace
}  // namespace custos::bench

int main(int argc, char** argv) {
  custos::bench::ScaleOptions options;
  CLI::App app{"Builds a large log in-process and measures proof latency on it"};
  app.add_option("--data", options.data_dir, "Data directory (created like custos init)")
      ->required();
  app.add_flag("--reuse", options.reuse,
               "Open the log already in --data and extend it to --entries");
  app.add_option("--entries", options.entries, "Log size to build")->capture_default_str();
  app.add_option("--size", options.size, "Payload bytes per entry")->capture_default_str();
  app.add_option("--in-flight", options.in_flight, "Appends outstanding while building")
      ->capture_default_str();
  app.add_option("--queries", options.queries, "Timed proofs of each kind")->capture_default_str();
  app.add_option("--verify", options.verify, "Proofs of each kind checked against roots")
      ->capture_default_str();
  app.add_option("--receipt-entries", options.receipt_entries,
                 "Entries per receipts call (the last ones)")
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed for the random queries")->capture_default_str();
  app.add_option("--block-cache-mb", options.block_cache_mb,
                 "RocksDB block cache (custos serve: 64)")
      ->capture_default_str();
  app.add_flag("--json", options.json, "Print the result as JSON");
  CLI11_PARSE(app, argc, argv);
  return custos::bench::run(options);
}
