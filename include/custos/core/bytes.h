// custos core: byte strings and their text encodings.
//
// Bytes owns bytes; ByteView borrows them. Hex is lowercase on output and
// case-insensitive on input. Base64 is RFC 4648 standard alphabet with
// padding (the form C2SP notes and tiles use); decoding is strict: wrong
// length, bad characters or non-canonical padding bits are refused.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline ByteView as_bytes(std::string_view text) {
  return ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size());
}
inline std::string_view as_text(ByteView bytes) {
  return std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
inline Bytes to_bytes(std::string_view text) {
  return Bytes(text.begin(), text.end());
}

std::string hex_encode(ByteView bytes);
Result<Bytes> hex_decode(std::string_view hex);

std::string base64_encode(ByteView bytes);
// Appends the base64 of `bytes` to `text` (base64_encode without a string of its own).
void append_base64(std::string& text, ByteView bytes);
Result<Bytes> base64_decode(std::string_view text);

// Big-endian fixed-width integers, appended to or read from byte strings.
void append_u8(Bytes& out, uint8_t value);
void append_u16_be(Bytes& out, uint16_t value);
void append_u32_be(Bytes& out, uint32_t value);
void append_u64_be(Bytes& out, uint64_t value);
uint16_t read_u16_be(const uint8_t* in);
uint32_t read_u32_be(const uint8_t* in);
uint64_t read_u64_be(const uint8_t* in);

// Percent-encodes `text`: ASCII letters, digits and the characters in
// `also_unreserved` stay, every other byte becomes %XX (uppercase hex).
// RFC 3986 components use "-._~"; form encoding (RFC 9421 query params) "*-._".
std::string percent_encode(std::string_view text, std::string_view also_unreserved = "-._~");

// Parses a non-negative decimal integer with no sign, no leading zeros
// (except "0" itself) and no overflow; anything else is refused.
Result<uint64_t> parse_decimal_u64(std::string_view text);

}  // namespace custos
