// The canonical control-entry payload: round trips for every op, strict
// decoding, the payload filter, and the enrollment and commitment helpers.
#include "custos/identity/control_change.h"

#include <gtest/gtest.h>

#include <vector>

namespace custos::identity {
namespace {

Ed25519PublicKey test_key(uint8_t seed_byte) {
  Bytes seed(32, seed_byte);
  return Ed25519KeyPair::from_seed(seed)->public_key();
}

std::vector<ControlChange> one_of_each() {
  PrincipalAttributes attributes;
  attributes.id = "dev-0042";
  attributes.kind = PrincipalKind::kDevice;
  attributes.subtype = DeviceSubtype::kDoorController;
  attributes.display_name = "Door \"north\" \u00e9";
  attributes.site = "site-1";
  attributes.zone = "z";
  attributes.roles = {"reader", "capture"};
  attributes.vendor = "acme";
  attributes.shift = "night";
  attributes.tags = {{"b", "2"}, {"a", "1"}};
  PrincipalUpdate update;
  update.id = "dev-0042";
  update.zone = "z2";
  update.roles = std::set<std::string>{};
  update.tags = std::map<std::string, std::string>{{"k", "v"}};
  Ed25519Signature proof;
  proof.bytes.fill(7);
  return {PrincipalCreate{attributes},
          update,
          PrincipalStatusChange{"dev-0042", PrincipalStatus::kQuarantined, "tamper alarm"},
          KeyAdd{"dev-0042", "k1", test_key(1), 10, 20},
          KeyAdd{"dev-0042", "k2", test_key(2), 10, std::nullopt},
          KeyExpire{"dev-0042", "k1", 15},
          EnrollmentCreate{"dev-0042", sha256("t"), 99},
          EnrollmentComplete{"dev-0042", sha256("t"), "kid", test_key(3), 50, proof},
          TokenCreate{"svc-1", "tok-1", sha256("token"), {"read", "capture"}, 1000},
          TokenRevoke{"svc-1", "tok-1"},
          UserPassword{"alice", sha256("p")},
          UserTotp{"alice", sha256("s")}};
}

TEST(ControlChangeTest, EveryOpRoundTrips) {
  for (const ControlChange& change : one_of_each()) {
    std::string payload = encode_control_change(change, "admin-1", "dec-7");
    auto decoded = decode_control_change(payload);
    ASSERT_TRUE(decoded.is_ok()) << payload << ": " << decoded.status().to_string();
    EXPECT_EQ(decoded->change, change) << payload;
    EXPECT_EQ(decoded->actor, "admin-1");
    EXPECT_EQ(decoded->decision_id, "dec-7");
    EXPECT_TRUE(is_identity_payload(as_bytes(payload))) << payload;
  }
}

TEST(ControlChangeTest, PayloadIsCanonicalJson) {
  std::string payload = encode_control_change(
      PrincipalStatusChange{"dev-1", PrincipalStatus::kRevoked, "lost"}, "admin-1", "dec-1");
  EXPECT_EQ(payload,
            "{\"v\":1,\"op\":\"principal.status\",\"actor\":\"admin-1\",\"decision_id\":\"dec-1\","
            "\"id\":\"dev-1\",\"status\":\"revoked\",\"reason\":\"lost\"}");
  std::string key_add =
      encode_control_change(KeyAdd{"dev-1", "k1", test_key(1), 5, std::nullopt}, "a", "d");
  EXPECT_NE(key_add.find("\"public_key\":\"" + base64_encode(test_key(1).view()) + "\""),
            std::string::npos);
  EXPECT_EQ(key_add.find("not_after"), std::string::npos);
}

TEST(ControlChangeTest, DecodingRefusesNonCanonicalForms) {
  const std::string good =
      "{\"v\":1,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"principal_id\":\"p\",\"token_id\":\"t\"}";
  ASSERT_TRUE(decode_control_change(good).is_ok());
  const std::vector<std::string> bad = {
      // whitespace
      "{\"v\":1, \"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"principal_id\":\"p\",\"token_id\":\"t\"}",
      // field order
      "{\"v\":1,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"token_id\":\"t\",\"principal_id\":\"p\"}",
      // extra field
      "{\"v\":1,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"principal_id\":\"p\",\"token_id\":\"t\",\"x\":1}",
      // missing field
      "{\"v\":1,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\",\"principal_id\":"
      "\"p\"}",
      // wrong type
      "{\"v\":1,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"principal_id\":7,\"token_id\":\"t\"}",
      // unknown version and op
      "{\"v\":2,\"op\":\"token.revoke\",\"actor\":\"a\",\"decision_id\":\"d\","
      "\"principal_id\":\"p\",\"token_id\":\"t\"}",
      "{\"v\":1,\"op\":\"token.burn\",\"actor\":\"a\",\"decision_id\":\"d\"}",
      // unsorted set, duplicate set member
      "{\"v\":1,\"op\":\"token.create\",\"actor\":\"a\",\"decision_id\":\"d\",\"principal_id\":"
      "\"p\","
      "\"token_id\":\"t\",\"token_hash\":\"" +
          sha256("x").hex() + "\",\"scopes\":[\"b\",\"a\"],\"expires_at\":5}",
      "{\"v\":1,\"op\":\"token.create\",\"actor\":\"a\",\"decision_id\":\"d\",\"principal_id\":"
      "\"p\","
      "\"token_id\":\"t\",\"token_hash\":\"" +
          sha256("x").hex() + "\",\"scopes\":[\"a\",\"a\"],\"expires_at\":5}",
      // upper-case hex
      "{\"v\":1,\"op\":\"user.totp\",\"actor\":\"a\",\"decision_id\":\"d\",\"principal_id\":\"p\","
      "\"totp_commitment\":\"" +
          std::string(64, 'A') + "\"}",
      "not json",
      "[1]",
  };
  for (const std::string& payload : bad) {
    auto decoded = decode_control_change(payload);
    EXPECT_FALSE(decoded.is_ok()) << payload;
    if (!decoded.is_ok()) {
      EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ControlChangeTest, IdentityPayloadFilterIgnoresOtherModules) {
  EXPECT_FALSE(is_identity_payload(as_bytes("{\"v\":1,\"op\":\"policy.set\",\"x\":1}")));
  EXPECT_FALSE(is_identity_payload(as_bytes("{\"v\":1,\"op\":\"key.addition\"}")));
  EXPECT_FALSE(is_identity_payload(as_bytes("{\"v\":2,\"op\":\"key.add\"}")));
  EXPECT_FALSE(is_identity_payload(as_bytes("")));
  EXPECT_TRUE(is_identity_payload(as_bytes("{\"v\":1,\"op\":\"key.add\",")));
}

TEST(ControlChangeTest, EnrollmentProofMessageAndKeyId) {
  Ed25519PublicKey key = test_key(9);
  EXPECT_EQ(enrollment_proof_message("dev-1", key, "tok"),
            "custos-enroll-v1\ndev-1\n" + base64_encode(key.view()) + "\ntok");
  std::string key_id = key_id_for(key);
  EXPECT_EQ(key_id.size(), 32u);
  EXPECT_EQ(key_id, sha256(key.view()).hex().substr(0, 32));
  EXPECT_NE(key_id_for(test_key(10)), key_id);
}

TEST(ControlChangeTest, SecretCommitmentsBindPurposeAndPrincipal) {
  Bytes secret = to_bytes("0123456789abcdef0123");
  Hash256 commitment = secret_commitment("totp", "alice", secret);
  EXPECT_EQ(commitment, secret_commitment("totp", "alice", secret));
  EXPECT_NE(commitment, secret_commitment("password", "alice", secret));
  EXPECT_NE(commitment, secret_commitment("totp", "bob", secret));
  EXPECT_NE(commitment, secret_commitment("totp", "alice", to_bytes("other")));
}

}  // namespace
}  // namespace custos::identity
