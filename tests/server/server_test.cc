#include "custos/server/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "custos/core/json_writer.h"
#include "custos/server/http_client.h"

namespace custos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

bool contains(std::string_view text, std::string_view needle) {
  return text.find(needle) != std::string_view::npos;
}

// A plain POSIX socket, for sending bytes no well-behaved client would send.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }

  bool send_all(std::string_view data) {
    while (!data.empty()) {
      ssize_t sent = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (sent <= 0) return false;
      data.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }

  // Reads what is available within `timeout`; false when the peer closed (or reset).
  bool read_some(std::chrono::milliseconds timeout) {
    pollfd descriptor{fd_, POLLIN, 0};
    int ready = ::poll(&descriptor, 1, static_cast<int>(timeout.count()));
    if (ready <= 0) return true;
    char chunk[8192];
    ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) {
      closed_ = true;
      return false;
    }
    received_.append(chunk, static_cast<size_t>(got));
    return true;
  }

  // Reads until the peer closes; returns false on timeout.
  bool read_until_close(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!closed_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return false;
      read_some(left);
    }
    return true;
  }

  // Reads one complete response (Content-Length framed; no body for HEAD) and
  // removes it from the buffer. Empty on timeout or close.
  std::string read_response(std::chrono::milliseconds timeout = 5000ms, bool head = false) {
    auto deadline = Clock::now() + timeout;
    while (true) {
      size_t header_end = received_.find("\r\n\r\n");
      if (header_end != std::string::npos) {
        size_t body_length = 0;
        std::string header = received_.substr(0, header_end);
        for (auto& c : header) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t at = header.find("\r\ncontent-length:");
        if (at != std::string::npos && !head) {
          body_length = std::stoul(header.substr(at + 17));
        }
        size_t total = header_end + 4 + body_length;
        if (received_.size() >= total) {
          std::string response = received_.substr(0, total);
          received_.erase(0, total);
          return response;
        }
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (closed_ || left <= 0ms) return {};
      read_some(left);
    }
  }

  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string received_;
};

int status_of(std::string_view raw_response) {
  if (raw_response.size() < 12 || !raw_response.starts_with("HTTP/1.1 ")) return -1;
  return std::stoi(std::string(raw_response.substr(9, 3)));
}

std::string body_of(std::string_view raw_response) {
  size_t at = raw_response.find("\r\n\r\n");
  return at == std::string_view::npos ? std::string() : std::string(raw_response.substr(at + 4));
}

// Runs delayed callbacks on threads of its own, like a group commit would.
class Delayer {
 public:
  ~Delayer() { join(); }
  void after(std::chrono::milliseconds delay, std::function<void()> work) {
    std::lock_guard lock(mutex_);
    threads_.emplace_back([delay, work = std::move(work)] {
      std::this_thread::sleep_for(delay);
      work();
    });
  }
  void join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& thread : threads) thread.join();
  }

 private:
  std::mutex mutex_;
  std::vector<std::thread> threads_;
};

