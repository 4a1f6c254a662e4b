// custos bench: the world the authentication benches share (header-only, so
// bench/CMakeLists.txt keeps building one executable per *.cc; a bench that
// includes it links custos_sdk, custos_server, custos_identity, custos_ledger
// and custos_store, see its .deps file).
//
// A temporary store + log + IdentityService with bulk-enrolled devices
// (BenchIdentity), signed POST /custos/v1/log/entries requests as the SDK
// sends them, and the timing helpers (wall and thread CPU time, medians and
// nearest-rank percentiles). Nothing here is thread-safe.
#pragma once

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/sdk/signer.h"
#include "custos/server/http.h"
#include "custos/store/store.h"

namespace custos::bench {

inline constexpr std::string_view kAuthority = "custos.example:8080";
inline constexpr std::string_view kTarget = "/custos/v1/log/entries";
inline constexpr UnixMicros kMicrosPerSecond = 1'000'000;
// 2026-05-28T10:00:00Z: fixed, so `created`, key windows and the hour every
// decision sees never drift.
inline constexpr UnixMicros kBenchTime = 1'779'962'400LL * kMicrosPerSecond;
inline constexpr std::string_view kSetupActor = "bench-setup";
inline constexpr std::string_view kSetupDecision = "dec-bench-setup";

using SteadyClock = std::chrono::steady_clock;

// CPU time of the calling thread: unlike wall time, it leaves out the time
// the thread waited for a core on a loaded machine.
inline double thread_cpu_nanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

inline double nanos_since(SteadyClock::time_point started) {
  return std::chrono::duration<double, std::nano>(SteadyClock::now() - started).count();
}

// The median (the mean of the two middle values for an even count); 0 when empty.
inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Nearest-rank percentile `p` (0..1) of sorted nanosecond samples, in microseconds.
inline double percentile_us(const std::vector<double>& sorted_nanos, double p) {
  if (sorted_nanos.empty()) return 0;
  auto at = static_cast<size_t>(p * static_cast<double>(sorted_nanos.size() - 1) + 0.5);
  return sorted_nanos[std::min(at, sorted_nanos.size() - 1)] / 1000.0;
}

struct Percentiles {
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

// Mean and nearest-rank percentiles of nanosecond samples, in microseconds.
inline Percentiles percentiles_us(std::vector<double> nanos) {
  Percentiles result;
  if (nanos.empty()) return result;
  std::sort(nanos.begin(), nanos.end());
  double total = 0;
  for (double sample : nanos) total += sample;
  result.mean = total / static_cast<double>(nanos.size()) / 1000.0;
  result.p50 = percentile_us(nanos, 0.50);
  result.p90 = percentile_us(nanos, 0.90);
  result.p99 = percentile_us(nanos, 0.99);
  result.p999 = percentile_us(nanos, 0.999);
  result.max = nanos.back() / 1000.0;
  return result;
}

// `chosen`, or a fresh directory "<name>-<pid>" under the system's temporary directory.
inline std::string bench_dir(const std::string& chosen, std::string_view name) {
  if (!chosen.empty()) return chosen;
  return (std::filesystem::temp_directory_path() /
          (std::string(name) + "-" + std::to_string(::getpid())))
      .string();
}

// Appends what enrolling one device logs to `changes`: the principal.create
// of `attributes` and the key.add of a fresh key valid from `not_before`.
// Returns the signer holding that key.
inline Result<sdk::RequestSigner> enroll_device(std::vector<identity::ControlChange>& changes,
                                                const identity::PrincipalAttributes& attributes,
                                                UnixMicros not_before) {
  sdk::DeviceKey key = sdk::generate_device_key();
  changes.push_back(identity::PrincipalCreate{attributes});
  identity::KeyAdd key_add;
  key_add.principal_id = attributes.id;
  key_add.key_id = key.key_id;
  key_add.public_key = key.key_pair.public_key();
  key_add.not_before = not_before;
  changes.push_back(key_add);
  return sdk::RequestSigner::create(std::move(key));
}

// A temporary store, log and identity service with enrolled principals; the
// directory is removed again when it is destroyed.
class BenchIdentity {
 public:
  // Opens a fresh store in `dir` (removing what was there) and a log named
  // `origin` in it; `clock` must outlive the BenchIdentity.
  static Result<std::unique_ptr<BenchIdentity>> create(const std::string& dir, const Clock& clock,
                                                       std::string origin) {
    auto bench = std::unique_ptr<BenchIdentity>(new BenchIdentity());
    bench->dir_ = dir;
    std::filesystem::remove_all(dir);
    store::StoreOptions store_options;
    CUSTOS_ASSIGN_OR_RETURN(bench->store_, store::Store::open(dir, store_options));
    ledger::LogOptions log_options;
    log_options.origin = std::move(origin);
    log_options.clock = &clock;
    log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n\u2014 bench-signer AAAA\n";
    };
    CUSTOS_ASSIGN_OR_RETURN(bench->log_, ledger::Log::open(*bench->store_, std::move(log_options)));
    bench->clock_ = &clock;
    return bench;
  }

