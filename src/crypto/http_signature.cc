// RFC 9421 signature bases, Signature-Input / Signature fields and
// Ed25519 signing and verification for requests.
#include "custos/crypto/http_signature.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <span>

#include "custos/crypto/content_digest.h"

namespace custos {
namespace {

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  }
  return true;
}

bool is_field_name_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// A value placed in the signature base must not be able to start a new line.
Status check_component_value(std::string_view name, std::string_view value) {
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7F) {
      return invalid_argument("component " + std::string(name) + " has a control character");
    }
  }
  return Status::ok();
}

// Trims SP and HTAB and replaces obsolete line folding with one SP.
std::string canonical_field_line(std::string_view line) {
  auto is_ws = [](char c) { return c == ' ' || c == '\t'; };
  std::string out;
  out.reserve(line.size());
  for (size_t i = 0; i < line.size(); ++i) {
    bool fold = line[i] == '\r' && i + 2 < line.size() && line[i + 1] == '\n' && is_ws(line[i + 2]);
    bool bare_fold = line[i] == '\n' && i + 1 < line.size() && is_ws(line[i + 1]);
    if (fold || bare_fold) {
      i += fold ? 2 : 1;
      while (i + 1 < line.size() && is_ws(line[i + 1])) ++i;
      while (!out.empty() && is_ws(out.back())) out.pop_back();
      out += ' ';
      continue;
    }
    out += line[i];
  }
  size_t begin = 0;
  while (begin < out.size() && is_ws(out[begin])) ++begin;
  size_t end = out.size();
  while (end > begin && is_ws(out[end - 1])) --end;
  return out.substr(begin, end - begin);
}

bool is_ows(char c) { return c == ' ' || c == '\t'; }

// canonical_field_line appended to `out`. A line without CR or LF (every
// line a parser that unfolds obsolete folding hands over) is only trimmed.
void append_canonical_field_line(std::string& out, std::string_view line) {
  if (line.find_first_of("\r\n") != std::string_view::npos) {
    out += canonical_field_line(line);
    return;
  }
  size_t begin = 0;
  while (begin < line.size() && is_ows(line[begin])) ++begin;
  size_t end = line.size();
  while (end > begin && is_ows(line[end - 1])) --end;
  out.append(line.data() + begin, end - begin);
}

std::vector<std::string_view> field_lines(const SignedRequestView& request, std::string_view name) {
  if (!request.header_values) return {};
  return request.header_values(name);
}

// The field's lines combined as RFC 9421 section 2.1 asks; nullopt when absent.
std::optional<std::string> combined_field(const SignedRequestView& request, std::string_view name) {
  auto lines = field_lines(request, name);
  if (lines.empty()) return std::nullopt;
  std::string combined;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) combined += ", ";
    combined += canonical_field_line(lines[i]);
  }
  return combined;
}

// The field's lines combined as combined_field does, appended to `out`;
// false (and `out` unchanged) when the field is absent.
bool append_combined_field(std::string& out, const SignedRequestView& request,
                           std::string_view name) {
  auto lines = field_lines(request, name);
  if (lines.empty()) return false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += ", ";
    append_canonical_field_line(out, lines[i]);
  }
  return true;
}

// The combined field as a view: the single field line itself when it only
// needs trimming, else the combined text kept in `storage`. False when absent.
bool combined_field_view(const SignedRequestView& request, std::string_view name,
                         std::string& storage, std::string_view& combined) {
  auto lines = field_lines(request, name);
  if (lines.empty()) return false;
  if (lines.size() == 1 && lines[0].find_first_of("\r\n") == std::string_view::npos) {
    std::string_view line = lines[0];
    while (!line.empty() && is_ows(line.front())) line.remove_prefix(1);
    while (!line.empty() && is_ows(line.back())) line.remove_suffix(1);
    combined = line;
    return true;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) storage += ", ";
    append_canonical_field_line(storage, lines[i]);
  }
  combined = storage;
  return true;
}

