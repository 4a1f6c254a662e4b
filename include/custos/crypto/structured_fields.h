// custos crypto: Structured Field Values for HTTP (RFC 8941).
//
// Parses and serialises the three top-level types (List, Dictionary, Item),
// their members (Items and Inner Lists) with Parameters, and the six bare
// item types: Integer, Decimal, String, Token, Byte Sequence and Boolean.
// Parsing follows the algorithms of RFC 8941 section 4.2 exactly and is
// strict: any deviation (non-ASCII input, trailing garbage, a trailing
// comma, an Integer of more than 15 digits, a Decimal with more than three
// fraction digits, a bad escape) is refused with an InvalidArgument status,
// never a crash. Two leniencies the RFC asks for are kept: a Byte Sequence
// may omit "=" padding and may carry non-zero pad bits. Dictionary and
// Parameters keys that repeat keep the position of their first occurrence
// and the value of their last (RFC 8941 section 4.2.2 and 4.2.3.2).
//
// Serialisation follows RFC 8941 section 4.1 and is canonical, so
// parse(serialise(x)) == x for every value a parse returned. Values built by
// hand are validated while serialising (a Token that is not a token, a key
// with an upper-case letter, an Integer beyond 15 digits) and refused with
// an InvalidArgument status. An empty List or Dictionary serialises to the
// empty string, which callers send by omitting the field.
//
// Decimals are held exactly as a count of thousandths, so a parsed Decimal
// round-trips bit for bit. Everything here is a plain value; the free
// functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos::sf {

// Largest magnitude of an Integer (15 decimal digits).
inline constexpr int64_t kMaxInteger = 999'999'999'999'999;

// A Decimal: at most 12 integer digits and exactly representable with
// three fraction digits.
struct Decimal {
  int64_t thousandths = 0;

  // Rounds to three fraction digits (half to even, as RFC 8941 asks);
  // refuses NaN, infinities and magnitudes of 10^12 or more.
  static Result<Decimal> from_double(double value);
  double to_double() const { return static_cast<double>(thousandths) / 1000.0; }
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// A Token: ( ALPHA / "*" ) *( tchar / ":" / "/" ).
struct Token {
  std::string value;
  friend bool operator==(const Token&, const Token&) = default;
};

// A Byte Sequence (kept distinct from String, which holds printable ASCII).
struct ByteSequence {
  Bytes value;
  friend bool operator==(const ByteSequence&, const ByteSequence&) = default;
};

// Integer, Decimal, String, Token, Byte Sequence or Boolean.
using BareItem = std::variant<int64_t, Decimal, std::string, Token, ByteSequence, bool>;

// An ordered map from keys to bare items.
class Parameters {
 public:
  using Entry = std::pair<std::string, BareItem>;

  // The value of `key`, or nullptr.
  const BareItem* find(std::string_view key) const;
  // Overwrites the value of an existing key in place, or appends.
  void set(std::string key, BareItem value);
  void reserve(size_t entries) { entries_.reserve(entries); }

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  friend bool operator==(const Parameters&, const Parameters&) = default;

 private:
  std::vector<Entry> entries_;
};

struct Item {
  BareItem value;
  Parameters parameters;
  friend bool operator==(const Item&, const Item&) = default;
};

struct InnerList {
  std::vector<Item> items;
  Parameters parameters;
  friend bool operator==(const InnerList&, const InnerList&) = default;
};

// A member of a List or a Dictionary.
using ListMember = std::variant<Item, InnerList>;

using List = std::vector<ListMember>;

// An ordered map from keys to members.
class Dictionary {
 public:
  using Entry = std::pair<std::string, ListMember>;

  const ListMember* find(std::string_view key) const;
  ListMember* find(std::string_view key);
  void set(std::string key, ListMember value);

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  friend bool operator==(const Dictionary&, const Dictionary&) = default;

 private:
  std::vector<Entry> entries_;
};

// Parsing a whole field value (several field lines joined with "," first).
Result<List> parse_list(std::string_view field_value);
Result<Dictionary> parse_dictionary(std::string_view field_value);
Result<Item> parse_item(std::string_view field_value);

// Canonical serialisation of a whole field value.
Result<std::string> serialize_list(const List& list);
Result<std::string> serialize_dictionary(const Dictionary& dictionary);
Result<std::string> serialize_item(const Item& item);

// Serialisation of the pieces, for protocols that embed them (RFC 9421
// serialises a lone Inner List and a Dictionary member's value).
Result<std::string> serialize_inner_list(const InnerList& inner_list);
Result<std::string> serialize_list_member(const ListMember& member);
Result<std::string> serialize_bare_item(const BareItem& value);
Result<std::string> serialize_parameters(const Parameters& parameters);

// The same serialisations appended to `out`, for callers that assemble a
// larger text (a signature base) in one buffer. On an error `out` may hold
// part of the serialisation.
Status append_item(std::string& out, const Item& item);
Status append_inner_list(std::string& out, const InnerList& inner_list);
Status append_parameters(std::string& out, const Parameters& parameters);
// A String (quoted, escaped) and an Integer.
Status append_string(std::string& out, std::string_view text);
Status append_integer(std::string& out, int64_t value);

// Character classes of RFC 8941 section 3.
bool is_valid_key(std::string_view key);
bool is_valid_token(std::string_view token);
// Printable ASCII only (%x20-7E).
bool is_valid_string(std::string_view text);

}  // namespace custos::sf
