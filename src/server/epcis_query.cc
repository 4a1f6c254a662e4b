#include "epcis_query.h"

#include <simdjson.h>

#include <algorithm>
#include <map>
#include <set>

#include "custos/core/json_writer.h"
#include "custos/custody/capture_record.h"
#include "custos/epcis/epc_pattern.h"
#include "custos/epcis/identifiers.h"
#include "custos/epcis/json_codec.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"

namespace custos::epcis_query {

namespace {

Result<std::vector<std::string>> canonical_ids(const std::string& name,
                                               const std::vector<std::string>& values) {
  std::vector<std::string> ids;
  for (const std::string& value : values) {
    auto parsed = epcis::parse_identifier(value);
    if (!parsed.is_ok()) {
      return invalid_argument(name + ": " + parsed.status().message());
    }
    ids.push_back(parsed->canonical);
  }
  return ids;
}

Result<std::vector<QueryArgument>> object_arguments(simdjson::dom::object definition) {
  std::vector<QueryArgument> arguments;
  for (auto [key, value] : definition) {
    QueryArgument argument;
    argument.name = std::string(key);
    if (argument.name == "nextPageToken" || argument.name == "perPage" || argument.name == "proof") {
      return invalid_argument("query/" + argument.name +
                              " belongs in the request for the results, not in the definition");
    }
    switch (value.type()) {
      case simdjson::dom::element_type::STRING:
        argument.raw = std::string(std::string_view(value));
        argument.values = {argument.raw};
        break;
      case simdjson::dom::element_type::INT64:
      case simdjson::dom::element_type::UINT64:
        argument.raw = simdjson::to_string(value);
        argument.values = {argument.raw};
        break;
      case simdjson::dom::element_type::BOOL:
        argument.raw = bool(value) ? "true" : "false";
        argument.values = {argument.raw};
        break;
      case simdjson::dom::element_type::ARRAY:
        for (simdjson::dom::element item : simdjson::dom::array(value)) {
          std::string_view text;
          if (item.get(text) != simdjson::SUCCESS) {
            return invalid_argument("query/" + argument.name + ": a list holds strings only");
          }
          argument.values.emplace_back(text);
        }
        for (const std::string& item : argument.values) {
          argument.raw += (argument.raw.empty() ? "" : ",") + item;
        }
        break;
      default:
        return invalid_argument("query/" + argument.name +
                                ": a string, number, boolean or array of strings");
    }
    arguments.push_back(std::move(argument));
  }
  return arguments;
}

// A count parameter: 1..max decimal digits (at most 9, so no overflow).
Result<uint64_t> parse_count(std::string_view name, std::string_view value, uint64_t max) {
  if (value.empty() || value.size() > 9 ||
      !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return invalid_argument(std::string(name) + " must be a positive integer");
  }
  const uint64_t number = std::stoull(std::string(value));
  if (number == 0 || number > max) {
    return invalid_argument(std::string(name) + " must be between 1 and " + std::to_string(max));
  }
  return number;
}

}  // namespace

Result<size_t> parse_per_page(std::string_view value) {
  CUSTOS_ASSIGN_OR_RETURN(uint64_t per_page, parse_count("perPage", value, kMaxPerPage));
  return static_cast<size_t>(per_page);
}

std::vector<custody::IdentifierRole> any_epc_roles() {
  using custody::IdentifierRole;
  return {IdentifierRole::kEpc, IdentifierRole::kChild, IdentifierRole::kParent,
          IdentifierRole::kInput, IdentifierRole::kOutput};
}

std::vector<std::string> split_values(std::string_view text) {
  std::vector<std::string> values;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view value = trim_ows(text.substr(start, comma - start));
    if (!value.empty()) values.emplace_back(value);
    start = comma + 1;
  }
  return values;
}