// Fields custos knows to be Structured Field Dictionaries (for the sf flag).
bool is_known_dictionary_field(std::string_view name) {
  static constexpr std::array<std::string_view, 7> kDictionaries = {
      "signature",           "signature-input",  "content-digest",  "repr-digest",
      "want-content-digest", "want-repr-digest", "accept-signature"};
  return std::find(kDictionaries.begin(), kDictionaries.end(), name) != kDictionaries.end();
}

bool is_true_flag(const sf::BareItem& value) {
  const bool* flag = std::get_if<bool>(&value);
  return flag != nullptr && *flag;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded decoding (WHATWG URL section 5.1): '+'
// is a space and a '%' not followed by two hex digits stays as it is.
std::string form_decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Percent-encoding with the application/x-www-form-urlencoded set, spaces
// as %20 (RFC 9421 section 2.2.8).
std::string form_encode(std::string_view text) { return percent_encode(text, "*-._"); }

void append_lowercase(std::string& out, std::string_view text) {
  size_t start = out.size();
  out += text;
  for (size_t i = start; i < out.size(); ++i) out[i] = to_lower(out[i]);
}

// The authority lower-cased, without the scheme's default port.
void append_normalized_authority(std::string& out, const SignedRequestView& request) {
  std::string_view authority = request.authority;
  auto drop_suffix = [&authority](std::string_view suffix) {
    if (authority.size() > suffix.size() && authority.ends_with(suffix)) {
      authority.remove_suffix(suffix.size());
    }
  };
  if (equals_ignore_case(request.scheme, "https")) drop_suffix(":443");
  if (equals_ignore_case(request.scheme, "http")) drop_suffix(":80");
  append_lowercase(out, authority);
}

void append_normalized_path(std::string& out, const SignedRequestView& request) {
  if (request.path.empty()) {
    out += '/';
  } else {
    out += request.path;
  }
}

// The path, then "?" and the query when there is one (origin form).
void append_request_target(std::string& out, const SignedRequestView& request) {
  append_normalized_path(out, request);
  if (!request.query.empty()) {
    out += '?';
    out += request.query;
  }
}

Result<std::string> query_param_value(const SignedRequestView& request,
                                      const ComponentId& component) {
  const sf::BareItem* name_param = component.parameters.find("name");
  const auto* wanted = name_param ? std::get_if<std::string>(name_param) : nullptr;
  if (wanted == nullptr) return invalid_argument("@query-param needs a String name parameter");
  std::optional<std::string> found;
  size_t occurrences = 0;
  std::string_view query = request.query;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_name = pair.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (form_encode(form_decode(raw_name)) != *wanted) continue;
    ++occurrences;
    found = form_encode(form_decode(raw_value));
  }
  if (occurrences == 0) return not_found("query parameter '" + *wanted + "' is absent");
  if (occurrences > 1) {
    return invalid_argument("query parameter '" + *wanted +
                            "' occurs more than once and cannot be covered; cover @query");
  }
  return *found;
}

Status append_derived_value(std::string& out, const SignedRequestView& request,
                            const ComponentId& component) {
  const std::string& name = component.name;
  for (const auto& [key, value] : component.parameters.entries()) {
    if (name == "@query-param" && key == "name") continue;
    return invalid_argument("unsupported parameter '" + key + "' on " + name);
  }
  if (name == "@method") {
    if (request.method.empty()) return not_found("the request has no method");
    out += request.method;
    return Status::ok();
  }
  if (name == "@scheme") {
    if (request.scheme.empty()) return not_found("the request has no scheme");
    append_lowercase(out, request.scheme);
    return Status::ok();
  }
  if (name == "@authority") {
    if (request.authority.empty()) return not_found("the request has no authority");
    append_normalized_authority(out, request);
    return Status::ok();
  }
  if (name == "@target-uri") {
    if (request.scheme.empty() || request.authority.empty()) {
      return not_found("the request has no scheme or authority");
    }
    append_lowercase(out, request.scheme);
    out += "://";
    append_normalized_authority(out, request);
    append_request_target(out, request);
    return Status::ok();
  }
  if (name == "@request-target") {
    append_request_target(out, request);
    return Status::ok();
  }
  if (name == "@path") {
    append_normalized_path(out, request);
    return Status::ok();
  }
  if (name == "@query") {
    out += '?';
    out += request.query;
    return Status::ok();
  }
  if (name == "@query-param") {
    CUSTOS_ASSIGN_OR_RETURN(std::string value, query_param_value(request, component));
    out += value;
    return Status::ok();
  }
  if (name == "@signature-params") {
    return invalid_argument("@signature-params cannot be a covered component");
  }
  return invalid_argument("unsupported derived component " + name);
}

