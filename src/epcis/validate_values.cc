#include "validate_values.h"

#include <array>
#include <cstdint>

namespace custos::epcis::validation {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }

// The value of `count` digits at `text[at]`, or -1.
int digits_at(std::string_view text, size_t at, size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    if (!is_digit(text[at + i])) return -1;
    value = value * 10 + (text[at + i] - '0');
  }
  return value;
}

int days_in_month(int year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[static_cast<size_t>(month - 1)];
}

bool starts_with_ci(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

constexpr std::string_view kDateTimeExample = " (e.g. 2024-05-01T10:00:00.000+02:00 or ...Z)";

}  // namespace

std::string date_time_problem(std::string_view text) {
  std::string problem = "'";
  problem += text;
  problem += "' is not an RFC 3339 date-time";
  // YYYY-MM-DDThh:mm:ss
  int year = digits_at(text, 0, 4);
  int month = digits_at(text, 5, 2);
  int day = digits_at(text, 8, 2);
  int hour = digits_at(text, 11, 2);
  int minute = digits_at(text, 14, 2);
  int second = digits_at(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || text[4] != '-' ||
      text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
      text[16] != ':') {
    problem += kDateTimeExample;
    return problem;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
    problem += ": no such date";
    return problem;
  }
  // A leap second (:60) is allowed, as RFC 3339 allows it.
  if (hour > 23 || minute > 59 || second > 60) {
    problem += ": no such time of day";
    return problem;
  }
  size_t at = 19;
  if (at < text.size() && text[at] == '.') {
    ++at;
    size_t first = at;
    while (at < text.size() && is_digit(text[at])) ++at;
    if (at == first) {
      problem += ": a '.' needs fraction digits after it";
      return problem;
    }
  }
  if (at == text.size()) {
    problem += ": it has no time zone; add Z or an offset such as +02:00";
    return problem;
  }
  if (text[at] == 'Z' || text[at] == 'z') {
    if (at + 1 == text.size()) return {};
  } else if (text[at] == '+' || text[at] == '-') {
    int zone_hour = digits_at(text, at + 1, 2);
    int zone_minute = digits_at(text, at + 4, 2);
    if (zone_hour >= 0 && zone_minute >= 0 && text[at + 3] == ':' && at + 6 == text.size()) {
      if (zone_hour > 23 || zone_minute > 59) {
        problem += ": no such time zone offset";
        return problem;
      }
      return {};
    }
  }
  problem += ": the time zone must be Z or +hh:mm / -hh:mm";
  return problem;
}

std::string time_zone_offset_problem(std::string_view text) {
  bool shaped = text.size() == 6 && (text[0] == '+' || text[0] == '-') && text[3] == ':';
  int hours = shaped ? digits_at(text, 1, 2) : -1;
  int minutes = shaped ? digits_at(text, 4, 2) : -1;
  if (hours < 0 || minutes < 0) {
    std::string problem = "'";
    problem += text;
    problem += "' is not a time zone offset: write +hh:mm or -hh:mm (e.g. -06:00)";
    return problem;
  }
  if (minutes > 59 || hours > 14 || (hours == 14 && minutes != 0)) {
    std::string problem = "'";
    problem += text;
    problem += "' is outside -14:00..+14:00";
    return problem;
  }
  return {};
}

// Letters, digits and "-._~:/?@!$&'()*+,;=": what a URI may hold unescaped
// besides '%', '#', '[' and ']' (checked apart). A table: this runs for every
// character of every URI of every event.
constexpr std::array<bool, 256> kUriCharacters = [] {
  std::array<bool, 256> table{};
  for (int c = 'a'; c <= 'z'; ++c) table[static_cast<size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[static_cast<size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<size_t>(c)] = true;
  for (char c : std::string_view("-._~:/?@!$&'()*+,;=")) {
    table[static_cast<unsigned char>(c)] = true;
  }
  return table;
}();

std::string absolute_uri_problem(std::string_view text) {
  auto quoted = [&](std::string_view why) {
    std::string problem = "'";
    problem += text;
    problem += "' is not an absolute URI: ";
    problem += why;
    return problem;
  };
  if (text.empty()) return "an empty string is not a URI";
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text[0])) {
    return quoted("it needs a scheme such as urn:, https: or a declared prefix (example:name)");
  }
  for (size_t i = 1; i < colon; ++i) {
    char c = text[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      return quoted("the scheme may only hold letters, digits, '+', '-' and '.'");
    }
  }
  bool in_fragment = false;
  size_t authority_end = std::string_view::npos;
  size_t authority_begin = std::string_view::npos;
  if (text.substr(colon + 1, 2) == "//") {
    authority_begin = colon + 3;
    authority_end = text.find_first_of("/?#", authority_begin);
    if (authority_end == std::string_view::npos) authority_end = text.size();
  }
  for (size_t i = colon + 1; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '%') {
      if (i + 2 >= text.size() || !is_hex(text[i + 1]) || !is_hex(text[i + 2])) {
        return quoted("'%' must start an escape of two hex digits");
      }
      i += 2;
      continue;
    }
    if (c == '#') {
      if (in_fragment) return quoted("a second '#'");
      in_fragment = true;
      continue;
    }
    if (c == '[' || c == ']') {
      if (authority_begin == std::string_view::npos || i < authority_begin || i >= authority_end) {
        return quoted("'[' and ']' are only allowed around an IPv6 host");
      }
      continue;
    }
    bool allowed = kUriCharacters[c];
    if (!allowed) {
      if (c == ' ') return quoted("it contains a space (write %20)");
      if (c < 0x20 || c == 0x7f) return quoted("it contains a control character");
      if (c >= 0x80) return quoted("it contains a non-ASCII character (percent-encode it)");
      std::string why = "it contains '";
      why += static_cast<char>(c);
      why += "' (percent-encode it)";
      return quoted(why);
    }
  }
  if (authority_begin != std::string_view::npos) {
    std::string_view authority = text.substr(authority_begin, authority_end - authority_begin);
    size_t at_sign = authority.rfind('@');
    std::string_view host_port =
        at_sign == std::string_view::npos ? authority : authority.substr(at_sign + 1);
    size_t bracket = host_port.rfind(']');
    size_t port_colon = host_port.rfind(':');
    if (port_colon != std::string_view::npos &&
        (bracket == std::string_view::npos || port_colon > bracket)) {
      for (char c : host_port.substr(port_colon + 1)) {
        if (!is_digit(c)) return quoted("the port must be digits");
      }
    }
  }
  return {};
}

