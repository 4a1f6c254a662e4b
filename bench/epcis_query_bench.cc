// epcis_query_bench: an EPC's history through GET /events?MATCH_epc=... with
// many events stored (issue 5: p99 under 5 ms at 10 million events).
//
// Setup: a temporary store + log, the default policies, an operator with an
// API token (scope "query"), an EventIndex and the EPCIS routes on an
// in-process HttpServer (127.0.0.1:0). --epcs objects each get
// --events-per-epc ObjectEvents (commissioning, packing, shipping, receiving,
// ... at 200 places), written round by round so that one object's events are
// spread over the whole log, as they are in a real repository; every event is
// one kEpcisEvent entry (a real capture envelope, ~430 bytes) appended in
// group commits, and its summary is indexed as the capture path does.
// Before timing, the store's flushes and compactions left by the bulk load
// are waited for (a store holding 10 M events in steady state; --no-settle
// measures during that backlog instead).
// Timing: --queries random objects, one HTTP request each on one keep-alive
// connection, from request sent to the whole EPCISQueryDocument read
// (authentication, the index lookup, the per-event policy decision, every
// event's entry served from the index's copy); then the same with
// proof=true (every event's inclusion proof against the checkpoint).
//
//   epcis_query_bench [--epcs 1000000] [--events-per-epc 10] [--queries 2000] [--json]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <future>
#include <iostream>
#include <random>
#include <thread>

#include "auth_bench_support.h"
#include "bench_support.h"
#include "custos/core/json_writer.h"
#include "custos/core/work_queue.h"
#include "custos/custody/capture_record.h"
#include "custos/custody/event_index.h"
#include "custos/epcis/identifiers.h"
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
using custody::IdentifierRole;
using custody::IndexedEvent;

struct Options {
  size_t epcs = 1000000;
  size_t events_per_epc = 10;
  size_t queries = 2000;
  size_t group = 4096;
  bool no_settle = false;
  double wait_quiet = 0;  // > 0: before timing, wait (up to an hour) for a 1-minute load below it
  bool json = false;
};

constexpr const char* kSteps[] = {"commissioning", "packing",   "loading",  "shipping",
                                  "receiving",     "storing",   "picking",  "departing",
                                  "arriving",      "retail_selling"};

std::string serial_of(size_t epc) { return std::to_string(100000 + epc); }
std::string urn_of(size_t epc) { return "urn:epc:id:sgtin:0614141.107346." + serial_of(epc); }
std::string canonical_of(size_t epc) {
  return "https://id.gs1.org/01/10614141073464/21/" + serial_of(epc);
}
std::string place_urn(size_t place) {
  return "urn:epc:id:sgln:0614141." + std::to_string(10000 + place) + ".0";
}
std::string place_canonical(size_t place) {
  const std::string digits = "0614141" + std::to_string(10000 + place);
  return "https://id.gs1.org/414/" + digits + epcis::gs1_check_digit(digits);
}

