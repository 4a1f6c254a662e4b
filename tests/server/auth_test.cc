// RequestAuthenticator and RequestAuthorizer over a real IdentityService
// (temporary store + log), with requests signed per the custos profile
// (sdk/signer.h) through crypto's sign_request.
#include "custos/server/auth.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "../identity/identity_test_support.h"
#include "custos/core/bytes.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/random.h"
#include "custos/crypto/sha256.h"
#include "custos/policy/parser.h"

namespace custos {
namespace {

using identity::testing::IdentityFixture;
using identity::testing::kActor;
using identity::testing::kDecision;
using identity::testing::kSecond;
using identity::testing::kStartTime;

constexpr std::string_view kHost = "custos.test:8080";

// What a test may leave out of, or add to, the profile.
struct SignOptions {
  bool cover_digest = true;  // when the body is not empty
  bool with_nonce = true;
  bool with_alg = true;
  std::string label = "custos";
};

class AuthTest : public IdentityFixture {
 protected:
  void SetUp() override {
    IdentityFixture::SetUp();
    if (HasFatalFailure()) return;
    nonces_ = std::make_unique<identity::NonceCache>();
    authenticator_ = std::make_unique<RequestAuthenticator>(*service_, *nonces_, clock_);
    create(device("dev-1"));
    key_ = Ed25519KeyPair::generate();
    add_key("dev-1", "key-1", key_);
  }

  void add_key(const std::string& principal_id, const std::string& key_id,
               const Ed25519KeyPair& key) {
    identity::KeyAdd add;
    add.principal_id = principal_id;
    add.key_id = key_id;
    add.public_key = key.public_key();
    add.not_before = clock_.now_micros();
    auto receipt = service_->apply(add, kActor, kDecision);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  }

  void set_status(const std::string& principal_id, identity::PrincipalStatus status) {
    auto receipt = service_->apply(identity::PrincipalStatusChange{principal_id, status, "test"},
                                   kActor, kDecision);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  }

  int64_t now_seconds() const { return clock_.now_micros() / kSecond; }

  // A request signed under the custos profile at the clock's now.
  HttpRequest signed_request(std::string method, std::string target, std::string body = "",
                             const std::string& key_id = "key-1",
                             const Ed25519KeyPair* key = nullptr, SignOptions options = {}) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    size_t question = request.target.find('?');
    request.path = request.target.substr(0, question);
    std::string query = question == std::string::npos ? "" : request.target.substr(question + 1);
    request.body = std::move(body);
    request.remote_address = "10.1.2.3:50000";
    request.headers.set("Host", kHost);
    SignatureParams params;
    params.components = {ComponentId{"@method", {}}, ComponentId{"@target-uri", {}}};
    if (!request.body.empty()) {
      request.headers.set("Content-Digest", content_digest_value(as_bytes(request.body)));
      if (options.cover_digest) params.components.push_back(ComponentId{"content-digest", {}});
    }
    params.created = now_seconds();
    if (options.with_nonce) params.nonce = hex_encode(random_bytes(16));
    if (options.with_alg) params.alg = std::string(kAlgEd25519);
    params.keyid = key_id;

    SignedRequestView view;
    view.method = request.method;
    view.scheme = "http";
    view.authority = kHost;
    view.path = request.path;
    view.query = query;
    view.header_values = header_values_from(request.headers.fields());
    view.body = request.body;
    auto headers = sign_request(view, params, key ? *key : key_, options.label);
    EXPECT_TRUE(headers.is_ok()) << headers.status().to_string();
    if (headers.is_ok()) {
      request.headers.set("Signature-Input", headers->signature_input);
      request.headers.set("Signature", headers->signature);
    }
    return request;
  }

  HttpRequest bearer_request(std::string_view token) {
    HttpRequest request;
    request.method = "GET";
    request.target = request.path = "/custos/v1/log/checkpoint";
    request.headers.set("Host", kHost);
    request.headers.set("Authorization", "Bearer " + std::string(token));
    return request;
  }

