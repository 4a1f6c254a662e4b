// Ed25519PreparedKey / Ed25519KeyCache against libsodium's
// crypto_sign_verify_detached: the same answer on RFC 8032 TEST 1..3, on
// valid and bit-flipped signatures, and on the inputs where implementations
// are known to differ (non-canonical s, small-order R and A, non-canonical A,
// keys with a torsion component, points off the curve).
#include "custos/crypto/ed25519_prepared.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <array>
#include <random>
#include <thread>
#include <vector>

#include "custos/crypto/ed25519.h"

namespace custos {
namespace {

using Bytes32 = std::array<uint8_t, 32>;

bool sodium_verify(const Ed25519PublicKey& key, ByteView message,
                   const Ed25519Signature& signature) {
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     key.bytes.data()) == 0;
}

// The prepared answer, or false when the key cannot be prepared.
bool prepared_verify(const Ed25519PublicKey& key, ByteView message,
                     const Ed25519Signature& signature) {
  auto prepared = Ed25519PreparedKey::prepare(key);
  return prepared.is_ok() && prepared->verify(message, signature);
}

class Differential : public ::testing::Test {
 protected:
  std::mt19937_64 rng{20261126};

  Bytes random_bytes(size_t size) {
    Bytes out(size);
    for (auto& byte : out) byte = static_cast<uint8_t>(rng());
    return out;
  }

