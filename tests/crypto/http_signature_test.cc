// RFC 9421 HTTP Message Signatures: the B.2.6 ed25519 example (signature
// base, signature value, verification), every refusal reason, and the
// component values of RFC 9421 section 2 (fields, derived components,
// @query-param re-encoding). Vectors: tests/data/http-signatures/README.md.
#include "custos/crypto/http_signature.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "custos/crypto/content_digest.h"
#include "support/test_files.h"

namespace custos {
namespace {

const std::string kDataDir = std::string(CUSTOS_TEST_DATA_DIR) + "/http-signatures/";

using test_support::read_text;

std::string trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return std::string(text.substr(begin, end - begin + 1));
}

// Facts read from the README: the PEM bodies and the two signature fields.
struct Rfc9421Vectors {
  std::string private_key_base64;
  std::string public_key_base64;
  std::string signature_input;
  std::string signature;
};

const Rfc9421Vectors& vectors() {
  static const Rfc9421Vectors loaded = [] {
    Rfc9421Vectors out;
    std::istringstream lines(read_text(kDataDir + "README.md"));
    std::string line;
    std::string* next_pem = nullptr;
    while (std::getline(lines, line)) {
      std::string text = trim(line);
      if (next_pem != nullptr) {
        *next_pem = text;
        next_pem = nullptr;
      } else if (text == "-----BEGIN PRIVATE KEY-----") {
        next_pem = &out.private_key_base64;
      } else if (text == "-----BEGIN PUBLIC KEY-----") {
        next_pem = &out.public_key_base64;
      } else if (text.rfind("Signature-Input: ", 0) == 0) {
        out.signature_input = text.substr(17);
      } else if (text.rfind("Signature: ", 0) == 0) {
        out.signature = text.substr(11);
      }
    }
    return out;
  }();
  return loaded;
}

// The Ed25519 seed is the last 32 bytes of the PKCS#8 DER; the public key the
// last 32 bytes of the SPKI DER.
Ed25519KeyPair test_key() {
  Bytes der = base64_decode(vectors().private_key_base64).value();
  return Ed25519KeyPair::from_seed(ByteView(der).last(32)).value();
}

Ed25519PublicKey test_public_key() {
  Bytes der = base64_decode(vectors().public_key_base64).value();
  return Ed25519PublicKey::from_bytes(ByteView(der).last(32)).value();
}

constexpr std::string_view kKeyId = "test-key-ed25519";
constexpr int64_t kCreated = 1618884473;

// The RFC 9421 section B.2 test request.
struct TestRequest {
  std::string method = "POST";
  std::string scheme = "https";
  std::string authority = "example.com";
  std::string path = "/foo";
  std::string query = "param=Value&Pet=dog";
  std::vector<std::pair<std::string, std::string>> fields = {
      {"Host", "example.com"},
      {"Date", "Tue, 20 Apr 2021 02:07:55 GMT"},
      {"Content-Type", "application/json"},
      {"Content-Digest",
       "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmT"
       "HWXvJwew==:"},
      {"Content-Length", "18"},
  };
  std::string body = "{\"hello\": \"world\"}";