  // The failure reason, or "ok".
  std::string reason_of(const HttpRequest& request) {
    AuthResult result = authenticator_->authenticate(request);
    return result.is_ok() ? "ok" : result.failure().reason;
  }

  std::unique_ptr<identity::NonceCache> nonces_;
  std::unique_ptr<RequestAuthenticator> authenticator_;
  Ed25519KeyPair key_ = Ed25519KeyPair::generate();
};

// ---- Authentication ----

TEST_F(AuthTest, SignedRequestWithoutBodyAuthenticates) {
  AuthResult result = authenticator_->authenticate(signed_request("GET", "/custos/v1/x?a=1&b=2"));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->id(), "dev-1");
  EXPECT_EQ(result->method, CredentialMethod::kSignature);
  EXPECT_EQ(result->key_id, "key-1");
  EXPECT_EQ(result->created, now_seconds());
  EXPECT_FALSE(result->nonce.empty());
  EXPECT_EQ(nonces_->size(), 1u);
}

TEST_F(AuthTest, SignedRequestWithBodyAuthenticates) {
  AuthResult result = authenticator_->authenticate(
      signed_request("POST", "/custos/v1/log/entries", R"({"event":"scan"})"));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->id(), "dev-1");
}

TEST_F(AuthTest, NoCredentialsIsRefused) {
  HttpRequest request;
  request.method = "GET";
  request.target = request.path = "/";
  request.headers.set("Host", kHost);
  AuthResult result = authenticator_->authenticate(request);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.failure().reason, kReasonMissingCredentials);
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);

  HttpResponse response = unauthenticated_response(result.failure());
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_NE(response.body.find(R"("reason":"missing_credentials")"), std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find(R"("status":401)"), std::string::npos);
  EXPECT_TRUE(response.headers.contains("WWW-Authenticate"));
}

TEST_F(AuthTest, MalformedSignatureHeadersAreRefused) {
  HttpRequest request = signed_request("GET", "/x");
  request.headers.set("Signature-Input", "custos=(((not a list");
  EXPECT_EQ(reason_of(request), kReasonMalformedSignature);

  HttpRequest only_input = signed_request("GET", "/x");
  only_input.headers.remove("Signature");
  EXPECT_EQ(reason_of(only_input), kReasonMalformedSignature);

  HttpRequest wrong_label = signed_request("GET", "/x", "", "key-1", nullptr, {.label = "sig1"});
  EXPECT_EQ(reason_of(wrong_label), kReasonMissingSignature);
}

TEST_F(AuthTest, UnknownKeyIsRefused) {
  Ed25519KeyPair stranger = Ed25519KeyPair::generate();
  EXPECT_EQ(reason_of(signed_request("GET", "/x", "", "key-unknown", &stranger)),
            kReasonUnknownKey);
}

TEST_F(AuthTest, FlippedSignatureByteIsRefused) {
  HttpRequest request = signed_request("GET", "/x");
  std::string signature(*request.header("Signature"));  // custos=:<base64>:
  size_t middle = signature.find(":") + 10;
  signature[middle] = signature[middle] == 'A' ? 'B' : 'A';
  request.headers.set("Signature", signature);
  EXPECT_EQ(reason_of(request), kReasonBadSignature);
}

TEST_F(AuthTest, AlteredTargetOrHostIsRefused) {
  HttpRequest request = signed_request("GET", "/custos/v1/a");
  request.target = request.path = "/custos/v1/b";
  EXPECT_EQ(reason_of(request), kReasonBadSignature);

  HttpRequest other_host = signed_request("GET", "/custos/v1/a");
  other_host.headers.set("Host", "evil.test");
  EXPECT_EQ(reason_of(other_host), kReasonBadSignature);

  HttpRequest no_host = signed_request("GET", "/custos/v1/a");
  no_host.headers.remove("Host");
  EXPECT_EQ(reason_of(no_host), kReasonMalformedRequest);
}

