#include "custos/epcis/event_hash.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <span>

#include "custos/crypto/sha256.h"
#include "custos/epcis/cbv_vocabulary.h"
#include "custos/epcis/identifiers.h"
#include "dom_walk.h"
#include "event_members.h"

namespace custos::epcis {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// What the document's @context and ignoreFields tell about its events.
struct DocumentContext {
  CuriePrefixes namespaces = {
      {"gs1", "https://gs1.org/voc/"},
      {"cbv", "https://ref.gs1.org/cbv/"},
      {"cbvmda", "urn:epcglobal:cbv:mda:"},
  };
  std::set<std::string, std::less<>> ignored_keys = {"rdfs:comment", "comment"};
};

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    if (end == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

constexpr std::string_view kDigitalLinkRoot = "https://id.gs1.org/";

// A Digital Link on any domain, moved to id.gs1.org with its query, fragment
// and path prefix dropped and key names (gtin, ser, ...) as numeric AIs; empty
// when `uri` is not shaped like a Digital Link.
std::string canonical_digital_link(std::string_view uri) {
  size_t scheme_end = uri.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string_view scheme = uri.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return "";
  std::string_view rest = uri.substr(scheme_end + 3);
  size_t cut = rest.find_first_of("?#");
  if (cut != std::string_view::npos) rest = rest.substr(0, cut);
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return "";
  std::vector<std::string_view> segments = split(rest.substr(slash + 1), '/');
  // Linear searches of small constant tables: no static initialisation
  // guard or tree walk per segment.
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"gtin", "01"},   {"sscc", "00"},   {"gln", "414"},    {"party", "417"}, {"grai", "8003"},
      {"giai", "8004"}, {"gsrn", "8018"}, {"gsrnp", "8017"}, {"gdti", "253"},  {"ginc", "401"},
      {"gsin", "402"},  {"itip", "8006"}, {"cpid", "8010"},  {"ser", "21"},    {"lot", "10"},
      {"cpv", "22"},    {"glnx", "254"},  {"cpsn", "8011"},  {"tpx", "235"},   {"gcn", "255"},
  };
  static constexpr std::string_view kPrimaryKeys[] = {"00",   "01",   "253",  "255",  "401",
                                                      "402",  "414",  "417",  "8003", "8004",
                                                      "8006", "8010", "8013", "8017", "8018"};
  auto ai_of = [&](std::string_view segment) -> std::string_view {
    for (const auto& [alias, ai] : kAliases) {
      if (alias == segment) return ai;
    }
    return segment;
  };
  auto is_primary_key = [&](std::string_view ai) {
    return std::find(std::begin(kPrimaryKeys), std::end(kPrimaryKeys), ai) !=
           std::end(kPrimaryKeys);
  };
  size_t first = 0;
  while (first < segments.size() && !is_primary_key(ai_of(segments[first]))) ++first;
  if (first >= segments.size() || (segments.size() - first) % 2 != 0) return "";
  std::string dl(kDigitalLinkRoot);
  for (size_t i = first; i < segments.size(); i += 2) {
    if (segments[i + 1].empty()) return "";
    if (i != first) dl += '/';
    dl += ai_of(segments[i]);
    dl += '/';
    dl += segments[i + 1];
  }
  return dl;
}

std::string canonical_identifier(std::string_view uri) {
  if (uri.starts_with("urn:epc:")) {
    // An EPC URN that does not convert (malformed, or a scheme without a
    // Digital Link) is hashed as written.
    auto dl = epc_urn_to_digital_link(uri, DigitalLinkEscaping::kEventHash);
    if (dl.is_ok()) return std::move(dl).value();
  }
  std::string dl = canonical_digital_link(uri);
  return dl.empty() ? std::string(uri) : dl;
}