  SignedRequestView view() const {
    return SignedRequestView{method, scheme, authority, path, query, header_values_from(fields),
                             body};
  }
  void set(const std::string& name, const std::string& value) {
    remove(name);
    fields.emplace_back(name, value);
  }
  void remove(const std::string& name) {
    std::erase_if(fields, [&](const auto& field) { return field.first == name; });
  }
};

SignatureParams b26_params() {
  SignatureParams params;
  for (const char* name :
       {"date", "@method", "@path", "@authority", "content-type", "content-length"}) {
    params.components.push_back(ComponentId{name, {}});
  }
  params.created = kCreated;
  params.keyid = std::string(kKeyId);
  return params;
}

KeyLookupFn test_key_lookup() {
  return [](std::string_view keyid) -> std::optional<Ed25519PublicKey> {
    if (keyid == kKeyId) return test_public_key();
    return std::nullopt;
  };
}

VerifyPolicy b26_policy() {
  VerifyPolicy policy;
  policy.required_components = {"@method", "@path", "@authority"};
  policy.require_content_digest = false;  // B.2.6 does not cover content-digest
  policy.now = kCreated + 30;
  policy.max_skew_seconds = 300;
  return policy;
}

TestRequest signed_b26_request() {
  TestRequest request;
  request.set("Signature-Input", vectors().signature_input);
  request.set("Signature", vectors().signature);
  return request;
}

SignatureError failure_reason(const VerifyResult& result) {
  EXPECT_FALSE(result.is_ok());
  return result.is_ok() ? SignatureError::kMissingSignature : result.failure().reason;
}

TEST(HttpSignatureTest, TestKeyMatchesItsPublicKey) {
  ASSERT_FALSE(vectors().private_key_base64.empty());
  ASSERT_FALSE(vectors().signature_input.empty());
  EXPECT_EQ(test_key().public_key(), test_public_key());
}

TEST(HttpSignatureTest, Rfc9421B26SignatureBase) {
  TestRequest request;
  auto base = signature_base(request.view(), b26_params());
  ASSERT_TRUE(base.is_ok()) << base.status().to_string();
  EXPECT_EQ(*base, read_text(kDataDir + "rfc9421-b26-sigbase.txt"));
}

TEST(HttpSignatureTest, Rfc9421B26SignatureValue) {
  TestRequest request;
  auto headers = sign_request(request.view(), b26_params(), test_key(), "sig-b26");
  ASSERT_TRUE(headers.is_ok()) << headers.status().to_string();
  EXPECT_EQ(headers->signature_input, vectors().signature_input);
  EXPECT_EQ(headers->signature, vectors().signature);
  EXPECT_EQ(headers->signature_base, read_text(kDataDir + "rfc9421-b26-sigbase.txt"));
}

TEST(HttpSignatureTest, ParsesTheRfcFields) {
  auto parsed = parse_signature(vectors().signature_input, vectors().signature, "sig-b26");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->label, "sig-b26");
  EXPECT_EQ(parsed->params.components, b26_params().components);
  EXPECT_EQ(parsed->params.created, kCreated);
  EXPECT_EQ(parsed->params.keyid, std::string(kKeyId));
  EXPECT_FALSE(parsed->params.expires || parsed->params.nonce || parsed->params.alg ||
               parsed->params.tag);
  EXPECT_EQ(parsed->signature.size(), 64u);
  EXPECT_EQ(signature_labels(vectors().signature_input).value(),
            std::vector<std::string>{"sig-b26"});
  EXPECT_EQ(parse_signature(vectors().signature_input, vectors().signature, "sig1").status().code(),
            StatusCode::kNotFound);
}

TEST(HttpSignatureTest, VerifiesTheRfcSignature) {
  TestRequest request = signed_b26_request();
  for (std::optional<std::string_view> label :
       {std::optional<std::string_view>("sig-b26"), std::optional<std::string_view>()}) {
    VerifyResult result = verify_request(request.view(), label, test_key_lookup(), b26_policy());
    ASSERT_TRUE(result.is_ok()) << result.status().to_string();
    EXPECT_EQ(result->label, "sig-b26");
    EXPECT_EQ(result->params.keyid, std::string(kKeyId));
    EXPECT_EQ(result->params.created, kCreated);
    EXPECT_EQ(result->params.components.size(), 6u);
    EXPECT_EQ(result->signature_base, read_text(kDataDir + "rfc9421-b26-sigbase.txt"));
    EXPECT_TRUE(result.status().is_ok());
  }
}

TEST(HttpSignatureTest, HeaderNamesAndLinesAreCaseInsensitiveAndCombined) {
  TestRequest request = signed_b26_request();
  request.remove("Date");
  request.fields.emplace_back("DATE", "Tue, 20 Apr 2021 02:07:55 GMT  ");
  EXPECT_TRUE(verify_request(request.view(), "sig-b26", test_key_lookup(), b26_policy()).is_ok());
  // The Signature field split over two lines still verifies.
  TestRequest split = signed_b26_request();
  split.remove("Signature");
  split.fields.emplace_back("Signature", "other=:AAAA:");
  split.fields.emplace_back("signature", vectors().signature);
  EXPECT_TRUE(verify_request(split.view(), "sig-b26", test_key_lookup(), b26_policy()).is_ok());
}