TEST_F(AuthTest, BodyDigestMismatchIsRefused) {
  HttpRequest request = signed_request("POST", "/custos/v1/log/entries", R"({"n":1})");
  request.body = R"({"n":2})";
  EXPECT_EQ(reason_of(request), kReasonDigestMismatch);
}

TEST_F(AuthTest, BodyWithoutCoveredDigestIsRefused) {
  HttpRequest request = signed_request("POST", "/custos/v1/log/entries", "payload", "key-1",
                                       nullptr, {.cover_digest = false});
  EXPECT_EQ(reason_of(request), kReasonMissingComponent);
}

TEST_F(AuthTest, MissingNonceOrAlgIsRefused) {
  EXPECT_EQ(reason_of(signed_request("GET", "/x", "", "key-1", nullptr, {.with_nonce = false})),
            kReasonMissingParameter);
  EXPECT_EQ(reason_of(signed_request("GET", "/x", "", "key-1", nullptr, {.with_alg = false})),
            kReasonMissingParameter);
}

TEST_F(AuthTest, CreatedOutsideSkewIsRefused) {
  HttpRequest late = signed_request("GET", "/x");
  HttpRequest on_time = signed_request("GET", "/x");
  clock_.advance(299 * kSecond);
  EXPECT_EQ(reason_of(on_time), "ok");
  clock_.advance(2 * kSecond);
  EXPECT_EQ(reason_of(late), kReasonCreatedOutOfWindow);

  // Signed in the future, beyond the skew.
  clock_.advance(400 * kSecond);
  HttpRequest future = signed_request("GET", "/x");
  clock_.advance(-400 * kSecond);
  EXPECT_EQ(reason_of(future), kReasonCreatedOutOfWindow);
}

TEST_F(AuthTest, ReplayedNonceIsRefused) {
  HttpRequest request = signed_request("POST", "/custos/v1/log/entries", "event");
  EXPECT_EQ(reason_of(request), "ok");
  EXPECT_EQ(reason_of(request), kReasonReplayedNonce);
  // A fresh nonce is fine.
  EXPECT_EQ(reason_of(signed_request("POST", "/custos/v1/log/entries", "event")), "ok");
}

TEST_F(AuthTest, ForgedRequestDoesNotBurnTheNonce) {
  HttpRequest request = signed_request("POST", "/custos/v1/log/entries", "event");
  HttpRequest forged = request;
  forged.body = "other";
  EXPECT_EQ(reason_of(forged), kReasonDigestMismatch);
  EXPECT_EQ(nonces_->size(), 0u);
  EXPECT_EQ(reason_of(request), "ok");
}

TEST_F(AuthTest, PrincipalStatusIsEnforcedOnTheNextRequest) {
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), "ok");
  set_status("dev-1", identity::PrincipalStatus::kSuspended);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), kReasonPrincipalSuspended);
  set_status("dev-1", identity::PrincipalStatus::kActive);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), "ok");
  set_status("dev-1", identity::PrincipalStatus::kQuarantined);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), kReasonPrincipalQuarantined);
  set_status("dev-1", identity::PrincipalStatus::kRevoked);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), kReasonPrincipalRevoked);
}

TEST_F(AuthTest, QuarantinedSignatureAcceptedOnlyWhenTheRouteAllowsIt) {
  set_status("dev-1", identity::PrincipalStatus::kQuarantined);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), kReasonPrincipalQuarantined);
  AuthResult allowed =
      authenticator_->authenticate(signed_request("GET", "/x"), AuthenticateMode{true});
  ASSERT_TRUE(allowed.is_ok()) << allowed.status().to_string();
  EXPECT_EQ(allowed->id(), "dev-1");
  // Suspension and revocation are never let through.
  set_status("dev-1", identity::PrincipalStatus::kSuspended);
  AuthResult suspended =
      authenticator_->authenticate(signed_request("GET", "/x"), AuthenticateMode{true});
  ASSERT_FALSE(suspended.is_ok());
  EXPECT_EQ(suspended.failure().reason, kReasonPrincipalSuspended);
}