Result<ParsedQuery> parse_event_query(const std::vector<QueryArgument>& arguments) {
  using custody::IdentifierRole;
  ParsedQuery parsed;
  custody::EventQuery& query = parsed.query;
  std::set<std::string> seen;
  auto time_of = [](const std::string& name, const std::string& value) -> Result<int64_t> {
    auto time = epcis::parse_timestamp(value);
    if (!time.is_ok()) return invalid_argument(name + ": " + time.status().message());
    return time->utc_micros;
  };
  const std::map<std::string, std::vector<IdentifierRole>> matches = {
      {"MATCH_epc", {IdentifierRole::kEpc, IdentifierRole::kChild}},
      {"MATCH_parentID", {IdentifierRole::kParent}},
      {"MATCH_inputEPC", {IdentifierRole::kInput}},
      {"MATCH_outputEPC", {IdentifierRole::kOutput}},
      {"MATCH_anyEPC", any_epc_roles()},
      {"MATCH_epcClass", {IdentifierRole::kEpcClass}},
      {"MATCH_inputEPCClass", {IdentifierRole::kInputClass}},
      {"MATCH_outputEPCClass", {IdentifierRole::kOutputClass}},
      {"MATCH_anyEPCClass",
       {IdentifierRole::kEpcClass, IdentifierRole::kInputClass, IdentifierRole::kOutputClass}},
  };
  for (const QueryArgument& argument : arguments) {
    const std::string& name = argument.name;
    const std::string& value = argument.raw;
    const std::vector<std::string>& values = argument.values;
    if (!seen.insert(name).second) return invalid_argument("parameter " + name + " is repeated");
    if (name == "eventType") {
      for (const std::string& type : values) {
        CUSTOS_ASSIGN_OR_RETURN(auto parsed_type, custody::parse_event_type(type));
        query.event_types.push_back(parsed_type);
      }
    } else if (name == "GE_eventTime") {
      CUSTOS_ASSIGN_OR_RETURN(int64_t time, time_of(name, value));
      query.ge_event_time = time;
    } else if (name == "LT_eventTime") {
      CUSTOS_ASSIGN_OR_RETURN(int64_t time, time_of(name, value));
      query.lt_event_time = time;
    } else if (name == "GE_recordTime") {
      CUSTOS_ASSIGN_OR_RETURN(int64_t time, time_of(name, value));
      query.ge_record_time = time;
    } else if (name == "LT_recordTime") {
      CUSTOS_ASSIGN_OR_RETURN(int64_t time, time_of(name, value));
      query.lt_record_time = time;
    } else if (name == "EQ_action") {
      for (const std::string& action : values) {
        CUSTOS_ASSIGN_OR_RETURN(auto parsed_action, custody::parse_action(action));
        query.actions.push_back(parsed_action);
      }
    } else if (name == "EQ_bizStep") {
      for (const std::string& step : values) {
        query.biz_steps.push_back(custody::cbv_full_uri(step, custody::CbvVocabulary::kBizStep));
      }
    } else if (name == "EQ_disposition") {
      for (const std::string& disposition : values) {
        query.dispositions.push_back(
            custody::cbv_full_uri(disposition, custody::CbvVocabulary::kDisposition));
      }
    } else if (name == "EQ_readPoint" || name == "WD_readPoint") {
      // Without master data hierarchies, WD_ matches the location itself.
      CUSTOS_ASSIGN_OR_RETURN(auto ids, canonical_ids(name, values));
      query.read_points.insert(query.read_points.end(), ids.begin(), ids.end());
    } else if (name == "EQ_bizLocation" || name == "WD_bizLocation") {
      CUSTOS_ASSIGN_OR_RETURN(auto ids, canonical_ids(name, values));
      query.biz_locations.insert(query.biz_locations.end(), ids.begin(), ids.end());
    } else if (auto match = matches.find(name); match != matches.end()) {
      // Each value an EPC pattern (urn:epc:idpat:...) or an identifier.
      const auto level = name.ends_with("Class") ? epcis::PatternLevel::kClass
                                                 : epcis::PatternLevel::kInstance;
      custody::EventQuery::IdentifierMatch condition{match->second, {}, {}};
      for (const std::string& text : values) {
        auto pattern = epcis::parse_epc_pattern(text, level);
        if (!pattern.is_ok()) return invalid_argument(name + ": " + pattern.status().message());
        if (*pattern) {
          condition.patterns.insert(condition.patterns.end(), (*pattern)->begin(), (*pattern)->end());
          continue;
        }
        CUSTOS_ASSIGN_OR_RETURN(auto ids, canonical_ids(name, {text}));
        condition.values.push_back(std::move(ids.front()));
      }
      query.identifier_matches.push_back(std::move(condition));
    } else if (name.starts_with("EQ_bizTransaction_") || name.starts_with("EQ_source_") ||
               name.starts_with("EQ_destination_")) {
      const bool transaction = name.starts_with("EQ_bizTransaction_");
      const bool source = name.starts_with("EQ_source_");
      std::string type = name.substr(transaction ? 18 : source ? 10 : 15);
      custody::EventQuery::TypedMatch typed{
          custody::cbv_full_uri(type, transaction ? custody::CbvVocabulary::kBizTransactionType
                                                  : custody::CbvVocabulary::kSourceDestType),
          values};
      (transaction ? query.biz_transactions : source ? query.sources : query.destinations)
          .push_back(std::move(typed));
    } else if (name == "EQ_eventID") {
      query.event_ids = values;
    } else if (name == "EXISTS_errorDeclaration") {
      query.error_declared = true;
    } else if (name == "orderBy") {
      if (value == "eventTime") {
        query.order_by = custody::EventQuery::OrderBy::kEventTime;
      } else if (value == "recordTime") {
        query.order_by = custody::EventQuery::OrderBy::kRecordTime;
      } else {
        return invalid_argument("orderBy must be eventTime or recordTime");
      }
    } else if (name == "orderDirection") {
      if (value != "ASC" && value != "DESC") {
        return invalid_argument("orderDirection must be ASC or DESC");
      }
      query.descending = value == "DESC";
    } else if (name == "eventCountLimit") {
      CUSTOS_ASSIGN_OR_RETURN(uint64_t limit, parse_count(name, value, 1000000));
      query.event_count_limit = limit;
    } else if (name == "perPage") {
      CUSTOS_ASSIGN_OR_RETURN(parsed.per_page, parse_per_page(value));
    } else if (name == "nextPageToken") {
      parsed.page_token = value;
    } else if (name == "proof") {
      if (value != "true" && value != "false") return invalid_argument("proof must be true or false");
      parsed.proof = value == "true";
    } else {
      return invalid_argument("unknown query parameter " + name);
    }
  }
  // Without an orderBy the binding leaves the order open; record time (log order) it is.
  return parsed;
}