std::string gs1_voc_uri(std::string_view value, const DocumentContext& context) {
  if (value.find(':') == std::string_view::npos) return "https://gs1.org/voc/" + std::string(value);
  return expand_curie(value, context.namespaces);
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

bool parse_number(std::string_view text, size_t pos, size_t len, int64_t& out) {
  if (pos + len > text.size() || !all_digits(text.substr(pos, len))) return false;
  out = 0;
  for (size_t i = 0; i < len; ++i) out = out * 10 + (text[pos + i] - '0');
  return true;
}

// An xsd:dateTime as UTC with milliseconds (half-up rounding); InvalidArgument
// for anything else.
Result<std::string> canonical_time(std::string_view text) {
  int64_t year, month, day, hour, minute, second;
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      !parse_number(text, 0, 4, year) || !parse_number(text, 5, 2, month) ||
      !parse_number(text, 8, 2, day) || !parse_number(text, 11, 2, hour) ||
      !parse_number(text, 14, 2, minute) || !parse_number(text, 17, 2, second) || month < 1 ||
      month > 12 || day < 1 || day > 31) {
    return invalid_argument("not an xsd:dateTime: '" + std::string(text) + "'");
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    int round_digit = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (text[pos] - '0');
      if (digits == 3) round_digit = text[pos] - '0';
      ++digits;
      ++pos;
    }
    if (digits == 0) return invalid_argument("empty fraction in '" + std::string(text) + "'");
    for (size_t i = digits; i < 3; ++i) millis *= 10;
    if (round_digit >= 5) ++millis;
  }
  int64_t offset_minutes = 0;
  std::string_view zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int64_t oh, om;
    if (!parse_number(zone, 1, 2, oh) || !parse_number(zone, 4, 2, om)) {
      return invalid_argument("bad time zone in '" + std::string(text) + "'");
    }
    offset_minutes = (oh * 60 + om) * (zone[0] == '-' ? -1 : 1);
  } else {
    return invalid_argument("missing or bad time zone in '" + std::string(text) + "'");
  }
  int64_t total_ms =
      ((days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
        hour * 3600 + minute * 60 + second - offset_minutes * 60) *
       1000) +
      millis;
  int64_t days = total_ms >= 0 ? total_ms / 86400000 : (total_ms - 86399999) / 86400000;
  int64_t ms_of_day = total_ms - days * 86400000;
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  if (y >= 0 && y <= 9999) {
    // The common case without snprintf: "YYYY-MM-DDThh:mm:ss.mmmZ".
    std::string out(24, '0');
    auto put = [&](size_t at, int64_t value, int digits) {
      for (int i = digits - 1; i >= 0; --i) {
        out[at + static_cast<size_t>(i)] = static_cast<char>('0' + value % 10);
        value /= 10;
      }
    };
    put(0, y, 4);
    out[4] = '-';
    put(5, m, 2);
    out[7] = '-';
    put(8, d, 2);
    out[10] = 'T';
    put(11, ms_of_day / 3600000, 2);
    out[13] = ':';
    put(14, ms_of_day / 60000 % 60, 2);
    out[16] = ':';
    put(17, ms_of_day / 1000 % 60, 2);
    out[19] = '.';
    put(20, ms_of_day % 1000, 3);
    out[23] = 'Z';
    return out;
  }
  char buffer[128];  // room for any value of the fields, so the format cannot truncate
  std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(ms_of_day / 3600000),
                static_cast<long long>(ms_of_day / 60000 % 60),
                static_cast<long long>(ms_of_day / 1000 % 60),
                static_cast<long long>(ms_of_day % 1000));
  return std::string(buffer);
}

// A JSON scalar as text: strings verbatim, numbers in shortest round-trip form.
std::string scalar_text(element value) {
  switch (value.type()) {
    case element_type::STRING:
      return std::string(std::string_view(value));
    case element_type::INT64:
      return std::to_string(int64_t(value));
    case element_type::UINT64:
      return std::to_string(uint64_t(value));
    case element_type::DOUBLE: {
      char buffer[64];
      auto result = std::to_chars(buffer, buffer + sizeof buffer, double(value));
      return std::string(buffer, result.ptr);
    }
    case element_type::BOOL:
      return bool(value) ? "true" : "false";
    default:
      return "";
  }
}

enum class Norm { kText, kIdentifier, kTime, kGs1Voc, kBizStep, kDisposition, kBtt, kSdt, kComp };