TEST_F(AuthTest, SignedRequestKeepsVerifiableEvidence) {
  HttpRequest request = signed_request("POST", "/custos/v1/log/entries", "pallet 7 sealed");
  AuthResult who = authenticator_->authenticate(request);
  ASSERT_TRUE(who.is_ok()) << who.status().to_string();
  EXPECT_EQ(who->covered_headers, std::vector<std::string>{"content-digest"});
  ASSERT_EQ(who->signature.size(), 64u);
  std::string evidence = signature_evidence(who.value());
  ASSERT_TRUE(evidence.starts_with("custos-sig v1\n")) << evidence;
  // The evidence alone verifies with the device's public key.
  size_t second_line = evidence.find('\n', 14);
  ASSERT_NE(second_line, std::string::npos);
  auto signature = base64_decode(evidence.substr(14, second_line - 14));
  ASSERT_TRUE(signature.is_ok());
  std::string base = evidence.substr(second_line + 1);
  EXPECT_NE(base.find("\"content-digest\": sha-256=:"), std::string::npos) << base;
  auto parsed = Ed25519Signature::from_bytes(*signature);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_TRUE(ed25519_verify(key_.public_key(), as_bytes(base), *parsed));
  std::string forged = base;
  forged.back() ^= 1;
  EXPECT_FALSE(ed25519_verify(key_.public_key(), as_bytes(forged), *parsed));
  // Bearer credentials leave no evidence.
  AuthenticatedPrincipal bearer = who.value();
  bearer.method = CredentialMethod::kApiToken;
  EXPECT_EQ(signature_evidence(bearer), "");
}

// One request, several entries: the evidence once, then references back to
// it by distance and digest; no evidence means none in any entry.
TEST(GroupRequestSignatures, EvidenceOnceThenReferencesBack) {
  const std::string evidence = "custos-sig v1\nc2lnbmF0dXJl\n\"@method\": POST";
  const std::string digest = base64_encode(sha256(evidence).view());
  EXPECT_EQ(group_request_signatures(evidence, 3),
            (std::vector<std::string>{evidence, "custos-sig-ref v1\n1\n" + digest,
                                      "custos-sig-ref v1\n2\n" + digest}));
  EXPECT_EQ(group_request_signatures(evidence, 1), std::vector<std::string>{evidence});
  EXPECT_TRUE(group_request_signatures(evidence, 0).empty());
  EXPECT_EQ(group_request_signatures("", 3), std::vector<std::string>(3));
}

TEST_F(AuthTest, ClientCertificateMapsToTheBoundPrincipal) {
  const std::string fingerprint(64, 'a');
  HttpRequest request;
  request.method = "GET";
  request.target = request.path = "/x";
  request.headers.set("Host", kHost);
  request.tls = true;
  request.client_cert_sha256 = fingerprint;
  EXPECT_EQ(reason_of(request), kReasonUnknownClientCertificate);

  identity::PrincipalUpdate bind;
  bind.id = "dev-1";
  bind.tags = std::map<std::string, std::string>{{std::string(kClientCertTag), fingerprint}};
  ASSERT_TRUE(service_->apply(bind, kActor, kDecision).is_ok());
  AuthResult who = authenticator_->authenticate(request);
  ASSERT_TRUE(who.is_ok()) << who.status().to_string();
  EXPECT_EQ(who->id(), "dev-1");
  EXPECT_EQ(who->method, CredentialMethod::kClientCertificate);
  EXPECT_EQ(credential_method_name(who->method), "client_certificate");

  // Another certificate, or the principal suspended: refused.
  request.client_cert_sha256 = std::string(64, 'b');
  EXPECT_EQ(reason_of(request), kReasonUnknownClientCertificate);
  request.client_cert_sha256 = fingerprint;
  set_status("dev-1", identity::PrincipalStatus::kSuspended);
  EXPECT_EQ(reason_of(request), kReasonPrincipalSuspended);

  // Two principals bound to one certificate is ambiguous: refused.
  set_status("dev-1", identity::PrincipalStatus::kActive);
  auto twin = device("dev-2");
  twin.tags[std::string(kClientCertTag)] = fingerprint;
  create(twin);
  EXPECT_EQ(reason_of(request), kReasonUnknownClientCertificate);
}

