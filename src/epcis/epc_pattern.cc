#include "custos/epcis/epc_pattern.h"

#include <algorithm>
#include <array>

#include "custos/epcis/identifiers.h"

namespace custos::epcis {

namespace {

constexpr std::string_view kBase = "https://id.gs1.org";

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = text[i] >= 'A' && text[i] <= 'Z' ? static_cast<char>(text[i] - 'A' + 'a') : text[i];
    if (a != prefix[i]) return false;
  }
  return true;
}

// How a scheme's EPC fields sit in its canonical form.
struct Scheme {
  std::string_view name;
  size_t fields;
  std::string_view path;  // canonical path before the key's digits
  // The key's digits in the canonical form (after `path`), and where the
  // company prefix starts among them (1 when an indicator or extension digit
  // from the second field comes first).
  size_t key_digits;
  size_t prefix_offset;
  CanonicalPattern::Tail tail;  // what follows the key in an instance
  std::string_view instance_then;  // text between the key and the serial (sgtin)
};

constexpr std::array<Scheme, 7> kSchemes = {{
    {"sgtin", 3, "/01/", 14, 1, CanonicalPattern::Tail::kSomething, "/21/"},
    {"sscc", 2, "/00/", 18, 1, CanonicalPattern::Tail::kNothing, ""},
    {"sgln", 3, "/414/", 13, 0, CanonicalPattern::Tail::kAnything, ""},
    {"grai", 3, "/8003/0", 13, 0, CanonicalPattern::Tail::kSomething, ""},
    {"giai", 2, "/8004/", 0, 0, CanonicalPattern::Tail::kSomething, ""},
    {"gsrn", 2, "/8018/", 18, 0, CanonicalPattern::Tail::kNothing, ""},
    {"gdti", 3, "/253/", 13, 0, CanonicalPattern::Tail::kSomething, ""},
}};

std::vector<std::string_view> split(std::string_view body, size_t count) {
  // The last field keeps its dots (serials may contain them).
  std::vector<std::string_view> fields;
  while (fields.size() + 1 < count) {
    const size_t dot = body.find('.');
    if (dot == std::string_view::npos) return {};
    fields.push_back(body.substr(0, dot));
    body.remove_prefix(dot + 1);
  }
  fields.push_back(body);
  return fields;
}

// Keys starting with `prefix` and `digits` more digits: instances (the
// scheme's serial or nothing), or at the class level a GTIN or one of its lots.
void add_key_patterns(const Scheme& scheme, bool class_level, const std::string& prefix,
                      size_t digits, std::vector<CanonicalPattern>& out) {
  if (class_level) {
    out.push_back({prefix, digits, "", CanonicalPattern::Tail::kNothing});
    out.push_back({prefix, digits, "/10/", CanonicalPattern::Tail::kSomething});
    return;
  }
  out.push_back({prefix, digits, std::string(scheme.instance_then), scheme.tail});
}

}  // namespace

bool pattern_matches(const CanonicalPattern& pattern, std::string_view canonical) {
  if (!canonical.starts_with(pattern.prefix)) return false;
  canonical.remove_prefix(pattern.prefix.size());
  if (canonical.size() < pattern.digits || !all_digits(canonical.substr(0, pattern.digits))) {
    return false;
  }
  canonical.remove_prefix(pattern.digits);
  if (!canonical.starts_with(pattern.then)) return false;
  canonical.remove_prefix(pattern.then.size());
  switch (pattern.tail) {
    case CanonicalPattern::Tail::kAnything:
      return true;
    case CanonicalPattern::Tail::kNothing:
      return canonical.empty();
    case CanonicalPattern::Tail::kSomething:
      return !canonical.empty();
  }
  return false;
}

