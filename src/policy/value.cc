#include "custos/policy/value.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <functional>

#include "custos/core/json_writer.h"
#include "json_convert.h"

namespace custos::policy {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_ipv4(std::string_view text, uint8_t* out) {
  int octet = 0;
  size_t pos = 0;
  for (; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return false;
      ++pos;
    }
    size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    size_t len = pos - start;
    if (len == 0 || value > 255) return false;
    if (len > 1 && text[start] == '0') return false;  // no leading zeros
    out[octet] = static_cast<uint8_t>(value);
  }
  return pos == text.size();
}

// Parses colon-separated hex groups; returns the group count or -1.
int parse_groups(std::string_view text, uint16_t* groups, int max_groups) {
  if (text.empty()) return 0;
  int count = 0;
  size_t pos = 0;
  while (true) {
    if (count == max_groups) return -1;
    size_t start = pos;
    unsigned value = 0;
    while (pos < text.size() && hex_digit(text[pos]) >= 0 && pos - start < 4) {
      value = value * 16 + static_cast<unsigned>(hex_digit(text[pos]));
      ++pos;
    }
    if (pos == start) return -1;
    groups[count++] = static_cast<uint16_t>(value);
    if (pos == text.size()) return count;
    if (text[pos] != ':') return -1;
    ++pos;
  }
}

bool parse_ipv6(std::string_view text, uint8_t* out) {
  uint16_t groups[8] = {};
  size_t gap = text.find("::");
  if (gap == std::string_view::npos) {
    if (parse_groups(text, groups, 8) != 8) return false;
  } else {
    uint16_t head[8], tail[8];
    int head_count = parse_groups(text.substr(0, gap), head, 7);
    if (head_count < 0) return false;
    int tail_count = parse_groups(text.substr(gap + 2), tail, 7 - head_count);
    if (tail_count < 0) return false;
    for (int i = 0; i < head_count; ++i) groups[i] = head[i];
    for (int i = 0; i < tail_count; ++i) groups[8 - tail_count + i] = tail[i];
  }
  for (int i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<uint8_t>(groups[i] & 0xff);
  }
  return true;
}

// Lowest and highest address of the range, as comparable byte arrays.
void range_bounds(const IpAddr& ip, std::array<uint8_t, 16>& low, std::array<uint8_t, 16>& high) {
  int width = ip.is_v4 ? 4 : 16;
  low = {};
  high = {};
  for (int i = 0; i < width; ++i) {
    int bits = std::clamp(static_cast<int>(ip.prefix) - 8 * i, 0, 8);
    uint8_t mask = static_cast<uint8_t>(bits == 0 ? 0 : (0xff << (8 - bits)) & 0xff);
    low[i] = ip.bytes[i] & mask;
    high[i] = ip.bytes[i] | static_cast<uint8_t>(~mask);
  }
}

void append_escaped(std::string& out, std::string_view text) {
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': out += "\\0"; break;
      default: out += c;
    }
  }
}

}  // namespace

std::string EntityUid::to_string() const {
  std::string out = type;
  out += "::\"";
  append_escaped(out, id);
  out += '"';
  return out;
}