TEST_F(AuthTest, ExpiredKeyIsRefused) {
  auto receipt = service_->apply(
      identity::KeyExpire{"dev-1", "key-1", clock_.now_micros() + kSecond}, kActor, kDecision);
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), "ok");
  clock_.advance(2 * kSecond);
  EXPECT_EQ(reason_of(signed_request("GET", "/x")), kReasonKeyExpired);
}

TEST_F(AuthTest, SignatureWinsOverBearer) {
  auto token =
      service_->create_api_token("dev-1", {"log.append"}, std::chrono::hours(1), kActor, kDecision);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  HttpRequest request = signed_request("GET", "/x");
  request.headers.set("Authorization", "Bearer " + token->token);
  request.headers.set("Signature", "custos=:AAAA:");
  EXPECT_EQ(reason_of(request), kReasonMalformedSignature);
}

TEST_F(AuthTest, BearerApiTokenAcceptedUntilRevoked) {
  auto token = service_->create_api_token("dev-1", {"log.append", "log.read"},
                                          std::chrono::hours(1), kActor, kDecision);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  AuthResult result = authenticator_->authenticate(bearer_request(token->token));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->id(), "dev-1");
  EXPECT_EQ(result->method, CredentialMethod::kApiToken);
  EXPECT_EQ(result->token_id, token->token_id);
  EXPECT_EQ(result->scopes, (std::set<std::string>{"log.append", "log.read"}));

  ASSERT_TRUE(service_->revoke_api_token("dev-1", token->token_id, kActor, kDecision).is_ok());
  EXPECT_EQ(reason_of(bearer_request(token->token)), kReasonInvalidToken);
}

TEST_F(AuthTest, BadBearerCredentialsAreRefused) {
  EXPECT_EQ(reason_of(bearer_request("not-a-token")), kReasonInvalidToken);
  EXPECT_EQ(reason_of(bearer_request("")), kReasonInvalidToken);
  HttpRequest basic = bearer_request("x");
  basic.headers.set("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l");
  EXPECT_EQ(reason_of(basic), kReasonUnsupportedCredentials);
}

TEST_F(AuthTest, SessionTokenAuthenticates) {
  auto created =
      service_->create_user(user("alice"), "correct horse battery", false, kActor, kDecision);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  auto session = service_->login("alice", "correct horse battery");
  ASSERT_TRUE(session.is_ok()) << session.status().to_string();
  AuthResult result = authenticator_->authenticate(bearer_request(session->token));
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->id(), "alice");
  EXPECT_EQ(result->method, CredentialMethod::kSession);
}

// ---- Authorisation ----

constexpr std::string_view kPolicies = R"(
@id("append-own-site")
permit(principal is Custos::Device, action == Custos::Action::"log.append", resource)
when { principal.status == "active" && principal.site == context.site };

@id("block-bad-network")
forbid(principal, action, resource)
when { context has source_ip && context.source_ip.isInRange(ip("203.0.113.0/24")) };

@id("door-in-site")
permit(principal in Custos::Site::"site-1", action == Custos::Action::"door.open", resource);

@id("day-reports")
permit(principal, action == Custos::Action::"report.read", resource)
when { context.hour >= 6 && context.hour < 18 };

@id("shipment-same-site")
permit(principal, action == Custos::Action::"shipment.read", resource is Custos::Shipment)
when { resource.site == principal.site && principal.roles.contains("reader") };

@id("token-scope")
permit(principal, action == Custos::Action::"log.read", resource)
when { context.credential == "api_token" && context.scopes.contains("log.read") };
)";

