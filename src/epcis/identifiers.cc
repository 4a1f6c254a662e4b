#include "custos/epcis/identifiers.h"

#include <array>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace custos::epcis {
namespace {

constexpr std::string_view kCanonicalBase = "https://id.gs1.org";

// The decoded content of an EPC or Digital Link, before it is spelled in one
// form or the other. `key` holds the GS1 key with its check digit (GTIN-14,
// SSCC-18, GLN-13, "0" + GRAI-13, GSRN-18, GDTI-13, GSIN-17, GTIN-14 + piece +
// total for an ITIP) or the GIAI, GINC or CPID text; `qualifier` the serial,
// lot, TPX or GLN extension (decoded, may be empty).
struct Gs1Key {
  IdentifierKind kind = IdentifierKind::kOpaque;
  std::string key;
  std::string qualifier;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

bool is_digits(std::string_view text) {
  for (char c : text) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// GS1 General Specifications figure 7.11-1: the AI encodable character set 82.
bool is_cset82(char c) {
  if (is_digit(c) || is_alpha(c)) return true;
  constexpr std::string_view kSymbols = "!\"%&'()*+,-./:;<=>?_";
  return kSymbols.find(c) != std::string_view::npos;
}

// GS1 General Specifications figure 7.11-2: character set 39 (CPID values).
bool is_cset39(char c) {
  return is_digit(c) || (c >= 'A' && c <= 'Z') || c == '#' || c == '-' || c == '/';
}

bool is_unreserved(char c) {
  return is_digit(c) || is_alpha(c) || c == '-' || c == '.' || c == '_';
}

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string quoted(std::string_view text) {
  std::string out = "'";
  out.append(text);
  out += '\'';
  return out;
}

// Decodes %XX escapes. `raw_forbidden` lists characters that must not appear
// unescaped (the TDS URN escaping rule).
Result<std::string> percent_decode(std::string_view value, std::string_view what,
                                   std::string_view raw_forbidden) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '%') {
      if (i + 2 >= value.size() || hex_value(value[i + 1]) < 0 || hex_value(value[i + 2]) < 0) {
        return invalid_argument(std::string(what) + " " + quoted(value) +
                                " has a malformed percent escape at offset " + std::to_string(i));
      }
      out += static_cast<char>(hex_value(value[i + 1]) * 16 + hex_value(value[i + 2]));
      i += 2;
      continue;
    }
    if (raw_forbidden.find(c) != std::string_view::npos) {
      return invalid_argument(std::string(what) + " " + quoted(value) + " has an unescaped '" +
                              std::string(1, c) + "' (must be percent-encoded)");
    }
    out += c;
  }
  return out;
}

// A GS1 alphanumeric value: 1..max_length characters of set 82.
Status check_cset82(std::string_view value, std::string_view what, size_t max_length,
                    bool allow_empty = false) {
  if (value.empty() && !allow_empty) return invalid_argument(std::string(what) + " is empty");
  if (value.size() > max_length) {
    return invalid_argument(std::string(what) + " " + quoted(value) + " is " +
                            std::to_string(value.size()) + " characters, at most " +
                            std::to_string(max_length) + " allowed");
  }
  for (size_t i = 0; i < value.size(); ++i) {
    if (!is_cset82(value[i])) {
      return invalid_argument(std::string(what) + " " + quoted(value) + " has character 0x" +
                              "0123456789ABCDEF"[(static_cast<unsigned char>(value[i]) >> 4)] +
                              "0123456789ABCDEF"[static_cast<unsigned char>(value[i]) & 15] +
                              " at offset " + std::to_string(i) +
                              ", outside the GS1 AI encodable character set 82");
    }
  }
  return Status::ok();
}

// Escaping of set-82 values for the Digital Link canonical form: everything
// but RFC 3986 unreserved characters (without '~', not in set 82) as %XX, and
// for the event hash vectors "'" left bare.
void append_dl_encoded(std::string& out, std::string_view value, DigitalLinkEscaping escaping) {
  for (char c : value) {
    if (is_unreserved(c) || (c == '\'' && escaping == DigitalLinkEscaping::kEventHash)) {
      out += c;
    } else {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += "0123456789ABCDEF"[byte >> 4];
      out += "0123456789ABCDEF"[byte & 15];
    }
  }
}

// TDS 2.x, table A-1: set-82 characters that must be escaped in an EPC URN,
// and '#' (set 39, in a CPI).
constexpr std::string_view kUrnEscaped = "\"#%&/<>?";

