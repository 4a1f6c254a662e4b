// sig_verify_bench: how close the server's signed-request path comes to the
// raw Ed25519 verify rate (issue goal: verified requests/s >= 80 % of raw
// verifications/s, single-threaded).
//
// Setup: a temporary store + log + IdentityService with --devices enrolled
// devices (one Ed25519 key each, key id = sdk::enrollment_key_id), and a
// RequestAuthenticator over it with a NonceCache and a fixed ManualClock.
// Every request is built before timing: POST /custos/v1/log/entries with a
// --body-bytes JSON body, signed by sdk::RequestSigner (custos profile:
// @method, @target-uri, content-digest; created, nonce, alg, keyid), each
// with a fresh nonce, devices taken round robin.
//
// Timing (single thread), --rounds rounds, each
//   (a) raw: libsodium crypto_sign_verify_detached over --iterations
//       (public key, signature base, signature) triples taken from the signed
//       requests themselves (so the message is the real RFC 9421 base);
//   (b) authenticated: RequestAuthenticator::authenticate() on --iterations
//       fresh requests, each call timed (every result must be OK).
// The rates reported are the medians over the rounds; the ratio is
// median(b) / median(a). The same rates per second of the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) are reported too: on a shared machine they leave
// out the time the thread waited for a core. Interleaving (a) and (b) keeps a change of machine
// load from favouring one of them.
//
// Breakdown: the parts of the signed path timed on their own over the same
// requests (median ns per call): header reads, Structured-Field parse of
// Signature-Input/Signature, signature base, Content-Digest check (SHA-256
// of the body), key lookup in the IdentityService, NonceCache check, and
// the custos Ed25519 verify; "other" is authenticate()'s p50 minus their sum.
//
//   sig_verify_bench [--devices N] [--iterations N] [--rounds R] [--body-bytes B]
//                    [--setup bulk|apply] [--dir DIR] [--json]
//
// --setup bulk (default) writes the principal.create and key.add control
// entries straight to the log in a few group commits and lets
// IdentityService::open() replay them (the path a restart takes); --setup
// apply calls IdentityService::apply() per change (one synced append each).
#include <sodium.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.h"
#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/structured_fields.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/identity/nonce_cache.h"
#include "custos/ledger/log.h"
#include "custos/sdk/signer.h"
#include "custos/server/auth.h"
#include "custos/server/http.h"
#include "custos/store/store.h"

namespace {

using custos::HttpRequest;
using custos::JsonWriter;
using custos::Result;
using custos::Status;
using custos::UnixMicros;
using SteadyClock = std::chrono::steady_clock;
namespace identity = custos::identity;

constexpr std::string_view kAuthority = "custos.example:8080";
constexpr std::string_view kTarget = "/custos/v1/log/entries";
constexpr UnixMicros kMicrosPerSecond = 1'000'000;
// 2026-05-28T10:00:00Z: fixed, so `created` and key windows never drift.
constexpr UnixMicros kBenchTime = 1'779'962'400LL * kMicrosPerSecond;
const std::string kSetupActor = "bench-setup";
const std::string kSetupDecision = "dec-bench-setup";

struct Options {
  size_t devices = 1000;
  size_t iterations = 10000;
  size_t rounds = 5;
  size_t body_bytes = 256;
  std::string setup = "bulk";
  std::string dir;
  bool json = false;
};

struct Device {
  std::string id;
  custos::sdk::RequestSigner signer;
};

// CPU time of the calling thread: unlike wall time, it does not count the
// time the thread waits for a core on a loaded machine.
double thread_cpu_nanos() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) * 1e9 + static_cast<double>(now.tv_nsec);
}

double nanos_since(SteadyClock::time_point started) {
  return std::chrono::duration<double, std::nano>(SteadyClock::now() - started).count();
}