// An object's members, read once so that the many lookups by name of the
// pre-hash (about 25 per event) compare string views instead of walking the
// DOM tape each time. As simdjson's at_key, the first of a repeated key wins.
class Members {
 public:
  explicit Members(simdjson::dom::object object) : object_(object) {
    for (auto [key, value] : object) {
      if (count_ == kCapacity) {
        overflow_ = true;
        return;
      }
      entries_[count_++] = Entry{key, value};
    }
  }

  simdjson::simdjson_result<element> operator[](std::string_view name) const {
    if (overflow_) return object_[name];
    for (size_t i = 0; i < count_; ++i) {
      const std::string_view key = entries_[i].key;
      if (key.size() == name.size() && (key.empty() || (key[0] == name[0] && key == name))) {
        return element(entries_[i].value);
      }
    }
    return simdjson::NO_SUCH_FIELD;
  }

  simdjson::dom::object object() const { return object_; }

 private:
  static constexpr size_t kCapacity = 40;
  struct Entry {
    std::string_view key;
    element value;
  };
  simdjson::dom::object object_;
  std::array<Entry, kCapacity> entries_;
  size_t count_ = 0;
  bool overflow_ = false;
};

class PrehashWriter {
 public:
  PrehashWriter(const DocumentContext& context, const dom_walk::IdentifierForms* forms)
      : context_(context), forms_(forms) {}