class AuthorizerTest : public AuthTest {
 protected:
  void SetUp() override {
    AuthTest::SetUp();
    if (HasFatalFailure()) return;
    auto policies = policy::parse_policies(kPolicies);
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    authorizer_ =
        std::make_unique<RequestAuthorizer>(*service_, clock_, std::move(policies).value());
    AuthResult who = authenticator_->authenticate(signed_request("GET", "/x"));
    ASSERT_TRUE(who.is_ok()) << who.status().to_string();
    device_ = std::move(who).value();
  }

  static AuthorizationContext at_site(std::string site) {
    AuthorizationContext context;
    context.extra.emplace_back("site", policy::Value::string(std::move(site)));
    return context;
  }

  static policy::EntityUid log_resource() { return {"Custos::Log", "main"}; }

  std::unique_ptr<RequestAuthorizer> authorizer_;
  AuthenticatedPrincipal device_;
};

TEST_F(AuthorizerTest, AllowsAtOwnSiteWithDecisionId) {
  AuthorizationDecision decision =
      authorizer_->authorize(device_, "log.append", log_resource(), at_site("site-1"));
  EXPECT_TRUE(decision.allowed) << decision.detail;
  EXPECT_EQ(decision.policy_ids, std::vector<std::string>{"append-own-site"});
  EXPECT_TRUE(decision.errors.empty());
  ASSERT_EQ(decision.decision_id.size(), 4u + 32u);
  EXPECT_EQ(decision.decision_id.substr(0, 4), "dec-");
  EXPECT_EQ(decision.principal_id, "dev-1");
  EXPECT_EQ(decision.action, "log.append");

  AuthorizationDecision again =
      authorizer_->authorize(device_, "log.append", log_resource(), at_site("site-1"));
  EXPECT_NE(again.decision_id, decision.decision_id);
}

