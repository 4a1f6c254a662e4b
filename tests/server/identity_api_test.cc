// The identity, credential and approval endpoints end to end over loopback:
// enrollment with proof of possession, key rotation with an overlap, API
// tokens, status changes (and lifting a quarantine under the two-person
// rule), login, and the refusals a client sees.
#include "custos/server/identity_api.h"

#include "custos/crypto/ed25519.h"
#include "custos/identity/control_change.h"
#include "server/api_fixture.h"

namespace custos {
namespace {

class IdentityApiTest : public test_support::ApiFixture {
 protected:
  // adam (admin) creates a device; true when 201.
  bool add_device(const std::string& id) {
    auto response = call("POST", "/custos/v1/principals",
                         R"({"id":")" + id +
                             R"(","kind":"device","subtype":"scanner","site":"north","zone":"a"})",
                         adam_);
    return response.is_ok() && response->status == 201;
  }

  // A one-time enrollment token for `id`, made by adam.
  std::string enrollment_token(const std::string& id) {
    auto response = call("POST", "/custos/v1/principals/" + id + "/enrollments", R"({"ttl_s":60})",
                         adam_);
    EXPECT_TRUE(response.is_ok());
    if (!response.is_ok()) return "";
    EXPECT_EQ(response->status, 201) << response->body;
    return member(response->body, "token");
  }

  static std::string member(const std::string& json, std::string_view key) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    std::string_view value;
    if (parser.parse(json).get(root) != simdjson::SUCCESS ||
        root[key].get_string().get(value) != simdjson::SUCCESS) {
      return "";
    }
    return std::string(value);
  }

  static std::string enroll_body(const std::string& token, const Ed25519KeyPair& key,
                                 const Ed25519Signature& proof) {
    return R"({"token":")" + token + R"(","public_key":")" +
           base64_encode(key.public_key().view()) + R"(","proof":")" +
           base64_encode(proof.view()) + R"("})";
  }
};

TEST_F(IdentityApiTest, EnrollmentNeedsTheTokenAndProofOfPossessionOnce) {
  ASSERT_TRUE(add_device("scanner-1"));
  std::string token = enrollment_token("scanner-1");
  ASSERT_FALSE(token.empty());
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  Ed25519KeyPair other = Ed25519KeyPair::generate();

  // A proof made with another key is refused, and does not use the token up.
  Ed25519Signature wrong = other.sign(
      as_bytes(identity::enrollment_proof_message("scanner-1", key.public_key(), token)));
  auto forged = call("POST", "/custos/v1/enroll", enroll_body(token, key, wrong), "");
  ASSERT_TRUE(forged.is_ok());
  EXPECT_EQ(forged->status, 401) << forged->body;

  Ed25519Signature proof =
      key.sign(as_bytes(identity::enrollment_proof_message("scanner-1", key.public_key(), token)));
  auto enrolled = call("POST", "/custos/v1/enroll", enroll_body(token, key, proof), "");
  ASSERT_TRUE(enrolled.is_ok());
  ASSERT_EQ(enrolled->status, 201) << enrolled->body;
  EXPECT_EQ(member(enrolled->body, "key_id"), identity::key_id_for(key.public_key()));
  EXPECT_TRUE(identity_->find_by_key_id(identity::key_id_for(key.public_key())).ok());

  // The token works once.
  auto again = call("POST", "/custos/v1/enroll", enroll_body(token, key, proof), "");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->status, 409) << again->body;

  // Malformed bodies are 400 with a problem, never a crash.
  for (std::string_view body : {"", "{", "[]", R"({"token":"x"})", R"({"token":"x","bogus":1})",
                                R"({"token":"x","public_key":"!!","proof":"AA=="})"}) {
    auto bad = call("POST", "/custos/v1/enroll", body, "");
    ASSERT_TRUE(bad.is_ok());
    EXPECT_EQ(bad->status, 400) << body << " -> " << bad->body;
    EXPECT_EQ(bad->content_type, "application/problem+json");
  }
}