TEST(HttpSignatureTest, RefusesEveryMutation) {
  const VerifyPolicy policy = b26_policy();
  const KeyLookupFn lookup = test_key_lookup();
  auto reason_for = [&](const TestRequest& request) {
    return failure_reason(verify_request(request.view(), "sig-b26", lookup, policy));
  };

  TestRequest method = signed_b26_request();
  method.method = "PUT";
  EXPECT_EQ(reason_for(method), SignatureError::kBadSignature);

  TestRequest path = signed_b26_request();
  path.path = "/foo/";
  EXPECT_EQ(reason_for(path), SignatureError::kBadSignature);

  TestRequest authority = signed_b26_request();
  authority.authority = "example.org";
  EXPECT_EQ(reason_for(authority), SignatureError::kBadSignature);

  TestRequest header = signed_b26_request();
  header.set("Content-Type", "application/json; charset=utf-8");
  EXPECT_EQ(reason_for(header), SignatureError::kBadSignature);

  TestRequest extra_line = signed_b26_request();
  extra_line.fields.emplace_back("Content-Length", "18");
  EXPECT_EQ(reason_for(extra_line), SignatureError::kBadSignature);

  // A covered component removed from Signature-Input changes the signed base.
  TestRequest fewer = signed_b26_request();
  std::string input = vectors().signature_input;
  input.replace(input.find("\"date\" "), 7, "");
  fewer.set("Signature-Input", input);
  EXPECT_EQ(reason_for(fewer), SignatureError::kBadSignature);

  // A covered header removed from the request.
  TestRequest absent = signed_b26_request();
  absent.remove("Content-Type");
  EXPECT_EQ(reason_for(absent), SignatureError::kMissingComponent);

  // Any flipped bit of the signature.
  Bytes signature =
      parse_signature(vectors().signature_input, vectors().signature, "sig-b26").value().signature;
  for (size_t byte : {size_t{0}, size_t{31}, size_t{63}}) {
    Bytes flipped = signature;
    flipped[byte] ^= 0x01;
    TestRequest tampered = signed_b26_request();
    tampered.set("Signature", "sig-b26=:" + base64_encode(flipped) + ":");
    EXPECT_EQ(reason_for(tampered), SignatureError::kBadSignature) << byte;
  }

  // A changed created parameter (signed) invalidates the signature.
  TestRequest created = signed_b26_request();
  std::string later = vectors().signature_input;
  later.replace(later.find("1618884473"), 10, "1618884474");
  created.set("Signature-Input", later);
  EXPECT_EQ(reason_for(created), SignatureError::kBadSignature);
}

TEST(HttpSignatureTest, RefusesUnknownKeys) {
  TestRequest request = signed_b26_request();
  auto nobody = [](std::string_view) -> std::optional<Ed25519PublicKey> { return std::nullopt; };
  EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", nobody, b26_policy())),
            SignatureError::kUnknownKey);
  // A known keyid bound to a different key is a bad signature.
  auto other = [](std::string_view) -> std::optional<Ed25519PublicKey> {
    return Ed25519KeyPair::generate().public_key();
  };
  EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", other, b26_policy())),
            SignatureError::kBadSignature);
  EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", nullptr, b26_policy())),
            SignatureError::kUnknownKey);
}

TEST(HttpSignatureTest, EnforcesTheTimeWindow) {
  TestRequest request = signed_b26_request();
  VerifyPolicy policy = b26_policy();
  for (int64_t now : {kCreated - 300, kCreated, kCreated + 300}) {
    policy.now = now;
    EXPECT_TRUE(verify_request(request.view(), "sig-b26", test_key_lookup(), policy).is_ok())
        << now;
  }
  for (int64_t now : {kCreated - 301, kCreated + 301, int64_t{0}, INT64_MAX, INT64_MIN}) {
    policy.now = now;
    EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", test_key_lookup(), policy)),
              SignatureError::kCreatedOutOfWindow)
        << now;
  }
}

