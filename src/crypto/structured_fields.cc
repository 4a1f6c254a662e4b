// RFC 8941 parsing (section 4.2) and serialisation (section 4.1).
#include "custos/crypto/structured_fields.h"

#include <array>
#include <cmath>
#include <cstdlib>

namespace custos::sf {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_alpha(char c) { return is_lcalpha(c) || (c >= 'A' && c <= 'Z'); }

// tchar of RFC 9110 section 5.6.2.
bool is_tchar(char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (is_digit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes the text between the colons of a Byte Sequence. RFC 8941 section
// 4.2.7 asks parsers not to fail on missing "=" padding or non-zero pad bits,
// so this decoder accepts both; "=" anywhere but at the end is refused.
Result<Bytes> decode_byte_sequence(std::string_view text) {
  size_t data_length = text.size();
  while (data_length > 0 && text[data_length - 1] == '=') --data_length;
  size_t padding = text.size() - data_length;
  if (padding > 2) return invalid_argument("byte sequence has too much padding");
  if (padding > 0 && text.size() % 4 != 0) {
    return invalid_argument("byte sequence padding does not complete a quantum");
  }
  if (data_length % 4 == 1) return invalid_argument("byte sequence has a truncated quantum");
  Bytes bytes;
  bytes.reserve(data_length * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (size_t i = 0; i < data_length; ++i) {
    int value = base64_value(text[i]);
    if (value < 0) return invalid_argument("byte sequence has a character outside base64");
    accumulator = (accumulator << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>(accumulator >> bits));
      accumulator &= (1u << bits) - 1;
    }
  }
  return bytes;
}

void append_base64(std::string& out, const Bytes& bytes) {
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += kBase64Alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(bytes[i]) << 16;
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8;
    out += kBase64Alphabet[v >> 18];
    out += kBase64Alphabet[(v >> 12) & 63];
    out += kBase64Alphabet[(v >> 6) & 63];
    out += '=';
  }
}

// A cursor over the input string, one method per parsing algorithm.
class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input) {}

  Status check_ascii() const {
    for (char c : input_) {
      if (static_cast<unsigned char>(c) > 0x7F) return error("non-ASCII byte");
    }
    return Status::ok();
  }

  void skip_sp() {
    while (pos_ < input_.size() && input_[pos_] == ' ') ++pos_;
  }
  void skip_ows() {
    while (pos_ < input_.size() && (input_[pos_] == ' ' || input_[pos_] == '\t')) ++pos_;
  }
  bool at_end() const { return pos_ >= input_.size(); }
  Status expect_end() {
    skip_sp();
    if (!at_end()) return error("unexpected trailing characters");
    return Status::ok();
  }

  // RFC 8941 section 4.2.1.
  Result<List> list() {
    List members;
    while (!at_end()) {
      CUSTOS_ASSIGN_OR_RETURN(ListMember member, item_or_inner_list());
      members.push_back(std::move(member));
      CUSTOS_RETURN_IF_ERROR(after_member());
      if (at_end()) return members;
    }
    return members;
  }

  // RFC 8941 section 4.2.2.
  Result<Dictionary> dictionary() {
    Dictionary dictionary;
    while (!at_end()) {
      CUSTOS_ASSIGN_OR_RETURN(std::string key, parse_key());
      if (peek() == '=') {
        ++pos_;
        CUSTOS_ASSIGN_OR_RETURN(ListMember member, item_or_inner_list());
        dictionary.set(std::move(key), std::move(member));
      } else {
        CUSTOS_ASSIGN_OR_RETURN(Parameters parameters, parse_parameters());
        dictionary.set(std::move(key), Item{true, std::move(parameters)});
      }
      CUSTOS_RETURN_IF_ERROR(after_member());
      if (at_end()) return dictionary;
    }
    return dictionary;
  }

  // RFC 8941 section 4.2.3.
  Result<Item> item() {
    CUSTOS_ASSIGN_OR_RETURN(BareItem value, bare_item());
    CUSTOS_ASSIGN_OR_RETURN(Parameters parameters, parse_parameters());
    return Item{std::move(value), std::move(parameters)};
  }

 private:
  char peek() const { return at_end() ? '\0' : input_[pos_]; }

  Status error(std::string_view what) const {
    return invalid_argument("structured field: " + std::string(what) + " at offset " +
                            std::to_string(pos_));
  }