TEST_F(IdentityApiTest, KeyRotationKeepsTheOldKeyForTheOverlap) {
  ASSERT_TRUE(add_device("scanner-2"));
  std::string token = enrollment_token("scanner-2");
  Ed25519KeyPair old_key = Ed25519KeyPair::generate();
  Ed25519Signature proof = old_key.sign(
      as_bytes(identity::enrollment_proof_message("scanner-2", old_key.public_key(), token)));
  ASSERT_EQ(call("POST", "/custos/v1/enroll", enroll_body(token, old_key, proof), "")->status, 201);
  const std::string old_id = identity::key_id_for(old_key.public_key());

  Ed25519KeyPair new_key = Ed25519KeyPair::generate();
  auto body = [&](const Ed25519Signature& signature) {
    return R"({"old_key_id":")" + old_id + R"(","public_key":")" +
           base64_encode(new_key.public_key().view()) + R"(","proof":")" +
           base64_encode(signature.view()) + R"(","overlap_s":600})";
  };
  // Proof by the wrong key: refused.
  Ed25519Signature forged = old_key.sign(
      as_bytes(rotation_proof_message("scanner-2", new_key.public_key(), old_id)));
  EXPECT_EQ(call("POST", "/custos/v1/principals/scanner-2/keys/rotate", body(forged), adam_)->status,
            400);
  // An operator may not rotate keys.
  Ed25519Signature good =
      new_key.sign(as_bytes(rotation_proof_message("scanner-2", new_key.public_key(), old_id)));
  EXPECT_EQ(call("POST", "/custos/v1/principals/scanner-2/keys/rotate", body(good), oscar_)->status,
            403);
  auto rotated = call("POST", "/custos/v1/principals/scanner-2/keys/rotate", body(good), adam_);
  ASSERT_TRUE(rotated.is_ok());
  ASSERT_EQ(rotated->status, 200) << rotated->body;
  EXPECT_TRUE(identity_->find_by_key_id(identity::key_id_for(new_key.public_key())).ok());
  identity::KeyLookup old_lookup = identity_->find_by_key_id(old_id);
  EXPECT_TRUE(old_lookup.ok());  // still inside the overlap
  ASSERT_TRUE(old_lookup.key.not_after.has_value());
  EXPECT_EQ(identity_->find_by_key_id(old_id, *old_lookup.key.not_after).verdict,
            identity::KeyVerdict::kExpired);
}

TEST_F(IdentityApiTest, ApiTokensAreScopedShownOnceAndRevocable) {
  auto created = call("POST", "/custos/v1/principals/oscar/tokens",
                      R"({"scopes":["status.read"],"ttl_s":3600})", adam_);
  ASSERT_TRUE(created.is_ok());
  ASSERT_EQ(created->status, 201) << created->body;
  std::string token = member(created->body, "token");
  std::string token_id = member(created->body, "token_id");
  ASSERT_FALSE(token.empty());
  // The principal's listing shows the token's id, never the token.
  auto shown = call("GET", "/custos/v1/principals/oscar", "", adam_);
  ASSERT_TRUE(shown.is_ok());
  EXPECT_NE(shown->body.find(token_id), std::string::npos);
  EXPECT_EQ(shown->body.find(token), std::string::npos);
  // Reading its own status works with it (status-read-self) ...
  EXPECT_EQ(call("GET", "/custos/v1/principals/oscar", "", token)->status, 200);
  // ... until it is revoked: the very next request is refused.
  EXPECT_EQ(call("DELETE", "/custos/v1/principals/oscar/tokens/" + token_id, "", adam_)->status, 200);
  auto refused = call("GET", "/custos/v1/principals/oscar", "", token);
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->status, 401);
  EXPECT_NE(refused->body.find("invalid_token"), std::string::npos);
  // Scopes are required.
  EXPECT_EQ(call("POST", "/custos/v1/principals/oscar/tokens", R"({"ttl_s":3600})", adam_)->status,
            400);
}

TEST_F(IdentityApiTest, LiftingAQuarantineIsAContainmentOverrideWithTwoPeople) {
  ASSERT_TRUE(add_device("scanner-3"));
  auto quarantined = call("POST", "/custos/v1/principals/scanner-3/status",
                          R"({"status":"quarantined","reason":"cloned tag alert"})", adam_);
  ASSERT_TRUE(quarantined.is_ok());
  ASSERT_EQ(quarantined->status, 200) << quarantined->body;
  EXPECT_NE(quarantined->body.find("\"decision_id\":\"dec-"), std::string::npos);

  // Plain reactivation is refused: it must go through /release.
  auto shortcut = call("POST", "/custos/v1/principals/scanner-3/status",
                       R"({"status":"active","reason":"looks fine"})", adam_);
  ASSERT_TRUE(shortcut.is_ok());
  EXPECT_EQ(shortcut->status, 409) << shortcut->body;

  // alice (security) alone: forbidden by the two-person rule.
  auto alone = call("POST", "/custos/v1/principals/scanner-3/release",
                    R"({"reason":"investigated"})", alice_);
  ASSERT_TRUE(alone.is_ok());
  EXPECT_EQ(alone->status, 403) << alone->body;
  // With adam's approval for exactly this: released.
  std::string approval_id =
      approval(adam_, "alice", "containment.override", "Custos::Device", "scanner-3");
  ASSERT_FALSE(approval_id.empty());
  auto released = call("POST", "/custos/v1/principals/scanner-3/release",
                       R"({"reason":"investigated"})", alice_, {{"Custos-Approval", approval_id}});
  ASSERT_TRUE(released.is_ok());
  ASSERT_EQ(released->status, 200) << released->body;
  EXPECT_TRUE(identity_->find_principal("scanner-3")->is_active());
  // Nobody approves their own request.
  auto self = call("POST", "/custos/v1/approvals",
                   R"({"requester":"alice","action":"containment.override",)"
                   R"("resource_type":"Custos::Device","resource_id":"scanner-3"})",
                   alice_);
  ASSERT_TRUE(self.is_ok());
  EXPECT_EQ(self->status, 400) << self->body;
}