std::string urn_encode(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (kUrnEscaped.find(c) != std::string_view::npos) {
      auto byte = static_cast<unsigned char>(c);
      out += '%';
      out += "0123456789ABCDEF"[byte >> 4];
      out += "0123456789ABCDEF"[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> urn_decode_cset82(std::string_view value, std::string_view what,
                                      size_t max_length) {
  // '%' is handled by percent_decode itself; the others must be escaped.
  CUSTOS_ASSIGN_OR_RETURN(std::string decoded, percent_decode(value, what, "\"&/<>?"));
  CUSTOS_RETURN_IF_ERROR(check_cset82(decoded, what, max_length));
  return decoded;
}

Status check_check_digit(std::string_view key, std::string_view what) {
  char expected = gs1_check_digit(key.substr(0, key.size() - 1));
  if (key.back() != expected) {
    return invalid_argument(std::string(what) + " " + quoted(key) + " has check digit " +
                            std::string(1, key.back()) + ", expected " + std::string(1, expected));
  }
  return Status::ok();
}

Status check_fixed_digits(std::string_view value, std::string_view what, size_t length) {
  if (value.size() != length || !is_digits(value)) {
    return invalid_argument(std::string(what) + " " + quoted(value) + " must be " +
                            std::to_string(length) + " digits");
  }
  return check_check_digit(value, what);
}

std::string canonical_form(const Gs1Key& parsed, DigitalLinkEscaping escaping) {
  // One buffer, appended to: this runs for every identifier of every event.
  std::string out;
  out.reserve(kCanonicalBase.size() + 16 + parsed.key.size() + 3 * parsed.qualifier.size());
  out += kCanonicalBase;
  auto ai = [&](std::string_view number, std::string_view value) {
    out += '/';
    out += number;
    out += '/';
    out += value;
  };
  auto encoded = [&](std::string_view value) { append_dl_encoded(out, value, escaping); };
  switch (parsed.kind) {
    case IdentifierKind::kSgtin:
      ai("01", parsed.key);
      ai("21", "");
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kLgtin:
      ai("01", parsed.key);
      ai("10", "");
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kGtin:
      ai("01", parsed.key);
      return out;
    case IdentifierKind::kSscc:
      ai("00", parsed.key);
      return out;
    case IdentifierKind::kSgln:
      ai("414", parsed.key);
      if (!parsed.qualifier.empty() && parsed.qualifier != "0") {
        ai("254", "");
        encoded(parsed.qualifier);
      }
      return out;
    case IdentifierKind::kPgln:
      ai("417", parsed.key);
      return out;
    case IdentifierKind::kGrai:
      ai("8003", parsed.key);
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kGiai:
      ai("8004", "");
      encoded(parsed.key);
      return out;
    case IdentifierKind::kGsrn:
      ai("8018", parsed.key);
      return out;
    case IdentifierKind::kGdti:
      ai("253", parsed.key);
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kGsrnp:
      ai("8017", parsed.key);
      return out;
    case IdentifierKind::kCpi:
      ai("8010", "");
      encoded(parsed.key);
      ai("8011", parsed.qualifier);
      return out;
    case IdentifierKind::kGinc:
      ai("401", "");
      encoded(parsed.key);
      return out;
    case IdentifierKind::kGsin:
      ai("402", parsed.key);
      return out;
    case IdentifierKind::kItip:
      ai("8006", parsed.key);
      ai("21", "");
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kUpui:
      ai("01", parsed.key);
      ai("235", "");
      encoded(parsed.qualifier);
      return out;
    case IdentifierKind::kOpaque:
      break;
  }
  return out;
}

// ---- EPC URNs (TDS 2.x section 6) ----

// Splits `body` at the first `count - 1` dots (the last field keeps its dots:
// serials may contain them).
// At most kMaxFields fields (no scheme has more), held without allocating.
constexpr size_t kMaxFields = 5;
using Fields = std::array<std::string_view, kMaxFields>;

std::optional<Fields> split_fields(std::string_view body, size_t count) {
  Fields fields;
  size_t filled = 0;
  while (filled + 1 < count) {
    size_t dot = body.find('.');
    if (dot == std::string_view::npos) return std::nullopt;
    fields[filled++] = body.substr(0, dot);
    body.remove_prefix(dot + 1);
  }
  fields[filled] = body;
  return fields;
}

Status check_company_prefix(std::string_view prefix) {
  if (prefix.size() < 6 || prefix.size() > 12 || !is_digits(prefix)) {
    return invalid_argument("company prefix " + quoted(prefix) + " must be 6 to 12 digits");
  }
  return Status::ok();
}

// Company prefix plus a numeric reference of `total` digits together.
Status check_digit_fields(std::string_view prefix, std::string_view reference,
                          std::string_view reference_name, size_t total) {
  CUSTOS_RETURN_IF_ERROR(check_company_prefix(prefix));
  if (!is_digits(reference)) {
    return invalid_argument(std::string(reference_name) + " " + quoted(reference) +
                            " must be digits");
  }
  if (prefix.size() + reference.size() != total) {
    return invalid_argument("company prefix plus " + std::string(reference_name) + " must be " +
                            std::to_string(total) + " digits, got " +
                            std::to_string(prefix.size() + reference.size()));
  }
  return Status::ok();
}

std::string with_check_digit(std::string digits) {
  digits += gs1_check_digit(digits);
  return digits;
}

// GTIN-14 of an EPC's CompanyPrefix.IndicatorItemRef fields (checked: 13 digits).
Result<std::string> gtin_of_fields(std::string_view prefix, std::string_view item) {
  CUSTOS_RETURN_IF_ERROR(check_digit_fields(prefix, item, "indicator/item reference", 13));
  return with_check_digit(std::string(1, item[0]) + std::string(prefix) +
                          std::string(item.substr(1)));
}

Status check_fixed_count(std::string_view value, std::string_view what, size_t length) {
  if (value.size() != length || !is_digits(value)) {
    return invalid_argument(std::string(what) + " " + quoted(value) + " must be " +
                            std::to_string(length) + " digits");
  }
  return Status::ok();
}

// A CPI serial (AI 8011): 1..12 digits.
Status check_cpi_serial(std::string_view serial) {
  if (serial.empty() || serial.size() > 12 || !is_digits(serial)) {
    return invalid_argument("CPI serial " + quoted(serial) + " must be 1 to 12 digits");
  }
  return Status::ok();
}

// A CPID (AI 8010): 1..30 characters of set 39.
Status check_cpid(std::string_view cpid) {
  if (cpid.empty() || cpid.size() > 30) {
    return invalid_argument("CPID " + quoted(cpid) + " must be 1 to 30 characters");
  }
  for (size_t i = 0; i < cpid.size(); ++i) {
    if (!is_cset39(cpid[i])) {
      return invalid_argument("CPID " + quoted(cpid) +
                              " has a character outside set 39 (0-9 A-Z # - /) at offset " +
                              std::to_string(i));
    }
  }
  return Status::ok();
}

Result<Gs1Key> parse_gtin_urn(std::string_view body, IdentifierKind kind) {
  auto fields = split_fields(body, 3);
  if (!fields) {
    return invalid_argument("expected CompanyPrefix.IndicatorItemRef.Serial");
  }
  Gs1Key parsed;
  parsed.kind = kind;
  CUSTOS_ASSIGN_OR_RETURN(parsed.key, gtin_of_fields((*fields)[0], (*fields)[1]));
  if (kind == IdentifierKind::kGtin) {
    if ((*fields)[2] != "*") return invalid_argument("only the serial may be '*' in a pattern");
    return parsed;
  }
  CUSTOS_ASSIGN_OR_RETURN(
      parsed.qualifier,
      urn_decode_cset82((*fields)[2], kind == IdentifierKind::kLgtin ? "lot" : "serial", 20));
  return parsed;
}

Result<Gs1Key> parse_id_urn(std::string_view scheme, std::string_view body) {
  Gs1Key parsed;
  if (scheme == "sgtin") return parse_gtin_urn(body, IdentifierKind::kSgtin);
  if (scheme == "sscc") {
    auto fields = split_fields(body, 2);
    if (!fields) return invalid_argument("expected CompanyPrefix.ExtensionSerialRef");
    std::string_view prefix = (*fields)[0];
    std::string_view ref = (*fields)[1];
    CUSTOS_RETURN_IF_ERROR(check_digit_fields(prefix, ref, "extension/serial reference", 17));
    parsed.kind = IdentifierKind::kSscc;
    parsed.key =
        with_check_digit(std::string(1, ref[0]) + std::string(prefix) + std::string(ref.substr(1)));
    return parsed;
  }
  if (scheme == "itip") {
    auto fields = split_fields(body, 5);
    if (!fields)
      return invalid_argument("expected CompanyPrefix.IndicatorItemRef.Piece.Total.Serial");
    CUSTOS_ASSIGN_OR_RETURN(parsed.key, gtin_of_fields((*fields)[0], (*fields)[1]));
    CUSTOS_RETURN_IF_ERROR(check_fixed_count((*fields)[2], "piece number", 2));
    CUSTOS_RETURN_IF_ERROR(check_fixed_count((*fields)[3], "total count", 2));
    parsed.kind = IdentifierKind::kItip;
    parsed.key += std::string((*fields)[2]) + std::string((*fields)[3]);
    CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier, urn_decode_cset82((*fields)[4], "serial", 20));
    return parsed;
  }
  if (scheme == "upui") {
    auto fields = split_fields(body, 3);
    if (!fields) return invalid_argument("expected CompanyPrefix.IndicatorItemRef.TPX");
    CUSTOS_ASSIGN_OR_RETURN(parsed.key, gtin_of_fields((*fields)[0], (*fields)[1]));
    parsed.kind = IdentifierKind::kUpui;
    CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier,
                            urn_decode_cset82((*fields)[2], "third-party controlled serial", 28));
    return parsed;
  }
  if (scheme == "cpi") {
    auto fields = split_fields(body, 3);
    if (!fields) return invalid_argument("expected CompanyPrefix.ComponentPartRef.Serial");
    CUSTOS_RETURN_IF_ERROR(check_company_prefix((*fields)[0]));
    // Set 39 leaves '#' and '/' to escape (%23, %2F).
    CUSTOS_ASSIGN_OR_RETURN(std::string reference,
                            percent_decode((*fields)[1], "component/part reference", "#/"));
    if (reference.empty()) return invalid_argument("component/part reference is empty");
    parsed.kind = IdentifierKind::kCpi;
    parsed.key = std::string((*fields)[0]) + reference;
    CUSTOS_RETURN_IF_ERROR(check_cpid(parsed.key));
    CUSTOS_RETURN_IF_ERROR(check_cpi_serial((*fields)[2]));
    parsed.qualifier = std::string((*fields)[2]);
    return parsed;
  }
  if (scheme == "gsin") {
    auto fields = split_fields(body, 2);
    if (!fields) return invalid_argument("expected CompanyPrefix.ShipperRef");
    CUSTOS_RETURN_IF_ERROR(check_digit_fields((*fields)[0], (*fields)[1], "shipper reference", 16));
    parsed.kind = IdentifierKind::kGsin;
    parsed.key = with_check_digit(std::string((*fields)[0]) + std::string((*fields)[1]));
    return parsed;
  }
  if (scheme == "sgln" || scheme == "pgln") {
    bool party = scheme == "pgln";
    auto fields = split_fields(body, party ? 2 : 3);
    if (!fields) {
      return invalid_argument(party ? "expected CompanyPrefix.PartyRef"
                                    : "expected CompanyPrefix.LocationRef.Extension");
    }
    CUSTOS_RETURN_IF_ERROR(check_digit_fields(
        (*fields)[0], (*fields)[1], party ? "party reference" : "location reference", 12));
    parsed.kind = party ? IdentifierKind::kPgln : IdentifierKind::kSgln;
    parsed.key = with_check_digit(std::string((*fields)[0]) + std::string((*fields)[1]));
    if (!party) {
      CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier, urn_decode_cset82((*fields)[2], "extension", 20));
    }
    return parsed;
  }
  if (scheme == "grai" || scheme == "gdti") {
    bool grai = scheme == "grai";
    auto fields = split_fields(body, 3);
    if (!fields) {
      return invalid_argument(grai ? "expected CompanyPrefix.AssetType.Serial"
                                   : "expected CompanyPrefix.DocType.Serial");
    }
    CUSTOS_RETURN_IF_ERROR(
        check_digit_fields((*fields)[0], (*fields)[1], grai ? "asset type" : "document type", 12));
    std::string digits = std::string((*fields)[0]) + std::string((*fields)[1]);
    parsed.kind = grai ? IdentifierKind::kGrai : IdentifierKind::kGdti;
    parsed.key = grai ? with_check_digit("0" + digits) : with_check_digit(digits);
    CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier,
                            urn_decode_cset82((*fields)[2], "serial", grai ? 16 : 17));
    return parsed;
  }
  if (scheme == "giai" || scheme == "ginc") {
    const bool asset = scheme == "giai";
    const std::string_view what = asset ? "individual asset reference" : "consignment reference";
    auto fields = split_fields(body, 2);
    if (!fields) {
      return invalid_argument(asset ? "expected CompanyPrefix.IndividualAssetRef"
                                    : "expected CompanyPrefix.ConsignmentRef");
    }
    CUSTOS_RETURN_IF_ERROR(check_company_prefix((*fields)[0]));
    CUSTOS_ASSIGN_OR_RETURN(std::string ref, urn_decode_cset82((*fields)[1], what, 30));
    if ((*fields)[0].size() + ref.size() > 30) {
      return invalid_argument("company prefix plus " + std::string(what) +
                              " must be at most 30 characters, got " +
                              std::to_string((*fields)[0].size() + ref.size()));
    }
    parsed.kind = asset ? IdentifierKind::kGiai : IdentifierKind::kGinc;
    parsed.key = std::string((*fields)[0]) + ref;
    return parsed;
  }
  if (scheme == "gsrn" || scheme == "gsrnp") {
    auto fields = split_fields(body, 2);
    if (!fields) return invalid_argument("expected CompanyPrefix.ServiceRef");
    CUSTOS_RETURN_IF_ERROR(check_digit_fields((*fields)[0], (*fields)[1], "service reference", 17));
    parsed.kind = scheme == "gsrn" ? IdentifierKind::kGsrn : IdentifierKind::kGsrnp;
    parsed.key = with_check_digit(std::string((*fields)[0]) + std::string((*fields)[1]));
    return parsed;
  }
  return parsed;  // another EPC scheme: opaque
}