Status append_field_value(std::string& out, const SignedRequestView& request,
                          const ComponentId& component) {
  const std::string& name = component.name;
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_field_name_char)) {
    return invalid_argument("invalid field name '" + name + "' (names are lower-case tokens)");
  }
  bool strict = false;
  bool byte_sequences = false;
  const std::string* key = nullptr;
  for (const auto& [parameter, value] : component.parameters.entries()) {
    if (parameter == "sf" && is_true_flag(value)) {
      strict = true;
    } else if (parameter == "bs" && is_true_flag(value)) {
      byte_sequences = true;
    } else if (parameter == "key" && std::holds_alternative<std::string>(value)) {
      key = &std::get<std::string>(value);
    } else {
      return invalid_argument("unsupported parameter '" + parameter + "' on " + name);
    }
  }
  if (byte_sequences && (strict || key != nullptr)) {
    return invalid_argument("bs cannot be combined with sf or key");
  }
  if (byte_sequences) {
    auto lines = field_lines(request, name);
    if (lines.empty()) return not_found("header field " + name + " is absent");
    sf::List list;
    for (std::string_view line : lines) {
      std::string canonical = canonical_field_line(line);
      list.push_back(sf::Item{sf::ByteSequence{to_bytes(canonical)}, {}});
    }
    CUSTOS_ASSIGN_OR_RETURN(std::string serialized, sf::serialize_list(list));
    out += serialized;
    return Status::ok();
  }
  if (key == nullptr && !strict) {
    if (!append_combined_field(out, request, name)) {
      return not_found("header field " + name + " is absent");
    }
    return Status::ok();
  }
  auto combined = combined_field(request, name);
  if (!combined) return not_found("header field " + name + " is absent");
  if (key != nullptr) {
    auto dictionary = sf::parse_dictionary(*combined);
    if (!dictionary.is_ok()) {
      return invalid_argument("header field " + name + " is not a Dictionary");
    }
    const sf::ListMember* member = dictionary->find(*key);
    if (member == nullptr) return not_found("header field " + name + " has no key " + *key);
    CUSTOS_ASSIGN_OR_RETURN(std::string serialized, sf::serialize_list_member(*member));
    out += serialized;
    return Status::ok();
  }
  // strict (sf): the plain case was handled above.
  if (!is_known_dictionary_field(name)) {
    return invalid_argument("sf on " + name + ": its structured type is not known");
  }
  auto dictionary = sf::parse_dictionary(*combined);
  if (!dictionary.is_ok()) {
    return invalid_argument("header field " + name + " is not a Dictionary");
  }
  CUSTOS_ASSIGN_OR_RETURN(std::string serialized, sf::serialize_dictionary(*dictionary));
  out += serialized;
  return Status::ok();
}

constexpr std::string_view kParamsLinePrefix = "\"@signature-params\": ";
// Enough for a typical base (custos requests: ~320 bytes) in one allocation.
constexpr size_t kBaseReserve = 512;
constexpr size_t kNoValue = std::string_view::npos;

// Where a component's value sits in a base.
struct ValueSpan {
  size_t offset = kNoValue;
  size_t size = 0;
};

