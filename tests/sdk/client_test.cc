// Client against an in-process custos server (temp store, ledger::Log,
// IdentityService, AccessControl with the default policies, HttpServer with
// the log routes), and against a fake log that serves tampered answers.
#include "custos/sdk/client.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/core/work_queue.h"
#include "custos/crypto/http_signature.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/ledger/merkle.h"
#include "custos/server/default_policies.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/http_client.h"
#include "custos/server/log_api.h"
#include "custos/server/server.h"
#include "custos/store/store.h"
#include "support/access_helpers.h"
#include "support/test_pki.h"

namespace custos::sdk {
namespace {

constexpr std::string_view kOrigin = "sdk.test/log";
// The north site's geofence is 500 m around (52.37, 4.89).
constexpr std::string_view kInsideNorth = "52.372,4.89";  // ~220 m from the centre
constexpr std::string_view kOutsideNorth = "52.40,4.89";  // ~3.3 km from the centre

// Answers of the fake log, by route name, settable while it runs.
class CannedAnswers {
 public:
  void set(const std::string& route, HttpResponse response) {
    std::lock_guard lock(mutex_);
    answers_[route] = std::move(response);
  }
  HttpResponse get(const std::string& route) {
    std::lock_guard lock(mutex_);
    auto found = answers_.find(route);
    if (found == answers_.end()) return problem_response(500, "Internal", "nothing canned");
    return found->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, HttpResponse> answers_;
};

// What the signed-request route saw, for the tests to inspect.
struct SignatureLog {
  std::mutex mutex;
  std::vector<std::string> nonces;
  std::vector<std::string> key_ids;
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-sdk-client-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    log_signer_.emplace(*NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate()));
    log_key_.emplace(log_signer_->verifier());

    ledger::LogOptions options;
    options.origin = log_signer_->name();
    options.clock = &clock_;
    options.sign_checkpoint = [this](std::string_view body) -> Result<std::string> {
      const NoteSigner* signers[] = {&*log_signer_};
      return sign_note(body, signers);
    };
    auto log = ledger::Log::open(*store_, std::move(options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();

    auto identity = identity::IdentityService::open(*log_, *store_, clock_);
    ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();
    identity_ = std::move(identity).value();
    AccessControlOptions access_options;
    SiteConfig north;
    north.id = "north";
    north.utc_offset_minutes = 0;
    north.hours_start = 0;
    north.hours_end = 24;
    north.has_geofence = true;
    north.latitude = 52.37;
    north.longitude = 4.89;
    north.radius_m = 500;
    access_options.sites = {north};
    access_ = std::make_unique<AccessControl>(*identity_, clock_, metrics_, access_options);
    auto policies = policy::parse_policies(default_policy_text());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    access_->set_policies(std::move(policies).value());

    Router router;
    ASSERT_TRUE(
        add_log_routes(router, *log_, receipts_,
                       {&access_->gatekeeper(), log_key_->vkey_string(), log_signer_->name()})
            .is_ok());
    add_signed_route(router, "/sdk-test/signed");
    add_signed_route(router, "/prefix/sdk-test/signed");
    server_ = start_server(std::move(router));
    ASSERT_NE(server_, nullptr);

    Router fake;
    for (auto [method, path, name] :
         std::initializer_list<std::tuple<const char*, const char*, const char*>>{
             {"POST", "/custos/v1/log/entries", "log_append"},
             {"GET", "/custos/v1/log/entries/{index}", "log_entry"},
             {"GET", "/custos/v1/log/proof/inclusion", "log_proof_inclusion"},
             {"GET", "/checkpoint", "checkpoint"}}) {
      std::string route = name;
      ASSERT_TRUE(fake.add(method, path, name,
                           [this, route](const HttpRequest&, const RouteParams&,
                                         Responder respond) { respond(canned_.get(route)); })
                      .is_ok());
    }
    fake_server_ = start_server(std::move(fake));
    ASSERT_NE(fake_server_, nullptr);
  }

  void TearDown() override {
    if (server_) server_->stop();
    if (fake_server_) fake_server_->stop();
    if (log_) log_->close();
    server_.reset();
    fake_server_.reset();
    access_.reset();
    identity_.reset();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }

  static std::unique_ptr<HttpServer> start_server(Router router) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    auto server = std::make_unique<HttpServer>(options, std::move(router));
    if (!server->start().is_ok()) return nullptr;
    return server;
  }