// Returns a Gs1Key of kind kOpaque for EPC URNs custos does not model.
Result<Gs1Key> parse_epc_urn(std::string_view uri) {
  // "urn:epc:" has been matched; the namespace and scheme are case-insensitive.
  std::string_view rest = uri.substr(8);
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return Gs1Key{};
  std::string_view space = rest.substr(0, colon);
  rest.remove_prefix(colon + 1);
  colon = rest.find(':');
  if (colon == std::string_view::npos) return Gs1Key{};
  std::string scheme;
  for (char c : rest.substr(0, colon)) scheme += to_lower(c);
  std::string_view body = rest.substr(colon + 1);

  Result<Gs1Key> parsed = Gs1Key{};
  if (iequals(space, "id")) {
    parsed = parse_id_urn(scheme, body);
  } else if (iequals(space, "class") && scheme == "lgtin") {
    parsed = parse_gtin_urn(body, IdentifierKind::kLgtin);
  } else if (iequals(space, "idpat") && scheme == "sgtin") {
    // Only the "all serials of one GTIN" pattern names a single class.
    auto fields = split_fields(body, 3);
    if (!fields || (*fields)[0] == "*" || (*fields)[1] == "*") return Gs1Key{};
    parsed = parse_gtin_urn(body, IdentifierKind::kGtin);
  }
  if (!parsed.is_ok()) {
    return parsed.status().with_context("EPC URN " + quoted(uri) + " (" + std::string(space) + ":" +
                                        scheme + ")");
  }
  return parsed;
}