// Appends "<identifier>: <value>\n" for each component (RFC 9421 section
// 2.5), checking each identifier and value as it goes. When `content_digest`
// is not null it receives the span of the value of a "content-digest"
// component without parameters, i.e. the combined Content-Digest field.
Status append_component_lines(std::string& base, const SignedRequestView& request,
                              const std::vector<ComponentId>& components,
                              ValueSpan* content_digest) {
  // Where each identifier sits, to refuse a repeated one; on the stack for
  // the usual handful of components.
  std::array<ValueSpan, 8> inline_identifiers;
  std::vector<ValueSpan> heap_identifiers;
  std::span<ValueSpan> identifiers(inline_identifiers);
  if (components.size() > inline_identifiers.size()) {
    heap_identifiers.resize(components.size());
    identifiers = heap_identifiers;
  }
  size_t identifier_count = 0;
  for (const ComponentId& component : components) {
    const size_t identifier_start = base.size();
    CUSTOS_RETURN_IF_ERROR(sf::append_string(base, component.name));
    CUSTOS_RETURN_IF_ERROR(sf::append_parameters(base, component.parameters));
    const std::string_view identifier =
        std::string_view(base).substr(identifier_start, base.size() - identifier_start);
    for (const ValueSpan& seen : identifiers.first(identifier_count)) {
      if (std::string_view(base).substr(seen.offset, seen.size) == identifier) {
        return invalid_argument("component " + std::string(identifier) + " is covered twice");
      }
    }
    identifiers[identifier_count++] = ValueSpan{identifier_start, identifier.size()};
    base += ": ";
    const size_t value_start = base.size();
    CUSTOS_RETURN_IF_ERROR(!component.name.empty() && component.name[0] == '@'
                               ? append_derived_value(base, request, component)
                               : append_field_value(base, request, component));
    const std::string_view value =
        std::string_view(base).substr(value_start, base.size() - value_start);
    CUSTOS_RETURN_IF_ERROR(check_component_value(component.name, value));
    if (content_digest != nullptr && component.parameters.empty() &&
        component.name == "content-digest") {
      *content_digest = ValueSpan{value_start, value.size()};
    }
    base += '\n';
  }
  return Status::ok();
}

// `base` holds the @signature-params line (first `params_line` bytes, so
// its errors were found before any component's) followed by the component
// lines; puts the @signature-params line last, where the base has it.
void move_params_line_last(std::string& base, size_t params_line) {
  std::array<char, 512> inline_copy;
  std::string heap_copy;
  char* params = inline_copy.data();
  if (params_line > inline_copy.size()) {
    heap_copy.resize(params_line);
    params = heap_copy.data();
  }
  std::memcpy(params, base.data(), params_line);
  const size_t lines = base.size() - params_line;
  std::memmove(base.data(), base.data() + params_line, lines);
  std::memcpy(base.data() + lines, params, params_line);
}

// The @signature-params value for params made here (section 2.3): what
// serialize_inner_list(params_inner_list(params)) gives, without building
// the inner list.
Status append_params_value(std::string& out, const SignatureParams& params) {
  out += '(';
  for (size_t i = 0; i < params.components.size(); ++i) {
    if (i > 0) out += ' ';
    CUSTOS_RETURN_IF_ERROR(sf::append_string(out, params.components[i].name));
    CUSTOS_RETURN_IF_ERROR(sf::append_parameters(out, params.components[i].parameters));
  }
  out += ')';
  if (params.created) {
    out += ";created=";
    CUSTOS_RETURN_IF_ERROR(sf::append_integer(out, *params.created));
  }
  if (params.expires) {
    out += ";expires=";
    CUSTOS_RETURN_IF_ERROR(sf::append_integer(out, *params.expires));
  }
  const std::pair<std::string_view, const std::optional<std::string>*> texts[] = {
      {";nonce=", &params.nonce},
      {";alg=", &params.alg},
      {";keyid=", &params.keyid},
      {";tag=", &params.tag}};
  for (const auto& [prefix, text] : texts) {
    if (!*text) continue;
    out += prefix;
    CUSTOS_RETURN_IF_ERROR(sf::append_string(out, **text));
  }
  return Status::ok();
}

