#include "custos/server/epcis_api.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <variant>

#include <simdjson.h>

#include "custos/core/bytes.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/random.h"
#include "custos/core/work_queue.h"
#include "custos/custody/capture_record.h"
#include "custos/custody/named_queries.h"
#include "custos/custody/page_token.h"
#include "custos/custody/trace.h"
#include "custos/epcis/capture.h"
#include "custos/epcis/epc_pattern.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/identifiers.h"
#include "custos/epcis/json_codec.h"
#include "custos/epcis/validate.h"
#include "custos/epcis/xml_binding.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/server/epcis_subscriptions.h"
#include "custos/server/log_api.h"
#include "custos/server/websocket.h"
#include "epcis_query.h"

namespace custos {

namespace {

using namespace epcis_query;
using custody::EventIndex;
using custody::IndexedEvent;

constexpr std::string_view kProblemBase = "https://custos.dev/problems/";
constexpr std::string_view kQueryTokenKind = "q1";  // nextPageToken of GET /queries

struct SiteZone {
  std::string site;
  std::string zone;
};

struct CaptureState {
  ledger::Log& log;
  EventIndex& index;
  WorkQueue& indexer;
  EpcisApiOptions options;
  std::map<std::string, SiteZone, std::less<>> locations;  // canonical location id -> zone

  std::mutex mutex;  // guards in_flight and jobs
  std::map<std::string, std::string, std::less<>> in_flight;  // eventID -> hash, being committed
  std::deque<std::string> job_order;
  std::map<std::string, std::string, std::less<>> jobs;  // captureID -> job JSON

  std::unique_ptr<custody::NamedQueryStore> named_queries;  // null without options.store

  CaptureState(ledger::Log& log, EventIndex& index, WorkQueue& indexer, EpcisApiOptions options)
      : log(log), index(index), indexer(indexer), options(std::move(options)) {
    if (this->options.store != nullptr) {
      named_queries = std::make_unique<custody::NamedQueryStore>(*this->options.store);
    }
  }