// A request of our own that covers content-digest, signed with the test key.
struct SignedWithDigest {
  TestRequest request;
  SignatureParams params;
};

SignedWithDigest sign_with_digest(SignatureParams params) {
  SignedWithDigest out;
  out.request.set("Content-Digest", content_digest_value(as_bytes(out.request.body)));
  if (params.components.empty()) {
    for (const char* name : {"@method", "@target-uri", "content-digest", "content-type"}) {
      params.components.push_back(ComponentId{name, {}});
    }
  }
  auto headers = sign_request(out.request.view(), params, test_key(), "custos");
  EXPECT_TRUE(headers.is_ok()) << headers.status().to_string();
  out.request.set("Signature-Input", headers->signature_input);
  out.request.set("Signature", headers->signature);
  out.params = params;
  return out;
}

SignatureParams fresh_params() {
  SignatureParams params;
  params.created = kCreated;
  params.keyid = std::string(kKeyId);
  params.alg = std::string(kAlgEd25519);
  params.nonce = "n-0001";
  params.tag = "custos-api";
  return params;
}

VerifyPolicy strict_policy() {
  VerifyPolicy policy;
  policy.required_components = {"@method", "@target-uri"};
  policy.require_nonce = true;
  policy.now = kCreated + 5;
  return policy;
}

TEST(HttpSignatureTest, SignsAndVerifiesWithContentDigest) {
  SignedWithDigest signed_request = sign_with_digest(fresh_params());
  VerifyResult result = verify_request(signed_request.request.view(), std::nullopt,
                                       test_key_lookup(), strict_policy());
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->label, "custos");
  EXPECT_EQ(result->params.nonce, "n-0001");
  EXPECT_EQ(result->params.tag, "custos-api");
  EXPECT_EQ(result->params.alg, "ed25519");
  EXPECT_EQ(*signature_labels(signed_request.request.view().header_values("signature-input")[0]),
            std::vector<std::string>{"custos"});
  EXPECT_EQ(signature_params_value(fresh_params()).value(),
            "();created=1618884473;nonce=\"n-0001\";alg=\"ed25519\";keyid=\"test-key-ed25519\";"
            "tag=\"custos-api\"");
}

TEST(HttpSignatureTest, RefusesABodyThatDoesNotMatchItsDigest) {
  SignedWithDigest signed_request = sign_with_digest(fresh_params());
  signed_request.request.body = "{\"hello\": \"mallory\"}";
  VerifyResult result =
      verify_request(signed_request.request.view(), "custos", test_key_lookup(), strict_policy());
  EXPECT_EQ(failure_reason(result), SignatureError::kDigestMismatch);
  EXPECT_EQ(result.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(result.status().message().rfind("DigestMismatch: ", 0), 0u);

  // Even when the policy does not ask for a digest, a covered one must match.
  VerifyPolicy lenient = strict_policy();
  lenient.require_content_digest = false;
  EXPECT_EQ(failure_reason(verify_request(signed_request.request.view(), "custos",
                                          test_key_lookup(), lenient)),
            SignatureError::kDigestMismatch);
}

TEST(HttpSignatureTest, RequiresADigestForABody) {
  TestRequest request = signed_b26_request();
  VerifyPolicy policy = b26_policy();
  policy.require_content_digest = true;
  EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", test_key_lookup(), policy)),
            SignatureError::kMissingComponent);
  policy.require_content_digest = false;
  policy.required_components.push_back("@query");
  EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", test_key_lookup(), policy)),
            SignatureError::kMissingComponent);
}