  // The separator between List or Dictionary members: OWS "," OWS, with no
  // trailing comma. Leaves the cursor at the end when the input is done.
  Status after_member() {
    skip_ows();
    if (at_end()) return Status::ok();
    if (input_[pos_] != ',') return error("expected ',' between members");
    ++pos_;
    skip_ows();
    if (at_end()) return error("trailing comma");
    return Status::ok();
  }

  Result<ListMember> item_or_inner_list() {
    if (peek() == '(') {
      CUSTOS_ASSIGN_OR_RETURN(InnerList inner, inner_list());
      return ListMember(std::move(inner));
    }
    CUSTOS_ASSIGN_OR_RETURN(Item parsed, item());
    return ListMember(std::move(parsed));
  }

  // RFC 8941 section 4.2.1.2.
  Result<InnerList> inner_list() {
    ++pos_;  // '('
    InnerList inner;
    while (!at_end()) {
      skip_sp();
      if (peek() == ')') {
        ++pos_;
        CUSTOS_ASSIGN_OR_RETURN(inner.parameters, parse_parameters());
        return inner;
      }
      CUSTOS_ASSIGN_OR_RETURN(Item parsed, item());
      inner.items.push_back(std::move(parsed));
      char next = peek();
      if (next != ' ' && next != ')') return error("expected ' ' or ')' in inner list");
    }
    return error("unterminated inner list");
  }

  // RFC 8941 section 4.2.3.1.
  Result<BareItem> bare_item() {
    char c = peek();
    if (c == '-' || is_digit(c)) return number();
    if (c == '"') return string();
    if (c == '*' || is_alpha(c)) return token();
    if (c == ':') return byte_sequence();
    if (c == '?') return boolean();
    return error(at_end() ? "missing item" : "unexpected character for an item");
  }

  // RFC 8941 section 4.2.3.2.
  Result<Parameters> parse_parameters() {
    Parameters parameters;
    while (peek() == ';') {
      ++pos_;
      skip_sp();
      CUSTOS_ASSIGN_OR_RETURN(std::string key, parse_key());
      BareItem value = true;
      if (peek() == '=') {
        ++pos_;
        CUSTOS_ASSIGN_OR_RETURN(value, bare_item());
      }
      parameters.set(std::move(key), std::move(value));
    }
    return parameters;
  }

  // RFC 8941 section 4.2.3.3.
  Result<std::string> parse_key() {
    char first = peek();
    if (!is_lcalpha(first) && first != '*') return error("key must start with a-z or '*'");
    size_t start = pos_;
    while (!at_end() && is_key_char(input_[pos_])) ++pos_;
    return std::string(input_.substr(start, pos_ - start));
  }

  // RFC 8941 section 4.2.4.
  Result<BareItem> number() {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      ++pos_;
    }
    if (!is_digit(peek())) return error("number has no digits");
    int64_t integer_part = 0;
    size_t integer_digits = 0;
    while (is_digit(peek())) {
      if (++integer_digits > 15) return error("integer has more than 15 digits");
      integer_part = integer_part * 10 + (input_[pos_] - '0');
      ++pos_;
    }
    if (peek() != '.') return BareItem(negative ? -integer_part : integer_part);
    if (integer_digits > 12) return error("decimal has more than 12 integer digits");
    ++pos_;  // '.'
    int64_t fraction = 0;
    size_t fraction_digits = 0;
    while (is_digit(peek())) {
      if (++fraction_digits > 3) return error("decimal has more than 3 fraction digits");
      fraction = fraction * 10 + (input_[pos_] - '0');
      ++pos_;
    }
    if (fraction_digits == 0) return error("decimal ends with '.'");
    for (size_t i = fraction_digits; i < 3; ++i) fraction *= 10;
    int64_t thousandths = integer_part * 1000 + fraction;
    return BareItem(Decimal{negative ? -thousandths : thousandths});
  }

  // RFC 8941 section 4.2.5.
  Result<BareItem> string() {
    ++pos_;  // '"'
    std::string text;
    while (!at_end()) {
      char c = input_[pos_++];
      if (c == '\\') {
        if (at_end()) return error("string ends inside an escape");
        char escaped = input_[pos_++];
        if (escaped != '"' && escaped != '\\') return error("string has an invalid escape");
        text += escaped;
      } else if (c == '"') {
        return BareItem(std::move(text));
      } else if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
        return error("string has a non-printable character");
      } else {
        text += c;
      }
    }
    return error("unterminated string");
  }

  // RFC 8941 section 4.2.6.
  Result<BareItem> token() {
    size_t start = pos_++;
    while (!at_end() && (is_tchar(input_[pos_]) || input_[pos_] == ':' || input_[pos_] == '/')) {
      ++pos_;
    }
    return BareItem(Token{std::string(input_.substr(start, pos_ - start))});
  }

  // RFC 8941 section 4.2.7.
  Result<BareItem> byte_sequence() {
    ++pos_;  // ':'
    size_t end = input_.find(':', pos_);
    if (end == std::string_view::npos) return error("unterminated byte sequence");
    std::string_view encoded = input_.substr(pos_, end - pos_);
    for (char c : encoded) {
      if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '/' && c != '=') {
        return error("byte sequence has a character outside base64");
      }
    }
    auto decoded = decode_byte_sequence(encoded);
    if (!decoded.is_ok()) return error(decoded.status().message());
    pos_ = end + 1;
    return BareItem(ByteSequence{std::move(decoded).value()});
  }

  // RFC 8941 section 4.2.8.
  Result<BareItem> boolean() {
    ++pos_;  // '?'
    char c = peek();
    if (c != '0' && c != '1') return error("boolean must be ?0 or ?1");
    ++pos_;
    return BareItem(c == '1');
  }

  std::string_view input_;
  size_t pos_ = 0;
};