namespace {

constexpr std::string_view kBizSteps[] = {"accepting",
                                          "arriving",
                                          "assembling",
                                          "collecting",
                                          "commissioning",
                                          "consigning",
                                          "creating_class_instance",
                                          "cycle_counting",
                                          "decommissioning",
                                          "departing",
                                          "destroying",
                                          "disassembling",
                                          "dispensing",
                                          "encoding",
                                          "entering_exiting",
                                          "holding",
                                          "inspecting",
                                          "installing",
                                          "killing",
                                          "loading",
                                          "other",
                                          "packing",
                                          "picking",
                                          "receiving",
                                          "removing",
                                          "repackaging",
                                          "repairing",
                                          "replacing",
                                          "reserving",
                                          "retail_selling",
                                          "shipping",
                                          "staging_outbound",
                                          "stock_taking",
                                          "stocking",
                                          "storing",
                                          "transporting",
                                          "unloading",
                                          "unpacking",
                                          "void_shipping",
                                          "sensor_reporting",
                                          "sampling"};

constexpr std::string_view kDispositions[] = {"active",
                                              "container_closed",
                                              "damaged",
                                              "destroyed",
                                              "dispensed",
                                              "disposed",
                                              "encoded",
                                              "expired",
                                              "in_progress",
                                              "in_transit",
                                              "inactive",
                                              "no_pedigree_match",
                                              "non_sellable_other",
                                              "partially_dispensed",
                                              "recalled",
                                              "reserved",
                                              "retail_sold",
                                              "returned",
                                              "sellable_accessible",
                                              "sellable_not_accessible",
                                              "stolen",
                                              "unknown",
                                              "available",
                                              "completeness_verified",
                                              "completeness_inferred",
                                              "conformant",
                                              "container_open",
                                              "mismatch_instance",
                                              "mismatch_class",
                                              "mismatch_quantity",
                                              "needs_replacement",
                                              "non_conformant",
                                              "unavailable"};

constexpr std::string_view kBizTransactionTypes[] = {
    "bol",       "cert",   "desadv", "inv",     "pedigree", "po",   "poc",
    "prodorder", "recadv", "rma",    "testprd", "testres",  "upevt"};

constexpr std::string_view kSourceDestTypes[] = {"owning_party", "possessing_party", "location"};

constexpr std::string_view kErrorReasons[] = {"did_not_occur", "incorrect_data"};

constexpr std::string_view kComponents[] = {"x",
                                            "y",
                                            "z",
                                            "axial_distance",
                                            "azimuth",
                                            "height",
                                            "spherical_radius",
                                            "polar_angle",
                                            "elevation_angle",
                                            "easting",
                                            "northing",
                                            "latitude",
                                            "longitude",
                                            "altitude"};

constexpr std::string_view kMeasurementTypes[] = {"AbsoluteHumidity",
                                                  "AbsorbedDose",
                                                  "AbsorbedDoseRate",
                                                  "Acceleration",
                                                  "Radioactivity",
                                                  "Altitude",
                                                  "AmountOfSubstance",
                                                  "AmountOfSubstancePerUnitVolume",
                                                  "Angle",
                                                  "AngularAcceleration",
                                                  "AngularMomentum",
                                                  "AngularVelocity",
                                                  "Area",
                                                  "Capacitance",
                                                  "Conductance",
                                                  "Conductivity",
                                                  "Count",
                                                  "Density",
                                                  "Dimensionless",
                                                  "DoseEquivalent",
                                                  "DoseEquivalentRate",
                                                  "DynamicViscosity",
                                                  "ElectricCharge",
                                                  "ElectricCurrent",
                                                  "ElectricCurrentDensity",
                                                  "ElectricFieldStrength",
                                                  "Energy",
                                                  "Exposure",
                                                  "Force",
                                                  "Frequency",
                                                  "Illuminance",
                                                  "Inductance",
                                                  "Irradiance",
                                                  "KinematicViscosity",
                                                  "Length",
                                                  "LinearMomentum",
                                                  "Luminance",
                                                  "LuminousFlux",
                                                  "LuminousIntensity",
                                                  "MagneticFlux",
                                                  "MagneticFluxDensity",
                                                  "MagneticVectorPotential",
                                                  "Mass",
                                                  "MassConcentration",
                                                  "MassFlowRate",
                                                  "MassPerAreaTime",
                                                  "MemoryCapacity",
                                                  "MolalityOfSolute",
                                                  "MolarEnergy",
                                                  "MolarMass",
                                                  "MolarVolume",
                                                  "Power",
                                                  "Pressure",
                                                  "RadiantFlux",
                                                  "RadiantIntensity",
                                                  "RelativeHumidity",
                                                  "Resistance",
                                                  "Resistivity",
                                                  "SolidAngle",
                                                  "SpecificVolume",
                                                  "Speed",
                                                  "SurfaceDensity",
                                                  "SurfaceTension",
                                                  "Temperature",
                                                  "Time",
                                                  "Torque",
                                                  "Voltage",
                                                  "Volume",
                                                  "VolumeFlowRate",
                                                  "VolumeFraction",
                                                  "VolumetricFlux"};

constexpr std::string_view kSensorAlertTypes[] = {"ALARM_CONDITION", "ERROR_CONDITION"};

}  // namespace