std::string echo_json(const HttpRequest& request, const RouteParams& params) {
  JsonWriter json;
  json.begin_object();
  json.key("method").string(request.method);
  json.key("path").string(request.path);
  json.key("body").string(request.body);
  json.key("remote").string(request.remote_address);
  json.key("params").begin_object();
  for (const auto& [name, value] : params.all()) json.key(name).string(value);
  json.end_object();
  json.key("query").begin_array();
  for (const auto& [name, value] : request.query) {
    json.begin_array().string(name).string(value).end_array();
  }
  json.end_array();
  json.key("x_test").string(request.header("x-test").value_or(""));
  json.end_object();
  return json.take();
}

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start_server(ServerOptions{}); }
  void TearDown() override {
    if (server_) server_->stop();
    delayer_.join();
  }

  void start_server(ServerOptions options) {
    if (server_) server_->stop();
    delayer_.join();
    options.listen = "127.0.0.1:0";
    options.io_threads = 2;
    if (options.max_body_bytes == ServerOptions{}.max_body_bytes) options.max_body_bytes = 1024;
    options.max_header_bytes = 2048;
    if (options.read_timeout == ServerOptions{}.read_timeout) options.read_timeout = 2000ms;
    options.shutdown_grace = std::min(options.shutdown_grace, std::chrono::milliseconds(3000));
    Router router;
    auto echo = [](const HttpRequest& request, const RouteParams& params, Responder respond) {
      respond(json_response(200, echo_json(request, params)));
    };
    EXPECT_TRUE(router.add("GET", "/echo", "echo_get", echo).is_ok());
    EXPECT_TRUE(router.add("POST", "/echo", "echo_post", echo).is_ok());
    EXPECT_TRUE(router.add("GET", "/items/{id}", "item", echo).is_ok());
    EXPECT_TRUE(router.add("GET", "/tile/{path...}", "tile", echo).is_ok());
    EXPECT_TRUE(router
                    .add("GET", "/slow", "slow",
                         [this](const HttpRequest& request, const RouteParams&, Responder respond) {
                           auto ms =
                               std::stoi(std::string(request.query_param("ms").value_or("100")));
                           delayer_.after(std::chrono::milliseconds(ms), [respond, &request] {
                             respond(json_response(200, "{\"slow\":\"" + request.path + "\"}"));
                           });
                         })
                    .is_ok());
    EXPECT_TRUE(router
                    .add("GET", "/throw", "throw",
                         [](const HttpRequest&, const RouteParams&, Responder) {
                           throw std::runtime_error("handler bug");
                         })
                    .is_ok());
    EXPECT_TRUE(
        router.add("GET", "/drop", "drop", [](const HttpRequest&, const RouteParams&, Responder) {})
            .is_ok());
    EXPECT_TRUE(router
                    .add("GET", "/twice", "twice",
                         [](const HttpRequest&, const RouteParams&, Responder respond) {
                           respond(text_response(200, "first"));
                           respond(text_response(500, "second"));
                         })
                    .is_ok());
    EXPECT_TRUE(router
                    .add("GET", "/nocontent", "nocontent",
                         [](const HttpRequest&, const RouteParams&, Responder respond) {
                           HttpResponse response;
                           response.status = 204;
                           respond(std::move(response));
                         })
                    .is_ok());
    EXPECT_TRUE(router
                    .add("GET", "/badheader", "badheader",
                         [](const HttpRequest&, const RouteParams&, Responder respond) {
                           HttpResponse response = text_response(200, "ok");
                           response.headers.add("X-Evil", "a\r\nSet-Cookie: x=1");
                           response.headers.add("X-Good", "yes");
                           respond(std::move(response));
                         })
                    .is_ok());
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    server_->set_readiness([this]() -> Status {
      return ready_.load() ? Status::ok() : unavailable("storage is still opening");
    });
    Status started = server_->start();
    ASSERT_TRUE(started.is_ok()) << started.to_string();
    ASSERT_NE(server_->port(), 0);
  }

  HttpClient client(std::chrono::milliseconds timeout = 5000ms) {
    return HttpClient("127.0.0.1", server_->port(), HttpClientOptions{timeout, 1 << 20});
  }

  std::unique_ptr<HttpServer> server_;
  Delayer delayer_;
  std::atomic<bool> ready_{true};
};