TEST_F(AuthorizerTest, DeniesAtAnotherSite) {
  AuthorizationDecision decision =
      authorizer_->authorize(device_, "log.append", log_resource(), at_site("site-2"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_TRUE(decision.policy_ids.empty());
  EXPECT_FALSE(decision.decision_id.empty());

  HttpResponse response = forbidden_response(decision);
  EXPECT_EQ(response.status, 403);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_NE(response.body.find("\"decision_id\":\"" + decision.decision_id + "\""),
            std::string::npos)
      << response.body;
}

TEST_F(AuthorizerTest, ForbidOverridesPermit) {
  AuthorizationContext context = at_site("site-1");
  auto bad = policy::IpAddr::parse("203.0.113.7");
  ASSERT_TRUE(bad.is_ok());
  context.source_ip = *bad;
  AuthorizationDecision decision =
      authorizer_->authorize(device_, "log.append", log_resource(), context);
  EXPECT_FALSE(decision.allowed);
  EXPECT_EQ(decision.policy_ids, std::vector<std::string>{"block-bad-network"});
  EXPECT_NE(decision.detail.find("block-bad-network"), std::string::npos);

  auto good = policy::IpAddr::parse("10.1.2.3");
  ASSERT_TRUE(good.is_ok());
  context.source_ip = *good;
  EXPECT_TRUE(authorizer_->authorize(device_, "log.append", log_resource(), context).allowed);
}

TEST_F(AuthorizerTest, ContextCannotOverrideStandardFields) {
  AuthorizationContext context = at_site("site-1");
  context.extra.emplace_back("credential", policy::Value::string("api_token"));
  context.extra.emplace_back("scopes", policy::Value::set({policy::Value::string("log.read")}));
  EXPECT_FALSE(authorizer_->authorize(device_, "log.read", log_resource(), context).allowed);
}

TEST_F(AuthorizerTest, ContextExtrasInAnyOrderLastOneWins) {
  auto policies = policy::parse_policies(R"(
@id("context-merge")
permit(principal, action == Custos::Action::"report.read", resource)
when { context.zeta == 2 && context.alpha == 1 && context.credential == "signature" &&
       context.time == 1780000000 && context.hour == 20 };)");
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  authorizer_->set_policies(std::move(policies).value());
  AuthorizationContext context;
  context.time = 1'780'000'000;  // 20:26:40 UTC
  context.extra = {{"zeta", policy::Value::long_value(1)},
                   {"time", policy::Value::long_value(5)},
                   {"alpha", policy::Value::long_value(1)},
                   {"credential", policy::Value::string("api_token")},
                   {"zeta", policy::Value::long_value(2)},
                   {"hour", policy::Value::long_value(3)}};
  EXPECT_TRUE(authorizer_->authorize(device_, "report.read", log_resource(), context).allowed);
  context.extra.emplace_back("zeta", policy::Value::long_value(1));
  EXPECT_FALSE(authorizer_->authorize(device_, "report.read", log_resource(), context).allowed);
}

TEST_F(AuthorizerTest, SiteAndZoneHierarchy) {
  EXPECT_TRUE(authorizer_->authorize(device_, "door.open", log_resource()).allowed);
  identity::PrincipalUpdate move;
  move.id = "dev-1";
  move.site = "site-9";
  auto update = service_->apply(move, kActor, kDecision);
  ASSERT_TRUE(update.is_ok()) << update.status().to_string();
  // The authorizer reads current identity state, not the authenticated snapshot.
  EXPECT_FALSE(authorizer_->authorize(device_, "door.open", log_resource()).allowed);
}

TEST_F(AuthorizerTest, HourComesFromTime) {
  AuthorizationContext noon;
  noon.time = 1'780'000'000 - 1'780'000'000 % 86400 + 12 * 3600;
  EXPECT_TRUE(authorizer_->authorize(device_, "report.read", log_resource(), noon).allowed);
  AuthorizationContext night;
  night.time = 1'780'000'000 - 1'780'000'000 % 86400 + 23 * 3600;
  EXPECT_FALSE(authorizer_->authorize(device_, "report.read", log_resource(), night).allowed);
}

TEST_F(AuthorizerTest, HourAndWeekdayAreSiteLocal) {
  auto policies = policy::parse_policies(R"(
@id("monday-morning")
permit(principal, action == Custos::Action::"report.read", resource)
when { context.weekday == 1 && context.hour == 0 };)");
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  authorizer_->set_policies(std::move(policies).value());
  // 2026-11-22 is a Sunday; 23:30 UTC there is Monday 00:30 at +01:00.
  AuthorizationContext context;
  context.time = 1'795'305'600 + 23 * 3600 + 30 * 60;
  EXPECT_FALSE(authorizer_->authorize(device_, "report.read", log_resource(), context).allowed);
  context.utc_offset_minutes = 60;
  EXPECT_TRUE(authorizer_->authorize(device_, "report.read", log_resource(), context).allowed);
  context.utc_offset_minutes = -300;  // Sunday 18:30
  EXPECT_FALSE(authorizer_->authorize(device_, "report.read", log_resource(), context).allowed);
}

TEST_F(AuthorizerTest, ResourceEntityAttributesAndRoles) {
  policy::Entity shipment;
  shipment.uid = {"Custos::Shipment", "shp-1"};
  shipment.attributes = policy::Value::record({{"site", policy::Value::string("site-1")}});
  // dev-1 lacks the "reader" role.
  EXPECT_FALSE(authorizer_->authorize(device_, "shipment.read", shipment).allowed);
  identity::PrincipalUpdate grant;
  grant.id = "dev-1";
  grant.roles = std::set<std::string>{"reader"};
  auto update = service_->apply(grant, kActor, kDecision);
  ASSERT_TRUE(update.is_ok()) << update.status().to_string();
  EXPECT_TRUE(authorizer_->authorize(device_, "shipment.read", shipment).allowed);

  shipment.attributes = policy::Value::record({{"site", policy::Value::string("site-2")}});
  EXPECT_FALSE(authorizer_->authorize(device_, "shipment.read", shipment).allowed);
  // A bare uid: reading resource.site errors, the policy is skipped.
  AuthorizationDecision bare =
      authorizer_->authorize(device_, "shipment.read", policy::EntityUid{"Custos::Shipment", "x"});
  EXPECT_FALSE(bare.allowed);
  EXPECT_EQ(bare.errors.size(), 1u);
}

TEST_F(AuthorizerTest, ApiTokenScopesReachTheContext) {
  auto token =
      service_->create_api_token("dev-1", {"log.read"}, std::chrono::hours(1), kActor, kDecision);
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  AuthResult who = authenticator_->authenticate(bearer_request(token->token));
  ASSERT_TRUE(who.is_ok()) << who.status().to_string();
  EXPECT_TRUE(authorizer_->authorize(who.value(), "log.read", log_resource()).allowed);
  EXPECT_FALSE(authorizer_->authorize(device_, "log.read", log_resource()).allowed);
}

TEST_F(AuthorizerTest, SuspendedPrincipalDeniedEvenAfterAuthentication) {
  set_status("dev-1", identity::PrincipalStatus::kSuspended);
  AuthorizationDecision decision =
      authorizer_->authorize(device_, "log.append", log_resource(), at_site("site-1"));
  EXPECT_FALSE(decision.allowed);
  EXPECT_NE(decision.detail.find("suspended"), std::string::npos);
}

TEST_F(AuthorizerTest, SetPoliciesReplacesTheSet) {
  authorizer_->set_policies(policy::PolicySet());
  EXPECT_FALSE(authorizer_->authorize(device_, "door.open", log_resource()).allowed);
  auto policies = policy::parse_policies(
      R"(@id("all-doors") permit(principal, action == Custos::Action::"door.open", resource);)");
  ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
  authorizer_->set_policies(std::move(policies).value());
  AuthorizationDecision decision = authorizer_->authorize(device_, "door.open", log_resource());
  EXPECT_TRUE(decision.allowed);
  EXPECT_EQ(decision.policy_ids, std::vector<std::string>{"all-doors"});
}

TEST(AuthHelpersTest, SourceIpOfRemoteAddress) {
  HttpRequest request;
  request.remote_address = "10.0.0.7:4242";
  auto v4 = source_ip_of(request);
  ASSERT_TRUE(v4.is_ok()) << v4.status().to_string();
  EXPECT_EQ(v4->to_string(), "10.0.0.7/32");
  request.remote_address = "[2001:db8::1]:443";
  auto v6 = source_ip_of(request);
  ASSERT_TRUE(v6.is_ok()) << v6.status().to_string();
  EXPECT_FALSE(v6->is_v4);
  request.remote_address = "not-an-ip:1";
  EXPECT_FALSE(source_ip_of(request).is_ok());
}

TEST(AuthHelpersTest, PrincipalEntityShape) {
  identity::Principal principal;
  principal.attributes.id = "gate-7";
  principal.attributes.kind = identity::PrincipalKind::kDevice;
  principal.attributes.subtype = identity::DeviceSubtype::kGate;
  principal.attributes.site = "site-1";
  principal.attributes.zone = "dock-a";
  principal.attributes.roles = {"gate"};
  principal.attributes.tags = {{"lane", "3"}};
  policy::Entity entity = principal_entity(principal);
  EXPECT_EQ(entity.uid.to_string(), R"(Custos::Device::"gate-7")");
  ASSERT_NE(entity.attributes.field("subtype"), nullptr);
  EXPECT_EQ(entity.attributes.field("subtype")->as_string(), "gate");
  ASSERT_NE(entity.attributes.field("id"), nullptr);
  EXPECT_EQ(entity.attributes.field("id")->as_string(), "gate-7");
  EXPECT_EQ(entity.attributes.field("status")->as_string(), "active");
  EXPECT_TRUE(entity.attributes.field("roles")->set_contains(policy::Value::string("gate")));
  EXPECT_EQ(entity.attributes.field("tags")->field("lane")->as_string(), "3");
  ASSERT_EQ(entity.parents.size(), 2u);
  EXPECT_EQ(entity.parents[0], (policy::EntityUid{"Custos::Site", "site-1"}));
  EXPECT_EQ(entity.parents[1], (policy::EntityUid{"Custos::Zone", "dock-a"}));
}

}  // namespace
}  // namespace custos
