// JsonWriter output, byte for byte: escaping (RFC 8259 section 7), invalid
// UTF-8 replaced by U+FFFD, numbers, and base64 strings written in place.
#include "custos/core/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace custos {
namespace {

std::string json_literal(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(JsonWriterTest, EscapesWhatRfc8259Requires) {
  EXPECT_EQ(json_literal(""), "\"\"");
  EXPECT_EQ(json_literal("plain text / 0-9 ~\x7f"), "\"plain text / 0-9 ~\x7f\"");
  EXPECT_EQ(json_literal("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_literal("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_literal(std::string("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
  EXPECT_EQ(json_literal("\"start"), "\"\\\"start\"");
  EXPECT_EQ(json_literal("end\\"), "\"end\\\\\"");
  EXPECT_EQ(json_literal("run one\trun two\nrun three"), "\"run one\\trun two\\nrun three\"");
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(json_literal("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6."),
            "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa6.\"");
  EXPECT_EQ(json_literal("a\xff!"), "\"a\xef\xbf\xbd!\"");
  EXPECT_EQ(json_literal("\xc3"), "\"\xef\xbf\xbd\"");                  // truncated sequence
  EXPECT_EQ(json_literal("\xc0\xaf"), "\"\xef\xbf\xbd\xef\xbf\xbd\"");  // overlong
  EXPECT_EQ(json_literal("\xed\xa0\x80x"),
            "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx\"");  // surrogate
}

TEST(JsonWriterTest, WritesNumbersAsDecimal) {
  JsonWriter json;
  json.begin_array()
      .number(int64_t{0})
      .number(std::numeric_limits<int64_t>::min())
      .number(std::numeric_limits<int64_t>::max())
      .number(uint64_t{0})
      .number(std::numeric_limits<uint64_t>::max())
      .number(-42)
      .end_array();
  EXPECT_EQ(json.str(), "[0,-9223372036854775808,9223372036854775807,0,18446744073709551615,-42]");
}

// base64_string writes what string(base64_encode(...)) writes (RFC 4648 vectors).
TEST(JsonWriterTest, Base64StringsEqualEscapedBase64Text) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    JsonWriter direct;
    direct.begin_object().key("k").base64_string(as_bytes(plain)).key("n").number(1).end_object();
    EXPECT_EQ(direct.str(), "{\"k\":\"" + encoded + "\",\"n\":1}");
    std::string out = "x";
    append_json_base64_string(out, as_bytes(plain));
    EXPECT_EQ(out, "x\"" + encoded + "\"");
  }
  Bytes every(256);
  for (size_t i = 0; i < every.size(); ++i) every[i] = static_cast<uint8_t>(255 - i);
  JsonWriter direct;
  JsonWriter through_text;
  direct.reserve(1024);
  direct.begin_array().base64_string(every).base64_string(ByteView(every).first(32)).end_array();
  through_text.begin_array()
      .string(base64_encode(every))
      .string(base64_encode(ByteView(every).first(32)))
      .end_array();
  EXPECT_EQ(direct.str(), through_text.str());
}

}  // namespace
}  // namespace custos
