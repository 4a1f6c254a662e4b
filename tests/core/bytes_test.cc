#include "custos/core/bytes.h"

#include <gtest/gtest.h>

namespace custos {
namespace {

TEST(HexTest, RoundTripAndRefusals) {
  Bytes bytes = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(hex_encode(bytes), "0001abff");
  auto decoded = hex_decode("0001ABff");
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(*decoded, bytes);
  EXPECT_FALSE(hex_decode("abc").is_ok());
  EXPECT_FALSE(hex_decode("zz").is_ok());
}

// RFC 4648 section 10 test vectors.
TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    auto decoded = base64_decode(encoded);
    ASSERT_TRUE(decoded.is_ok()) << encoded;
    EXPECT_EQ(as_text(*decoded), plain);
  }
}

// append_base64 writes the same RFC 4648 text after what the string holds.
TEST(Base64Test, AppendsRfc4648VectorsToExistingText) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},       {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  std::string all = "[";
  std::string expected = "[";
  for (const auto& [plain, encoded] : cases) {
    std::string text = "prefix:";
    append_base64(text, as_bytes(plain));
    EXPECT_EQ(text, "prefix:" + encoded);
    append_base64(all, as_bytes(plain));
    all += ',';
    expected += encoded;
    expected += ',';
  }
  EXPECT_EQ(all, expected);
  // All 256 byte values, every alphabet character, each tail length.
  Bytes every(256);
  for (size_t i = 0; i < every.size(); ++i) every[i] = static_cast<uint8_t>(i);
  for (size_t size : {254u, 255u, 256u}) {
    std::string text = "x";
    append_base64(text, ByteView(every).first(size));
    auto decoded = base64_decode(std::string_view(text).substr(1));
    ASSERT_TRUE(decoded.is_ok()) << size;
    EXPECT_EQ(*decoded, Bytes(every.begin(), every.begin() + static_cast<long>(size)));
  }
}

TEST(Base64Test, RefusesMalformedInput) {
  EXPECT_FALSE(base64_decode("Zg=").is_ok());      // bad length
  EXPECT_FALSE(base64_decode("Z!==").is_ok());     // bad character
  EXPECT_FALSE(base64_decode("Zh==").is_ok());     // non-canonical padding bits
  EXPECT_FALSE(base64_decode("=Zg=").is_ok());     // padding in the middle
  EXPECT_FALSE(base64_decode("Zg==Zg==").is_ok()); // padding before the end
}

TEST(DecimalTest, ParsesCanonicalNumbersOnly) {
  EXPECT_EQ(*parse_decimal_u64("0"), 0u);
  EXPECT_EQ(*parse_decimal_u64("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(parse_decimal_u64("18446744073709551616").is_ok());
  EXPECT_FALSE(parse_decimal_u64("01").is_ok());
  EXPECT_FALSE(parse_decimal_u64("-1").is_ok());
  EXPECT_FALSE(parse_decimal_u64("").is_ok());
  EXPECT_FALSE(parse_decimal_u64("1a").is_ok());
}

TEST(PercentEncodeTest, KeepsOnlyTheGivenUnreservedSet) {
  EXPECT_EQ(percent_encode("a-b._~ c/\xff"), "a-b._~%20c%2F%FF");
  EXPECT_EQ(percent_encode("a*b~", "*-._"), "a*b%7E");  // form encoding keeps '*', not '~'
  EXPECT_EQ(percent_encode(""), "");
}

TEST(BigEndianTest, RoundTrips) {
  Bytes out;
  append_u16_be(out, 0x1234);
  append_u32_be(out, 0xdeadbeef);
  append_u64_be(out, 0x0102030405060708ull);
  ASSERT_EQ(out.size(), 14u);
  EXPECT_EQ(read_u16_be(out.data()), 0x1234);
  EXPECT_EQ(read_u32_be(out.data() + 2), 0xdeadbeefu);
  EXPECT_EQ(read_u64_be(out.data() + 6), 0x0102030405060708ull);
}

}  // namespace
}  // namespace custos