  Result<std::string> event(element event) {
    simdjson::dom::object event_object;
    if (event.get(event_object) != simdjson::SUCCESS)
      return invalid_argument("an event is not a JSON object");
    const Members fields(event_object);
    std::string_view type;
    if (fields["type"].get(type) != simdjson::SUCCESS) {
      return invalid_argument("an event has no \"type\"");
    }
    std::string out = "eventType=" + std::string(type);
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "eventTime", Norm::kTime));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "eventTimeZoneOffset", Norm::kText));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "certificationInfo", Norm::kIdentifier));
    // errorDeclaration is left out: declaring an event erroneous republishes
    // it with the same event ID (CBV 2.0, 8.9).
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "parentID", Norm::kIdentifier));
    CUSTOS_RETURN_IF_ERROR(epc_list(out, fields, "epcList"));
    CUSTOS_RETURN_IF_ERROR(epc_list(out, fields, "inputEPCList"));
    CUSTOS_RETURN_IF_ERROR(epc_list(out, fields, "childEPCs"));
    CUSTOS_RETURN_IF_ERROR(quantity_list(out, fields, "quantityList"));
    CUSTOS_RETURN_IF_ERROR(quantity_list(out, fields, "childQuantityList"));
    CUSTOS_RETURN_IF_ERROR(quantity_list(out, fields, "inputQuantityList"));
    CUSTOS_RETURN_IF_ERROR(epc_list(out, fields, "outputEPCList"));
    CUSTOS_RETURN_IF_ERROR(quantity_list(out, fields, "outputQuantityList"));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "action", Norm::kText));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "transformationID", Norm::kIdentifier));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "bizStep", Norm::kBizStep));
    CUSTOS_RETURN_IF_ERROR(scalar(out, fields, "disposition", Norm::kDisposition));
    if (element pd; fields["persistentDisposition"].get(pd) == simdjson::SUCCESS) {
      out += "persistentDisposition";
      simdjson::dom::object p;
      if (pd.get(p) == simdjson::SUCCESS) {
        if (element set; p["set"].get(set) == simdjson::SUCCESS) {
          CUSTOS_RETURN_IF_ERROR(sorted_values(out, set, "set", Norm::kDisposition));
        }
        if (element unset; p["unset"].get(unset) == simdjson::SUCCESS) {
          CUSTOS_RETURN_IF_ERROR(sorted_values(out, unset, "unset", Norm::kDisposition));
        }
      }
    }
    CUSTOS_RETURN_IF_ERROR(location(out, fields, "readPoint"));
    CUSTOS_RETURN_IF_ERROR(location(out, fields, "bizLocation"));
    CUSTOS_RETURN_IF_ERROR(
        typed_list(out, fields, "bizTransactionList", "bizTransaction", Norm::kBtt));
    // destinationList before sourceList, as the reference test vectors have it.
    CUSTOS_RETURN_IF_ERROR(typed_list(out, fields, "destinationList", "destination", Norm::kSdt));
    CUSTOS_RETURN_IF_ERROR(typed_list(out, fields, "sourceList", "source", Norm::kSdt));
    CUSTOS_RETURN_IF_ERROR(sensor_elements(out, fields));
    if (element ilmd; fields["ilmd"].get(ilmd) == simdjson::SUCCESS) {
      simdjson::dom::object i;
      if (ilmd.get(i) == simdjson::SUCCESS) {
        out += "ilmd";
        out += extensions(i, std::span<const std::string_view>());
      }
    }
    // Every member the binding does not define, bar the JSON-LD keywords.
    out += extensions_if(event_object, [](std::string_view name) {
      return event_members::is_event_member(name) || name == "@id" || name == "@type" ||
             name == "id";
    });
    return out;
  }

 private:
  // Appends the normalised value to `out` (left partly written on error,
  // which fails the whole event).
  Status append_normalised(std::string& out, element value, Norm norm) const {
    if (norm == Norm::kText && value.is_string()) {
      out += std::string_view(value);
      return Status::ok();
    }
    if (norm == Norm::kIdentifier && forms_ != nullptr && value.is_string()) {
      if (const std::string* form = forms_->find(std::string_view(value).data())) {
        out += *form;
        return Status::ok();
      }
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string text, normalise(value, norm));
    out += text;
    return Status::ok();
  }

  Result<std::string> normalise(element value, Norm norm) const {
    std::string text = scalar_text(value);
    switch (norm) {
      case Norm::kText:
        return text;
      case Norm::kIdentifier:
        return canonical_identifier(text);
      case Norm::kTime:
        return canonical_time(text);
      case Norm::kGs1Voc:
        return gs1_voc_uri(text, context_);
      case Norm::kBizStep:
        return cbv_uri(text, CbvVocabulary::kBizStep, context_.namespaces);
      case Norm::kDisposition:
        return cbv_uri(text, CbvVocabulary::kDisposition, context_.namespaces);
      case Norm::kBtt:
        return cbv_uri(text, CbvVocabulary::kBizTransactionType, context_.namespaces);
      case Norm::kSdt:
        return cbv_uri(text, CbvVocabulary::kSourceDestType, context_.namespaces);
      case Norm::kComp:
        return cbv_uri(text, CbvVocabulary::kComponent, context_.namespaces);
    }
    return text;
  }

  Status scalar(std::string& out, const Members& object, std::string_view name, Norm norm) {
    element value;
    if (object[name].get(value) != simdjson::SUCCESS || value.is_null()) return Status::ok();
    if (value.is_array()) return sorted_values(out, value, name, norm);
    out += name;
    out += '=';
    return append_normalised(out, value, norm);
  }

  // name=value for every member of `values` (an array or a single value), sorted.
  Status sorted_values(std::string& out, element values, std::string_view name, Norm norm) {
    std::vector<std::string> parts;
    auto add = [&](element value) -> Status {
      std::string& part = parts.emplace_back(name);
      part += '=';
      return append_normalised(part, value, norm);
    };
    if (simdjson::dom::array array; values.get(array) == simdjson::SUCCESS) {
      for (element value : array) CUSTOS_RETURN_IF_ERROR(add(value));
    } else {
      CUSTOS_RETURN_IF_ERROR(add(values));
    }
    std::sort(parts.begin(), parts.end());
    for (const std::string& part : parts) out += part;
    return Status::ok();
  }

  Status epc_list(std::string& out, const Members& object, std::string_view name) {
    element list;
    if (object[name].get(list) != simdjson::SUCCESS) return Status::ok();
    out += name;
    return sorted_values(out, list, "epc", Norm::kIdentifier);
  }

  Status quantity_list(std::string& out, const Members& object, std::string_view name) {
    simdjson::dom::array list;
    if (object[name].get(list) != simdjson::SUCCESS) return Status::ok();
    std::vector<std::string> parts;
    for (element member : list) {
      simdjson::dom::object q;
      if (member.get(q) != simdjson::SUCCESS)
        return invalid_argument(std::string(name) + " member is not an object");
      static constexpr std::string_view kKnown[] = {"epcClass", "quantity", "uom"};
      const Members members(q);
      std::string part = "quantityElement";
      CUSTOS_RETURN_IF_ERROR(scalar(part, members, "epcClass", Norm::kIdentifier));
      CUSTOS_RETURN_IF_ERROR(scalar(part, members, "quantity", Norm::kText));
      CUSTOS_RETURN_IF_ERROR(scalar(part, members, "uom", Norm::kText));
      part += extensions(q, kKnown);
      parts.push_back(std::move(part));
    }
    std::sort(parts.begin(), parts.end());
    out += name;
    for (const std::string& part : parts) out += part;
    return Status::ok();
  }

  Status location(std::string& out, const Members& object, std::string_view name) {
    simdjson::dom::object place;
    if (object[name].get(place) != simdjson::SUCCESS) return Status::ok();
    out += name;
    static constexpr std::string_view kKnown[] = {"id"};
    CUSTOS_RETURN_IF_ERROR(scalar(out, Members(place), "id", Norm::kIdentifier));
    out += extensions(place, kKnown);
    return Status::ok();
  }

  Status typed_list(std::string& out, const Members& object, std::string_view name,
                    std::string_view member_name, Norm type_norm) {
    simdjson::dom::array list;
    if (object[name].get(list) != simdjson::SUCCESS) return Status::ok();
    std::vector<std::string> parts;
    for (element member : list) {
      simdjson::dom::object m;
      if (member.get(m) != simdjson::SUCCESS)
        return invalid_argument(std::string(name) + " member is not an object");
      const Members members(m);
      std::string part;
      CUSTOS_RETURN_IF_ERROR(scalar(part, members, "type", type_norm));
      CUSTOS_RETURN_IF_ERROR(scalar(part, members, member_name, Norm::kIdentifier));
      parts.push_back(std::move(part));
    }
    std::sort(parts.begin(), parts.end());
    out += name;
    for (const std::string& part : parts) out += part;
    return Status::ok();
  }

  Status sensor_elements(std::string& out, const Members& object) {
    simdjson::dom::array list;
    if (object["sensorElementList"].get(list) != simdjson::SUCCESS) return Status::ok();
    static const std::pair<std::string_view, Norm> kMetadata[] = {
        {"time", Norm::kTime},
        {"startTime", Norm::kTime},
        {"endTime", Norm::kTime},
        {"deviceID", Norm::kIdentifier},
        {"deviceMetadata", Norm::kIdentifier},
        {"rawData", Norm::kIdentifier},
        {"dataProcessingMethod", Norm::kIdentifier},
        {"bizRules", Norm::kIdentifier}};
    static const std::pair<std::string_view, Norm> kReport[] = {
        {"type", Norm::kGs1Voc},
        {"exception", Norm::kGs1Voc},
        {"deviceID", Norm::kIdentifier},
        {"deviceMetadata", Norm::kIdentifier},
        {"rawData", Norm::kIdentifier},
        {"dataProcessingMethod", Norm::kIdentifier},
        {"time", Norm::kTime},
        {"microorganism", Norm::kIdentifier},
        {"chemicalSubstance", Norm::kIdentifier},
        {"value", Norm::kText},
        {"component", Norm::kComp},
        {"stringValue", Norm::kText},
        {"booleanValue", Norm::kText},
        {"hexBinaryValue", Norm::kText},
        {"uriValue", Norm::kIdentifier},
        {"minValue", Norm::kText},
        {"maxValue", Norm::kText},
        {"meanValue", Norm::kText},
        {"sDev", Norm::kText},
        {"percRank", Norm::kText},
        {"percValue", Norm::kText},
        {"uom", Norm::kText},
        {"coordinateReferenceSystem", Norm::kText}};
    auto attributes = [&](std::string& part, simdjson::dom::object o, auto& table) -> Status {
      const Members members(o);
      for (const auto& [name, norm] : table) {
        CUSTOS_RETURN_IF_ERROR(scalar(part, members, name, norm));
      }
      part += extensions_if(o, [&](std::string_view key) {
        return std::any_of(std::begin(table), std::end(table),
                           [&](const auto& known) { return known.first == key; });
      });
      return Status::ok();
    };
    std::vector<std::string> elements;
    for (element member : list) {
      simdjson::dom::object e;
      if (member.get(e) != simdjson::SUCCESS)
        return invalid_argument("sensorElement is not an object");
      std::string part = "sensorElement";
      if (simdjson::dom::object metadata; e["sensorMetadata"].get(metadata) == simdjson::SUCCESS) {
        part += "sensorMetadata";
        CUSTOS_RETURN_IF_ERROR(attributes(part, metadata, kMetadata));
      }
      if (simdjson::dom::array reports; e["sensorReport"].get(reports) == simdjson::SUCCESS) {
        std::vector<std::string> report_parts;
        for (element report : reports) {
          simdjson::dom::object r;
          if (report.get(r) != simdjson::SUCCESS)
            return invalid_argument("sensorReport is not an object");
          std::string report_part = "sensorReport";
          CUSTOS_RETURN_IF_ERROR(attributes(report_part, r, kReport));
          report_parts.push_back(std::move(report_part));
        }
        std::sort(report_parts.begin(), report_parts.end());
        for (const std::string& r : report_parts) part += r;
      }
      static constexpr std::string_view kKnown[] = {"sensorMetadata", "sensorReport"};
      part += extensions(e, kKnown);
      elements.push_back(std::move(part));
    }
    std::sort(elements.begin(), elements.end());
    out += "sensorElementList";
    for (const std::string& e : elements) out += e;
    return Status::ok();
  }

  // "{namespace}local" for a prefixed key; inside a user extension, the bare
  // name of an unprefixed key (an XML element in no namespace: CBV 2.0 hash
  // rule 20 takes nested extension elements whatever they are); empty when the
  // key is not part of an extension (unprefixed at an extension point,
  // unknown prefix, JSON-LD keyword or ignored).
  std::string extension_name(std::string_view key, bool nested) const {
    if (context_.ignored_keys.contains(key)) return "";
    size_t colon = key.find(':');
    if (colon == std::string_view::npos) {
      return nested && !key.empty() && !key.starts_with('@') ? std::string(key) : "";
    }
    auto ns = context_.namespaces.find(key.substr(0, colon));
    if (ns == context_.namespaces.end()) return "";
    return "{" + ns->second + "}" + std::string(key.substr(colon + 1));
  }

  // One extension element and its content, as "{ns}name=value" or
  // "{ns}name<children>"; one string per member for an array.
  void extension_parts(std::string_view name, element value,
                       std::vector<std::string>& parts) const {
    if (simdjson::dom::array array; value.get(array) == simdjson::SUCCESS) {
      for (element member : array) extension_parts(name, member, parts);
      return;
    }
    if (simdjson::dom::object object; value.get(object) == simdjson::SUCCESS) {
      parts.push_back(std::string(name) + extensions(object, std::span<const std::string_view>(),
                                                     /*nested=*/true));
      return;
    }
    // CBV 2.0 hash rules 17 and 18 hold for every value, extensions included:
    // EPC URNs and Digital Links take their canonical Digital Link form.
    parts.push_back(std::string(name) + "=" + canonical_identifier(scalar_text(value)));
  }

  // The user extensions among `object`'s members (those not `known`), sorted;
  // `nested`: `object` is itself a user extension element.
  std::string extensions(simdjson::dom::object object, std::span<const std::string_view> known,
                         bool nested = false) const {
    return extensions_if(
        object,
        [&](std::string_view key) {
          return std::find(known.begin(), known.end(), key) != known.end();
        },
        nested);
  }

  // The same with `is_known(key)` saying which members are not extensions.
  template <typename IsKnown>
  std::string extensions_if(simdjson::dom::object object, IsKnown&& is_known,
                            bool nested = false) const {
    std::vector<std::string> parts;
    for (auto [key, value] : object) {
      if (is_known(key)) continue;
      std::string name = extension_name(key, nested);
      if (name.empty()) continue;
      extension_parts(name, value, parts);
    }
    std::sort(parts.begin(), parts.end());
    std::string out;
    for (const std::string& part : parts) out += part;
    return out;
  }

  const DocumentContext& context_;
  const dom_walk::IdentifierForms* forms_;
};