TEST_F(ServerTest, GetAndPostRoundTrip) {
  HttpClient http = client();
  auto got = http.get("/echo");
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->content_type, "application/json");
  EXPECT_TRUE(contains(got->body, R"("method":"GET")"));
  EXPECT_EQ(got->headers.get("content-length"), std::to_string(got->body.size()));

  HttpHeaders headers;
  headers.set("X-Test", "hello");
  auto posted = http.request("POST", "/echo", R"({"event":"ship"})", headers);
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  EXPECT_EQ(posted->status, 200);
  EXPECT_TRUE(contains(posted->body, R"("body":"{\"event\":\"ship\"}")"));
  EXPECT_TRUE(contains(posted->body, R"("x_test":"hello")"));
  EXPECT_TRUE(contains(posted->body, R"("remote":"127.0.0.1:)"));
}

TEST_F(ServerTest, HealthzIsAlwaysOk) {
  HttpClient http = client();
  auto health = http.get("/healthz");
  ASSERT_TRUE(health.is_ok());
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(health->body, R"({"status":"ok"})");
  EXPECT_EQ(health->content_type, "application/json");
}

TEST_F(ServerTest, PathParamsAndCatchAll) {
  HttpClient http = client();
  auto item = http.get("/items/abc%2F1");
  ASSERT_TRUE(item.is_ok());
  EXPECT_EQ(item->status, 200);
  EXPECT_TRUE(contains(item->body, R"("params":{"id":"abc/1"})"));
  auto tile = http.get("/tile/0/x001/234.p/8");
  ASSERT_TRUE(tile.is_ok());
  EXPECT_EQ(tile->status, 200);
  EXPECT_TRUE(contains(tile->body, R"("params":{"path":"0/x001/234.p/8"})"));
}

TEST_F(ServerTest, QueryParametersAreDecoded) {
  HttpClient http = client();
  auto got = http.get("/echo?a=1&b=x%20y&c=p+q&a=2&flag");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->status, 200);
  EXPECT_TRUE(
      contains(got->body, R"("query":[["a","1"],["b","x y"],["c","p q"],["a","2"],["flag",""]])"))
      << got->body;
}

TEST_F(ServerTest, MalformedEscapesAreRefusedWith400) {
  HttpClient http = client();
  auto bad_query = http.get("/echo?a=%zz");
  ASSERT_TRUE(bad_query.is_ok());
  EXPECT_EQ(bad_query->status, 400);
  EXPECT_EQ(bad_query->content_type, "application/problem+json");
  EXPECT_TRUE(contains(bad_query->body, "https://custos.dev/problems/invalid-query"));
  auto bad_path = http.get("/items/%4");
  ASSERT_TRUE(bad_path.is_ok());
  EXPECT_EQ(bad_path->status, 400);
  // The connection survives: the request itself was complete.
  auto after = http.get("/healthz");
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ServerTest, UnknownPathIs404Problem) {
  HttpClient http = client();
  auto missing = http.get("/nope");
  ASSERT_TRUE(missing.is_ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->content_type, "application/problem+json");
  EXPECT_TRUE(contains(missing->body, R"("type":"https://custos.dev/problems/not-found")"));
  EXPECT_TRUE(contains(missing->body, R"("status":404)"));
  EXPECT_TRUE(contains(missing->body, R"("title":"Not Found")"));
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  HttpClient http = client();
  auto wrong = http.request("DELETE", "/echo");
  ASSERT_TRUE(wrong.is_ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->headers.get("Allow"), "GET, HEAD, POST");
  EXPECT_EQ(wrong->content_type, "application/problem+json");
  EXPECT_TRUE(contains(wrong->body, R"("status":405)"));
}

TEST_F(ServerTest, HeadOnGetRouteHasLengthButNoBody) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all(
      "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head = raw.read_response(5000ms, /*head=*/true);
  EXPECT_EQ(status_of(head), 200);
  EXPECT_TRUE(contains(head, "Content-Length: 15\r\n")) << head;
  std::string get = raw.read_response();
  EXPECT_EQ(status_of(get), 200) << get;  // nothing of the HEAD body leaked into the stream
  EXPECT_EQ(body_of(get), R"({"status":"ok"})");
}

TEST_F(ServerTest, BodyOverLimitByContentLengthIs413BeforeReading) {
  RawConnection raw(server_->port());
  // Announce a large body but send none of it: the answer must not wait for it.
  ASSERT_TRUE(raw.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"));
  std::string response = raw.read_response(3000ms);
  EXPECT_EQ(status_of(response), 413) << response;
  EXPECT_TRUE(contains(response, "application/problem+json"));
  EXPECT_TRUE(contains(response, "Connection: close"));
  EXPECT_TRUE(raw.read_until_close(3000ms));

  HttpClient http = client();
  auto big = http.post("/echo", std::string(2000, 'x'));
  ASSERT_TRUE(big.is_ok()) << big.status().to_string();
  EXPECT_EQ(big->status, 413);
  auto fits = http.post("/echo", std::string(1024, 'x'));
  ASSERT_TRUE(fits.is_ok()) << fits.status().to_string();
  EXPECT_EQ(fits->status, 200);
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  RawConnection raw(server_->port());
  std::string request = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 6; ++i) request += "100\r\n" + std::string(256, 'a') + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_TRUE(raw.send_all(request));
  std::string response = raw.read_response(3000ms);
  EXPECT_EQ(status_of(response), 413) << response;

  RawConnection small(server_->port());
  ASSERT_TRUE(
      small.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  std::string ok = small.read_response(3000ms);
  EXPECT_EQ(status_of(ok), 200) << ok;
  EXPECT_TRUE(contains(ok, R"("body":"abcde")"));
}

TEST_F(ServerTest, MalformedRequestLineIs400) {
  for (std::string_view bad : {"GARBAGE\r\n\r\n", "GET /x HTTP/9\r\n\r\n", "G@T / HTTP/1.1\r\n\r\n",
                               "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
                               "POST /echo HTTP/1.1\r\nContent-Length: x\r\n\r\n"}) {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.send_all(bad));
    std::string response = raw.read_response(3000ms);
    EXPECT_EQ(status_of(response), 400) << bad << " -> " << response;
    EXPECT_TRUE(contains(response, "application/problem+json"));
    EXPECT_TRUE(raw.read_until_close(3000ms));
  }
}

TEST_F(ServerTest, TargetThatIsNotAPathIs400) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET http://example.com/echo HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(status_of(raw.read_response(3000ms)), 400);
}

TEST_F(ServerTest, OversizedHeaderIs431) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') +
                           "\r\n\r\n"));
  std::string response = raw.read_response(3000ms);
  EXPECT_EQ(status_of(response), 431) << response;
}

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient http = client();
  std::string first_remote;
  for (int i = 0; i < 100; ++i) {
    auto got = http.get("/items/" + std::to_string(i));
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
    ASSERT_EQ(got->status, 200);
    ASSERT_TRUE(contains(got->body, "\"id\":\"" + std::to_string(i) + "\""));
    size_t at = got->body.find("\"remote\":");
    std::string remote = got->body.substr(at, got->body.find(',', at) - at);
    if (i == 0) first_remote = remote;
    EXPECT_EQ(remote, first_remote);  // same client port: the same connection
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all(
      "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(contains(raw.read_response(), R"("id":"1")"));
  EXPECT_TRUE(contains(raw.read_response(), R"("id":"2")"));
}

// Bodies are read with room for up to 256 KiB at a time (server) and 64 KiB
// (client): bodies and responses larger than that, and a request pipelined
// behind one, arrive whole and in order.
TEST_F(ServerTest, BodiesLargerThanOneReadArriveWholeAndPipelinedRequestsFollow) {
  ServerOptions options;
  options.max_body_bytes = 1 << 20;
  start_server(options);
  std::string body;
  for (size_t i = 0; body.size() < 300 * 1024; ++i) body += "part" + std::to_string(i) + "-";
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
                           "GET /items/after HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string first = raw.read_response();
  EXPECT_TRUE(contains(first, "HTTP/1.1 200"));
  EXPECT_TRUE(contains(first, "\"body\":\"" + body + "\""));
  EXPECT_TRUE(contains(raw.read_response(), R"("id":"after")"));

  // The client on one kept-alive connection: a large request, then a small
  // one, then a large one again; every echoed body (a response over 64 KiB
  // for the large ones) comes back intact.
  HttpClient http = client();
  for (const std::string& sent : {body, std::string("small"), body.substr(0, 100 * 1024)}) {
    auto echoed = http.post("/echo", sent, "text/plain");
    ASSERT_TRUE(echoed.is_ok()) << echoed.status().to_string();
    EXPECT_EQ(echoed->status, 200);
    EXPECT_TRUE(contains(echoed->body, "\"body\":\"" + sent + "\""));
  }
}

TEST_F(ServerTest, AsyncHandlerCompletesFromAnotherThread) {
  HttpClient http = client();
  auto start = Clock::now();
  auto got = http.get("/slow?ms=200");
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, R"({"slow":"/slow"})");
  EXPECT_GE(elapsed, 190ms);
  // Other connections are served meanwhile: the handler does not hold an I/O thread.
  std::thread waiting([&] {
    HttpClient slow_client = client();
    auto slow = slow_client.get("/slow?ms=1000");
    EXPECT_TRUE(slow.is_ok() && slow->status == 200);
  });
  std::this_thread::sleep_for(100ms);
  auto quick_start = Clock::now();
  auto quick = http.get("/healthz");
  EXPECT_TRUE(quick.is_ok() && quick->status == 200);
  EXPECT_LT(Clock::now() - quick_start, 800ms);
  waiting.join();
}

