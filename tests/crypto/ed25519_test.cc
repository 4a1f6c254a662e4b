// Ed25519 against RFC 8032 section 7.1 TEST 1..3 (seed -> public key -> signature).
#include "custos/crypto/ed25519.h"

#include <gtest/gtest.h>

#include <string>

namespace custos {
namespace {

struct Rfc8032Vector {
  const char* seed_hex;
  const char* public_key_hex;
  const char* message_hex;
  const char* signature_hex;
};

constexpr Rfc8032Vector kRfc8032Vectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const auto& vector : kRfc8032Vectors) {
    SCOPED_TRACE(vector.seed_hex);
    Bytes seed = *hex_decode(vector.seed_hex);
    Bytes message = *hex_decode(vector.message_hex);
    auto key_pair = Ed25519KeyPair::from_seed(seed);
    ASSERT_TRUE(key_pair.is_ok()) << key_pair.status().to_string();
    EXPECT_EQ(hex_encode(key_pair->public_key().view()), vector.public_key_hex);
    EXPECT_EQ(hex_encode(key_pair->seed()), vector.seed_hex);
    Ed25519Signature signature = key_pair->sign(message);
    EXPECT_EQ(hex_encode(signature.view()), vector.signature_hex);
    EXPECT_TRUE(ed25519_verify(key_pair->public_key(), message, signature));

    auto public_key = Ed25519PublicKey::from_bytes(*hex_decode(vector.public_key_hex));
    auto parsed_signature = Ed25519Signature::from_bytes(*hex_decode(vector.signature_hex));
    ASSERT_TRUE(public_key.is_ok());
    ASSERT_TRUE(parsed_signature.is_ok());
    EXPECT_TRUE(ed25519_verify(*public_key, message, *parsed_signature));
  }
}

TEST(Ed25519Test, RefusesAnyFlippedBit) {
  const auto& vector = kRfc8032Vectors[2];
  auto key_pair = *Ed25519KeyPair::from_seed(*hex_decode(vector.seed_hex));
  Bytes message = *hex_decode(vector.message_hex);
  Ed25519Signature signature = key_pair.sign(message);
  for (size_t bit = 0; bit < Ed25519Signature::kSize * 8; ++bit) {
    Ed25519Signature flipped = signature;
    flipped.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(ed25519_verify(key_pair.public_key(), message, flipped))
        << "signature bit " << bit;
  }
  for (size_t bit = 0; bit < message.size() * 8; ++bit) {
    Bytes flipped = message;
    flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(ed25519_verify(key_pair.public_key(), flipped, signature))
        << "message bit " << bit;
  }
  for (size_t bit = 0; bit < Ed25519PublicKey::kSize * 8; ++bit) {
    Ed25519PublicKey flipped = key_pair.public_key();
    flipped.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(ed25519_verify(flipped, message, signature)) << "public key bit " << bit;
  }
}

TEST(Ed25519Test, RefusesWrongSizes) {
  Bytes short_bytes(31, 0);
  Bytes long_bytes(33, 0);
  EXPECT_FALSE(Ed25519KeyPair::from_seed(short_bytes).is_ok());
  EXPECT_FALSE(Ed25519KeyPair::from_seed(long_bytes).is_ok());
  EXPECT_FALSE(Ed25519PublicKey::from_bytes(short_bytes).is_ok());
  EXPECT_FALSE(Ed25519Signature::from_bytes(Bytes(63, 0)).is_ok());
  EXPECT_FALSE(Ed25519Signature::from_bytes(Bytes(65, 0)).is_ok());
}

TEST(Ed25519Test, GeneratedKeysSignAndAreDistinct) {
  Ed25519KeyPair first = Ed25519KeyPair::generate();
  Ed25519KeyPair second = Ed25519KeyPair::generate();
  EXPECT_NE(first.public_key(), second.public_key());
  Ed25519Signature signature = first.sign(as_bytes("custody event"));
  EXPECT_TRUE(ed25519_verify(first.public_key(), as_bytes("custody event"), signature));
  EXPECT_FALSE(ed25519_verify(second.public_key(), as_bytes("custody event"), signature));
  // The seed re-derives the same key pair.
  auto again = Ed25519KeyPair::from_seed(first.seed());
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->public_key(), first.public_key());
}

}  // namespace
}  // namespace custos
