// A small blocking WebSocket client for tests (Boost.Beast, plain TCP):
// opens the handshake with chosen headers, reads messages with a deadline and
// reports the close code the server sent.
#pragma once

// A test using it must be compiled with custos_server's Boost definitions
// (tests/CMakeLists.txt), so that each Beast template has one definition.
#if !defined(BOOST_BEAST_USE_STD_STRING_VIEW) || !defined(BOOST_ASIO_NO_DEPRECATED)
#error "compile with BOOST_BEAST_USE_STD_STRING_VIEW and BOOST_ASIO_NO_DEPRECATED"
#endif

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace custos::test_support {

class WebSocketClient {
 public:
  // Connects to 127.0.0.1:port and asks to upgrade `target`. status() is 101
  // when the server accepted; otherwise the HTTP status it answered (0 when
  // the connection failed) and body() its body.
  WebSocketClient(uint16_t port, const std::string& target,
                  std::vector<std::pair<std::string, std::string>> headers = {})
      : ws_(ioc_) {
    namespace beast = boost::beast;
    boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().connect(endpoint, ec);
    if (ec) return;
    ws_.set_option(beast::websocket::stream_base::decorator(
        [headers](beast::websocket::request_type& request) {
          for (const auto& [name, value] : headers) request.set(name, value);
        }));
    const std::string host = "127.0.0.1:" + std::to_string(port);
    ws_.handshake(response_, host, target, ec);
    status_ = static_cast<int>(response_.result_int());
    error_ = ec.message();
    open_ = !ec;
    // Beast keeps a declined answer to itself: ask again over plain HTTP to see it.
    if (ec == beast::websocket::error::upgrade_declined)
      ask_plainly(endpoint, host, target, headers);
  }

  int status() const { return status_; }
  const std::string& body() const { return response_.body(); }
  const std::string& error() const { return error_; }  // of the handshake
  bool open() const { return open_; }

  void ask_plainly(const boost::asio::ip::tcp::endpoint& endpoint, const std::string& host,
                   const std::string& target,
                   const std::vector<std::pair<std::string, std::string>>& headers) {
    namespace beast = boost::beast;
    namespace http = beast::http;
    beast::tcp_stream stream(ioc_);
    beast::error_code ec;
    stream.socket().connect(endpoint, ec);
    if (ec) return;
    http::request<http::empty_body> request(http::verb::get, target, 11);
    request.set(http::field::host, host);
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::upgrade, "websocket");
    request.set(http::field::sec_websocket_version, "13");
    request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    for (const auto& [name, value] : headers) request.set(name, value);
    http::write(stream, request, ec);
    beast::flat_buffer buffer;
    if (!ec) http::read(stream, buffer, response_, ec);
    if (!ec) status_ = static_cast<int>(response_.result_int());
  }

  // The next message, or nullopt when the connection closed (close_code()
  // then says how) or nothing came within `timeout` (close_code() is 0).
  std::optional<std::string> read(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    namespace beast = boost::beast;
    if (!open_) return std::nullopt;
    beast::flat_buffer buffer;
    std::optional<beast::error_code> result;
    beast::get_lowest_layer(ws_).expires_after(timeout);
    ws_.async_read(buffer, [&](beast::error_code ec, size_t) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (!result || *result) {
      open_ = false;
      if (result && *result == beast::websocket::error::closed) close_code_ = ws_.reason().code;
      return std::nullopt;
    }
    return beast::buffers_to_string(buffer.data());
  }

  bool send(const std::string& text) {
    boost::beast::error_code ec;
    ws_.write(boost::asio::buffer(text), ec);
    return !ec;
  }

  // Sends a ping; the pong is taken in by the next read.
  bool ping() {
    boost::beast::error_code ec;
    ws_.ping({}, ec);
    return !ec;
  }

  // The code of the server's close frame (0: none seen).
  uint16_t close_code() const { return close_code_; }

  void close() {
    if (!open_) return;
    boost::beast::error_code ec;
    ws_.close(boost::beast::websocket::close_code::normal, ec);
    open_ = false;
  }

 private:
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::websocket::response_type response_;
  int status_ = 0;
  std::string error_;
  bool open_ = false;
  uint16_t close_code_ = 0;
};

}  // namespace custos::test_support
