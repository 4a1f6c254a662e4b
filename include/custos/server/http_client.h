// custos server: a minimal synchronous HTTP/1.1 client.
//
// HttpClient talks to one host:port over plain TCP with keep-alive, for
// tests, the CLI auditor and the load generator. request() sends one request
// and blocks for the whole response, bounded by options.timeout; on timeout
// or a network error the connection is closed and the next request opens a
// new one. The client reconnects by itself when the server closed the
// connection (Connection: close, or an idle close it can see before sending,
// which covers the keep-alive idle timeout for every method). A request on a reused
// connection that fails before any response byte arrives is retried once on
// a fresh connection, but only for GET and HEAD, so a POST is never sent
// twice by the client. Response Content-Type is copied into
// HttpResponse::content_type; all fields are in HttpResponse::headers.
//
// Not thread-safe: use one client per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "custos/core/status.h"
#include "custos/server/http.h"

namespace custos {

struct HttpClientOptions {
  std::chrono::milliseconds timeout{10000};      // per request (connect included)
  uint64_t max_response_body_bytes = 64u << 20;  // larger bodies fail the request
};

class HttpClient {
 public:
  HttpClient(std::string host, uint16_t port, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Opens the connection now (request() also connects when needed).
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
