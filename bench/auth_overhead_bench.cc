// auth_overhead_bench: the latency authentication + authorization add to one
// signed append (issue target: p99 under 100 us), single-threaded.
//
// World: --devices devices (default 10,000) spread over --sites sites
// ("s00".."s19") with --zones-per-site zones each ("s03-z1"), 25 vendors, a
// vendor_standing tag ("good", 5 % "watch", 2 % "low"), each enrolled with
// one Ed25519 key in an IdentityService on a temporary store + log (--setup
// bulk: the control entries are appended in a few group commits and
// IdentityService::open() replays them, as after a restart; --setup apply:
// one IdentityService::apply() per change). Policies: every *.cedar file of
// --policies (default: the source tree's docs/policies, loaded in file-name
// order like the server does) plus three generated policies per site (a
// gateway telemetry permit, a blocked-vendor forbid and a zone-lockdown
// forbid guarded by context fields the bench does not send); at least 50 in
// all. Site hours: most sites 6-22 or 7-19 UTC, sites s09 and s19 are night
// sites (22-6); the clock stands at 10:00 UTC, so their devices are denied.
//
// Each request is a POST /custos/v1/log/entries with a --body-bytes body,
// signed by sdk::RequestSigner for a random device (fresh nonce), built
// before timing. Timed per request, as a handler would run it:
//   authenticate(request)
//   + the context (source_ip from the peer address; hour, site_hours_start,
//     site_hours_end, device_posture "healthy", geofence_ok true) and the
//     resource entity Custos::Log::"<site>/<zone>" {site, zone} in
//     Custos::Zone::"<zone>"
//   + authorize(who, "log.append", resource, context).
// Reported: percentiles of the total (wall time, and the thread's CPU time,
// which leaves out waiting for a core on a loaded machine) and of each half,
// the allow rate, the policies behind the denials, and the parts of
// authorize() timed alone (principal lookup, decision id, entity store
// build, Cedar evaluation).
//
//   auth_overhead_bench [--devices N] [--sites S] [--zones-per-site Z]
//                       [--requests N] [--policies DIR] [--setup bulk|apply]
//                       [--seed S] [--body-bytes B] [--dir DIR] [--json]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "auth_bench_support.h"
#include "bench_support.h"
#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/random.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/identity/nonce_cache.h"
#include "custos/policy/authorizer.h"
#include "custos/policy/entities.h"
#include "custos/policy/parser.h"
#include "custos/sdk/signer.h"
#include "custos/server/auth.h"
#include "custos/server/http.h"

