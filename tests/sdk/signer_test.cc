// RequestSigner output checked with crypto's verify_request under the custos
// profile, and device key files.
#include "custos/sdk/signer.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include "custos/core/bytes.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"

namespace custos::sdk {
namespace {

constexpr int64_t kNow = 1795660000;
constexpr std::string_view kAuthority = "127.0.0.1:8080";
constexpr std::string_view kTarget = "/custos/v1/log/entries?mode=raw";
constexpr std::string_view kBody = "pallet 42 left dock 4";

// A request as the server sees it, and the server's verification under the profile.
struct WireRequest {
  std::string method = "POST";
  std::string scheme = "http";
  std::string authority = std::string(kAuthority);
  std::string target = std::string(kTarget);
  std::string body = std::string(kBody);
  std::vector<std::pair<std::string, std::string>> headers;

  void set_header(const std::string& name, const std::string& value) {
    for (auto& field : headers) {
      if (field.first == name) {
        field.second = value;
        return;
      }
    }
    headers.emplace_back(name, value);
  }

  VerifyResult verify(const Ed25519PublicKey& public_key, std::string_view key_id,
                      int64_t now = kNow) const {
    size_t question = target.find('?');
    std::string_view path = std::string_view(target).substr(0, question);
    std::string_view query = question == std::string::npos
                                 ? std::string_view()
                                 : std::string_view(target).substr(question + 1);
    SignedRequestView view{method, scheme, authority, path, query, header_values_from(headers),
                           body};
    VerifyPolicy policy;
    policy.required_components = {"@method", "@target-uri"};
    policy.require_content_digest = true;
    policy.require_created = true;
    policy.require_nonce = true;
    policy.max_skew_seconds = 300;
    policy.now = now;
    KeyLookupFn lookup = [&](std::string_view keyid) -> std::optional<Ed25519PublicKey> {
      if (keyid == key_id) return public_key;
      return std::nullopt;
    };
    return verify_request(view, kSignatureLabel, lookup, policy);
  }
};

class SignerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto signer = RequestSigner::create("dev-0042", Ed25519KeyPair::generate());
    ASSERT_TRUE(signer.is_ok()) << signer.status().to_string();
    signer_.emplace(std::move(signer).value());
  }

  WireRequest signed_request(std::string method = "POST", std::string body = std::string(kBody)) {
    WireRequest request;
    request.method = std::move(method);
    request.body = std::move(body);
    auto headers = signer_->sign(request.method, request.scheme, request.authority, request.target,
                                 request.body, kNow);
    EXPECT_TRUE(headers.is_ok()) << headers.status().to_string();
    if (!headers.is_ok()) return request;
    if (headers->content_digest) request.set_header("Content-Digest", *headers->content_digest);
    request.set_header("Signature-Input", headers->signature_input);
    request.set_header("Signature", headers->signature);
    return request;
  }

  VerifyResult verify(const WireRequest& request, int64_t now = kNow) {
    return request.verify(signer_->public_key(), signer_->key_id(), now);
  }

  std::optional<RequestSigner> signer_;
};

TEST_F(SignerTest, SignedRequestVerifiesUnderTheProfile) {
  auto headers = signer_->sign("POST", "http", kAuthority, kTarget, kBody, kNow);
  ASSERT_TRUE(headers.is_ok()) << headers.status().to_string();
  ASSERT_TRUE(headers->content_digest.has_value());
  EXPECT_EQ(verify_content_digest(*headers->content_digest, as_bytes(kBody)),
            DigestVerdict::kMatch);
  EXPECT_TRUE(headers->content_digest->starts_with("sha-256=:"));
  EXPECT_TRUE(headers->signature_input.starts_with(
      "custos=(\"@method\" \"@target-uri\" \"content-digest\");created=1795660000;nonce=\""));
  EXPECT_NE(headers->signature_input.find(";alg=\"ed25519\";keyid=\"dev-0042\""), std::string::npos)
      << headers->signature_input;
  // The target URI is what the server rebuilds from Host and the request target.
  EXPECT_NE(headers->signature_base.find(
                "\"@target-uri\": http://127.0.0.1:8080/custos/v1/log/entries?mode=raw\n"),
            std::string::npos)
      << headers->signature_base;

  WireRequest request = signed_request();
  VerifyResult verified = verify(request);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->label, "custos");
  EXPECT_EQ(verified->params.keyid.value_or(""), "dev-0042");
  EXPECT_EQ(verified->params.alg.value_or(""), "ed25519");
  EXPECT_EQ(verified->params.created.value_or(0), kNow);
  ASSERT_EQ(verified->params.components.size(), 3u);
  EXPECT_EQ(verified->params.components[2].name, "content-digest");

  // The raw signature kept for receipts is the one in the Signature field.
  auto parsed = parse_signature(headers->signature_input, headers->signature, kSignatureLabel);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(Bytes(headers->signature_bytes.bytes.begin(), headers->signature_bytes.bytes.end()),
            parsed->signature);
  EXPECT_TRUE(ed25519_verify(signer_->public_key(), as_bytes(headers->signature_base),
                             headers->signature_bytes));
}

