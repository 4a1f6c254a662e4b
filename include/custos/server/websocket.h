// custos server: routes that take over their connection as a WebSocket.
//
// A route that sees a WebSocket opening handshake (is_websocket_upgrade)
// authenticates and authorises it like any request and then answers with
// websocket_accept(handlers) instead of an ordinary response. HttpServer
// completes the handshake (101 Switching Protocols, RFC 6455) on the same
// connection, plain or TLS, and from then on the connection belongs to the
// route: it sends text messages through the WebSocketConnection it is given in
// on_open and hears of messages and of the end through the other handlers.
// Any other answer (a 401, 403 or 404 problem) is written as usual and no
// upgrade happens; websocket_accept() answering a request that is not an
// upgrade is turned into a 500 problem.
//
// The server answers pings and the peer's close; it pings an idle peer
// every half idle_timeout and drops it when no pong comes; a peer message over
// websocket_max_message_bytes closes the connection (1009). Sending never
// waits for the peer: each connection queues at most websocket_max_queued
// messages, and a send that would exceed that closes the connection with
// 1013 (Try Again Later) and a log line, so a slow peer cannot hold anybody
// else up. On HttpServer::stop() open WebSockets are closed with 1001.
//
// WebSocketConnection is thread-safe; the handlers run on the connection's
// I/O strand, one at a time, and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "custos/server/http.h"

namespace custos {

// RFC 6455 section 7.4.1 close codes used by custos.
inline constexpr uint16_t kWebSocketNormalClosure = 1000;
inline constexpr uint16_t kWebSocketGoingAway = 1001;
inline constexpr uint16_t kWebSocketAbnormalClosure = 1006;  // never sent: no close frame came
inline constexpr uint16_t kWebSocketPolicyViolation = 1008;
inline constexpr uint16_t kWebSocketTooBig = 1009;
inline constexpr uint16_t kWebSocketTryAgainLater = 1013;

class WebSocketConnection {
 public:
  virtual ~WebSocketConnection() = default;
  // Queues one text message. False when the connection is closed or closing,
  // or when its queue is full (the connection is then closed with 1013).
  virtual bool send_text(std::string message) = 0;
  // Starts the closing handshake with `code` and `reason` (at most 123
  // bytes); messages still queued are dropped. Idempotent.
  virtual void close(uint16_t code, std::string reason) = 0;
  // "ip:port" of the peer.
  virtual const std::string& remote_address() const = 0;
};

struct WebSocketHandlers {
  // The upgrade is accepted: called just before the 101 response is written,
  // so messages sent from here on reach the peer right after the handshake.
  // Required. The connection may be kept and used from any thread; it holds
  // no strong reference to the server's connection state.
  std::function<void(std::shared_ptr<WebSocketConnection> connection)> on_open;
  // A text or binary message from the peer. Optional (ignored when unset).
  std::function<void(std::string_view message)> on_message;
  // The connection ended, with the close code received or sent
  // (kWebSocketAbnormalClosure when it just broke or the handshake failed).
  // Called once, after on_open. Optional.
  std::function<void(uint16_t code)> on_close;
};

// Whether the request is a WebSocket opening handshake: GET with
// "Connection: upgrade" and "Upgrade: websocket".
bool is_websocket_upgrade(const HttpRequest& request);

// The answer that takes the connection over (see above).
HttpResponse websocket_accept(WebSocketHandlers handlers);

}  // namespace custos