// ---- GS1 Digital Link (DL standard 1.x, URI syntax) ----

struct KeySyntax {
  std::string_view ai;
  std::array<std::string_view, 4> qualifiers;  // in the order they must appear
};

constexpr std::array<KeySyntax, 13> kPrimaryKeys = {{
    {"01", {"22", "10", "21", "235"}},
    {"00", {}},
    {"414", {"254"}},
    {"417", {}},
    {"8003", {}},
    {"8004", {}},
    {"8018", {"8019"}},
    {"8017", {"8019"}},
    {"253", {}},
    {"8010", {"8011"}},
    {"401", {}},
    {"402", {}},
    {"8006", {"22", "10", "21"}},
}};

const KeySyntax* find_primary_key(std::string_view ai) {
  for (const auto& syntax : kPrimaryKeys) {
    if (syntax.ai == ai) return &syntax;
  }
  return nullptr;
}

// True when segments [start, end) are key/value pairs: a primary key and its
// qualifiers, each at most once and in order.
bool is_key_path(const std::vector<std::string_view>& segments, size_t start) {
  const KeySyntax* syntax = find_primary_key(segments[start]);
  if (syntax == nullptr || (segments.size() - start) % 2 != 0) return false;
  size_t next_qualifier = 0;
  for (size_t i = start + 2; i < segments.size(); i += 2) {
    bool found = false;
    while (next_qualifier < syntax->qualifiers.size()) {
      std::string_view q = syntax->qualifiers[next_qualifier++];
      if (!q.empty() && q == segments[i]) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

// Primary keys that are a fixed count of digits, the last a check digit.
struct FixedKey {
  std::string_view ai;
  std::string_view name;
  size_t digits;
  IdentifierKind kind;
};

constexpr FixedKey kFixedKeys[] = {
    {"00", "SSCC", 18, IdentifierKind::kSscc},
    {"402", "GSIN", 17, IdentifierKind::kGsin},
    {"8017", "GSRNP", 18, IdentifierKind::kGsrnp},
    {"8018", "GSRN", 18, IdentifierKind::kGsrn},
};

Result<std::string> dl_value(std::string_view raw, std::string_view what) {
  return percent_decode(raw, what, "");
}

Result<Gs1Key> parse_key_path(
    std::string_view ai, std::string_view raw_value,
    const std::vector<std::pair<std::string_view, std::string_view>>& qualifiers) {
  Gs1Key parsed;
  bool serial = false;
  for (const auto& [q, value] : qualifiers) {
    if (q == "22" || q == "8019") return parsed;  // not modelled: opaque
    // A TPX (235) names the pack alone, never beside a lot or serial.
    if (q == "235" && qualifiers.size() > 1) return parsed;
    serial = serial || q == "21" || q == "8011";
  }
  // Class-level CPI and ITIP (no serial) are not modelled either.
  if ((ai == "8010" || ai == "8006") && !serial) return parsed;
  CUSTOS_ASSIGN_OR_RETURN(std::string value, dl_value(raw_value, "AI (" + std::string(ai) + ")"));
  if (ai == "01") {
    if (value.size() != 8 && value.size() != 12 && value.size() != 13 && value.size() != 14) {
      return invalid_argument("GTIN " + quoted(value) + " must be 8, 12, 13 or 14 digits");
    }
    if (!is_digits(value)) return invalid_argument("GTIN " + quoted(value) + " must be digits");
    CUSTOS_RETURN_IF_ERROR(check_check_digit(value, "GTIN"));
    parsed.key = std::string(14 - value.size(), '0') + value;
    parsed.kind = IdentifierKind::kGtin;
    std::string lot;
    for (const auto& [q, raw] : qualifiers) {
      std::string_view what = q == "10" ? "lot" : q == "235" ? "TPX" : "serial";
      CUSTOS_ASSIGN_OR_RETURN(std::string decoded, dl_value(raw, what));
      CUSTOS_RETURN_IF_ERROR(check_cset82(decoded, what, q == "235" ? 28 : 20));
      if (q == "10") {
        parsed.kind = IdentifierKind::kLgtin;
        parsed.qualifier = std::move(decoded);
      } else if (q == "235") {
        parsed.kind = IdentifierKind::kUpui;
        parsed.qualifier = std::move(decoded);
      } else {
        // GTIN + serial names the instance; a lot beside it is redundant.
        parsed.kind = IdentifierKind::kSgtin;
        parsed.qualifier = std::move(decoded);
      }
    }
    return parsed;
  }
  for (const FixedKey& fixed : kFixedKeys) {
    if (ai != fixed.ai) continue;
    CUSTOS_RETURN_IF_ERROR(check_fixed_digits(value, fixed.name, fixed.digits));
    parsed.kind = fixed.kind;
    parsed.key = std::move(value);
    return parsed;
  }
  if (ai == "414" || ai == "417") {
    CUSTOS_RETURN_IF_ERROR(check_fixed_digits(value, "GLN", 13));
    parsed.kind = ai == "414" ? IdentifierKind::kSgln : IdentifierKind::kPgln;
    parsed.key = std::move(value);
    for (const auto& [q, raw] : qualifiers) {
      CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier, dl_value(raw, "GLN extension"));
      CUSTOS_RETURN_IF_ERROR(check_cset82(parsed.qualifier, "GLN extension", 20));
    }
    return parsed;
  }
  if (ai == "8003" || ai == "253") {
    bool grai = ai == "8003";
    size_t digits = grai ? 14 : 13;
    std::string_view what = grai ? "GRAI" : "GDTI";
    std::string_view key = std::string_view(value).substr(0, digits);
    if (key.size() != digits || !is_digits(key)) {
      return invalid_argument(std::string(what) + " " + quoted(value) + " must start with " +
                              std::to_string(digits) + " digits");
    }
    if (grai && key[0] != '0') {
      return invalid_argument("GRAI " + quoted(value) + " must start with the digit 0");
    }
    CUSTOS_RETURN_IF_ERROR(check_check_digit(key, what));
    std::string serial = value.substr(digits);
    CUSTOS_RETURN_IF_ERROR(
        check_cset82(serial, std::string(what) + " serial", grai ? 16 : 17, /*allow_empty=*/true));
    parsed.kind = grai ? IdentifierKind::kGrai : IdentifierKind::kGdti;
    parsed.key = std::string(key);
    parsed.qualifier = std::move(serial);
    return parsed;
  }
  if (ai == "8004" || ai == "401") {
    const bool asset = ai == "8004";
    CUSTOS_RETURN_IF_ERROR(check_cset82(value, asset ? "GIAI" : "GINC", 30));
    parsed.kind = asset ? IdentifierKind::kGiai : IdentifierKind::kGinc;
    parsed.key = std::move(value);
    return parsed;
  }
  if (ai == "8010") {
    CUSTOS_RETURN_IF_ERROR(check_cpid(value));
    CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier, dl_value(qualifiers.front().second, "CPI serial"));
    CUSTOS_RETURN_IF_ERROR(check_cpi_serial(parsed.qualifier));
    parsed.kind = IdentifierKind::kCpi;
    parsed.key = std::move(value);
    return parsed;
  }
  if (ai == "8006") {
    // GTIN-14 (its check digit), piece and total of two digits each.
    if (value.size() != 18 || !is_digits(value)) {
      return invalid_argument("ITIP " + quoted(value) + " must be 18 digits");
    }
    CUSTOS_RETURN_IF_ERROR(check_check_digit(std::string_view(value).substr(0, 14), "ITIP"));
    for (const auto& [q, raw] : qualifiers) {
      if (q != "21") continue;  // a lot beside the serial is redundant, as for a GTIN
      CUSTOS_ASSIGN_OR_RETURN(parsed.qualifier, dl_value(raw, "serial"));
      CUSTOS_RETURN_IF_ERROR(check_cset82(parsed.qualifier, "serial", 20));
    }
    parsed.kind = IdentifierKind::kItip;
    parsed.key = std::move(value);
  }
  return parsed;  // kPrimaryKeys lists no other AI
}

// Returns kOpaque for an http(s) URL whose path is not a Digital Link key path.
Result<Gs1Key> parse_digital_link(std::string_view uri) {
  size_t start = uri.find("://") + 3;
  size_t path_start = uri.find_first_of("/?#", start);
  if (path_start == start || path_start == std::string_view::npos || uri[path_start] != '/') {
    return Gs1Key{};
  }
  std::string_view path = uri.substr(path_start + 1);
  path = path.substr(0, path.find_first_of("?#"));
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  std::vector<std::string_view> segments;
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (!is_key_path(segments, i)) continue;
    std::vector<std::pair<std::string_view, std::string_view>> qualifiers;
    for (size_t j = i + 2; j < segments.size(); j += 2) {
      qualifiers.emplace_back(segments[j], segments[j + 1]);
    }
    auto parsed = parse_key_path(segments[i], segments[i + 1], qualifiers);
    if (!parsed.is_ok()) {
      return parsed.status().with_context("GS1 Digital Link " + quoted(uri));
    }
    return parsed;
  }
  return Gs1Key{};
}