TEST_F(SignerTest, NonceIsSixteenRandomBytesInBase64UrlAndFreshEachTime) {
  std::set<std::string> nonces;
  for (int i = 0; i < 200; ++i) {
    auto headers = signer_->sign("GET", "http", kAuthority, "/checkpoint", "", kNow);
    ASSERT_TRUE(headers.is_ok());
    ASSERT_EQ(headers->nonce.size(), 22u) << headers->nonce;  // 16 bytes, no padding
    for (char c : headers->nonce) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')
          << headers->nonce;
    }
    EXPECT_NE(headers->signature_input.find("nonce=\"" + headers->nonce + "\""), std::string::npos);
    nonces.insert(headers->nonce);
  }
  EXPECT_EQ(nonces.size(), 200u);
}

TEST_F(SignerTest, BodylessRequestCoversNoDigest) {
  auto headers = signer_->sign("GET", "http", kAuthority, "/checkpoint", "", kNow);
  ASSERT_TRUE(headers.is_ok());
  EXPECT_FALSE(headers->content_digest.has_value());
  EXPECT_TRUE(headers->signature_input.starts_with("custos=(\"@method\" \"@target-uri\");"));
  WireRequest request = signed_request("GET", "");
  EXPECT_TRUE(verify(request).is_ok()) << verify(request).status().to_string();
}

TEST_F(SignerTest, MutatedRequestsAreRefused) {
  const WireRequest good = signed_request();
  ASSERT_TRUE(verify(good).is_ok());

  auto expect_refused = [&](const WireRequest& request, SignatureError reason, const char* what) {
    VerifyResult result = verify(request);
    ASSERT_FALSE(result.is_ok()) << what;
    EXPECT_EQ(result.failure().reason, reason)
        << what << ": " << signature_error_name(result.failure().reason);
  };

  WireRequest method = good;
  method.method = "PUT";
  expect_refused(method, SignatureError::kBadSignature, "method");

  WireRequest path = good;
  path.target = "/custos/v1/log/entries2?mode=raw";
  expect_refused(path, SignatureError::kBadSignature, "path");

  WireRequest query = good;
  query.target = "/custos/v1/log/entries?mode=other";
  expect_refused(query, SignatureError::kBadSignature, "query");

  WireRequest authority = good;
  authority.authority = "evil.example:8080";
  expect_refused(authority, SignatureError::kBadSignature, "authority");

  WireRequest scheme = good;
  scheme.scheme = "https";
  expect_refused(scheme, SignatureError::kBadSignature, "scheme");

  WireRequest body = good;
  body.body = "pallet 43 left dock 4";
  expect_refused(body, SignatureError::kDigestMismatch, "body");

  // A body swapped together with a matching digest still breaks the signature.
  WireRequest body_and_digest = body;
  body_and_digest.set_header("Content-Digest", content_digest_value(as_bytes(body.body)));
  expect_refused(body_and_digest, SignatureError::kBadSignature, "body and digest");

  WireRequest signature = good;
  std::string value = signature.headers[2].second;  // custos=:base64:
  ASSERT_EQ(signature.headers[2].first, "Signature");
  auto bytes = *base64_decode(value.substr(8, value.size() - 9));
  bytes[10] ^= 0x01;
  signature.set_header("Signature", "custos=:" + base64_encode(bytes) + ":");
  expect_refused(signature, SignatureError::kBadSignature, "signature bytes");

  WireRequest unsigned_request = good;
  unsigned_request.headers.clear();
  expect_refused(unsigned_request, SignatureError::kMissingSignature, "no signature");
}