Result<std::optional<std::vector<CanonicalPattern>>> parse_epc_pattern(std::string_view uri,
                                                                       PatternLevel level) {
  constexpr std::string_view kIdpat = "urn:epc:idpat:";
  if (!starts_with_ignoring_case(uri, kIdpat)) return std::optional<std::vector<CanonicalPattern>>();
  std::string_view rest = uri.substr(kIdpat.size());
  const size_t colon = rest.find(':');
  std::string scheme_name(rest.substr(0, colon == std::string_view::npos ? 0 : colon));
  std::transform(scheme_name.begin(), scheme_name.end(), scheme_name.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  auto fault = [&](const std::string& why) {
    return invalid_argument("EPC pattern \"" + std::string(uri) + "\": " + why);
  };
  const auto scheme = std::find_if(kSchemes.begin(), kSchemes.end(),
                                   [&](const Scheme& s) { return s.name == scheme_name; });
  if (colon == std::string_view::npos || scheme == kSchemes.end()) {
    return fault("scheme must be one of sgtin, sscc, sgln, grai, giai, gsrn, gdti");
  }
  const std::string_view body = rest.substr(colon + 1);
  std::vector<std::string_view> fields = split(body, scheme->fields);
  if (fields.empty()) return fault("expected " + std::to_string(scheme->fields) + " fields");
  const auto first_star = std::find(fields.begin(), fields.end(), "*");
  if (std::any_of(first_star, fields.end(), [](std::string_view f) { return f != "*"; })) {
    return fault("every field after a \"*\" must be \"*\"");
  }
  const size_t fixed = static_cast<size_t>(first_star - fields.begin());
  const bool class_level = level == PatternLevel::kClass && scheme->name == "sgtin";

  std::vector<CanonicalPattern> patterns;
  const std::string path = std::string(kBase) + std::string(scheme->path);
  if (fixed == scheme->fields) {
    // No "*": exactly one EPC.
    auto id = parse_identifier("urn:epc:id:" + scheme_name + ":" + std::string(body));
    if (!id.is_ok()) return fault(id.status().message());
    patterns.push_back({id->canonical, 0, "", CanonicalPattern::Tail::kNothing});
  } else if (fixed + 1 == scheme->fields && fixed >= 2) {
    // CP.REF.*: one key, any serial (sgtin, sgln, grai, gdti). The key's
    // canonical form comes from the same URN with a placeholder serial.
    auto id = parse_identifier("urn:epc:id:" + scheme_name + ":" + std::string(fields[0]) + "." +
                               std::string(fields[1]) + ".0");
    if (!id.is_ok()) return fault(id.status().message());
    const std::string key_path = id->canonical.substr(0, path.size() + scheme->key_digits);
    if (scheme->name == "sgtin") {
      if (class_level) {
        // The GTIN itself, or one of its lots.
        patterns.push_back({key_path, 0, "", CanonicalPattern::Tail::kNothing});
        patterns.push_back({key_path, 0, "/10/", CanonicalPattern::Tail::kSomething});
      } else {
        patterns.push_back({key_path, 0, std::string(scheme->instance_then), scheme->tail});
      }
    } else {
      patterns.push_back({key_path, 0, "", scheme->tail});
    }
  } else if (fixed == 1) {
    // CP.*(.*): the company prefix at its place in the key.
    const std::string_view company = fields[0];
    if (company.size() < 6 || company.size() > 12 || !all_digits(company)) {
      return fault("company prefix \"" + std::string(company) + "\" must be 6 to 12 digits");
    }
    const size_t rest_digits =
        scheme->key_digits == 0 ? 0 : scheme->key_digits - scheme->prefix_offset - company.size();
    if (scheme->prefix_offset == 0) {
      add_key_patterns(*scheme, class_level, path + std::string(company), rest_digits, patterns);
    } else {
      for (char digit = '0'; digit <= '9'; ++digit) {
        add_key_patterns(*scheme, class_level, path + digit + std::string(company), rest_digits,
                         patterns);
      }
    }
  } else {
    // Every field "*": the whole scheme.
    add_key_patterns(*scheme, class_level, path, scheme->key_digits, patterns);
  }
  return std::optional<std::vector<CanonicalPattern>>(std::move(patterns));
}

}  // namespace custos::epcis