  // A route that verifies RFC 9421 signatures the way the server's profile
  // says: @target-uri is http://<Host><request target>.
  void add_signed_route(Router& router, const std::string& path) {
    auto handler = [this](const HttpRequest& request, const RouteParams&, Responder respond) {
      std::string_view target = request.target;
      size_t question = target.find('?');
      std::string_view query =
          question == std::string_view::npos ? "" : target.substr(question + 1);
      std::string_view host = request.header("Host").value_or("");
      SignedRequestView view{request.method, "http", host,
                             request.path,   query,  header_values_from(request.headers.fields()),
                             request.body};
      VerifyPolicy policy;
      policy.required_components = {"@method", "@target-uri"};
      policy.require_nonce = true;
      policy.now = clock_.now_micros() / 1000000;
      KeyLookupFn lookup = [this](std::string_view keyid) -> std::optional<Ed25519PublicKey> {
        std::lock_guard lock(device_keys_mutex_);
        auto found = device_keys_.find(std::string(keyid));
        if (found == device_keys_.end()) return std::nullopt;
        return found->second;
      };
      VerifyResult verified = verify_request(view, "custos", lookup, policy);
      if (!verified.is_ok()) {
        respond(problem_response(401, "Unauthenticated", verified.status().message(),
                                 "unauthenticated"));
        return;
      }
      {
        std::lock_guard lock(signatures_.mutex);
        signatures_.nonces.push_back(verified->params.nonce.value_or(""));
        signatures_.key_ids.push_back(verified->params.keyid.value_or(""));
      }
      respond(json_response(200, "{\"body\":" + std::to_string(request.body.size()) + "}"));
    };
    ASSERT_TRUE(router.add("GET", path, "signed_get" + path, handler).is_ok());
    ASSERT_TRUE(router.add("POST", path, "signed_post" + path, handler).is_ok());
  }

  RequestSigner enroll_device(const std::string& key_id) {
    auto signer = RequestSigner::create(key_id, Ed25519KeyPair::generate());
    EXPECT_TRUE(signer.is_ok());
    std::lock_guard lock(device_keys_mutex_);
    device_keys_[key_id] = signer->public_key();
    return std::move(signer).value();
  }

  std::string url(const HttpServer& server, std::string_view prefix = "") {
    return "http://127.0.0.1:" + std::to_string(server.port()) + std::string(prefix);
  }

  Client client(ClientOptions options) {
    auto created = Client::create(std::move(options));
    EXPECT_TRUE(created.is_ok()) << created.status().to_string();
    return std::move(created).value();
  }

  // The API token of the service "writer" (role log_writer), created on
  // first use: two identity entries (the principal and its token) in the log.
  const std::string& token() {
    if (token_.empty()) {
      auto token = test_support::make_writer_token(*identity_);
      EXPECT_TRUE(token.is_ok()) << token.status().to_string();
      if (token.is_ok()) token_ = *token;
    }
    return token_;
  }

  // A client of the real server with the writer's token and the log key.
  Client writer_client() {
    ClientOptions options;
    options.base_url = url(*server_);
    options.bearer_token = token();
    options.log_key = *log_key_;
    return client(std::move(options));
  }

  // A client of the fake log, trusting the real log key.
  Client fake_client() {
    ClientOptions options;
    options.base_url = url(*fake_server_);
    options.bearer_token = token();
    options.log_key = *log_key_;
    return client(std::move(options));
  }

  // A device enrolled with the identity service at north / dock-a; its signer.
  RequestSigner north_device(const std::string& id) {
    auto key = test_support::make_device(*identity_, id, "north", "dock-a");
    EXPECT_TRUE(key.is_ok()) << key.status().to_string();
    auto signer = RequestSigner::create(std::move(key).value());
    EXPECT_TRUE(signer.is_ok()) << signer.status().to_string();
    return std::move(signer).value();
  }

  // A client of the real server signing with `signer` and sending `signed_headers`.
  Client device_client(const RequestSigner& signer,
                       std::vector<std::pair<std::string, std::string>> signed_headers) {
    ClientOptions options;
    options.base_url = url(*server_);
    options.signer = signer;
    options.signed_headers = std::move(signed_headers);
    options.log_key = *log_key_;
    return client(std::move(options));
  }

  static std::vector<std::pair<std::string, std::string>> healthy_at(std::string_view geo) {
    return {{"Custos-Device-Posture", "healthy"}, {"Custos-Geo", std::string(geo)}};
  }

  // A member of a problem+json body, "" when absent.
  static std::string problem_member(const HttpResponse& response, const char* member) {
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    if (parser.parse(response.body).get(body)) return "";
    std::string_view value;
    if (body[member].get(value)) return "";
    return std::string(value);
  }