TEST(HttpSignatureTest, RefusesMissingAndMalformedFields) {
  TestRequest unsigned_request;
  EXPECT_EQ(failure_reason(verify_request(unsigned_request.view(), std::nullopt, test_key_lookup(),
                                          b26_policy())),
            SignatureError::kMissingSignature);

  TestRequest no_signature = signed_b26_request();
  no_signature.remove("Signature");
  EXPECT_EQ(failure_reason(
                verify_request(no_signature.view(), "sig-b26", test_key_lookup(), b26_policy())),
            SignatureError::kMissingSignature);

  TestRequest wrong_label = signed_b26_request();
  EXPECT_EQ(
      failure_reason(verify_request(wrong_label.view(), "sig1", test_key_lookup(), b26_policy())),
      SignatureError::kMissingSignature);

  const std::pair<const char*, const char*> malformed[] = {
      {"sig-b26=(\"date\" \"@method\"", nullptr},                  // unterminated
      {"sig-b26=\"date\";created=1618884473", nullptr},            // not an inner list
      {"sig-b26=(date);created=1618884473;keyid=\"k\"", nullptr},  // token, not string
      {"sig-b26=(\"date\");created=\"yesterday\"", nullptr},       // created not Integer
      {"sig-b26=(\"date\");created=1;keyid=k", nullptr},           // keyid not String
      {nullptr, "sig-b26=\"d3FjQQ==\""},                           // not a byte sequence
      {nullptr, "sig-b26=:d3FjQQ==:"},                             // 4 bytes, not 64
      {nullptr, "sig-b26=:!!:"},                                   // not base64
  };
  for (const auto& [input, signature] : malformed) {
    TestRequest request = signed_b26_request();
    if (input != nullptr) request.set("Signature-Input", input);
    if (signature != nullptr) request.set("Signature", signature);
    VerifyPolicy policy = b26_policy();
    policy.required_components.clear();
    policy.require_created = false;
    EXPECT_EQ(failure_reason(verify_request(request.view(), "sig-b26", test_key_lookup(), policy)),
              SignatureError::kMalformedSignature)
        << (input ? input : signature);
  }
}

TEST(HttpSignatureTest, PolicyOnParameters) {
  SignatureParams no_created = fresh_params();
  no_created.created.reset();
  SignedWithDigest without_created = sign_with_digest(no_created);
  EXPECT_EQ(failure_reason(verify_request(without_created.request.view(), "custos",
                                          test_key_lookup(), strict_policy())),
            SignatureError::kMissingParameter);

  SignatureParams no_nonce = fresh_params();
  no_nonce.nonce.reset();
  SignedWithDigest without_nonce = sign_with_digest(no_nonce);
  EXPECT_EQ(failure_reason(verify_request(without_nonce.request.view(), "custos", test_key_lookup(),
                                          strict_policy())),
            SignatureError::kMissingParameter);

  SignatureParams expiring = fresh_params();
  expiring.expires = kCreated + 60;
  SignedWithDigest with_expiry = sign_with_digest(expiring);
  VerifyPolicy policy = strict_policy();
  policy.now = kCreated + 60 + 200;  // past expires, within the skew
  EXPECT_TRUE(
      verify_request(with_expiry.request.view(), "custos", test_key_lookup(), policy).is_ok());
  policy.max_skew_seconds = 10;
  policy.now = kCreated + 71;
  // created is now 71 s old: out of a 10 s window before expiry is even looked at.
  EXPECT_EQ(failure_reason(
                verify_request(with_expiry.request.view(), "custos", test_key_lookup(), policy)),
            SignatureError::kCreatedOutOfWindow);
  policy.require_created = false;
  SignatureParams only_expiry = fresh_params();
  only_expiry.created.reset();
  only_expiry.expires = kCreated + 60;
  SignedWithDigest expiry_only = sign_with_digest(only_expiry);
  EXPECT_EQ(failure_reason(
                verify_request(expiry_only.request.view(), "custos", test_key_lookup(), policy)),
            SignatureError::kExpired);

  SignatureParams no_keyid = fresh_params();
  no_keyid.keyid.reset();
  SignedWithDigest without_keyid = sign_with_digest(no_keyid);
  EXPECT_EQ(failure_reason(verify_request(without_keyid.request.view(), "custos", test_key_lookup(),
                                          strict_policy())),
            SignatureError::kUnknownKey);

  // alg is signed, so a different alg can only come from a different signer.
  TestRequest rsa = signed_b26_request();
  std::string input = vectors().signature_input + ";alg=\"rsa-pss-sha512\"";
  rsa.set("Signature-Input", input);
  EXPECT_EQ(failure_reason(verify_request(rsa.view(), "sig-b26", test_key_lookup(), b26_policy())),
            SignatureError::kUnsupportedAlgorithm);
  SignatureParams rsa_params = fresh_params();
  rsa_params.alg = "rsa-pss-sha512";
  EXPECT_FALSE(sign_request(TestRequest().view(), rsa_params, test_key(), "x").is_ok());
  EXPECT_FALSE(sign_request(TestRequest().view(), fresh_params(), test_key(), "Bad Label").is_ok());
}