void read_context(element document, DocumentContext& context) {
  element contexts;
  if (document["@context"].get(contexts) != simdjson::SUCCESS) return;
  auto add = [&](element entry) {
    simdjson::dom::object object;
    if (entry.get(object) != simdjson::SUCCESS) return;
    for (auto [prefix, uri] : object) {
      std::string_view text;
      if (uri.get(text) == simdjson::SUCCESS)
        context.namespaces[std::string(prefix)] = std::string(text);
    }
  };
  if (simdjson::dom::array array; contexts.get(array) == simdjson::SUCCESS) {
    for (element entry : array) add(entry);
  } else {
    add(contexts);
  }
}

// "<prefix>:ignoreFields" on the document, its body or its queryResults lists
// keys to leave out.
void read_ignore_fields(element holder, DocumentContext& context) {
  simdjson::dom::object object;
  if (holder.get(object) != simdjson::SUCCESS) return;
  for (auto [key, value] : object) {
    if (!key.ends_with(":ignoreFields")) continue;
    simdjson::dom::array array;
    if (value.get(array) != simdjson::SUCCESS) continue;
    for (element entry : array) {
      std::string_view text;
      if (entry.get(text) == simdjson::SUCCESS) context.ignored_keys.insert(std::string(text));
    }
  }
}

}  // namespace