  void remember_job(const std::string& id, std::string json) {
    std::lock_guard lock(mutex);
    jobs[id] = std::move(json);
    job_order.push_back(id);
    while (job_order.size() > options.max_capture_jobs) {
      jobs.erase(job_order.front());
      job_order.pop_front();
    }
  }
};

struct Problem {
  std::string pointer;
  std::string detail;
};

// RFC 9457 problem with the EPCIS exception type and a list of pointers.
HttpResponse epcis_problem(int status, std::string_view type, std::string_view title,
                           std::string_view detail, const std::vector<Problem>& errors = {},
                           const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  JsonWriter json;
  json.begin_object()
      .key("type").string(std::string(kProblemBase) + std::string(type))
      .key("title").string(title)
      .key("status").number(status)
      .key("detail").string(detail);
  for (const auto& [name, value] : extra) json.key(name).string(value);
  if (!errors.empty()) {
    json.key("errors").begin_array();
    for (const Problem& error : errors) {
      json.begin_object().key("pointer").string(error.pointer).key("detail").string(error.detail);
      json.end_object();
    }
    json.end_array();
  }
  json.end_object();
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = json.take();
  return response;
}

std::string media_type(const HttpRequest& request) {
  std::string type(trim_ows(request.header("Content-Type").value_or("")));
  if (size_t semicolon = type.find(';'); semicolon != std::string::npos) type.resize(semicolon);
  type = std::string(trim_ows(type));
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

std::string event_pointer(size_t index) { return "/epcisBody/eventList/" + std::to_string(index); }


// The configured site and zone of an event's place (its bizLocation, else
// its readPoint), or nullptr when the place belongs to no configured site.
const SiteZone* place_of(const CaptureState& state, const IndexedEvent& event) {
  const std::string& location = event.biz_location.empty() ? event.read_point : event.biz_location;
  auto found = state.locations.find(location);
  return found == state.locations.end() ? nullptr : &found->second;
}

// The zone an event is captured at, as a policy entity; `place` is
// place_of(state, summary).
policy::Entity zone_entity(const IndexedEvent& summary, const SiteZone* place) {
  policy::Entity entity;
  if (place == nullptr) {
    // Not a place of any configured site: the policies see no site or zone.
    const std::string& location = summary.biz_location.empty() ? summary.read_point
                                                                : summary.biz_location;
    entity.uid = policy::EntityUid{"Custos::Zone", "unmapped:" + location};
    entity.attributes = policy::Value::record({});
    return entity;
  }
  entity.uid = policy::EntityUid{"Custos::Zone", place->site + "/" + place->zone};
  entity.attributes = policy::Value::record({{"site", policy::Value::string(place->site)},
                                             {"zone", policy::Value::string(place->zone)}});
  return entity;
}

// The resource an event is captured at: the zone its location belongs to.
policy::Entity capture_resource(const CaptureState& state, const IndexedEvent& summary) {
  return zone_entity(summary, place_of(state, summary));
}

// What the capture of one document needs after its checks pass.
struct PreparedEvent {
  IndexedEvent summary;
  Bytes payload;
  std::optional<uint64_t> existing_index;  // a recapture: the original entry
  std::optional<Hash256> leaf_hash;        // from the commit's receipt (new events)
  bool repeats_earlier_event = false;      // the same event earlier in this document
};

struct CaptureJob {
  std::string id;
  int64_t created_at = 0;
  std::vector<PreparedEvent> events;
  std::vector<std::string> claimed;  // eventIDs this job holds in state.in_flight
  // The request signature of each new entry, in group order: the request's
  // evidence in the first, a reference to it in the others.
  std::vector<std::string> request_signatures;
};

void release_claims(CaptureState& state, const std::vector<std::string>& claimed) {
  std::lock_guard lock(state.mutex);
  for (const std::string& id : claimed) state.in_flight.erase(id);
}

// The answer once every new event is committed and indexed.
HttpResponse capture_answer(CaptureState& state, CaptureJob& job, const std::string& checkpoint,
                            uint64_t tree_size) {
  std::vector<uint64_t> indexes;
  indexes.reserve(job.events.size());
  for (const PreparedEvent& prepared : job.events) {
    indexes.push_back(prepared.existing_index.value_or(prepared.summary.log_index));
  }
  auto proofs = state.log.inclusion_proofs(indexes, tree_size);
  if (!proofs.is_ok()) return problem_from_status(proofs.status());
  // One allocation for the receipts: 47 bytes per quoted base64 hash, and
  // the keys, eventID and eventHash of each event.
  size_t receipts_bytes = 0;
  for (size_t position = 0; position < job.events.size(); ++position) {
    const IndexedEvent& summary = job.events[position].summary;
    receipts_bytes += 128 + summary.event_id.size() + summary.event_hash.size() +
                      47 * ((*proofs)[position].size() + 1);
  }
  JsonWriter events;
  events.reserve(receipts_bytes);
  events.begin_array();
  for (size_t position = 0; position < job.events.size(); ++position) {
    const PreparedEvent& prepared = job.events[position];
    const uint64_t index = indexes[position];
    const std::vector<Hash256>& proof = (*proofs)[position];
    Hash256 leaf_hash;
    if (prepared.leaf_hash) {
      leaf_hash = *prepared.leaf_hash;
    } else {
      // A recapture: the original entry's leaf.
      auto entry = event_entry(state.log, &state.index, index);
      if (!entry.is_ok()) return problem_from_status(entry.status());
      leaf_hash = ledger::hash_leaf(*entry);
    }
    events.begin_object()
        .key("eventID").string(prepared.summary.event_id)
        .key("eventHash").string(prepared.summary.event_hash)
        .key("logIndex").number(index)
        .key("duplicate").boolean(prepared.existing_index.has_value())
        .key("leafHash").base64_string(leaf_hash.view())
        .key("inclusionProof");
    write_hashes(events, proof);
    events.end_object();
  }
  events.end_array();
  JsonWriter job_json;
  job_json.reserve(events.str().size() + checkpoint.size() + job.id.size() + 384);
  job_json.begin_object()
      .key("captureID").string(job.id)
      .key("createdAt").string(utc_text(job.created_at))
      .key("finishedAt").string(utc_text(state.options.clock->now_micros()))
      .key("running").boolean(false)
      .key("success").boolean(true)
      .key("captureErrorBehaviour").string("rollback")
      .key("errors").begin_array().end_array()
      .key("eventCount").number(static_cast<uint64_t>(job.events.size()))
      .key("treeSize").number(tree_size)
      .key("checkpoint").string(checkpoint)
      .key("events").raw(events.str())
      .end_object();
  std::string body = job_json.take();
  state.remember_job(job.id, body);
  HttpResponse response = json_response(202, std::move(body));
  response.headers.set("Location", "/capture/" + job.id);
  return response;
}

void commit_job(std::shared_ptr<CaptureState> state, std::shared_ptr<CaptureJob> job,
                std::string principal, std::string evidence, Responder respond) {
  std::vector<ledger::AppendRequest> requests;
  std::vector<size_t> new_positions;
  for (size_t i = 0; i < job->events.size(); ++i) {
    if (!job->events[i].existing_index) new_positions.push_back(i);
  }
  // A group's entries get consecutive log indexes, so each refers back to the first.
  job->request_signatures = group_request_signatures(evidence, new_positions.size());
  for (size_t k = 0; k < new_positions.size(); ++k) {
    ledger::AppendRequest request;
    request.kind = ledger::EntryKind::kEpcisEvent;
    request.principal = principal;
    request.request_signature = to_bytes(job->request_signatures[k]);
    // Copied, not moved: the index keeps a copy of the entry.
    request.payload = job->events[new_positions[k]].payload;
    requests.push_back(std::move(request));
  }
  if (requests.empty()) {
    // Only recaptures: answer against the current checkpoint.
    state->indexer.post([state, job, respond] {
      respond(capture_answer(*state, *job, state->log.latest_checkpoint(), state->log.tree_size()));
    });
    return;
  }
  state->log.append_group_async(
      std::move(requests),
      [state, job, respond, new_positions,
       principal = std::move(principal)](Result<std::vector<ledger::AppendReceipt>> receipts) {
        if (!receipts.is_ok()) {
          release_claims(*state, job->claimed);
          respond(problem_from_status(receipts.status()));
          return;
        }
        // Index in commit order (one indexer thread), then answer.
        state->indexer.post([state, job, respond, new_positions, principal,
                             receipts = std::move(receipts).value()] {
          std::vector<IndexedEvent> summaries;
          summaries.reserve(new_positions.size());
          for (size_t k = 0; k < new_positions.size(); ++k) {
            job->events[new_positions[k]].leaf_hash = receipts[k].leaf_hash;
            // Moved out for the index and back after it (the answer needs it).
            IndexedEvent& logged =
                summaries.emplace_back(std::move(job->events[new_positions[k]].summary));
            logged.log_index = receipts[k].index;
            logged.record_time_micros = receipts[k].receive_time;
            // The entry exactly as the log encoded it (same fields, same
            // encoder), so queries need not read its bundle.
            ledger::append_encoded_entry(logged.entry, ledger::EntryKind::kEpcisEvent,
                                         receipts[k].index, receipts[k].receive_time, principal,
                                         as_bytes(job->request_signatures[k]),
                                         job->events[new_positions[k]].payload);
          }
          Status indexed = state->index.add(summaries);
          for (size_t k = 0; k < new_positions.size(); ++k) {
            summaries[k].entry = Bytes();  // the copy is the index's now
            job->events[new_positions[k]].summary = std::move(summaries[k]);
          }
          release_claims(*state, job->claimed);
          if (!indexed.is_ok()) {
            // Committed (durable) but not queryable until a restart re-indexes.
            respond(problem_from_status(
                unavailable("events committed at log index " + std::to_string(receipts[0].index) +
                            " but indexing failed: " + indexed.message())));
            return;
          }
          if (state->options.subscriptions != nullptr) state->options.subscriptions->notify();
          WorkQueue& answers = state->options.receipts ? *state->options.receipts : state->indexer;
          answers.post([state, job, respond, checkpoint = receipts[0].checkpoint,
                        tree_size = receipts[0].tree_size] {
            respond(capture_answer(*state, *job, checkpoint, tree_size));
          });
        });
      });
}

// Decodes, checks, authorises and commits `events` (already decoded from a
// document whose text is `json`, with their CBV 2.0 hashes).
void capture_events(std::shared_ptr<CaptureState> state, const HttpRequest& request,
                    const AccessGrant& grant, std::vector<epcis::Event> events,
                    const std::vector<std::string>& hashes, const std::string& context_json,
                    bool single_event, Responder respond) {
  auto pointer_of = [&](size_t i) { return single_event ? std::string() : event_pointer(i); };
  if (events.empty()) {
    respond(epcis_problem(400, "epcis-validation", "Validation failed",
                          "the document holds no events"));
    return;
  }
  if (events.size() > state->options.max_events) {
    respond(epcis_problem(413, "epcis-capture-limit", "Capture limit exceeded",
                          "the document holds " + std::to_string(events.size()) +
                              " events; this server captures at most " +
                              std::to_string(state->options.max_events) + " per request"));
    return;
  }
  auto job = std::make_shared<CaptureJob>();
  job->id = "cap-" + hex_encode(random_bytes(12));
  job->created_at = state->options.clock->now_micros();
  std::vector<Problem> problems;
  std::map<std::string, std::string> seen_in_document;  // eventID -> hash
  epcis::IdentifierCache identifiers;                    // places shared by the events
  for (size_t i = 0; i < events.size(); ++i) {
    epcis::Event& event = events[i];
    event.record_time.reset();  // recordTime is the server's
    if (!event.event_id) event.event_id = hashes[i];
    if (!event.context_json && !context_json.empty()) event.context_json = context_json;
    auto summary = custody::summarise_event(event, hashes[i], grant.who.id(), &identifiers);
    if (!summary.is_ok()) {
      problems.push_back({pointer_of(i), summary.status().message()});
      continue;
    }
    PreparedEvent prepared;
    prepared.summary = std::move(summary).value();
    prepared.summary.principal_vendor = grant.who.principal->attributes.vendor;
    prepared.payload =
        custody::encode_event_payload(event, hashes[i], grant.who.principal->attributes.vendor);
    if (prepared.payload.size() > ledger::kMaxEntrySize / 2) {
      respond(epcis_problem(413, "epcis-capture-limit", "Event too large",
                            "event " + pointer_of(i) + " is " +
                                std::to_string(prepared.payload.size()) +
                                " bytes; one event may take at most " +
                                std::to_string(ledger::kMaxEntrySize / 2)));
      return;
    }
    job->events.push_back(std::move(prepared));
  }
  if (!problems.empty()) {
    respond(epcis_problem(400, "epcis-validation", "Validation failed",
                          "the document has " + std::to_string(problems.size()) +
                              " invalid events; nothing was captured",
                          problems));
    return;
  }

  // Policy decides per event; one decision per distinct place.
  std::map<policy::EntityUid, std::string> decided;  // uid -> decision id (allowed)
  for (size_t i = 0; i < job->events.size(); ++i) {
    policy::Entity resource = capture_resource(*state, job->events[i].summary);
    if (decided.contains(resource.uid)) continue;
    auto decision = state->options.gatekeeper->authorize(request, grant.who, "capture", resource);
    if (auto* refusal = std::get_if<HttpResponse>(&decision)) {
      // Name the event in the 403 (the body keeps the decision id).
      std::string body = refusal->body;
      if (!body.empty() && body.back() == '}') {
        body.pop_back();
        body += ",\"event\":";
        append_json_string(body, pointer_of(i));
        body += ",\"eventID\":";
        append_json_string(body, job->events[i].summary.event_id);
        body += ",\"location\":";
        append_json_string(body, resource.uid.id);
        body += "}";
        refusal->body = std::move(body);
      }
      respond(std::move(*refusal));
      return;
    }
    decided.emplace(resource.uid, std::get<AuthorizationDecision>(decision).decision_id);
  }

  // Idempotency: recaptures are acknowledged, conflicts refused, nothing
  // captured twice even by concurrent requests.
  {
    std::lock_guard lock(state->mutex);
    std::vector<size_t> looked_up;  // the positions asked about, with their eventIDs
    std::vector<std::string> looked_up_ids;
    for (size_t i = 0; i < job->events.size(); ++i) {
      PreparedEvent& prepared = job->events[i];
      const std::string& id = prepared.summary.event_id;
      const std::string& hash = prepared.summary.event_hash;
      auto earlier = seen_in_document.find(id);
      if (earlier != seen_in_document.end()) {
        if (earlier->second != hash) {
          return respond(epcis_problem(409, "epcis-event-conflict", "Conflicting eventID",
                                       "eventID " + id + " appears twice with different content",
                                       {{pointer_of(i), "eventID already used in this document"}}));
        }
        prepared.repeats_earlier_event = true;  // answered once, at its first occurrence
        continue;
      }
      seen_in_document.emplace(id, hash);
      if (state->in_flight.contains(id)) {
        return respond(epcis_problem(409, "epcis-event-in-flight", "Capture in progress",
                                     "eventID " + id +
                                         " is being captured by another request; retry",
                                     {{pointer_of(i), "eventID being captured"}}));
      }
      looked_up.push_back(i);
      looked_up_ids.push_back(id);
    }
    auto existing = state->index.find_event_ids(looked_up_ids);
    if (!existing.is_ok()) return respond(problem_from_status(existing.status()));
    for (size_t k = 0; k < looked_up.size(); ++k) {
      const std::optional<custody::EventIdRecord>& record = (*existing)[k];
      if (!record) continue;
      PreparedEvent& prepared = job->events[looked_up[k]];
      if (record->event_hash != prepared.summary.event_hash) {
        return respond(epcis_problem(
            409, "epcis-event-conflict", "Conflicting eventID",
            "eventID " + looked_up_ids[k] + " was captured at log index " +
                std::to_string(record->log_index) + " with different content",
            {{pointer_of(looked_up[k]), "eventID already captured with another event hash"}}));
      }
      prepared.existing_index = record->log_index;
    }
    for (PreparedEvent& prepared : job->events) {
      if (prepared.existing_index || prepared.repeats_earlier_event) continue;
      state->in_flight.emplace(prepared.summary.event_id, prepared.summary.event_hash);
      job->claimed.push_back(prepared.summary.event_id);
    }
  }
  std::erase_if(job->events,
                [](const PreparedEvent& prepared) { return prepared.repeats_earlier_event; });
  commit_job(state, job, grant.who.id(), signature_evidence(grant.who), std::move(respond));
}

// The resource of the capture route itself: the caller's own zone.
Result<policy::Entity> own_zone(const HttpRequest&, const RouteParams&,
                                const AuthenticatedPrincipal& who) {
  const identity::PrincipalAttributes& attributes = who.principal->attributes;
  policy::Entity entity;
  entity.uid = policy::EntityUid{"Custos::Zone", attributes.site + "/" + attributes.zone};
  entity.attributes = policy::Value::record({{"site", policy::Value::string(attributes.site)},
                                             {"zone", policy::Value::string(attributes.zone)}});
  return entity;
}

Result<policy::Entity> query_resource(const HttpRequest&, const RouteParams&,
                                      const AuthenticatedPrincipal&) {
  policy::Entity entity;
  entity.uid = policy::EntityUid{"Custos::Log", "epcis"};
  entity.attributes = policy::Value::record({});
  return entity;
}

std::vector<Problem> to_problems(const std::vector<epcis::ValidationProblem>& found) {
  std::vector<Problem> problems;
  problems.reserve(found.size());
  for (const auto& problem : found) problems.push_back({problem.pointer, problem.message});
  return problems;
}

// The binding's paging: the next page's URL (this request with the token
// replaced) in a Link header, and the token itself.
void set_next_page_headers(HttpResponse& response, const HttpRequest& request,
                           std::string_view next_page_token) {
  if (next_page_token.empty()) return;
  std::string next = request.path + "?";
  for (const auto& [name, value] : request.query) {
    if (name == "nextPageToken") continue;
    next += percent_encode(name) + "=" + percent_encode(value) + "&";
  }
  next += "nextPageToken=" + percent_encode(next_page_token);
  response.headers.set("Link", "<" + next + ">; rel=\"next\"");
  response.headers.set("GS1-Next-Page-Token", std::string(next_page_token));
}

// The event as a policy resource: Custos::Event::"<log index>" in the zone of
// its place, with who captured it (and that principal's vendor then) and the
// parties its source and destination lists name (docs/security.md).
policy::Entity event_resource(const CaptureState& state, const IndexedEvent& event) {
  const SiteZone* place = place_of(state, event);
  const policy::Entity zone = zone_entity(event, place);
  const std::string site = place != nullptr ? place->site : std::string();
  const std::string zone_id = place != nullptr ? place->zone : std::string();
  const std::string& vendor = event.principal_vendor;
  std::vector<policy::Value> parties;
  for (const auto* list : {&event.sources, &event.destinations}) {
    for (const custody::TypedValue& party : *list) parties.push_back(policy::Value::string(party.value));
  }
  policy::Entity entity;
  entity.uid = policy::EntityUid{"Custos::Event", std::to_string(event.log_index)};
  entity.attributes = policy::Value::record({{"site", policy::Value::string(site)},
                                             {"zone", policy::Value::string(zone_id)},
                                             {"captured_by", policy::Value::string(event.principal)},
                                             {"captured_by_vendor", policy::Value::string(vendor)},
                                             {"parties", policy::Value::set(std::move(parties))}});
  entity.parents.push_back(zone.uid);
  return entity;
}

// One page of a query, showing only the events policy lets the caller see
// (action "query" on each event's Custos::Event resource); hidden events are
// left out of the page (which may then hold fewer than perPage) and counted
// in custos:hiddenEvents.
HttpResponse query_answer(const CaptureState& state, const ParsedQuery& parsed,
                          const HttpRequest& request, const AccessGrant& grant,
                          std::string_view query_name = "SimpleEventQuery") {
  const ledger::Log& log = state.log;
  const EventIndex& index = state.index;
  const int64_t now_micros = state.options.clock->now_micros();
  auto page = index.query(parsed.query, parsed.per_page, parsed.page_token);
  if (!page.is_ok()) {
    if (page.status().code() == StatusCode::kResourceExhausted) {
      return epcis_problem(413, "epcis-query-too-large", "Query too large",
                           page.status().message());
    }
    return problem_from_status(page.status());
  }
  std::vector<uint64_t> indexes;
  indexes.reserve(page->events.size());
  size_t hidden = 0;
  for (const IndexedEvent& event : page->events) {
    if (state.options.gatekeeper->may(request, grant.who, "query", event_resource(state, event))) {
      indexes.push_back(event.log_index);
    } else {
      ++hidden;
    }
  }
  auto document =
      events_document(log, indexes, parsed.proof, now_micros, query_name, {}, hidden, &index);
  if (!document.is_ok()) return problem_from_status(document.status());
  HttpResponse response = json_response(200, std::move(document).value());
  response.content_type = "application/ld+json";
  set_next_page_headers(response, request, page->next_page_token);
  return response;
}

// ------------------------------------------------- top-level resources ----
//
// The binding's discovery endpoints: /eventTypes, /epcs, /bizSteps,
// /bizLocations, /readPoints, /dispositions list what the repository knows
// (paged collections), /<kind>/{value} names its sub-resources ("events"),
// and /<kind>/{value}/events is GET /events with that value as a condition.

constexpr std::string_view kEpcisContext = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld";

HttpResponse collection_answer(const std::vector<std::string>& members, const HttpRequest& request,
                               std::string_view next_page_token) {
  JsonWriter json;
  json.begin_object()
      .key("@context").string(kEpcisContext)
      .key("type").string("Collection")
      .key("member").begin_array();
  for (const std::string& member : members) json.string(member);
  json.end_array().end_object();
  HttpResponse response = json_response(200, json.take());
  set_next_page_headers(response, request, next_page_token);
  return response;
}

// perPage and nextPageToken, the only parameters of a listing.
Result<std::pair<size_t, std::string>> listing_params(const QueryParams& params) {
  size_t per_page = kDefaultPerPage;
  std::string token;
  for (const auto& [name, value] : params) {
    if (name == "perPage") {
      CUSTOS_ASSIGN_OR_RETURN(per_page, parse_per_page(value));
    } else if (name == "nextPageToken") {
      token = value;
    } else {
      return invalid_argument("unknown query parameter " + name);
    }
  }
  return std::make_pair(per_page, token);
}

HttpResponse query_refused(const Status& status) {
  return epcis_problem(400, "epcis-query-parameter", "Query parameter refused", status.message());
}

struct ResourceKind {
  std::string_view path;             // "/bizSteps"
  std::string_view route_name;       // "epcis_biz_steps"
  std::string_view query_parameter;  // the GET /events parameter the path stands for
  custody::Vocabulary vocabulary;
};

// The value of /<kind>/{value} as the index holds it (full CBV URI, canonical id).
Result<std::string> resource_value(const ResourceKind& kind, std::string_view raw) {
  using custody::Vocabulary;
  switch (kind.vocabulary) {
    case Vocabulary::kBizStep:
      return custody::cbv_full_uri(std::string(raw), custody::CbvVocabulary::kBizStep);
    case Vocabulary::kDisposition:
      return custody::cbv_full_uri(std::string(raw), custody::CbvVocabulary::kDisposition);
    case Vocabulary::kReadPoint:
    case Vocabulary::kBizLocation:
    case Vocabulary::kObject:
      break;
  }
  auto identifier = epcis::parse_identifier(raw);
  if (!identifier.is_ok()) {
    return invalid_argument(std::string(kind.path.substr(1)) + ": " +
                            identifier.status().message());
  }
  return identifier->canonical;
}

// GET /events's query with the path's value as one more condition; the same
// condition in the query string as well is refused as ambiguous.
Status add_path_condition(const ResourceKind& kind, const std::string& value,
                          const HttpRequest& request, custody::EventQuery& query) {
  using custody::Vocabulary;
  for (const auto& [name, ignored] : request.query) {
    if (name == kind.query_parameter ||
        (kind.query_parameter.starts_with("EQ_") && name == "WD_" + std::string(kind.query_parameter.substr(3)))) {
      return invalid_argument(name + " repeats what the path " + std::string(kind.path) +
                              "/{value} already says");
    }
  }
  switch (kind.vocabulary) {
    case Vocabulary::kBizStep:
      query.biz_steps = {value};
      break;
    case Vocabulary::kDisposition:
      query.dispositions = {value};
      break;
    case Vocabulary::kReadPoint:
      query.read_points = {value};
      break;
    case Vocabulary::kBizLocation:
      query.biz_locations = {value};
      break;
    case Vocabulary::kObject:
      query.identifier_matches.push_back({any_epc_roles(), {value}, {}});
      break;
  }
  return Status::ok();
}

constexpr std::string_view kEventTypeNames[] = {"ObjectEvent", "AggregationEvent",
                                                "TransactionEvent", "TransformationEvent",
                                                "AssociationEvent"};

Status add_resource_routes(Router& router, const Gatekeeper& gatekeeper,
                           const std::shared_ptr<CaptureState>& state) {
  const RouteAccess access{"query", query_resource};
  auto sub_resources = [] {
    std::vector<std::string> members = {"events"};
    return collection_answer(members, HttpRequest{}, {});
  };

  // Event types: the five standard ones (custom event types are not captured).
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/eventTypes", "epcis_event_types",
      gatekeeper.guard(access, [](const HttpRequest& request, const RouteParams&, AccessGrant,
                                  Responder respond) {
        auto params = listing_params(request.query);
        if (!params.is_ok()) return respond(query_refused(params.status()));
        if (!params->second.empty()) {
          return respond(query_refused(invalid_argument("nextPageToken is not one this server issued")));
        }
        std::vector<std::string> members(std::begin(kEventTypeNames), std::end(kEventTypeNames));
        if (members.size() > params->first) members.resize(params->first);
        respond(collection_answer(members, request, {}));
      })));
  auto known_event_type = [](std::string_view name) {
    return std::find(std::begin(kEventTypeNames), std::end(kEventTypeNames), name) !=
           std::end(kEventTypeNames);
  };
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/eventTypes/{eventType}", "epcis_event_type",
      gatekeeper.guard(access, [known_event_type, sub_resources](
                                   const HttpRequest&, const RouteParams& params, AccessGrant,
                                   Responder respond) {
        if (!known_event_type(params.value("eventType"))) {
          return respond(epcis_problem(404, "epcis-resource-not-found", "No such event type",
                                       "unknown event type " + std::string(params.value("eventType"))));
        }
        respond(sub_resources());
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/eventTypes/{eventType}/events", "epcis_event_type_events",
      gatekeeper.guard(access, [state, known_event_type](const HttpRequest& request,
                                                         const RouteParams& params, AccessGrant grant,
                                                         Responder respond) {
        const std::string type(params.value("eventType"));
        if (!known_event_type(type)) {
          return respond(epcis_problem(404, "epcis-resource-not-found", "No such event type",
                                       "unknown event type " + type));
        }
        auto parsed = parse_event_query(request.query);
        if (!parsed.is_ok()) return respond(query_refused(parsed.status()));
        if (!parsed->query.event_types.empty()) {
          return respond(query_refused(invalid_argument(
              "eventType repeats what the path /eventTypes/{eventType} already says")));
        }
        parsed->query.event_types = {custody::parse_event_type(type).value()};
        respond(query_answer(*state, *parsed, request, grant));
      })));

