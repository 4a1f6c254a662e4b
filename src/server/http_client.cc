#include "custos/server/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <optional>

namespace custos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

bool has_control_or_space(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return true;
  }
  return false;
}

bool has_line_break(std::string_view text) {
  return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

}  // namespace

class HttpClient::Impl {
 public:
  Impl(std::string host, uint16_t port, HttpClientOptions options)
      : host_(std::move(host)), port_(port), options_(options) {}

  Status connect() {
    close();
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return unavailable("cannot resolve " + host_ + ": " + ec.message());
    stream_.emplace(ioc_);
    stream_->expires_after(options_.timeout);
    stream_->async_connect(
        endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) { ec = connect_ec; });
    run();
    if (ec) {
      close();
      return unavailable("cannot connect to " + authority() + ": " + ec.message());
    }
    buffer_.clear();
    return Status::ok();
  }

  void close() {
    if (stream_) {
      beast::error_code ignored;
      stream_->socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream_->close();
      stream_.reset();
    }
    buffer_.clear();
  }

  bool connected() const { return stream_.has_value(); }

  Result<HttpResponse> request(std::string_view method, std::string_view target,
                               std::string_view body, const HttpHeaders& headers) {
    if (!is_token(method))
      return invalid_argument("invalid HTTP method '" + std::string(method) + "'");
    if (target.empty() || has_control_or_space(target)) {
      return invalid_argument("invalid request target '" + std::string(target) + "'");
    }
    for (const auto& [name, value] : headers) {
      if (!is_token(name) || has_line_break(value)) {
        return invalid_argument("invalid header field '" + name + "'");
      }
    }
    if (connected() && peer_closed()) close();
    bool reused = connected();
    if (!reused) CUSTOS_RETURN_IF_ERROR(connect());
    bool retryable = false;
    auto result = attempt(method, target, body, headers, &retryable);
    if (!result.is_ok() && reused && retryable && (method == "GET" || method == "HEAD")) {
      CUSTOS_RETURN_IF_ERROR(connect());
      result = attempt(method, target, body, headers, &retryable);
    }
    return result;
  }

 private:
  std::string authority() const { return host_ + ":" + std::to_string(port_); }

  // True when an idle kept-alive connection was closed by the server (or it
  // sent something unasked): then any request, POST included, can safely go
  // out on a fresh connection instead.
  bool peer_closed() {
    int fd = stream_->socket().native_handle();
    pollfd descriptor{fd, POLLIN, 0};
    if (::poll(&descriptor, 1, 0) <= 0) return false;
    char byte;
    return ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) >= 0 || errno != EAGAIN;
  }

  void run() {
    ioc_.restart();
    ioc_.run();
  }

  Status network_error(std::string_view what, beast::error_code ec) {
    close();
    if (ec == beast::error::timeout) {
      return io_error(std::string(what) + " " + authority() + " timed out after " +
                      std::to_string(options_.timeout.count()) + " ms");
    }
    if (ec == http::error::body_limit) {
      return resource_exhausted("response body from " + authority() + " exceeds " +
                                std::to_string(options_.max_response_body_bytes) + " bytes");
    }
    if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
        ec != http::error::end_of_stream && ec != http::error::partial_message) {
      return invalid_argument("malformed HTTP response from " + authority() + ": " + ec.message());
    }
    return unavailable(std::string(what) + " " + authority() + " failed: " + ec.message());
  }

  Result<HttpResponse> attempt(std::string_view method, std::string_view target,
                               std::string_view body, const HttpHeaders& headers, bool* retryable) {
    *retryable = false;
    http::request<http::string_body> request;
    request.version(11);
    request.method_string(method);
    request.target(target);
    for (const auto& [name, value] : headers) request.insert(name, value);
    if (!headers.contains("Host")) request.set(http::field::host, authority());
    request.body() = std::string(body);
    request.set(http::field::content_length, std::to_string(body.size()));

    beast::error_code ec;
    stream_->expires_after(options_.timeout);
    http::async_write(*stream_, request,
                      [&](beast::error_code write_ec, size_t) { ec = write_ec; });
    run();
    if (ec) {
      *retryable = true;
      return network_error("writing to", ec);
    }

    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options_.max_response_body_bytes);
    if (method == "HEAD") parser.skip(true);
    http::async_read(*stream_, buffer_, parser,
                     [&](beast::error_code read_ec, size_t) { ec = read_ec; });
    run();
    if (ec) {
      // The server closed a kept-alive connection before answering: safe to resend idempotent
      // requests.
      *retryable = ec == http::error::end_of_stream || ec == asio::error::connection_reset;
      return network_error("reading from", ec);
    }
    stream_->expires_never();

    http::response<http::string_body> message = parser.release();
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) response.headers.add(field.name_string(), field.value());
    response.content_type = std::string(message[http::field::content_type]);
    response.body = std::move(message.body());
    if (!message.keep_alive()) close();
    return response;
  }

  std::string host_;
  uint16_t port_;
  HttpClientOptions options_;
  asio::io_context ioc_{1};
  std::optional<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

HttpClient::HttpClient(std::string host, uint16_t port, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(host), port, options)) {}

HttpClient::~HttpClient() = default;

Status HttpClient::connect() { return impl_->connect(); }
void HttpClient::close() { impl_->close(); }
bool HttpClient::connected() const { return impl_->connected(); }

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view target,
                                         std::string_view body, const HttpHeaders& headers) {
  return impl_->request(method, target, body, headers);
}

Result<HttpResponse> HttpClient::post(std::string_view target, std::string_view body,
                                      std::string_view content_type) {
  HttpHeaders headers;
  headers.set("Content-Type", content_type);
  return impl_->request("POST", target, body, headers);
}

}  // namespace custos
