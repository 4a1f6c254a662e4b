// TLS on the HTTP listener and in HttpClient: server and client certificates,
// client-certificate modes, refusal of untrusted servers and of plain HTTP on a
// TLS port, and start() errors for unusable key material. The test issues its
// own throw-away PKI (EC P-256) with the OpenSSL API into a temporary directory.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/work_queue.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/server/default_policies.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/http_client.h"
#include "custos/server/log_api.h"
#include "custos/server/server.h"
#include "custos/server/websocket.h"
#include "custos/store/store.h"
#include "support/test_pki.h"

namespace custos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

using test_support::Credential;
using test_support::der_sha256_hex;
using test_support::issue;
using test_support::Role;
using test_support::write_pem;

// One PKI for the whole suite: two unrelated CAs, a server and client certificates.
struct Pki {
  fs::path directory;
  Credential ca, other_ca, server, client, stranger;
};

// Built by TlsTest::SetUpTestSuite, removed (with its directory) by TearDownTestSuite.
std::unique_ptr<Pki> pki;

// The echo handler reports what the server told it about the transport.
std::string transport_of(const HttpRequest& request) {
  return std::string(request.tls ? "tls" : "plain") + "|" + request.client_cert_sha256 + "|" +
         request.client_cert_subject;
}

bool peer_closes_within(uint16_t port, std::chrono::milliseconds limit) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, static_cast<int>(limit.count())) > 0) {
      char byte;
      closed = ::recv(fd, &byte, 1, 0) <= 0;
    }
  }
  ::close(fd);
  return closed;
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki = std::make_unique<Pki>();
    std::random_device random;
    pki->directory = fs::temp_directory_path() / ("custos_tls_test_" + std::to_string(::getpid()) +
                                                  "_" + std::to_string(random()));
    fs::create_directories(pki->directory);
    issue(pki->ca, "custos test CA", Role::kCa, nullptr, 1);
    issue(pki->other_ca, "unrelated CA", Role::kCa, nullptr, 2);
    issue(pki->server, "127.0.0.1", Role::kServer, &pki->ca, 3);
    issue(pki->client, "dock-door-7", Role::kClient, &pki->ca, 4);
    issue(pki->stranger, "dock-door-7", Role::kClient, &pki->other_ca, 5);
    write_pem(pki->ca, pki->directory, "ca");
    write_pem(pki->other_ca, pki->directory, "other_ca");
    write_pem(pki->server, pki->directory, "server");
    write_pem(pki->client, pki->directory, "client");
    write_pem(pki->stranger, pki->directory, "stranger");
  }

  static void TearDownTestSuite() {
    std::error_code ignored;
    fs::remove_all(pki->directory, ignored);
    pki.reset();
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  static ServerOptions tls_options(ClientCertMode mode) {
    ServerOptions options;
    options.tls.cert_file = pki->server.cert_file;
    options.tls.key_file = pki->server.key_file;
    if (mode != ClientCertMode::kNone) options.tls.client_ca_file = pki->ca.cert_file;
    options.tls.client_auth = mode;
    return options;
  }

  Status start(ServerOptions options) {
    options.listen = "127.0.0.1:0";
    options.io_threads = 2;
    options.read_timeout = 500ms;
    options.shutdown_grace = 1000ms;
    Router router;
    EXPECT_TRUE(router
                    .add("GET", "/transport", "transport",
                         [](const HttpRequest& request, const RouteParams&, Responder respond) {
                           respond(text_response(200, transport_of(request)));
                         })
                    .is_ok());
    // A WebSocket that says which transport it came over.
    EXPECT_TRUE(router
                    .add("GET", "/ws", "ws",
                         [](const HttpRequest& request, const RouteParams&, Responder respond) {
                           WebSocketHandlers handlers;
                           handlers.on_open = [transport = transport_of(request)](
                                                  std::shared_ptr<WebSocketConnection> connection) {
                             connection->send_text(transport);
                           };
                           respond(websocket_accept(std::move(handlers)));
                         })
                    .is_ok());
    server_ = std::make_unique<HttpServer>(std::move(options), std::move(router));
    return server_->start();
  }

  // A client that trusts `ca` and presents `identity` when given.
  HttpClient client(const Credential& ca, const Credential* identity = nullptr,
                    std::string server_name = "") {
    HttpClientOptions options;
    options.timeout = 2000ms;
    HttpClientTlsOptions tls;
    tls.ca_file = ca.cert_file;
    tls.server_name = std::move(server_name);
    if (identity != nullptr) {
      tls.cert_file = identity->cert_file;
      tls.key_file = identity->key_file;
    }
    return HttpClient("127.0.0.1", server_->port(), options, tls);
  }

  uint64_t handshake_failures() {
    return server_->metrics().counter("custos_http_tls_handshake_failures_total", "").value();
  }

  // Handshake failures are counted on the server's thread, after the client saw them.
  bool handshake_failures_reach(uint64_t expected) {
    auto deadline = Clock::now() + 2s;
    while (handshake_failures() < expected) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, HttpsRequestReachesTheHandlerWithTlsSet) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kNone)).is_ok());
  HttpClient https = client(pki->ca);
  auto response = https.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().status, 200);
  EXPECT_EQ(response.value().body, "tls||");
  // Keep-alive over TLS: the second request reuses the connection.
  response = https.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_TRUE(https.connected());
  // A client certificate the server did not ask for is not reported.
  HttpClient with_cert = client(pki->ca, &pki->client);
  response = with_cert.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().body, "tls||");
}