TEST(HttpSignatureTest, AnyLabelPicksTheOneThatVerifies) {
  TestRequest request = signed_b26_request();
  request.set("Signature-Input", "proxy=(\"@method\");created=1618884473;keyid=\"proxy-key\", " +
                                     vectors().signature_input);
  request.set("Signature", "proxy=:" + base64_encode(Bytes(64, 7)) + ":, " + vectors().signature);
  VerifyResult any = verify_request(request.view(), std::nullopt, test_key_lookup(), b26_policy());
  ASSERT_TRUE(any.is_ok()) << any.status().to_string();
  EXPECT_EQ(any->label, "sig-b26");
  VerifyResult proxy = verify_request(request.view(), "proxy", test_key_lookup(), b26_policy());
  EXPECT_EQ(failure_reason(proxy), SignatureError::kMissingComponent);
  EXPECT_EQ(proxy.failure().label, "proxy");

  // With no label verifying, the first label's failure is reported.
  TestRequest bad = request;
  bad.method = "GET";
  VerifyResult none = verify_request(bad.view(), std::nullopt, test_key_lookup(), b26_policy());
  EXPECT_EQ(failure_reason(none), SignatureError::kMissingComponent);
  EXPECT_EQ(none.failure().label, "proxy");
}

// The line of the signature base for one component.
Result<std::string> component_line(const TestRequest& request, const ComponentId& component) {
  SignatureParams params;
  params.components = {component};
  CUSTOS_ASSIGN_OR_RETURN(std::string base, signature_base(request.view(), params));
  return base.substr(0, base.find('\n'));
}

std::string line(const TestRequest& request, const ComponentId& component) {
  auto result = component_line(request, component);
  EXPECT_TRUE(result.is_ok()) << component.name << ": " << result.status().to_string();
  return result.is_ok() ? *result : "";
}

ComponentId with_flag(std::string name, std::string flag) {
  ComponentId component{std::move(name), {}};
  component.parameters.set(std::move(flag), true);
  return component;
}

ComponentId with_key(std::string name, std::string key) {
  ComponentId component{std::move(name), {}};
  component.parameters.set("key", std::move(key));
  return component;
}