  static constexpr ResourceKind kKinds[] = {
      {"/epcs", "epcis_epcs", "MATCH_anyEPC", custody::Vocabulary::kObject},
      {"/bizSteps", "epcis_biz_steps", "EQ_bizStep", custody::Vocabulary::kBizStep},
      {"/bizLocations", "epcis_biz_locations", "EQ_bizLocation", custody::Vocabulary::kBizLocation},
      {"/readPoints", "epcis_read_points", "EQ_readPoint", custody::Vocabulary::kReadPoint},
      {"/dispositions", "epcis_dispositions", "EQ_disposition", custody::Vocabulary::kDisposition},
  };
  for (const ResourceKind& kind : kKinds) {
    const std::string path(kind.path);
    const std::string name(kind.route_name);
    CUSTOS_RETURN_IF_ERROR(router.add(
        "GET", path, name,
        gatekeeper.guard(access, [state, &kind](const HttpRequest& request, const RouteParams&,
                                                AccessGrant, Responder respond) {
          auto params = listing_params(request.query);
          if (!params.is_ok()) return respond(query_refused(params.status()));
          auto page = state->index.distinct_values(kind.vocabulary, params->first, params->second);
          if (!page.is_ok()) {
            if (page.status().code() == StatusCode::kInvalidArgument) {
              return respond(query_refused(page.status()));
            }
            return respond(problem_from_status(page.status()));
          }
          respond(collection_answer(page->values, request, page->next_page_token));
        })));
    CUSTOS_RETURN_IF_ERROR(router.add(
        "GET", path + "/{value}", name + "_value",
        gatekeeper.guard(access, [state, &kind, sub_resources](
                                     const HttpRequest&, const RouteParams& params, AccessGrant,
                                     Responder respond) {
          auto value = resource_value(kind, params.value("value"));
          if (!value.is_ok()) return respond(query_refused(value.status()));
          auto known = state->index.has_value(kind.vocabulary, *value);
          if (!known.is_ok()) return respond(problem_from_status(known.status()));
          if (!*known) {
            return respond(epcis_problem(404, "epcis-resource-not-found", "Not found",
                                         "no event names " + *value));
          }
          respond(sub_resources());
        })));
    CUSTOS_RETURN_IF_ERROR(router.add(
        "GET", path + "/{value}/events", name + "_events",
        gatekeeper.guard(access, [state, &kind](const HttpRequest& request,
                                                const RouteParams& params, AccessGrant grant,
                                                Responder respond) {
          auto value = resource_value(kind, params.value("value"));
          if (!value.is_ok()) return respond(query_refused(value.status()));
          auto parsed = parse_event_query(request.query);
          if (!parsed.is_ok()) return respond(query_refused(parsed.status()));
          Status added = add_path_condition(kind, *value, request, parsed->query);
          if (!added.is_ok()) return respond(query_refused(added));
          respond(query_answer(*state, *parsed, request, grant));
        })));
  }
  return Status::ok();
}

// ------------------------------------------------------- named queries ----
//
// POST /queries {"name": "...", "query": {<GET /events parameters>}} keeps a
// view (custody/named_queries.h); GET /queries/{name}/events runs it. In the
// definition a parameter's value is a string, a number, a boolean or an
// array of strings (a list: any of).

HttpResponse not_a_query(std::string_view name) {
  return epcis_problem(404, "epcis-no-such-named-query", "No such query",
                       "no query is named " + std::string(name));
}

// The named query, or the answer to send instead (404 for an unknown name,
// the store's error otherwise).
std::variant<custody::NamedQuery, HttpResponse> find_named_query(const CaptureState& state,
                                                                 std::string_view name) {
  auto found = state.named_queries->find(name);
  if (!found.is_ok()) return problem_from_status(found.status());
  if (!*found) return not_a_query(name);
  return std::move(**found);
}

HttpResponse websocket_subscription(const std::shared_ptr<CaptureState>& state,
                                    const std::string& query_name, const HttpRequest& request,
                                    const AccessGrant& grant);

Status add_named_query_routes(Router& router, const Gatekeeper& gatekeeper,
                              const std::shared_ptr<CaptureState>& state) {
  const RouteAccess access{"query", query_resource};
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/queries", "epcis_create_query",
      gatekeeper.guard(access, [state](const HttpRequest& request, const RouteParams&,
                                       AccessGrant grant, Responder respond) {
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        simdjson::dom::object body;
        std::string_view name;
        simdjson::dom::object definition;
        if (parser.parse(request.body).get(root) != simdjson::SUCCESS ||
            root.get(body) != simdjson::SUCCESS) {
          return respond(epcis_problem(400, "epcis-query-parameter", "Not a query definition",
                                       "the body must be a JSON object with name and query"));
        }
        if (body["name"].get(name) != simdjson::SUCCESS ||
            body["query"].get(definition) != simdjson::SUCCESS) {
          return respond(epcis_problem(400, "epcis-query-parameter", "Not a query definition",
                                       "name (a string) and query (an object) are required"));
        }
        if (Status valid = custody::check_query_name(name); !valid.is_ok()) {
          return respond(query_refused(valid));
        }
        auto arguments = definition_arguments(simdjson::minify(definition));
        if (!arguments.is_ok()) return respond(query_refused(arguments.status()));
        if (auto parsed = parse_event_query(*arguments); !parsed.is_ok()) {
          return respond(query_refused(parsed.status()));
        }
        JsonWriter json;
        json.begin_object()
            .key("name").string(name)
            .key("query").raw(simdjson::minify(definition))
            .key("createdAt").string(utc_text(state->options.clock->now_micros()))
            .key("createdBy").string(grant.who.principal->id())
            .end_object();
        std::string resource = json.take();
        Status created = state->named_queries->create({std::string(name), resource});
        if (created.code() == StatusCode::kAlreadyExists) {
          return respond(epcis_problem(409, "epcis-query-exists", "Query exists", created.message()));
        }
        if (!created.is_ok()) return respond(problem_from_status(created));
        HttpResponse response = json_response(201, std::move(resource));
        response.headers.set("Location", "/queries/" + std::string(name));
        respond(std::move(response));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/queries", "epcis_queries",
      gatekeeper.guard(access, [state](const HttpRequest& request, const RouteParams&, AccessGrant,
                                       Responder respond) {
        auto params = listing_params(request.query);
        if (!params.is_ok()) return respond(query_refused(params.status()));
        std::string after;
        if (!params->second.empty()) {
          auto raw = custody::decode_page_token(kQueryTokenKind, params->second);
          if (!raw.is_ok()) return respond(query_refused(raw.status()));
          after.assign(raw->begin(), raw->end());
        }
        auto listed = state->named_queries->list(params->first + 1, after);
        if (!listed.is_ok()) return respond(problem_from_status(listed.status()));
        std::string token;
        if (listed->size() > params->first) {
          listed->pop_back();
          token = custody::encode_page_token(kQueryTokenKind, as_bytes(listed->back().name));
        }
        std::string body = "[";
        for (size_t i = 0; i < listed->size(); ++i) body += (i > 0 ? "," : "") + (*listed)[i].json;
        body += "]";
        HttpResponse response = json_response(200, std::move(body));
        set_next_page_headers(response, request, token);
        respond(std::move(response));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/queries/{queryName}", "epcis_query",
      gatekeeper.guard(access, [state](const HttpRequest&, const RouteParams& params, AccessGrant,
                                       Responder respond) {
        auto found = find_named_query(*state, params.value("queryName"));
        if (auto* refusal = std::get_if<HttpResponse>(&found)) return respond(std::move(*refusal));
        respond(json_response(200, std::move(std::get<custody::NamedQuery>(found).json)));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "DELETE", "/queries/{queryName}", "epcis_delete_query",
      gatekeeper.guard(access, [state](const HttpRequest&, const RouteParams& params, AccessGrant,
                                       Responder respond) {
        if (state->options.subscriptions != nullptr) {
          Status unsubscribed =
              state->options.subscriptions->unsubscribe_all(std::string(params.value("queryName")));
          if (!unsubscribed.is_ok()) return respond(problem_from_status(unsubscribed));
        }
        auto erased = state->named_queries->erase(params.value("queryName"));
        if (!erased.is_ok()) return respond(problem_from_status(erased.status()));
        if (!*erased) return respond(not_a_query(params.value("queryName")));
        HttpResponse response;
        response.status = 204;
        respond(std::move(response));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/queries/{queryName}/events", "epcis_query_events",
      gatekeeper.guard(access, [state](const HttpRequest& request, const RouteParams& params,
                                       AccessGrant grant, Responder respond) {
        const std::string name(params.value("queryName"));
        auto found = find_named_query(*state, name);
        if (auto* refusal = std::get_if<HttpResponse>(&found)) return respond(std::move(*refusal));
        if (is_websocket_upgrade(request)) {
          return respond(websocket_subscription(state, name, request, grant));
        }
        auto arguments = stored_arguments(std::get<custody::NamedQuery>(found));
        if (!arguments.is_ok()) return respond(problem_from_status(arguments.status()));
        // The request adds paging and proofs, nothing else.
        for (const auto& [parameter, value] : request.query) {
          if (parameter != "perPage" && parameter != "nextPageToken" && parameter != "proof") {
            return respond(query_refused(invalid_argument(
                "parameter " + parameter + " is not allowed here: the query " + name +
                " defines the conditions (perPage, nextPageToken and proof are)")));
          }
          arguments->push_back({parameter, value, {value}});
        }
        auto parsed = parse_event_query(*arguments);
        if (!parsed.is_ok()) return respond(query_refused(parsed.status()));
        respond(query_answer(*state, *parsed, request, grant, name));
      })));
  return Status::ok();
}

// ------------------------------------------------------- subscriptions ----

constexpr std::string_view kScheduleParameters[] = {"second",     "minute", "hour",
                                                    "dayOfMonth", "month",  "dayOfWeek"};

std::string* schedule_field(QueryScheduleSpec& spec, std::string_view name) {
  std::string* fields[] = {&spec.second,       &spec.minute, &spec.hour,
                           &spec.day_of_month, &spec.month,  &spec.day_of_week};
  for (size_t i = 0; i < std::size(kScheduleParameters); ++i) {
    if (kScheduleParameters[i] == name) return fields[i];
  }
  return nullptr;
}

std::string subscription_json(const SubscriptionInfo& info) {
  JsonWriter json;
  json.begin_object()
      .key("subscriptionID")
      .string(info.id)
      .key("queryName")
      .string(info.query_name);
  if (!info.pushed) json.key("dest").string(info.dest);
  json.key("stream").boolean(!info.schedule);
  if (info.schedule) {
    QueryScheduleSpec spec = info.schedule->spec;
    json.key("schedule").begin_object();
    for (std::string_view name : kScheduleParameters) {
      const std::string* value = schedule_field(spec, name);
      if (!value->empty()) json.key(name).string(*value);
    }
    json.end_object()
        .key("reportIfEmpty").boolean(info.report_if_empty)
        .key("custos:nextRunAt").string(utc_text(info.next_run_micros));
  }
  if (info.initial_record_time) {
    json.key("initialRecordTime").string(utc_text(*info.initial_record_time));
  }
  json.key("createdAt").string(utc_text(info.created_micros))
      .key("createdBy").string(info.owner)
      .key("custos:transport").string(info.pushed ? "websocket" : "webhook");
  if (!info.pushed) json.key("signed").boolean(info.signed_deliveries);
  if (info.last_notified_micros != 0) json.key("lastNotifiedAt").string(utc_text(info.last_notified_micros));
  json.key("custos:cursor").number(info.cursor)
      .key("custos:deliveredEvents").number(info.delivered_events)
      .key("custos:failedAttempts").number(info.failed_attempts);
  if (!info.last_error.empty()) json.key("custos:lastError").string(info.last_error);
  json.end_object();
  return json.take();
}

// The terms both bindings share: stream, the schedule, reportIfEmpty and
// initialRecordTime (from a POST body, or from the URL of a WebSocket upgrade).
struct SubscriptionTerms {
  std::optional<bool> stream;
  bool has_schedule = false;
  QueryScheduleSpec spec;
  bool report_if_empty = false;
  std::optional<std::string> initial_record_time;
};

// Moves the terms into `subscription`, or names what is wrong. `in_body`:
// pointers into the JSON body ("/schedule/minute"), else parameter names.
std::optional<Problem> apply_terms(const SubscriptionTerms& terms, bool in_body,
                                   SubscriptionRequest& subscription) {
  auto where = [in_body](std::string_view member, bool scheduled) {
    std::string pointer = in_body ? (scheduled ? "/schedule/" : "/") : "";
    pointer += member;
    return pointer;
  };
  const bool stream = terms.stream.value_or(false);
  if (stream == terms.has_schedule) {
    return Problem{where("stream", false),
                   in_body ? "give exactly one of \"stream\": true and \"schedule\""
                           : "give exactly one of stream=true and schedule parameters "
                             "(second, minute, hour, dayOfMonth, month, dayOfWeek)"};
  }
  if (terms.has_schedule) {
    auto schedule = parse_query_schedule(terms.spec);
    if (!schedule.is_ok()) {
      // "schedule.minute: ..." names the field.
      const std::string message = schedule.status().message();
      std::string field;
      if (message.starts_with("schedule.")) field = message.substr(9, message.find(':') - 9);
      std::string pointer = in_body ? "/schedule" : "schedule";
      if (!field.empty()) pointer = where(field, true);
      return Problem{pointer, message};
    }
    subscription.schedule = std::move(schedule).value();
    subscription.report_if_empty = terms.report_if_empty;
  } else if (terms.report_if_empty) {
    return Problem{where("reportIfEmpty", false),
                   "reportIfEmpty applies to scheduled subscriptions"};
  }
  if (terms.initial_record_time) {
    auto time = epcis::parse_timestamp(*terms.initial_record_time);
    if (!time.is_ok()) {
      std::string detail = "initialRecordTime is not an RFC 3339 date-time with a time zone: ";
      detail += time.status().message();
      return Problem{where("initialRecordTime", false), std::move(detail)};
    }
    subscription.initial_record_time = time->utc_micros;
  }
  return std::nullopt;
}

HttpResponse subscription_refused(const Problem& problem) {
  return epcis_problem(400, "epcis-subscription", "Subscription refused", problem.detail,
                       {problem});
}

// Why a WebSocket subscription ended, as a close frame.
std::pair<uint16_t, std::string> close_frame_for(SubscriptionEnd reason) {
  switch (reason) {
    case SubscriptionEnd::kNotAllowed:
      return {kWebSocketPolicyViolation, "the subscriber may no longer receive these events"};
    case SubscriptionEnd::kQueryDeleted:
      return {kWebSocketNormalClosure, "the query was deleted"};
    case SubscriptionEnd::kStopped:
      break;
  }
  return {kWebSocketGoingAway, "the server is stopping"};
}

// GET /queries/{name}/events with Upgrade: websocket, already authorised
// like the query itself: the subscription lives as long as the connection.
HttpResponse websocket_subscription(const std::shared_ptr<CaptureState>& state,
                                    const std::string& query_name, const HttpRequest& request,
                                    const AccessGrant& grant) {
  if (state->options.subscriptions == nullptr) {
    return epcis_problem(501, "epcis-subscription", "Subscriptions not available",
                         "this server keeps no query subscriptions");
  }
  SubscriptionTerms terms;
  for (const auto& [parameter, value] : request.query) {
    if (parameter == "stream" || parameter == "reportIfEmpty") {
      if (value != "true" && value != "false") {
        return subscription_refused({parameter, parameter + " must be true or false"});
      }
      if (parameter == "stream") {
        terms.stream = value == "true";
      } else {
        terms.report_if_empty = value == "true";
      }
    } else if (parameter == "initialRecordTime") {
      terms.initial_record_time = value;
    } else if (std::string* field = schedule_field(terms.spec, parameter)) {
      *field = value;
      terms.has_schedule = true;
    } else {
      return subscription_refused({parameter, "parameter " + parameter +
                                                  " is not allowed on a WebSocket subscription "
                                                  "(the query " +
                                                  query_name + " defines the conditions)"});
    }
  }
  SubscriptionRequest subscription;
  subscription.query_name = query_name;
  subscription.owner = grant.who.principal->id();
  if (auto problem = apply_terms(terms, /*in_body=*/false, subscription)) {
    return subscription_refused(*problem);
  }
  // Each event is shown only when policy lets the subscriber see it, as in
  // the query's own answer (the binding: "events which they are authorized to see").
  subscription.may_see = [state, request, who = grant.who](const IndexedEvent& event) {
    return state->options.gatekeeper->may(request, who, "query", event_resource(*state, event));
  };
  SubscriptionManager& manager = *state->options.subscriptions;
  // Made when the upgrade is accepted (before the client can capture
  // anything it expects to see); ended when the connection goes.
  auto subscription_id = std::make_shared<std::string>();
  WebSocketHandlers handlers;
  handlers.on_open = [&manager, subscription,
                      subscription_id](std::shared_ptr<WebSocketConnection> connection) mutable {
    subscription.sink = SubscriptionSink{
        [connection](std::string document) { return connection->send_text(std::move(document)); },
        [connection](SubscriptionEnd reason) {
          auto [code, text] = close_frame_for(reason);
          connection->close(code, std::move(text));
        }};
    auto made = manager.subscribe(subscription);
    if (!made.is_ok()) {
      connection->close(1011, made.status().message().substr(0, 120));
      return;
    }
    *subscription_id = made->id;
  };
  handlers.on_close = [&manager, query_name, subscription_id](uint16_t) {
    if (subscription_id->empty()) return;
    auto removed = manager.unsubscribe(query_name, *subscription_id);
    (void)removed;  // pushed subscriptions are never stored: nothing can fail
  };
  return websocket_accept(std::move(handlers));
}

HttpResponse no_subscription(std::string_view id) {
  return epcis_problem(404, "epcis-no-such-subscription", "No such subscription",
                       "no subscription " + std::string(id) + " on this query");
}

Status add_subscription_routes(Router& router, const Gatekeeper& gatekeeper,
                               const std::shared_ptr<CaptureState>& state) {
  const RouteAccess access{"query", query_resource};
  SubscriptionManager& manager = *state->options.subscriptions;
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/queries/{queryName}/subscriptions", "epcis_subscribe",
      gatekeeper.guard(access, [state, &manager](const HttpRequest& request,
                                                 const RouteParams& params, AccessGrant grant,
                                                 Responder respond) {
        const std::string name(params.value("queryName"));
        auto found = find_named_query(*state, name);
        if (auto* refusal = std::get_if<HttpResponse>(&found)) return respond(std::move(*refusal));
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        simdjson::dom::object body;
        auto refuse = [&](std::string detail) {
          respond(epcis_problem(400, "epcis-subscription", "Subscription refused", detail));
        };
        if (parser.parse(request.body).get(root) != simdjson::SUCCESS ||
            root.get(body) != simdjson::SUCCESS) {
          return refuse("the body must be a JSON object with dest and stream");
        }
        SubscriptionRequest subscription;
        subscription.query_name = name;
        subscription.owner = grant.who.principal->id();
        SubscriptionTerms terms;
        for (auto [key, value] : body) {
          std::string_view text;
          bool flag = false;
          simdjson::dom::object schedule;
          if (key == "dest" && value.get(text) == simdjson::SUCCESS) {
            subscription.dest = std::string(text);
          } else if (key == "signatureToken" && value.get(text) == simdjson::SUCCESS) {
            subscription.signature_token = std::string(text);
          } else if (key == "stream" && value.get(flag) == simdjson::SUCCESS) {
            terms.stream = flag;
          } else if (key == "reportIfEmpty" && value.get(flag) == simdjson::SUCCESS) {
            terms.report_if_empty = flag;
          } else if (key == "initialRecordTime" && value.get(text) == simdjson::SUCCESS) {
            terms.initial_record_time = std::string(text);
          } else if (key == "schedule" && value.get(schedule) == simdjson::SUCCESS) {
            terms.has_schedule = true;
            for (auto [field_name, field_value] : schedule) {
              std::string* field = schedule_field(terms.spec, field_name);
              int64_t number = 0;
              if (field != nullptr && field_value.get(text) == simdjson::SUCCESS) {
                field->assign(text);
              } else if (field != nullptr && field_value.get(number) == simdjson::SUCCESS) {
                *field = std::to_string(number);
              } else {
                std::string pointer = "/schedule/";
                pointer += field_name;
                return respond(
                    subscription_refused({pointer, "unexpected or malformed schedule member " +
                                                       std::string(field_name)}));
              }
            }
          } else {
            return respond(subscription_refused(
                {"/" + std::string(key), "unexpected or malformed member " + std::string(key)}));
          }
        }
        if (auto problem = apply_terms(terms, /*in_body=*/true, subscription)) {
          return respond(subscription_refused(*problem));
        }
        if (subscription.dest.empty()) {
          return respond(subscription_refused({"/dest", "dest (the webhook URL) is required"}));
        }
        auto made = manager.subscribe(subscription);
        if (!made.is_ok()) {
          if (made.status().code() == StatusCode::kInvalidArgument) return refuse(made.status().message());
          return respond(problem_from_status(made.status()));
        }
        HttpResponse response = json_response(201, subscription_json(*made));
        response.headers.set("Location", "/queries/" + name + "/subscriptions/" + made->id);
        respond(std::move(response));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/queries/{queryName}/subscriptions", "epcis_subscriptions",
      gatekeeper.guard(access, [state, &manager](const HttpRequest&, const RouteParams& params,
                                                 AccessGrant, Responder respond) {
        const std::string name(params.value("queryName"));
        auto found = find_named_query(*state, name);
        if (auto* refusal = std::get_if<HttpResponse>(&found)) return respond(std::move(*refusal));
        auto listed = manager.list(name);
        if (!listed.is_ok()) return respond(problem_from_status(listed.status()));
        std::string body = "[";
        for (size_t i = 0; i < listed->size(); ++i) {
          if (i > 0) body += ",";
          body += subscription_json((*listed)[i]);
        }
        respond(json_response(200, body + "]"));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/queries/{queryName}/subscriptions/{subscriptionID}", "epcis_subscription",
      gatekeeper.guard(access, [&manager](const HttpRequest&, const RouteParams& params,
                                          AccessGrant, Responder respond) {
        auto found = manager.find(std::string(params.value("queryName")),
                                  std::string(params.value("subscriptionID")));
        if (!found) return respond(no_subscription(params.value("subscriptionID")));
        respond(json_response(200, subscription_json(*found)));
      })));
  CUSTOS_RETURN_IF_ERROR(router.add(
      "DELETE", "/queries/{queryName}/subscriptions/{subscriptionID}", "epcis_unsubscribe",
      gatekeeper.guard(access, [&manager](const HttpRequest&, const RouteParams& params,
                                          AccessGrant, Responder respond) {
        auto removed = manager.unsubscribe(std::string(params.value("queryName")),
                                           std::string(params.value("subscriptionID")));
        if (!removed.is_ok()) return respond(problem_from_status(removed.status()));
        if (!*removed) return respond(no_subscription(params.value("subscriptionID")));
        HttpResponse response;
        response.status = 204;
        respond(std::move(response));
      })));
  return Status::ok();
}

// GET /custos/v1/trace/{epc}: the trace with every step's entry and proof.
HttpResponse trace_answer(const ledger::Log& log, const EventIndex& index, std::string_view epc) {
  auto identifier = epcis::parse_identifier(epc);
  if (!identifier.is_ok()) {
    return epcis_problem(400, "epcis-query-parameter", "Not an identifier",
                         identifier.status().message());
  }
  const std::string checkpoint = log.latest_checkpoint();
  const uint64_t tree_size = checkpoint_size(checkpoint).value_or(log.tree_size());
  auto traced = custody::trace(index, identifier->canonical);
  if (!traced.is_ok()) return problem_from_status(traced.status());
  JsonWriter json;
  json.begin_object()
      .key("subject").string(traced->subject)
      .key("treeSize").number(tree_size)
      .key("checkpoint").string(checkpoint)
      .key("truncated").boolean(traced->truncated)
      .key("steps").begin_array();
  // Steps indexed after the checkpoint was read are left out; the proofs of
  // the others share one tile reader.
  std::vector<const custody::TraceStep*> proven;
  std::vector<uint64_t> indexes;
  for (const custody::TraceStep& step : traced->steps) {
    if (step.event.log_index >= tree_size) continue;
    proven.push_back(&step);
    indexes.push_back(step.event.log_index);
  }
  auto proofs = log.inclusion_proofs(indexes, tree_size);
  if (!proofs.is_ok()) return problem_from_status(proofs.status());
  for (size_t position = 0; position < proven.size(); ++position) {
    const custody::TraceStep& step = *proven[position];
    const IndexedEvent& event = step.event;
    auto bytes = event_entry(log, &index, event.log_index);
    if (!bytes.is_ok()) return problem_from_status(bytes.status());
    const std::vector<Hash256>& proof = (*proofs)[position];
    json.begin_object()
        .key("logIndex").number(event.log_index)
        .key("relation").string(custody::trace_relation_name(step.relation))
        .key("subject").string(step.subject)
        .key("depth").number(static_cast<uint64_t>(step.depth))
        .key("eventID").string(event.event_id)
        .key("eventHash").string(event.event_hash)
        .key("eventType").string(custody::event_type_name(event.type))
        .key("action").string(custody::action_name(event.action))
        .key("eventTime").string(utc_text(event.event_time_micros))
        .key("recordTime").string(utc_text(event.record_time_micros))
        .key("bizStep").string(event.biz_step)
        .key("disposition").string(event.disposition)
        .key("readPoint").string(event.read_point)
        .key("bizLocation").string(event.biz_location)
        .key("custodian").string(event.principal)
        .key("entry").base64_string(*bytes)
        .key("inclusionProof");
    write_hashes(json, proof);
    json.end_object();
  }
  json.end_array().key("gaps").begin_array();
  for (const custody::TraceGap& gap : traced->gaps) {
    json.begin_object()
        .key("afterLogIndex").number(gap.after_log_index)
        .key("beforeLogIndex").number(gap.before_log_index)
        .key("from").string(utc_text(gap.from_micros))
        .key("to").string(utc_text(gap.to_micros))
        .key("seconds").number((gap.to_micros - gap.from_micros) / 1000000)
        .end_object();
  }
  json.end_array().end_object();
  return json_response(200, json.take());
}

}  // namespace

Status add_epcis_routes(Router& router, ledger::Log& log, custody::EventIndex& index,
                        WorkQueue& indexer, EpcisApiOptions options) {
  if (options.gatekeeper == nullptr || options.clock == nullptr) {
    return invalid_argument("EPCIS routes need a gatekeeper and a clock");
  }
  auto state = std::make_shared<CaptureState>(log, index, indexer, std::move(options));
  for (const SiteConfig& site : state->options.sites) {
    for (const auto& [location, zone] : site.locations) {
      auto parsed = epcis::parse_identifier(location);
      if (!parsed.is_ok()) {
        return invalid_argument("sites." + site.id + ".locations: " + parsed.status().message());
      }
      state->locations[parsed->canonical] = SiteZone{site.id, zone};
    }
  }
  const Gatekeeper& gatekeeper = *state->options.gatekeeper;

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/capture", "epcis_capture",
      gatekeeper.guard(RouteAccess{"capture", own_zone}, [state](const HttpRequest& request,
                                                                 const RouteParams&,
                                                                 AccessGrant grant,
                                                                 Responder respond) {
        if (request.body.size() > state->options.max_document_bytes) {
          return respond(epcis_problem(
              413, "epcis-capture-limit", "Document too large",
              "the document is " + std::to_string(request.body.size()) +
                  " bytes; this server captures at most " +
                  std::to_string(state->options.max_document_bytes)));
        }
        const std::string type = media_type(request);
        std::string converted;
        std::string_view json = request.body;
        if (type == "application/xml" || type == "text/xml") {
          epcis::XmlBindingLimits limits;
          limits.max_document_bytes = state->options.max_document_bytes;
          auto from_xml = epcis::xml_document_to_json(request.body, limits);
          if (!from_xml.is_ok()) {
            return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                         from_xml.status().message()));
          }
          converted = std::move(from_xml).value();
          json = converted;
        } else if (type != "application/json" && type != "application/ld+json") {
          return respond(epcis_problem(415, "unsupported-media-type", "Unsupported Media Type",
                                       "send application/ld+json, application/json or "
                                       "application/xml"));
        }
        epcis::ValidationLimits limits;
        limits.max_bytes = state->options.max_document_bytes * 4;  // XML converts to more JSON
        limits.max_events = state->options.max_events + 1;
        // Validation, decoding and the event hashes from one parse of the text.
        epcis::DocumentCapture capture = epcis::read_capture_document(json, limits);
        if (!capture.problems.empty()) {
          return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                       "the document is not valid EPCIS 2.0; nothing was captured",
                                       to_problems(capture.problems)));
        }
        if (!capture.document_status.is_ok()) {
          return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                       "the document could not be decoded; nothing was captured",
                                       {{capture.decode_error.pointer,
                                         capture.decode_error.detail}}));
        }
        if (!capture.hash_status.is_ok() ||
            capture.event_hashes.size() != capture.document.events.size()) {
          return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                       capture.hash_status.is_ok()
                                           ? "event hashes do not match the events"
                                           : capture.hash_status.message()));
        }
        capture_events(state, request, grant, std::move(capture.document.events),
                       capture.event_hashes, capture.document.context_json, false,
                       std::move(respond));
      })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/events", "epcis_capture_event",
      gatekeeper.guard(RouteAccess{"capture", own_zone}, [state](const HttpRequest& request,
                                                                 const RouteParams&,
                                                                 AccessGrant grant,
                                                                 Responder respond) {
        const std::string type = media_type(request);
        if (type != "application/json" && type != "application/ld+json") {
          return respond(epcis_problem(415, "unsupported-media-type", "Unsupported Media Type",
                                       "send one event as application/ld+json or application/json"));
        }
        if (request.body.size() > state->options.max_document_bytes) {
          return respond(epcis_problem(413, "epcis-capture-limit", "Event too large",
                                       "the event is larger than this server captures"));
        }
        epcis::EventCapture capture = epcis::read_capture_event(request.body);
        if (!capture.problems.empty()) {
          return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                       "the event is not valid EPCIS 2.0; nothing was captured",
                                       to_problems(capture.problems)));
        }
        if (!capture.event_status.is_ok()) {
          return respond(epcis_problem(400, "epcis-validation", "Validation failed",
                                       "the event could not be decoded",
                                       {{capture.decode_error.pointer,
                                         capture.decode_error.detail}}));
        }
        if (!capture.hash_status.is_ok()) return respond(problem_from_status(capture.hash_status));
        std::vector<epcis::Event> events;
        events.push_back(std::move(capture.event));
        capture_events(state, request, grant, std::move(events), {capture.event_hash},
                       std::string(), true, std::move(respond));
      })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/capture/{captureID}", "epcis_capture_job",
      gatekeeper.guard(RouteAccess{"query", query_resource},
                       [state](const HttpRequest&, const RouteParams& params, AccessGrant,
                               Responder respond) {
                         std::lock_guard lock(state->mutex);
                         auto found = state->jobs.find(params.value("captureID"));
                         if (found == state->jobs.end()) {
                           return respond(problem_response(404, "Not Found",
                                                           "no capture job with that id",
                                                           "not-found"));
                         }
                         respond(json_response(200, found->second));
                       })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/capture", "epcis_capture_jobs",
      gatekeeper.guard(RouteAccess{"query", query_resource},
                       [state](const HttpRequest&, const RouteParams&, AccessGrant,
                               Responder respond) {
                         std::lock_guard lock(state->mutex);
                         std::string body = "[";
                         size_t shown = 0;
                         for (auto it = state->job_order.rbegin();
                              it != state->job_order.rend() && shown < 100; ++it, ++shown) {
                           if (shown > 0) body += ",";
                           body += state->jobs.at(*it);
                         }
                         body += "]";
                         respond(json_response(200, std::move(body)));
                       })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/events", "epcis_events",
      gatekeeper.guard(RouteAccess{"query", query_resource},
                       [state](const HttpRequest& request, const RouteParams&, AccessGrant grant,
                               Responder respond) {
                         auto parsed = parse_event_query(request.query);
                         if (!parsed.is_ok()) {
                           return respond(epcis_problem(400, "epcis-query-parameter",
                                                        "Query parameter refused",
                                                        parsed.status().message()));
                         }
                         respond(query_answer(*state, *parsed, request, grant));
                       })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/events/{eventID}", "epcis_event",
      gatekeeper.guard(RouteAccess{"query", query_resource},
                       [state](const HttpRequest& request, const RouteParams& params,
                               AccessGrant grant, Responder respond) {
                         ParsedQuery parsed;
                         parsed.query.event_ids = {std::string(params.value("eventID"))};
                         if (auto proof = request.query_param("proof")) {
                           parsed.proof = *proof == "true";
                         }
                         respond(query_answer(*state, parsed, request, grant));
                       })));
  CUSTOS_RETURN_IF_ERROR(add_resource_routes(router, gatekeeper, state));
  if (state->named_queries) CUSTOS_RETURN_IF_ERROR(add_named_query_routes(router, gatekeeper, state));
  if (state->named_queries && state->options.subscriptions != nullptr) {
    CUSTOS_RETURN_IF_ERROR(add_subscription_routes(router, gatekeeper, state));
    if (state->options.identity != nullptr) {
      // A webhook subscriber sees what it could query: its principal as it is
      // now, deciding "query" on each event (no request context: a policy
      // that needs one, such as device posture, hides the event).
      state->options.subscriptions->set_owner_visibility(
          [weak = std::weak_ptr<CaptureState>(state)](const std::string& owner,
                                                      const IndexedEvent& event) {
            auto live = weak.lock();
            if (!live) return false;
            AuthenticatedPrincipal who;
            who.principal = live->options.identity->find_principal(owner);
            if (who.principal == nullptr) return false;
            return live->options.gatekeeper->may(HttpRequest{}, who, "query",
                                                 event_resource(*live, event));
          });
    }
  }
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/trace/{epc}", "custody_trace",
      gatekeeper.guard(RouteAccess{"query", query_resource},
                       [state](const HttpRequest&, const RouteParams& params, AccessGrant,
                               Responder respond) {
                         respond(trace_answer(state->log, state->index, params.value("epc")));
                       })));
  return Status::ok();
}

void use_named_queries(SubscriptionOptions& options, store::Store& store, const ledger::Log& log,
                       const custody::EventIndex* index) {
  auto queries = std::make_shared<custody::NamedQueryStore>(store);
  options.resolve_query = [queries](const std::string& name) -> Result<custody::EventQuery> {
    CUSTOS_ASSIGN_OR_RETURN(auto found, queries->find(name));
    if (!found) return not_found("no query is named " + name);
    CUSTOS_ASSIGN_OR_RETURN(auto arguments, stored_arguments(*found));
    CUSTOS_ASSIGN_OR_RETURN(ParsedQuery parsed, parse_event_query(arguments));
    return parsed.query;
  };
  const Clock* clock = options.clock;
  options.render = [&log, clock, index](const std::vector<uint64_t>& indexes,
                                        const SubscriptionInfo& subscription) -> Result<std::string> {
    return events_document(log, indexes, /*proof=*/true, clock->now_micros(),
                           subscription.query_name, subscription.id, /*hidden=*/0, index);
  };
}

}  // namespace custos