  // Compares both answers; returns the shared answer.
  bool same_answer(const Ed25519PublicKey& key, ByteView message,
                   const Ed25519Signature& signature) {
    bool expected = sodium_verify(key, message, signature);
    EXPECT_EQ(prepared_verify(key, message, signature), expected)
        << "key " << hex_encode(key.view()) << " sig " << hex_encode(signature.view())
        << " message " << hex_encode(message);
    return expected;
  }
};

TEST(Ed25519PreparedTest, Rfc8032Vectors) {
  const char* vectors[][3] = {
      {"d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
       "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
       "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
      {"3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
       "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
      {"fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
       "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
       "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
  };
  for (const auto& vector : vectors) {
    auto key = Ed25519PublicKey::from_bytes(*hex_decode(vector[0]));
    auto signature = Ed25519Signature::from_bytes(*hex_decode(vector[2]));
    Bytes message = *hex_decode(vector[1]);
    ASSERT_TRUE(key.is_ok() && signature.is_ok());
    auto prepared = Ed25519PreparedKey::prepare(*key);
    ASSERT_TRUE(prepared.is_ok()) << prepared.status().to_string();
    EXPECT_TRUE(prepared->verify(message, *signature));
    Bytes other = message;
    other.push_back(0);
    EXPECT_FALSE(prepared->verify(other, *signature));
  }
}

TEST_F(Differential, ValidAndBitFlippedSignatures) {
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    Ed25519KeyPair pair = Ed25519KeyPair::generate();
    Bytes message = random_bytes(rng() % 400);
    Ed25519Signature signature = pair.sign(message);
    auto prepared = Ed25519PreparedKey::prepare(pair.public_key());
    ASSERT_TRUE(prepared.is_ok());
    ASSERT_TRUE(prepared->verify(message, signature));
    ++accepted;
    for (int flip = 0; flip < 6; ++flip) {
      Ed25519Signature bad = signature;
      bad.bytes[rng() % 64] ^= static_cast<uint8_t>(1u << (rng() % 8));
      EXPECT_EQ(prepared->verify(message, bad), sodium_verify(pair.public_key(), message, bad));
      if (!message.empty()) {
        Bytes changed = message;
        changed[rng() % changed.size()] ^= 1;
        EXPECT_FALSE(prepared->verify(changed, signature));
      }
    }
    // The same signature under another key.
    Ed25519KeyPair other = Ed25519KeyPair::generate();
    EXPECT_FALSE(prepared_verify(other.public_key(), message, signature));
  }
  EXPECT_EQ(accepted, 300);
}

TEST_F(Differential, RandomSignaturesAndKeys) {
  int keys_on_curve = 0;
  for (int i = 0; i < 2000; ++i) {
    Ed25519PublicKey key;
    Bytes key_bytes = random_bytes(32);
    std::copy(key_bytes.begin(), key_bytes.end(), key.bytes.begin());
    Ed25519Signature signature;
    Bytes signature_bytes = random_bytes(64);
    signature_bytes[63] &= 0x0f;  // often a canonical s
    std::copy(signature_bytes.begin(), signature_bytes.end(), signature.bytes.begin());
    Bytes message = random_bytes(rng() % 64);
    same_answer(key, message, signature);
    if (Ed25519PreparedKey::prepare(key).is_ok()) ++keys_on_curve;
  }
  // About half of all y values give a curve point.
  EXPECT_GT(keys_on_curve, 800);
  EXPECT_LT(keys_on_curve, 1200);
}

// s + L is the same scalar mod L, so only the canonical-s rule refuses it.
TEST_F(Differential, NonCanonicalScalarRefused) {
  const Bytes32 order = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                         0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                         0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
  int tried = 0;
  for (int i = 0; i < 200 && tried < 20; ++i) {
    Ed25519KeyPair pair = Ed25519KeyPair::generate();
    Bytes message = random_bytes(40);
    Ed25519Signature signature = pair.sign(message);
    Ed25519Signature shifted = signature;
    unsigned carry = 0;
    for (int b = 0; b < 32; ++b) {
      unsigned sum = signature.bytes[32 + b] + order[b] + carry;
      shifted.bytes[32 + b] = static_cast<uint8_t>(sum);
      carry = sum >> 8;
    }
    if (carry != 0) continue;
    ++tried;
    EXPECT_FALSE(same_answer(pair.public_key(), message, shifted));
    EXPECT_TRUE(same_answer(pair.public_key(), message, signature));
  }
  EXPECT_EQ(tried, 20);
}

// The encodings of the eight small-order points, and the non-canonical ones.
std::vector<Bytes32> small_order_encodings() {
  std::vector<Bytes32> out;
  for (const char* hex : {
           "0000000000000000000000000000000000000000000000000000000000000000",
           "0100000000000000000000000000000000000000000000000000000000000000",
           "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
           "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
           "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
           "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
       }) {
    Bytes bytes = *hex_decode(hex);
    Bytes32 encoding;
    std::copy(bytes.begin(), bytes.end(), encoding.begin());
    out.push_back(encoding);
    encoding[31] |= 0x80;  // the same y with the sign bit set
    out.push_back(encoding);
  }
  return out;
}

TEST_F(Differential, SmallOrderEncodingsAreNotValidPointsForLibsodium) {
  // libsodium calls none of them a valid (main-subgroup, non-small) point.
  for (const Bytes32& encoding : small_order_encodings()) {
    Bytes32 point = encoding;
    if (crypto_core_ed25519_is_valid_point(point.data()) == 1) {
      ADD_FAILURE() << "libsodium treats a small-order encoding as valid";
    }
  }
}

TEST_F(Differential, SmallOrderRAndKeysRefused) {
  Ed25519KeyPair pair = Ed25519KeyPair::generate();
  Bytes message = random_bytes(32);
  Ed25519Signature good = pair.sign(message);
  for (const Bytes32& encoding : small_order_encodings()) {
    Ed25519Signature with_r = good;
    std::copy(encoding.begin(), encoding.end(), with_r.bytes.begin());
    EXPECT_FALSE(same_answer(pair.public_key(), message, with_r));
    Ed25519PublicKey key;
    key.bytes = encoding;
    EXPECT_FALSE(Ed25519PreparedKey::prepare(key).is_ok()) << hex_encode(key.view());
    EXPECT_FALSE(same_answer(key, message, good));
  }
  // Every non-canonical y (p .. 2^255 - 1) with both sign bits.
  for (int low = 0xed; low <= 0xff; ++low) {
    for (uint8_t sign : {0x00, 0x80}) {
      Ed25519PublicKey key;
      key.bytes.fill(0xff);
      key.bytes[0] = static_cast<uint8_t>(low);
      key.bytes[31] = static_cast<uint8_t>(0x7f | sign);
      EXPECT_FALSE(Ed25519PreparedKey::prepare(key).is_ok());
      EXPECT_FALSE(same_answer(key, message, good));
    }
  }
}

// A = aB + T for a torsion point T: signatures made with a verify under the
// cofactorless equation only when [h]T vanishes; both must agree case by case.
TEST_F(Differential, MixedOrderKeysAgreeWithLibsodium) {
  Bytes torsion = *hex_decode("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
  int accepted = 0;
  int refused = 0;
  for (int i = 0; i < 400; ++i) {
    uint8_t a[32];
    crypto_core_ed25519_scalar_random(a);
    uint8_t a_point[32];
    ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(a_point, a), 0);
    Ed25519PublicKey key;
    if (crypto_core_ed25519_add(key.bytes.data(), a_point, torsion.data()) != 0) {
      GTEST_SKIP() << "libsodium refuses to add a torsion point";
    }
    Bytes message = random_bytes(24);
    uint8_t r[32];
    crypto_core_ed25519_scalar_random(r);
    Ed25519Signature signature;
    ASSERT_EQ(crypto_scalarmult_ed25519_base_noclamp(signature.bytes.data(), r), 0);
    uint8_t digest[64];
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    crypto_hash_sha512_update(&state, signature.bytes.data(), 32);
    crypto_hash_sha512_update(&state, key.bytes.data(), 32);
    crypto_hash_sha512_update(&state, message.data(), message.size());
    crypto_hash_sha512_final(&state, digest);
    uint8_t h[32];
    crypto_core_ed25519_scalar_reduce(h, digest);
    uint8_t ha[32];
    crypto_core_ed25519_scalar_mul(ha, h, a);
    crypto_core_ed25519_scalar_add(signature.bytes.data() + 32, r, ha);
    if (same_answer(key, message, signature)) {
      ++accepted;
    } else {
      ++refused;
    }
  }
  // h is a multiple of 8 for about one in eight messages.
  EXPECT_GT(accepted, 15);
  EXPECT_GT(refused, 250);
}

TEST(Ed25519KeyCacheTest, AgreesAndStaysBounded) {
  Ed25519KeyCache cache(64);
  std::vector<Ed25519KeyPair> pairs;
  for (int i = 0; i < 200; ++i) pairs.push_back(Ed25519KeyPair::generate());
  Bytes message = {1, 2, 3};
  for (int round = 0; round < 2; ++round) {
    for (const auto& pair : pairs) {
      Ed25519Signature signature = pair.sign(message);
      EXPECT_TRUE(cache.verify(pair.public_key(), message, signature));
      signature.bytes[5] ^= 1;
      EXPECT_FALSE(cache.verify(pair.public_key(), message, signature));
    }
  }
  EXPECT_LE(cache.size(), 64u + 16u);
  EXPECT_GT(cache.size(), 0u);

  Ed25519PublicKey small_order;  // never prepared, never cached
  Ed25519Signature any;
  EXPECT_FALSE(cache.verify(small_order, message, any));
}

TEST(Ed25519KeyCacheTest, ConcurrentVerifications) {
  Ed25519KeyCache cache(1024);
  std::vector<Ed25519KeyPair> pairs;
  for (int i = 0; i < 32; ++i) pairs.push_back(Ed25519KeyPair::generate());
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto& pair = pairs[(i * 7 + t) % pairs.size()];
        Bytes message = {static_cast<uint8_t>(i), static_cast<uint8_t>(t)};
        Ed25519Signature signature = pair.sign(message);
        if (!cache.verify(pair.public_key(), message, signature)) ++failures;
        signature.bytes[40] ^= 4;
        if (cache.verify(pair.public_key(), message, signature)) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(cache.size(), 32u);
}

}  // namespace
}  // namespace custos