TEST_F(ServerTest, ThrowingHandlerGives500Problem) {
  HttpClient http = client();
  auto thrown = http.get("/throw");
  ASSERT_TRUE(thrown.is_ok());
  EXPECT_EQ(thrown->status, 500);
  EXPECT_EQ(thrown->content_type, "application/problem+json");
  EXPECT_FALSE(contains(thrown->body, "handler bug"));  // no internals leak to the client
  auto after = http.get("/healthz");
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(after->status, 200);
}

TEST_F(ServerTest, DroppedResponderGives500AndSecondCallIsIgnored) {
  HttpClient http = client();
  auto dropped = http.get("/drop");
  ASSERT_TRUE(dropped.is_ok());
  EXPECT_EQ(dropped->status, 500);
  auto twice = http.get("/twice");
  ASSERT_TRUE(twice.is_ok());
  EXPECT_EQ(twice->status, 200);
  EXPECT_EQ(twice->body, "first");
  auto next = http.get("/items/z");  // no stray second response on the connection
  ASSERT_TRUE(next.is_ok());
  EXPECT_TRUE(contains(next->body, R"("id":"z")"));
}

TEST_F(ServerTest, NoContentHasNoBodyAndHeaderInjectionIsDropped) {
  HttpClient http = client();
  auto empty = http.get("/nocontent");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_EQ(empty->status, 204);
  EXPECT_TRUE(empty->body.empty());
  auto headers = http.get("/badheader");
  ASSERT_TRUE(headers.is_ok());
  EXPECT_EQ(headers->status, 200);
  EXPECT_FALSE(headers->headers.contains("Set-Cookie"));
  EXPECT_FALSE(headers->headers.contains("X-Evil"));
  EXPECT_EQ(headers->headers.get("X-Good"), "yes");
}