  static bool is_decision_id(std::string_view id) {
    if (id.size() != 36 || !id.starts_with("dec-")) return false;
    for (char c : id.substr(4)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
  }

  void append_directly(int count) {
    for (int i = 0; i < count; ++i) {
      ledger::AppendRequest request;
      request.principal = "test";
      request.payload = to_bytes("entry " + std::to_string(i));
      ASSERT_TRUE(log_->append(std::move(request)).is_ok());
    }
  }

  std::filesystem::path directory_;
  SystemClock clock_;
  std::unique_ptr<store::Store> store_;
  std::optional<NoteSigner> log_signer_;
  std::optional<NoteVerifier> log_key_;
  std::unique_ptr<ledger::Log> log_;
  MetricsRegistry metrics_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<AccessControl> access_;
  std::string token_;
  WorkQueue receipts_{2};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpServer> fake_server_;
  CannedAnswers canned_;
  std::mutex device_keys_mutex_;
  std::map<std::string, Ed25519PublicKey> device_keys_;
  SignatureLog signatures_;
};

// ---- The real server ----

TEST_F(ClientTest, AppendReturnsAVerifiedReceipt) {
  Client sdk = writer_client();
  const uint64_t base = log_->tree_size();  // after the writer's identity entries
  EXPECT_EQ(base, 2u);
  append_directly(5);
  auto receipt = sdk.append("pallet 42 left dock 4");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->index, base + 5);
  EXPECT_EQ(receipt->principal, "writer");
  EXPECT_TRUE(receipt->request_signature.empty());
  EXPECT_GE(receipt->tree_size, base + 6);
  EXPECT_EQ(receipt->checkpoint.checkpoint.tree_size, receipt->tree_size);
  EXPECT_EQ(receipt->checkpoint.checkpoint.origin, kOrigin);
  EXPECT_FALSE(receipt->inclusion_proof.empty());
  EXPECT_EQ(*log_->entry(base + 5), ledger::encode_entry({ledger::EntryKind::kRawPayload,
                                                          base + 5,
                                                          receipt->receive_time,
                                                          "writer",
                                                          {},
                                                          to_bytes("pallet 42 left dock 4")}));

  // Several appends on one keep-alive connection.
  for (int i = 0; i < 5; ++i) {
    auto next = sdk.append("case " + std::to_string(i));
    ASSERT_TRUE(next.is_ok()) << next.status().to_string();
    EXPECT_EQ(next->index, base + 6 + i);
  }
}

TEST_F(ClientTest, ProveInclusionAndCheckpointVerify) {
  Client sdk = writer_client();  // two identity entries
  append_directly(20);
  auto receipt = sdk.append("pallet 7");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->index, 22u);
  append_directly(10);

  auto latest = sdk.checkpoint();
  ASSERT_TRUE(latest.is_ok()) << latest.status().to_string();
  EXPECT_EQ(latest->checkpoint.tree_size, 33u);
  EXPECT_EQ(latest->checkpoint.root_hash, *log_->root_at(33));

  auto proof = sdk.prove_inclusion(receipt->index);
  ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
  EXPECT_EQ(proof->tree_size, 33u);
  EXPECT_EQ(proof->leaf_hash, receipt->leaf_hash);
  ASSERT_TRUE(proof->entry.has_value());
  EXPECT_EQ(proof->entry->payload, to_bytes("pallet 7"));
  EXPECT_EQ(proof->entry->principal, "writer");

  // Against the checkpoint the receipt carried.
  auto pinned = sdk.prove_inclusion(receipt->index, receipt->tree_size);
  ASSERT_TRUE(pinned.is_ok()) << pinned.status().to_string();
  EXPECT_EQ(pinned->checkpoint.note, receipt->checkpoint.note);

  auto beyond = sdk.prove_inclusion(1000);
  ASSERT_FALSE(beyond.is_ok());
  EXPECT_NE(beyond.status().code(), StatusCode::kDataLoss);
}

TEST_F(ClientTest, SignedDeviceInsideItsGeofenceAppendsAndItsReceiptVerifies) {
  const RequestSigner scanner = north_device("scanner-7");
  const uint64_t before = log_->tree_size();
  Client sdk = device_client(scanner, healthy_at(kInsideNorth));

  auto response = sdk.request("POST", kAppendPath, "signed payload", "application/octet-stream");
  ASSERT_TRUE(response.is_ok()) << response.status().to_string();
  ASSERT_EQ(response->status, 201) << response->body;
  EXPECT_EQ(response->headers.get("Location").value_or(""),
            "/custos/v1/log/entries/" + std::to_string(before));

  auto receipt = sdk.append("second signed payload");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->principal, "scanner-7");
  EXPECT_EQ(receipt->index, before + 1);
  auto entry = ledger::decode_entry(*log_->entry(receipt->index));
  ASSERT_TRUE(entry.is_ok());
  EXPECT_EQ(entry->principal, "scanner-7");
  EXPECT_EQ(entry->payload, to_bytes("second signed payload"));
}

TEST_F(ClientTest, DeviceWithoutSignedPostureOrOutsideItsGeofenceIsForbidden) {
  const RequestSigner scanner = north_device("scanner-8");
  const uint64_t before = log_->tree_size();

  Client no_posture = device_client(scanner, {{"Custos-Geo", std::string(kInsideNorth)}});
  auto refused = no_posture.request("POST", kAppendPath, "payload", "application/octet-stream");
  ASSERT_TRUE(refused.is_ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 403) << refused->body;
  EXPECT_EQ(refused->content_type, "application/problem+json");
  EXPECT_TRUE(is_decision_id(problem_member(*refused, "decision_id"))) << refused->body;
  auto as_status = no_posture.append("payload");
  EXPECT_EQ(as_status.status().code(), StatusCode::kPermissionDenied)
      << as_status.status().to_string();

  Client outside = device_client(scanner, healthy_at(kOutsideNorth));
  auto far = outside.request("POST", kAppendPath, "payload", "application/octet-stream");
  ASSERT_TRUE(far.is_ok()) << far.status().to_string();
  EXPECT_EQ(far->status, 403) << far->body;
  EXPECT_TRUE(is_decision_id(problem_member(*far, "decision_id"))) << far->body;
  EXPECT_NE(problem_member(*far, "decision_id"), problem_member(*refused, "decision_id"));

  EXPECT_EQ(log_->tree_size(), before);
  // The same device, healthy and inside, is allowed: the refusals were about posture and place.
  Client good = device_client(scanner, healthy_at(kInsideNorth));
  EXPECT_TRUE(good.append("payload").is_ok());
}

