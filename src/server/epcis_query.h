// custos server (internal): the EPCIS query parameters and query documents,
// shared by the REST routes (epcis_api.cc) and subscriptions
// (epcis_subscriptions.cc).
//
// Parameters come from a query string (GET /events?...), a named query's
// JSON definition (POST /queries) or both; parse_event_query checks them all
// (docs/api.md lists them) and answers InvalidArgument naming the parameter.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/custody/event_index.h"
#include "custos/custody/named_queries.h"
#include "custos/ledger/log.h"
#include "custos/server/http.h"

namespace custos::epcis_query {

constexpr std::string_view kCustosNamespace = "https://custos.dev/ns/epcis#";
constexpr size_t kDefaultPerPage = 100;
constexpr size_t kMaxPerPage = 10000;

struct ParsedQuery {
  custody::EventQuery query;
  size_t per_page = kDefaultPerPage;
  std::string page_token;
  bool proof = false;
};

// One query parameter: its text as given and its values (a query string's
// comma-separated list, or a named query's JSON array).
struct QueryArgument {
  std::string name;
  std::string raw;
  std::vector<std::string> values;
};

// The roles MATCH_anyEPC (and /epcs/{epc}/events) look in.
std::vector<custody::IdentifierRole> any_epc_roles();

// "a,b, c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_values(std::string_view text);

// The perPage parameter of every paged route (GET /events and the listings):
// a decimal count 1..kMaxPerPage. InvalidArgument otherwise, naming perPage.
Result<size_t> parse_per_page(std::string_view value);

Result<ParsedQuery> parse_event_query(const std::vector<QueryArgument>& arguments);
Result<ParsedQuery> parse_event_query(const QueryParams& params);

// A named query's definition (the JSON object of parameters) as arguments:
// strings, numbers and booleans are one value, arrays of strings a list.
// Paging parameters (perPage, nextPageToken, proof) are refused there.
Result<std::vector<QueryArgument>> definition_arguments(std::string_view definition_json);
// The "query" member of a stored named query's resource, as arguments.
Result<std::vector<QueryArgument>> stored_arguments(const custody::NamedQuery& stored);

// "2026-05-28T10:00:00.000Z" for a UTC instant.
std::string utc_text(int64_t micros);

// The tree size a signed checkpoint note names (its body ends at the blank line).
std::optional<uint64_t> checkpoint_size(std::string_view note);

// The encoded log entry at `log_index`: the index's copy when `index` is
// given and holds one, else read from the log.
Result<Bytes> event_entry(const ledger::Log& log, const custody::EventIndex* index,
                          uint64_t log_index);

// The event in this encoded log entry as served: the logged JSON with
// recordTime (and, with a `proof`, custos:logIndex, custos:leafHash and
// custos:inclusionProof) added.
Result<std::string> served_event(ByteView entry_bytes, const std::vector<Hash256>* proof);

// An EPCISQueryDocument with these events in this order; with `proof`, the
// latest checkpoint (custos:checkpoint, custos:treeSize) and each event's
// proof against it. `subscription_id` non-empty: names the subscription
// whose delivery this is; `hidden` > 0: that many events matched but policy
// hid them from the caller (custos:hiddenEvents). With an `index`, events are
// served from its entry copies where it has them (event_entry).
Result<std::string> events_document(const ledger::Log& log, std::span<const uint64_t> indexes,
                                    bool proof, int64_t now_micros, std::string_view query_name,
                                    std::string_view subscription_id = {}, size_t hidden = 0,
                                    const custody::EventIndex* index = nullptr);

}  // namespace custos::epcis_query
