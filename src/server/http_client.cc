#include "custos/server/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <optional>

#include "custos/core/bytes.h"
#include "tls_util.h"

namespace custos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using tls_internal::check_readable;
using tls_internal::make_tls_context;

constexpr size_t kReadBuffer = 64 << 10;  // room per receive of a response

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

// A client context that verifies the server against `tls.ca_file` (or the
// system store) and presents `tls.cert_file` when set.
Status make_client_tls_context(const HttpClientTlsOptions& tls,
                               std::optional<asio::ssl::context>& context) {
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return invalid_argument("a TLS client certificate needs both a certificate and a key file");
  }
  if (!tls.ca_file.empty()) CUSTOS_RETURN_IF_ERROR(check_readable("CA file", tls.ca_file));
  if (!tls.cert_file.empty()) {
    CUSTOS_RETURN_IF_ERROR(check_readable("client certificate file", tls.cert_file));
    CUSTOS_RETURN_IF_ERROR(check_readable("client key file", tls.key_file));
  }
  CUSTOS_RETURN_IF_ERROR(make_tls_context(asio::ssl::context::tls_client, context));
  SSL_CTX* native = context->native_handle();
  beast::error_code ec;
  context->set_verify_mode(asio::ssl::verify_peer, ec);
  if (tls.ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return invalid_argument("cannot load the system TLS trust store: " + ec.message());
  } else {
    context->load_verify_file(tls.ca_file, ec);
    if (ec) {
      return invalid_argument("the TLS CA file '" + tls.ca_file +
                              "' holds no usable PEM certificates: " + ec.message());
    }
  }
  if (!tls.cert_file.empty()) {
    context->use_certificate_chain_file(tls.cert_file, ec);
    if (ec) {
      return invalid_argument("the TLS client certificate file '" + tls.cert_file +
                              "' holds no usable PEM certificate chain: " + ec.message());
    }
    context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(native) != 1) {
      return invalid_argument("the TLS client key '" + tls.key_file +
                              "' is unusable or does not match '" + tls.cert_file + "'" +
                              (ec ? ": " + ec.message() : std::string()));
    }
  }
  return Status::ok();
}

}  // namespace

Result<BaseUrl> parse_base_url(std::string_view url) {
  const bool https = url.starts_with("https://");
  if (!https && !url.starts_with("http://")) {
    return invalid_argument("the URL must start with http:// or https://: " + std::string(url));
  }
  if (has_control_or_space(url) || url.find_first_of("?#") != std::string_view::npos) {
    return invalid_argument("the URL must be http[s]://host[:port][/prefix]: " + std::string(url));
  }
  std::string_view rest = url.substr(https ? 8 : 7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) {
    return invalid_argument("the URL must not carry user information: " + std::string(url));
  }
  BaseUrl parsed;
  parsed.scheme = https ? "https" : "http";
  parsed.port = https ? 443 : 80;
  parsed.authority = std::string(authority);
  if (slash != std::string_view::npos) {
    parsed.prefix = std::string(rest.substr(slash));
    while (!parsed.prefix.empty() && parsed.prefix.back() == '/') parsed.prefix.pop_back();
  }
  std::string_view host = authority;
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || bracket < colon)) {
    auto port = parse_decimal_u64(authority.substr(colon + 1));
    if (!port.is_ok() || *port == 0 || *port > 65535) {
      return invalid_argument("bad port in URL " + std::string(url));
    }
    parsed.port = static_cast<uint16_t>(*port);
    host = authority.substr(0, colon);
  }
  if (host.starts_with('[')) {
    if (host.size() < 3 || !host.ends_with(']'))
      return invalid_argument("bad IPv6 host in URL " + std::string(url));
    host = host.substr(1, host.size() - 2);
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return invalid_argument("bad host in URL " + std::string(url));
  }
  if (host.empty()) return invalid_argument("the URL has no host: " + std::string(url));
  parsed.host = std::string(host);
  return parsed;
}


class HttpClient::Impl {
 public:
  Impl(std::string host, uint16_t port, HttpClientOptions options,
       std::optional<HttpClientTlsOptions> tls)
      : host_(std::move(host)), port_(port), options_(options), tls_options_(std::move(tls)) {}

