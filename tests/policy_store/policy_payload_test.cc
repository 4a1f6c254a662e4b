// The policy.set payload: canonical encoding, strict decoding, and that the
// identity module does not mistake it for one of its own control changes.
#include <gtest/gtest.h>

#include "custos/crypto/sha256.h"
#include "custos/identity/control_change.h"
#include "custos/policy/policy_store.h"

namespace custos::policy {
namespace {

PolicyChange sample(std::string text = "permit (principal, action, resource);\n") {
  return PolicyChange{"policy-admin-1", "decision-7", 3, sha256(text), text};
}

TEST(PolicyPayloadTest, EncodesCanonically) {
  PolicyChange change = sample();
  EXPECT_EQ(encode_policy_change(change),
            "{\"v\":1,\"op\":\"policy.set\",\"actor\":\"policy-admin-1\",\"decision_id\":"
            "\"decision-7\",\"version\":3,\"sha256\":\"" +
                change.sha256.hex() + "\",\"text\":\"permit (principal, action, resource);\\n\"}");
}

TEST(PolicyPayloadTest, RoundTripsAnyText) {
  for (std::string text : {std::string(""), std::string("quotes \" and \\ backslashes\t\r\n"),
                           std::string("unicode \xc3\xa9 \xe2\x80\x94 \xf0\x9f\x94\x92"),
                           std::string("nul \0 byte", 10), std::string("\x01\x1f control")}) {
    PolicyChange change = sample(text);
    std::string payload = encode_policy_change(change);
    auto decoded = decode_policy_change(payload);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string() << " for " << payload;
    EXPECT_EQ(*decoded, change);
    EXPECT_TRUE(is_policy_payload(as_bytes(payload)));
  }
}

TEST(PolicyPayloadTest, DecodingIsStrict) {
  std::string good = encode_policy_change(sample());
  auto refused = [](const std::string& payload) {
    return decode_policy_change(payload).status().code() == StatusCode::kInvalidArgument;
  };
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string payload = good;
    size_t at = payload.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return payload.replace(at, from.size(), to);
  };
  EXPECT_FALSE(refused(good));
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("[]"));
  EXPECT_TRUE(refused(good.substr(0, good.size() - 1)));
  EXPECT_TRUE(refused(replace("{\"v\":1,", "{\"v\":2,")));
  EXPECT_TRUE(refused(replace("policy.set", "policy.unset")));
  EXPECT_TRUE(refused(replace("\"version\":3", "\"version\":0")));
  EXPECT_TRUE(refused(replace("\"version\":3", "\"version\":\"3\"")));
  EXPECT_TRUE(refused(replace("\"version\":3", "\"version\":-3")));
  EXPECT_TRUE(refused(replace("\"actor\":\"policy-admin-1\",", "")));
  EXPECT_TRUE(refused(replace("{\"v\":1,", "{\"v\":1,\"extra\":1,")));
  EXPECT_TRUE(refused(replace("\"v\":1,\"op\":\"policy.set\"", "\"op\":\"policy.set\",\"v\":1")));
  EXPECT_TRUE(refused(replace(",\"version\"", ", \"version\"")));
  // A digest that is not the text's, or not lower-case hex.
  PolicyChange change = sample();
  std::string hex = change.sha256.hex();
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(refused(replace(hex, upper)));
  EXPECT_TRUE(refused(replace(hex, sha256(std::string("other")).hex())));
  EXPECT_TRUE(refused(replace(hex, hex.substr(2))));
}

TEST(PolicyPayloadTest, IdentityIgnoresPolicyPayloads) {
  std::string payload = encode_policy_change(sample());
  EXPECT_FALSE(identity::is_identity_payload(as_bytes(payload)));
  EXPECT_FALSE(identity::decode_control_change(payload).is_ok());
  // And the other way round.
  identity::PrincipalStatusChange status{"dev-1", identity::PrincipalStatus::kSuspended, "lost"};
  std::string identity_payload = identity::encode_control_change(status, "admin", "d-1");
  EXPECT_TRUE(identity::is_identity_payload(as_bytes(identity_payload)));
  EXPECT_FALSE(is_policy_payload(as_bytes(identity_payload)));
  EXPECT_FALSE(decode_policy_change(identity_payload).is_ok());
}

}  // namespace
}  // namespace custos::policy
