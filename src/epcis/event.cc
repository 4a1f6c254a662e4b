#include "custos/epcis/event.h"

#include <algorithm>
#include <array>

namespace custos::epcis {
namespace {

constexpr std::array<std::string_view, 5> kEventTypeNames = {
    "ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
    "AssociationEvent"};

constexpr std::array<std::string_view, 3> kActionNames = {"ADD", "OBSERVE", "DELETE"};

bool read_digits(std::string_view text, size_t pos, size_t count, int64_t& out) {
  if (pos + count > text.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

bool is_leap_year(int64_t year) { return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0); }

int64_t days_in_month(int64_t year, int64_t month) {
  static constexpr int64_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

// Days from 1970-01-01 to the given proleptic Gregorian date.
int64_t days_from_civil(int64_t year, int64_t month, int64_t day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const int64_t year_of_era = year - era * 400;
  const int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// The proleptic Gregorian date `days` after 1970-01-01.
void civil_from_days(int64_t days, int64_t& year, int64_t& month, int64_t& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t month_index = (5 * day_of_year + 2) / 153;
  day = day_of_year - (153 * month_index + 2) / 5 + 1;
  month = month_index < 10 ? month_index + 3 : month_index - 9;
  year = year_of_era + era * 400 + (month <= 2);
}

void append_digits(std::string& out, int64_t value, int width) {
  char digits[24];
  for (int i = width - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(digits, static_cast<size_t>(width));
}

Status bad_time(std::string_view text, std::string_view why) {
  std::string message = "not an xsd:dateTime with a time zone (";
  message += why;
  message += "): \"";
  // Quote at most a bounded prefix of hostile text.
  message += text.substr(0, 64);
  message += '"';
  return invalid_argument(std::move(message));
}

}  // namespace

std::string_view event_type_name(EventType type) {
  return kEventTypeNames[static_cast<size_t>(type)];
}

std::optional<EventType> event_type_from_name(std::string_view name) {
  for (size_t i = 0; i < kEventTypeNames.size(); ++i) {
    if (kEventTypeNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

std::string_view action_name(Action action) { return kActionNames[static_cast<size_t>(action)]; }

std::optional<Action> action_from_name(std::string_view name) {
  for (size_t i = 0; i < kActionNames.size(); ++i) {
    if (kActionNames[i] == name) return static_cast<Action>(i);
  }
  return std::nullopt;
}

std::string_view document_type_name(DocumentType type) {
  return type == DocumentType::kEpcisDocument ? "EPCISDocument" : "EPCISQueryDocument";
}

std::string_view Extension::local_name() const {
  std::string_view name = key;
  size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

Timestamp timestamp_from_utc_micros(int64_t utc_micros) {
  // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z.
  constexpr int64_t kFirst = -62167219200000000;
  constexpr int64_t kLast = 253402300799999999;
  utc_micros = std::clamp(utc_micros, kFirst, kLast);
  constexpr int64_t kMicrosPerDay = 86'400'000'000;
  int64_t days = utc_micros / kMicrosPerDay;
  int64_t of_day = utc_micros % kMicrosPerDay;
  if (of_day < 0) {
    of_day += kMicrosPerDay;
    --days;
  }
  int64_t year, month, day;
  civil_from_days(days, year, month, day);
  std::string text;
  text.reserve(27);
  append_digits(text, year, 4);
  text += '-';
  append_digits(text, month, 2);
  text += '-';
  append_digits(text, day, 2);
  text += 'T';
  append_digits(text, of_day / 3'600'000'000, 2);
  text += ':';
  append_digits(text, of_day / 60'000'000 % 60, 2);
  text += ':';
  append_digits(text, of_day / 1'000'000 % 60, 2);
  text += '.';
  int64_t fraction = of_day % 1'000'000;
  if (fraction % 1000 == 0) {
    append_digits(text, fraction / 1000, 3);
  } else {
    append_digits(text, fraction, 6);
  }
  text += 'Z';
  return Timestamp{std::move(text), utc_micros};
}

Result<Timestamp> parse_timestamp(std::string_view text) {
  int64_t year, month, day, hour, minute, second;
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || !read_digits(text, 0, 4, year) || !read_digits(text, 5, 2, month) ||
      !read_digits(text, 8, 2, day) || !read_digits(text, 11, 2, hour) ||
      !read_digits(text, 14, 2, minute) || !read_digits(text, 17, 2, second)) {
    return bad_time(text, "expected YYYY-MM-DDThh:mm:ss");
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
    return bad_time(text, "no such date");
  }
  if (hour > 23 || minute > 59 || second > 59) return bad_time(text, "no such time of day");
  size_t pos = 19;
  int64_t micros = 0;
  if (text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 6) micros = micros * 10 + (text[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return bad_time(text, "empty fraction of a second");
    for (size_t i = digits; i < 6; ++i) micros *= 10;
  }
  std::string_view zone = text.substr(pos);
  int64_t offset_minutes = 0;
  if (zone == "Z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int64_t zone_hours, zone_minutes;
    if (!read_digits(zone, 1, 2, zone_hours) || !read_digits(zone, 4, 2, zone_minutes) ||
        zone_minutes > 59 || zone_hours * 60 + zone_minutes > 14 * 60) {
      return bad_time(text, "bad time zone");
    }
    offset_minutes = (zone_hours * 60 + zone_minutes) * (zone[0] == '-' ? -1 : 1);
  } else {
    return bad_time(text, "missing or bad time zone");
  }
  const int64_t seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 +
                          second - offset_minutes * 60;
  return Timestamp{std::string(text), seconds * 1'000'000 + micros};
}

std::string_view identifier_role_name(IdentifierRole role) {
  static constexpr std::array<std::string_view, 13> kNames = {
      "epc",         "epcClass",      "parentID",   "childEPC",       "childEPCClass",
      "inputEPC",    "inputEPCClass", "outputEPC",  "outputEPCClass", "readPoint",
      "bizLocation", "source",        "destination"};
  return kNames[static_cast<size_t>(role)];
}

namespace {

bool shared_by_events(IdentifierRole role) {
  switch (role) {
    case IdentifierRole::kEpc:
    case IdentifierRole::kParent:
    case IdentifierRole::kChildEpc:
    case IdentifierRole::kInputEpc:
    case IdentifierRole::kOutputEpc:
      return false;
    default:
      return true;
  }
}

class IdentifierCollector {
 public:
  explicit IdentifierCollector(IdentifierCache* cache) : cache_(cache) {}

  Status add(IdentifierRole role, const std::string& uri, std::string pointer) {
    Result<Identifier> id = cache_ != nullptr && shared_by_events(role) ? cache_->parse(uri)
                                                                        : parse_identifier(uri);
    if (!id.is_ok()) {
      return invalid_argument(pointer + ": " + id.status().message());
    }
    out_.push_back(RoleIdentifier{role, std::move(id).value(), std::move(pointer)});
    return Status::ok();
  }

  Status add_list(IdentifierRole role, const std::optional<std::vector<std::string>>& list,
                  std::string_view name) {
    if (!list) return Status::ok();
    for (size_t i = 0; i < list->size(); ++i) {
      CUSTOS_RETURN_IF_ERROR(add(role, (*list)[i], pointer(name, i)));
    }
    return Status::ok();
  }

  Status add_quantities(IdentifierRole role,
                        const std::optional<std::vector<QuantityElement>>& list,
                        std::string_view name) {
    if (!list) return Status::ok();
    for (size_t i = 0; i < list->size(); ++i) {
      CUSTOS_RETURN_IF_ERROR(add(role, (*list)[i].epc_class, pointer(name, i) + "/epcClass"));
    }
    return Status::ok();
  }

  Status add_parties(IdentifierRole role, const std::optional<std::vector<SourceDestination>>& list,
                     std::string_view name, std::string_view member) {
    if (!list) return Status::ok();
    for (size_t i = 0; i < list->size(); ++i) {
      std::string at = pointer(name, i);
      at += '/';
      at += member;
      CUSTOS_RETURN_IF_ERROR(add(role, (*list)[i].value, std::move(at)));
    }
    return Status::ok();
  }

  std::vector<RoleIdentifier> take() { return std::move(out_); }

 private:
  static std::string pointer(std::string_view name, size_t index) {
    std::string at = "/";
    at += name;
    at += '/';
    at += std::to_string(index);
    return at;
  }

  IdentifierCache* cache_;
  std::vector<RoleIdentifier> out_;
};

}  // namespace

Result<Identifier> IdentifierCache::parse(const std::string& text) {
  if (auto found = parsed_.find(text); found != parsed_.end()) return found->second;
  CUSTOS_ASSIGN_OR_RETURN(Identifier id, parse_identifier(text));
  if (parsed_.size() < kMaxEntries) parsed_.emplace(text, id);
  return id;
}

Result<std::vector<RoleIdentifier>> canonical_identifiers(const Event& event,
                                                          IdentifierCache* cache) {
  IdentifierCollector ids(cache);
  CUSTOS_RETURN_IF_ERROR(ids.add_list(IdentifierRole::kEpc, event.epc_list, "epcList"));
  CUSTOS_RETURN_IF_ERROR(
      ids.add_quantities(IdentifierRole::kEpcClass, event.quantity_list, "quantityList"));
  if (event.parent_id) {
    CUSTOS_RETURN_IF_ERROR(ids.add(IdentifierRole::kParent, *event.parent_id, "/parentID"));
  }
  CUSTOS_RETURN_IF_ERROR(ids.add_list(IdentifierRole::kChildEpc, event.child_epcs, "childEPCs"));
  CUSTOS_RETURN_IF_ERROR(ids.add_quantities(IdentifierRole::kChildEpcClass,
                                            event.child_quantity_list, "childQuantityList"));
  CUSTOS_RETURN_IF_ERROR(
      ids.add_list(IdentifierRole::kInputEpc, event.input_epc_list, "inputEPCList"));
  CUSTOS_RETURN_IF_ERROR(ids.add_quantities(IdentifierRole::kInputEpcClass,
                                            event.input_quantity_list, "inputQuantityList"));
  CUSTOS_RETURN_IF_ERROR(
      ids.add_list(IdentifierRole::kOutputEpc, event.output_epc_list, "outputEPCList"));
  CUSTOS_RETURN_IF_ERROR(ids.add_quantities(IdentifierRole::kOutputEpcClass,
                                            event.output_quantity_list, "outputQuantityList"));
  if (event.read_point) {
    CUSTOS_RETURN_IF_ERROR(
        ids.add(IdentifierRole::kReadPoint, event.read_point->id, "/readPoint/id"));
  }
  if (event.biz_location) {
    CUSTOS_RETURN_IF_ERROR(
        ids.add(IdentifierRole::kBizLocation, event.biz_location->id, "/bizLocation/id"));
  }
  CUSTOS_RETURN_IF_ERROR(
      ids.add_parties(IdentifierRole::kSource, event.source_list, "sourceList", "source"));
  CUSTOS_RETURN_IF_ERROR(ids.add_parties(IdentifierRole::kDestination, event.destination_list,
                                         "destinationList", "destination"));
  return ids.take();
}

}  // namespace custos::epcis