TEST_F(ServerTest, ConcurrentClients) {
  constexpr int kClients = 32;
  constexpr int kRequestsEach = 20;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      HttpClient http = client(10000ms);
      for (int i = 0; i < kRequestsEach; ++i) {
        std::string body = "client " + std::to_string(c) + " request " + std::to_string(i);
        auto got = (i % 4 == 0) ? http.get("/slow?ms=5") : http.post("/echo", body);
        if (got.is_ok() && got->status == 200 &&
            ((i % 4 == 0) || contains(got->body, "\"body\":\"" + body + "\""))) {
          ++ok;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kClients * kRequestsEach);
}

TEST_F(ServerTest, MetricsShowRouteCountersAndLatencyHistogram) {
  HttpClient http = client();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(http.get("/items/" + std::to_string(i)).is_ok());
  ASSERT_TRUE(http.get("/nope").is_ok());
  ASSERT_TRUE(http.request("PUT", "/echo").is_ok());
  auto metrics = http.get("/metrics");
  ASSERT_TRUE(metrics.is_ok());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->content_type, "text/plain; version=0.0.4; charset=utf-8");
  const std::string& text = metrics->body;
  EXPECT_TRUE(contains(text, "# HELP custos_http_requests_total "));
  EXPECT_TRUE(contains(text, "# TYPE custos_http_requests_total counter\n"));
  EXPECT_TRUE(contains(text, "custos_http_requests_total{route=\"item\",code=\"200\"} 3\n"))
      << text;
  EXPECT_TRUE(contains(text, "custos_http_requests_total{route=\"unmatched\",code=\"404\"} 1\n"));
  EXPECT_TRUE(contains(text, "custos_http_requests_total{route=\"unmatched\",code=\"405\"} 1\n"));
  EXPECT_TRUE(contains(text, "# TYPE custos_http_request_duration_seconds histogram\n"));
  EXPECT_TRUE(contains(
      text, "custos_http_request_duration_seconds_bucket{route=\"item\",le=\"+Inf\"} 3\n"));
  EXPECT_TRUE(contains(text, "custos_http_request_duration_seconds_count{route=\"item\"} 3\n"));
  EXPECT_TRUE(contains(text, "custos_http_request_duration_seconds_sum{route=\"item\"} "));
  EXPECT_TRUE(contains(text, "custos_http_connections_open 1\n")) << text;
  // The server's registry is shared with the application.
  server_->metrics().counter("custos_app_things_total", "Things.").inc(7);
  auto again = http.get("/metrics");
  ASSERT_TRUE(again.is_ok());
  EXPECT_TRUE(contains(again->body, "custos_app_things_total 7\n"));
  EXPECT_TRUE(
      contains(again->body, "custos_http_requests_total{route=\"metrics\",code=\"200\"} 1\n"));
}

