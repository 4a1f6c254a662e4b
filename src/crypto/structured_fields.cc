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

// The value of each base64 character, -1 for every other byte.
constexpr std::array<int8_t, 256> kBase64Values = [] {
  std::array<int8_t, 256> values{};
  values.fill(-1);
  for (int i = 0; i < 64; ++i) values[static_cast<uint8_t>(kBase64Alphabet[i])] = int8_t(i);
  return values;
}();

int base64_value(char c) { return kBase64Values[static_cast<uint8_t>(c)]; }

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
  const size_t rest = data_length % 4;
  if (rest == 1) return invalid_argument("byte sequence has a truncated quantum");
  const size_t full = data_length - rest;
  Bytes bytes(full / 4 * 3 + (rest == 0 ? 0 : rest - 1));
  int invalid = 0;  // negative once any character is outside the alphabet
  size_t out = 0;
  for (size_t i = 0; i < full; i += 4) {
    int a = base64_value(text[i]), b = base64_value(text[i + 1]);
    int c = base64_value(text[i + 2]), d = base64_value(text[i + 3]);
    invalid |= a | b | c | d;
    uint32_t v = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6 | uint32_t(d);
    bytes[out] = static_cast<uint8_t>(v >> 16);
    bytes[out + 1] = static_cast<uint8_t>(v >> 8);
    bytes[out + 2] = static_cast<uint8_t>(v);
    out += 3;
  }
  if (rest != 0) {
    // Two or three characters: one or two bytes; the pad bits are dropped.
    int a = base64_value(text[full]), b = base64_value(text[full + 1]);
    int c = rest == 3 ? base64_value(text[full + 2]) : 0;
    invalid |= a | b | c;
    uint32_t v = uint32_t(a) << 18 | uint32_t(b) << 12 | uint32_t(c) << 6;
    bytes[out] = static_cast<uint8_t>(v >> 16);
    if (rest == 3) bytes[out + 1] = static_cast<uint8_t>(v >> 8);
  }
  if (invalid < 0) return invalid_argument("byte sequence has a character outside base64");
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

// A cursor over the input string, one method per parsing algorithm. Each
// method parses into a caller-provided value and returns a Status, so the
// parsed values are built in place instead of being moved through Results.
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
  Status list(List& members) {
    while (!at_end()) {
      ListMember& member = members.emplace_back();
      CUSTOS_RETURN_IF_ERROR(item_or_inner_list(member));
      CUSTOS_RETURN_IF_ERROR(after_member());
    }
    return Status::ok();
  }

  // RFC 8941 section 4.2.2.
  Status dictionary(Dictionary& dictionary) {
    while (!at_end()) {
      CUSTOS_RETURN_IF_ERROR(check_key_start());
      std::string_view key = scan_key();
      ListMember member;
      if (peek() == '=') {
        ++pos_;
        CUSTOS_RETURN_IF_ERROR(item_or_inner_list(member));
      } else {
        Item& flag = member.emplace<Item>();
        flag.value = true;
        CUSTOS_RETURN_IF_ERROR(parse_parameters(flag.parameters));
      }
      dictionary.set(std::string(key), std::move(member));
      CUSTOS_RETURN_IF_ERROR(after_member());
    }
    return Status::ok();
  }

  // RFC 8941 section 4.2.3.
  Status item(Item& out) {
    CUSTOS_RETURN_IF_ERROR(bare_item(out.value));
    return parse_parameters(out.parameters);
  }

 private:
  char peek() const { return at_end() ? '\0' : input_[pos_]; }

  Status error(std::string_view what) const {
    std::string message = "structured field: ";
    message += what;
    message += " at offset ";
    message += std::to_string(pos_);
    return invalid_argument(std::move(message));
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

  Status item_or_inner_list(ListMember& out) {
    if (peek() == '(') return inner_list(out.emplace<InnerList>());
    return item(out.emplace<Item>());
  }

  // RFC 8941 section 4.2.1.2.
  Status inner_list(InnerList& inner) {
    ++pos_;  // '('
    while (!at_end()) {
      skip_sp();
      if (peek() == ')') {
        ++pos_;
        return parse_parameters(inner.parameters);
      }
      if (inner.items.empty()) inner.items.reserve(4);
      CUSTOS_RETURN_IF_ERROR(item(inner.items.emplace_back()));
      char next = peek();
      if (next != ' ' && next != ')') return error("expected ' ' or ')' in inner list");
    }
    return error("unterminated inner list");
  }

  // RFC 8941 section 4.2.3.1.
  Status bare_item(BareItem& out) {
    char c = peek();
    if (c == '-' || is_digit(c)) return number(out);
    if (c == '"') return string(out);
    if (c == '*' || is_alpha(c)) return token(out);
    if (c == ':') return byte_sequence(out);
    if (c == '?') return boolean(out);
    return error(at_end() ? "missing item" : "unexpected character for an item");
  }

  // RFC 8941 section 4.2.3.2.
  Status parse_parameters(Parameters& parameters) {
    while (peek() == ';') {
      ++pos_;
      skip_sp();
      CUSTOS_RETURN_IF_ERROR(check_key_start());
      std::string_view key = scan_key();
      BareItem value = true;
      if (peek() == '=') {
        ++pos_;
        CUSTOS_RETURN_IF_ERROR(bare_item(value));
      }
      if (parameters.empty()) parameters.reserve(4);
      parameters.set(std::string(key), std::move(value));
    }
    return Status::ok();
  }

  // RFC 8941 section 4.2.3.3, in two steps: the first character, then the rest.
  Status check_key_start() const {
    char first = peek();
    if (!is_lcalpha(first) && first != '*') return error("key must start with a-z or '*'");
    return Status::ok();
  }
  std::string_view scan_key() {
    size_t start = pos_;
    while (!at_end() && is_key_char(input_[pos_])) ++pos_;
    return input_.substr(start, pos_ - start);
  }

  // RFC 8941 section 4.2.4.
  Status number(BareItem& out) {
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
    if (peek() != '.') {
      out = negative ? -integer_part : integer_part;
      return Status::ok();
    }
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
    out = Decimal{negative ? -thousandths : thousandths};
    return Status::ok();
  }

  // RFC 8941 section 4.2.5. Runs of plain characters are appended whole.
  Status string(BareItem& out) {
    ++pos_;  // '"'
    std::string& text = out.emplace<std::string>();
    size_t run = pos_;
    while (!at_end()) {
      char c = input_[pos_];
      if (c == '"') {
        text.append(input_.data() + run, pos_ - run);
        ++pos_;
        return Status::ok();
      }
      if (c == '\\') {
        text.append(input_.data() + run, pos_ - run);
        ++pos_;
        if (at_end()) return error("string ends inside an escape");
        char escaped = input_[pos_++];
        if (escaped != '"' && escaped != '\\') return error("string has an invalid escape");
        text += escaped;
        run = pos_;
        continue;
      }
      ++pos_;
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E) {
        return error("string has a non-printable character");
      }
    }
    return error("unterminated string");
  }

  // RFC 8941 section 4.2.6.
  Status token(BareItem& out) {
    size_t start = pos_++;
    while (!at_end() && (is_tchar(input_[pos_]) || input_[pos_] == ':' || input_[pos_] == '/')) {
      ++pos_;
    }
    out.emplace<Token>().value.assign(input_.data() + start, pos_ - start);
    return Status::ok();
  }

  // RFC 8941 section 4.2.7.
  Status byte_sequence(BareItem& out) {
    ++pos_;  // ':'
    size_t end = input_.find(':', pos_);
    if (end == std::string_view::npos) return error("unterminated byte sequence");
    std::string_view encoded = input_.substr(pos_, end - pos_);
    for (char c : encoded) {
      if (base64_value(c) < 0 && c != '=') {
        return error("byte sequence has a character outside base64");
      }
    }
    auto decoded = decode_byte_sequence(encoded);
    if (!decoded.is_ok()) return error(decoded.status().message());
    pos_ = end + 1;
    out.emplace<ByteSequence>().value = std::move(decoded).value();
    return Status::ok();
  }

  // RFC 8941 section 4.2.8.
  Status boolean(BareItem& out) {
    ++pos_;  // '?'
    char c = peek();
    if (c != '0' && c != '1') return error("boolean must be ?0 or ?1");
    ++pos_;
    out = c == '1';
    return Status::ok();
  }

  std::string_view input_;
  size_t pos_ = 0;
};