  ~BenchIdentity() {
    service_.reset();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  BenchIdentity(const BenchIdentity&) = delete;
  BenchIdentity& operator=(const BenchIdentity&) = delete;

  // Logs `changes` (in order) and opens the service over them: with
  // `via_apply` one IdentityService::apply() per change, otherwise in a few
  // group commits that IdentityService::open() replays (the path a restart takes).
  Status enroll(const std::vector<identity::ControlChange>& changes, bool via_apply) {
    const std::string actor(kSetupActor);
    const std::string decision(kSetupDecision);
    if (via_apply) {
      CUSTOS_ASSIGN_OR_RETURN(service_, identity::IdentityService::open(*log_, *store_, *clock_));
      for (size_t i = 0; i < changes.size(); ++i) {
        CUSTOS_RETURN_IF_ERROR(service_->apply(changes[i], actor, decision).status());
        if ((i + 1) % 2000 == 0)
          std::cerr << "  applied " << i + 1 << "/" << changes.size() << "\n";
      }
      return Status::ok();
    }
    // Creates first, keys second: a key.add must follow its principal.create.
    for (int phase = 0; phase < 2; ++phase) {
      std::vector<const identity::ControlChange*> batch;
      for (const auto& change : changes) {
        bool is_create = std::holds_alternative<identity::PrincipalCreate>(change);
        if (is_create == (phase == 0)) batch.push_back(&change);
      }
      CUSTOS_RETURN_IF_ERROR(append_all(batch));
      std::cerr << "  logged " << batch.size() << (phase == 0 ? " principal.create" : " key.add")
                << " entries\n";
    }
    CUSTOS_ASSIGN_OR_RETURN(service_, identity::IdentityService::open(*log_, *store_, *clock_));
    identity::ReplayStats stats = service_->replay_stats();
    if (stats.applied_entries + stats.journal_entries != changes.size() ||
        stats.skipped_entries != 0) {
      return internal_error("replay applied " + std::to_string(stats.applied_entries) +
                            " and skipped " + std::to_string(stats.skipped_entries) + " of " +
                            std::to_string(changes.size()) + " entries");
    }
    return Status::ok();
  }

  // Precondition: enroll() succeeded.
  const identity::IdentityService& service() const { return *service_; }
  identity::IdentityService& service() { return *service_; }
  ledger::Log& log() { return *log_; }
  store::Store& store() { return *store_; }

 private:
  BenchIdentity() = default;

  Status append_all(const std::vector<const identity::ControlChange*>& changes) {
    const std::string actor(kSetupActor);
    const std::string decision(kSetupDecision);
    std::mutex mutex;
    std::condition_variable done_changed;
    size_t done = 0;
    Status first_error = Status::ok();
    for (const identity::ControlChange* change : changes) {
      ledger::AppendRequest request;
      request.kind = ledger::EntryKind::kControlChange;
      request.principal = actor;
      request.payload = to_bytes(identity::encode_control_change(*change, actor, decision));
      log_->append_async(std::move(request), [&](Result<ledger::AppendReceipt> receipt) {
        std::lock_guard lock(mutex);
        if (!receipt.is_ok() && first_error.is_ok()) first_error = receipt.status();
        ++done;
        done_changed.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    done_changed.wait(lock, [&] { return done == changes.size(); });
    return first_error;
  }

  std::string dir_;
  const Clock* clock_ = nullptr;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> service_;
};

// Waits until `store` has no flush or compaction pending, so a bench times a
// settled store rather than one still working off its load; with `progress`,
// says so at every poll. Returns the seconds waited.
inline double wait_for_settled_store(const store::Store& store, std::chrono::milliseconds poll,
                                     bool progress) {
  const auto started = SteadyClock::now();
  while (store.background_work_pending()) {
    std::this_thread::sleep_for(poll);
    if (progress) {
      std::cerr << "  waiting for the load's flushes and compactions, "
                << nanos_since(started) / 1e9 << " s\n";
    }
  }
  return nanos_since(started) / 1e9;
}

// A JSON event of `size` bytes (at least its fixed part) from `device_id`.
inline std::string json_body(const std::string& device_id, size_t sequence, size_t size) {
  std::string body = R"({"event":"scan","device":")" + device_id + R"(","seq":)" +
                     std::to_string(sequence) + R"(,"pad":")";
  std::string tail = "\"}";
  if (body.size() + tail.size() < size) body.append(size - body.size() - tail.size(), 'x');
  return body + tail;
}

struct SignedAppendRequest {
  HttpRequest request;         // as the server's HTTP parser hands it to the authenticator
  sdk::SignedHeaders headers;  // what the signer produced (signature base, raw signature)
};

// POST kTarget with a json_body(device_id, sequence, body_bytes) from
// `remote_address`, signed by `signer` at `now_seconds` (a fresh nonce), with
// the headers the SDK sends.
inline Result<SignedAppendRequest> signed_append_request(const sdk::RequestSigner& signer,
                                                         const std::string& device_id,
                                                         size_t sequence, size_t body_bytes,
                                                         std::string remote_address,
                                                         int64_t now_seconds) {
  SignedAppendRequest signed_request;
  HttpRequest& request = signed_request.request;
  request.method = "POST";
  request.target = std::string(kTarget);
  request.path = std::string(kTarget);
  request.body = json_body(device_id, sequence, body_bytes);
  request.remote_address = std::move(remote_address);
  CUSTOS_ASSIGN_OR_RETURN(signed_request.headers, signer.sign("POST", "http", kAuthority, kTarget,
                                                              request.body, now_seconds));
  const sdk::SignedHeaders& headers = signed_request.headers;
  request.headers.set("Host", kAuthority);
  request.headers.set("User-Agent", "custos-sdk/0.1");
  request.headers.set("Accept", "application/json");
  request.headers.set("Content-Type", "application/json");
  request.headers.set("Content-Length", std::to_string(request.body.size()));
  request.headers.set("Content-Digest", headers.content_digest.value_or(""));
  request.headers.set("Signature-Input", headers.signature_input);
  request.headers.set("Signature", headers.signature);
  return signed_request;
}

}  // namespace custos::bench