TEST_F(ClientTest, SuspendedDeviceIsRefusedOnItsVeryNextRequest) {
  const RequestSigner scanner = north_device("scanner-9");
  Client sdk = device_client(scanner, healthy_at(kInsideNorth));
  ASSERT_TRUE(sdk.append("before").is_ok());

  ASSERT_TRUE(identity_
                  ->apply(
                      identity::PrincipalStatusChange{
                          "scanner-9", identity::PrincipalStatus::kSuspended, "lost in transit"},
                      "test", "dec-test")
                  .is_ok());
  const uint64_t before = log_->tree_size();
  auto refused = sdk.request("POST", kAppendPath, "after", "application/octet-stream");
  ASSERT_TRUE(refused.is_ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_EQ(problem_member(*refused, "reason"), "principal_suspended") << refused->body;
  EXPECT_EQ(sdk.append("after").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(log_->tree_size(), before);
}

TEST_F(ClientTest, ReplayedSignedRequestIsRefused) {
  const RequestSigner scanner = north_device("scanner-10");
  const std::string authority = "127.0.0.1:" + std::to_string(server_->port());
  const auto covered = healthy_at(kInsideNorth);
  auto signed_headers = scanner.sign("POST", "http", authority, kAppendPath, "once only",
                                     clock_.now_micros() / 1000000, covered);
  ASSERT_TRUE(signed_headers.is_ok()) << signed_headers.status().to_string();
  HttpHeaders headers;
  headers.set("Host", authority);
  headers.set("Content-Type", "application/octet-stream");
  headers.set("Content-Digest", *signed_headers->content_digest);
  headers.set("Signature-Input", signed_headers->signature_input);
  headers.set("Signature", signed_headers->signature);
  for (const auto& [name, value] : covered) headers.set(name, value);

  HttpClient raw("127.0.0.1", server_->port());
  auto first = raw.request("POST", kAppendPath, "once only", headers);
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->status, 201) << first->body;
  const uint64_t after_first = log_->tree_size();

  auto second = raw.request("POST", kAppendPath, "once only", headers);
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(second->status, 401) << second->body;
  EXPECT_EQ(problem_member(*second, "reason"), "replayed_nonce") << second->body;
  // On a fresh connection too.
  HttpClient other("127.0.0.1", server_->port());
  auto third = other.request("POST", kAppendPath, "once only", headers);
  ASSERT_TRUE(third.is_ok());
  EXPECT_EQ(problem_member(*third, "reason"), "replayed_nonce") << third->body;
  EXPECT_EQ(log_->tree_size(), after_first);
}

TEST_F(ClientTest, WrongLogKeyIsDataLoss) {
  ClientOptions options;
  options.base_url = url(*server_);
  options.bearer_token = token();
  // Same name, other key: the checkpoint is not the one we trust.
  auto impostor = *NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate());
  options.log_key = impostor.verifier();
  Client sdk = client(std::move(options));
  auto receipt = sdk.append("payload");
  ASSERT_FALSE(receipt.is_ok());
  EXPECT_EQ(receipt.status().code(), StatusCode::kDataLoss) << receipt.status().to_string();
  EXPECT_EQ(sdk.checkpoint().status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(sdk.prove_inclusion(0).status().code(), StatusCode::kDataLoss);
}

TEST_F(ClientTest, ErrorAnswersMapToStatusCodes) {
  ClientOptions options;
  options.base_url = url(*server_);
  options.log_key = *log_key_;
  Client anonymous = client(options);
  auto refused = anonymous.append("payload");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  // The problem's detail says what was missing.
  EXPECT_NE(refused.status().message().find("Authorization header"), std::string::npos)
      << refused.status().message();

  options.bearer_token = "ffffffffffffffffffffffffffffffff";
  Client wrong = client(options);
  auto bad_token = wrong.append("payload");
  EXPECT_EQ(bad_token.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(bad_token.status().message().find("HTTP 401"), std::string::npos)
      << bad_token.status().message();
  auto bad_token_answer = wrong.request("POST", kAppendPath, "payload", "application/octet-stream");
  ASSERT_TRUE(bad_token_answer.is_ok());
  EXPECT_EQ(bad_token_answer->status, 401);
  EXPECT_EQ(problem_member(*bad_token_answer, "reason"), "invalid_token") << bad_token_answer->body;
  EXPECT_EQ(log_->tree_size(), 0u);

  Client writer = writer_client();
  const uint64_t before = log_->tree_size();
  EXPECT_EQ(writer.append(std::string(61441, 'x')).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(writer.append("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->tree_size(), before);

  // A token whose scopes leave out log.append: 403.
  auto reader = test_support::make_writer_token(*identity_, "reader", {"log.read"});
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  options.bearer_token = *reader;
  Client out_of_scope = client(options);
  EXPECT_EQ(out_of_scope.append("payload").status().code(), StatusCode::kPermissionDenied);

  ClientOptions keyless;
  keyless.base_url = url(*server_);
  keyless.bearer_token = token();
  Client no_key = client(keyless);
  EXPECT_EQ(no_key.append("payload").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(no_key.checkpoint().status().code(), StatusCode::kFailedPrecondition);

  // Nothing listens on the fake server once it stopped.
  uint16_t port = fake_server_->port();
  fake_server_->stop();
  ClientOptions gone;
  gone.base_url = "http://127.0.0.1:" + std::to_string(port);
  gone.log_key = *log_key_;
  gone.timeout = std::chrono::milliseconds(2000);
  Client unreachable = client(gone);
  EXPECT_EQ(unreachable.checkpoint().status().code(), StatusCode::kUnavailable);
}

TEST_F(ClientTest, RequestsAreSignedUnderTheProfile) {
  ClientOptions options;
  options.base_url = url(*server_);
  options.signer = enroll_device("dev-0042");
  Client sdk = client(std::move(options));

  auto post =
      sdk.request("POST", "/sdk-test/signed?batch=7&x=a%20b", "{\"epc\":1}", "application/json");
  ASSERT_TRUE(post.is_ok()) << post.status().to_string();
  EXPECT_EQ(post->status, 200) << post->body;
  auto get = sdk.request("GET", "/sdk-test/signed");
  ASSERT_TRUE(get.is_ok());
  EXPECT_EQ(get->status, 200) << get->body;
  auto again = sdk.request("GET", "/sdk-test/signed");
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->status, 200) << again->body;

  std::lock_guard lock(signatures_.mutex);
  ASSERT_EQ(signatures_.nonces.size(), 3u);
  EXPECT_EQ(std::set<std::string>(signatures_.nonces.begin(), signatures_.nonces.end()).size(), 3u);
  EXPECT_EQ(signatures_.key_ids[0], "dev-0042");
}

TEST_F(ClientTest, SignedRequestsThroughAPathPrefixAndAnUnknownKey) {
  ClientOptions options;
  options.base_url = url(*server_, "/prefix/");
  options.signer = enroll_device("dev-prefixed");
  Client prefixed = client(std::move(options));
  EXPECT_EQ(prefixed.base_url().prefix, "/prefix");
  auto response = prefixed.request("POST", "/sdk-test/signed", "body", "text/plain");
  ASSERT_TRUE(response.is_ok());
  EXPECT_EQ(response->status, 200) << response->body;

  ClientOptions stranger;
  stranger.base_url = url(*server_);
  stranger.signer = *RequestSigner::create("dev-unknown", Ed25519KeyPair::generate());
  Client unknown = client(std::move(stranger));
  auto refused = unknown.request("POST", "/sdk-test/signed", "body", "text/plain");
  ASSERT_TRUE(refused.is_ok());
  EXPECT_EQ(refused->status, 401);
  Status status = status_from_response(*refused, "POST /sdk-test/signed");
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("UnknownKey"), std::string::npos) << status.message();
}

// ---- A log that lies ----

class TamperTest : public ClientTest {
 protected:
  void SetUp() override {
    ClientTest::SetUp();
    if (HasFatalFailure()) return;
    // A genuine receipt for kPayload from the real server, to tamper with:
    // after the writer's two identity entries and five others.
    Client writer = writer_client();
    append_directly(5);
    auto response = writer.request("POST", kAppendPath, kPayload, "application/octet-stream");
    ASSERT_TRUE(response.is_ok());
    ASSERT_EQ(response->status, 201) << response->body;
    genuine_ = parse(response->body);
    ASSERT_EQ(genuine_.index, kGenuineIndex);
    ASSERT_EQ(genuine_.principal, "writer");
    ASSERT_GE(genuine_.inclusion_proof.size(), 1u);
  }

  struct Fields {
    uint64_t index = 0;
    std::string leaf_hash;
    int64_t receive_time_us = 0;
    std::string principal;
    uint64_t tree_size = 0;
    std::string checkpoint;
    std::vector<std::string> inclusion_proof;

    std::string to_json() const {
      JsonWriter json;
      json.begin_object()
          .key("index")
          .number(index)
          .key("leaf_hash")
          .string(leaf_hash)
          .key("receive_time_us")
          .number(receive_time_us)
          .key("principal")
          .string(principal)
          .key("tree_size")
          .number(tree_size)
          .key("checkpoint")
          .string(checkpoint)
          .key("inclusion_proof")
          .begin_array();
      for (const auto& hash : inclusion_proof) json.string(hash);
      json.end_array().end_object();
      return json.take();
    }
  };

  static Fields parse(const std::string& json) {
    simdjson::dom::parser parser;
    simdjson::dom::element body = parser.parse(json);
    Fields fields;
    fields.index = uint64_t(body["index"]);
    fields.leaf_hash = std::string(std::string_view(body["leaf_hash"]));
    if (body["receive_time_us"].error() == simdjson::SUCCESS) {
      fields.receive_time_us = int64_t(body["receive_time_us"]);
      fields.principal = std::string(std::string_view(body["principal"]));
    }
    fields.tree_size = uint64_t(body["tree_size"]);
    fields.checkpoint = std::string(std::string_view(body["checkpoint"]));
    for (auto item : body["inclusion_proof"].get_array()) {
      fields.inclusion_proof.emplace_back(std::string_view(item.get_string()));
    }
    return fields;
  }

  Result<Receipt> append_through_fake(const Fields& receipt, std::string_view payload = kPayload) {
    canned_.set("log_append", json_response(201, receipt.to_json()));
    Client sdk = fake_client();
    return sdk.append(payload);
  }

  void expect_data_loss(const Fields& receipt, const std::string& what,
                        std::string_view payload = kPayload) {
    auto result = append_through_fake(receipt, payload);
    ASSERT_FALSE(result.is_ok()) << what;
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss)
        << what << ": " << result.status().to_string();
  }

  std::string checkpoint_body() const {
    return genuine_.checkpoint.substr(0, genuine_.checkpoint.find("\n\n") + 1);
  }

  static constexpr std::string_view kPayload = "pallet 42 left dock 4";
  static constexpr uint64_t kGenuineIndex = 7;
  Fields genuine_;
};

TEST_F(TamperTest, GenuineReceiptReplayedByTheFakeVerifies) {
  auto receipt = append_through_fake(genuine_);
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->index, kGenuineIndex);
  EXPECT_EQ(receipt->principal, "writer");
}

TEST_F(TamperTest, FlippedProofHashIsRefused) {
  Fields receipt = genuine_;
  auto hash = *Hash256::from_base64(receipt.inclusion_proof[0]);
  hash.bytes[31] ^= 0x01;
  receipt.inclusion_proof[0] = hash.base64();
  expect_data_loss(receipt, "flipped proof hash");
  receipt = genuine_;
  receipt.inclusion_proof.pop_back();
  expect_data_loss(receipt, "truncated proof");
}

TEST_F(TamperTest, CheckpointUnderAnotherKeyIsRefused) {
  auto rogue = *NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate());
  const NoteSigner* signers[] = {&rogue};
  Fields receipt = genuine_;
  receipt.checkpoint = *sign_note(checkpoint_body(), signers);
  expect_data_loss(receipt, "checkpoint signed by a rogue key of the same name");

  // The log's own signature over a body whose root was swapped afterwards.
  Fields swapped = genuine_;
  std::string body = checkpoint_body();
  size_t root_at = body.find('\n', kOrigin.size() + 1) + 1;
  body.replace(root_at, 44, ledger::hash_leaf(as_bytes("forged")).base64());
  swapped.checkpoint = body + genuine_.checkpoint.substr(checkpoint_body().size());
  expect_data_loss(swapped, "root swapped under the log's signature");
}

TEST_F(TamperTest, ReceiptFieldsThatDoNotMatchThePayloadAreRefused) {
  expect_data_loss(genuine_, "a genuine receipt for another payload", "pallet 43 left dock 4");
  Fields receipt = genuine_;
  receipt.principal = "dev-9999";
  expect_data_loss(receipt, "principal");
  receipt = genuine_;
  receipt.receive_time_us -= 1;
  expect_data_loss(receipt, "receive time");
  receipt = genuine_;
  receipt.index = kGenuineIndex - 1;
  expect_data_loss(receipt, "index");
  receipt = genuine_;
  receipt.tree_size += 1;
  expect_data_loss(receipt, "tree size");
  receipt = genuine_;
  receipt.leaf_hash = ledger::hash_leaf(as_bytes("other leaf")).base64();
  expect_data_loss(receipt, "leaf hash");

  canned_.set("log_append", json_response(201, "<html>not a receipt</html>"));
  Client sdk = fake_client();
  EXPECT_EQ(sdk.append(kPayload).status().code(), StatusCode::kDataLoss);
  canned_.set("log_append", json_response(202, "{}"));
  EXPECT_FALSE(sdk.append(kPayload).is_ok());
}

TEST_F(TamperTest, ProblemAnswersFromTheFakeMapToCodes) {
  Client sdk = fake_client();
  canned_.set("log_append",
              problem_response(403, "Forbidden", "dev-1 may not append here", "forbidden"));
  auto forbidden = sdk.append(kPayload);
  EXPECT_EQ(forbidden.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(forbidden.status().message().find("dev-1 may not append here"), std::string::npos);
  canned_.set("log_append", problem_response(503, "Unavailable", "read-only", "unavailable"));
  EXPECT_EQ(sdk.append(kPayload).status().code(), StatusCode::kUnavailable);
}

TEST_F(TamperTest, TamperedProofsEntriesAndCheckpointsAreRefused) {
  Client writer = writer_client();
  const std::string index = std::to_string(kGenuineIndex);
  auto genuine_proof = writer.request("GET", "/custos/v1/log/proof/inclusion?index=" + index);
  ASSERT_TRUE(genuine_proof.is_ok());
  ASSERT_EQ(genuine_proof->status, 200);
  auto genuine_entry = writer.request("GET", "/custos/v1/log/entries/" + index);
  ASSERT_TRUE(genuine_entry.is_ok());
  auto other_entry =
      writer.request("GET", "/custos/v1/log/entries/" + std::to_string(kGenuineIndex - 1));
  ASSERT_TRUE(other_entry.is_ok());
  auto genuine_checkpoint = writer.request("GET", "/checkpoint");
  ASSERT_TRUE(genuine_checkpoint.is_ok());

  Client sdk = fake_client();
  canned_.set("log_proof_inclusion", json_response(200, genuine_proof->body));
  canned_.set("log_entry", json_response(200, genuine_entry->body));
  canned_.set("checkpoint", text_response(200, genuine_checkpoint->body));
  auto proven = sdk.prove_inclusion(kGenuineIndex);
  ASSERT_TRUE(proven.is_ok()) << proven.status().to_string();
  ASSERT_TRUE(sdk.checkpoint().is_ok());

  // An entry that is not the proven leaf.
  canned_.set("log_entry", json_response(200, other_entry->body));
  EXPECT_EQ(sdk.prove_inclusion(kGenuineIndex).status().code(), StatusCode::kDataLoss);
  canned_.set("log_entry", json_response(200, genuine_entry->body));

  // A proof with a flipped hash, and a proof about another index.
  Fields proof = parse(genuine_proof->body);
  auto hash = *Hash256::from_base64(proof.inclusion_proof[0]);
  hash.bytes[0] ^= 0x01;
  Fields flipped = proof;
  flipped.inclusion_proof[0] = hash.base64();
  canned_.set("log_proof_inclusion", json_response(200, flipped.to_json()));
  EXPECT_EQ(sdk.prove_inclusion(kGenuineIndex).status().code(), StatusCode::kDataLoss);
  canned_.set("log_proof_inclusion", json_response(200, genuine_proof->body));
  EXPECT_EQ(sdk.prove_inclusion(kGenuineIndex - 1).status().code(), StatusCode::kDataLoss);

  // A checkpoint whose size was edited after signing, or signed by a rogue key.
  std::string note = genuine_checkpoint->body;
  size_t size_at = note.find('\n') + 1;
  note.insert(size_at, "1");
  canned_.set("checkpoint", text_response(200, note));
  EXPECT_EQ(sdk.checkpoint().status().code(), StatusCode::kDataLoss);
  auto rogue = *NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate());
  const NoteSigner* signers[] = {&rogue};
  std::string body = genuine_checkpoint->body.substr(0, genuine_checkpoint->body.find("\n\n") + 1);
  canned_.set("checkpoint", text_response(200, *sign_note(body, signers)));
  EXPECT_EQ(sdk.checkpoint().status().code(), StatusCode::kDataLoss);
}

// ---- Pure helpers ----

// The SDK over https: the server's certificate is checked against the given
// CA, a client certificate is presented when configured, and signatures
// cover the https target URI the server rebuilds.
TEST(ClientTlsTest, HttpsWithTrustedCaClientCertificateAndSignature) {
  namespace fs = std::filesystem;
  fs::path directory = fs::temp_directory_path() / ("custos-sdk-tls-" + std::to_string(::getpid()));
  fs::create_directories(directory);
  test_support::Credential ca, server_cert, client_cert, other_ca;
  test_support::issue(ca, "sdk test CA", test_support::Role::kCa, nullptr, 1);
  test_support::issue(other_ca, "other CA", test_support::Role::kCa, nullptr, 2);
  test_support::issue(server_cert, "127.0.0.1", test_support::Role::kServer, &ca, 3);
  test_support::issue(client_cert, "wms-1", test_support::Role::kClient, &ca, 4);
  test_support::write_pem(ca, directory, "ca");
  test_support::write_pem(other_ca, directory, "other_ca");
  test_support::write_pem(server_cert, directory, "server");
  test_support::write_pem(client_cert, directory, "client");

  auto device = RequestSigner::create("tls-device", Ed25519KeyPair::generate());
  ASSERT_TRUE(device.is_ok());
  const Ed25519PublicKey device_key = device->public_key();
  Router router;
  ASSERT_TRUE(router
                  .add("POST", "/echo", "echo",
                       [&device_key](const HttpRequest& request, const RouteParams&,
                                     Responder respond) {
                         SignedRequestView view{request.method,
                                                "https",
                                                request.header("Host").value_or(""),
                                                request.path,
                                                "",
                                                header_values_from(request.headers.fields()),
                                                request.body};
                         VerifyPolicy policy;
                         policy.required_components = {"@method", "@target-uri"};
                         policy.now = SystemClock().now_micros() / 1000000;
                         KeyLookupFn lookup = [&device_key](std::string_view) {
                           return std::optional<Ed25519PublicKey>(device_key);
                         };
                         bool signed_ok = verify_request(view, "custos", lookup, policy).is_ok();
                         respond(text_response(200, std::string(request.tls ? "tls" : "plain") +
                                                        "|" + request.client_cert_sha256 + "|" +
                                                        (signed_ok ? "signed" : "unsigned")));
                       })
                  .is_ok());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.tls.cert_file = server_cert.cert_file;
  options.tls.key_file = server_cert.key_file;
  options.tls.client_ca_file = ca.cert_file;
  options.tls.client_auth = ClientCertMode::kOptional;
  HttpServer server(options, std::move(router));
  ASSERT_TRUE(server.start().is_ok());
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());

  ClientOptions trusted;
  trusted.base_url = url;
  trusted.signer = *device;
  trusted.tls = HttpClientTlsOptions{ca.cert_file, "", client_cert.cert_file, client_cert.key_file};
  auto client = Client::create(trusted);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  auto answer = client->request("POST", "/echo", "pallet 1");
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->body, "tls|" + test_support::der_sha256_hex(client_cert.cert.get()) + "|signed");

  // A server certificate from a CA the client does not trust: refused.
  ClientOptions wrong_ca;
  wrong_ca.base_url = url;
  wrong_ca.tls = HttpClientTlsOptions{other_ca.cert_file, "", "", ""};
  auto refused = Client::create(wrong_ca)->request("POST", "/echo", "x");
  EXPECT_FALSE(refused.is_ok());

  // Plain HTTP to the TLS port fails instead of hanging.
  ClientOptions plain;
  plain.base_url = "http://127.0.0.1:" + std::to_string(server.port());
  plain.timeout = std::chrono::milliseconds(3000);
  auto mixed = Client::create(plain)->request("POST", "/echo", "x");
  EXPECT_FALSE(mixed.is_ok() && mixed->status == 200);
  server.stop();
  std::error_code ignored;
  fs::remove_all(directory, ignored);
}