namespace {

using custos::HttpRequest;
using custos::JsonWriter;
using custos::Result;
using custos::Status;
using custos::bench::kBenchTime;
using custos::bench::kMicrosPerSecond;
using custos::bench::nanos_since;
using custos::bench::Percentiles;
using custos::bench::percentiles_us;
using custos::bench::SteadyClock;
using custos::bench::thread_cpu_nanos;
namespace identity = custos::identity;
namespace policy = custos::policy;

constexpr int kVendorCount = 25;

std::string default_policies_dir() {
  return (std::filesystem::path(__FILE__).parent_path().parent_path() / "docs" / "policies")
      .string();
}

struct Options {
  size_t devices = 10000;
  int sites = 20;
  int zones_per_site = 4;
  size_t requests = 20000;
  size_t body_bytes = 256;
  std::string policies_dir = default_policies_dir();
  std::string setup = "bulk";
  uint64_t seed = 20260528;
  std::string dir;
  bool json = false;
  size_t key_cache = custos::Ed25519KeyCache::kDefaultCapacity;  // 0: plain libsodium verify
  bool cold_keys = false;  // skip warm_key_cache(): keys are prepared on first use
};

// splitmix64: the same sequence on every platform for a seed.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

std::string two_digits(int number) {
  char text[8];
  std::snprintf(text, sizeof text, "%02d", number);
  return text;
}
std::string site_name(int site) { return "s" + two_digits(site); }
std::string zone_name(int site, int zone) { return site_name(site) + "-z" + std::to_string(zone); }
std::string vendor_name(int vendor) { return "vendor-" + two_digits(vendor); }

struct SiteHours {
  int64_t start = 6;
  int64_t end = 22;
};
SiteHours site_hours(int site) {
  if (site % 10 == 9) return {22, 6};  // night sites: closed at 10:00
  if (site % 3 == 1) return {7, 19};
  return {6, 22};
}

// The default set (every *.cedar in `dir`, file-name order, one newline
// between files) followed by the generated site policies.
Result<std::string> policy_text(const std::string& dir, int sites, size_t& generated) {
  std::vector<std::filesystem::path> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".cedar")
      files.push_back(entry.path());
  }
  if (error) return custos::not_found("cannot list " + dir + ": " + error.message());
  if (files.empty()) return custos::not_found("no *.cedar files in " + dir);
  std::sort(files.begin(), files.end());
  std::string text;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream contents;
    contents << in.rdbuf();
    if (!text.empty()) text += "\n";
    text += contents.str();
  }
  generated = 0;
  const std::string writes =
      "[Custos::Action::\"capture\", Custos::Action::\"log.append\", "
      "Custos::Action::\"dock.open\"]";
  for (int site = 0; site < sites; ++site) {
    const std::string name = site_name(site);
    const std::string in_site = "resource in Custos::Site::\"" + name + "\"";
    text += "\n@id(\"site-" + name + "-gateway-telemetry\")\n" +
            "permit (principal is Custos::Device, action == Custos::Action::\"telemetry.write\", " +
            in_site + ")\nwhen { principal has subtype && principal.subtype == \"gate\" };\n";
    // Each site blocks one vendor (a different one per site).
    text += "\n@id(\"site-" + name + "-blocked-vendors\")\n" +
            "forbid (principal is Custos::Device, action in " + writes + ", " + in_site + ")\n" +
            "when { principal has vendor && [\"" + vendor_name((site * 7) % kVendorCount) +
            "\", \"vendor-blocked\"].contains(principal.vendor) };\n";
    text += "\n@id(\"site-" + name + "-zone-lockdown\")\n" + "forbid (principal, action in " +
            writes + ", " + in_site + ")\n" +
            "when { context has lockdown_zones && resource has zone && "
            "context.lockdown_zones.contains(resource.zone) };\n";
    generated += 3;
  }
  return text;
}

struct Device {
  std::string id;
  int site = 0;
  int zone = 0;
  custos::sdk::RequestSigner signer;
};

Result<HttpRequest> signed_append(const Device& device, size_t sequence, size_t body_bytes,
                                  int64_t now_seconds) {
  CUSTOS_ASSIGN_OR_RETURN(
      custos::bench::SignedAppendRequest signed_request,
      custos::bench::signed_append_request(device.signer, device.id, sequence, body_bytes,
                                           "10.20." + std::to_string(device.site) + "." +
                                               std::to_string(10 + device.zone) + ":51000",
                                           now_seconds));
  return std::move(signed_request.request);
}

void write_percentiles(JsonWriter& json, const Percentiles& summary) {
  json.begin_object();
  json.key("mean").number(summary.mean);
  json.key("p50").number(summary.p50);
  json.key("p90").number(summary.p90);
  json.key("p99").number(summary.p99);
  json.key("p999").number(summary.p999);
  json.key("max").number(summary.max);
  json.end_object();
}

void print_percentiles(const char* name, const Percentiles& summary) {
  std::printf("  %-34s mean %6.1f  p50 %6.1f  p90 %6.1f  p99 %6.1f  p99.9 %7.1f  max %8.1f\n", name,
              summary.mean, summary.p50, summary.p90, summary.p99, summary.p999, summary.max);
}