template <typename T, typename Parse>
Result<T> parse_top_level(std::string_view field_value, Parse parse) {
  Parser parser(field_value);
  CUSTOS_RETURN_IF_ERROR(parser.check_ascii());
  parser.skip_sp();
  CUSTOS_ASSIGN_OR_RETURN(T value, parse(parser));
  CUSTOS_RETURN_IF_ERROR(parser.expect_end());
  return value;
}

Status serialize_bare_item_to(std::string& out, const BareItem& value);

Status serialize_key_to(std::string& out, std::string_view key) {
  if (!is_valid_key(key)) {
    return invalid_argument("structured field: invalid key '" + std::string(key) + "'");
  }
  out += key;
  return Status::ok();
}

Status serialize_parameters_to(std::string& out, const Parameters& parameters) {
  for (const auto& [key, value] : parameters.entries()) {
    out += ';';
    CUSTOS_RETURN_IF_ERROR(serialize_key_to(out, key));
    const bool* flag = std::get_if<bool>(&value);
    if (flag != nullptr && *flag) continue;
    out += '=';
    CUSTOS_RETURN_IF_ERROR(serialize_bare_item_to(out, value));
  }
  return Status::ok();
}

Status serialize_item_to(std::string& out, const Item& item) {
  CUSTOS_RETURN_IF_ERROR(serialize_bare_item_to(out, item.value));
  return serialize_parameters_to(out, item.parameters);
}

Status serialize_inner_list_to(std::string& out, const InnerList& inner) {
  out += '(';
  for (size_t i = 0; i < inner.items.size(); ++i) {
    if (i > 0) out += ' ';
    CUSTOS_RETURN_IF_ERROR(serialize_item_to(out, inner.items[i]));
  }
  out += ')';
  return serialize_parameters_to(out, inner.parameters);
}

Status serialize_member_to(std::string& out, const ListMember& member) {
  if (const auto* inner = std::get_if<InnerList>(&member)) {
    return serialize_inner_list_to(out, *inner);
  }
  return serialize_item_to(out, std::get<Item>(member));
}

Status serialize_decimal_to(std::string& out, const Decimal& decimal) {
  int64_t magnitude = decimal.thousandths < 0 ? -decimal.thousandths : decimal.thousandths;
  int64_t integer_part = magnitude / 1000;
  if (integer_part > 999'999'999'999) {
    return invalid_argument("structured field: decimal has more than 12 integer digits");
  }
  if (decimal.thousandths < 0) out += '-';
  out += std::to_string(integer_part);
  out += '.';
  int64_t fraction = magnitude % 1000;
  std::array<char, 3> digits = {static_cast<char>('0' + fraction / 100),
                                static_cast<char>('0' + fraction / 10 % 10),
                                static_cast<char>('0' + fraction % 10)};
  size_t length = 3;
  while (length > 1 && digits[length - 1] == '0') --length;
  out.append(digits.data(), length);
  return Status::ok();
}