TEST_F(ServerTest, ReadyzFollowsTheReadinessCheck) {
  HttpClient http = client();
  auto ready = http.get("/readyz");
  ASSERT_TRUE(ready.is_ok());
  EXPECT_EQ(ready->status, 200);
  ready_ = false;
  auto not_ready = http.get("/readyz");
  ASSERT_TRUE(not_ready.is_ok());
  EXPECT_EQ(not_ready->status, 503);
  EXPECT_EQ(not_ready->content_type, "application/problem+json");
  EXPECT_TRUE(contains(not_ready->body, "storage is still opening"));
  EXPECT_TRUE(contains(not_ready->body, "https://custos.dev/problems/not-ready"));
  ready_ = true;
  auto back = http.get("/readyz");
  ASSERT_TRUE(back.is_ok());
  EXPECT_EQ(back->status, 200);
  auto health = http.get("/healthz");  // liveness does not depend on readiness
  ASSERT_TRUE(health.is_ok());
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, StopFinishesInFlightRequestAndClosesIdleConnections) {
  RawConnection idle(server_->port());
  ASSERT_TRUE(idle.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(status_of(idle.read_response()), 200);

  std::atomic<int> slow_status{0};
  std::string connection_header;
  std::thread slow_thread([&] {
    HttpClient http = client();
    auto slow = http.get("/slow?ms=600");
    if (slow.is_ok()) {
      slow_status = slow->status;
      connection_header = std::string(slow->headers.get("Connection").value_or(""));
    }
  });
  std::this_thread::sleep_for(200ms);  // the slow request is now in its handler
  auto stop_start = Clock::now();
  server_->stop();
  auto stop_time = Clock::now() - stop_start;
  slow_thread.join();
  EXPECT_EQ(slow_status.load(), 200);
  EXPECT_EQ(connection_header, "close");
  EXPECT_LT(stop_time, 2500ms);  // finished with the request, not at the grace deadline
  EXPECT_TRUE(idle.read_until_close(1000ms));
  EXPECT_FALSE(server_->running());
  server_->wait();  // returns at once after stop

  RawConnection refused(server_->port());
  EXPECT_FALSE(refused.connected() && refused.send_all("GET /healthz HTTP/1.1\r\n\r\n") &&
               status_of(refused.read_response(500ms)) == 200);
}

TEST_F(ServerTest, StopForceClosesAfterTheGraceDeadline) {
  ServerOptions options;
  options.shutdown_grace = 300ms;
  start_server(options);
  std::thread stuck([&] {
    HttpClient http = client();
    (void)http.get("/slow?ms=2000");
  });
  std::this_thread::sleep_for(200ms);
  auto stop_start = Clock::now();
  server_->stop();
  EXPECT_LT(Clock::now() - stop_start, 1500ms);
  stuck.join();  // the client sees its connection close; the late response is dropped
  delayer_.join();
}

TEST_F(ServerTest, StalledClientIsDroppedAfterReadTimeout) {
  ServerOptions options;
  options.read_timeout = 300ms;
  start_server(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET /echo HTTP/1.1\r\nHost: x\r\n"));  // never finishes the header
  auto start = Clock::now();
  EXPECT_TRUE(raw.read_until_close(3000ms));
  EXPECT_LT(Clock::now() - start, 2000ms);

  RawConnection trickle(server_->port());
  ASSERT_TRUE(trickle.send_all("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nab"));
  EXPECT_TRUE(trickle.read_until_close(3000ms));  // a half-sent body is dropped too
  HttpClient http = client();
  auto health = http.get("/healthz");
  ASSERT_TRUE(health.is_ok());
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAndClientReconnects) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  start_server(options);
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(status_of(raw.read_response()), 200);
  EXPECT_TRUE(raw.read_until_close(2000ms));

  HttpClient http = client();
  ASSERT_TRUE(http.get("/healthz").is_ok());
  std::this_thread::sleep_for(500ms);
  auto again = http.get("/healthz");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->status, 200);
  std::this_thread::sleep_for(500ms);
  auto posted =
      http.post("/echo", "after idle");  // never retried, so it must not hit the dead socket
  ASSERT_TRUE(posted.is_ok()) << posted.status().to_string();
  EXPECT_EQ(posted->status, 200);
}