template <typename T, typename Parse>
Result<T> parse_top_level(std::string_view field_value, Parse parse) {
  Parser parser(field_value);
  CUSTOS_RETURN_IF_ERROR(parser.check_ascii());
  parser.skip_sp();
  T value;
  CUSTOS_RETURN_IF_ERROR(parse(parser, value));
  CUSTOS_RETURN_IF_ERROR(parser.expect_end());
  return value;
}

Status serialize_bare_item_to(std::string& out, const BareItem& value);

Status append_integer_to(std::string& out, int64_t value) {
  if (value > kMaxInteger || value < -kMaxInteger) {
    return invalid_argument("structured field: integer out of range");
  }
  char digits[24];
  size_t length = 0;
  uint64_t magnitude = value < 0 ? static_cast<uint64_t>(-value) : static_cast<uint64_t>(value);
  do {
    digits[length++] = static_cast<char>('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude != 0);
  if (value < 0) out += '-';
  while (length > 0) out += digits[--length];
  return Status::ok();
}

// One pass: checks each character and appends runs without '"' or '\\' whole.
Status append_string_to(std::string& out, std::string_view text) {
  const size_t start = out.size();
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte > 0x7E) {
      out.resize(start);
      return invalid_argument("structured field: string has a non-printable character");
    }
    if (byte == '"' || byte == '\\') {
      out.append(text.data() + run, i - run);
      out += '\\';
      run = i;
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
  return Status::ok();
}

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
  if (const auto* integer = std::get_if<int64_t>(&value)) return append_integer_to(out, *integer);
  if (const auto* decimal = std::get_if<Decimal>(&value)) {
    return serialize_decimal_to(out, *decimal);
  }
  if (const auto* text = std::get_if<std::string>(&value)) return append_string_to(out, *text);
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

ListMember* Dictionary::find(std::string_view key) {
  for (auto& entry : entries_) {
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
  return parse_top_level<List>(field_value,
                               [](Parser& parser, List& list) { return parser.list(list); });
}

Result<Dictionary> parse_dictionary(std::string_view field_value) {
  return parse_top_level<Dictionary>(field_value, [](Parser& parser, Dictionary& dictionary) {
    return parser.dictionary(dictionary);
  });
}

Result<Item> parse_item(std::string_view field_value) {
  return parse_top_level<Item>(field_value,
                               [](Parser& parser, Item& item) { return parser.item(item); });
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

Status append_item(std::string& out, const Item& item) { return serialize_item_to(out, item); }

Status append_inner_list(std::string& out, const InnerList& inner_list) {
  return serialize_inner_list_to(out, inner_list);
}

Status append_parameters(std::string& out, const Parameters& parameters) {
  return serialize_parameters_to(out, parameters);
}

Status append_string(std::string& out, std::string_view text) {
  return append_string_to(out, text);
}

Status append_integer(std::string& out, int64_t value) { return append_integer_to(out, value); }

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