// The base from components and the already serialised @signature-params value.
Result<std::string> build_base(const SignedRequestView& request,
                               const std::vector<ComponentId>& components,
                               std::string_view signature_params) {
  std::string base;
  base.reserve(kBaseReserve + signature_params.size());
  CUSTOS_RETURN_IF_ERROR(append_component_lines(base, request, components, nullptr));
  base += kParamsLinePrefix;
  base += signature_params;
  return base;
}

Result<sf::InnerList> params_inner_list(const SignatureParams& params) {
  sf::InnerList inner;
  for (const ComponentId& component : params.components) {
    inner.items.push_back(sf::Item{component.name, component.parameters});
  }
  if (params.created) inner.parameters.set("created", *params.created);
  if (params.expires) inner.parameters.set("expires", *params.expires);
  if (params.nonce) inner.parameters.set("nonce", *params.nonce);
  if (params.alg) inner.parameters.set("alg", *params.alg);
  if (params.keyid) inner.parameters.set("keyid", *params.keyid);
  if (params.tag) inner.parameters.set("tag", *params.tag);
  return inner;
}

// Fills `params` (empty) from a Signature-Input member.
Status params_from_inner_list(const sf::InnerList& inner, SignatureParams& params) {
  params.components.reserve(inner.items.size());
  for (const sf::Item& item : inner.items) {
    const auto* name = std::get_if<std::string>(&item.value);
    if (name == nullptr) return invalid_argument("a covered component is not a String");
    params.components.push_back(ComponentId{*name, item.parameters});
  }
  for (const auto& [key_text, value] : inner.parameters.entries()) {
    const std::string_view key = key_text;
    if (key == "created" || key == "expires") {
      const auto* seconds = std::get_if<int64_t>(&value);
      if (seconds == nullptr) return invalid_argument(key_text + " is not an Integer");
      (key == "created" ? params.created : params.expires) = *seconds;
      continue;
    }
    std::optional<std::string>* text_param = key == "nonce"   ? &params.nonce
                                             : key == "alg"   ? &params.alg
                                             : key == "keyid" ? &params.keyid
                                             : key == "tag"   ? &params.tag
                                                              : nullptr;
    // Other parameters stay in the inner list, which is what gets signed.
    if (text_param == nullptr) continue;
    const auto* text = std::get_if<std::string>(&value);
    if (text == nullptr) return invalid_argument(key_text + " is not a String");
    *text_param = *text;
  }
  return Status::ok();
}

Result<std::string> dictionary_member_value(std::string_view label, const sf::ListMember& member) {
  sf::Dictionary dictionary;
  dictionary.set(std::string(label), member);
  return sf::serialize_dictionary(dictionary);
}

bool matches_requirement(const ComponentId& component, std::string_view requirement) {
  if (!requirement.empty() && requirement[0] == '"') {
    auto identifier = component.serialize();
    return identifier.is_ok() && *identifier == requirement;
  }
  return component.parameters.empty() && component.name == requirement;
}

// |a - b| without overflow, saturated to the int64_t range.
int64_t distance(int64_t a, int64_t b) {
  uint64_t difference = a >= b ? static_cast<uint64_t>(a) - static_cast<uint64_t>(b)
                               : static_cast<uint64_t>(b) - static_cast<uint64_t>(a);
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  return static_cast<int64_t>(difference > kMax ? kMax : difference);
}

SignatureFailure failure(SignatureError reason, std::string_view label, std::string detail) {
  return SignatureFailure{reason, std::string(label), std::move(detail)};
}