size_t EntityUidHash::operator()(const EntityUid& uid) const noexcept {
  size_t h = std::hash<std::string_view>()(uid.type);
  return h ^ (std::hash<std::string_view>()(uid.id) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

Result<IpAddr> IpAddr::parse(std::string_view text) {
  IpAddr ip;
  bool has_colon = text.find(':') != std::string_view::npos;
  if (has_colon && text.find('.') != std::string_view::npos) {
    return invalid_argument("IPv4 embedded in IPv6 is not accepted: " + std::string(text));
  }
  std::string_view address = text;
  std::string_view prefix_text;
  bool has_prefix = false;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    prefix_text = text.substr(slash + 1);
    has_prefix = true;
  }
  ip.is_v4 = !has_colon;
  bool ok = ip.is_v4 ? parse_ipv4(address, ip.bytes.data()) : parse_ipv6(address, ip.bytes.data());
  if (!ok) return invalid_argument("invalid IP address: " + std::string(text));
  int max_prefix = ip.is_v4 ? 32 : 128;
  ip.prefix = static_cast<uint8_t>(max_prefix);
  if (has_prefix) {
    if (prefix_text.empty() || prefix_text.size() > 2 ||
        !std::all_of(prefix_text.begin(), prefix_text.end(), is_digit)) {
      return invalid_argument("invalid IP prefix: " + std::string(text));
    }
    int prefix = 0;
    for (char c : prefix_text) prefix = prefix * 10 + (c - '0');
    if (prefix > max_prefix) return invalid_argument("IP prefix too large: " + std::string(text));
    ip.prefix = static_cast<uint8_t>(prefix);
  }
  return ip;
}

bool IpAddr::is_loopback() const {
  if (is_v4) return bytes[0] == 127 && prefix >= 8;
  for (int i = 0; i < 15; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[15] == 1 && prefix >= 128;
}

bool IpAddr::is_multicast() const {
  if (is_v4) return (bytes[0] & 0xf0) == 0xe0 && prefix >= 4;
  return bytes[0] == 0xff && prefix >= 8;
}

bool IpAddr::is_in_range(const IpAddr& range) const {
  if (is_v4 != range.is_v4) return false;
  std::array<uint8_t, 16> low, high, range_low, range_high;
  range_bounds(*this, low, high);
  range_bounds(range, range_low, range_high);
  return low >= range_low && high <= range_high;
}

std::string IpAddr::to_string() const {
  char buffer[64];
  std::string out;
  if (is_v4) {
    std::snprintf(buffer, sizeof buffer, "%u.%u.%u.%u", bytes[0], bytes[1], bytes[2], bytes[3]);
    out = buffer;
  } else {
    for (int i = 0; i < 8; ++i) {
      std::snprintf(buffer, sizeof buffer, "%s%x", i ? ":" : "",
                    (static_cast<unsigned>(bytes[2 * i]) << 8) | bytes[2 * i + 1]);
      out += buffer;
    }
  }
  out += "/" + std::to_string(prefix);
  return out;
}

Result<Decimal> Decimal::parse(std::string_view text) {
  auto malformed = [&] {
    return invalid_argument("`" + std::string(text) + "` is not a well-formed decimal value");
  };
  size_t pos = 0;
  bool negative = false;
  if (pos < text.size() && text[pos] == '-') {
    negative = true;
    ++pos;
  }
  size_t dot = text.find('.', pos);
  if (dot == std::string_view::npos || dot == pos) return malformed();
  std::string_view whole = text.substr(pos, dot - pos);
  std::string_view fraction = text.substr(dot + 1);
  if (fraction.empty() || fraction.size() > 4) return malformed();
  if (!std::all_of(whole.begin(), whole.end(), is_digit) ||
      !std::all_of(fraction.begin(), fraction.end(), is_digit)) {
    return malformed();
  }
  // Accumulate negatively so INT64_MIN is reachable.
  int64_t value = 0;
  auto push_digit = [&](char c) {
    int64_t digit = c - '0';
    return !__builtin_mul_overflow(value, int64_t{10}, &value) &&
           !__builtin_sub_overflow(value, digit, &value);
  };
  for (char c : whole) {
    if (!push_digit(c)) return invalid_argument("overflow when converting to decimal");
  }
  for (size_t i = 0; i < 4; ++i) {
    if (!push_digit(i < fraction.size() ? fraction[i] : '0')) {
      return invalid_argument("overflow when converting to decimal");
    }
  }
  if (!negative) {
    if (value == INT64_MIN) return invalid_argument("overflow when converting to decimal");
    value = -value;
  }
  return Decimal{value};
}

std::string Decimal::to_string() const {
  uint64_t magnitude =
      scaled < 0 ? static_cast<uint64_t>(-(scaled + 1)) + 1 : static_cast<uint64_t>(scaled);
  std::string fraction = std::to_string(magnitude % 10000);
  fraction.insert(0, 4 - fraction.size(), '0');
  return (scaled < 0 ? "-" : "") + std::to_string(magnitude / 10000) + "." + fraction;
}

std::string_view value_kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::kBool: return "bool";
    case ValueKind::kLong: return "long";
    case ValueKind::kString: return "string";
    case ValueKind::kEntity: return "entity";
    case ValueKind::kSet: return "set";
    case ValueKind::kRecord: return "record";
    case ValueKind::kIp: return "ipaddr";
    case ValueKind::kDecimal: return "decimal";
  }
  return "unknown";
}

