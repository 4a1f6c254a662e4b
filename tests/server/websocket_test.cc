// Routes that take their connection over as a WebSocket (websocket.h):
// messages both ways after the 101, the route hears the peer's close, a full
// send queue closes with 1013, stop() closes with 1001, and a route that
// accepts a request that is no upgrade answers 500 instead.
#include "custos/server/websocket.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include "custos/server/http_client.h"
#include "custos/server/server.h"
#include "support/websocket_client.h"

namespace custos {
namespace {

class WebSocketTest : public ::testing::Test {
 protected:
  void start(size_t max_queued = 256) {
    Router router;
    // Echoes each message upper-cased; "flood" queues 100 messages at once.
    ASSERT_TRUE(router
                    .add("GET", "/echo", "echo",
                         [this](const HttpRequest& request, const RouteParams&, Responder respond) {
                           if (request.query_param("deny")) {
                             return respond(problem_response(403, "Forbidden", "no", "denied"));
                           }
                           respond(websocket_accept(echo_handlers()));
                         })
                    .is_ok());
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.websocket_max_queued = max_queued;
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    ASSERT_TRUE(server_->start().is_ok());
  }

  WebSocketHandlers echo_handlers() {
    WebSocketHandlers handlers;
    handlers.on_open = [this](std::shared_ptr<WebSocketConnection> connection) {
      std::lock_guard lock(mutex_);
      connection_ = connection;
      ++opened_;
    };
    handlers.on_message = [this](std::string_view message) {
      std::shared_ptr<WebSocketConnection> connection;
      {
        std::lock_guard lock(mutex_);
        connection = connection_;
      }
      if (message == "flood") {
        for (int i = 0; i < 100; ++i) {
          if (!connection->send_text(std::string(1000, 'x'))) {
            refused_at_ = i;
            break;
          }
        }
        return;
      }
      std::string upper(message);
      for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      connection->send_text(upper);
    };
    handlers.on_close = [this](uint16_t code) { closed_with_ = code; };
    return handlers;
  }

  test_support::WebSocketClient connect(const std::string& target = "/echo") {
    return test_support::WebSocketClient(server_->port(), target);
  }

  bool wait_closed() {
    for (int i = 0; i < 500 && closed_with_.load() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return closed_with_.load() != 0;
  }

  void TearDown() override {
    if (server_) server_->stop();
  }

  std::unique_ptr<HttpServer> server_;
  std::mutex mutex_;
  std::shared_ptr<WebSocketConnection> connection_;
  int opened_ = 0;
  std::atomic<int> refused_at_{-1};
  std::atomic<uint16_t> closed_with_{0};
};

TEST_F(WebSocketTest, MessagesFlowBothWaysAndTheRouteHearsTheClose) {
  start();
  auto client = connect();
  ASSERT_EQ(client.status(), 101) << client.error();
  ASSERT_TRUE(client.send("hello"));
  EXPECT_EQ(client.read(), "HELLO");
  ASSERT_TRUE(client.ping());
  ASSERT_TRUE(client.send("again"));
  EXPECT_EQ(client.read(), "AGAIN");
  EXPECT_EQ(closed_with_.load(), 0);
  client.close();
  ASSERT_TRUE(wait_closed());
  EXPECT_EQ(closed_with_.load(), kWebSocketNormalClosure);
  // Sending on a closed connection is refused, not queued.
  std::lock_guard lock(mutex_);
  EXPECT_FALSE(connection_->send_text("late"));
  EXPECT_EQ(opened_, 1);
}

TEST_F(WebSocketTest, ARefusalIsAnOrdinaryResponseAndNoUpgrade) {
  start();
  auto refused = connect("/echo?deny=1");
  EXPECT_EQ(refused.status(), 403);
  EXPECT_FALSE(refused.open());
  EXPECT_NE(refused.body().find("problems/denied"), std::string::npos) << refused.body();
  // websocket_accept() for a plain request is the handler's mistake: 500.
  HttpClient plain("127.0.0.1", server_->port());
  auto response = plain.request("GET", "/echo", "", {});
  ASSERT_TRUE(response.is_ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 500);
  std::lock_guard lock(mutex_);
  EXPECT_EQ(opened_, 0);
}

TEST_F(WebSocketTest, AFullQueueClosesWithTryAgainLater) {
  start(/*max_queued=*/8);
  auto client = connect();
  ASSERT_EQ(client.status(), 101);
  // The 100 sends happen on the connection's strand before any is written:
  // the ninth is refused and the connection closes.
  ASSERT_TRUE(client.send("flood"));
  size_t received = 0;
  while (client.read()) ++received;
  EXPECT_EQ(refused_at_.load(), 8);
  EXPECT_LE(received, 8u);
  EXPECT_EQ(client.close_code(), kWebSocketTryAgainLater);
  ASSERT_TRUE(wait_closed());
  EXPECT_EQ(closed_with_.load(), kWebSocketTryAgainLater);
}

TEST_F(WebSocketTest, StoppingTheServerClosesWithGoingAway) {
  start();
  auto client = connect();
  ASSERT_EQ(client.status(), 101);
  std::thread stopper([this] { server_->stop(); });
  EXPECT_EQ(client.read(), std::nullopt);
  EXPECT_EQ(client.close_code(), kWebSocketGoingAway);
  stopper.join();
  EXPECT_EQ(closed_with_.load(), kWebSocketGoingAway);
}

}  // namespace
}  // namespace custos