TEST_F(ServerTest, ExpectContinueIsAnswered) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = raw.read_response(3000ms);
  EXPECT_EQ(status_of(interim), 100) << interim;
  ASSERT_TRUE(raw.send_all("hello"));
  std::string response = raw.read_response(3000ms);
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_TRUE(contains(response, R"("body":"hello")"));
}

TEST_F(ServerTest, Http10WithoutKeepAliveIsClosedAfterResponse) {
  RawConnection raw(server_->port());
  ASSERT_TRUE(raw.send_all("GET /healthz HTTP/1.0\r\n\r\n"));
  std::string response = raw.read_response();
  EXPECT_TRUE(contains(response, " 200 ")) << response;
  EXPECT_TRUE(raw.read_until_close(2000ms));
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  ServerOptions options;
  options.max_connections = 2;
  start_server(options);
  RawConnection first(server_->port());
  RawConnection second(server_->port());
  ASSERT_TRUE(first.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(second.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_EQ(status_of(first.read_response()), 200);
  ASSERT_EQ(status_of(second.read_response()), 200);
  RawConnection third(server_->port());
  ASSERT_TRUE(third.send_all("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string response = third.read_response();
  EXPECT_EQ(status_of(response), 503) << response;
  EXPECT_TRUE(contains(response, "https://custos.dev/problems/overloaded"));
  EXPECT_TRUE(third.read_until_close(3000ms));
}

TEST_F(ServerTest, GarbageNeverCrashesTheServer) {
  std::mt19937 random(20261125);
  const std::vector<std::string> prefixes = {
      "",
      "GET ",
      "GET /",
      "POST /echo HTTP/1.1\r\n",
      "GET /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
      "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"};
  for (int round = 0; round < 120; ++round) {
    RawConnection raw(server_->port());
    ASSERT_TRUE(raw.connected());
    std::string bytes = prefixes[round % prefixes.size()];
    size_t length = random() % 3000;
    for (size_t i = 0; i < length; ++i) {
      // Mostly printable with line breaks, sometimes anything.
      bytes += (round % 3 == 0) ? static_cast<char>(random() % 256)
                                : "GET /\r\n:ab 0x%\t"[random() % 16];
    }
    (void)raw.send_all(bytes);
    raw.shutdown_write();
    EXPECT_TRUE(raw.read_until_close(5000ms)) << "round " << round;
    std::string_view reply = raw.received();
    if (!reply.empty()) {
      EXPECT_TRUE(reply.starts_with("HTTP/1.1 ")) << "round " << round;
    }
  }
  HttpClient http = client();
  auto health = http.get("/healthz");
  ASSERT_TRUE(health.is_ok());
  EXPECT_EQ(health->status, 200);
}

TEST(HttpServer, StartFailsWhenThePortIsTaken) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer first(options, Router{});
  ASSERT_TRUE(first.start().is_ok());
  options.listen = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(options, Router{});
  Status taken = second.start();
  EXPECT_FALSE(taken.is_ok());
  EXPECT_TRUE(contains(taken.message(), "cannot listen")) << taken.to_string();
  EXPECT_FALSE(first.start().is_ok());  // starting twice is refused
}

TEST(HttpServer, StartRefusesBadAddressesAndBuiltinClashes) {
  for (std::string bad : {"nohostport", "127.0.0.1:99999", "127.0.0.1:x", "256.1.1.1:80"}) {
    ServerOptions options;
    options.listen = bad;
    HttpServer server(options, Router{});
    EXPECT_FALSE(server.start().is_ok()) << bad;
  }
  Router router;
  ASSERT_TRUE(router
                  .add("GET", "/healthz", "mine",
                       [](const HttpRequest&, const RouteParams&, Responder respond) {
                         respond(HttpResponse{});
                       })
                  .is_ok());
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer server(options, std::move(router));
  EXPECT_FALSE(server.start().is_ok());
}

TEST(HttpServer, StopWithoutStartAndDestructorAreSafe) {
  HttpServer never(ServerOptions{}, Router{});
  never.stop();
  never.wait();
  EXPECT_FALSE(never.running());
  ServerOptions options;
  options.listen = "[::1]:0";
  auto ipv6 = std::make_unique<HttpServer>(options, Router{});
  if (ipv6->start().is_ok()) {
    HttpClient http("::1", ipv6->port());
    auto health = http.get("/healthz");
    ASSERT_TRUE(health.is_ok()) << health.status().to_string();
    EXPECT_EQ(health->status, 200);
  }
  ipv6.reset();  // destructor stops a running server
}

TEST(HttpServer, ServerOptionsFromConfig) {
  ServerConfig config;
  config.listen = "0.0.0.0:9000";
  config.threads = 4;
  config.max_body_bytes = 100;
  config.idle_timeout_s = 7;
  config.max_connections = 10;
  ServerOptions options = server_options_from_config(config);
  EXPECT_EQ(options.listen, "0.0.0.0:9000");
  EXPECT_EQ(options.io_threads, 4u);
  EXPECT_EQ(options.max_body_bytes, 100u);
  EXPECT_EQ(options.idle_timeout, std::chrono::seconds(7));
  EXPECT_EQ(options.max_connections, 10u);
}

TEST(HttpClient, ReportsUnreachableServerAndBadInput) {
  uint16_t closed_port;
  {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    HttpServer server(options, Router{});
    ASSERT_TRUE(server.start().is_ok());
    closed_port = server.port();
  }
  HttpClient http("127.0.0.1", closed_port, HttpClientOptions{1000ms, 1024});
  auto refused = http.get("/healthz");
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(http.request("BAD METHOD", "/").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(http.request("GET", "/a b").status().code(), StatusCode::kInvalidArgument);
}

TEST(HttpClient, TimesOutOnASilentServer) {
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t length = sizeof address;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
  HttpClient http("127.0.0.1", ntohs(address.sin_port), HttpClientOptions{300ms, 1024});
  auto start = Clock::now();
  auto silent = http.get("/");
  EXPECT_FALSE(silent.is_ok());
  EXPECT_EQ(silent.status().code(), StatusCode::kIoError);
  EXPECT_LT(Clock::now() - start, 2000ms);
  ::close(listener);
}

TEST(RunUntilSignal, StopsTheServerOnSigterm) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer server(options, Router{});
  ASSERT_TRUE(server.start().is_ok());
  std::thread sender([] {
    // Signal only once run_until_signal has installed its handler.
    for (int i = 0; i < 500; ++i) {
      struct sigaction current {};
      ::sigaction(SIGTERM, nullptr, &current);
      if (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN) {
        ::kill(::getpid(), SIGTERM);
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  run_until_signal(server);
  sender.join();
  EXPECT_FALSE(server.running());
}

TEST(RunUntilSignal, ReturnsWhenTheServerStopsOtherwise) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer server(options, Router{});
  ASSERT_TRUE(server.start().is_ok());
  std::thread stopper([&server] {
    std::this_thread::sleep_for(100ms);
    server.stop();
  });
  run_until_signal(server);
  stopper.join();
  EXPECT_FALSE(server.running());
}

}  // namespace
}  // namespace custos
