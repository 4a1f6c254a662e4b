#include "custos/ledger/entry.h"

#include <gtest/gtest.h>

namespace custos::ledger {
namespace {

LogEntry sample_entry() {
  LogEntry entry;
  entry.kind = EntryKind::kEpcisEvent;
  entry.index = 0x0102030405060708;
  entry.receive_time = 1'780'000'000'123'456;
  entry.principal = "device:dock-7";
  entry.request_signature = {0xaa, 0xbb};
  entry.payload = to_bytes("{\"e\":1}");
  return entry;
}

TEST(EntryTest, EncodesTheDocumentedLayout) {
  Bytes bytes = encode_entry(sample_entry());
  Bytes expected = {0x01, 0x02, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  append_u64_be(expected, 1'780'000'000'123'456);
  append_u16_be(expected, 13);
  for (char c : std::string("device:dock-7")) expected.push_back(static_cast<uint8_t>(c));
  append_u16_be(expected, 2);
  expected.push_back(0xaa);
  expected.push_back(0xbb);
  append_u32_be(expected, 7);
  for (char c : std::string("{\"e\":1}")) expected.push_back(static_cast<uint8_t>(c));
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(bytes.size(), encoded_entry_size(13, 2, 7));
  EXPECT_EQ(hex_encode(ByteView(bytes).first(10)), "01020102030405060708");
}

TEST(EntryTest, EmptyFieldsEncodeToTheFixedOverhead) {
  LogEntry entry;
  entry.receive_time = -1;  // before 1970 is representable
  Bytes bytes = encode_entry(entry);
  ASSERT_EQ(bytes.size(), kEntryOverhead);
  auto decoded = decode_entry(bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, entry);
}

TEST(EntryTest, RoundTripsEveryKind) {
  for (uint8_t kind = 1; kind <= 5; ++kind) {
    LogEntry entry = sample_entry();
    entry.kind = static_cast<EntryKind>(kind);
    auto decoded = decode_entry(encode_entry(entry));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, entry);
    EXPECT_NE(entry_kind_name(entry.kind), "unknown");
  }
}

TEST(EntryTest, AppendVariantMatchesAndAppends) {
  LogEntry entry = sample_entry();
  Bytes buffer = {0xde, 0xad};
  append_encoded_entry(buffer, entry.kind, entry.index, entry.receive_time, entry.principal,
                       entry.request_signature, entry.payload);
  Bytes encoded = encode_entry(entry);
  ASSERT_EQ(buffer.size(), 2 + encoded.size());
  EXPECT_TRUE(std::equal(encoded.begin(), encoded.end(), buffer.begin() + 2));
  EXPECT_EQ(buffer[0], 0xde);
}

TEST(EntryTest, LargestEntryFitsExactly) {
  LogEntry entry = sample_entry();
  entry.payload.assign(kMaxEntrySize - encoded_entry_size(entry.principal.size(), 2, 0), 0x5a);
  ASSERT_TRUE(validate_entry(entry).is_ok());
  Bytes bytes = encode_entry(entry);
  EXPECT_EQ(bytes.size(), kMaxEntrySize);
  EXPECT_TRUE(decode_entry(bytes).is_ok());
  entry.payload.push_back(0);
  auto status = validate_entry(entry);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("65535"), std::string::npos);
}

TEST(EntryTest, ValidationRefusesBadFields) {
  LogEntry entry = sample_entry();
  entry.kind = static_cast<EntryKind>(6);
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
  entry = sample_entry();
  entry.kind = static_cast<EntryKind>(0);
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
  entry = sample_entry();
  entry.principal = "bad\xff";
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
  entry.principal = "\xc0\x80";  // overlong NUL
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
  entry.principal = "\xed\xa0\x80";  // surrogate
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
  entry.principal = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x93\xa6";  // é € 📦
  EXPECT_TRUE(validate_entry(entry).is_ok());
  entry = sample_entry();
  entry.request_signature.assign(70000, 1);
  EXPECT_EQ(validate_entry(entry).code(), StatusCode::kInvalidArgument);
}

TEST(EntryTest, DecodeRefusesUnknownVersionAndKind) {
  Bytes bytes = encode_entry(sample_entry());
  bytes[0] = 0x02;
  auto decoded = decode_entry(bytes);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("version"), std::string::npos);
  bytes = encode_entry(sample_entry());
  bytes[1] = 0;
  EXPECT_FALSE(decode_entry(bytes).is_ok());
  bytes[1] = 6;
  EXPECT_FALSE(decode_entry(bytes).is_ok());
}

TEST(EntryTest, DecodeRefusesTruncationAtEveryLength) {
  Bytes bytes = encode_entry(sample_entry());
  for (size_t length = 0; length < bytes.size(); ++length) {
    auto decoded = decode_entry(ByteView(bytes).first(length));
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << "length " << length;
  }
}

TEST(EntryTest, DecodeRefusesTrailingBytes) {
  Bytes bytes = encode_entry(sample_entry());
  bytes.push_back(0);
  auto decoded = decode_entry(bytes);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("trailing"), std::string::npos);
}

TEST(EntryTest, DecodeRefusesLengthsThatOverrun) {
  const Bytes good = encode_entry(sample_entry());
  // principal length at offset 18, signature length after the principal,
  // payload length after the signature.
  const size_t principal_at = 18;
  const size_t signature_at = principal_at + 2 + 13;
  const size_t payload_at = signature_at + 2 + 2;
  for (size_t at : {principal_at, signature_at}) {
    Bytes bytes = good;
    bytes[at] = 0xff;
    EXPECT_FALSE(decode_entry(bytes).is_ok()) << "offset " << at;
  }
  Bytes bytes = good;
  bytes[payload_at + 3] = 8;  // payload says 8, has 7
  EXPECT_FALSE(decode_entry(bytes).is_ok());
  bytes[payload_at + 3] = 6;  // payload says 6: one trailing byte
  EXPECT_FALSE(decode_entry(bytes).is_ok());
  bytes = good;
  bytes[payload_at] = 0x80;  // huge payload length
  EXPECT_FALSE(decode_entry(bytes).is_ok());
}

TEST(EntryTest, DecodeRefusesOversizedAndInvalidPrincipal) {
  Bytes big(kMaxEntrySize + 1, 0);
  EXPECT_FALSE(decode_entry(big).is_ok());
  LogEntry entry = sample_entry();
  Bytes bytes = encode_entry(entry);
  bytes[20] = 0xff;  // first principal byte
  auto decoded = decode_entry(bytes);
  EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find("UTF-8"), std::string::npos);
}

}  // namespace
}  // namespace custos::ledger