TEST_F(SignerTest, SkewUnknownKeyAndWrongKeyAreRefused) {
  WireRequest request = signed_request();
  EXPECT_TRUE(verify(request, kNow + 300).is_ok());
  VerifyResult late = verify(request, kNow + 301);
  ASSERT_FALSE(late.is_ok());
  EXPECT_EQ(late.failure().reason, SignatureError::kCreatedOutOfWindow);
  VerifyResult early = verify(request, kNow - 301);
  ASSERT_FALSE(early.is_ok());
  EXPECT_EQ(early.failure().reason, SignatureError::kCreatedOutOfWindow);

  VerifyResult unknown = request.verify(signer_->public_key(), "dev-other");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_EQ(unknown.failure().reason, SignatureError::kUnknownKey);

  VerifyResult wrong_key = request.verify(Ed25519KeyPair::generate().public_key(), "dev-0042");
  ASSERT_FALSE(wrong_key.is_ok());
  EXPECT_EQ(wrong_key.failure().reason, SignatureError::kBadSignature);
}

TEST_F(SignerTest, MalformedInputsAreRefused) {
  EXPECT_FALSE(RequestSigner::create("", Ed25519KeyPair::generate()).is_ok());
  EXPECT_FALSE(RequestSigner::create("dev 42", Ed25519KeyPair::generate()).is_ok());
  EXPECT_FALSE(RequestSigner::create("dev\"42", Ed25519KeyPair::generate()).is_ok());
  EXPECT_FALSE(RequestSigner::create(std::string(129, 'a'), Ed25519KeyPair::generate()).is_ok());
  EXPECT_TRUE(RequestSigner::create(std::string(128, 'a'), Ed25519KeyPair::generate()).is_ok());

  EXPECT_EQ(signer_->sign("PO ST", "http", kAuthority, kTarget, kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->sign("POST", "ftp", kAuthority, kTarget, kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->sign("POST", "http", "host/x", kTarget, kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->sign("POST", "http", "", kTarget, kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->sign("POST", "http", kAuthority, "entries", kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(signer_->sign("POST", "http", kAuthority, "/a\r\nX: y", kBody, kNow).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(SignerTest, CoveredHeadersFollowTheStandardComponentsInOrder) {
  const std::vector<std::pair<std::string, std::string>> covered = {
      {"Custos-Device-Posture", "healthy"}, {"CUSTOS-GEO", "52.37, 4.89"}};
  auto headers = signer_->sign("POST", "http", kAuthority, kTarget, kBody, kNow, covered);
  ASSERT_TRUE(headers.is_ok()) << headers.status().to_string();
  EXPECT_TRUE(headers->signature_input.starts_with(
      "custos=(\"@method\" \"@target-uri\" \"content-digest\" \"custos-device-posture\" "
      "\"custos-geo\");created=1795660000;"))
      << headers->signature_input;
  // The values are part of what was signed, under the lower-cased names.
  EXPECT_NE(headers->signature_base.find("\n\"custos-device-posture\": healthy\n"),
            std::string::npos)
      << headers->signature_base;
  EXPECT_NE(headers->signature_base.find("\n\"custos-geo\": 52.37, 4.89\n"), std::string::npos)
      << headers->signature_base;

  // Without a body the covered fields come right after @target-uri.
  auto bodyless = signer_->sign("GET", "http", kAuthority, "/checkpoint", "", kNow,
                                {{"Custos-Approval", "apr-1"}});
  ASSERT_TRUE(bodyless.is_ok()) << bodyless.status().to_string();
  EXPECT_TRUE(bodyless->signature_input.starts_with(
      "custos=(\"@method\" \"@target-uri\" \"custos-approval\");"))
      << bodyless->signature_input;

  // The server's verification accepts the request as sent, and refuses it
  // when a covered value changes in transit or the field is dropped.
  WireRequest request;
  request.set_header("Custos-Device-Posture", "healthy");
  request.set_header("Custos-Geo", "52.37, 4.89");
  request.set_header("Content-Digest", *headers->content_digest);
  request.set_header("Signature-Input", headers->signature_input);
  request.set_header("Signature", headers->signature);
  VerifyResult verified = verify(request);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  ASSERT_EQ(verified->params.components.size(), 5u);
  EXPECT_EQ(verified->params.components[3].name, "custos-device-posture");
  EXPECT_EQ(verified->params.components[4].name, "custos-geo");

  WireRequest tampered = request;
  tampered.set_header("Custos-Device-Posture", "compromised");
  VerifyResult refused = verify(tampered);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.failure().reason, SignatureError::kBadSignature);

  WireRequest dropped = request;
  dropped.headers.erase(dropped.headers.begin());  // Custos-Device-Posture
  EXPECT_FALSE(verify(dropped).is_ok());
}

TEST_F(SignerTest, CoveredHeaderNamesAndValuesAreChecked) {
  auto sign_with = [&](std::vector<std::pair<std::string, std::string>> covered,
                       std::string_view body = kBody) {
    return signer_->sign("POST", "http", kAuthority, kTarget, body, kNow, covered).status();
  };
  for (const char* name :
       {"", "content-digest", "Content-Digest", "signature", "Signature", "signature-input",
        "Custos Geo", "custos-geo:", "x(y)", "a\"b", "caf\xc3\xa9", "x\ty", "a/b", "a@b"}) {
    Status status = sign_with({{name, "value"}});
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << "name '" << name << "'";
  }
  // A repeated name, also when only the case differs.
  EXPECT_EQ(sign_with({{"Custos-Geo", "1,2"}, {"custos-geo", "1,2"}}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(sign_with({{"X-A", "1"}, {"X-A", "1"}}).code(), StatusCode::kInvalidArgument);
  // content-digest is refused even when there is no body (it is the profile's own field).
  EXPECT_EQ(sign_with({{"content-digest", "sha-256=:x:"}}, "").code(),
            StatusCode::kInvalidArgument);

  for (const char* value : {"a\r\nX-Injected: 1", "a\nb", "a\rb", "nul\x01", "del\x7f"}) {
    EXPECT_EQ(sign_with({{"Custos-Geo", value}}).code(), StatusCode::kInvalidArgument)
        << "value with a control character";
  }
  std::string with_nul = "a";
  with_nul.push_back('\0');
  EXPECT_EQ(sign_with({{"Custos-Geo", with_nul}}).code(), StatusCode::kInvalidArgument);

  // What is allowed: any token name, and tabs, spaces and empty values.
  EXPECT_TRUE(sign_with({{"X-Custom_1.!#$%&'*+^`|~", "a\tb c"}}).is_ok());
  EXPECT_TRUE(sign_with({{"Custos-Approval", ""}}).is_ok());
}

TEST(EnrollmentKeyIdTest, MatchesTheFirstSixteenBytesOfTheKeyHash) {
  DeviceKey key = generate_device_key();
  EXPECT_EQ(key.key_id.size(), 32u);
  Hash256 digest = sha256(key.key_pair.public_key().view());
  EXPECT_EQ(key.key_id, hex_encode(ByteView(digest.bytes.data(), 16)));
  EXPECT_TRUE(is_valid_key_id(key.key_id));
  EXPECT_NE(generate_device_key().key_id, key.key_id);
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-sdk-keys-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    std::filesystem::create_directories(directory_);
    path_ = (directory_ / "device.key").string();
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  void write_raw(const std::string& content, mode_t mode = 0600) {
    {
      std::ofstream out(path_, std::ios::binary | std::ios::trunc);
      out << content;
    }
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }

  mode_t mode_of(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0);
    return info.st_mode & 07777;
  }

  std::filesystem::path directory_;
  std::string path_;
};

TEST_F(KeyFileTest, RoundTripKeepsKeyIdAndSeedWithMode0600) {
  DeviceKey key = generate_device_key();
  ASSERT_TRUE(save_device_key(path_, key).is_ok());
  EXPECT_EQ(mode_of(path_), 0600u);

  std::ifstream in(path_);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "custos-device-key v1\nkeyid " + key.key_id + "\nseed " +
                         base64_encode(key.key_pair.seed()) + "\n");

  auto loaded = load_device_key(path_);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->key_id, key.key_id);
  EXPECT_EQ(loaded->key_pair.public_key(), key.key_pair.public_key());
  EXPECT_EQ(loaded->key_pair.sign(as_bytes("m")), key.key_pair.sign(as_bytes("m")));

  // No temporary file is left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator(directory_))
    ++files;
  EXPECT_EQ(files, 1u);

  auto signer = RequestSigner::create(std::move(loaded).value());
  ASSERT_TRUE(signer.is_ok());
  EXPECT_EQ(signer->key_id(), key.key_id);
}

TEST_F(KeyFileTest, SaveReplacesAnOpenFileWithAPrivateOne) {
  write_raw("old", 0644);
  DeviceKey key{"dev-0042", Ed25519KeyPair::generate()};
  ASSERT_TRUE(save_device_key(path_, key).is_ok());
  EXPECT_EQ(mode_of(path_), 0600u);
  auto loaded = load_device_key(path_);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->key_id, "dev-0042");

  DeviceKey bad{"dev 42", Ed25519KeyPair::generate()};
  EXPECT_EQ(save_device_key(path_, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(save_device_key((directory_ / "missing" / "k").string(), key).code(),
            StatusCode::kIoError);
}

TEST_F(KeyFileTest, GroupOrWorldAccessIsRefused) {
  DeviceKey key = generate_device_key();
  ASSERT_TRUE(save_device_key(path_, key).is_ok());
  for (mode_t mode : {0644, 0640, 0604, 0660, 0601}) {
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    auto loaded = load_device_key(path_);
    ASSERT_FALSE(loaded.is_ok()) << std::oct << mode;
    EXPECT_EQ(loaded.status().code(), StatusCode::kPermissionDenied);
    EXPECT_NE(loaded.status().message().find("chmod 600"), std::string::npos);
  }
  ASSERT_EQ(::chmod(path_.c_str(), 0400), 0);
  EXPECT_TRUE(load_device_key(path_).is_ok());
}

TEST_F(KeyFileTest, MalformedFilesAreRefused) {
  std::string seed = base64_encode(Ed25519KeyPair::generate().seed());
  const std::string good = "custos-device-key v1\nkeyid dev-1\nseed " + seed + "\n";
  write_raw(good);
  ASSERT_TRUE(load_device_key(path_).is_ok());

  const std::vector<std::string> bad = {
      "",
      "custos-device-key v2\nkeyid dev-1\nseed " + seed + "\n",
      "custos-device-key v1\nkeyid dev-1\nseed " + seed,                // no final newline
      "custos-device-key v1\nkeyid dev-1\nseed " + seed + "\nextra\n",  // trailing content
      "custos-device-key v1\nseed " + seed + "\nkeyid dev-1\n",         // order
      "custos-device-key v1\nkeyid dev 1\nseed " + seed + "\n",         // bad key id
      "custos-device-key v1\nkeyid \nseed " + seed + "\n",              // empty key id
      "custos-device-key v1\nkeyid dev-1\nseed " + base64_encode(Bytes(31, 7)) + "\n",
      "custos-device-key v1\nkeyid dev-1\nseed not-base64!\n",
      "custos-device-key v1\r\nkeyid dev-1\r\nseed " + seed + "\r\n",
      std::string(5000, 'x'),
  };
  for (const auto& content : bad) {
    write_raw(content);
    auto loaded = load_device_key(path_);
    ASSERT_FALSE(loaded.is_ok()) << content;
    EXPECT_EQ(loaded.status().code(), StatusCode::kInvalidArgument) << content;
  }
}

TEST_F(KeyFileTest, MissingFilesAndSymlinksAreRefused) {
  EXPECT_EQ(load_device_key(path_).status().code(), StatusCode::kNotFound);
  DeviceKey key = generate_device_key();
  std::string target = (directory_ / "real.key").string();
  ASSERT_TRUE(save_device_key(target, key).is_ok());
  std::filesystem::create_symlink(target, path_);
  EXPECT_FALSE(load_device_key(path_).is_ok());
  EXPECT_EQ(load_device_key(directory_.string()).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace custos::sdk