TEST(BaseUrlTest, ParsesHostPortAndPrefix) {
  auto plain = parse_base_url("http://127.0.0.1:8080");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 8080);
  EXPECT_EQ(plain->authority, "127.0.0.1:8080");
  EXPECT_EQ(plain->prefix, "");

  auto defaulted = parse_base_url("http://custos.example/api/");
  ASSERT_TRUE(defaulted.is_ok());
  EXPECT_EQ(defaulted->port, 80);
  EXPECT_EQ(defaulted->authority, "custos.example");
  EXPECT_EQ(defaulted->prefix, "/api");

  auto v6 = parse_base_url("http://[::1]:9000");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->authority, "[::1]:9000");

  auto secure = parse_base_url("https://custos.example");
  ASSERT_TRUE(secure.is_ok());
  EXPECT_EQ(secure->scheme, "https");
  EXPECT_EQ(secure->port, 443);
  EXPECT_EQ(parse_base_url("https://h:8443")->port, 8443);

  for (std::string_view bad : {"ftp://h:1", "h:1", "http://", "https://", "http://:80", "http://h:0",
                               "http://h:65536", "http://h:x", "http://u@h", "http://h/a?b",
                               "http://h/a#b", "http://h /a", "http://[::1", "http://a:b:c"}) {
    EXPECT_EQ(parse_base_url(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  ClientOptions options;
  options.base_url = "http://h:1";
  options.bearer_token = "with space";
  EXPECT_EQ(Client::create(options).status().code(), StatusCode::kInvalidArgument);
}

TEST(StatusFromResponseTest, MapsStatusesAndKeepsTheDetail) {
  struct Case {
    int status;
    StatusCode code;
  };
  for (Case c :
       {Case{400, StatusCode::kInvalidArgument}, Case{401, StatusCode::kUnauthenticated},
        Case{403, StatusCode::kPermissionDenied}, Case{404, StatusCode::kNotFound},
        Case{405, StatusCode::kInvalidArgument}, Case{409, StatusCode::kAlreadyExists},
        Case{413, StatusCode::kResourceExhausted}, Case{429, StatusCode::kResourceExhausted},
        Case{500, StatusCode::kInternal}, Case{503, StatusCode::kUnavailable}}) {
    Status status = status_from_response(problem_response(c.status, "T", "the detail"), "GET /x");
    EXPECT_EQ(status.code(), c.code) << c.status;
    EXPECT_EQ(status.message(), "GET /x: HTTP " + std::to_string(c.status) + ": the detail");
  }
  HttpResponse plain;
  plain.status = 502;
  plain.body = "<html>bad gateway</html>";
  EXPECT_EQ(status_from_response(plain, "GET /x").message(), "GET /x: HTTP 502 Bad Gateway");
  plain.status = 204;
  EXPECT_TRUE(status_from_response(plain, "GET /x").is_ok());
}

}  // namespace
}  // namespace custos::sdk
