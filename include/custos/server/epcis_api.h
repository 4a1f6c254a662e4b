// custos server: the EPCIS 2.0 REST binding (capture and query) over the log.
//
// Capture (signed, authorised requests; docs/api.md "EPCIS"):
//   POST /capture        an EPCISDocument or EPCISQueryDocument, JSON / JSON-LD
//                        (application/json, application/ld+json) or XML
//                        (application/xml, text/xml; EPCIS 2.0 or 1.2)
//   POST /events         one event (JSON)
//   GET  /capture/{id}   the capture job (kept in memory, most recent jobs)
//   GET  /capture        the most recent capture jobs
// A document is all-or-nothing: every event is decoded, checked, authorised
// (action "capture" on Custos::Zone::"<site>/<zone>" of the event's
// bizLocation, else readPoint, per the sites' `locations`) and committed in
// ONE group commit, or none is and the answer says why, naming the event
// (400 with JSON pointers, 403 with the decision id, 409, 413). Each event is
// one kEpcisEvent log entry (custody/capture_record.h); the answer (202, with
// Location: /capture/{id}) carries the checkpoint of the commit and, per
// event, its eventID, event hash, log index, leaf hash and inclusion proof.
// recordTime is the entry's receive time. An event whose eventID was captured
// before with the same hash is acknowledged with its original log index (and
// a proof against the new checkpoint), never logged twice; the same eventID
// with another hash is refused (409). Events without eventID get their hash.
//
// Query (authenticated; action "query" on Custos::Log::"epcis"):
//   GET /events?...      the REST binding's query parameters (docs/api.md), as
//                        an EPCISQueryDocument; perPage + nextPageToken paging
//                        (Link header); proof=true adds each event's log index
//                        and inclusion proof and the checkpoint they prove against
//   GET /events/{eventID}
//   GET /eventTypes, /epcs, /bizSteps, /bizLocations, /readPoints,
//       /dispositions (+ /{value}, /{value}/events)   the binding's resources
//   POST /queries, GET /queries[/{name}], DELETE /queries/{name},
//   GET /queries/{name}/events                      named queries (with a store)
//   POST/GET /queries/{name}/subscriptions[/{id}], DELETE .../{id}
//                     webhook subscriptions, streaming or scheduled (with a manager)
//   GET /queries/{name}/events + Upgrade: websocket  a WebSocket subscription
//                     (stream=true or schedule parameters as URL parameters;
//                     authorised like the query, refused before any upgrade)
// Unknown or malformed parameters are 400 problems naming the parameter.
#pragma once

#include <string>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/config.h"
#include "custos/core/status.h"
#include "custos/custody/event_index.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/router.h"

namespace custos {

class WorkQueue;
class SubscriptionManager;
struct SubscriptionOptions;

struct EpcisApiOptions {
  const Gatekeeper* gatekeeper = nullptr;  // required, borrowed
  const Clock* clock = nullptr;            // required, borrowed: job and document times
  size_t max_document_bytes = 4 << 20;     // GS1-EPCIS-Capture-File-Size-Limit
  size_t max_events = 10000;               // GS1-EPCIS-Capture-Limit
  size_t max_capture_jobs = 10000;         // jobs remembered for GET /capture/{id}
  std::vector<SiteConfig> sites;           // location -> site and zone
  // Builds the receipts (inclusion proofs) once events are indexed, so the
  // indexer stays free for the next commit. Borrowed; null: the indexer does it.
  WorkQueue* receipts = nullptr;
  // Where named queries (POST /queries) are kept. Borrowed; null: the
  // /queries routes are not added.
  store::Store* store = nullptr;
  // Webhook subscriptions to named queries (POST /queries/{name}/subscriptions).
  // Borrowed; null (or no store): those routes are not added.
  SubscriptionManager* subscriptions = nullptr;
  // Finds a webhook subscriber as it is now, so each delivered event is
  // checked as GET /events would check it for that subscriber. Borrowed;
  // null: webhook subscriptions deliver nothing (fail closed).
  const identity::IdentityService* identity = nullptr;
};

// Adds the routes above. `log`, `index` and `indexer` must outlive the
// server; `indexer` (one thread) indexes committed events in commit order.
Status add_epcis_routes(Router& router, ledger::Log& log, custody::EventIndex& index,
                        WorkQueue& indexer, EpcisApiOptions options);

// Fills options.resolve_query (named queries kept in `store`) and
// options.render (EPCISQueryDocuments with proofs, from `log`, serving events
// from `index`'s entry copies when given) for a SubscriptionManager;
// options.clock must be set first. `store`, `log` and `index` must outlive
// the manager.
void use_named_queries(SubscriptionOptions& options, store::Store& store, const ledger::Log& log,
                       const custody::EventIndex* index = nullptr);

}  // namespace custos