  Status connect() {
    close();
    if (tls_options_ && !tls_context_) {
      Status made = make_client_tls_context(*tls_options_, tls_context_);
      if (!made.is_ok()) {
        tls_context_.reset();
        return made;
      }
    }
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host_, std::to_string(port_), ec);
    if (ec) return unavailable("cannot resolve " + host_ + ": " + ec.message());
    if (tls_context_) {
      tls_stream_.emplace(ioc_, *tls_context_);
    } else {
      plain_stream_.emplace(ioc_);
    }
    // One deadline covers connecting and the TLS handshake.
    tcp().expires_after(options_.timeout);
    tcp().async_connect(
        endpoints, [&](beast::error_code connect_ec, const tcp::endpoint&) { ec = connect_ec; });
    run();
    if (ec) {
      close();
      return unavailable("cannot connect to " + authority() + ": " + ec.message());
    }
    if (tls_stream_) CUSTOS_RETURN_IF_ERROR(handshake());
    buffer_.clear();
    return Status::ok();
  }

  void close() {
    if (connected()) {
      beast::error_code ignored;
      tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
      tcp().close();
    }
    tls_stream_.reset();
    plain_stream_.reset();
    buffer_.clear();
  }

  bool connected() const { return plain_stream_.has_value() || tls_stream_.has_value(); }

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

  // The TCP stream under any TLS layer; only while connected.
  beast::tcp_stream& tcp() {
    return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_stream_;
  }

  template <class Operation>
  void with_stream(Operation&& operation) {
    if (tls_stream_) {
      operation(*tls_stream_);
    } else {
      operation(*plain_stream_);
    }
  }

  // Verifies the chain (context) and the name: an IP address must be an IP
  // subjectAltName, anything else a DNS name (sent as SNI too).
  Status handshake() {
    SSL* ssl = tls_stream_->native_handle();
    const std::string& name = tls_options_->server_name.empty() ? host_ : tls_options_->server_name;
    beast::error_code ec;
    asio::ip::make_address(name, ec);
    bool name_set = false;
    if (!ec) {
      name_set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str()) == 1;
    } else {
      SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      name_set = SSL_set1_host(ssl, name.c_str()) == 1 &&
                 SSL_set_tlsext_host_name(ssl, const_cast<char*>(name.c_str())) == 1;
    }
    if (!name_set) {
      close();
      return invalid_argument("cannot verify a TLS server as '" + name + "'");
    }
    ec = {};
    tls_stream_->async_handshake(asio::ssl::stream_base::client,
                                 [&](beast::error_code handshake_ec) { ec = handshake_ec; });
    run();
    if (!ec) return Status::ok();
    long verify_result = SSL_get_verify_result(ssl);
    close();
    if (ec == beast::error::timeout) {
      return io_error("TLS handshake with " + authority() + " timed out after " +
                      std::to_string(options_.timeout.count()) + " ms");
    }
    std::string reason = ec.message();
    if (verify_result != X509_V_OK) {
      reason = std::string("server certificate refused (") +
               X509_verify_cert_error_string(verify_result) + ")";
    }
    return unavailable("TLS handshake with " + authority() + " failed: " + reason);
  }

  // True when an idle kept-alive connection was closed by the server (or it
  // sent something unasked): then any request, POST included, can safely go
  // out on a fresh connection instead.
  bool peer_closed() {
    int fd = tcp().socket().native_handle();
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
    tcp().expires_after(options_.timeout);
    with_stream([&](auto& stream) {
      http::async_write(stream, request,
                        [&](beast::error_code write_ec, size_t) { ec = write_ec; });
    });
    run();
    if (ec) {
      *retryable = true;
      return network_error("writing to", ec);
    }

    // Beast reads at most the buffer's free capacity (and at least 512
    // bytes) per receive: an empty buffer read a 30 KiB capture receipt in
    // some 60 receives, each re-arming the timeout timer.
    if (buffer_.capacity() < kReadBuffer) buffer_.reserve(kReadBuffer);
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(options_.max_response_body_bytes);
    if (method == "HEAD") parser.skip(true);
    with_stream([&](auto& stream) {
      http::async_read(stream, buffer_, parser,
                       [&](beast::error_code read_ec, size_t) { ec = read_ec; });
    });
    run();
    if (ec) {
      // The server closed a kept-alive connection before answering: safe to resend idempotent
      // requests.
      // (A TLS server that closes without close_notify shows as stream_truncated.)
      *retryable = ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                   ec == asio::ssl::error::stream_truncated;
      return network_error("reading from", ec);
    }
    tcp().expires_never();

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
  std::optional<HttpClientTlsOptions> tls_options_;
  asio::io_context ioc_{1};
  std::optional<asio::ssl::context> tls_context_;  // built on first connect when TLS is on
  std::optional<beast::tcp_stream> plain_stream_;  // at most one of the two streams is set
  std::optional<TlsStream> tls_stream_;
  beast::flat_buffer buffer_;
};

HttpClient::HttpClient(std::string host, uint16_t port, HttpClientOptions options,
                       std::optional<HttpClientTlsOptions> tls)
    : impl_(std::make_unique<Impl>(std::move(host), port, options, std::move(tls))) {}

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