Status check_is_uri(std::string_view uri) {
  if (uri.empty()) return invalid_argument("identifier is empty");
  for (size_t i = 0; i < uri.size(); ++i) {
    auto byte = static_cast<unsigned char>(uri[i]);
    if (byte <= 0x20 || byte == 0x7f) {
      return invalid_argument("identifier " + quoted(uri) +
                              " has a space or control character at offset " + std::to_string(i));
    }
  }
  size_t colon = uri.find(':');
  bool scheme_ok = colon != std::string_view::npos && colon > 0 && is_alpha(uri[0]);
  for (size_t i = 1; scheme_ok && i < colon; ++i) {
    char c = uri[i];
    scheme_ok = is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
  }
  if (!scheme_ok || colon + 1 == uri.size()) {
    return invalid_argument("identifier " + quoted(uri) + " is not an absolute URI (no scheme)");
  }
  return Status::ok();
}

Result<Gs1Key> parse_gs1(std::string_view uri) {
  CUSTOS_RETURN_IF_ERROR(check_is_uri(uri));
  if (istarts_with(uri, "urn:epc:")) return parse_epc_urn(uri);
  if (istarts_with(uri, "https://") || istarts_with(uri, "http://")) {
    return parse_digital_link(uri);
  }
  return Gs1Key{};
}

}  // namespace

