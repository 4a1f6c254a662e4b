// custos core: a small streaming JSON writer.
//
// Produces compact, valid JSON (RFC 8259) into a std::string. Strings are
// escaped; invalid UTF-8 in input text is replaced by U+FFFD so the output
// is always valid. The writer does not check nesting: callers pair
// begin/end calls. Not thread-safe (one writer per response).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "custos/core/bytes.h"

namespace custos {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  // Writes an object key; the next call writes its value.
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  // Writes the base64 of `bytes` (base64_encode's text) as a string, straight
  // into the output: base64 never needs escaping.
  JsonWriter& base64_string(ByteView bytes);
  JsonWriter& number(int64_t value);
  JsonWriter& number(uint64_t value);
  JsonWriter& number(int value) { return number(static_cast<int64_t>(value)); }
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Inserts already-serialised JSON as a value.
  JsonWriter& raw(std::string_view json);

  // Room for `bytes` more output without reallocating (a hint, like std::string::reserve).
  void reserve(size_t bytes) { out_.reserve(out_.size() + bytes); }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separator();
  std::string out_;
  bool need_comma_ = false;
};

// Appends `text` to `out` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view text);
// Appends the base64 of `bytes` to `out` as a JSON string literal, the same
// as append_json_string(out, base64_encode(bytes)).
void append_json_base64_string(std::string& out, ByteView bytes);

}  // namespace custos