Status serialize_bare_item_to(std::string& out, const BareItem& value) {
  if (const auto* integer = std::get_if<int64_t>(&value)) {
    if (*integer > kMaxInteger || *integer < -kMaxInteger) {
      return invalid_argument("structured field: integer out of range");
    }
    out += std::to_string(*integer);
    return Status::ok();
  }
  if (const auto* decimal = std::get_if<Decimal>(&value)) {
    return serialize_decimal_to(out, *decimal);
  }
  if (const auto* text = std::get_if<std::string>(&value)) {
    if (!is_valid_string(*text)) {
      return invalid_argument("structured field: string has a non-printable character");
    }
    out += '"';
    for (char c : *text) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return Status::ok();
  }
  if (const auto* token = std::get_if<Token>(&value)) {
    if (!is_valid_token(token->value)) {
      return invalid_argument("structured field: invalid token '" + token->value + "'");
    }
    out += token->value;
    return Status::ok();
  }
  if (const auto* bytes = std::get_if<ByteSequence>(&value)) {
    out += ':';
    append_base64(out, bytes->value);
    out += ':';
    return Status::ok();
  }
  out += std::get<bool>(value) ? "?1" : "?0";
  return Status::ok();
}

}  // namespace

Result<Decimal> Decimal::from_double(double value) {
  if (!std::isfinite(value)) return invalid_argument("decimal must be finite");
  // nearbyint rounds half to even in the default floating-point environment.
  double scaled = std::nearbyint(value * 1000.0);
  if (std::fabs(scaled) >= 1e15) return invalid_argument("decimal has more than 12 integer digits");
  return Decimal{static_cast<int64_t>(scaled)};
}

const BareItem* Parameters::find(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

void Parameters::set(std::string key, BareItem value) {
  for (auto& entry : entries_) {
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

const ListMember* Dictionary::find(std::string_view key) const {
  for (const auto& entry : entries_) {
    if (entry.first == key) return &entry.second;
  }
  return nullptr;
}

void Dictionary::set(std::string key, ListMember value) {
  for (auto& entry : entries_) {
    if (entry.first == key) {
      entry.second = std::move(value);
      return;
    }
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

Result<List> parse_list(std::string_view field_value) {
  return parse_top_level<List>(field_value, [](Parser& parser) { return parser.list(); });
}

Result<Dictionary> parse_dictionary(std::string_view field_value) {
  return parse_top_level<Dictionary>(field_value,
                                     [](Parser& parser) { return parser.dictionary(); });
}

Result<Item> parse_item(std::string_view field_value) {
  return parse_top_level<Item>(field_value, [](Parser& parser) { return parser.item(); });
}

Result<std::string> serialize_list(const List& list) {
  std::string out;
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ", ";
    CUSTOS_RETURN_IF_ERROR(serialize_member_to(out, list[i]));
  }
  return out;
}

Result<std::string> serialize_dictionary(const Dictionary& dictionary) {
  std::string out;
  bool first = true;
  for (const auto& [key, member] : dictionary.entries()) {
    if (!first) out += ", ";
    first = false;
    CUSTOS_RETURN_IF_ERROR(serialize_key_to(out, key));
    const auto* item = std::get_if<Item>(&member);
    const bool* flag = item != nullptr ? std::get_if<bool>(&item->value) : nullptr;
    if (flag != nullptr && *flag) {
      CUSTOS_RETURN_IF_ERROR(serialize_parameters_to(out, item->parameters));
    } else {
      out += '=';
      CUSTOS_RETURN_IF_ERROR(serialize_member_to(out, member));
    }
  }
  return out;
}

Result<std::string> serialize_item(const Item& item) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(serialize_item_to(out, item));
  return out;
}

Result<std::string> serialize_inner_list(const InnerList& inner_list) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(serialize_inner_list_to(out, inner_list));
  return out;
}

Result<std::string> serialize_list_member(const ListMember& member) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(serialize_member_to(out, member));
  return out;
}

Result<std::string> serialize_bare_item(const BareItem& value) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(serialize_bare_item_to(out, value));
  return out;
}

Result<std::string> serialize_parameters(const Parameters& parameters) {
  std::string out;
  CUSTOS_RETURN_IF_ERROR(serialize_parameters_to(out, parameters));
  return out;
}

bool is_valid_key(std::string_view key) {
  if (key.empty() || (!is_lcalpha(key[0]) && key[0] != '*')) return false;
  for (char c : key) {
    if (!is_key_char(c)) return false;
  }
  return true;
}

bool is_valid_token(std::string_view token) {
  if (token.empty() || (!is_alpha(token[0]) && token[0] != '*')) return false;
  for (char c : token) {
    if (!is_tchar(c) && c != ':' && c != '/') return false;
  }
  return true;
}

bool is_valid_string(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) return false;
  }
  return true;
}

}  // namespace custos::sf