TEST(HttpSignatureTest, DerivedComponents) {
  // RFC 9421 section 2.2 examples.
  TestRequest request;
  request.authority = "www.example.com";
  request.path = "/path";
  request.query = "param=value&foo=bar&baz=batman&qux=";
  EXPECT_EQ(line(request, {"@method", {}}), "\"@method\": POST");
  EXPECT_EQ(line(request, {"@target-uri", {}}),
            "\"@target-uri\": https://www.example.com/path?param=value&foo=bar&baz=batman&qux=");
  EXPECT_EQ(line(request, {"@authority", {}}), "\"@authority\": www.example.com");
  EXPECT_EQ(line(request, {"@scheme", {}}), "\"@scheme\": https");
  EXPECT_EQ(line(request, {"@request-target", {}}),
            "\"@request-target\": /path?param=value&foo=bar&baz=batman&qux=");
  EXPECT_EQ(line(request, {"@path", {}}), "\"@path\": /path");
  EXPECT_EQ(line(request, {"@query", {}}), "\"@query\": ?param=value&foo=bar&baz=batman&qux=");
  EXPECT_EQ(line(request, ComponentId::query_param("baz")),
            "\"@query-param\";name=\"baz\": batman");
  EXPECT_EQ(line(request, ComponentId::query_param("qux")), "\"@query-param\";name=\"qux\": ");
  EXPECT_EQ(line(request, ComponentId::query_param("param")),
            "\"@query-param\";name=\"param\": value");

  TestRequest normalised;
  normalised.scheme = "HTTPS";
  normalised.authority = "WWW.Example.com:443";
  normalised.path = "";
  normalised.query = "";
  EXPECT_EQ(line(normalised, {"@authority", {}}), "\"@authority\": www.example.com");
  EXPECT_EQ(line(normalised, {"@scheme", {}}), "\"@scheme\": https");
  EXPECT_EQ(line(normalised, {"@path", {}}), "\"@path\": /");
  EXPECT_EQ(line(normalised, {"@query", {}}), "\"@query\": ?");
  EXPECT_EQ(line(normalised, {"@target-uri", {}}), "\"@target-uri\": https://www.example.com/");
  normalised.scheme = "http";
  normalised.authority = "example.com:8080";
  EXPECT_EQ(line(normalised, {"@authority", {}}), "\"@authority\": example.com:8080");
  normalised.authority = "example.com:80";
  EXPECT_EQ(line(normalised, {"@authority", {}}), "\"@authority\": example.com");
}