Value Value::string(std::string value) {
  return Value(Payload(std::make_shared<const std::string>(std::move(value))));
}

Value Value::entity(EntityUid uid) {
  return Value(Payload(std::make_shared<const EntityUid>(std::move(uid))));
}

Value Value::set(std::vector<Value> elements) {
  std::sort(elements.begin(), elements.end(), ValueLess());
  elements.erase(std::unique(elements.begin(), elements.end()), elements.end());
  return Value(Payload(std::make_shared<const SetElements>(std::move(elements))));
}

Value Value::record(RecordFields fields) {
  auto key_less = [](const auto& a, const auto& b) { return a.first < b.first; };
  const bool sorted_unique =
      std::adjacent_find(fields.begin(), fields.end(), [](const auto& a, const auto& b) {
        return !(a.first < b.first);
      }) == fields.end();
  if (!sorted_unique) {
    if (fields.size() <= 16) {
      // Stable insertion sort: no buffer to allocate for the usual small record.
      for (size_t i = 1; i < fields.size(); ++i) {
        if (!(fields[i].first < fields[i - 1].first)) continue;
        auto moving = std::move(fields[i]);
        size_t j = i;
        for (; j > 0 && moving.first < fields[j - 1].first; --j) fields[j] = std::move(fields[j - 1]);
        fields[j] = std::move(moving);
      }
    } else {
      std::stable_sort(fields.begin(), fields.end(), key_less);
    }
    // Keep the last of equal keys, in place.
    size_t kept = 0;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (kept > 0 && fields[kept - 1].first == fields[i].first) {
        fields[kept - 1].second = std::move(fields[i].second);
      } else {
        if (kept != i) fields[kept] = std::move(fields[i]);
        ++kept;
      }
    }
    fields.erase(fields.begin() + static_cast<std::ptrdiff_t>(kept), fields.end());
  }
  return Value(Payload(std::make_shared<const RecordFields>(std::move(fields))));
}

const Value* Value::field(std::string_view key) const {
  const RecordFields& fields = as_record();
  if (fields.size() <= 16) {
    // Equality first compares lengths: cheaper than ordering comparisons.
    for (const auto& field : fields) {
      if (field.first == key) return &field.second;
    }
    return nullptr;
  }
  auto it = std::lower_bound(fields.begin(), fields.end(), key,
                             [](const auto& field, std::string_view k) { return field.first < k; });
  if (it == fields.end() || it->first != key) return nullptr;
  return &it->second;
}

bool Value::set_contains(const Value& element) const {
  const SetElements& elements = as_set();
  if (elements.size() <= 8) {
    for (const Value& e : elements) {
      if (e == element) return true;
    }
    return false;
  }
  return std::binary_search(elements.begin(), elements.end(), element, ValueLess());
}

bool operator==(const Value& a, const Value& b) {
  if (a.payload_.index() != b.payload_.index()) return false;
  switch (a.kind()) {
    case ValueKind::kBool: return a.as_bool() == b.as_bool();
    case ValueKind::kLong: return a.as_long() == b.as_long();
    case ValueKind::kString: {
      auto& pa = std::get<Value::StringPtr>(a.payload_);
      auto& pb = std::get<Value::StringPtr>(b.payload_);
      return pa == pb || *pa == *pb;
    }
    case ValueKind::kEntity: {
      auto& pa = std::get<Value::EntityPtr>(a.payload_);
      auto& pb = std::get<Value::EntityPtr>(b.payload_);
      return pa == pb || *pa == *pb;
    }
    case ValueKind::kSet: {
      auto& pa = std::get<Value::SetPtr>(a.payload_);
      auto& pb = std::get<Value::SetPtr>(b.payload_);
      return pa == pb || *pa == *pb;
    }
    case ValueKind::kRecord: {
      auto& pa = std::get<Value::RecordPtr>(a.payload_);
      auto& pb = std::get<Value::RecordPtr>(b.payload_);
      return pa == pb || *pa == *pb;
    }
    case ValueKind::kIp: return a.as_ip() == b.as_ip();
    case ValueKind::kDecimal: return a.as_decimal() == b.as_decimal();
  }
  return false;
}