int run(const Options& options) {
  const std::string load_start = custos::bench::load_average();
  custos::ManualClock clock(kBenchTime);
  const int64_t now_seconds = kBenchTime / kMicrosPerSecond;
  const std::string dir = custos::bench::bench_dir(options.dir, "custos-auth-overhead-bench");

  // ---- Policies ----
  size_t generated = 0;
  auto text = policy_text(options.policies_dir, options.sites, generated);
  if (!text.is_ok()) {
    std::cerr << "policies: " << text.status().to_string() << "\n";
    return 1;
  }
  auto policies = policy::parse_policies(*text);
  if (!policies.is_ok()) {
    std::cerr << "policies: " << policies.status().to_string() << "\n";
    return 1;
  }
  auto policies_copy = policy::parse_policies(*text);  // for the breakdown (move-only type)
  const size_t policy_count = policies->size();
  if (policy_count < 50) {
    std::cerr << "only " << policy_count << " policies (need at least 50; raise --sites)\n";
    return 1;
  }
  std::cerr << "policies: " << policy_count - generated << " from " << options.policies_dir << " + "
            << generated << " generated = " << policy_count << "\n";

  // ---- Devices and the identity service ----
  auto setup_started = SteadyClock::now();
  std::vector<Device> devices;
  devices.reserve(options.devices);
  std::vector<identity::ControlChange> changes;
  changes.reserve(2 * options.devices);
  const identity::DeviceSubtype subtypes[] = {
      identity::DeviceSubtype::kScanner, identity::DeviceSubtype::kGate,
      identity::DeviceSubtype::kDoorController, identity::DeviceSubtype::kTracker};
  for (size_t i = 0; i < options.devices; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "dev-%05zu", i);
    int site = static_cast<int>(i % options.sites);
    int zone = static_cast<int>((i / options.sites) % options.zones_per_site);
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kDevice;
    attributes.subtype = subtypes[i % 4];
    attributes.display_name = std::string("Device ") + id;
    attributes.site = site_name(site);
    attributes.zone = zone_name(site, zone);
    attributes.vendor = vendor_name(static_cast<int>((i * 31) % kVendorCount));
    attributes.tags["vendor_standing"] = i % 50 == 7 ? "low" : i % 20 == 3 ? "watch" : "good";
    attributes.tags["asset_tag"] = "AT-" + std::to_string(100000 + i);
    auto signer = custos::bench::enroll_device(changes, attributes,
                                               kBenchTime - 24 * 3600 * kMicrosPerSecond);
    if (!signer.is_ok()) {
      std::cerr << "signer: " << signer.status().to_string() << "\n";
      return 1;
    }
    devices.push_back(Device{id, site, zone, std::move(signer).value()});
  }
  auto bench_identity =
      custos::bench::BenchIdentity::create(dir, clock, "bench.example/custos/auth-overhead");
  if (!bench_identity.is_ok()) {
    std::cerr << "setup: " << bench_identity.status().to_string() << "\n";
    return 1;
  }
  std::cerr << "enrolling " << options.devices << " devices in " << options.sites << " sites x "
            << options.zones_per_site << " zones (--setup " << options.setup << ")\n";
  if (Status enrolled = (*bench_identity)->enroll(changes, options.setup == "apply");
      !enrolled.is_ok()) {
    std::cerr << "enroll: " << enrolled.to_string() << "\n";
    return 1;
  }
  const identity::IdentityService& service = (*bench_identity)->service();
  const double setup_seconds = nanos_since(setup_started) / 1e9;
  std::cerr << "setup took " << setup_seconds << " s\n";

  // ---- Requests, signed before timing ----
  Prng prng(options.seed);
  const size_t warmup = std::min<size_t>(1000, options.requests);
  const size_t total = warmup + options.requests;
  std::vector<const Device*> senders;
  std::vector<HttpRequest> requests;
  senders.reserve(total);
  requests.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    const Device& device = devices[prng.below(devices.size())];
    auto request = signed_append(device, i, options.body_bytes, now_seconds);
    if (!request.is_ok()) {
      std::cerr << "sign: " << request.status().to_string() << "\n";
      return 1;
    }
    senders.push_back(&device);
    requests.push_back(std::move(request).value());
  }
  std::cerr << "signed " << total << " requests\n";

  identity::NonceCache nonces;
  custos::AuthenticatorOptions authenticator_options;
  authenticator_options.key_cache_entries = options.key_cache;
  custos::RequestAuthenticator authenticator(service, nonces, clock, authenticator_options);
  size_t keys_prepared = 0;
  double warm_seconds = 0;
  if (!options.cold_keys) {
    // What `custos serve` does in the background at start.
    auto warm_started = SteadyClock::now();
    keys_prepared = authenticator.warm_key_cache();
    warm_seconds = nanos_since(warm_started) / 1e9;
    std::cerr << "prepared " << keys_prepared << " keys in " << warm_seconds << " s\n";
  }
  custos::RequestAuthorizer authorizer(service, clock, std::move(policies).value());

  std::vector<double> total_nanos, authn_nanos, authz_nanos, total_cpu_nanos;
  total_nanos.reserve(options.requests);
  authn_nanos.reserve(options.requests);
  authz_nanos.reserve(options.requests);
  size_t allowed = 0, denied = 0, auth_failures = 0, policy_errors = 0;
  std::map<std::string, size_t> deny_reasons;
  std::map<std::string, size_t> auth_failure_reasons;
  for (size_t i = 0; i < total; ++i) {
    const HttpRequest& request = requests[i];
    const Device& device = *senders[i];
    const bool timed = i >= warmup;

    const double cpu_started = thread_cpu_nanos();
    auto started = SteadyClock::now();
    custos::AuthResult who = authenticator.authenticate(request);
    auto authenticated = SteadyClock::now();
    if (!who.is_ok()) {
      if (timed) {
        ++auth_failures;
        ++auth_failure_reasons[who.failure().reason];
      }
      continue;
    }
    // What the append handler derives from the request and the device's location
    // (hour comes from the authorizer's clock: 10:00 UTC).
    custos::AuthorizationContext context;
    if (auto ip = custos::source_ip_of(request); ip.is_ok()) context.source_ip = *ip;
    const SiteHours hours = site_hours(device.site);
    context.extra = {
        {"site_hours_start", policy::Value::long_value(hours.start)},
        {"site_hours_end", policy::Value::long_value(hours.end)},
        {"device_posture", policy::Value::string("healthy")},
        {"geofence_ok", policy::Value::boolean(true)},
    };
    const std::string site = site_name(device.site);
    const std::string zone = zone_name(device.site, device.zone);
    policy::Entity resource;
    resource.uid = policy::EntityUid{"Custos::Log", site + "/" + zone};
    resource.attributes = policy::Value::record(
        {{"site", policy::Value::string(site)}, {"zone", policy::Value::string(zone)}});
    resource.parents.push_back(policy::EntityUid{std::string(custos::kZoneType), zone});
    custos::AuthorizationDecision decision =
        authorizer.authorize(who.value(), "log.append", resource, context);
    auto finished = SteadyClock::now();
    const double cpu_finished = thread_cpu_nanos();
    if (!timed) continue;

    total_cpu_nanos.push_back(cpu_finished - cpu_started);
    total_nanos.push_back(std::chrono::duration<double, std::nano>(finished - started).count());
    authn_nanos.push_back(
        std::chrono::duration<double, std::nano>(authenticated - started).count());
    authz_nanos.push_back(
        std::chrono::duration<double, std::nano>(finished - authenticated).count());
    policy_errors += decision.errors.size();
    if (decision.allowed) {
      ++allowed;
    } else {
      ++denied;
      std::string reason;
      for (const std::string& id : decision.policy_ids) reason += (reason.empty() ? "" : "+") + id;
      ++deny_reasons[reason.empty() ? "(no permit satisfied)" : reason];
    }
  }
  // ---- Breakdown of authorize(): its parts, each timed alone (median ns) ----
  struct Component {
    std::string name;
    double median_ns = 0;
  };
  std::vector<Component> components;
  const size_t parts = std::min<size_t>(5000, options.requests);
  auto median_nanos = [parts](auto body) {
    std::vector<double> samples;
    samples.reserve(parts);
    for (size_t i = 0; i < parts; ++i) {
      auto started = SteadyClock::now();
      body(i);
      samples.push_back(nanos_since(started));
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
  };
  std::vector<identity::PrincipalPtr> principals(parts);
  std::vector<policy::Entity> resources(parts);
  for (size_t i = 0; i < parts; ++i) {
    const Device& device = *senders[warmup + i];
    principals[i] = service.find_principal(device.id);
    const std::string site = site_name(device.site);
    const std::string zone = zone_name(device.site, device.zone);
    resources[i].uid = policy::EntityUid{"Custos::Log", site + "/" + zone};
    resources[i].attributes = policy::Value::record(
        {{"site", policy::Value::string(site)}, {"zone", policy::Value::string(zone)}});
    resources[i].parents.push_back(policy::EntityUid{std::string(custos::kZoneType), zone});
  }
  auto entities_of = [&](size_t i) {
    const identity::PrincipalAttributes& attributes = principals[i]->attributes;
    std::vector<policy::Entity> entities;
    entities.reserve(4);
    entities.push_back(custos::principal_entity(*principals[i]));
    entities.push_back(
        policy::Entity{policy::EntityUid{std::string(custos::kSiteType), attributes.site},
                       policy::Value::record({}),
                       {}});
    entities.push_back(
        policy::Entity{policy::EntityUid{std::string(custos::kZoneType), attributes.zone},
                       policy::Value::record({}),
                       {policy::EntityUid{std::string(custos::kSiteType), attributes.site}}});
    entities.push_back(resources[i]);
    return entities;
  };
  size_t sink = 0;
  components.push_back({"IdentityService::find_principal", median_nanos([&](size_t i) {
                          sink += service.find_principal(principals[i]->id()) != nullptr;
                        })});
  components.push_back({"decision id (16 random bytes, hex)", median_nanos([&](size_t) {
                          sink += custos::hex_encode(custos::random_bytes(16)).size();
                        })});
  components.push_back(
      {"principal_entity + EntityStore::build (4 entities)", median_nanos([&](size_t i) {
         auto store = policy::EntityStore::build(entities_of(i));
         sink += store.is_ok();
       })});
  std::vector<policy::EntityStore> stores;
  stores.reserve(parts);
  for (size_t i = 0; i < parts; ++i)
    stores.push_back(policy::EntityStore::build(entities_of(i)).value());
  components.push_back(
      {"policy::is_authorized (prebuilt store and request)", median_nanos([&](size_t i) {
         const SiteHours hours = site_hours(senders[warmup + i]->site);
         policy::Request request;
         request.principal = custos::principal_uid(*principals[i]);
         request.action = custos::action_uid("log.append");
         request.resource = resources[i].uid;
         request.context = policy::Value::record({
             {"site_hours_start", policy::Value::long_value(hours.start)},
             {"site_hours_end", policy::Value::long_value(hours.end)},
             {"device_posture", policy::Value::string("healthy")},
             {"geofence_ok", policy::Value::boolean(true)},
             {"time", policy::Value::long_value(now_seconds)},
             {"hour", policy::Value::long_value(10)},
             {"weekday", policy::Value::long_value(4)},  // 2026-05-28 is a Thursday
             {"credential", policy::Value::string("signature")},
             {"scopes", policy::Value::set({})},
         });
         sink += policy::is_authorized(request, *policies_copy, stores[i]).allowed;
       })});

  const std::string load_end = custos::bench::load_average();
  const size_t decided = allowed + denied;
  const double allow_rate = decided ? static_cast<double>(allowed) / decided : 0;
  const Percentiles total_us = percentiles_us(total_nanos);
  const Percentiles authn_us = percentiles_us(authn_nanos);
  const Percentiles authz_us = percentiles_us(authz_nanos);
  const Percentiles total_cpu_us = percentiles_us(total_cpu_nanos);
  const bool goal_met = total_us.p99 < 100.0;

  if (options.json) {
    JsonWriter json;
    json.begin_object();
    json.key("devices").number(static_cast<uint64_t>(options.devices));
    json.key("sites").number(options.sites);
    json.key("zones").number(options.sites * options.zones_per_site);
    json.key("policies").number(static_cast<uint64_t>(policy_count));
    json.key("policies_generated").number(static_cast<uint64_t>(generated));
    json.key("policies_dir").string(options.policies_dir);
    json.key("requests").number(static_cast<uint64_t>(options.requests));
    json.key("allowed").number(static_cast<uint64_t>(allowed));
    json.key("denied").number(static_cast<uint64_t>(denied));
    json.key("allow_rate").number(allow_rate);
    json.key("auth_failures").number(static_cast<uint64_t>(auth_failures));
    json.key("policy_errors").number(static_cast<uint64_t>(policy_errors));
    json.key("added_latency_us");
    write_percentiles(json, total_us);
    json.key("added_cpu_us");
    write_percentiles(json, total_cpu_us);
    json.key("authenticate_us");
    write_percentiles(json, authn_us);
    json.key("authorize_us");
    write_percentiles(json, authz_us);
    json.key("authorize_breakdown_ns").begin_object();
    for (const Component& component : components)
      json.key(component.name).number(component.median_ns);
    json.end_object();
    json.key("goal_p99_us").number(100.0);
    json.key("goal_met").boolean(goal_met);
    json.key("deny_reasons").begin_object();
    for (const auto& [reason, count] : deny_reasons)
      json.key(reason).number(static_cast<uint64_t>(count));
    json.end_object();
    json.key("auth_failure_reasons").begin_object();
    for (const auto& [reason, count] : auth_failure_reasons)
      json.key(reason).number(static_cast<uint64_t>(count));
    json.end_object();
    json.key("setup").string(options.setup);
    json.key("setup_seconds").number(setup_seconds);
    json.key("key_cache_entries").number(static_cast<uint64_t>(options.key_cache));
    json.key("keys_prepared_before_timing").number(static_cast<uint64_t>(keys_prepared));
    json.key("key_warm_seconds").number(warm_seconds);
    json.key("load_average_start").string(load_start);
    json.key("load_average_end").string(load_end);
    json.end_object();
    std::cout << json.take() << "\n";
    return auth_failures == 0 ? 0 : 1;
  }
  std::printf("%zu devices, %d sites x %d zones, %zu policies (%zu generated), %zu requests\n",
              options.devices, options.sites, options.zones_per_site, policy_count, generated,
              options.requests);
  std::printf(
      "allowed %zu, denied %zu (allow rate %.3f), authentication failures %zu, "
      "policy evaluation errors %zu\n",
      allowed, denied, allow_rate, auth_failures, policy_errors);
  std::printf("latency in us (nearest rank):\n");
  print_percentiles("authenticate + authorize", total_us);
  print_percentiles("  authenticate", authn_us);
  print_percentiles("  context + resource + authorize", authz_us);
  print_percentiles("thread CPU time of the total", total_cpu_us);
  std::printf("authorize() parts, each timed alone (median ns):\n");
  for (const Component& component : components)
    std::printf("  %-55s %8.0f\n", component.name.c_str(), component.median_ns);
  std::printf("key cache %zu entries, %zu keys prepared before timing in %.3f s\n",
              options.key_cache, keys_prepared, warm_seconds);
  std::printf("goal p99 < 100 us: %s\n", goal_met ? "met" : "NOT met");
  std::printf("denials by determining policies:\n");
  for (const auto& [reason, count] : deny_reasons)
    std::printf("  %6zu  %s\n", count, reason.c_str());
  for (const auto& [reason, count] : auth_failure_reasons)
    std::printf("  authentication refused %zu: %s\n", count, reason.c_str());
  std::printf("load average: start %s, end %s (sink %zu)\n", load_start.c_str(), load_end.c_str(),
              sink % 2);
  return auth_failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Latency that authentication + authorization add to a signed append"};
  app.add_option("--devices", options.devices, "Enrolled devices")->capture_default_str();
  app.add_option("--sites", options.sites, "Sites")->capture_default_str();
  app.add_option("--zones-per-site", options.zones_per_site, "Zones per site")
      ->capture_default_str();
  app.add_option("--requests", options.requests, "Timed requests")->capture_default_str();
  app.add_option("--policies", options.policies_dir, "Directory of *.cedar files")
      ->capture_default_str();
  app.add_option("--setup", options.setup, "bulk (log + replay) or apply (one apply per change)")
      ->check(CLI::IsMember({"bulk", "apply"}))
      ->capture_default_str();
  app.add_option("--seed", options.seed, "Seed for the choice of devices")->capture_default_str();
  app.add_option("--body-bytes", options.body_bytes, "Request body size")->capture_default_str();
  app.add_option("--dir", options.dir, "Store directory (default: a fresh temporary one)");
  app.add_flag("--json", options.json, "Print one JSON object");
  app.add_option("--key-cache", options.key_cache,
                 "Prepared-key cache entries (auth.key_cache_entries; 0 = libsodium verify)")
      ->capture_default_str();
  app.add_flag("--cold-keys", options.cold_keys,
               "Do not prepare keys before timing (first request of each key prepares it)");
  CLI11_PARSE(app, argc, argv);
  if (options.devices == 0 || options.requests == 0 || options.sites <= 0 ||
      options.zones_per_site <= 0 || options.sites > 100) {
    std::cerr << "--devices, --requests, --sites (at most 100) and --zones-per-site must be "
                 "positive\n";
    return 2;
  }
  return run(options);
}
