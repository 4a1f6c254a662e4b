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

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "auth_bench_support.h"
#include "bench_support.h"
#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/ed25519_prepared.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/structured_fields.h"
#include "custos/identity/identity_service.h"
#include "custos/identity/nonce_cache.h"
#include "custos/sdk/signer.h"
#include "custos/server/auth.h"
#include "custos/server/http.h"

namespace {

using custos::HttpRequest;
using custos::JsonWriter;
using custos::Result;
using custos::Status;
using custos::bench::kAuthority;
using custos::bench::kBenchTime;
using custos::bench::kMicrosPerSecond;
using custos::bench::median;
using custos::bench::nanos_since;
using custos::bench::SteadyClock;
using custos::bench::thread_cpu_nanos;
namespace identity = custos::identity;

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

// What the server's HTTP parser hands to the authenticator for one signed append.
struct SignedAppend {
  HttpRequest request;
  custos::Ed25519PublicKey public_key;
  std::string signature_base;
  custos::Ed25519Signature signature;
};

Result<SignedAppend> signed_append(const Device& device, size_t sequence, size_t body_bytes,
                                   int64_t now_seconds) {
  CUSTOS_ASSIGN_OR_RETURN(
      custos::bench::SignedAppendRequest signed_request,
      custos::bench::signed_append_request(device.signer, device.id, sequence, body_bytes,
                                           "10.20.30.40:51000", now_seconds));
  return SignedAppend{std::move(signed_request.request), device.signer.public_key(),
                      std::move(signed_request.headers.signature_base),
                      signed_request.headers.signature_bytes};
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
  const std::string dir = custos::bench::bench_dir(options.dir, "custos-sig-verify-bench");

  // ---- Setup: devices, their keys, the identity service ----
  auto setup_started = SteadyClock::now();
  std::vector<Device> devices;
  devices.reserve(options.devices);
  std::vector<identity::ControlChange> changes;
  for (size_t i = 0; i < options.devices; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "dev-%05zu", i);
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kDevice;
    attributes.subtype = identity::DeviceSubtype::kScanner;
    attributes.display_name = std::string("Scanner ") + id;
    attributes.site = "s" + std::to_string(i % 20);
    attributes.zone = attributes.site + "-dock-a";
    attributes.vendor = "acme";
    auto signer =
        custos::bench::enroll_device(changes, attributes, kBenchTime - 3600 * kMicrosPerSecond);
    if (!signer.is_ok()) {
      std::cerr << "signer: " << signer.status().to_string() << "\n";
      return 1;
    }
    devices.push_back(Device{id, std::move(signer).value()});
  }
  auto bench_identity =
      custos::bench::BenchIdentity::create(dir, clock, "bench.example/custos/sig-verify");
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
  const custos::bench::Percentiles auth_us = custos::bench::percentiles_us(std::move(auth_nanos));

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
  custos::Ed25519KeyCache key_cache;
  for (const auto& append : appends) key_cache.warm(append.public_key);
  components.push_back(
      {"Ed25519 verify, prepared key (Ed25519KeyCache, as authenticate())",
       median_nanos(parts, [&](size_t i) {
         const SignedAppend& append = appends[warmup + i];
         sink += key_cache.verify(append.public_key, custos::as_bytes(append.signature_base),
                                  append.signature);
       })});
  double accounted_ns = 0;
  for (const Component& component : components) accounted_ns += component.median_ns;
  // For reference, not part of authenticate() on a prepared key.
  std::vector<Component> references;
  references.push_back(
      {"libsodium verify (custos::ed25519_verify)", median_nanos(parts, [&](size_t i) {
         const SignedAppend& append = appends[warmup + i];
         sink += custos::ed25519_verify(append.public_key, custos::as_bytes(append.signature_base),
                                        append.signature);
       })});
  references.push_back(
      {"Ed25519PreparedKey::prepare (a key's first request)", median_nanos(parts, [&](size_t i) {
         sink += custos::Ed25519PreparedKey::prepare(appends[warmup + i].public_key).is_ok();
       })});
  const double auth_p50_ns = auth_us.p50 * 1000.0;
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
    json.key("mean").number(auth_us.mean);
    json.key("p50").number(auth_us.p50);
    json.key("p90").number(auth_us.p90);
    json.key("p99").number(auth_us.p99);
    json.key("max").number(auth_us.max);
    json.end_object();
    json.key("p50_us").number(auth_us.p50);
    json.key("p99_us").number(auth_us.p99);
    json.key("breakdown_ns").begin_object();
    for (const Component& component : components)
      json.key(component.name).number(component.median_ns);
    json.key("other (authenticate p50 - sum)").number(other_ns);
    json.end_object();
    json.key("reference_ns").begin_object();
    for (const Component& component : references)
      json.key(component.name).number(component.median_ns);
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
              auth_us.mean, auth_us.p50, auth_us.p90, auth_us.p99, auth_us.max);
  std::printf("breakdown (median ns per call, each part timed alone):\n");
  for (const Component& component : components)
    std::printf("  %-70s %9.0f\n", component.name.c_str(), component.median_ns);
  std::printf("  %-70s %9.0f\n", "other (authenticate p50 - sum of the above)", other_ns);
  std::printf("reference (median ns per call):\n");
  for (const Component& component : references)
    std::printf("  %-70s %9.0f\n", component.name.c_str(), component.median_ns);
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
