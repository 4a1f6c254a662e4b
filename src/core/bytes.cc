#include "custos/core/bytes.h"

#include <array>

namespace custos {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::array<int8_t, 256> make_base64_table() {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int i = 0; i < 64; ++i) table[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr std::array<int8_t, 256> kBase64Table = make_base64_table();

}  // namespace

std::string hex_encode(ByteView bytes) {
  std::string text;
  text.resize(bytes.size() * 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    text[2 * i] = kHexDigits[bytes[i] >> 4];
    text[2 * i + 1] = kHexDigits[bytes[i] & 0xf];
  }
  return text;
}

Result<Bytes> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return invalid_argument("hex string has odd length");
  Bytes bytes(hex.size() / 2);
  for (size_t i = 0; i < bytes.size(); ++i) {
    int hi = hex_value(hex[2 * i]);
    int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return invalid_argument("hex string has a non-hex character");
    bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return bytes;
}

std::string base64_encode(ByteView bytes) {
  std::string text;
  append_base64(text, bytes);
  return text;
}

void append_base64(std::string& text, ByteView bytes) {
  size_t at = text.size();
  text.resize(at + (bytes.size() + 2) / 3 * 4);
  char* out = text.data() + at;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = uint32_t(bytes[i]) << 16 | uint32_t(bytes[i + 1]) << 8 | bytes[i + 2];
    *out++ = kBase64Alphabet[v >> 18 & 63];
    *out++ = kBase64Alphabet[v >> 12 & 63];
    *out++ = kBase64Alphabet[v >> 6 & 63];
    *out++ = kBase64Alphabet[v & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t v = uint32_t(bytes[i]) << 16;
  if (rest == 2) v |= uint32_t(bytes[i + 1]) << 8;
  *out++ = kBase64Alphabet[v >> 18 & 63];
  *out++ = kBase64Alphabet[v >> 12 & 63];
  *out++ = rest == 2 ? kBase64Alphabet[v >> 6 & 63] : '=';
  *out = '=';
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return invalid_argument("base64 length is not a multiple of 4");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') ++padding;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++padding;
  Bytes bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    size_t pad_here = last ? padding : 0;
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = text[i + j];
      if (j >= 4 - pad_here) {
        v <<= 6;
        continue;
      }
      int8_t d = kBase64Table[static_cast<uint8_t>(c)];
      if (d < 0) return invalid_argument("base64 string has an invalid character");
      v = v << 6 | uint32_t(d);
    }
    bytes.push_back(static_cast<uint8_t>(v >> 16));
    if (pad_here < 2) bytes.push_back(static_cast<uint8_t>(v >> 8));
    if (pad_here < 1) bytes.push_back(static_cast<uint8_t>(v));
    // Canonical form: the bits dropped by padding must be zero.
    if ((pad_here == 1 && (v & 0xff) != 0) || (pad_here == 2 && (v & 0xffff) != 0)) {
      return invalid_argument("base64 string has non-canonical padding bits");
    }
  }
  return bytes;
}

void append_u8(Bytes& out, uint8_t value) { out.push_back(value); }
void append_u16_be(Bytes& out, uint16_t value) {
  out.push_back(static_cast<uint8_t>(value >> 8));
  out.push_back(static_cast<uint8_t>(value));
}
void append_u32_be(Bytes& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}
void append_u64_be(Bytes& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(value >> shift));
}
uint16_t read_u16_be(const uint8_t* in) { return static_cast<uint16_t>(in[0] << 8 | in[1]); }
uint32_t read_u32_be(const uint8_t* in) {
  return uint32_t(in[0]) << 24 | uint32_t(in[1]) << 16 | uint32_t(in[2]) << 8 | in[3];
}
uint64_t read_u64_be(const uint8_t* in) {
  return uint64_t(read_u32_be(in)) << 32 | read_u32_be(in + 4);
}

std::string percent_encode(std::string_view text, std::string_view also_unreserved) {
  static constexpr char kUpperHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                also_unreserved.find(c) != std::string_view::npos;
    if (keep) {
      out += c;
    } else {
      auto byte = static_cast<uint8_t>(c);
      out += '%';
      out += kUpperHex[byte >> 4];
      out += kUpperHex[byte & 0x0f];
    }
  }
  return out;
}

Result<uint64_t> parse_decimal_u64(std::string_view text) {
  if (text.empty()) return invalid_argument("expected a decimal number, got nothing");
  if (text.size() > 1 && text[0] == '0') return invalid_argument("decimal number has a leading zero");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return invalid_argument("expected a decimal number");
    uint64_t digit = uint64_t(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return invalid_argument("decimal number overflows 64 bits");
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace custos