TEST_F(TlsTest, WebSocketsUpgradeOverTls) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kNone)).is_ok());
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  asio::io_context ioc;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.load_verify_file(pki->ca.cert_file);
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ioc, context);
  beast::get_lowest_layer(ws).connect(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), server_->port()));
  ws.next_layer().handshake(asio::ssl::stream_base::client);
  ws.handshake("127.0.0.1", "/ws");
  beast::flat_buffer buffer;
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "tls||");
  ws.close(beast::websocket::close_code::normal);  // throws unless the server answers the close
}

TEST_F(TlsTest, PlainListenerReportsNoTls) {
  ASSERT_TRUE(start(ServerOptions{}).is_ok());
  HttpClient plain("127.0.0.1", server_->port());
  auto response = plain.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().body, "plain||");
}

TEST_F(TlsTest, OptionalClientAuthReportsAVerifiedCertificate) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kOptional)).is_ok());
  HttpClient with_cert = client(pki->ca, &pki->client);
  auto response = with_cert.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  std::string expected_hash = der_sha256_hex(pki->client.cert.get());
  ASSERT_EQ(expected_hash.size(), 64u);
  EXPECT_EQ(response.value().body, "tls|" + expected_hash + "|dock-door-7");

  HttpClient without_cert = client(pki->ca);
  response = without_cert.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().body, "tls||");

  // A certificate that is sent is verified even though it is optional.
  HttpClient stranger = client(pki->ca, &pki->stranger);
  EXPECT_FALSE(stranger.get("/transport").is_ok());
  EXPECT_TRUE(handshake_failures_reach(1));
}

TEST_F(TlsTest, RequiredClientAuthRefusesMissingAndForeignCertificates) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kRequired)).is_ok());
  HttpClient without_cert = client(pki->ca);
  auto response = without_cert.get("/transport");
  EXPECT_FALSE(response.is_ok());

  HttpClient stranger = client(pki->ca, &pki->stranger);
  response = stranger.get("/transport");
  EXPECT_FALSE(response.is_ok());
  EXPECT_TRUE(handshake_failures_reach(2)) << handshake_failures();

  HttpClient with_cert = client(pki->ca, &pki->client);
  response = with_cert.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().body,
            "tls|" + der_sha256_hex(pki->client.cert.get()) + "|dock-door-7");
}

