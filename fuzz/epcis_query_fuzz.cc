// Fuzzes the EPCIS query parameters (src/server/epcis_query.h) as GET /events
// gets them: the input is a raw query string ("eventType=ObjectEvent&MATCH_epc=
// urn%3Aepc%3A..."), percent-decoded by parse_query, then parse_event_query.
// Checked beyond "no crash":
//   - a refusal is InvalidArgument with a message;
//   - an accepted query, written as a named query's definition (POST /queries:
//     a JSON object, a list as an array of strings), reads back through
//     definition_arguments and through stored_arguments (the stored resource)
//     to the same arguments, and parses to the same EventQuery;
//   - paging parameters (perPage, nextPageToken, proof) in that definition are
//     refused, and an accepted perPage is within 1..10000;
//   - the parsed values are canonical: fed back as parameters (canonical
//     identifiers, full CBV URIs) they parse to themselves.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/json_writer.h"
#include "custos/core/status.h"
#include "custos/custody/named_queries.h"
#include "custos/server/http.h"
#include "epcis_query.h"

namespace {

using custos::epcis_query::ParsedQuery;
using custos::epcis_query::QueryArgument;

bool is_paging(std::string_view name) {
  return name == "perPage" || name == "nextPageToken" || name == "proof";
}

void check_refusal(const custos::Status& status) {
  if (status.code() != custos::StatusCode::kInvalidArgument || status.message().empty()) {
    std::abort();
  }
}

bool valid_utf8(std::string_view text) { return simdjson::validate_utf8(text.data(), text.size()); }

// The parameters as a definition's JSON object: a parameter whose text is one
// value as it stands is a string, any other an array of its values (what a
// client writing the same query as a definition sends).
std::string definition_json(const std::vector<QueryArgument>& arguments) {
  std::string json = "{";
  for (const QueryArgument& argument : arguments) {
    if (json.size() > 1) json += ",";
    custos::append_json_string(json, argument.name);
    json += ":";
    if (argument.values.size() == 1 && argument.values.front() == argument.raw) {
      custos::append_json_string(json, argument.raw);
      continue;
    }
    json += "[";
    for (size_t i = 0; i < argument.values.size(); ++i) {
      if (i > 0) json += ",";
      custos::append_json_string(json, argument.values[i]);
    }
    json += "]";
  }
  json += "}";
  return json;
}

bool same_arguments(const std::vector<QueryArgument>& a, const std::vector<QueryArgument>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].values != b[i].values) return false;
  }
  return true;
}

// The parsed query, its definition read back, must parse to the same query.
void check_definition_round_trip(const std::vector<QueryArgument>& arguments,
                                 const ParsedQuery& parsed) {
  const std::string json = definition_json(arguments);
  auto defined = custos::epcis_query::definition_arguments(json);
  if (!defined.is_ok() || !same_arguments(*defined, arguments)) std::abort();
  auto reparsed = custos::epcis_query::parse_event_query(*defined);
  if (!reparsed.is_ok() || !(reparsed->query == parsed.query)) std::abort();

  std::string resource = "{\"name\":\"fuzz\",\"query\":";
  resource += json;
  resource += ",\"createdAt\":\"2026-01-01T00:00:00.000Z\"}";
  auto stored =
      custos::epcis_query::stored_arguments(custos::custody::NamedQuery{"fuzz", resource});
  if (!stored.is_ok() || !same_arguments(*stored, *defined)) std::abort();
}

// Values the parser canonicalised (identifiers, CBV URIs) parse to themselves.
void check_canonical_values(const ParsedQuery& parsed) {
  const custos::custody::EventQuery& query = parsed.query;
  std::vector<QueryArgument> arguments;
  auto add = [&arguments](std::string name, const std::vector<std::string>& values) {
    if (!values.empty()) arguments.push_back({std::move(name), values.front(), values});
  };
  add("EQ_bizStep", query.biz_steps);
  add("EQ_disposition", query.dispositions);
  add("EQ_readPoint", query.read_points);
  add("EQ_bizLocation", query.biz_locations);
  if (arguments.empty()) return;
  auto again = custos::epcis_query::parse_event_query(arguments);
  if (!again.is_ok() || again->query.biz_steps != query.biz_steps ||
      again->query.dispositions != query.dispositions ||
      again->query.read_points != query.read_points ||
      again->query.biz_locations != query.biz_locations) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto params = custos::parse_query(input);
  if (!params.is_ok()) {
    check_refusal(params.status());
    return 0;
  }
  auto parsed = custos::epcis_query::parse_event_query(*params);
  if (!parsed.is_ok()) {
    check_refusal(parsed.status());
    return 0;
  }
  if (parsed->per_page < 1 || parsed->per_page > 10000) std::abort();

  std::vector<QueryArgument> arguments;
  bool text = true;
  for (const auto& [name, value] : *params) {
    text = text && valid_utf8(name) && valid_utf8(value);
    if (is_paging(name)) {
      // A definition refuses paging parameters, whatever their value.
      std::string json = "{";
      custos::append_json_string(json, name);
      json += ":\"1\"}";
      auto refused = custos::epcis_query::definition_arguments(json);
      if (refused.is_ok()) std::abort();
      check_refusal(refused.status());
      continue;
    }
    arguments.push_back({name, value, custos::epcis_query::split_values(value)});
  }
  // JSON carries Unicode text only: other bytes have no definition form.
  if (text) check_definition_round_trip(arguments, *parsed);
  check_canonical_values(*parsed);
  return 0;
}