std::strong_ordering compare(const Value& a, const Value& b) {
  if (a.payload_.index() != b.payload_.index()) return a.payload_.index() <=> b.payload_.index();
  switch (a.kind()) {
    case ValueKind::kBool: return a.as_bool() <=> b.as_bool();
    case ValueKind::kLong: return a.as_long() <=> b.as_long();
    case ValueKind::kString: return a.as_string() <=> b.as_string();
    case ValueKind::kEntity: return a.as_entity() <=> b.as_entity();
    case ValueKind::kSet: {
      const auto& x = a.as_set();
      const auto& y = b.as_set();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (auto c = compare(x[i], y[i]); c != 0) return c;
      }
      return x.size() <=> y.size();
    }
    case ValueKind::kRecord: {
      const auto& x = a.as_record();
      const auto& y = b.as_record();
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
        if (auto c = x[i].first <=> y[i].first; c != 0) return c;
        if (auto c = compare(x[i].second, y[i].second); c != 0) return c;
      }
      return x.size() <=> y.size();
    }
    case ValueKind::kIp: return a.as_ip() <=> b.as_ip();
    case ValueKind::kDecimal: return a.as_decimal() <=> b.as_decimal();
  }
  return std::strong_ordering::equal;
}

std::string Value::to_string() const {
  switch (kind()) {
    case ValueKind::kBool: return as_bool() ? "true" : "false";
    case ValueKind::kLong: return std::to_string(as_long());
    case ValueKind::kString: {
      std::string out = "\"";
      append_escaped(out, as_string());
      return out + "\"";
    }
    case ValueKind::kEntity: return as_entity().to_string();
    case ValueKind::kSet: {
      std::string out = "[";
      for (size_t i = 0; i < as_set().size(); ++i) {
        if (i) out += ", ";
        out += as_set()[i].to_string();
      }
      return out + "]";
    }
    case ValueKind::kRecord: {
      std::string out = "{";
      for (size_t i = 0; i < as_record().size(); ++i) {
        if (i) out += ", ";
        out += "\"";
        append_escaped(out, as_record()[i].first);
        out += "\": " + as_record()[i].second.to_string();
      }
      return out + "}";
    }
    case ValueKind::kIp: return "ip(\"" + as_ip().to_string() + "\")";
    case ValueKind::kDecimal: return "decimal(\"" + as_decimal().to_string() + "\")";
  }
  return "";
}

namespace internal {

Result<EntityUid> uid_from_json(simdjson::dom::element element) {
  simdjson::dom::object object;
  if (element.get_object().get(object)) return invalid_argument("entity uid must be an object");
  simdjson::dom::element inner;
  if (!object["__entity"].get(inner)) return uid_from_json(inner);
  std::string_view type, id;
  if (object["type"].get_string().get(type) || object["id"].get_string().get(id)) {
    return invalid_argument("entity uid needs string fields \"type\" and \"id\"");
  }
  if (!is_valid_type_name(type)) {
    return invalid_argument("invalid entity type name `" + std::string(type) + "`");
  }
  return EntityUid{std::string(type), std::string(id)};
}

bool is_valid_type_name(std::string_view name) {
  size_t pos = 0;
  while (true) {
    if (pos >= name.size()) return false;
    char c = name[pos];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) return false;
    ++pos;
    while (pos < name.size() && (name[pos] == '_' || std::isalnum(static_cast<unsigned char>(name[pos])))) {
      ++pos;
    }
    if (pos == name.size()) return true;
    if (name.substr(pos, 2) != "::") return false;
    pos += 2;
  }
}

