// custos server: the HTTP/1.1 server.
//
// HttpServer serves a Router over HTTP/1.1 with keep-alive on a pool of I/O
// threads (Boost.Beast underneath, hidden in the implementation). Each
// connection reads one request at a time, hands it to the route's
// asynchronous handler and writes the response on its own strand, so a
// handler may answer from any thread. Built-in routes, added by start():
//   GET /healthz  200 {"status":"ok"} while the server runs
//   GET /readyz   200 {"status":"ready"}, or 503 problem when the readiness
//                 callback returns an error (ready when none is set)
//   GET /metrics  the MetricsRegistry in Prometheus text format 0.0.4
// The server records custos_http_requests_total{route,code} and
// custos_http_request_duration_seconds{route} (request header read to
// response written), where route is the route name, "unmatched" for 404/405,
// "malformed" for requests refused while parsing (400/413/431) and
// "overloaded" for connections refused with 503; plus the gauges
// custos_http_connections_open and custos_http_requests_in_flight and the
// counter custos_http_connections_rejected_total.
//
// Limits protect the process: a body over max_body_bytes is refused with 413
// before it is read (from Content-Length, or as chunks arrive); headers over
// max_header_bytes get 431; a request must arrive completely within
// read_timeout of its first byte (slowloris); an idle keep-alive connection
// is closed after idle_timeout; connections beyond max_connections get 503.
// Malformed HTTP gets a 400 problem when a response is still possible. Every
// response except 204 and 304 carries Content-Type (application/octet-stream
// when the handler set none) and Content-Length; every error is
// application/problem+json. After an error that leaves unread input the
// connection is closed. A handler status outside 200..599 becomes a 500.
// Expect: 100-continue is answered before the body is read.
//
// TLS: when options.tls.cert_file is set the listener speaks only TLS (1.2 or
// newer; Boost.Asio over OpenSSL), never plain HTTP on the same port. The
// handshake must complete within read_timeout of the connection being
// accepted; a client that fails it (sends plain HTTP, sends nothing, offers
// no acceptable protocol or certificate) has its connection closed and is
// counted in custos_http_tls_handshake_failures_total. With client_auth
// kOptional the server asks for a client certificate and, when one is sent,
// verifies it against client_ca_file (an invalid one fails the handshake);
// kRequired also refuses a handshake without one. Handlers see the verified
// certificate in HttpRequest::client_cert_sha256 / client_cert_subject and
// HttpRequest::tls on every TLS request (see http.h).
//
// WebSocket: a route may take its connection over by answering a WebSocket
// opening handshake with websocket_accept() (websocket.h); the server then
// completes the handshake (counted as status 101 for the route) and keeps the
// connection open for the route until either side closes it, applying
// websocket_max_queued and websocket_max_message_bytes. stop() closes such
// connections with 1001 (Going Away) like idle ones.
//
// Lifecycle: construct, set_readiness() if wanted, start(), then stop() from
// any thread that is not an I/O thread (not from a handler), and wait().
// stop() is graceful: it stops accepting, closes idle connections, lets
// in-flight requests finish until shutdown_grace, then closes the rest.
// Responses that arrive after stop() has finished are dropped. The
// destructor stops the server. start(), stop() and wait() are thread-safe;
// port(), metrics() and running() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "custos/core/config.h"
#include "custos/core/status.h"
#include "custos/server/metrics.h"
#include "custos/server/router.h"

namespace custos {

// Whether and how the TLS listener asks for client certificates.
enum class ClientCertMode {
  kNone,      // no client certificate is requested
  kOptional,  // requested; verified when sent; a connection without one is served
  kRequired,  // a verified client certificate is needed to complete the handshake
};

// "none", "optional" or "required" (the tls.client_auth values); InvalidArgument otherwise.
Result<ClientCertMode> parse_client_cert_mode(std::string_view text);

struct ServerTlsOptions {
  std::string cert_file;       // PEM certificate chain, leaf first; empty = plain HTTP
  std::string key_file;        // PEM private key matching the leaf of cert_file
  std::string client_ca_file;  // PEM CA certificates that issue client certificates
  ClientCertMode client_auth = ClientCertMode::kNone;  // anything but kNone needs client_ca_file

  bool enabled() const { return !cert_file.empty(); }
};

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port" or "[v6]:port"; port 0 picks a free port
  uint32_t io_threads = 2;
  uint64_t max_body_bytes = 4259840;
  uint32_t max_header_bytes = 8192;
  std::chrono::milliseconds idle_timeout{60000};   // keep-alive wait for the next request
  std::chrono::milliseconds read_timeout{10000};   // first byte to complete request
  std::chrono::milliseconds write_timeout{10000};  // writing one response
  std::chrono::milliseconds shutdown_grace{5000};  // stop(): in-flight deadline
  uint32_t max_connections = 4096;
  size_t websocket_max_queued = 256;               // messages waiting per WebSocket
  size_t websocket_max_message_bytes = 64 * 1024;  // largest message read from a peer
  ServerTlsOptions tls;  // plain HTTP unless tls.cert_file is set
};

// Options taken from the [server] section of the configuration file (no TLS).
ServerOptions server_options_from_config(const ServerConfig& config);

// Options taken from the [server] and [tls] sections. An unknown
// tls.client_auth (parse_config refuses those) maps to kRequired, failing closed.
ServerOptions server_options_from_config(const Config& config);

// Returns OK when the service can take traffic, or the reason it cannot.
using ReadinessCheck = std::function<Status()>;

class HttpServer {
 public:
  // `metrics`, when given, is borrowed and must outlive the server; otherwise
  // the server owns a registry of its own.
  HttpServer(ServerOptions options, Router router, MetricsRegistry* metrics = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Sets the readiness check behind /readyz; call before start(). The check
  // runs on an I/O thread for each /readyz request and must be quick.
  void set_readiness(ReadinessCheck check);

  // Binds, listens and starts the I/O threads. Fails when the address is
  // malformed or taken, when a built-in route clashes with a router route,
  // when called twice, or (InvalidArgument) when TLS is configured and the
  // certificate, key or client CA file cannot be read or parsed, the key does
  // not match the certificate, or client_auth is set without client_ca_file.
  Status start();

  // The bound port (the chosen one when listen asked for port 0); 0 before start().
  uint16_t port() const;

  // Graceful shutdown (see above); idempotent; returns when all threads have ended.
  void stop();

  // Blocks until stop() has completed (returns at once if never started).
  void wait();

  // True between a successful start() and stop().
  bool running() const;

  MetricsRegistry& metrics();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Blocks until SIGINT or SIGTERM arrives (or the server stops by other
// means), then stops the server gracefully. For the CLI's serve command.
void run_until_signal(HttpServer& server);

}  // namespace custos
