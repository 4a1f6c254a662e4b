// custos policy: Cedar values.
//
// A Value is one Cedar value: Bool, Long (signed 64-bit; arithmetic that
// overflows is an evaluation error, never wraps), String, EntityUid (a type
// path such as `Custos::Device` plus an id string), Set (unordered, no
// duplicates), Record (string keys to values), and the two extension types
// `ipaddr` (IpAddr) and `decimal` (Decimal). Values are immutable and cheap to
// copy: strings, uids, sets and records are shared, reference-counted
// payloads, so copying a Value never allocates. Equality is Cedar equality
// (values of different kinds are unequal, sets compare as sets, records
// structurally); the total order `compare` exists only to canonicalise sets.
//
// Thread-safety: a Value may be read from many threads at once.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "custos/core/status.h"

namespace custos::policy {

// An entity's identity: its type path (e.g. "Custos::Device") and id.
struct EntityUid {
  std::string type;
  std::string id;

  friend bool operator==(const EntityUid&, const EntityUid&) = default;
  friend auto operator<=>(const EntityUid&, const EntityUid&) = default;
  // Cedar syntax: Type::"id" with the id escaped.
  std::string to_string() const;
};

struct EntityUidHash {
  size_t operator()(const EntityUid& uid) const noexcept;
};

// Cedar `ipaddr`: an IPv4 or IPv6 address with a prefix length, kept exactly
// as written (host bits are not cleared, so 10.0.0.1/24 != 10.0.0.0/24).
struct IpAddr {
  bool is_v4 = true;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4 bytes
  uint8_t prefix = 32;

  // Parses Cedar's accepted forms: dotted quad without leading zeros, IPv6
  // text (no embedded IPv4), optional "/prefix" of at most two digits.
  static Result<IpAddr> parse(std::string_view text);
  bool is_loopback() const;
  bool is_multicast() const;
  // True when every address of this range lies in `range` (same family).
  bool is_in_range(const IpAddr& range) const;
  std::string to_string() const;

  friend bool operator==(const IpAddr&, const IpAddr&) = default;
  friend auto operator<=>(const IpAddr&, const IpAddr&) = default;
};

// Cedar `decimal`: a fixed-point number with four fractional digits, stored
// as value * 10^4 in an int64.
struct Decimal {
  int64_t scaled = 0;

  // Accepts -?[0-9]+\.[0-9]{1,4} within the int64 range after scaling.
  static Result<Decimal> parse(std::string_view text);
  std::string to_string() const;

  friend bool operator==(const Decimal&, const Decimal&) = default;
  friend auto operator<=>(const Decimal&, const Decimal&) = default;
};

class Value;
// Sorted by `compare`, no duplicates.
using SetElements = std::vector<Value>;
// Sorted by key, keys unique.
using RecordFields = std::vector<std::pair<std::string, Value>>;

enum class ValueKind : uint8_t {
  kBool,
  kLong,
  kString,
  kEntity,
  kSet,
  kRecord,
  kIp,
  kDecimal,
};

// Cedar's name for a kind, as used in type-error messages ("long", "set"...).
std::string_view value_kind_name(ValueKind kind);

class Value {
 public:
  Value() : payload_(false) {}
  static Value boolean(bool value) { return Value(Payload(value)); }
  static Value long_value(int64_t value) { return Value(Payload(value)); }
  static Value string(std::string value);
  static Value entity(EntityUid uid);
  // Sorts and removes duplicates.
  static Value set(std::vector<Value> elements);
  // Precondition-free: sorts by key; on duplicate keys the last one wins.
  static Value record(RecordFields fields);
  static Value ip(IpAddr ip) { return Value(Payload(ip)); }
  static Value decimal(Decimal decimal) { return Value(Payload(decimal)); }

  ValueKind kind() const { return static_cast<ValueKind>(payload_.index()); }
  bool is(ValueKind kind) const { return this->kind() == kind; }

  // Accessors; each has the matching kind as precondition.
  bool as_bool() const { return std::get<bool>(payload_); }
  int64_t as_long() const { return std::get<int64_t>(payload_); }
  const std::string& as_string() const { return *std::get<StringPtr>(payload_); }
  const EntityUid& as_entity() const { return *std::get<EntityPtr>(payload_); }
  const SetElements& as_set() const { return *std::get<SetPtr>(payload_); }
  const RecordFields& as_record() const { return *std::get<RecordPtr>(payload_); }
  const IpAddr& as_ip() const { return std::get<IpAddr>(payload_); }
  const Decimal& as_decimal() const { return std::get<Decimal>(payload_); }

  // Record field lookup (kind must be kRecord); nullptr when absent.
  const Value* field(std::string_view key) const;
  // Set membership (kind must be kSet).
  bool set_contains(const Value& element) const;

  friend bool operator==(const Value& a, const Value& b);
  // Total order over all values: by kind, then by content.
  friend std::strong_ordering compare(const Value& a, const Value& b);

  // Cedar-like text, for messages and tests.
  std::string to_string() const;

 private:
  using StringPtr = std::shared_ptr<const std::string>;
  using EntityPtr = std::shared_ptr<const EntityUid>;
  using SetPtr = std::shared_ptr<const SetElements>;
  using RecordPtr = std::shared_ptr<const RecordFields>;
  // Alternative order matches ValueKind.
  using Payload =
      std::variant<bool, int64_t, StringPtr, EntityPtr, SetPtr, RecordPtr, IpAddr, Decimal>;
  explicit Value(Payload payload) : payload_(std::move(payload)) {}
  Payload payload_;
};

struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return compare(a, b) < 0; }
};

// Parses one value in Cedar's JSON value format (schema-less): booleans,
// integers, strings, arrays (sets), objects (records), and the escapes
// {"__entity": {"type": T, "id": I}} and {"__extn": {"fn": "ip"|"decimal",
// "arg": S}}. `null` and non-integer numbers are rejected.
Result<Value> parse_value_json(std::string_view json);

// Writes `value` in the same JSON format.
std::string value_to_json(const Value& value);

}  // namespace custos::policy