Result<Value> value_from_json(simdjson::dom::element element, int depth) {
  if (depth > 64) return invalid_argument("JSON value nested too deeply");
  switch (element.type()) {
    case simdjson::dom::element_type::BOOL: return Value::boolean(element.get_bool().value());
    case simdjson::dom::element_type::INT64: return Value::long_value(element.get_int64().value());
    case simdjson::dom::element_type::UINT64:
      return invalid_argument("integer out of range for a Cedar long");
    case simdjson::dom::element_type::DOUBLE:
      return invalid_argument("non-integer numbers are not Cedar values");
    case simdjson::dom::element_type::NULL_VALUE:
      return invalid_argument("JSON nulls are not Cedar values");
    case simdjson::dom::element_type::STRING:
      return Value::string(std::string(element.get_string().value()));
    case simdjson::dom::element_type::ARRAY: {
      std::vector<Value> elements;
      simdjson::dom::array array = element.get_array().value();
      for (simdjson::dom::element item : array) {
        CUSTOS_ASSIGN_OR_RETURN(Value value, value_from_json(item, depth + 1));
        elements.push_back(std::move(value));
      }
      return Value::set(std::move(elements));
    }
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object object = element.get_object().value();
      if (object.size() == 1) {
        simdjson::dom::element inner;
        if (!object["__entity"].get(inner)) {
          CUSTOS_ASSIGN_OR_RETURN(EntityUid uid, uid_from_json(inner));
          return Value::entity(std::move(uid));
        }
        if (!object["__extn"].get(inner)) {
          std::string_view fn, arg;
          if (inner["fn"].get_string().get(fn) || inner["arg"].get_string().get(arg)) {
            return invalid_argument("__extn needs string fields \"fn\" and \"arg\"");
          }
          if (fn == "ip") {
            CUSTOS_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::parse(arg));
            return Value::ip(ip);
          }
          if (fn == "decimal") {
            CUSTOS_ASSIGN_OR_RETURN(Decimal decimal, Decimal::parse(arg));
            return Value::decimal(decimal);
          }
          return invalid_argument("unknown extension function `" + std::string(fn) + "`");
        }
      }
      RecordFields fields;
      for (auto [key, item] : object) {
        for (const auto& existing : fields) {
          if (existing.first == key) {
            return invalid_argument("duplicate key `" + std::string(key) + "` in record");
          }
        }
        CUSTOS_ASSIGN_OR_RETURN(Value value, value_from_json(item, depth + 1));
        fields.emplace_back(std::string(key), std::move(value));
      }
      return Value::record(std::move(fields));
    }
    default: return invalid_argument("unsupported JSON value");
  }
}

}  // namespace internal

Result<Value> parse_value_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return invalid_argument(std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  return internal::value_from_json(root, 0);
}

namespace {
void write_value(JsonWriter& writer, const Value& value) {
  switch (value.kind()) {
    case ValueKind::kBool: writer.boolean(value.as_bool()); break;
    case ValueKind::kLong: writer.number(value.as_long()); break;
    case ValueKind::kString: writer.string(value.as_string()); break;
    case ValueKind::kEntity:
      writer.begin_object().key("__entity").begin_object();
      writer.key("type").string(value.as_entity().type);
      writer.key("id").string(value.as_entity().id);
      writer.end_object().end_object();
      break;
    case ValueKind::kSet:
      writer.begin_array();
      for (const Value& e : value.as_set()) write_value(writer, e);
      writer.end_array();
      break;
    case ValueKind::kRecord:
      writer.begin_object();
      for (const auto& [key, field] : value.as_record()) {
        writer.key(key);
        write_value(writer, field);
      }
      writer.end_object();
      break;
    case ValueKind::kIp:
      writer.begin_object().key("__extn").begin_object();
      writer.key("fn").string("ip").key("arg").string(value.as_ip().to_string());
      writer.end_object().end_object();
      break;
    case ValueKind::kDecimal:
      writer.begin_object().key("__extn").begin_object();
      writer.key("fn").string("decimal").key("arg").string(value.as_decimal().to_string());
      writer.end_object().end_object();
      break;
  }
}
}  // namespace

std::string value_to_json(const Value& value) {
  JsonWriter writer;
  write_value(writer, value);
  return writer.take();
}

}  // namespace custos::policy