TEST_F(TlsTest, PlainHttpAndSilentClientsAreClosedPromptly) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kNone)).is_ok());
  HttpClientOptions plain_options;
  plain_options.timeout = 3000ms;
  HttpClient plain("127.0.0.1", server_->port(), plain_options);
  auto started = Clock::now();
  auto response = plain.get("/transport");
  EXPECT_FALSE(response.is_ok());
  EXPECT_LT(Clock::now() - started, 1500ms);
  EXPECT_TRUE(handshake_failures_reach(1));

  // A client that connects and says nothing is dropped after read_timeout (500 ms).
  started = Clock::now();
  EXPECT_TRUE(peer_closes_within(server_->port(), 2500ms));
  EXPECT_LT(Clock::now() - started, 2500ms);
  EXPECT_TRUE(handshake_failures_reach(2));

  HttpClient https = client(pki->ca);
  response = https.get("/transport");
  ASSERT_TRUE(response.is_ok()) << response.status().message();
  EXPECT_EQ(response.value().body, "tls||");
}

TEST_F(TlsTest, ClientVerifiesTheServerChainAndName) {
  ASSERT_TRUE(start(tls_options(ClientCertMode::kNone)).is_ok());
  HttpClient untrusting = client(pki->other_ca);
  auto response = untrusting.get("/transport");
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("server certificate refused"), std::string::npos)
      << response.status().message();

  HttpClient wrong_name = client(pki->ca, nullptr, "ledger.example");
  response = wrong_name.get("/transport");
  ASSERT_FALSE(response.is_ok());
  EXPECT_NE(response.status().message().find("mismatch"), std::string::npos)
      << response.status().message();

  HttpClient dns_name = client(pki->ca, nullptr, "localhost");
  response = dns_name.get("/transport");
  EXPECT_TRUE(response.is_ok()) << response.status().message();

  HttpClientTlsOptions bad_ca;
  bad_ca.ca_file = (pki->directory / "missing.crt").string();
  HttpClient missing_ca("127.0.0.1", server_->port(), {}, bad_ca);
  response = missing_ca.get("/transport");
  ASSERT_FALSE(response.is_ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(TlsTest, StartRefusesUnusableKeyMaterial) {
  ServerOptions missing_key = tls_options(ClientCertMode::kNone);
  missing_key.tls.key_file = (pki->directory / "missing.key").string();
  Status status = start(missing_key);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("missing.key"), std::string::npos) << status.message();
  EXPECT_FALSE(server_->running());

  ServerOptions missing_cert = tls_options(ClientCertMode::kNone);
  missing_cert.tls.cert_file = (pki->directory / "missing.crt").string();
  status = start(missing_cert);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("missing.crt"), std::string::npos) << status.message();

  ServerOptions mismatched = tls_options(ClientCertMode::kNone);
  mismatched.tls.key_file = pki->client.key_file;
  status = start(mismatched);
  ASSERT_FALSE(status.is_ok());
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.message();

  ServerOptions key_as_cert = tls_options(ClientCertMode::kNone);
  key_as_cert.tls.cert_file = pki->server.key_file;
  status = start(key_as_cert);
  ASSERT_FALSE(status.is_ok());
  EXPECT_NE(status.message().find("certificate"), std::string::npos) << status.message();

  ServerOptions no_client_ca = tls_options(ClientCertMode::kRequired);
  no_client_ca.tls.client_ca_file.clear();
  EXPECT_FALSE(start(no_client_ca).is_ok());

  ServerOptions auth_without_tls;
  auth_without_tls.tls.client_auth = ClientCertMode::kOptional;
  auth_without_tls.tls.client_ca_file = pki->ca.cert_file;
  EXPECT_FALSE(start(auth_without_tls).is_ok());
}