VerifyResult verify_label(const SignedRequestView& request, std::string_view signature_input,
                          std::string_view signature, std::string_view label,
                          const KeyLookupFn& key_lookup, const VerifyPolicy& policy) {
  auto parsed = parse_signature(signature_input, signature, label);
  if (!parsed.is_ok()) {
    SignatureError reason = parsed.status().code() == StatusCode::kNotFound
                                ? SignatureError::kMissingSignature
                                : SignatureError::kMalformedSignature;
    return failure(reason, label, parsed.status().message());
  }
  const SignatureParams& params = parsed->params;

  if (params.alg && *params.alg != kAlgEd25519) {
    return failure(SignatureError::kUnsupportedAlgorithm, label, "alg " + *params.alg);
  }
  if (policy.require_created && !params.created) {
    return failure(SignatureError::kMissingParameter, label, "created is required");
  }
  if (policy.require_nonce && !params.nonce) {
    return failure(SignatureError::kMissingParameter, label, "nonce is required");
  }
  if (params.created && distance(*params.created, policy.now) > policy.max_skew_seconds) {
    return failure(SignatureError::kCreatedOutOfWindow, label,
                   "created " + std::to_string(*params.created) + " is more than " +
                       std::to_string(policy.max_skew_seconds) + " s from now " +
                       std::to_string(policy.now));
  }
  if (params.expires && policy.now > *params.expires &&
      distance(policy.now, *params.expires) > policy.max_skew_seconds) {
    return failure(SignatureError::kExpired, label,
                   "expired at " + std::to_string(*params.expires));
  }

  for (const std::string& requirement : policy.required_components) {
    bool covered = std::any_of(
        params.components.begin(), params.components.end(),
        [&](const ComponentId& component) { return matches_requirement(component, requirement); });
    if (!covered) {
      return failure(SignatureError::kMissingComponent, label,
                     "required component " + requirement + " is not covered");
    }
  }
  bool covers_digest =
      std::any_of(params.components.begin(), params.components.end(),
                  [](const ComponentId& component) { return component.name == "content-digest"; });
  if (policy.require_content_digest && !request.body.empty() && !covers_digest) {
    return failure(SignatureError::kMissingComponent, label,
                   "the request has a body but content-digest is not covered");
  }

  if (!params.keyid) return failure(SignatureError::kUnknownKey, label, "no keyid");
  std::optional<Ed25519PublicKey> public_key =
      key_lookup ? key_lookup(*params.keyid) : std::nullopt;
  if (!public_key) {
    return failure(SignatureError::kUnknownKey, label, "unknown keyid " + *params.keyid);
  }

  // The @signature-params value is the received inner list serialised
  // (RFC 9421 section 2.3), so unknown parameters and their order are kept.
  std::string base;
  base.reserve(kBaseReserve);
  base += kParamsLinePrefix;
  Status params_value = sf::append_inner_list(base, parsed->signature_input);
  if (!params_value.is_ok()) {
    return failure(SignatureError::kMalformedSignature, label, params_value.message());
  }
  const size_t params_line = base.size();
  ValueSpan digest_value;
  Status lines = append_component_lines(base, request, params.components, &digest_value);
  if (!lines.is_ok()) {
    SignatureError reason = lines.code() == StatusCode::kNotFound
                                ? SignatureError::kMissingComponent
                                : SignatureError::kMalformedSignature;
    return failure(reason, label, lines.message());
  }
  move_params_line_last(base, params_line);

  auto signature_value = Ed25519Signature::from_bytes(parsed->signature);
  if (!signature_value.is_ok()) {
    return failure(
        SignatureError::kMalformedSignature, label,
        "an Ed25519 signature is 64 bytes, got " + std::to_string(parsed->signature.size()));
  }
  const bool signature_ok =
      policy.key_cache != nullptr
          ? policy.key_cache->verify(*public_key, as_bytes(base), *signature_value)
          : ed25519_verify(*public_key, as_bytes(base), *signature_value);
  if (!signature_ok) {
    return failure(SignatureError::kBadSignature, label, "signature does not verify");
  }

  if (covers_digest) {
    // Present: building the base would have failed otherwise. The base
    // already holds the combined field when it covers it without parameters.
    std::string digest_field;
    std::string_view digest_text;
    if (digest_value.offset != kNoValue) {
      digest_text =
          std::string_view(base).substr(digest_value.offset - params_line, digest_value.size);
    } else {
      digest_field = combined_field(request, "content-digest").value_or("");
      digest_text = digest_field;
    }
    DigestVerdict verdict = verify_content_digest(digest_text, as_bytes(request.body));
    if (verdict != DigestVerdict::kMatch) {
      return failure(SignatureError::kDigestMismatch, label,
                     "Content-Digest: " + std::string(digest_verdict_name(verdict)));
    }
  }
  return VerifiedSignature{std::string(label), std::move(parsed->params), std::move(base),
                           std::move(parsed->signature)};
}

}  // namespace

