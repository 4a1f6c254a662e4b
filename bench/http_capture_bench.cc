// http_capture_bench: EPCIS capture through HTTP, in one process (issue 5:
// signed documents of 100 events each, synced, the load generator in the same
// run; report events/s and how far that is from the raw log append rate).
//
// Setup: a temporary store + log (fake checkpoint signer) + IdentityService
// with --devices enrolled devices at site dc1, zone dock; the default
// policies; an EventIndex; the EPCIS routes on an HttpServer (127.0.0.1:0,
// --io-threads). Every request is built and signed before timing: POST
// /capture of an EPCISDocument with --events ObjectEvents (fresh SGTINs and
// eventIDs) at the dock's location, signed by a device with a healthy
// posture inside the geofence (RFC 9421: created, nonce, content-digest).
// Timing: --connections client threads, each on its own keep-alive
// connection, send --documents documents each as fast as answers come back;
// every answer must be 202. Then, in the same run, the raw rate: the same
// number of events appended to the log as groups of --events entries (the
// same payload size), --connections groups in flight, no HTTP, no indexing.
//
//   http_capture_bench [--devices N] [--connections C] [--documents D]
//                      [--events E] [--io-threads T] [--json]
#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

#include "auth_bench_support.h"
#include "bench_support.h"
#include "custos/core/json_writer.h"
#include "custos/core/work_queue.h"
#include "custos/custody/capture_record.h"
#include "custos/custody/event_index.h"
#include "custos/ledger/entry_scan.h"
#include "custos/policy/policy_store.h"
#include "custos/policy/schema.h"
#include "custos/server/default_policies.h"
#include "custos/server/epcis_api.h"
#include "custos/server/http_client.h"
#include "custos/server/metrics.h"
#include "custos/server/policy_api.h"
#include "custos/server/server.h"

namespace {

using namespace custos;
using namespace custos::bench;

struct Options {
  size_t devices = 8;
  size_t connections = 8;
  size_t documents = 50;  // per connection
  size_t events = 100;    // per document
  size_t warmup = 0;      // documents per connection captured before timing
  uint32_t io_threads = 2;
  bool json = false;
  bool store_statistics = false;
  bool raw = true;  // --no-raw: skip the raw append comparison (e.g. to profile capture alone)
};

constexpr std::string_view kLocation = "urn:epc:id:sgln:0614141.00001.0";
constexpr std::string_view kGeo = "52.37,4.89";

std::string capture_document(size_t connection, size_t document, size_t events) {
  std::string json =
      R"({"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],)"
      R"("type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-28T09:59:00Z",)"
      R"("epcisBody":{"eventList":[)";
  for (size_t i = 0; i < events; ++i) {
    const std::string serial = std::to_string(connection) + "x" + std::to_string(document) + "x" +
                               std::to_string(i);
    if (i > 0) json += ",";
    json += R"({"type":"ObjectEvent","eventID":"urn:uuid:bench-)" + serial +
            R"(","eventTime":"2026-05-28T09:58:00.000Z","eventTimeZoneOffset":"+02:00",)"
            R"("epcList":["urn:epc:id:sgtin:0614141.107346.)" + serial +
            R"("],"action":"OBSERVE","bizStep":"receiving","disposition":"in_progress",)"
            R"("readPoint":{"id":")" + std::string(kLocation) + R"("},"bizLocation":{"id":")" +
            std::string(kLocation) + R"("}})";
  }
  return json + "]}}";
}

struct EntryBytes {
  uint64_t entry = 0;
  uint64_t payload = 0;
  uint64_t signature = 0;
};

struct SignedDocument {
  std::string body;
  HttpHeaders headers;
};