// End to end: a verified client certificate bound to a principal (tag
// tls_cert_sha256) authenticates that principal on a protected route; the
// policies then decide as for any other credential.
TEST_F(TlsTest, ClientCertificateAuthenticatesTheBoundPrincipal) {
  fs::path data = pki->directory / ("mtls-" + std::to_string(::getpid()));
  auto store = store::Store::open(data.string(), store::StoreOptions{});
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  SystemClock clock;
  ledger::LogOptions log_options;
  log_options.origin = "mtls.test/log";
  log_options.clock = &clock;
  log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
    return std::string(body) + "\n";
  };
  auto log = ledger::Log::open(**store, std::move(log_options));
  ASSERT_TRUE(log.is_ok()) << log.status().to_string();
  auto identity = identity::IdentityService::open(**log, **store, clock);
  ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();

  identity::PrincipalAttributes wms;
  wms.id = "wms-7";
  wms.kind = identity::PrincipalKind::kService;
  wms.roles = {"log_writer"};
  wms.tags = {{std::string(kClientCertTag), der_sha256_hex(pki->client.cert.get())}};
  ASSERT_TRUE((*identity)->apply(identity::PrincipalCreate{wms}, "test", "dec-test").is_ok());

  MetricsRegistry metrics;
  AccessControlOptions access_options;
  access_options.scheme = "https";
  AccessControl access(**identity, clock, metrics, access_options);
  auto policies = policy::parse_policies(default_policy_text());
  ASSERT_TRUE(policies.is_ok());
  access.set_policies(std::move(policies).value());
  WorkQueue receipts(1);
  Router router;
  ASSERT_TRUE(
      add_log_routes(router, **log, receipts, {&access.gatekeeper(), "vkey", "mtls.test/log"})
          .is_ok());
  ServerOptions options = tls_options(ClientCertMode::kOptional);
  options.listen = "127.0.0.1:0";
  options.shutdown_grace = 1000ms;
  server_ = std::make_unique<HttpServer>(std::move(options), std::move(router), &metrics);
  ASSERT_TRUE(server_->start().is_ok());

  HttpClient with_cert = client(pki->ca, &pki->client);
  auto accepted = with_cert.request("POST", "/custos/v1/log/entries", "crate 9 scanned", {});
  ASSERT_TRUE(accepted.is_ok()) << accepted.status().to_string();
  EXPECT_EQ(accepted->status, 201) << accepted->body;
  EXPECT_NE(accepted->body.find("\"principal\":\"wms-7\""), std::string::npos) << accepted->body;

  // No certificate and no other credential: 401.
  HttpClient without = client(pki->ca);
  auto refused = without.request("POST", "/custos/v1/log/entries", "crate 9 scanned", {});
  ASSERT_TRUE(refused.is_ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 401);

  // Suspending the principal refuses the certificate on the next request.
  ASSERT_TRUE((*identity)
                  ->apply(identity::PrincipalStatusChange{"wms-7",
                                                          identity::PrincipalStatus::kSuspended,
                                                          "test"},
                          "test", "dec-test")
                  .is_ok());
  auto suspended = with_cert.request("POST", "/custos/v1/log/entries", "crate 10", {});
  ASSERT_TRUE(suspended.is_ok()) << suspended.status().to_string();
  EXPECT_EQ(suspended->status, 401);
  EXPECT_NE(suspended->body.find("principal_suspended"), std::string::npos) << suspended->body;

  server_->stop();
  server_.reset();
  (*log)->close();
  identity->reset();
  log->reset();
  store->reset();
  std::error_code ignored;
  fs::remove_all(data, ignored);
}

TEST(TlsConfigTest, ServerOptionsFromConfigCarriesTls) {
  Config config;
  config.server.listen = "127.0.0.1:9443";
  config.tls.cert_file = "/etc/custos/server.crt";
  config.tls.key_file = "/etc/custos/server.key";
  config.tls.client_ca_file = "/etc/custos/clients.crt";
  config.tls.client_auth = "optional";
  ServerOptions options = server_options_from_config(config);
  EXPECT_EQ(options.listen, "127.0.0.1:9443");
  EXPECT_TRUE(options.tls.enabled());
  EXPECT_EQ(options.tls.cert_file, "/etc/custos/server.crt");
  EXPECT_EQ(options.tls.key_file, "/etc/custos/server.key");
  EXPECT_EQ(options.tls.client_ca_file, "/etc/custos/clients.crt");
  EXPECT_EQ(options.tls.client_auth, ClientCertMode::kOptional);

  config.tls.client_auth = "sometimes";  // parse_config refuses it; fail closed regardless
  EXPECT_EQ(server_options_from_config(config).tls.client_auth, ClientCertMode::kRequired);
  EXPECT_FALSE(server_options_from_config(config.server).tls.enabled());
  EXPECT_FALSE(parse_client_cert_mode("REQUIRED").is_ok());
  EXPECT_EQ(parse_client_cert_mode("none").value(), ClientCertMode::kNone);
}

}  // namespace
}  // namespace custos