Result<ParsedQuery> parse_event_query(const QueryParams& params) {
  std::vector<QueryArgument> arguments;
  arguments.reserve(params.size());
  for (const auto& [name, value] : params) arguments.push_back({name, value, split_values(value)});
  return parse_event_query(arguments);
}

// The event as served: the logged JSON with recordTime (and, with proofs,
// custos:logIndex and custos:inclusionProof) added.
Result<Bytes> event_entry(const ledger::Log& log, const custody::EventIndex* index,
                          uint64_t log_index) {
  if (index != nullptr) {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<Bytes> copy, index->entry_copy(log_index));
    if (copy) return std::move(*copy);
  }
  return log.entry(log_index);
}

Result<std::string> served_event(ByteView entry_bytes, const std::vector<Hash256>* proof) {
  CUSTOS_ASSIGN_OR_RETURN(ledger::LogEntry entry, ledger::decode_entry(entry_bytes));
  CUSTOS_ASSIGN_OR_RETURN(custody::LoggedEvent logged, custody::decode_event_payload(entry.payload));
  if (logged.event_json.empty() || logged.event_json.front() != '{') {
    return data_loss("log entry " + std::to_string(entry.index) + " holds no event object");
  }
  std::string out = "{\"recordTime\":";
  append_json_string(out, utc_text(entry.receive_time));
  if (proof != nullptr) {
    out += ",\"custos:logIndex\":";
    out += std::to_string(entry.index);
    out += ",\"custos:leafHash\":";
    append_json_base64_string(out, ledger::hash_leaf(entry_bytes).view());
    out += ",\"custos:inclusionProof\":[";
    for (size_t i = 0; i < proof->size(); ++i) {
      if (i > 0) out += ",";
      append_json_base64_string(out, (*proof)[i].view());
    }
    out += "]";
  }
  if (logged.event_json.size() > 2) out += ",";
  out.append(logged.event_json, 1);
  return out;
}

