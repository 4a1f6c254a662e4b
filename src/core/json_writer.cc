#include "custos/core/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace custos {
namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 if invalid.
size_t utf8_sequence_length(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  uint8_t lead = byte(i);
  size_t length;
  uint32_t min_code;
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) == 0xc0) {
    length = 2;
    min_code = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3;
    min_code = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4;
    min_code = 0x10000;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  uint32_t code = lead & (0x7f >> length);
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code = code << 6 | (byte(i + k) & 0x3f);
  }
  if (code < min_code || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return 0;
  return length;
}

// Printable ASCII other than the quote and the backslash: written as it is.
bool is_plain(char c) {
  auto u = static_cast<uint8_t>(c);
  return u >= 0x20 && u < 0x80 && c != '"' && c != '\\';
}

void append_decimal(std::string& out, auto value) {
  char buffer[24];
  auto written = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, written.ptr);
}

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (size_t i = 0; i < text.size();) {
    size_t plain_end = i;
    while (plain_end < text.size() && is_plain(text[plain_end])) ++plain_end;
    out.append(text, i, plain_end - i);  // runs of plain text in one copy
    i = plain_end;
    if (i == text.size()) break;
    char c = text[i];
    auto u = static_cast<uint8_t>(c);
    if (u >= 0x80) {
      size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += "\xef\xbf\xbd";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof buffer, "\\u%04x", u);
          out += buffer;
        } else {
          out += c;
        }
    }
    ++i;
  }
  out += '"';
}

void append_json_base64_string(std::string& out, ByteView bytes) {
  out += '"';
  append_base64(out, bytes);
  out += '"';
}

void JsonWriter::separator() {
  if (need_comma_) out_ += ',';
  need_comma_ = true;
}

JsonWriter& JsonWriter::begin_object() {
  separator();
  out_ += '{';
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_object() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}
JsonWriter& JsonWriter::begin_array() {
  separator();
  out_ += '[';
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::end_array() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}
JsonWriter& JsonWriter::key(std::string_view name) {
  separator();
  append_json_string(out_, name);
  out_ += ':';
  need_comma_ = false;
  return *this;
}
JsonWriter& JsonWriter::string(std::string_view value) {
  separator();
  append_json_string(out_, value);
  return *this;
}
JsonWriter& JsonWriter::base64_string(ByteView bytes) {
  separator();
  append_json_base64_string(out_, bytes);
  return *this;
}
JsonWriter& JsonWriter::number(int64_t value) {
  separator();
  append_decimal(out_, value);
  return *this;
}
JsonWriter& JsonWriter::number(uint64_t value) {
  separator();
  append_decimal(out_, value);
  return *this;
}
JsonWriter& JsonWriter::number(double value) {
  separator();
  if (!std::isfinite(value)) {
    out_ += "null";
    return *this;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  out_ += buffer;
  return *this;
}
JsonWriter& JsonWriter::boolean(bool value) {
  separator();
  out_ += value ? "true" : "false";
  return *this;
}
JsonWriter& JsonWriter::null() {
  separator();
  out_ += "null";
  return *this;
}
JsonWriter& JsonWriter::raw(std::string_view json) {
  separator();
  out_ += json;
  return *this;
}

}  // namespace custos