std::string event_hash_from_prehash(std::string_view prehash) {
  return "ni:///sha-256;" + sha256(prehash).hex() + "?ver=CBV2.0";
}

namespace dom_walk {

Result<std::vector<std::string>> document_event_prehashes(element document,
                                                          const IdentifierForms* forms) {
  DocumentContext context;
  read_context(document, context);
  read_ignore_fields(document, context);
  element body;
  if (document["epcisBody"].get(body) != simdjson::SUCCESS) {
    return invalid_argument("EPCIS document has no epcisBody");
  }
  read_ignore_fields(body, context);
  if (element results; body["queryResults"].get(results) == simdjson::SUCCESS) {
    read_ignore_fields(results, context);
  }
  simdjson::dom::array events;
  if (body["eventList"].get(events) != simdjson::SUCCESS &&
      body.at_pointer("/queryResults/resultsBody/eventList").get(events) != simdjson::SUCCESS) {
    return invalid_argument("EPCIS document has no eventList");
  }
  PrehashWriter writer(context, forms);
  std::vector<std::string> prehashes;
  prehashes.reserve(events.size());
  size_t index = 0;
  for (element event : events) {
    Result<std::string> prehash = writer.event(event);
    if (!prehash.is_ok()) {
      return prehash.status().with_context("event " + std::to_string(index));
    }
    prehashes.push_back(std::move(prehash).value());
    ++index;
  }
  return prehashes;
}

Result<std::string> event_prehash(element event, const IdentifierForms* forms) {
  DocumentContext context;
  read_context(event, context);
  return PrehashWriter(context, forms).event(event);
}

}  // namespace dom_walk

