#include "custos/custody/capture_record.h"

#include <simdjson.h>

#include "custos/core/json_writer.h"
#include "custos/epcis/json_codec.h"

namespace custos::custody {

namespace {

constexpr std::string_view kEnvelopeStart = "{\"custos\":\"epcis-event/1\",\"eventHash\":\"";
constexpr std::string_view kEnvelopeEvent = "\",\"event\":";
constexpr std::string_view kEnvelopeVendor = "\",\"capturerVendor\":\"";
constexpr std::string_view kCbvBase = "https://ref.gs1.org/cbv/";

EventType custody_type(epcis::EventType type) {
  switch (type) {
    case epcis::EventType::kObjectEvent:
      return EventType::kObject;
    case epcis::EventType::kAggregationEvent:
      return EventType::kAggregation;
    case epcis::EventType::kTransactionEvent:
      return EventType::kTransaction;
    case epcis::EventType::kTransformationEvent:
      return EventType::kTransformation;
    case epcis::EventType::kAssociationEvent:
      return EventType::kAssociation;
  }
  return EventType::kObject;
}

Action custody_action(const std::optional<epcis::Action>& action) {
  if (!action) return Action::kNone;
  switch (*action) {
    case epcis::Action::kAdd:
      return Action::kAdd;
    case epcis::Action::kObserve:
      return Action::kObserve;
    case epcis::Action::kDelete:
      return Action::kDelete;
  }
  return Action::kNone;
}

}  // namespace

std::string cbv_full_uri(std::string_view value, CbvVocabulary vocabulary) {
  static const epcis::CuriePrefixes kCbvPrefix = {{"cbv", std::string(kCbvBase)}};
  return epcis::cbv_uri(value, vocabulary, kCbvPrefix);
}

Result<IndexedEvent> summarise_event(const epcis::Event& event, std::string event_hash,
                                     std::string principal, epcis::IdentifierCache* identifier_cache) {
  IndexedEvent summary;
  summary.event_id = event.event_id.value_or(event_hash);
  summary.event_hash = std::move(event_hash);
  summary.type = custody_type(event.type);
  summary.action = custody_action(event.action);
  summary.event_time_micros = event.event_time.utc_micros;
  if (event.biz_step) summary.biz_step = cbv_full_uri(*event.biz_step, CbvVocabulary::kBizStep);
  if (event.disposition) {
    summary.disposition = cbv_full_uri(*event.disposition, CbvVocabulary::kDisposition);
  }
  CUSTOS_ASSIGN_OR_RETURN(std::vector<epcis::RoleIdentifier> identifiers,
                          epcis::canonical_identifiers(event, identifier_cache));
  for (epcis::RoleIdentifier& found : identifiers) {
    std::string& id = found.id.canonical;
    switch (found.role) {
      case epcis::IdentifierRole::kEpc:
        summary.identifiers.emplace_back(IdentifierRole::kEpc, std::move(id));
        break;
      case epcis::IdentifierRole::kChildEpc:
        summary.identifiers.emplace_back(IdentifierRole::kChild, std::move(id));
        break;
      case epcis::IdentifierRole::kParent:
        summary.identifiers.emplace_back(IdentifierRole::kParent, std::move(id));
        break;
      case epcis::IdentifierRole::kInputEpc:
        summary.identifiers.emplace_back(IdentifierRole::kInput, std::move(id));
        break;
      case epcis::IdentifierRole::kOutputEpc:
        summary.identifiers.emplace_back(IdentifierRole::kOutput, std::move(id));
        break;
      case epcis::IdentifierRole::kEpcClass:
      case epcis::IdentifierRole::kChildEpcClass:
        summary.identifiers.emplace_back(IdentifierRole::kEpcClass, std::move(id));
        break;
      case epcis::IdentifierRole::kInputEpcClass:
        summary.identifiers.emplace_back(IdentifierRole::kInputClass, std::move(id));
        break;
      case epcis::IdentifierRole::kOutputEpcClass:
        summary.identifiers.emplace_back(IdentifierRole::kOutputClass, std::move(id));
        break;
      case epcis::IdentifierRole::kReadPoint:
        summary.read_point = std::move(id);
        break;
      case epcis::IdentifierRole::kBizLocation:
        summary.biz_location = std::move(id);
        break;
      case epcis::IdentifierRole::kSource:
      case epcis::IdentifierRole::kDestination:
        break;  // parties and places the event names; filtered by type, not indexed
    }
  }
  if (event.biz_transaction_list) {
    for (const epcis::BizTransaction& transaction : *event.biz_transaction_list) {
      summary.biz_transactions.push_back(TypedValue{
          transaction.type ? cbv_full_uri(*transaction.type, CbvVocabulary::kBizTransactionType)
                           : std::string(),
          transaction.value});
    }
  }
  if (event.source_list) {
    for (const epcis::SourceDestination& source : *event.source_list) {
      summary.sources.push_back(
          TypedValue{cbv_full_uri(source.type, CbvVocabulary::kSourceDestType), source.value});
    }
  }
  if (event.destination_list) {
    for (const epcis::SourceDestination& destination : *event.destination_list) {
      summary.destinations.push_back(TypedValue{
          cbv_full_uri(destination.type, CbvVocabulary::kSourceDestType), destination.value});
    }
  }
  summary.error_declared = event.error_declaration.has_value();
  summary.principal = std::move(principal);
  CUSTOS_RETURN_IF_ERROR(check_indexable(summary));
  return summary;
}

Bytes encode_event_payload(const epcis::Event& event, std::string_view event_hash,
                           std::string_view capturer_vendor) {
  std::string out(kEnvelopeStart);
  out += event_hash;  // ni:///sha-256;<hex>?ver=CBV2.0: no character needs escaping
  if (!capturer_vendor.empty()) {
    out += kEnvelopeVendor;
    out.pop_back();  // append_json_string writes the opening quote
    append_json_string(out, capturer_vendor);
    out.pop_back();  // and kEnvelopeEvent the closing one
  }
  out += kEnvelopeEvent;
  epcis::append_event_json(out, event);
  out.push_back('}');
  return Bytes(out.begin(), out.end());
}

Result<LoggedEvent> decode_event_payload(ByteView payload) {
  std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (!text.starts_with(kEnvelopeStart) || !text.ends_with('}')) {
    return data_loss("not an epcis-event/1 payload");
  }
  text.remove_prefix(kEnvelopeStart.size());
  size_t end = text.find(kEnvelopeEvent);
  if (end == std::string_view::npos) return data_loss("not an epcis-event/1 payload");
  LoggedEvent logged;
  const size_t vendor = text.substr(0, end).find(kEnvelopeVendor);
  if (vendor != std::string_view::npos) {
    // An escaped JSON string cannot hold the separator's bare quote, so the
    // first separator after the hash ends it.
    std::string quoted(text.substr(vendor + kEnvelopeVendor.size() - 1,
                                   end - vendor - kEnvelopeVendor.size() + 2));
    simdjson::dom::parser parser;
    std::string_view value;
    if (parser.parse(quoted).get(value) != simdjson::SUCCESS) {
      return data_loss("malformed capturer vendor in an epcis-event/1 payload");
    }
    logged.capturer_vendor = std::string(value);
    end = vendor;
  }
  logged.event_hash = std::string(text.substr(0, end));
  if (logged.event_hash.find_first_of("\"\\") != std::string::npos) {
    return data_loss("malformed event hash in an epcis-event/1 payload");
  }
  text.remove_prefix(text.find(kEnvelopeEvent) + kEnvelopeEvent.size());
  text.remove_suffix(1);
  logged.event_json = std::string(text);
  return logged;
}

Result<IndexedEvent> summarise_entry(const ledger::LogEntry& entry) {
  CUSTOS_ASSIGN_OR_RETURN(LoggedEvent logged, decode_event_payload(entry.payload));
  CUSTOS_ASSIGN_OR_RETURN(epcis::Event event, epcis::decode_event(logged.event_json));
  CUSTOS_ASSIGN_OR_RETURN(IndexedEvent summary,
                          summarise_event(event, std::move(logged.event_hash), entry.principal));
  summary.principal_vendor = std::move(logged.capturer_vendor);
  summary.log_index = entry.index;
  summary.record_time_micros = entry.receive_time;
  return summary;
}

}  // namespace custos::custody