const Vocabulary& biz_step_vocabulary() {
  static const Vocabulary vocabulary{"business step", kBizSteps, ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& disposition_vocabulary() {
  static const Vocabulary vocabulary{"disposition", kDispositions, ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& biz_transaction_type_vocabulary() {
  static const Vocabulary vocabulary{"business transaction type", kBizTransactionTypes,
                                     ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& source_dest_type_vocabulary() {
  static const Vocabulary vocabulary{"source/destination type", kSourceDestTypes,
                                     ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& error_reason_vocabulary() {
  static const Vocabulary vocabulary{"error reason", kErrorReasons, ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& component_vocabulary() {
  static const Vocabulary vocabulary{"sensor component", kComponents, ReservedUris::kCbv};
  return vocabulary;
}
const Vocabulary& measurement_type_vocabulary() {
  static const Vocabulary vocabulary{"measurement type", kMeasurementTypes,
                                     ReservedUris::kGs1WebVoc};
  return vocabulary;
}
const Vocabulary& sensor_alert_type_vocabulary() {
  static const Vocabulary vocabulary{"sensor alert type", kSensorAlertTypes,
                                     ReservedUris::kGs1WebVoc};
  return vocabulary;
}

std::string vocabulary_problem(const Vocabulary& vocabulary, std::string_view text) {
  for (std::string_view name : vocabulary.short_names) {
    if (name == text) return {};
  }
  std::string problem = "'";
  problem += text;
  problem += "'";
  if (!absolute_uri_problem(text).empty()) {
    problem += " is not a CBV ";
    problem += vocabulary.what;
    problem += " (a short name such as '";
    problem += vocabulary.short_names.front();
    problem += "') nor an absolute URI";
    return problem;
  }
  bool reserved = false;
  if (vocabulary.reserved == ReservedUris::kCbv) {
    reserved = starts_with_ci(text, "urn:epcglobal:cbv") ||
               starts_with_ci(text, "http://ns.gs1.org/cbv/") ||
               starts_with_ci(text, "https://ns.gs1.org/cbv/");
  } else {
    reserved = starts_with_ci(text, "http://gs1.org/voc/") ||
               starts_with_ci(text, "https://gs1.org/voc/") ||
               starts_with_ci(text, "http://www.gs1.org/voc/") ||
               starts_with_ci(text, "https://www.gs1.org/voc/");
  }
  if (!reserved) return {};
  problem += " is a GS1 vocabulary URI: EPCIS JSON writes the ";
  problem += vocabulary.what;
  problem += " by its short name";
  // urn:epcglobal:cbv:bizstep:shipping, https://ns.gs1.org/cbv/BizStep-shipping,
  // https://gs1.org/voc/Temperature: the short name ends the URI.
  std::string_view last = text.substr(text.find_last_of(":/") + 1);
  std::string_view suggestion;
  for (std::string_view candidate : {last, last.substr(last.find('-') + 1)}) {
    for (std::string_view name : vocabulary.short_names) {
      if (name == candidate) suggestion = name;
    }
  }
  if (!suggestion.empty()) {
    problem += " ('";
    problem += suggestion;
    problem += "')";
  }
  return problem;
}

}  // namespace custos::epcis::validation
