#include "custos/custody/indexed_event.h"

#include <array>

namespace custos::custody {

namespace {

constexpr uint8_t kVersion = 1;
constexpr size_t kMaxComponent = 4096;

constexpr std::array<std::pair<EventType, std::string_view>, 5> kEventTypeNames = {{
    {EventType::kObject, "ObjectEvent"},
    {EventType::kAggregation, "AggregationEvent"},
    {EventType::kTransaction, "TransactionEvent"},
    {EventType::kTransformation, "TransformationEvent"},
    {EventType::kAssociation, "AssociationEvent"},
}};

void put_u32(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}

void put_u64(Bytes& out, uint64_t value) { append_u64_be(out, value); }

void put_text(Bytes& out, std::string_view text) {
  put_u32(out, static_cast<uint32_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

void put_pairs(Bytes& out, const std::vector<TypedValue>& pairs) {
  put_u32(out, static_cast<uint32_t>(pairs.size()));
  for (const TypedValue& pair : pairs) {
    put_text(out, pair.type);
    put_text(out, pair.value);
  }
}

class Reader {
 public:
  explicit Reader(ByteView bytes) : bytes_(bytes) {}

  bool u8(uint8_t& value) {
    if (remaining() < 1) return false;
    value = bytes_[offset_++];
    return true;
  }
  bool u32(uint32_t& value) {
    if (remaining() < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) value = (value << 8) | bytes_[offset_++];
    return true;
  }
  bool u64(uint64_t& value) {
    if (remaining() < 8) return false;
    value = read_u64_be(bytes_.data() + offset_);
    offset_ += 8;
    return true;
  }
  bool i64(int64_t& value) {
    uint64_t raw = 0;
    if (!u64(raw)) return false;
    value = static_cast<int64_t>(raw);
    return true;
  }
  bool text(std::string& value) {
    uint32_t size = 0;
    if (!u32(size) || remaining() < size) return false;
    value.assign(reinterpret_cast<const char*>(bytes_.data() + offset_), size);
    offset_ += size;
    return true;
  }
  bool pairs(std::vector<TypedValue>& values) {
    uint32_t count = 0;
    if (!u32(count) || count > remaining() / 8) return false;
    values.resize(count);
    for (TypedValue& value : values) {
      if (!text(value.type) || !text(value.value)) return false;
    }
    return true;
  }
  size_t remaining() const { return bytes_.size() - offset_; }

 private:
  ByteView bytes_;
  size_t offset_ = 0;
};

Status check_component(std::string_view what, std::string_view text, bool required) {
  if (required && text.empty()) return invalid_argument(std::string(what) + " is empty");
  if (text.size() > kMaxComponent) {
    return invalid_argument(std::string(what) + " is longer than 4096 bytes");
  }
  if (text.find('\0') != std::string_view::npos) {
    return invalid_argument(std::string(what) + " contains a NUL byte");
  }
  return Status::ok();
}

}  // namespace

std::string_view event_type_name(EventType type) {
  for (const auto& [value, name] : kEventTypeNames) {
    if (value == type) return name;
  }
  return "unknown";
}

Result<EventType> parse_event_type(std::string_view name) {
  for (const auto& [value, type_name] : kEventTypeNames) {
    if (type_name == name) return value;
  }
  return invalid_argument("unknown event type \"" + std::string(name) + "\"");
}

bool is_identifier_role(uint8_t value) {
  switch (static_cast<IdentifierRole>(value)) {
    case IdentifierRole::kEpc:
    case IdentifierRole::kChild:
    case IdentifierRole::kParent:
    case IdentifierRole::kInput:
    case IdentifierRole::kOutput:
    case IdentifierRole::kEpcClass:
    case IdentifierRole::kInputClass:
    case IdentifierRole::kOutputClass:
      return true;
  }
  return false;
}

std::string_view action_name(Action action) {
  switch (action) {
    case Action::kAdd:
      return "ADD";
    case Action::kObserve:
      return "OBSERVE";
    case Action::kDelete:
      return "DELETE";
    case Action::kNone:
      break;
  }
  return "";
}

Result<Action> parse_action(std::string_view name) {
  for (Action action : {Action::kAdd, Action::kObserve, Action::kDelete}) {
    if (action_name(action) == name) return action;
  }
  return invalid_argument("unknown action \"" + std::string(name) + "\"");
}

Status check_indexable(const IndexedEvent& event) {
  CUSTOS_RETURN_IF_ERROR(check_component("eventID", event.event_id, false));
  CUSTOS_RETURN_IF_ERROR(check_component("event hash", event.event_hash, true));
  CUSTOS_RETURN_IF_ERROR(check_component("bizStep", event.biz_step, false));
  CUSTOS_RETURN_IF_ERROR(check_component("disposition", event.disposition, false));
  CUSTOS_RETURN_IF_ERROR(check_component("readPoint", event.read_point, false));
  CUSTOS_RETURN_IF_ERROR(check_component("bizLocation", event.biz_location, false));
  for (const auto& [role, identifier] : event.identifiers) {
    if (!is_identifier_role(static_cast<uint8_t>(role))) {
      return invalid_argument("unknown identifier role");
    }
    CUSTOS_RETURN_IF_ERROR(check_component("identifier", identifier, true));
  }
  for (const auto* list : {&event.biz_transactions, &event.sources, &event.destinations}) {
    for (const TypedValue& pair : *list) {
      CUSTOS_RETURN_IF_ERROR(check_component("type", pair.type, false));
      CUSTOS_RETURN_IF_ERROR(check_component("value", pair.value, true));
    }
  }
  return Status::ok();
}

Bytes encode_indexed_event(const IndexedEvent& event) {
  Bytes out;
  out.reserve(256);
  out.push_back(kVersion);
  put_u64(out, event.log_index);
  put_text(out, event.event_id);
  put_text(out, event.event_hash);
  out.push_back(static_cast<uint8_t>(event.type));
  out.push_back(static_cast<uint8_t>(event.action));
  put_u64(out, static_cast<uint64_t>(event.event_time_micros));
  put_u64(out, static_cast<uint64_t>(event.record_time_micros));
  put_text(out, event.biz_step);
  put_text(out, event.disposition);
  put_text(out, event.read_point);
  put_text(out, event.biz_location);
  put_u32(out, static_cast<uint32_t>(event.identifiers.size()));
  for (const auto& [role, identifier] : event.identifiers) {
    out.push_back(static_cast<uint8_t>(role));
    put_text(out, identifier);
  }
  put_pairs(out, event.biz_transactions);
  put_pairs(out, event.sources);
  put_pairs(out, event.destinations);
  out.push_back(event.error_declared ? 1 : 0);
  put_text(out, event.principal);
  if (!event.principal_vendor.empty()) put_text(out, event.principal_vendor);  // optional tail
  return out;
}

Result<IndexedEvent> decode_indexed_event(ByteView bytes) {
  Reader reader(bytes);
  IndexedEvent event;
  uint8_t version = 0, type = 0, action = 0, error = 0;
  uint32_t identifier_count = 0;
  bool ok = reader.u8(version) && version == kVersion && reader.u64(event.log_index) &&
            reader.text(event.event_id) && reader.text(event.event_hash) && reader.u8(type) &&
            reader.u8(action) && reader.i64(event.event_time_micros) &&
            reader.i64(event.record_time_micros) && reader.text(event.biz_step) &&
            reader.text(event.disposition) && reader.text(event.read_point) &&
            reader.text(event.biz_location) && reader.u32(identifier_count) &&
            identifier_count <= reader.remaining() / 5;
  if (!ok || type < 1 || type > 5 || action > 3) {
    return data_loss("malformed indexed event summary");
  }
  event.type = static_cast<EventType>(type);
  event.action = static_cast<Action>(action);
  event.identifiers.resize(identifier_count);
  for (auto& [role, identifier] : event.identifiers) {
    uint8_t raw_role = 0;
    if (!reader.u8(raw_role) || !is_identifier_role(raw_role) || !reader.text(identifier)) {
      return data_loss("malformed indexed event summary");
    }
    role = static_cast<IdentifierRole>(raw_role);
  }
  ok = reader.pairs(event.biz_transactions) && reader.pairs(event.sources) &&
       reader.pairs(event.destinations) && reader.u8(error) && error <= 1 &&
       reader.text(event.principal) &&
       (reader.remaining() == 0 ||
        (reader.text(event.principal_vendor) && !event.principal_vendor.empty() &&
         reader.remaining() == 0));
  if (!ok) return data_loss("malformed indexed event summary");
  event.error_declared = error == 1;
  return event;
}

}  // namespace custos::custody