// The tree size a signed checkpoint note names (its body ends at the blank line).
std::optional<uint64_t> checkpoint_size(std::string_view note) {
  const size_t body_end = note.find("\n\n");
  if (body_end == std::string_view::npos) return std::nullopt;
  auto checkpoint = ledger::parse_checkpoint_body(note.substr(0, body_end + 1));
  if (!checkpoint.is_ok()) return std::nullopt;
  return checkpoint->tree_size;
}

Result<std::vector<QueryArgument>> definition_arguments(std::string_view definition_json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object definition;
  if (parser.parse(definition_json.data(), definition_json.size()).get(root) != simdjson::SUCCESS ||
      root.get(definition) != simdjson::SUCCESS) {
    return invalid_argument("query must be a JSON object of query parameters");
  }
  return object_arguments(definition);
}

Result<std::vector<QueryArgument>> stored_arguments(const custody::NamedQuery& stored) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object definition;
  if (parser.parse(stored.json).get(root) != simdjson::SUCCESS ||
      root["query"].get(definition) != simdjson::SUCCESS) {
    return data_loss("stored query " + stored.name + " is not readable");
  }
  return object_arguments(definition);
}

std::string utc_text(int64_t micros) { return epcis::timestamp_from_utc_micros(micros).text; }

Result<std::string> events_document(const ledger::Log& log, std::span<const uint64_t> indexes,
                                    bool proof, int64_t now_micros, std::string_view query_name,
                                    std::string_view subscription_id, size_t hidden,
                                    const custody::EventIndex* index) {
  // The checkpoint first: every proof below is against its size.
  const std::string checkpoint = log.latest_checkpoint();
  const uint64_t tree_size = checkpoint_size(checkpoint).value_or(log.tree_size());
  std::vector<std::vector<Hash256>> proofs;
  if (proof) {
    // One reader for all: the events' proofs share the tiles near the root.
    CUSTOS_ASSIGN_OR_RETURN(proofs, log.inclusion_proofs(indexes, tree_size));
  }
  std::string events = "[";
  for (size_t i = 0; i < indexes.size(); ++i) {
    CUSTOS_ASSIGN_OR_RETURN(Bytes bytes, event_entry(log, index, indexes[i]));
    CUSTOS_ASSIGN_OR_RETURN(std::string served,
                            served_event(bytes, proof ? &proofs[i] : nullptr));
    if (i > 0) events += ",";
    events += served;
  }
  events += "]";
  JsonWriter json;
  json.begin_object()
      .key("@context").begin_array()
      .string("https://ref.gs1.org/standards/epcis/epcis-context.jsonld")
      .begin_object().key("custos").string(kCustosNamespace).end_object()
      .end_array()
      .key("type").string("EPCISQueryDocument")
      .key("schemaVersion").string("2.0")
      .key("creationDate").string(utc_text(now_micros));
  if (proof) {
    json.key("custos:treeSize").number(tree_size).key("custos:checkpoint").string(checkpoint);
  }
  if (hidden > 0) json.key("custos:hiddenEvents").number(hidden);
  json.key("epcisBody").begin_object().key("queryResults").begin_object();
  if (!subscription_id.empty()) json.key("subscriptionID").string(subscription_id);
  json.key("queryName").string(query_name)
      .key("resultsBody").begin_object().key("eventList").raw(events).end_object()
      .end_object().end_object().end_object();
  return json.take();
}

}  // namespace custos::epcis_query