Result<std::vector<std::string>> document_event_prehashes(std::string_view epcis_document_json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(epcis_document_json);
  element document;
  if (auto error = parser.parse(padded).get(document); error != simdjson::SUCCESS) {
    return invalid_argument(std::string("invalid EPCIS document JSON: ") +
                            simdjson::error_message(error));
  }
  return dom_walk::document_event_prehashes(document);
}

Result<std::vector<std::string>> document_event_hashes(std::string_view epcis_document_json) {
  CUSTOS_ASSIGN_OR_RETURN(std::vector<std::string> prehashes,
                          document_event_prehashes(epcis_document_json));
  std::vector<std::string> hashes;
  hashes.reserve(prehashes.size());
  for (const std::string& prehash : prehashes) hashes.push_back(event_hash_from_prehash(prehash));
  return hashes;
}

Result<std::string> event_prehash(std::string_view event_json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(event_json);
  element event;
  if (auto error = parser.parse(padded).get(event); error != simdjson::SUCCESS) {
    return invalid_argument(std::string("invalid event JSON: ") + simdjson::error_message(error));
  }
  return dom_walk::event_prehash(event);
}

Result<std::string> event_hash(std::string_view event_json) {
  CUSTOS_ASSIGN_OR_RETURN(std::string prehash, event_prehash(event_json));
  return event_hash_from_prehash(prehash);
}

}  // namespace custos::epcis
