// custos server: the custody log's HTTP endpoints.
//
// Read endpoints are open (anyone may audit the log):
//   GET  /checkpoint                          C2SP tlog-checkpoint signed note
//   GET  /tile/<L>/<N>[.p/<W>]                C2SP tlog-tiles hash tiles
//   GET  /tile/entries/<N>[.p/<W>]            C2SP tlog-tiles entry bundles
//   GET  /custos/v1/log/key                   origin and verifier key
//   GET  /custos/v1/log/entries/{index}       one entry, decoded, as JSON
//   GET  /custos/v1/log/proof/inclusion?index=I[&tree_size=N]
//   GET  /custos/v1/log/proof/consistency?from=M[&to=N]
// Writes pass the Gatekeeper (action log.append; resource log_stream_resource):
//   POST /custos/v1/log/entries               body = payload; answers with a receipt
// The entry's principal is the authenticated principal's id.
// A receipt is answered only after the entry's group commit is synced and its
// checkpoint signed. docs/api.md describes every field.
#pragma once

#include <initializer_list>
#include <map>
#include <memory>
#include <string>

#include "custos/core/json_writer.h"
#include "custos/core/status.h"
#include "custos/ledger/log.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/http.h"
#include "custos/server/metrics.h"
#include "custos/server/router.h"

namespace custos {

class WorkQueue;

struct LogApiOptions {
  const Gatekeeper* gatekeeper = nullptr;  // required; borrowed; guards the append route
  std::string verifier_key;  // the log's C2SP verifier key, served at /custos/v1/log/key
  std::string origin;
};

// The resource of a log append: for a device, its zone's stream
// Custos::Log::"<site>/<zone>" with attributes site and zone; for anyone else
// the whole log Custos::Log::"<origin>".
ResourceFn log_stream_resource(std::string origin);

// Metrics of the log: appends, batch sizes, commit latency, tree size.
// Create it before the Log and pass on_batch() in LogOptions.
class LogMetrics {
 public:
  explicit LogMetrics(MetricsRegistry& registry);
  void on_batch(const ledger::BatchStats& stats);
  void watch_tree_size(const ledger::Log& log);  // tree size gauge, read at each scrape

 private:
  MetricsRegistry& registry_;
  Counter& appends_;
  Counter& batches_;
  Histogram& batch_entries_;
  Histogram& commit_seconds_;
};

// Adds the routes above. `log` and `receipts` must outlive the server;
// `receipts` runs proof work for append receipts off the sequencer thread.
Status add_log_routes(Router& router, ledger::Log& log, WorkQueue& receipts,
                      LogApiOptions options);

// A parsed proof request: the numeric query parameters of
// /custos/v1/log/proof/{inclusion,consistency}. Refuses parameters outside
// `allowed`, repeated ones and non-canonical decimals (the 400s clients see).
using ProofQuery = std::map<std::string, uint64_t, std::less<>>;
Result<ProofQuery> parse_proof_query(const QueryParams& query,
                                     std::initializer_list<std::string_view> allowed);

// Writes proof hashes as a JSON array of base64 strings (receipts, proofs).
void write_hashes(JsonWriter& json, const std::vector<Hash256>& hashes);

// Maps a Status to the problem+json response a client should see.
HttpResponse problem_from_status(const Status& status);

// The same for the answer to a change request (identity, policy): a
// FailedPrecondition there means the current state does not allow the change
// (a used enrollment token, an unchanged policy): 409 Conflict. A log that
// turned read-only (its FailedPrecondition says "read-only") stays a 503.
HttpResponse change_problem(const Status& status);

}  // namespace custos