std::string_view identifier_kind_name(IdentifierKind kind) {
  switch (kind) {
    case IdentifierKind::kSgtin:
      return "sgtin";
    case IdentifierKind::kSscc:
      return "sscc";
    case IdentifierKind::kSgln:
      return "sgln";
    case IdentifierKind::kPgln:
      return "pgln";
    case IdentifierKind::kGrai:
      return "grai";
    case IdentifierKind::kGiai:
      return "giai";
    case IdentifierKind::kGsrn:
      return "gsrn";
    case IdentifierKind::kGdti:
      return "gdti";
    case IdentifierKind::kGsrnp:
      return "gsrnp";
    case IdentifierKind::kCpi:
      return "cpi";
    case IdentifierKind::kGinc:
      return "ginc";
    case IdentifierKind::kGsin:
      return "gsin";
    case IdentifierKind::kItip:
      return "itip";
    case IdentifierKind::kUpui:
      return "upui";
    case IdentifierKind::kLgtin:
      return "lgtin";
    case IdentifierKind::kGtin:
      return "gtin";
    case IdentifierKind::kOpaque:
      return "opaque";
  }
  return "unknown";
}

char gs1_check_digit(std::string_view digits) {
  int sum = 0;
  int weight = 3;  // the rightmost data digit has weight 3
  for (size_t i = digits.size(); i-- > 0;) {
    sum += (digits[i] - '0') * weight;
    weight = 4 - weight;
  }
  return static_cast<char>('0' + (10 - sum % 10) % 10);
}