HeaderValuesFn header_values_from(const std::vector<std::pair<std::string, std::string>>& fields) {
  return [&fields](std::string_view lowercase_name) {
    std::vector<std::string_view> values;
    for (const auto& [name, value] : fields) {
      if (equals_ignore_case(name, lowercase_name)) values.emplace_back(value);
    }
    return values;
  };
}

ComponentId ComponentId::query_param(std::string parameter_name) {
  ComponentId component{"@query-param", {}};
  component.parameters.set("name", std::move(parameter_name));
  return component;
}

Result<std::string> ComponentId::serialize() const {
  return sf::serialize_item(sf::Item{name, parameters});
}

Result<std::string> signature_params_value(const SignatureParams& params) {
  std::string value;
  CUSTOS_RETURN_IF_ERROR(append_params_value(value, params));
  return value;
}

Result<std::string> signature_base(const SignedRequestView& request,
                                   const SignatureParams& params) {
  std::string base;
  base.reserve(kBaseReserve);
  base += kParamsLinePrefix;
  CUSTOS_RETURN_IF_ERROR(append_params_value(base, params));
  const size_t params_line = base.size();
  CUSTOS_RETURN_IF_ERROR(append_component_lines(base, request, params.components, nullptr));
  move_params_line_last(base, params_line);
  return base;
}

Result<std::vector<std::string>> signature_labels(std::string_view signature_input) {
  CUSTOS_ASSIGN_OR_RETURN(sf::Dictionary dictionary, sf::parse_dictionary(signature_input));
  std::vector<std::string> labels;
  for (const auto& entry : dictionary.entries()) labels.push_back(entry.first);
  return labels;
}

Result<ParsedSignature> parse_signature(std::string_view signature_input,
                                        std::string_view signature, std::string_view label) {
  auto inputs = sf::parse_dictionary(signature_input);
  if (!inputs.is_ok()) return inputs.status().with_context("Signature-Input");
  auto signatures = sf::parse_dictionary(signature);
  if (!signatures.is_ok()) return signatures.status().with_context("Signature");
  sf::ListMember* input_member = inputs->find(label);
  if (input_member == nullptr) {
    return not_found("Signature-Input has no label '" + std::string(label) + "'");
  }
  sf::ListMember* signature_member = signatures->find(label);
  if (signature_member == nullptr) {
    return not_found("Signature has no label '" + std::string(label) + "'");
  }
  auto* inner = std::get_if<sf::InnerList>(input_member);
  if (inner == nullptr) return invalid_argument("Signature-Input member is not an Inner List");
  auto* item = std::get_if<sf::Item>(signature_member);
  auto* bytes = item ? std::get_if<sf::ByteSequence>(&item->value) : nullptr;
  if (bytes == nullptr) return invalid_argument("Signature member is not a Byte Sequence");
  Result<ParsedSignature> parsed(ParsedSignature{});
  CUSTOS_RETURN_IF_ERROR(params_from_inner_list(*inner, parsed->params));
  parsed->label = label;
  // The parsed fields are discarded: their members move out.
  parsed->signature_input = std::move(*inner);
  parsed->signature = std::move(bytes->value);
  return parsed;
}

