// Argon2id password hashes (libsodium), constant-time comparison and token hashes.
#include "custos/crypto/password.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace custos {
namespace {

const PasswordHashLimits kFast = PasswordHashLimits::minimum();

TEST(PasswordTest, VerifiesTheRightPasswordOnly) {
  auto hash = hash_password("correct horse battery staple", kFast);
  ASSERT_TRUE(hash.is_ok()) << hash.status().to_string();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=8,t=1,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password("correct horse battery staple", *hash).value());
  EXPECT_FALSE(verify_password("correct horse battery stapl", *hash).value());
  EXPECT_FALSE(verify_password("Correct horse battery staple", *hash).value());
  EXPECT_FALSE(verify_password("", *hash).value());
}

TEST(PasswordTest, DefaultInteractiveLimits) {
  auto hash = hash_password("pässwörd");
  ASSERT_TRUE(hash.is_ok()) << hash.status().to_string();
  EXPECT_EQ(hash->rfind("$argon2id$v=19$m=65536,t=2,p=1$", 0), 0u) << *hash;
  EXPECT_TRUE(verify_password("pässwörd", *hash).value());
  EXPECT_FALSE(password_needs_rehash(*hash).value());
  EXPECT_TRUE(password_needs_rehash(*hash, kFast).value());
}

TEST(PasswordTest, EmbeddedNulIsPartOfThePassword) {
  using namespace std::string_literals;
  auto hash = hash_password("abc\0def"s, kFast);
  ASSERT_TRUE(hash.is_ok());
  EXPECT_TRUE(verify_password("abc\0def"s, *hash).value());
  EXPECT_FALSE(verify_password("abc", *hash).value());
}

TEST(PasswordTest, SaltsDiffer) {
  auto first = hash_password("same", kFast);
  auto second = hash_password("same", kFast);
  ASSERT_TRUE(first.is_ok() && second.is_ok());
  EXPECT_NE(*first, *second);
  EXPECT_TRUE(verify_password("same", *second).value());
}

TEST(PasswordTest, RefusesMalformedHashes) {
  std::string good = hash_password("secret", kFast).value();
  using namespace std::string_literals;
  const std::string malformed[] = {
      "",
      "secret",
      "$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
      "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
      "$argon2id$",
      "$argon2id$v=19$m=8,t=1,p=1$",
      "$argon2id$v=19$m=8,t=1,p=1$!!!!$@@@@",
      "$argon2id$v=99$m=8,t=1,p=1" + good.substr(good.rfind('$', good.rfind('$') - 1)),
      good.substr(0, good.size() / 2),
      good + "\0"s,
      good + std::string(200, 'A'),
  };
  for (const std::string& hash : malformed) {
    auto verified = verify_password("secret", hash);
    EXPECT_FALSE(verified.is_ok()) << "accepted: " << hash;
    if (!verified.is_ok()) {
      EXPECT_EQ(verified.status().code(), StatusCode::kInvalidArgument);
    }
    EXPECT_FALSE(password_needs_rehash(hash).is_ok()) << hash;
  }
}

TEST(PasswordTest, RefusesBadInputsToHashing) {
  EXPECT_FALSE(hash_password("", kFast).is_ok());
  EXPECT_FALSE(hash_password(std::string(kMaxPasswordBytes + 1, 'x'), kFast).is_ok());
  EXPECT_FALSE(hash_password("pw", PasswordHashLimits{0, 8192}).is_ok());
  EXPECT_FALSE(hash_password("pw", PasswordHashLimits{1, 1024}).is_ok());
  std::string hash = hash_password("pw", kFast).value();
  EXPECT_FALSE(verify_password(std::string(kMaxPasswordBytes + 1, 'x'), hash).value());
}

TEST(PasswordTest, ConstantTimeEquals) {
  EXPECT_TRUE(constant_time_equals("token", "token"));
  EXPECT_FALSE(constant_time_equals("token", "tokem"));
  EXPECT_FALSE(constant_time_equals("token", "token2"));
  EXPECT_TRUE(constant_time_equals("", ""));
  EXPECT_FALSE(constant_time_equals("", "a"));
}

TEST(PasswordTest, TokensAreRandomUrlSafeAndStoredAsSha256) {
  std::set<std::string> tokens;
  for (int i = 0; i < 50; ++i) {
    std::string token = generate_token();
    EXPECT_EQ(token.size(), 43u);  // 32 bytes, unpadded base64url
    EXPECT_EQ(token.find_first_of("+/="), std::string::npos) << token;
    tokens.insert(token);
  }
  EXPECT_EQ(tokens.size(), 50u);
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(hash_token("abc").hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string token = generate_token(16);
  EXPECT_EQ(hash_token(token), sha256(token));
  EXPECT_NE(hash_token(token), hash_token(token + "x"));
}

}  // namespace
}  // namespace custos