TEST_F(IdentityApiTest, PrincipalChangesNeedTheRightRoleAndValidInput) {
  EXPECT_EQ(call("POST", "/custos/v1/principals",
                 R"({"id":"x","kind":"device","subtype":"scanner"})", oscar_)->status,
            403);
  EXPECT_TRUE(add_device("scanner-4"));
  EXPECT_EQ(call("POST", "/custos/v1/principals",
                 R"({"id":"scanner-4","kind":"device","subtype":"scanner"})", adam_)->status,
            409);
  for (std::string_view body :
       {R"({"id":"y","kind":"robot"})", R"({"id":"y","kind":"device"})",
        R"({"id":"y","kind":"service","password":"long enough password"})",
        R"({"id":"y","kind":"user"})", R"({"id":"bad id","kind":"service"})",
        R"({"id":"y","kind":"service","roles":"admin"})", R"({"id":"y","kind":"service","x":1})"}) {
    auto refused = call("POST", "/custos/v1/principals", body, adam_);
    ASSERT_TRUE(refused.is_ok());
    EXPECT_EQ(refused->status, 400) << body << " -> " << refused->body;
  }
  EXPECT_EQ(call("GET", "/custos/v1/principals/nobody", "", adam_)->status, 404);
  // Someone not allowed to look cannot probe which ids exist.
  auto token = identity_->create_api_token("scanner-4", {"status.read"}, std::chrono::hours(1),
                                           "test", "dec-test");
  ASSERT_TRUE(token.is_ok());
  EXPECT_EQ(call("GET", "/custos/v1/principals/nobody", "", token->token)->status, 403);
  EXPECT_EQ(call("GET", "/custos/v1/principals/adam", "", token->token)->status, 403);
  EXPECT_EQ(call("GET", "/custos/v1/principals/scanner-4", "", token->token)->status, 200);
  EXPECT_EQ(call("GET", "/custos/v1/principals?kind=robot", "", adam_)->status, 400);
  EXPECT_EQ(call("GET", "/custos/v1/principals", "", "")->status, 401);
}

TEST_F(IdentityApiTest, LoginRefusesBadCredentialsWithoutSayingWhy) {
  auto created = call("POST", "/custos/v1/principals",
                      R"({"id":"olga","kind":"user","roles":["operator"],)"
                      R"("password":"correct horse battery staple"})",
                      adam_);
  ASSERT_TRUE(created.is_ok());
  ASSERT_EQ(created->status, 201) << created->body;
  auto good = call("POST", "/custos/v1/auth/login",
                   R"({"principal":"olga","password":"correct horse battery staple"})", "");
  ASSERT_TRUE(good.is_ok());
  ASSERT_EQ(good->status, 200) << good->body;
  std::string session = member(good->body, "token");
  EXPECT_EQ(call("GET", "/custos/v1/principals/olga", "", session)->status, 200);
  EXPECT_EQ(call("POST", "/custos/v1/auth/logout", "", session)->status, 204);
  EXPECT_EQ(call("GET", "/custos/v1/principals/olga", "", session)->status, 401);

  auto wrong = call("POST", "/custos/v1/auth/login",
                    R"({"principal":"olga","password":"wrong password here"})", "");
  auto unknown = call("POST", "/custos/v1/auth/login",
                      R"({"principal":"nobody","password":"wrong password here"})", "");
  ASSERT_TRUE(wrong.is_ok() && unknown.is_ok());
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(unknown->status, 401);
  EXPECT_EQ(member(wrong->body, "detail"), member(unknown->body, "detail"));
}

}  // namespace
}  // namespace custos