TEST(HttpSignatureTest, QueryParamsAreReEncoded) {
  // RFC 9421 section 2.2.8.
  TestRequest request;
  request.path = "/parameters";
  request.query =
      "var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace"
      "&fa%C3%A7ade%22%3A%20=something";
  EXPECT_EQ(line(request, ComponentId::query_param("var")),
            "\"@query-param\";name=\"var\": this%20is%20a%20big%0Amultiline%20value");
  EXPECT_EQ(line(request, ComponentId::query_param("bar")),
            "\"@query-param\";name=\"bar\": with%20plus%20whitespace");
  EXPECT_EQ(line(request, ComponentId::query_param("fa%C3%A7ade%22%3A%20")),
            "\"@query-param\";name=\"fa%C3%A7ade%22%3A%20\": something");

  EXPECT_EQ(component_line(request, ComponentId::query_param("absent")).status().code(),
            StatusCode::kNotFound);
  request.query = "a=1&a=2";
  EXPECT_EQ(component_line(request, ComponentId::query_param("a")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(component_line(request, {"@query-param", {}}).is_ok());
}

TEST(HttpSignatureTest, HeaderFieldValues) {
  // RFC 9421 section 2.1 examples.
  TestRequest request;
  request.fields = {
      {"Host", "www.example.com"},
      {"X-OWS-Header", "   Leading and trailing whitespace.   "},
      {"X-Obs-Fold-Header", "Obsolete\r\n    line folding."},
      {"Cache-Control", "max-age=60"},
      {"Cache-Control", "   must-revalidate"},
      {"Example-Dict", " a=1,    b=2;x=1;y=2,   c=(a   b   c)"},
      {"X-Empty-Header", ""},
      {"Example-Header", "value, with, lots"},
      {"Example-Header", "of, commas"},
      {"Content-Digest",
       "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:,   "
       "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7"
       "BNNyealdVLvRwEmTHWXvJwew==:"},
  };
  EXPECT_EQ(line(request, {"host", {}}), "\"host\": www.example.com");
  EXPECT_EQ(line(request, {"x-ows-header", {}}),
            "\"x-ows-header\": Leading and trailing whitespace.");
  EXPECT_EQ(line(request, {"x-obs-fold-header", {}}),
            "\"x-obs-fold-header\": Obsolete line folding.");
  EXPECT_EQ(line(request, {"cache-control", {}}), "\"cache-control\": max-age=60, must-revalidate");
  EXPECT_EQ(line(request, {"example-dict", {}}),
            "\"example-dict\": a=1,    b=2;x=1;y=2,   c=(a   b   c)");
  EXPECT_EQ(line(request, {"x-empty-header", {}}), "\"x-empty-header\": ");
  EXPECT_EQ(line(request, {"example-header", {}}),
            "\"example-header\": value, with, lots, of, commas");
  EXPECT_EQ(line(request, with_flag("example-header", "bs")),
            "\"example-header\";bs: :dmFsdWUsIHdpdGgsIGxvdHM=:, :b2YsIGNvbW1hcw==:");
  EXPECT_EQ(line(request, with_key("example-dict", "c")), "\"example-dict\";key=\"c\": (a b c)");
  EXPECT_EQ(line(request, with_key("example-dict", "b")), "\"example-dict\";key=\"b\": 2;x=1;y=2");
  EXPECT_EQ(line(request, with_key("content-digest", "sha-256")),
            "\"content-digest\";key=\"sha-256\": :X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
  EXPECT_EQ(line(request, with_flag("content-digest", "sf")),
            "\"content-digest\";sf: sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, "
            "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRw"
            "EmTHWXvJwew==:");

  EXPECT_EQ(component_line(request, with_key("example-dict", "zz")).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(component_line(request, {"x-absent", {}}).status().code(), StatusCode::kNotFound);
}

TEST(HttpSignatureTest, RefusesUnsupportedOrDangerousComponents) {
  TestRequest request;
  request.fields.emplace_back("X-Injected", "a\n\"@method\": GET");
  request.fields.emplace_back("X-Nul", std::string("a\0b", 3));
  const ComponentId refused[] = {
      {"x-injected", {}},             // a newline would add a line to the base
      {"x-nul", {}},                  // control character
      {"Date", {}},                   // field names are lower-case
      {"bad name", {}},               // not a token
      {"", {}},                       // empty
      {"@status", {}},                // responses only
      {"@signature-params", {}},      // never a covered component
      {"@unknown", {}},               // not a derived component
      with_flag("date", "req"),       // requests only are signed here
      with_flag("date", "tr"),        // trailers are not supported
      with_flag("date", "sf"),        // structured type unknown
      with_flag("@method", "sf"),     // no parameters on derived components
      with_key("content-type", "a"),  // not a Dictionary
  };
  for (const ComponentId& component : refused) {
    auto result = component_line(request, component);
    EXPECT_FALSE(result.is_ok()) << component.name;
    if (!result.is_ok()) {
      EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    }
  }
  ComponentId bs_and_sf = with_flag("content-digest", "bs");
  bs_and_sf.parameters.set("sf", true);
  EXPECT_FALSE(component_line(request, bs_and_sf).is_ok());

  SignatureParams twice;
  twice.components = {{"@method", {}}, {"@method", {}}};
  EXPECT_EQ(signature_base(request.view(), twice).status().code(), StatusCode::kInvalidArgument);
  // The same field with and without a parameter is two components.
  SignatureParams distinct;
  distinct.components = {{"content-digest", {}}, with_key("content-digest", "sha-512")};
  EXPECT_TRUE(signature_base(request.view(), distinct).is_ok());
  // Past the first eight components too (where the base builder keeps its
  // list of identifiers on the heap): a repeat is refused, distinct ones pass.
  SignatureParams many;
  for (const char* name : {"@method", "@path", "@authority", "@scheme", "@target-uri",
                           "@request-target", "date", "content-type", "content-length"}) {
    many.components.push_back(ComponentId{name, {}});
  }
  auto many_base = signature_base(request.view(), many);
  ASSERT_TRUE(many_base.is_ok()) << many_base.status().to_string();
  EXPECT_EQ(std::count(many_base->begin(), many_base->end(), '\n'), 9);
  many.components.push_back(ComponentId{"@scheme", {}});
  auto repeated = signature_base(request.view(), many);
  ASSERT_FALSE(repeated.is_ok());
  EXPECT_EQ(repeated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(repeated.status().message().find("covered twice"), std::string::npos);
}

TEST(HttpSignatureTest, ErrorNames) {
  EXPECT_EQ(signature_error_name(SignatureError::kBadSignature), "BadSignature");
  EXPECT_EQ(signature_error_name(SignatureError::kCreatedOutOfWindow), "CreatedOutOfWindow");
}

}  // namespace
}  // namespace custos