Result<SignedHeaders> sign_request(const SignedRequestView& request, const SignatureParams& params,
                                   const Ed25519KeyPair& key, std::string_view label) {
  if (!sf::is_valid_key(label)) return invalid_argument("invalid signature label");
  if (params.alg && *params.alg != kAlgEd25519) {
    return invalid_argument("sign_request signs with ed25519 only, alg is " + *params.alg);
  }
  CUSTOS_ASSIGN_OR_RETURN(sf::InnerList inner, params_inner_list(params));
  CUSTOS_ASSIGN_OR_RETURN(std::string params_value, sf::serialize_inner_list(inner));
  CUSTOS_ASSIGN_OR_RETURN(std::string base, build_base(request, params.components, params_value));
  Ed25519Signature signature = key.sign(as_bytes(base));
  SignedHeaders headers;
  CUSTOS_ASSIGN_OR_RETURN(headers.signature_input, dictionary_member_value(label, inner));
  sf::Item signature_item{sf::ByteSequence{Bytes(signature.bytes.begin(), signature.bytes.end())},
                          {}};
  CUSTOS_ASSIGN_OR_RETURN(headers.signature, dictionary_member_value(label, signature_item));
  headers.signature_base = std::move(base);
  return headers;
}

std::string_view signature_error_name(SignatureError error) {
  switch (error) {
    case SignatureError::kMissingSignature:
      return "MissingSignature";
    case SignatureError::kMalformedSignature:
      return "MalformedSignature";
    case SignatureError::kUnsupportedAlgorithm:
      return "UnsupportedAlgorithm";
    case SignatureError::kUnknownKey:
      return "UnknownKey";
    case SignatureError::kMissingParameter:
      return "MissingParameter";
    case SignatureError::kMissingComponent:
      return "MissingComponent";
    case SignatureError::kExpired:
      return "Expired";
    case SignatureError::kCreatedOutOfWindow:
      return "CreatedOutOfWindow";
    case SignatureError::kBadSignature:
      return "BadSignature";
    case SignatureError::kDigestMismatch:
      return "DigestMismatch";
  }
  return "Unknown";
}

Status VerifyResult::status() const {
  if (is_ok()) return Status::ok();
  const SignatureFailure& failed = failure();
  return Status(StatusCode::kUnauthenticated,
                std::string(signature_error_name(failed.reason)) + ": " + failed.detail);
}

VerifyResult verify_request(const SignedRequestView& request, std::optional<std::string_view> label,
                            const KeyLookupFn& key_lookup, const VerifyPolicy& policy) {
  std::string input_storage;
  std::string signature_storage;
  std::string_view signature_input_text;
  std::string_view signature_text;
  const bool has_input =
      combined_field_view(request, "signature-input", input_storage, signature_input_text);
  const bool has_signature =
      combined_field_view(request, "signature", signature_storage, signature_text);
  if (!has_input || !has_signature) {
    return failure(SignatureError::kMissingSignature, label.value_or(""),
                   "the request has no Signature-Input or no Signature field");
  }
  if (label) {
    return verify_label(request, signature_input_text, signature_text, *label, key_lookup, policy);
  }
  auto labels = signature_labels(signature_input_text);
  if (!labels.is_ok()) {
    return failure(SignatureError::kMalformedSignature, "", labels.status().message());
  }
  if (labels->empty()) {
    return failure(SignatureError::kMissingSignature, "", "Signature-Input is empty");
  }
  std::optional<VerifyResult> first_failure;
  for (const std::string& candidate : *labels) {
    VerifyResult result =
        verify_label(request, signature_input_text, signature_text, candidate, key_lookup, policy);
    if (result.is_ok()) return result;
    if (!first_failure) first_failure = std::move(result);
  }
  return std::move(*first_failure);
}

}  // namespace custos
