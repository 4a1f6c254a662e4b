// custos server: a minimal synchronous HTTP/1.1 client.
//
// HttpClient talks to one host:port over plain TCP, or over TLS (an https
// URL) when constructed with HttpClientTlsOptions, with keep-alive, for
// tests, the CLI auditor, the SDK and the load generator. request() sends
// one request and blocks for the whole response, bounded by options.timeout;
// on timeout or a network error the connection is closed and the next
// request opens a new one. The client reconnects by itself when the server
// closed the connection (Connection: close, or an idle close it can see
// before sending, which covers the keep-alive idle timeout for every
// method). A request on a reused connection that fails before any response
// byte arrives is retried once on a fresh connection, but only for GET and
// HEAD, so a POST is never sent twice by the client. Response Content-Type
// is copied into HttpResponse::content_type; all fields are in
// HttpResponse::headers.
//
// TLS (1.2 or newer) always verifies the server: its chain must lead to a CA
// in ca_file (the system trust store when empty) and its certificate must
// name the host connected to (server_name when set), as a DNS name or, for
// an IP address, an IP subjectAltName. A server that fails either is refused
// before any request byte is sent: connect() and request() return
// kUnavailable naming the reason, e.g. "TLS handshake with 127.0.0.1:8443
// failed: server certificate refused (unable to get local issuer
// certificate)". A client certificate is sent when cert_file is set; a
// server that refuses it fails the request with kUnavailable. Unreadable or
// mismatched CA, certificate or key files fail with kInvalidArgument.
//
// Not thread-safe: use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "custos/core/status.h"
#include "custos/server/http.h"

namespace custos {

struct BaseUrl {
  std::string scheme = "http";
  std::string host;  // without IPv6 brackets, for connecting
  uint16_t port = 80;
  std::string authority;  // host[:port] as written in the URL; sent as Host and signed
  std::string prefix;     // path prefix without trailing '/', e.g. "" or "/custos"
};

// Parses "http[s]://host[:port][/prefix]" (default port 80 or 443).
// InvalidArgument for anything else (user info, query or fragment, a bad
// port, no host).
Result<BaseUrl> parse_base_url(std::string_view url);

struct HttpClientTlsOptions {
  std::string ca_file;      // PEM CAs trusted for the server; empty = system trust store
  std::string server_name;  // name the server certificate must carry; empty = the host
  std::string cert_file;    // PEM client certificate chain, leaf first; empty = none
  std::string key_file;     // PEM private key for cert_file
};

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};      // per request (connect and handshake included)
  uint64_t max_response_body_bytes = 64u << 20;  // larger bodies fail the request
};

class HttpClient {
 public:
  // Plain HTTP when `tls` is empty, TLS (https) otherwise.
  HttpClient(std::string host, uint16_t port, HttpClientOptions options = {},
             std::optional<HttpClientTlsOptions> tls = std::nullopt);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Opens the connection now, with the TLS handshake when TLS is on (request()
  // also connects when needed).
  Status connect();
  void close();
  bool connected() const;

  // Sends `method target` with `body` (Content-Length always set) and the
  // given headers (Host is added when absent). Errors: kUnavailable when the
  // server cannot be reached or the connection fails, kIoError on timeout,
  // kInvalidArgument for a malformed request or response.
  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body = "", const HttpHeaders& headers = {});

  Result<HttpResponse> get(std::string_view target) { return request("GET", target); }
  Result<HttpResponse> post(std::string_view target, std::string_view body,
                            std::string_view content_type = "application/json");

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace custos