int run(const Options& options) {
  ManualClock clock(kBenchTime);
  const std::string dir = bench_dir("", "custos-capture-bench");
  auto bench_identity = BenchIdentity::create(dir, clock, "bench.custos/capture");
  if (!bench_identity.is_ok()) {
    std::cerr << bench_identity.status().to_string() << "\n";
    return 1;
  }
  BenchIdentity& world = **bench_identity;
  std::vector<identity::ControlChange> changes;
  std::vector<sdk::RequestSigner> signers;
  for (size_t d = 0; d < options.devices; ++d) {
    identity::PrincipalAttributes attributes;
    attributes.id = "dock-scanner-" + std::to_string(d);
    attributes.kind = identity::PrincipalKind::kDevice;
    attributes.subtype = identity::DeviceSubtype::kScanner;
    attributes.site = "dc1";
    attributes.zone = "dock";
    auto signer = enroll_device(changes, attributes, kBenchTime - 3600 * kMicrosPerSecond);
    if (!signer.is_ok()) return 1;
    signers.push_back(std::move(signer).value());
  }
  if (Status enrolled = world.enroll(changes, false); !enrolled.is_ok()) {
    std::cerr << enrolled.to_string() << "\n";
    return 1;
  }
  auto policies = policy::PolicyStore::open(world.log(), world.store(), policy::custos_schema());
  if (!policies.is_ok() || !(*policies)->push(default_policy_text(), "bench", "bench").is_ok()) {
    std::cerr << "policies could not be set up\n";
    return 1;
  }
  auto index = custody::EventIndex::open(world.store(), world.log(), custody::summarise_entry);
  if (!index.is_ok()) {
    std::cerr << index.status().to_string() << "\n";
    return 1;
  }
  SiteConfig site;
  site.id = "dc1";
  site.has_geofence = true;
  site.latitude = 52.37;
  site.longitude = 4.89;
  site.radius_m = 500;
  site.locations = {{std::string(kLocation), "dock"}};
  MetricsRegistry metrics;
  AccessControlOptions access_options;
  access_options.sites = {site};
  AccessControl access(world.service(), clock, metrics, access_options);
  if (!follow_policy_store(**policies, access).is_ok()) return 1;
  Router router;
  WorkQueue indexer(1);
  EpcisApiOptions api;
  api.gatekeeper = &access.gatekeeper();
  api.clock = &clock;
  api.sites = {site};
  WorkQueue receipts(2);
  api.receipts = &receipts;
  if (!add_epcis_routes(router, world.log(), **index, indexer, api).is_ok()) return 1;
  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  server_options.io_threads = options.io_threads;
  HttpServer server(server_options, std::move(router), &metrics);
  if (!server.start().is_ok()) return 1;
  const std::string authority = "127.0.0.1:" + std::to_string(server.port());

  // ---- Documents, signed before timing (warm-up ones first) ----
  std::vector<std::vector<SignedDocument>> work(options.connections);
  size_t body_bytes = 0;
  for (size_t c = 0; c < options.connections; ++c) {
    const sdk::RequestSigner& signer = signers[c % signers.size()];
    for (size_t k = 0; k < options.warmup + options.documents; ++k) {
      SignedDocument document;
      document.body = capture_document(c, k, options.events);
      auto signed_headers =
          signer.sign("POST", "http", authority, "/capture", document.body,
                      kBenchTime / kMicrosPerSecond,
                      {{"Custos-Device-Posture", "healthy"}, {"Custos-Geo", std::string(kGeo)}});
      if (!signed_headers.is_ok()) return 1;
      document.headers.set("Content-Type", "application/ld+json");
      document.headers.set("Content-Digest", *signed_headers->content_digest);
      document.headers.set("Signature-Input", signed_headers->signature_input);
      document.headers.set("Signature", signed_headers->signature);
      document.headers.set("Custos-Device-Posture", "healthy");
      document.headers.set("Custos-Geo", std::string(kGeo));
      if (k >= options.warmup) body_bytes += document.body.size();
      work[c].push_back(std::move(document));
    }
  }
  const size_t total_events = options.connections * options.documents * options.events;
  std::cerr << "signed " << options.connections * options.documents << " documents ("
            << total_events << " events, " << body_bytes / 1024 / 1024 << " MiB)\n";

  // ---- Warm-up: the same server captures the first documents, untimed ----
  std::vector<std::unique_ptr<HttpClient>> connections;
  for (size_t c = 0; c < options.connections; ++c) {
    connections.push_back(std::make_unique<HttpClient>("127.0.0.1", server.port()));
  }
  std::atomic<size_t> failures{0};
  std::string first_failure;
  std::mutex failure_mutex;
  auto send = [&](size_t c, const SignedDocument& document) {
    auto response = connections[c]->request("POST", "/capture", document.body, document.headers);
    if (!response.is_ok() || response->status != 202) {
      if (failures++ == 0) {
        std::lock_guard lock(failure_mutex);
        first_failure = response.is_ok() ? response->body : response.status().to_string();
      }
    }
  };
  if (options.warmup > 0) {
    std::vector<std::thread> clients;
    for (size_t c = 0; c < options.connections; ++c) {
      clients.emplace_back([&, c] {
        for (size_t k = 0; k < options.warmup; ++k) send(c, work[c][k]);
      });
    }
    for (auto& thread : clients) thread.join();
    std::cerr << "warm-up: " << options.connections * options.warmup * options.events
              << " events captured before timing\n";
  }

  // ---- HTTP capture ----
  const uint64_t size_before = world.log().tree_size();
  std::vector<std::vector<double>> latencies(options.connections);
  const std::string load_start = load_average();
  const double cpu_start = process_cpu_seconds();
  const uint64_t faults_start = process_minor_faults();
  auto started = SteadyClock::now();
  std::vector<std::thread> clients;
  for (size_t c = 0; c < options.connections; ++c) {
    clients.emplace_back([&, c] {
      for (size_t k = options.warmup; k < work[c].size(); ++k) {
        auto sent = SteadyClock::now();
        send(c, work[c][k]);
        latencies[c].push_back(nanos_since(sent));
      }
    });
  }
  for (auto& thread : clients) thread.join();
  const double http_seconds = nanos_since(started) / 1e9;
  const double http_cpu_seconds = process_cpu_seconds() - cpu_start;
  const uint64_t http_faults = process_minor_faults() - faults_start;
  const std::string load_end = load_average();
  if (failures > 0) {
    std::cerr << failures << " documents were not captured; first: " << first_failure << "\n";
    return 1;
  }
  const uint64_t committed = world.log().tree_size() - size_before;
  if (options.store_statistics) std::cerr << world.store().statistics();
  std::vector<double> all;
  for (auto& samples : latencies) all.insert(all.end(), samples.begin(), samples.end());
  const Percentiles latency = percentiles_us(std::move(all));
  // What the capture logged per event (read back, untimed): whole entry,
  // its payload and its request signature (evidence or reference).
  EntryBytes logged_bytes;
  auto scanned = ledger::scan_entries(
      world.log(), size_before, size_before + committed, std::nullopt,
      [&](const ledger::LogEntry& entry, ByteView entry_bytes) {
        logged_bytes.entry += entry_bytes.size();
        logged_bytes.payload += entry.payload.size();
        logged_bytes.signature += entry.request_signature.size();
        return Status::ok();
      });
  if (!scanned.is_ok()) {
    std::cerr << "reading the captured entries back: " << scanned.status().to_string() << "\n";
    return 1;
  }

  // ---- Raw log appends of the same entries' size, same run (unless --no-raw) ----
  const size_t groups = options.connections * options.documents;
  std::atomic<size_t> raw_failures{0};
  double raw_seconds = 0;
  if (options.raw) {
    const size_t payload_bytes = body_bytes / total_events;
    std::atomic<size_t> in_flight{0};
    auto raw_started = SteadyClock::now();
    for (size_t g = 0; g < groups; ++g) {
      while (in_flight.load() >= options.connections) std::this_thread::yield();
      std::vector<ledger::AppendRequest> group(options.events);
      for (auto& request : group) {
        request.kind = ledger::EntryKind::kRawPayload;
        request.principal = "dock-scanner-0";
        request.payload = Bytes(payload_bytes, uint8_t('x'));
      }
      ++in_flight;
      world.log().append_group_async(std::move(group),
                                     [&](Result<std::vector<ledger::AppendReceipt>> receipts) {
                                       if (!receipts.is_ok()) ++raw_failures;
                                       --in_flight;
                                     });
    }
    while (in_flight.load() > 0) std::this_thread::yield();
    raw_seconds = nanos_since(raw_started) / 1e9;
  }
  server.stop();

  const double http_rate = static_cast<double>(committed) / http_seconds;
  const double raw_rate = options.raw ? static_cast<double>(total_events) / raw_seconds : 0;
  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("connections").number(static_cast<uint64_t>(options.connections))
        .key("documents").number(static_cast<uint64_t>(options.connections * options.documents))
        .key("events_per_document").number(static_cast<uint64_t>(options.events))
        .key("warmup_documents").number(static_cast<uint64_t>(options.connections * options.warmup))
        .key("events_committed").number(committed)
        .key("document_bytes_mean").number(static_cast<uint64_t>(body_bytes / groups))
        .key("http_seconds").number(http_seconds)
        .key("http_events_per_s").number(http_rate)
        .key("document_latency_ms_p50").number(latency.p50 / 1000)
        .key("document_latency_ms_p99").number(latency.p99 / 1000);
    if (options.raw) {
      json.key("raw_group_append_events_per_s").number(raw_rate)
          .key("http_over_raw").number(http_rate / raw_rate);
    }
    json.key("cpu_us_per_event").number(1e6 * http_cpu_seconds / static_cast<double>(committed))
        .key("minor_page_faults").number(http_faults)
        .key("entry_bytes_mean").number(logged_bytes.entry / committed)
        .key("entry_payload_bytes_mean").number(logged_bytes.payload / committed)
        .key("entry_signature_bytes_mean").number(logged_bytes.signature / committed)
        .key("goal_events_per_s").number(50000.0)
        .key("load_average_start").string(load_start)
        .key("load_average_end").string(load_end)
        .end_object();
    std::cout << json.take() << "\n";
    return raw_failures == 0 ? 0 : 1;
  }
  std::printf("%zu connections x %zu documents x %zu events: %llu events committed in %.2f s\n",
              options.connections, options.documents, options.events,
              static_cast<unsigned long long>(committed), http_seconds);
  std::printf("HTTP capture: %.0f events/s (goal 50,000); document latency p50 %.1f ms, p99 %.1f ms\n",
              http_rate, latency.p50 / 1000, latency.p99 / 1000);
  if (options.raw) {
    std::printf("raw log group appends (same entry size, same run): %.0f events/s; HTTP at %.1f%%\n",
                raw_rate, 100 * http_rate / raw_rate);
  }
  std::printf("CPU of the whole process (server and load generator) during HTTP capture: %.1f us "
              "per event (%.2f cores busy), %llu minor page faults\n",
              1e6 * http_cpu_seconds / static_cast<double>(committed), http_cpu_seconds / http_seconds,
              static_cast<unsigned long long>(http_faults));
  std::printf("log entries: mean %llu bytes (payload %llu, request signature %llu)\n",
              static_cast<unsigned long long>(logged_bytes.entry / committed),
              static_cast<unsigned long long>(logged_bytes.payload / committed),
              static_cast<unsigned long long>(logged_bytes.signature / committed));
  std::printf("load average: start %s, end %s\n", load_start.c_str(), load_end.c_str());
  return raw_failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"EPCIS capture through HTTP against raw log appends, in one run"};
  app.add_option("--devices", options.devices, "Enrolled devices")->capture_default_str();
  app.add_option("--connections", options.connections, "Client connections (threads)")
      ->capture_default_str();
  app.add_option("--documents", options.documents, "Documents per connection")->capture_default_str();
  app.add_option("--events", options.events, "Events per document")->capture_default_str();
  app.add_option("--warmup", options.warmup,
                 "Documents per connection captured by the same server before timing starts")
      ->capture_default_str();
  app.add_option("--io-threads", options.io_threads, "Server I/O threads")->capture_default_str();
  app.add_flag("--json", options.json, "Print one JSON object");
  app.add_flag("!--no-raw", options.raw,
               "Skip the raw log append comparison (HTTP capture only, e.g. under a profiler)");
  app.add_flag("--store-statistics", options.store_statistics,
               "Print RocksDB's per-family statistics after the HTTP capture (to stderr)");
  CLI11_PARSE(app, argc, argv);
  if (options.devices == 0 || options.connections == 0 || options.documents == 0 ||
      options.events == 0) {
    std::cerr << "every count must be positive\n";
    return 2;
  }
  return run(options);
}
