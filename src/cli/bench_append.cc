// custos bench append: synced appends through the same sequencer the server uses.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/random.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"
#include "data_dir.h"

namespace custos::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

// Bounds the appends one producer has in flight.
class InFlightWindow {
 public:
  explicit InFlightWindow(uint64_t limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return in_flight_ < limit_; });
    ++in_flight_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      --in_flight_;
    }
    released_.notify_one();
  }
  void drain() {
    std::unique_lock lock(mutex_);
    released_.wait(lock, [this] { return in_flight_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  uint64_t in_flight_ = 0;
  uint64_t limit_;
};

double percentile(std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1));
  return sorted[rank];
}

}  // namespace

int run_bench_append(const BenchAppendOptions& options) {
  if (options.entries == 0 || options.producers == 0 || options.in_flight == 0) {
    std::cerr << "custos bench append: --entries, --producers and --in-flight must be positive\n";
    return kExitUsage;
  }
  if (options.size == 0 || options.size > 60 * 1024) {
    std::cerr << "custos bench append: --size must be 1..61440\n";
    return kExitUsage;
  }
  std::string directory = options.data_dir;
  bool temporary = directory.empty();
  if (temporary) {
    directory = (fs::temp_directory_path() / ("custos-bench-" + hex_encode(random_bytes(6)))).string();
  }
  std::error_code error;
  if (!temporary && fs::exists(directory + "/db")) {
    std::cerr << "custos bench append: " << directory << " already holds data; give an empty one\n";
    return kExitUsage;
  }
  fs::create_directories(directory, error);

  int exit_code = kExitOk;
  {
    store::StoreOptions store_options;
    auto store = store::Store::open(directory + "/db", store_options);
    if (!store.is_ok()) {
      std::cerr << "custos bench append: " << store.status().message() << "\n";
      return kExitStorage;
    }
    auto signer = NoteSigner::create("bench.custos.local/log", Ed25519KeyPair::generate());
    SystemClock clock;
    std::mutex batch_mutex;
    std::vector<uint64_t> batch_sizes;
    std::atomic<uint64_t> committed{0};
    ledger::LogOptions log_options;
    log_options.origin = signer->name();
    log_options.clock = &clock;
    log_options.sign_checkpoint = checkpoint_signer(*signer);
    log_options.max_pending_entries = std::max<uint64_t>(options.in_flight * 2, 1 << 20);
    log_options.on_batch = [&](const ledger::BatchStats& stats) {
      std::lock_guard lock(batch_mutex);
      batch_sizes.push_back(stats.entries);
    };
    auto log = ledger::Log::open(**store, std::move(log_options));
    if (!log.is_ok()) {
      std::cerr << "custos bench append: " << log.status().message() << "\n";
      return kExitStorage;
    }

    Bytes payload = random_bytes(options.size);
    std::atomic<uint64_t> failures{0};
    std::vector<std::vector<uint32_t>> latencies(options.producers);
    uint64_t window = std::max<uint64_t>(1, options.in_flight / options.producers);
    auto started = SteadyClock::now();
    std::atomic<bool> done{false};
    std::thread progress([&] {
      while (!done.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        static auto last = SteadyClock::now();
        if (SteadyClock::now() - last >= std::chrono::seconds(1)) {
          last = SteadyClock::now();
          std::cerr << "bench append: " << committed.load() << "/" << options.entries
                    << " entries committed\n";
        }
      }
    });
    std::vector<std::thread> producers;
    for (uint32_t p = 0; p < options.producers; ++p) {
      uint64_t count = options.entries / options.producers +
                       (p < options.entries % options.producers ? 1 : 0);
      producers.emplace_back([&, p, count] {
        InFlightWindow in_flight(window);
        auto& my_latencies = latencies[p];
        my_latencies.resize(count);
        for (uint64_t i = 0; i < count; ++i) {
          in_flight.acquire();
          ledger::AppendRequest request;
          request.principal = "bench";
          request.payload = payload;
          auto sent = SteadyClock::now();
          (*log)->append_async(std::move(request), [&, i, sent](Result<ledger::AppendReceipt> r) {
            auto elapsed = SteadyClock::now() - sent;
            my_latencies[i] = static_cast<uint32_t>(
                std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count());
            if (!r.is_ok()) failures.fetch_add(1);
            committed.fetch_add(1);
            in_flight.release();
          });
        }
        in_flight.drain();
      });
    }
    for (auto& producer : producers) producer.join();
    double seconds = std::chrono::duration<double>(SteadyClock::now() - started).count();
    done = true;
    progress.join();

    std::vector<uint32_t> all;
    all.reserve(options.entries);
    for (auto& list : latencies) all.insert(all.end(), list.begin(), list.end());
    std::sort(all.begin(), all.end());
    std::vector<uint64_t> sizes;
    {
      std::lock_guard lock(batch_mutex);
      sizes = batch_sizes;
    }
    std::sort(sizes.begin(), sizes.end());
    double mean_batch = 0;
    for (auto size : sizes) mean_batch += static_cast<double>(size);
    if (!sizes.empty()) mean_batch /= static_cast<double>(sizes.size());
    double rate = static_cast<double>(options.entries) / seconds;
    uint64_t tree_size = (*log)->tree_size();
    (*log)->close();

    if (failures.load() != 0 || tree_size != options.entries) {
      std::cerr << "custos bench append: " << failures.load() << " appends failed; tree size "
                << tree_size << "\n";
      exit_code = kExitStorage;
    }
    JsonWriter json;
    json.begin_object()
        .key("entries").number(options.entries)
        .key("payload_bytes").number(static_cast<uint64_t>(options.size))
        .key("producers").number(static_cast<uint64_t>(options.producers))
        .key("in_flight").number(static_cast<uint64_t>(options.in_flight))
        .key("seconds").number(seconds)
        .key("entries_per_s").number(rate)
        .key("payload_mb_per_s").number(rate * options.size / 1e6)
        .key("latency_us").begin_object()
        .key("p50").number(percentile(all, 0.50))
        .key("p90").number(percentile(all, 0.90))
        .key("p99").number(percentile(all, 0.99))
        .key("max").number(all.empty() ? 0.0 : static_cast<double>(all.back()))
        .end_object()
        .key("batches").begin_object()
        .key("count").number(static_cast<uint64_t>(sizes.size()))
        .key("mean_entries").number(mean_batch)
        .key("max_entries").number(sizes.empty() ? uint64_t{0} : sizes.back())
        .end_object()
        .key("failures").number(failures.load())
        .end_object();
    if (options.json) {
      std::cout << json.str() << "\n";
    } else {
      std::cout << "appended " << options.entries << " entries of " << options.size << " bytes in "
                << seconds << " s: " << static_cast<uint64_t>(rate) << " synced entries/s\n"
                << "latency p50 " << percentile(all, 0.5) << " us, p99 " << percentile(all, 0.99)
                << " us; " << sizes.size() << " group commits, mean " << mean_batch
                << " entries\n";
    }
  }
  if (temporary) fs::remove_all(directory, error);
  return exit_code;
}

}  // namespace custos::cli