int run(const Options& options) {
  ManualClock clock(kBenchTime);
  auto bench_identity =
      BenchIdentity::create(bench_dir("", "custos-query-bench"), clock, "bench.custos/query");
  if (!bench_identity.is_ok()) {
    std::cerr << bench_identity.status().to_string() << "\n";
    return 1;
  }
  BenchIdentity& world = **bench_identity;
  identity::PrincipalAttributes operator_user;
  operator_user.id = "olga";
  operator_user.kind = identity::PrincipalKind::kUser;
  operator_user.roles = {"operator"};
  if (!world.enroll({identity::PrincipalCreate{operator_user}}, false).is_ok()) return 1;
  auto token = world.service().create_api_token("olga", {"query"}, std::chrono::hours(24), "bench",
                                                "bench");
  if (!token.is_ok()) {
    std::cerr << token.status().to_string() << "\n";
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

  // ---- Load: round r writes every object's r-th event ----
  const size_t total = options.epcs * options.events_per_epc;
  const std::string load_start = load_average();
  auto load_started = SteadyClock::now();
  std::vector<IndexedEvent> summaries;
  std::vector<ledger::AppendRequest> requests;
  std::vector<Bytes> payloads;  // the entries' copies the index keeps, as capture does
  size_t written = 0;
  auto flush = [&]() -> bool {
    if (requests.empty()) return true;
    std::promise<Result<std::vector<ledger::AppendReceipt>>> done;
    world.log().append_group_async(std::move(requests),
                                   [&](auto receipts) { done.set_value(std::move(receipts)); });
    requests.clear();
    auto receipts = done.get_future().get();
    if (!receipts.is_ok() || receipts->size() != summaries.size()) return false;
    for (size_t k = 0; k < summaries.size(); ++k) {
      summaries[k].log_index = (*receipts)[k].index;
      summaries[k].record_time_micros = (*receipts)[k].receive_time;
      ledger::append_encoded_entry(summaries[k].entry, ledger::EntryKind::kEpcisEvent,
                                   (*receipts)[k].index, (*receipts)[k].receive_time,
                                   summaries[k].principal, {}, payloads[k]);
    }
    Status indexed = (*index)->add(summaries);
    summaries.clear();
    payloads.clear();
    if (!indexed.is_ok()) std::cerr << indexed.to_string() << "\n";
    return indexed.is_ok();
  };
  for (size_t round = 0; round < options.events_per_epc; ++round) {
    const char* step = kSteps[round % std::size(kSteps)];
    for (size_t epc = 0; epc < options.epcs; ++epc) {
      const size_t place = (epc * 7 + round * 13) % 200;
      const std::string id = "urn:uuid:q-" + std::to_string(round) + "-" + std::to_string(epc);
      const int64_t event_time =
          kBenchTime - int64_t(options.events_per_epc - round) * 3600 * kMicrosPerSecond;
      const std::string hash = "ni:///sha-256;" + std::string(64 - std::to_string(written).size(), '0') +
                               std::to_string(written) + "?ver=CBV2.0";
      std::string payload = R"({"custos":"epcis-event/1","eventHash":")" + hash +
                            R"(","event":{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],)"
                            R"("type":"ObjectEvent","eventID":")" + id +
                            R"(","eventTime":"2026-05-28T09:00:00.000Z","eventTimeZoneOffset":"+02:00",)"
                            R"("epcList":[")" + urn_of(epc) + R"("],"action":"OBSERVE","bizStep":")" +
                            step + R"(","readPoint":{"id":")" + place_urn(place) +
                            R"("},"bizLocation":{"id":")" + place_urn(place) + R"("}}})";
      ledger::AppendRequest request;
      request.kind = ledger::EntryKind::kEpcisEvent;
      request.principal = "dock-scanner-0";
      request.payload = Bytes(payload.begin(), payload.end());
      payloads.push_back(request.payload);
      requests.push_back(std::move(request));
      IndexedEvent summary;
      summary.type = custody::EventType::kObject;
      summary.action = custody::Action::kObserve;
      summary.event_id = id;
      summary.event_hash = hash;
      summary.event_time_micros = event_time;
      summary.biz_step = std::string("https://ref.gs1.org/cbv/BizStep-") + step;
      summary.read_point = place_canonical(place);
      summary.biz_location = summary.read_point;
      summary.identifiers.emplace_back(IdentifierRole::kEpc, canonical_of(epc));
      summary.principal = "dock-scanner-0";
      summaries.push_back(std::move(summary));
      ++written;
      if (requests.size() == options.group && !flush()) return 1;
      if (written % 1000000 == 0) {
        std::cerr << "  " << written / 1000000 << "M of " << total / 1000000.0 << "M events, "
                  << nanos_since(load_started) / 1e9 << " s\n";
      }
    }
  }
  if (!flush()) return 1;
  const double load_seconds = nanos_since(load_started) / 1e9;
  std::cerr << "stored and indexed " << written << " events in " << load_seconds << " s ("
            << written / load_seconds << " events/s; load " << load_start << " -> "
            << load_average() << ")\n";
  double settle_seconds = 0;
  if (!options.no_settle) {
    settle_seconds = wait_for_settled_store(world.store(), std::chrono::seconds(5), true);
    std::cerr << "store settled after " << settle_seconds << " s\n";
  }
  if (options.wait_quiet > 0) {
    auto waited = SteadyClock::now();
    for (;;) {
      const std::string load = load_average();
      if (std::stod(load) < options.wait_quiet || nanos_since(waited) / 1e9 > 3600) break;
      std::cerr << "  waiting for a quiet machine (load " << load << ")\n";
      std::this_thread::sleep_for(std::chrono::seconds(30));
    }
  }

  // ---- The server ----
  MetricsRegistry metrics;
  AccessControl access(world.service(), clock, metrics, AccessControlOptions{});
  if (!follow_policy_store(**policies, access).is_ok()) return 1;
  Router router;
  WorkQueue indexer(1);
  EpcisApiOptions api;
  api.gatekeeper = &access.gatekeeper();
  api.clock = &clock;
  if (!add_epcis_routes(router, world.log(), **index, indexer, api).is_ok()) return 1;
  ServerOptions server_options;
  server_options.listen = "127.0.0.1:0";
  HttpServer server(server_options, std::move(router), &metrics);
  if (!server.start().is_ok()) return 1;

  // ---- Queries ----
  HttpClient client("127.0.0.1", server.port());
  HttpHeaders headers;
  headers.set("Authorization", "Bearer " + token->token);
  std::mt19937_64 random(20261126);
  // False when a query failed (reported on stderr).
  auto time_queries = [&](bool proof, Percentiles& out) -> bool {
    std::vector<double> nanos;
    for (size_t q = 0; q < options.queries; ++q) {
      const size_t epc = random() % options.epcs;
      const std::string target = "/events?MATCH_epc=" + urn_of(epc) + (proof ? "&proof=true" : "");
      auto started = SteadyClock::now();
      auto response = client.request("GET", target, "", headers);
      nanos.push_back(nanos_since(started));
      if (!response.is_ok() || response->status != 200) {
        std::cerr << target << ": "
                  << (response.is_ok() ? response->body : response.status().to_string()) << "\n";
        return false;
      }
      size_t count = 0;
      for (size_t at = 0; (at = response->body.find("\"eventID\"", at)) != std::string::npos; ++at) {
        ++count;
      }
      if (count != options.events_per_epc) {
        std::cerr << target << ": " << count << " events, expected " << options.events_per_epc << "\n";
        return false;
      }
    }
    out = percentiles_us(std::move(nanos));
    return true;
  };
  const std::string query_load_start = load_average();
  Percentiles plain_times, proof_times;
  const bool measured = time_queries(false, plain_times) && time_queries(true, proof_times);
  const std::string query_load_end = load_average();
  server.stop();
  if (!measured) return 1;
  const Percentiles* plain = &plain_times;
  const Percentiles* proven = &proof_times;

  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("stored_events").number(static_cast<uint64_t>(written))
        .key("epcs").number(static_cast<uint64_t>(options.epcs))
        .key("events_per_query").number(static_cast<uint64_t>(options.events_per_epc))
        .key("load_seconds").number(load_seconds)
        .key("settle_seconds").number(settle_seconds)
        .key("queries").number(static_cast<uint64_t>(options.queries))
        .key("query_ms_p50").number(plain->p50 / 1000)
        .key("query_ms_p99").number(plain->p99 / 1000)
        .key("query_ms_max").number(plain->max / 1000)
        .key("proof_query_ms_p50").number(proven->p50 / 1000)
        .key("proof_query_ms_p99").number(proven->p99 / 1000)
        .key("proof_query_ms_max").number(proven->max / 1000)
        .key("goal_ms_p99").number(5.0)
        .key("load_average_start").string(query_load_start)
        .key("load_average_end").string(query_load_end)
        .end_object();
    std::cout << json.take() << "\n";
    return 0;
  }
  std::printf("%zu events stored (%zu objects x %zu), loaded in %.1f s\n", written, options.epcs,
              options.events_per_epc, load_seconds);
  std::printf("GET /events?MATCH_epc=... (%zu events each), %zu queries: p50 %.2f ms, p99 %.2f ms, "
              "max %.2f ms (goal p99 < 5 ms)\n",
              options.events_per_epc, options.queries, plain->p50 / 1000, plain->p99 / 1000,
              plain->max / 1000);
  std::printf("the same with proof=true: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
              proven->p50 / 1000, proven->p99 / 1000, proven->max / 1000);
  std::printf("load average: %s -> %s\n", query_load_start.c_str(), query_load_end.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"EPC history queries through HTTP with many stored events"};
  app.add_option("--epcs", options.epcs, "Objects")->capture_default_str();
  app.add_option("--events-per-epc", options.events_per_epc, "Events per object")
      ->capture_default_str();
  app.add_option("--queries", options.queries, "Timed queries of each kind")->capture_default_str();
  app.add_option("--group", options.group, "Events per group commit while loading")
      ->capture_default_str();
  app.add_flag("--no-settle", options.no_settle,
               "Query at once, without waiting for the load's compactions");
  app.add_option("--wait-quiet", options.wait_quiet,
                 "Before timing, wait (up to an hour) until the 1-minute load average is below this");
  app.add_flag("--json", options.json, "Print one JSON object");
  CLI11_PARSE(app, argc, argv);
  if (options.epcs == 0 || options.events_per_epc == 0 || options.queries == 0 ||
      options.group == 0) {
    return 2;
  }
  return run(options);
}