// A temporary store, log and identity service with enrolled devices.
class BenchIdentity {
 public:
  static Result<std::unique_ptr<BenchIdentity>> create(const std::string& dir,
                                                       const custos::Clock& clock) {
    auto bench = std::unique_ptr<BenchIdentity>(new BenchIdentity());
    bench->dir_ = dir;
    std::filesystem::remove_all(dir);
    custos::store::StoreOptions store_options;
    CUSTOS_ASSIGN_OR_RETURN(bench->store_, custos::store::Store::open(dir, store_options));
    custos::ledger::LogOptions log_options;
    log_options.origin = "bench.example/custos/sig-verify";
    log_options.clock = &clock;
    log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n\u2014 bench-signer AAAA\n";
    };
    CUSTOS_ASSIGN_OR_RETURN(bench->log_,
                            custos::ledger::Log::open(*bench->store_, std::move(log_options)));
    bench->clock_ = &clock;
    return bench;
  }

  ~BenchIdentity() {
    service_.reset();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Logs `changes` (in order) and opens the service over them.
  Status enroll(const std::vector<identity::ControlChange>& changes, bool via_apply) {
    if (via_apply) {
      CUSTOS_ASSIGN_OR_RETURN(service_, identity::IdentityService::open(*log_, *store_, *clock_));
      for (size_t i = 0; i < changes.size(); ++i) {
        CUSTOS_RETURN_IF_ERROR(service_->apply(changes[i], kSetupActor, kSetupDecision).status());
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
      return custos::internal_error("replay applied " + std::to_string(stats.applied_entries) +
                                    " and skipped " + std::to_string(stats.skipped_entries) +
                                    " of " + std::to_string(changes.size()) + " entries");
    }
    return Status::ok();
  }

  const identity::IdentityService& service() const { return *service_; }

 private:
  BenchIdentity() = default;

  Status append_all(const std::vector<const identity::ControlChange*>& changes) {
    std::mutex mutex;
    std::condition_variable done_changed;
    size_t done = 0;
    Status first_error = Status::ok();
    for (const identity::ControlChange* change : changes) {
      custos::ledger::AppendRequest request;
      request.kind = custos::ledger::EntryKind::kControlChange;
      request.principal = kSetupActor;
      request.payload =
          custos::to_bytes(identity::encode_control_change(*change, kSetupActor, kSetupDecision));
      log_->append_async(std::move(request), [&](Result<custos::ledger::AppendReceipt> receipt) {
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
  const custos::Clock* clock_ = nullptr;
  std::unique_ptr<custos::store::Store> store_;
  std::unique_ptr<custos::ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> service_;
};

std::string json_body(const std::string& device_id, size_t sequence, size_t size) {
  std::string body = R"({"event":"scan","device":")" + device_id + R"(","seq":)" +
                     std::to_string(sequence) + R"(,"pad":")";
  std::string tail = "\"}";
  if (body.size() + tail.size() < size) body.append(size - body.size() - tail.size(), 'x');
  return body + tail;
}

// What the server's HTTP parser hands to the authenticator for one signed append.
struct SignedAppend {
  HttpRequest request;
  custos::Ed25519PublicKey public_key;
  std::string signature_base;
  custos::Ed25519Signature signature;
};

Result<SignedAppend> signed_append(const Device& device, size_t sequence, size_t body_bytes,
                                   int64_t now_seconds) {
  SignedAppend append;
  HttpRequest& request = append.request;
  request.method = "POST";
  request.target = std::string(kTarget);
  request.path = std::string(kTarget);
  request.body = json_body(device.id, sequence, body_bytes);
  request.remote_address = "10.20.30.40:51000";
  CUSTOS_ASSIGN_OR_RETURN(
      custos::sdk::SignedHeaders headers,
      device.signer.sign("POST", "http", kAuthority, kTarget, request.body, now_seconds));
  request.headers.set("Host", kAuthority);
  request.headers.set("User-Agent", "custos-sdk/0.1");
  request.headers.set("Accept", "application/json");
  request.headers.set("Content-Type", "application/json");
  request.headers.set("Content-Length", std::to_string(request.body.size()));
  request.headers.set("Content-Digest", headers.content_digest.value_or(""));
  request.headers.set("Signature-Input", headers.signature_input);
  request.headers.set("Signature", headers.signature);
  append.public_key = device.signer.public_key();
  append.signature_base = std::move(headers.signature_base);
  append.signature = headers.signature_bytes;
  return append;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  if (values.empty()) return 0;
  size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// Nearest-rank percentile of sorted nanosecond samples, in microseconds.
double percentile_us(const std::vector<double>& sorted_nanos, double p) {
  if (sorted_nanos.empty()) return 0;
  auto at = static_cast<size_t>(p * static_cast<double>(sorted_nanos.size() - 1) + 0.5);
  return sorted_nanos[std::min(at, sorted_nanos.size() - 1)] / 1000.0;
}

struct Component {
  std::string name;
  double median_ns = 0;
};

// Runs `body(i)` for i in [0, count), timing each call; the median nanoseconds.
template <typename Body>
double median_nanos(size_t count, Body body) {
  std::vector<double> samples;
  samples.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    auto started = SteadyClock::now();
    body(i);
    samples.push_back(nanos_since(started));
  }
  return median(std::move(samples));
}

int run(const Options& options) {
  if (sodium_init() < 0) {
    std::cerr << "libsodium failed to initialise\n";
    return 1;
  }
  const std::string load_start = custos::bench::load_average();
  custos::ManualClock clock(kBenchTime);
  const int64_t now_seconds = kBenchTime / kMicrosPerSecond;
  std::string dir = options.dir.empty()
                        ? (std::filesystem::temp_directory_path() /
                           ("custos-sig-verify-bench-" + std::to_string(::getpid())))
                              .string()
                        : options.dir;

  // ---- Setup: devices, their keys, the identity service ----
  auto setup_started = SteadyClock::now();
  std::vector<Device> devices;
  devices.reserve(options.devices);
  std::vector<identity::ControlChange> changes;
  for (size_t i = 0; i < options.devices; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "dev-%05zu", i);
    custos::sdk::DeviceKey key = custos::sdk::generate_device_key();
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kDevice;
    attributes.subtype = identity::DeviceSubtype::kScanner;
    attributes.display_name = std::string("Scanner ") + id;
    attributes.site = "s" + std::to_string(i % 20);
    attributes.zone = attributes.site + "-dock-a";
    attributes.vendor = "acme";
    changes.push_back(identity::PrincipalCreate{attributes});
    identity::KeyAdd key_add;
    key_add.principal_id = id;
    key_add.key_id = key.key_id;
    key_add.public_key = key.key_pair.public_key();
    key_add.not_before = kBenchTime - 3600 * kMicrosPerSecond;
    changes.push_back(key_add);
    auto signer = custos::sdk::RequestSigner::create(std::move(key));
    if (!signer.is_ok()) {
      std::cerr << "signer: " << signer.status().to_string() << "\n";
      return 1;
    }
    devices.push_back(Device{id, std::move(signer).value()});
  }
  auto bench_identity = BenchIdentity::create(dir, clock);
  if (!bench_identity.is_ok()) {
    std::cerr << "setup: " << bench_identity.status().to_string() << "\n";
    return 1;
  }
  std::cerr << "enrolling " << options.devices << " devices (--setup " << options.setup << ")\n";
  if (Status enrolled = (*bench_identity)->enroll(changes, options.setup == "apply");
      !enrolled.is_ok()) {
    std::cerr << "enroll: " << enrolled.to_string() << "\n";
    return 1;
  }
  const identity::IdentityService& service = (*bench_identity)->service();
  double setup_seconds = nanos_since(setup_started) / 1e9;

  // ---- Requests, all signed before any timing ----
  auto signing_started = SteadyClock::now();
  const size_t warmup = std::min<size_t>(1000, options.iterations);
  const size_t total = warmup + options.rounds * options.iterations;
  std::vector<SignedAppend> appends;
  appends.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    auto append = signed_append(devices[i % devices.size()], i, options.body_bytes, now_seconds);
    if (!append.is_ok()) {
      std::cerr << "sign: " << append.status().to_string() << "\n";
      return 1;
    }
    appends.push_back(std::move(append).value());
  }
  double signing_seconds = nanos_since(signing_started) / 1e9;
  const size_t base_bytes = appends.front().signature_base.size();
  std::cerr << "signed " << total << " requests in " << signing_seconds << " s; signature base "
            << base_bytes << " bytes\n";

  identity::NonceCache nonces;
  custos::RequestAuthenticator authenticator(service, nonces, clock);

  // Warm-up: caches, first-use initialisation, nonce-cache growth.
  for (size_t i = 0; i < warmup; ++i) {
    custos::AuthResult result = authenticator.authenticate(appends[i].request);
    if (!result.is_ok()) {
      std::cerr << "warm-up request " << i << " was refused: " << result.status().to_string()
                << "\n";
      return 1;
    }
  }

  // ---- Rounds: raw verify, then authenticate, interleaved ----
  std::vector<double> raw_rates, auth_rates, auth_nanos;
  std::vector<double> raw_cpu_rates, auth_cpu_rates;  // per second of thread CPU time
  auth_nanos.reserve(options.rounds * options.iterations);
  size_t refused = 0;
  for (size_t round = 0; round < options.rounds; ++round) {
    const size_t first = warmup + round * options.iterations;
    size_t raw_failures = 0;
    double raw_cpu_started = thread_cpu_nanos();
    auto raw_started = SteadyClock::now();
    for (size_t i = 0; i < options.iterations; ++i) {
      const SignedAppend& append = appends[first + i];
      const auto* message = reinterpret_cast<const unsigned char*>(append.signature_base.data());
      raw_failures += crypto_sign_verify_detached(append.signature.bytes.data(), message,
                                                  append.signature_base.size(),
                                                  append.public_key.bytes.data()) != 0;
    }
    double raw_nanos = nanos_since(raw_started);
    double raw_cpu_nanos = thread_cpu_nanos() - raw_cpu_started;
    if (raw_failures != 0) {
      std::cerr << raw_failures << " raw verifications failed\n";
      return 1;
    }
    raw_rates.push_back(static_cast<double>(options.iterations) / (raw_nanos / 1e9));
    raw_cpu_rates.push_back(static_cast<double>(options.iterations) / (raw_cpu_nanos / 1e9));

    double round_nanos = 0;
    double auth_cpu_started = thread_cpu_nanos();
    for (size_t i = 0; i < options.iterations; ++i) {
      auto started = SteadyClock::now();
      custos::AuthResult result = authenticator.authenticate(appends[first + i].request);
      double nanos = nanos_since(started);
      refused += !result.is_ok();
      round_nanos += nanos;
      auth_nanos.push_back(nanos);
    }
    double auth_cpu_nanos = thread_cpu_nanos() - auth_cpu_started;
    auth_rates.push_back(static_cast<double>(options.iterations) / (round_nanos / 1e9));
    auth_cpu_rates.push_back(static_cast<double>(options.iterations) / (auth_cpu_nanos / 1e9));
    std::cerr << "round " << round + 1 << ": raw " << static_cast<uint64_t>(raw_rates.back())
              << "/s, authenticated " << static_cast<uint64_t>(auth_rates.back()) << "/s\n";
  }
  if (refused != 0) {
    std::cerr << refused << " signed requests were refused; the figures would be wrong\n";
    return 1;
  }
  const double raw_per_s = median(raw_rates);
  const double authenticated_per_s = median(auth_rates);
  const double ratio = authenticated_per_s / raw_per_s;
  const double raw_per_cpu_s = median(raw_cpu_rates);
  const double authenticated_per_cpu_s = median(auth_cpu_rates);
  const double cpu_ratio = authenticated_per_cpu_s / raw_per_cpu_s;
  std::vector<double> round_ratios;
  for (size_t round = 0; round < raw_rates.size(); ++round)
    round_ratios.push_back(auth_rates[round] / raw_rates[round]);
  double auth_mean_ns = 0;
  for (double nanos : auth_nanos) auth_mean_ns += nanos;
  auth_mean_ns /= static_cast<double>(auth_nanos.size());
  std::sort(auth_nanos.begin(), auth_nanos.end());

  // ---- Breakdown: the parts of the signed path, each on its own ----
  const size_t parts = std::min<size_t>(options.iterations, appends.size() - warmup);
  auto request_at = [&](size_t i) -> const HttpRequest& { return appends[warmup + i].request; };
  std::vector<custos::SignedRequestView> views(parts);
  std::vector<custos::ParsedSignature> parsed(parts);
  for (size_t i = 0; i < parts; ++i) {
    const HttpRequest& request = request_at(i);
    views[i].method = request.method;
    views[i].scheme = "http";
    views[i].authority = kAuthority;
    views[i].path = request.path;
    views[i].body = request.body;
    views[i].header_values = custos::header_values_from(request.headers.fields());
    auto one = custos::parse_signature(*request.header("Signature-Input"),
                                       *request.header("Signature"), "custos");
    if (!one.is_ok()) {
      std::cerr << "parse_signature: " << one.status().to_string() << "\n";
      return 1;
    }
    parsed[i] = std::move(one).value();
  }
  size_t sink = 0;  // keeps results observable so the timed calls are not optimised away
  std::vector<Component> components;
  components.push_back({"header reads (view + Signature-Input, Signature, Content-Digest x2)",
                        median_nanos(parts, [&](size_t i) {
                          const HttpRequest& request = request_at(i);
                          auto values = custos::header_values_from(request.headers.fields());
                          sink += request.header("Host")->size();
                          sink += values("signature-input").size() + values("signature").size();
                          sink += values("content-digest").size() + values("content-digest").size();
                        })});
  components.push_back(
      {"parse Signature-Input + Signature (structured fields)", median_nanos(parts, [&](size_t i) {
         const HttpRequest& request = request_at(i);
         auto one = custos::parse_signature(*request.header("Signature-Input"),
                                            *request.header("Signature"), "custos");
         sink += one.is_ok() ? one->signature.size() : 0;
       })});
  components.push_back(
      {"signature base (components + @signature-params)", median_nanos(parts, [&](size_t i) {
         auto base = custos::signature_base(views[i], parsed[i].params);
         sink += base.is_ok() ? base->size() : 0;
       })});
  components.push_back(
      {"Content-Digest check (SHA-256 of the body)", median_nanos(parts, [&](size_t i) {
         const HttpRequest& request = request_at(i);
         sink += static_cast<size_t>(custos::verify_content_digest(
             *request.header("Content-Digest"), custos::as_bytes(request.body)));
       })});
  components.push_back(
      {"key lookup (IdentityService::find_by_key_id)", median_nanos(parts, [&](size_t i) {
         sink += service.find_by_key_id(*parsed[i].params.keyid, kBenchTime).ok();
       })});
  identity::NonceCache fresh_nonces;
  components.push_back({"NonceCache::check (first use)", median_nanos(parts, [&](size_t i) {
                          sink += static_cast<size_t>(
                              fresh_nonces.check(*parsed[i].params.keyid, *parsed[i].params.nonce,
                                                 *parsed[i].params.created, now_seconds));
                        })});
  components.push_back(
      {"Ed25519 verify (custos::ed25519_verify)", median_nanos(parts, [&](size_t i) {
         const SignedAppend& append = appends[warmup + i];
         sink += custos::ed25519_verify(append.public_key, custos::as_bytes(append.signature_base),
                                        append.signature);
       })});
  double accounted_ns = 0;
  for (const Component& component : components) accounted_ns += component.median_ns;
  const double auth_p50_ns = percentile_us(auth_nanos, 0.50) * 1000.0;
  const double other_ns = auth_p50_ns - accounted_ns;
  const std::string load_end = custos::bench::load_average();

  if (options.json) {
    JsonWriter json;
    json.begin_object();
    json.key("devices").number(static_cast<uint64_t>(options.devices));
    json.key("iterations_per_round").number(static_cast<uint64_t>(options.iterations));
    json.key("rounds").number(static_cast<uint64_t>(options.rounds));
    json.key("body_bytes").number(static_cast<uint64_t>(options.body_bytes));
    json.key("signature_base_bytes").number(static_cast<uint64_t>(base_bytes));
    json.key("raw_verify_per_s").number(raw_per_s);
    json.key("authenticated_per_s").number(authenticated_per_s);
    json.key("ratio").number(ratio);
    json.key("goal_ratio").number(0.8);
    json.key("goal_met").boolean(ratio >= 0.8);
    json.key("raw_verify_per_s_rounds").begin_array();
    for (double rate : raw_rates) json.number(rate);
    json.end_array();
    json.key("authenticated_per_s_rounds").begin_array();
    for (double rate : auth_rates) json.number(rate);
    json.end_array();
    json.key("ratio_rounds").begin_array();
    for (double round_ratio : round_ratios) json.number(round_ratio);
    json.end_array();
    json.key("ratio_median_of_rounds").number(median(round_ratios));
    json.key("raw_verify_per_cpu_s").number(raw_per_cpu_s);
    json.key("authenticated_per_cpu_s").number(authenticated_per_cpu_s);
    json.key("ratio_cpu").number(cpu_ratio);
    json.key("authenticate_us").begin_object();
    json.key("mean").number(auth_mean_ns / 1000.0);
    json.key("p50").number(percentile_us(auth_nanos, 0.50));
    json.key("p90").number(percentile_us(auth_nanos, 0.90));
    json.key("p99").number(percentile_us(auth_nanos, 0.99));
    json.key("max").number(auth_nanos.back() / 1000.0);
    json.end_object();
    json.key("p50_us").number(percentile_us(auth_nanos, 0.50));
    json.key("p99_us").number(percentile_us(auth_nanos, 0.99));
    json.key("breakdown_ns").begin_object();
    for (const Component& component : components)
      json.key(component.name).number(component.median_ns);
    json.key("other (authenticate p50 - sum)").number(other_ns);
    json.end_object();
    json.key("setup_seconds").number(setup_seconds);
    json.key("setup").string(options.setup);
    json.key("signing_seconds").number(signing_seconds);
    json.key("load_average_start").string(load_start);
    json.key("load_average_end").string(load_end);
    json.key("sink").number(static_cast<uint64_t>(sink % 2));
    json.end_object();
    std::cout << json.take() << "\n";
    return 0;
  }
  std::printf("devices %zu, %zu rounds x %zu requests, body %zu bytes, signature base %zu bytes\n",
              options.devices, options.rounds, options.iterations, options.body_bytes, base_bytes);
  std::printf("raw Ed25519 verify (libsodium):   %10.0f /s (median of rounds)\n", raw_per_s);
  std::printf("authenticate() signed requests:   %10.0f /s (median of rounds)\n",
              authenticated_per_s);
  std::printf("ratio: %.3f (goal >= 0.80: %s); per round:", ratio,
              ratio >= 0.8 ? "met" : "NOT met");
  for (double round_ratio : round_ratios) std::printf(" %.3f", round_ratio);
  std::printf("\n");
  std::printf("per second of thread CPU time: raw %.0f /s, authenticated %.0f /s, ratio %.3f\n",
              raw_per_cpu_s, authenticated_per_cpu_s, cpu_ratio);
  std::printf("authenticate() latency us: mean %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f\n",
              auth_mean_ns / 1000.0, percentile_us(auth_nanos, 0.50),
              percentile_us(auth_nanos, 0.90), percentile_us(auth_nanos, 0.99),
              auth_nanos.back() / 1000.0);
  std::printf("breakdown (median ns per call, each part timed alone):\n");
  for (const Component& component : components)
    std::printf("  %-70s %9.0f\n", component.name.c_str(), component.median_ns);
  std::printf("  %-70s %9.0f\n", "other (authenticate p50 - sum of the above)", other_ns);
  std::printf("load average: start %s, end %s (sink %zu)\n", load_start.c_str(), load_end.c_str(),
              sink % 2);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Raw Ed25519 verify rate against RequestAuthenticator on signed requests"};
  app.add_option("--devices", options.devices, "Enrolled devices (one key each)")
      ->capture_default_str();
  app.add_option("--iterations", options.iterations, "Verifications per round and kind")
      ->capture_default_str();
  app.add_option("--rounds", options.rounds, "Interleaved raw/authenticate rounds")
      ->capture_default_str();
  app.add_option("--body-bytes", options.body_bytes, "Request body size")->capture_default_str();
  app.add_option("--setup", options.setup, "bulk (log + replay) or apply (one apply per change)")
      ->check(CLI::IsMember({"bulk", "apply"}))
      ->capture_default_str();
  app.add_option("--dir", options.dir, "Store directory (default: a fresh temporary one)");
  app.add_flag("--json", options.json, "Print one JSON object");
  CLI11_PARSE(app, argc, argv);
  if (options.devices == 0 || options.iterations == 0 || options.rounds == 0) {
    std::cerr << "--devices, --iterations and --rounds must be positive\n";
    return 2;
  }
  return run(options);
}
