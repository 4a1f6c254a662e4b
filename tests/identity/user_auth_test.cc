// Users, sessions and API tokens: passwords, mandatory TOTP for
// trust-changing roles, TOTP reuse, session expiry, token scopes, expiry and
// revocation, and that no secret ever reaches the log.
#include <gtest/gtest.h>

#include "custos/crypto/totp.h"
#include "custos/identity/identity_service.h"
#include "identity_test_support.h"

namespace custos::identity::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class UserAuthTest : public IdentityFixture {
 protected:
  NewUser make_user(const std::string& id, std::set<std::string> roles, bool with_totp = false) {
    auto created = service_->create_user(user(id, std::move(roles)), "correct horse", with_totp,
                                         kActor, kDecision);
    EXPECT_TRUE(created.is_ok()) << created.status().to_string();
    return created.is_ok() ? *created : NewUser{};
  }
  std::string code_now(const std::string& secret_base32, int64_t offset_seconds = 0) {
    Bytes secret = *base32_decode(secret_base32);
    return *totp(secret, clock_.now_micros() / kSecond + offset_seconds);
  }
};

TEST_F(UserAuthTest, LoginWithPassword) {
  NewUser alice = make_user("alice", {"operator"});
  ASSERT_NE(alice.principal, nullptr);
  EXPECT_TRUE(alice.principal->has_password);
  EXPECT_FALSE(alice.principal->has_totp);
  EXPECT_FALSE(alice.totp.has_value());

  auto session = service_->login("alice", "correct horse");
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  EXPECT_EQ(session->expires_at, kStartTime + 15 * 60 * kSecond);
  auto who = service_->authenticate_token(session->token);
  ASSERT_TRUE(who.is_ok()) << who.status().to_string();
  EXPECT_EQ(who->principal->id(), "alice");
  EXPECT_EQ(who->kind, CredentialKind::kSession);
  EXPECT_TRUE(who->has_scope("operator"));

  EXPECT_EQ(service_->login("alice", "wrong").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->login("alice", "").status().code(), StatusCode::kUnauthenticated);
  auto unknown = service_->login("mallory", "correct horse");
  EXPECT_EQ(unknown.status().code(), StatusCode::kUnauthenticated);
  // An unknown user and a wrong password look the same.
  EXPECT_EQ(unknown.status().message(), service_->login("alice", "wrong").status().message());
  create(device("dev-1"));
  EXPECT_EQ(service_->login("dev-1", "correct horse").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(UserAuthTest, SessionsExpireAndEnd) {
  make_user("alice", {});
  auto session = service_->login("alice", "correct horse");
  ASSERT_TRUE(session.is_ok());
  clock_.advance(15 * 60 * kSecond - 1);
  EXPECT_TRUE(service_->authenticate_token(session->token).is_ok());
  clock_.advance(1);
  EXPECT_EQ(service_->authenticate_token(session->token).status().code(),
            StatusCode::kUnauthenticated);

  auto second = service_->login("alice", "correct horse");
  ASSERT_TRUE(second.is_ok());
  EXPECT_TRUE(service_->logout(second->token));
  EXPECT_FALSE(service_->logout(second->token));
  EXPECT_FALSE(service_->authenticate_token(second->token).is_ok());
  EXPECT_FALSE(service_->authenticate_token("").is_ok());
  EXPECT_FALSE(service_->authenticate_token("garbage").is_ok());

  // A restart ends every session (they are not logged).
  auto third = service_->login("alice", "correct horse");
  ASSERT_TRUE(third.is_ok());
  restart();
  EXPECT_FALSE(service_->authenticate_token(third->token).is_ok());
  EXPECT_TRUE(service_->login("alice", "correct horse").is_ok());
}

TEST_F(UserAuthTest, SuspendedUserCannotLoginAndLosesSessions) {
  make_user("alice", {});
  auto session = service_->login("alice", "correct horse");
  ASSERT_TRUE(session.is_ok());
  ASSERT_TRUE(service_
                  ->apply(PrincipalStatusChange{"alice", PrincipalStatus::kSuspended, "leave"},
                          kActor, kDecision)
                  .is_ok());
  EXPECT_EQ(service_->authenticate_token(session->token).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(service_->login("alice", "correct horse").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(UserAuthTest, TotpIsMandatoryForTrustChangingRoles) {
  NewUser admin = make_user("root-ops", {"admin"});
  ASSERT_TRUE(admin.totp.has_value());
  ASSERT_NE(admin.principal, nullptr);
  EXPECT_TRUE(admin.principal->has_totp);
  EXPECT_EQ(admin.totp->otpauth_uri.rfind("otpauth://totp/custos:root-ops?", 0), 0u)
      << admin.totp->otpauth_uri;

  auto no_code = service_->login("root-ops", "correct horse");
  EXPECT_EQ(no_code.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(no_code.status().message().find("TOTP"), std::string::npos);
  EXPECT_EQ(service_->login("root-ops", "correct horse", "000000").status().code(),
            StatusCode::kUnauthenticated);
  // Right code, wrong password.
  EXPECT_EQ(
      service_->login("root-ops", "nope", code_now(admin.totp->secret_base32)).status().code(),
      StatusCode::kUnauthenticated);
  auto session = service_->login("root-ops", "correct horse", code_now(admin.totp->secret_base32));
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();

  // A user given a trust-changing role later, without TOTP, is locked out
  // until a TOTP secret is enrolled.
  make_user("bob", {"operator"});
  PrincipalUpdate promote;
  promote.id = "bob";
  promote.roles = std::set<std::string>{"security"};
  ASSERT_TRUE(service_->apply(promote, kActor, kDecision).is_ok());
  EXPECT_EQ(service_->login("bob", "correct horse").status().code(), StatusCode::kUnauthenticated);
  auto enrolled = service_->enroll_totp("bob", kActor, kDecision);
  ASSERT_TRUE(enrolled.is_ok()) << enrolled.status().to_string();
  EXPECT_TRUE(service_->login("bob", "correct horse", code_now(enrolled->secret_base32)).is_ok());
}

TEST_F(UserAuthTest, TotpCodesCannotBeReused) {
  NewUser admin = make_user("root-ops", {"policy_admin"});
  std::string code = code_now(admin.totp->secret_base32);
  ASSERT_TRUE(service_->login("root-ops", "correct horse", code).is_ok());
  auto again = service_->login("root-ops", "correct horse", code);
  EXPECT_EQ(again.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(again.status().message().find("already used"), std::string::npos);
  // The previous step's code (still within the drift window) is refused too.
  EXPECT_FALSE(
      service_->login("root-ops", "correct horse", code_now(admin.totp->secret_base32, -30))
          .is_ok());
  // Not even after a restart.
  restart();
  EXPECT_FALSE(service_->login("root-ops", "correct horse", code).is_ok());
  clock_.advance(30 * kSecond);
  EXPECT_TRUE(
      service_->login("root-ops", "correct horse", code_now(admin.totp->secret_base32)).is_ok());
}

TEST_F(UserAuthTest, PasswordChangeAndOptionalTotp) {
  NewUser carol = make_user("carol", {"viewer"}, /*with_totp=*/true);
  ASSERT_TRUE(carol.totp.has_value());
  ASSERT_TRUE(service_->set_password("carol", "new password", kActor, kDecision).is_ok());
  std::string code = code_now(carol.totp->secret_base32);
  EXPECT_FALSE(service_->login("carol", "correct horse", code).is_ok());
  EXPECT_TRUE(service_->login("carol", "new password", code).is_ok());
  // The password survives a restart (loaded from the store by commitment).
  restart();
  EXPECT_EQ(service_->replay_stats().missing_secrets, 0u);
  clock_.advance(30 * kSecond);
  EXPECT_TRUE(
      service_->login("carol", "new password", code_now(carol.totp->secret_base32)).is_ok());
  create(device("dev-1"));
  EXPECT_EQ(service_->set_password("dev-1", "pw", kActor, kDecision).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->set_password("carol", "", kActor, kDecision).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(UserAuthTest, ApiTokensAreScopedExpiringAndRevocable) {
  PrincipalAttributes service_attributes;
  service_attributes.id = "svc-wms";
  service_attributes.kind = PrincipalKind::kService;
  create(service_attributes);
  auto token =
      service_->create_api_token("svc-wms", {"capture", "read"}, hours(1), kActor, kDecision);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  EXPECT_EQ(token->expires_at, kStartTime + 3600 * kSecond);
  auto who = service_->authenticate_token(token->token);
  ASSERT_TRUE(who.is_ok()) << who.status().to_string();
  EXPECT_EQ(who->kind, CredentialKind::kApiToken);
  EXPECT_EQ(who->principal->id(), "svc-wms");
  EXPECT_EQ(who->token_id, token->token_id);
  EXPECT_TRUE(who->has_scope("capture"));
  EXPECT_TRUE(who->has_scope("read"));
  EXPECT_FALSE(who->has_scope("admin"));
  ASSERT_EQ(who->principal->tokens.size(), 1u);
  EXPECT_EQ(who->principal->tokens[0].scopes, (std::set<std::string>{"capture", "read"}));

  // Expiry.
  clock_.advance(3600 * kSecond);
  EXPECT_EQ(service_->authenticate_token(token->token).status().code(),
            StatusCode::kUnauthenticated);

  // Revocation, effective at once and after a restart.
  auto second = service_->create_api_token("svc-wms", {"read"}, hours(1), kActor, kDecision);
  ASSERT_TRUE(second.is_ok());
  EXPECT_TRUE(service_->authenticate_token(second->token).is_ok());
  ASSERT_TRUE(service_->revoke_api_token("svc-wms", second->token_id, kActor, kDecision).is_ok());
  EXPECT_EQ(service_->authenticate_token(second->token).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(
      service_->revoke_api_token("svc-wms", second->token_id, kActor, kDecision).status().code(),
      StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->revoke_api_token("svc-wms", "tok-nope", kActor, kDecision).status().code(),
            StatusCode::kNotFound);

  // A token of a quarantined principal is refused while it is quarantined.
  auto third = service_->create_api_token("svc-wms", {"read"}, hours(1), kActor, kDecision);
  ASSERT_TRUE(third.is_ok());
  restart();
  EXPECT_FALSE(service_->authenticate_token(second->token).is_ok());
  EXPECT_TRUE(service_->authenticate_token(third->token).is_ok());
  ASSERT_TRUE(service_
                  ->apply(PrincipalStatusChange{"svc-wms", PrincipalStatus::kQuarantined, "x"},
                          kActor, kDecision)
                  .is_ok());
  EXPECT_FALSE(service_->authenticate_token(third->token).is_ok());
  EXPECT_EQ(service_->create_api_token("svc-wms", {}, hours(1), kActor, kDecision).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(UserAuthTest, NoSecretEverReachesTheLog) {
  NewUser admin = make_user("root-ops", {"admin"});
  ASSERT_TRUE(admin.totp.has_value());
  Bytes totp_secret = *base32_decode(admin.totp->secret_base32);
  auto session = service_->login("root-ops", "correct horse", code_now(admin.totp->secret_base32));
  ASSERT_TRUE(session.is_ok());
  create(device("dev-1"));
  auto enrollment = service_->create_enrollment("dev-1", minutes(5), kActor, kDecision);
  ASSERT_TRUE(enrollment.is_ok());
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  ASSERT_TRUE(service_
                  ->complete_enrollment(enrollment->token, key.public_key(),
                                        key.sign(as_bytes(enrollment_proof_message(
                                            "dev-1", key.public_key(), enrollment->token))),
                                        kDecision)
                  .is_ok());
  auto token = service_->create_api_token("dev-1", {"capture"}, hours(1), kActor, kDecision);
  ASSERT_TRUE(token.is_ok());
  ASSERT_TRUE(service_->set_password("root-ops", "second password", kActor, kDecision).is_ok());

  std::string log_bytes = all_log_bytes();
  ASSERT_FALSE(log_bytes.empty());
  const std::vector<std::string> secrets = {
      std::string(as_text(totp_secret)),
      admin.totp->secret_base32,
      base64_encode(totp_secret),
      hex_encode(totp_secret),
      "correct horse",
      "second password",
      "$argon2id$",
      session->token,
      enrollment->token,
      token->token,
  };
  for (const std::string& secret : secrets) {
    EXPECT_EQ(log_bytes.find(secret), std::string::npos) << "log holds a secret: " << secret;
  }
  // What the log does hold: the hashes of the one-time and API tokens.
  EXPECT_NE(log_bytes.find(hash_token(enrollment->token).hex()), std::string::npos);
  EXPECT_NE(log_bytes.find(hash_token(token->token).hex()), std::string::npos);
  // Every entry records an actor and a decision.
  for (const ledger::LogEntry& entry : log_entries()) {
    auto decoded = decode_control_change(as_text(entry.payload));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_FALSE(decoded->actor.empty());
    EXPECT_EQ(decoded->decision_id, kDecision);
    EXPECT_EQ(entry.principal, decoded->actor);
  }
}

}  // namespace
}  // namespace custos::identity::testing
