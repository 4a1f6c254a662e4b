// HOTP / TOTP against RFC 4226 Appendix D and every RFC 6238 Appendix B
// vector, and base32 against RFC 4648 section 10.
#include "custos/crypto/totp.h"

#include <gtest/gtest.h>

#include <string>

namespace custos {
namespace {

// RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash's size.
const std::string kSeedSha1 = "12345678901234567890";
const std::string kSeedSha256 = "12345678901234567890123456789012";
const std::string kSeedSha512 = "1234567890123456789012345678901234567890123456789012345678901234";

struct TotpVector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

constexpr TotpVector kRfc6238Vectors[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000, "65353130", "77737706", "47863826"},
};

TEST(TotpTest, Rfc4226HotpVectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    auto code = hotp(as_bytes(kSeedSha1), counter);
    ASSERT_TRUE(code.is_ok());
    EXPECT_EQ(*code, expected[counter]) << "counter " << counter;
  }
}

TEST(TotpTest, Rfc6238Vectors) {
  for (const auto& vector : kRfc6238Vectors) {
    SCOPED_TRACE(vector.time);
    TotpParams params{OtpAlgorithm::kSha1, 8};
    EXPECT_EQ(totp(as_bytes(kSeedSha1), vector.time, params).value(), vector.sha1);
    params.algorithm = OtpAlgorithm::kSha256;
    EXPECT_EQ(totp(as_bytes(kSeedSha256), vector.time, params).value(), vector.sha256);
    params.algorithm = OtpAlgorithm::kSha512;
    EXPECT_EQ(totp(as_bytes(kSeedSha512), vector.time, params).value(), vector.sha512);
  }
  EXPECT_EQ(totp_step(1111111109).value(), 0x23523ECu);
  EXPECT_EQ(totp_step(20000000000).value(), 0x27BC86AAu);
}

TEST(TotpTest, SixAndSevenDigitCodesAreTheLowDigits) {
  TotpParams six{OtpAlgorithm::kSha1, 6};
  TotpParams seven{OtpAlgorithm::kSha1, 7};
  EXPECT_EQ(totp(as_bytes(kSeedSha1), 1111111109, six).value(), "081804");
  EXPECT_EQ(totp(as_bytes(kSeedSha1), 1111111109, seven).value(), "7081804");
}

TEST(TotpTest, VerifyAcceptsOneStepEitherSideAndReportsTheStep) {
  TotpParams params{OtpAlgorithm::kSha256, 8};
  const int64_t now = 1234567890;
  const uint64_t step = totp_step(now).value();
  for (int delta : {-1, 0, 1}) {
    std::string code = totp(as_bytes(kSeedSha256), now + 30 * delta, params).value();
    auto matched = verify_totp(as_bytes(kSeedSha256), code, now, params);
    ASSERT_TRUE(matched.has_value()) << delta;
    EXPECT_EQ(*matched, step + static_cast<uint64_t>(static_cast<int64_t>(delta)));
  }
  for (int delta : {-2, 2}) {
    std::string code = totp(as_bytes(kSeedSha256), now + 30 * delta, params).value();
    EXPECT_FALSE(verify_totp(as_bytes(kSeedSha256), code, now, params).has_value()) << delta;
  }
  EXPECT_EQ(verify_totp(as_bytes(kSeedSha256), "91819424", now, params), step);
  // Window 0 accepts only the current step.
  std::string previous = totp(as_bytes(kSeedSha256), now - 30, params).value();
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha256), previous, now, params, 0).has_value());
}

TEST(TotpTest, VerifyRefusesWrongOrMalformedCodes) {
  TotpParams params{OtpAlgorithm::kSha1, 8};
  const int64_t now = 59;
  EXPECT_EQ(verify_totp(as_bytes(kSeedSha1), "94287082", now, params), 1u);
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha1), "94287083", now, params).has_value());
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha1), "4287082", now, params).has_value());
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha1), "942870820", now, params).has_value());
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha1), "9428708a", now, params).has_value());
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha1), "", now, params).has_value());
  EXPECT_FALSE(verify_totp(as_bytes(kSeedSha256), "94287082", now, params).has_value());
  // Step 0 has no previous step to look at; the search does not wrap around.
  std::string first = totp(as_bytes(kSeedSha1), 0, params).value();
  EXPECT_EQ(verify_totp(as_bytes(kSeedSha1), first, 10, params), 0u);
}

TEST(TotpTest, RefusesInvalidParameters) {
  EXPECT_FALSE(hotp(as_bytes(kSeedSha1), 0, 5).is_ok());
  EXPECT_FALSE(hotp(as_bytes(kSeedSha1), 0, 9).is_ok());
  EXPECT_FALSE(hotp(ByteView(), 0).is_ok());
  EXPECT_FALSE(totp(as_bytes(kSeedSha1), -1).is_ok());
  TotpParams zero_step;
  zero_step.step_seconds = 0;
  EXPECT_FALSE(totp(as_bytes(kSeedSha1), 59, zero_step).is_ok());
  TotpParams later_epoch;
  later_epoch.epoch_seconds = 100;
  EXPECT_FALSE(totp(as_bytes(kSeedSha1), 99, later_epoch).is_ok());
  EXPECT_EQ(totp(as_bytes(kSeedSha1), 159, later_epoch).value(),
            totp(as_bytes(kSeedSha1), 59).value());
}

TEST(TotpTest, Base32Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "MY"},
      {"fo", "MZXQ"},
      {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"},
      {"fooba", "MZXW6YTB"},
      {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base32_encode(as_bytes(plain)), encoded);
    EXPECT_EQ(base32_decode(encoded).value(), to_bytes(plain)) << encoded;
  }
  EXPECT_EQ(base32_decode("MZXW6YTBOI======").value(), to_bytes("foobar"));
  EXPECT_EQ(base32_decode("mzxw6ytboi").value(), to_bytes("foobar"));
  EXPECT_EQ(base32_decode("MY======").value(), to_bytes("f"));
  EXPECT_EQ(base32_decode(base32_encode(as_bytes(kSeedSha512))).value(), to_bytes(kSeedSha512));
}

TEST(TotpTest, Base32RefusesMalformedText) {
  for (const char* text : {"M", "MZX", "MZXW6Y", "MZ1W", "MZ W6", "MZ=XW6",
                           "MZ=", "MZ==", "MZXW6YTBOI==============", "MZ", "MYA"}) {
    EXPECT_FALSE(base32_decode(text).is_ok()) << text;
  }
}

TEST(TotpTest, OtpauthUri) {
  TotpParams params{OtpAlgorithm::kSha256, 8, 60};
  auto uri =
      totp_uri(as_bytes(std::string_view("foobar")), "Custos Ledger", "ana@example.com", params);
  ASSERT_TRUE(uri.is_ok());
  EXPECT_EQ(*uri,
            "otpauth://totp/Custos%20Ledger:ana%40example.com?secret=MZXW6YTBOI"
            "&issuer=Custos%20Ledger&algorithm=SHA256&digits=8&period=60");
  EXPECT_EQ(totp_uri(as_bytes(std::string_view("foobar")), "", "ana").value(),
            "otpauth://totp/ana?secret=MZXW6YTBOI&algorithm=SHA1&digits=6&period=30");
  EXPECT_FALSE(totp_uri(as_bytes(std::string_view("x")), "a:b", "ana").is_ok());
  EXPECT_FALSE(totp_uri(as_bytes(std::string_view("x")), "issuer", "").is_ok());
  EXPECT_FALSE(totp_uri(ByteView(), "issuer", "ana").is_ok());
}

}  // namespace
}  // namespace custos