Result<Identifier> parse_identifier(std::string_view uri) {
  CUSTOS_ASSIGN_OR_RETURN(Gs1Key parsed, parse_gs1(uri));
  Identifier id;
  id.kind = parsed.kind;
  id.original = std::string(uri);
  id.canonical = parsed.kind == IdentifierKind::kOpaque
                     ? id.original
                     : canonical_form(parsed, DigitalLinkEscaping::kCanonical);
  return id;
}

Result<std::string> epc_urn_to_digital_link(std::string_view urn, DigitalLinkEscaping escaping) {
  if (!istarts_with(urn, "urn:epc:")) {
    return invalid_argument("identifier " + quoted(urn) + " is not an EPC URN");
  }
  CUSTOS_ASSIGN_OR_RETURN(Gs1Key parsed, parse_gs1(urn));
  if (parsed.kind == IdentifierKind::kOpaque) {
    return invalid_argument("EPC URN " + quoted(urn) +
                            " is of a scheme or form without a Digital Link here");
  }
  return canonical_form(parsed, escaping);
}

bool same_identifier(const Identifier& a, const Identifier& b) {
  return a.canonical == b.canonical;
}

Result<std::string> to_epc_urn(const Identifier& id, int company_prefix_length) {
  if (id.kind == IdentifierKind::kOpaque) {
    return invalid_argument("identifier " + quoted(id.original) + " is not a GS1 key; no EPC URN");
  }
  if (company_prefix_length < 6 || company_prefix_length > 12) {
    return invalid_argument("company prefix length must be 6 to 12, got " +
                            std::to_string(company_prefix_length));
  }
  CUSTOS_ASSIGN_OR_RETURN(Gs1Key parsed, parse_gs1(id.canonical));
  if (parsed.kind != id.kind) {
    return invalid_argument("identifier canonical form " + quoted(id.canonical) +
                            " does not match its kind");
  }
  auto length = static_cast<size_t>(company_prefix_length);
  const std::string& key = parsed.key;
  std::string serial = urn_encode(parsed.qualifier);
  switch (parsed.kind) {
    case IdentifierKind::kSgtin:
    case IdentifierKind::kLgtin:
    case IdentifierKind::kGtin:
    case IdentifierKind::kItip:
    case IdentifierKind::kUpui: {
      // CompanyPrefix.IndicatorItemRef from the GTIN-14 (key[0..14)).
      std::string fields =
          key.substr(1, length) + "." + key[0] + key.substr(1 + length, 12 - length);
      switch (parsed.kind) {
        case IdentifierKind::kSgtin:
          return "urn:epc:id:sgtin:" + fields + "." + serial;
        case IdentifierKind::kLgtin:
          return "urn:epc:class:lgtin:" + fields + "." + serial;
        case IdentifierKind::kItip:
          return "urn:epc:id:itip:" + fields + "." + key.substr(14, 2) + "." + key.substr(16, 2) +
                 "." + serial;
        case IdentifierKind::kUpui:
          return "urn:epc:id:upui:" + fields + "." + serial;
        default:
          return "urn:epc:idpat:sgtin:" + fields + ".*";
      }
    }
    case IdentifierKind::kSscc:
      return "urn:epc:id:sscc:" + key.substr(1, length) + "." + key[0] +
             key.substr(1 + length, 16 - length);
    case IdentifierKind::kSgln:
      return "urn:epc:id:sgln:" + key.substr(0, length) + "." + key.substr(length, 12 - length) +
             "." + (serial.empty() ? std::string("0") : serial);
    case IdentifierKind::kPgln:
      return "urn:epc:id:pgln:" + key.substr(0, length) + "." + key.substr(length, 12 - length);
    case IdentifierKind::kGrai:
    case IdentifierKind::kGdti: {
      bool grai = parsed.kind == IdentifierKind::kGrai;
      if (serial.empty()) {
        return invalid_argument(std::string(grai ? "GRAI" : "GDTI") +
                                " without a serial has no EPC URN");
      }
      std::string_view digits = std::string_view(key).substr(grai ? 1 : 0, 12);
      return std::string(grai ? "urn:epc:id:grai:" : "urn:epc:id:gdti:") +
             std::string(digits.substr(0, length)) + "." + std::string(digits.substr(length)) +
             "." + serial;
    }
    case IdentifierKind::kGiai:
    case IdentifierKind::kGinc:
    case IdentifierKind::kCpi: {
      const std::string_view scheme = identifier_kind_name(parsed.kind);
      std::string_view prefix = std::string_view(key).substr(0, length);
      if (key.size() <= length || !is_digits(prefix)) {
        return invalid_argument(std::string(scheme) + " key " + quoted(key) +
                                " does not start with a " + std::to_string(length) +
                                "-digit company prefix and a reference");
      }
      std::string urn = "urn:epc:id:";
      urn += scheme;
      urn += ":";
      urn += prefix;
      urn += ".";
      urn += urn_encode(key.substr(length));
      if (parsed.kind == IdentifierKind::kCpi) urn += "." + serial;
      return urn;
    }
    case IdentifierKind::kGsrn:
    case IdentifierKind::kGsrnp: {
      std::string urn =
          parsed.kind == IdentifierKind::kGsrn ? "urn:epc:id:gsrn:" : "urn:epc:id:gsrnp:";
      return urn + key.substr(0, length) + "." + key.substr(length, 17 - length);
    }
    case IdentifierKind::kGsin:
      return "urn:epc:id:gsin:" + key.substr(0, length) + "." + key.substr(length, 16 - length);
    case IdentifierKind::kOpaque:
      break;
  }
  return internal_error("unhandled identifier kind");
}

}  // namespace custos::epcis
