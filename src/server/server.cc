#include "custos/server/server.h"

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/logging.h"
#include "custos/server/websocket.h"
#include "tls_util.h"

namespace custos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using tls_internal::check_readable;
using tls_internal::make_tls_context;

constexpr std::string_view kRequestsMetric = "custos_http_requests_total";
constexpr std::string_view kRequestsHelp = "HTTP requests served, by route and status code.";
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kMaxLingerBytes = 1 << 20;
constexpr std::chrono::milliseconds kMaxLinger{1000};
// Request bodies are read with room for up to this much at a time; an idle
// connection keeps at most kKeptReadBuffer of read buffer.
constexpr uint64_t kMaxReadChunk = 256 << 10;
constexpr size_t kKeptReadBuffer = 64 << 10;

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_valid_field(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) return false;
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool status_allows_body(int status) { return status >= 200 && status != 204 && status != 304; }

// Builds the listener's TLS context from the certificate, key and client CA files.
Status make_server_tls_context(const ServerTlsOptions& tls,
                               std::optional<asio::ssl::context>& context) {
  if (tls.key_file.empty()) {
    return invalid_argument("TLS needs a private key file as well as the certificate '" +
                            tls.cert_file + "'");
  }
  bool verify_clients = tls.client_auth != ClientCertMode::kNone;
  if (verify_clients && tls.client_ca_file.empty()) {
    return invalid_argument("TLS client authentication needs a client CA file");
  }
  CUSTOS_RETURN_IF_ERROR(check_readable("certificate file", tls.cert_file));
  CUSTOS_RETURN_IF_ERROR(check_readable("private key file", tls.key_file));
  if (verify_clients) CUSTOS_RETURN_IF_ERROR(check_readable("client CA file", tls.client_ca_file));
  CUSTOS_RETURN_IF_ERROR(make_tls_context(asio::ssl::context::tls_server, context));
  SSL_CTX* native = context->native_handle();
  // Client-initiated renegotiation costs the server a handshake for free.
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  beast::error_code ec;
  context->use_certificate_chain_file(tls.cert_file, ec);
  if (ec) {
    return invalid_argument("the TLS certificate file '" + tls.cert_file +
                            "' holds no usable PEM certificate chain: " + ec.message());
  }
  context->use_private_key_file(tls.key_file, asio::ssl::context::pem, ec);
  if (ec) {
    return invalid_argument("cannot use the TLS private key file '" + tls.key_file +
                            "' with the certificate '" + tls.cert_file + "': " + ec.message());
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return invalid_argument("the TLS private key '" + tls.key_file +
                            "' does not match the certificate '" + tls.cert_file + "'");
  }
  if (verify_clients) {
    context->load_verify_file(tls.client_ca_file, ec);
    STACK_OF(X509_NAME)* names = ec ? nullptr : SSL_load_client_CA_file(tls.client_ca_file.c_str());
    if (names == nullptr) {
      return invalid_argument("the TLS client CA file '" + tls.client_ca_file +
                              "' holds no usable PEM certificates" +
                              (ec ? ": " + ec.message() : std::string()));
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership; tells clients whom to ask
    int mode = SSL_VERIFY_PEER;
    if (tls.client_auth == ClientCertMode::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
    // Without a session id context OpenSSL refuses to resume sessions that carry a peer cert.
    static constexpr unsigned char kSessionContext[] = "custos";
    SSL_CTX_set_session_id_context(native, kSessionContext, sizeof kSessionContext - 1);
  }
  return Status::ok();
}

// The verified client certificate of a finished handshake, as handlers see it.
struct PeerCertificate {
  std::string sha256;
  std::string subject;
};

std::optional<PeerCertificate> verified_peer_certificate(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return std::nullopt;
  PeerCertificate peer;
  std::array<uint8_t, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  if (X509_digest(cert, EVP_sha256(), digest.data(), &digest_size) != 1) return std::nullopt;
  peer.sha256 = hex_encode(ByteView(digest.data(), digest_size));
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = subject == nullptr ? -1 : X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, value);
    if (length > 0) peer.subject.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  return peer;
}

// Per-route metric handles, looked up once so that recording is lock-free.
struct RouteMetrics {
  std::string name;
  Histogram* latency = nullptr;
  std::array<std::atomic<Counter*>, 500> by_status{};  // index: status - 100
};

class Session;

// State shared by the server, its listener and every connection. Sessions
// hold it by shared_ptr so the io_context outlives every socket.
struct ServerCore {
  ServerCore(ServerOptions server_options, Router server_router, MetricsRegistry* registry)
      : options(std::move(server_options)),
        router(std::move(server_router)),
        metrics(registry),
        ioc(static_cast<int>(std::max<uint32_t>(1, options.io_threads))) {}

  RouteMetrics* make_route_metrics(std::string name) {
    auto route = std::make_unique<RouteMetrics>();
    route->latency = &metrics->histogram("custos_http_request_duration_seconds",
                                         "Time from request header read to response written.",
                                         default_latency_buckets(), {{"route", name}});
    route->name = std::move(name);
    owned_route_metrics.push_back(std::move(route));
    return owned_route_metrics.back().get();
  }

  void record(RouteMetrics& route, int status, double seconds) {
    auto& slot = route.by_status[static_cast<size_t>(status - 100)];
    Counter* counter = slot.load(std::memory_order_acquire);
    if (counter == nullptr) {
      counter = &metrics->counter(kRequestsMetric, kRequestsHelp,
                                  {{"route", route.name}, {"code", std::to_string(status)}});
      slot.store(counter, std::memory_order_release);
    }
    counter->inc();
    route.latency->observe(seconds);
  }

  ServerOptions options;
  Router router;
  MetricsRegistry* metrics;
  ReadinessCheck readiness;
  std::atomic<bool> stopping{false};

  std::vector<std::unique_ptr<RouteMetrics>> owned_route_metrics;
  std::vector<RouteMetrics*> route_metrics;  // by route index
  RouteMetrics* unmatched_metrics = nullptr;
  RouteMetrics* malformed_metrics = nullptr;
  RouteMetrics* overloaded_metrics = nullptr;
  Gauge* connections_open = nullptr;
  Counter* connections_rejected = nullptr;
  Gauge* requests_in_flight = nullptr;
  Counter* tls_handshake_failures = nullptr;      // set when TLS is on
  std::optional<asio::ssl::context> tls_context;  // set by start() when TLS is on

  // Late responses are posted only while the I/O threads may still run them.
  std::mutex post_mutex;
  bool accepting_posts = true;

  std::mutex sessions_mutex;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions;
  uint64_t next_session_id = 0;
  std::atomic<uint32_t> open_connections{0};
  bool metrics_detached = false;  // guarded by sessions_mutex; set when stop() ends
  std::unique_ptr<MetricsRegistry> owned_metrics;  // when the server owns its registry

  // Last member: destroyed first, while the members above are still valid.
  asio::io_context ioc;
};

// One handler invocation. Responder copies share it; the first call wins and
// a responder dropped without a call answers 500.
class PendingResponse {
 public:
  PendingResponse(std::shared_ptr<Session> session, HttpRequest request, RouteParams params)
      : request_(std::move(request)), params_(std::move(params)), session_(std::move(session)) {}
  ~PendingResponse();
  PendingResponse(const PendingResponse&) = delete;
  PendingResponse& operator=(const PendingResponse&) = delete;

  void complete(HttpResponse response);
  const HttpRequest& request() const { return request_; }
  const RouteParams& params() const { return params_; }

 private:
  HttpRequest request_;
  RouteParams params_;
  std::shared_ptr<Session> session_;
  std::atomic<bool> done_{false};
};

// One connection. The base keeps the bookkeeping shared by plain and TLS
// connections and is what the server and responders hold; StreamSession
// below does the I/O over its stream type.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(std::shared_ptr<ServerCore> core, uint64_t id, bool overloaded)
      : core_(std::move(core)), id_(id), overloaded_(overloaded) {
    if (!overloaded_) {
      core_->open_connections.fetch_add(1, std::memory_order_relaxed);
      core_->connections_open->inc();
    }
  }

  virtual ~Session() {
    std::lock_guard lock(core_->sessions_mutex);
    if (!overloaded_) {
      core_->open_connections.fetch_sub(1, std::memory_order_relaxed);
      // A responder may keep a session past stop(), when a borrowed registry may be gone.
      if (!core_->metrics_detached) core_->connections_open->dec();
    }
    core_->sessions.erase(id_);
    core_->sessions_cv.notify_all();
  }

  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  virtual void start() = 0;
  // Posts a response from any thread; dropped once the server has stopped.
  virtual void post_response(HttpResponse response) = 0;
  // Graceful stop: idle connections close now, busy ones after their response.
  virtual void notify_stop() = 0;
  virtual void force_close() = 0;
  // WebSocket I/O requested from any thread (WebSocketPeer below).
  virtual bool websocket_send(std::string message) = 0;
  virtual void websocket_close(uint16_t code, std::string reason) = 0;

 protected:
  std::shared_ptr<ServerCore> core_;
  uint64_t id_;
  bool overloaded_;
};

// What a route holds of a WebSocket connection: a weak reference, so a
// route keeping it does not keep a closed connection alive.
class WebSocketPeer final : public WebSocketConnection {
 public:
  WebSocketPeer(std::weak_ptr<Session> session, std::string remote)
      : session_(std::move(session)), remote_(std::move(remote)) {}

  bool send_text(std::string message) override {
    auto session = session_.lock();
    return session != nullptr && session->websocket_send(std::move(message));
  }
  void close(uint16_t code, std::string reason) override {
    if (auto session = session_.lock()) session->websocket_close(code, std::move(reason));
  }
  const std::string& remote_address() const override { return remote_; }

 private:
  std::weak_ptr<Session> session_;
  std::string remote_;
};

// Stream is beast::tcp_stream (plain HTTP) or TlsStream.
template <class Stream>
class StreamSession final : public Session {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  StreamSession(std::shared_ptr<ServerCore> core, tcp::socket socket, uint64_t id, bool overloaded)
      : Session(std::move(core), id, overloaded),
        buffer_(core_->options.max_header_bytes + 128 * 1024) {
    beast::error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (!ec) {
      std::string ip = peer.address().to_string();
      remote_ = peer.address().is_v6() ? "[" + ip + "]:" : ip + ":";
      remote_ += std::to_string(peer.port());
    }
    if constexpr (kTls) {
      stream_.emplace(std::move(socket), *core_->tls_context);
    } else {
      stream_.emplace(std::move(socket));
    }
  }

  void start() override {
    asio::post(stream_->get_executor(), [self = self()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->begin();
      }
    });
  }

  void post_response(HttpResponse response) override {
    std::lock_guard lock(core_->post_mutex);
    if (!core_->accepting_posts) return;
    asio::post(stream_->get_executor(), [self = self(), response = std::move(response)]() mutable {
      self->write(std::move(response));
    });
  }

  void notify_stop() override {
    asio::post(stream_->get_executor(), [self = self()] {
      if (self->phase_ == Phase::kIdle) self->close_socket();
      if (self->phase_ == Phase::kWebSocket) {
        self->ws_close(kWebSocketGoingAway, "the server is stopping");
      }
    });
  }

  bool websocket_send(std::string message) override {
    if (ws_closing_.load()) return false;
    if (ws_queued_.fetch_add(1) >= core_->options.websocket_max_queued) {
      ws_queued_.fetch_sub(1);
      log_event(
          LogLevel::kWarn, "server.websocket_too_slow",
          {{"remote", remote_}, {"queued", std::to_string(core_->options.websocket_max_queued)}});
      websocket_close(kWebSocketTryAgainLater, "the client reads too slowly");
      return false;
    }
    std::lock_guard lock(core_->post_mutex);
    if (!core_->accepting_posts) {
      ws_queued_.fetch_sub(1);
      return false;
    }
    asio::post(stream_->get_executor(), [self = self(), message = std::move(message)]() mutable {
      self->ws_enqueue(std::move(message));
    });
    return true;
  }

  void websocket_close(uint16_t code, std::string reason) override {
    ws_closing_.store(true);
    std::lock_guard lock(core_->post_mutex);
    if (!core_->accepting_posts) return;
    asio::post(stream_->get_executor(),
               [self = self(), code, reason = std::move(reason)]() mutable {
                 self->ws_close(code, std::move(reason));
               });
  }

  void force_close() override {
    asio::post(stream_->get_executor(), [self = self()] { self->close_socket(); });
  }

 private:
  // kIdle covers the TLS handshake too: stop() closes a connection still shaking hands.
  // kWebSocket: a route took the connection over (from the handshake on).
  enum class Phase { kIdle, kReading, kHandling, kWriting, kClosing, kClosed, kWebSocket };

  std::shared_ptr<StreamSession> self() {
    return std::static_pointer_cast<StreamSession>(shared_from_this());
  }

  // The TCP stream under any TLS layer: deadlines and closing act on it.
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(*stream_); }

  // Bounded by read_timeout, like a request, so a silent client cannot hold the connection.
  void handshake() {
    lowest().expires_after(core_->options.read_timeout);
    stream_->async_handshake(asio::ssl::stream_base::server,
                             beast::bind_front_handler(&StreamSession::on_handshake, self()));
  }

  void on_handshake(beast::error_code ec) {
    if (phase_ == Phase::kClosed) return;  // closed by stop() meanwhile
    if (ec) {
      core_->tls_handshake_failures->inc();
      log_event(LogLevel::kDebug, "server.tls_handshake_failed",
                {{"remote", remote_}, {"error", ec.message()}});
      close_socket();
      return;
    }
    if (auto peer = verified_peer_certificate(stream_->native_handle())) {
      client_cert_sha256_ = std::move(peer->sha256);
      client_cert_subject_ = std::move(peer->subject);
    }
    begin();
  }

  void begin() {
    if (overloaded_) {
      core_->connections_rejected->inc();
      route_metrics_ = core_->overloaded_metrics;
      request_start_ = SteadyClock::now();
      close_after_response_ = true;
      write(problem_response(503, "Service Unavailable", "the server has too many open connections",
                             "overloaded"));
    } else {
      wait_for_request();
    }
  }

  void wait_for_request() {
    if (core_->stopping.load()) {
      close_socket();
      return;
    }
    phase_ = Phase::kIdle;
    if (buffer_.size() > 0) {  // pipelined bytes already arrived
      read_header();
      return;
    }
    // An idle connection does not keep a large body's read buffer.
    if (buffer_.capacity() > kKeptReadBuffer) buffer_.shrink_to_fit();
    lowest().expires_after(core_->options.idle_timeout);
    stream_->async_read_some(buffer_.prepare(4096),
                             beast::bind_front_handler(&StreamSession::on_first_bytes, self()));
  }

  void on_first_bytes(beast::error_code ec, size_t bytes) {
    if (ec || phase_ == Phase::kClosed) {
      close_socket();
      return;
    }
    buffer_.commit(bytes);
    read_header();
  }

  void read_header() {
    phase_ = Phase::kReading;
    request_start_ = SteadyClock::now();
    parser_.emplace();
    parser_->header_limit(core_->options.max_header_bytes);
    parser_->body_limit(core_->options.max_body_bytes);
    // One deadline for the whole request, so a trickling client cannot hold the connection.
    lowest().expires_after(core_->options.read_timeout);
    http::async_read_header(*stream_, buffer_, *parser_,
                            beast::bind_front_handler(&StreamSession::on_header, self()));
  }

  void on_header(beast::error_code ec, size_t) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    request_start_ = SteadyClock::now();
    const auto& message = parser_->get();
    auto expect = message[http::field::expect];
    if (!parser_->is_done() && message.version() >= 11 &&
        equals_ignore_case(expect, "100-continue")) {
      asio::async_write(*stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = self()](beast::error_code write_ec, size_t) {
                          if (write_ec) {
                            self->close_socket();
                          } else {
                            self->read_body();
                          }
                        });
      return;
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) {
      dispatch_request();
      return;
    }
    // Beast reads at most the buffer's free capacity (and at least 512
    // bytes) per receive, so a body streamed through the 4 KiB the header
    // read left took a receive, and a re-armed timer, per few KiB. Room for
    // the rest of the body (up to kMaxReadChunk) reads it in a few
    // (docs/benchmarks.md, EPCIS capture: with the client's side, 160
    // receives per 100-event capture request became 6).
    if (auto remaining = parser_->content_length_remaining(); remaining && *remaining > 0) {
      const size_t wanted = buffer_.size() + static_cast<size_t>(std::min<uint64_t>(
                                                 *remaining, kMaxReadChunk));
      if (buffer_.capacity() < wanted) buffer_.reserve(wanted);
    }
    http::async_read(*stream_, buffer_, *parser_,
                     beast::bind_front_handler(&StreamSession::on_body, self()));
  }

  void on_body(beast::error_code ec, size_t) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    dispatch_request();
  }

  void on_read_error(beast::error_code ec) {
    route_metrics_ = core_->malformed_metrics;
    head_request_ = false;
    if (ec == http::error::body_limit) {
      respond_and_close(problem_response(
          413, "Content Too Large",
          "the request body exceeds " + std::to_string(core_->options.max_body_bytes) + " bytes",
          "body-too-large"));
    } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      respond_and_close(problem_response(431, "Request Header Fields Too Large",
                                         "the request header exceeds " +
                                             std::to_string(core_->options.max_header_bytes) +
                                             " bytes",
                                         "header-too-large"));
    } else if (ec.category() == http::make_error_code(http::error::end_of_stream).category() &&
               ec != http::error::end_of_stream && ec != http::error::partial_message) {
      respond_and_close(problem_response(
          400, "Bad Request", "malformed HTTP request: " + ec.message(), "malformed-request"));
    } else {
      // Timeout, end of stream, reset: nobody to answer, or a client not worth waiting for.
      if (ec == beast::error::timeout) {
        log_event(LogLevel::kDebug, "server.read_timeout", {{"remote", remote_}});
      }
      close_socket();
    }
  }

  void respond_and_close(HttpResponse response) {
    close_after_response_ = true;
    write(std::move(response));
  }

  void dispatch_request() {
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    upgrade_request_.reset();
    if (websocket::is_upgrade(message)) upgrade_request_.emplace(message.base());
    close_after_response_ = !message.keep_alive();
    head_request_ = message.method() == http::verb::head;
    route_metrics_ = core_->unmatched_metrics;

    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.remote_address = remote_;
    request.tls = kTls;
    request.client_cert_sha256 = client_cert_sha256_;
    request.client_cert_subject = client_cert_subject_;
    std::string_view target = request.target;
    if (target.empty() || target[0] != '/') {
      route_metrics_ = core_->malformed_metrics;
      respond_and_close(problem_response(
          400, "Bad Request", "the request target must be an absolute path", "malformed-request"));
      return;
    }
    size_t question = target.find('?');
    request.path = std::string(target.substr(0, question));
    if (!percent_decode(request.path).is_ok()) {
      route_metrics_ = core_->malformed_metrics;
      write(problem_response(400, "Bad Request", "the request path has a malformed percent escape",
                             "malformed-request"));
      return;
    }
    if (question != std::string_view::npos) {
      auto query = parse_query(target.substr(question + 1));
      if (!query.is_ok()) {
        write(problem_response(400, "Bad Request", query.status().message(), "invalid-query"));
        return;
      }
      request.query = std::move(query).value();
    }
    for (const auto& field : message) request.headers.add(field.name_string(), field.value());
    request.body = std::move(message.body());

    RouteMatch match = core_->router.match(request.method, request.path);
    if (match.kind == RouteMatch::Kind::kNotFound) {
      write(problem_response(404, "Not Found", "no resource at " + request.path, "not-found"));
      return;
    }
    if (match.kind == RouteMatch::Kind::kMethodNotAllowed) {
      HttpResponse response = problem_response(
          405, "Method Not Allowed",
          request.method + " is not allowed on " + request.path + "; allowed: " + match.allow,
          "method-not-allowed");
      response.headers.set("Allow", match.allow);
      write(std::move(response));
      return;
    }

    route_metrics_ = core_->route_metrics[match.route_index];
    const Router::Route& route = core_->router.route(match.route_index);
    phase_ = Phase::kHandling;
    lowest().expires_never();
    core_->requests_in_flight->inc();
    auto pending = std::make_shared<PendingResponse>(shared_from_this(), std::move(request),
                                                     std::move(match.params));
    Responder responder = [pending](HttpResponse response) {
      pending->complete(std::move(response));
    };
    try {
      route.handler(pending->request(), pending->params(), std::move(responder));
    } catch (const std::exception& error) {
      log_event(LogLevel::kError, "server.handler_threw",
                {{"route", route.name}, {"error", error.what()}});
      pending->complete(problem_response(500, "Internal Server Error",
                                         "the request could not be completed", "internal"));
    } catch (...) {
      log_event(LogLevel::kError, "server.handler_threw", {{"route", route.name}});
      pending->complete(problem_response(500, "Internal Server Error",
                                         "the request could not be completed", "internal"));
    }
  }

  void write(HttpResponse response) {
    if (phase_ == Phase::kHandling) core_->requests_in_flight->dec();
    if (phase_ == Phase::kClosed || phase_ == Phase::kClosing || phase_ == Phase::kWriting ||
        phase_ == Phase::kWebSocket) {
      return;
    }
    if (response.websocket) {
      if (upgrade_request_) {
        ws_accept(std::move(response.websocket));
        return;
      }
      log_event(LogLevel::kError, "server.websocket_without_upgrade", {});
      response = problem_response(500, "Internal Server Error",
                                  "the handler accepted a WebSocket the client did not ask for",
                                  "internal");
    }
    phase_ = Phase::kWriting;
    if (response.status < 200 || response.status > 599) {  // 1xx is never a final response
      log_event(LogLevel::kError, "server.bad_status",
                {{"status", std::to_string(response.status)}});
      response = problem_response(500, "Internal Server Error",
                                  "the handler produced an invalid status", "internal");
    }
    int status = response.status;
    status_ = status;
    close_after_response_ = close_after_response_ || core_->stopping.load();

    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(status));
    response_.reason(reason_phrase(status));
    bool has_content_type = false;
    for (const auto& [name, value] : response.headers) {
      if (equals_ignore_case(name, "Content-Length") ||
          equals_ignore_case(name, "Transfer-Encoding") || equals_ignore_case(name, "Connection")) {
        continue;
      }
      if (!is_valid_field(name, value)) {
        log_event(LogLevel::kWarn, "server.bad_header_dropped", {{"name", name}});
        continue;
      }
      has_content_type = has_content_type || equals_ignore_case(name, "Content-Type");
      response_.insert(name, value);
    }
    if (status_allows_body(status)) {
      if (!response.content_type.empty() && is_valid_field("Content-Type", response.content_type)) {
        response_.set(http::field::content_type, response.content_type);
      } else if (!has_content_type) {
        response_.set(http::field::content_type, "application/octet-stream");
      }
      response_.set(http::field::content_length, std::to_string(response.body.size()));
      if (!head_request_) response_.body() = std::move(response.body);
    }
    response_.keep_alive(!close_after_response_);
    lowest().expires_after(core_->options.write_timeout);
    http::async_write(*stream_, response_,
                      beast::bind_front_handler(&StreamSession::on_write, self()));
  }

  void on_write(beast::error_code ec, size_t) {
    if (route_metrics_ != nullptr) {
      std::chrono::duration<double> elapsed = SteadyClock::now() - request_start_;
      core_->record(*route_metrics_, status_, elapsed.count());
    }
    response_ = {};
    if (ec) {
      close_socket();
    } else if (close_after_response_) {
      linger_close();
    } else {
      wait_for_request();
    }
  }

  // Half-closes, then drains what the client still sends for a moment, so
  // unread request bytes do not turn our close into a reset that destroys the
  // response before the client reads it.
  void linger_close() {
    phase_ = Phase::kClosing;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(std::min(kMaxLinger, core_->options.read_timeout));
    buffer_.clear();
    discard_next();
  }

  void discard_next() {
    lowest().async_read_some(
        asio::buffer(discard_), [self = self()](beast::error_code ec, size_t bytes) {
          self->lingered_bytes_ += bytes;
          if (ec || self->phase_ == Phase::kClosed || self->lingered_bytes_ > kMaxLingerBytes) {
            self->close_socket();
          } else {
            self->discard_next();
          }
        });
  }

  // ---- WebSocket (phase kWebSocket); everything below runs on the strand.

  void ws_accept(std::shared_ptr<const WebSocketHandlers> handlers) {
    phase_ = Phase::kWebSocket;
    status_ = 101;
    ws_handlers_ = std::move(handlers);
    lowest().expires_never();  // the websocket stream keeps its own timeouts
    ws_.emplace(*stream_);
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = core_->options.write_timeout;  // opening and closing
    timeouts.idle_timeout = core_->options.idle_timeout;
    timeouts.keep_alive_pings = true;
    ws_->set_option(timeouts);
    ws_->read_message_max(core_->options.websocket_max_message_bytes);
    // The route opens first, so nothing that happens after the client has the
    // 101 can be missed; what it sends meanwhile goes out after the handshake.
    if (ws_handlers_->on_open) {
      ws_handlers_->on_open(std::make_shared<WebSocketPeer>(weak_from_this(), remote_));
    }
    ws_->async_accept(*upgrade_request_,
                      beast::bind_front_handler(&StreamSession::on_ws_accept, self()));
  }

  void on_ws_accept(beast::error_code ec) {
    if (route_metrics_ != nullptr) {
      std::chrono::duration<double> elapsed = SteadyClock::now() - request_start_;
      core_->record(*route_metrics_, ec ? 400 : 101, elapsed.count());
    }
    upgrade_request_.reset();
    if (ec || phase_ != Phase::kWebSocket) {
      log_event(LogLevel::kDebug, "server.websocket_handshake_failed",
                {{"remote", remote_}, {"error", ec.message()}});
      close_socket();
      return;
    }
    ws_open_ = true;
    ws_->text(true);
    if (ws_pending_close_) {
      auto [code, reason] = std::move(*ws_pending_close_);
      ws_pending_close_.reset();
      ws_close(code, std::move(reason));
    } else if (!ws_outbox_.empty()) {
      ws_write_next();
    }
    ws_read();
  }

  void ws_read() {
    ws_->async_read(ws_input_, beast::bind_front_handler(&StreamSession::on_ws_read, self()));
  }

  void on_ws_read(beast::error_code ec, size_t) {
    if (phase_ != Phase::kWebSocket) return;
    if (ec) {
      uint16_t code = kWebSocketAbnormalClosure;
      if (ec == websocket::error::closed) {
        code = static_cast<uint16_t>(ws_->reason().code);
      } else if (ec == websocket::error::message_too_big) {
        code = kWebSocketTooBig;
      }
      ws_finish(ws_sent_close_ != 0 ? ws_sent_close_ : code);
      close_socket();
      return;
    }
    if (ws_handlers_->on_message) {
      const auto data = ws_input_.cdata();
      ws_handlers_->on_message(
          std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    ws_input_.consume(ws_input_.size());
    ws_read();
  }

  void ws_enqueue(std::string message) {
    if (phase_ != Phase::kWebSocket || ws_sent_close_ != 0) {
      ws_queued_.fetch_sub(1);
      return;
    }
    ws_outbox_.push_back(std::move(message));
    if (ws_open_ && !ws_writing_) ws_write_next();
  }

  void ws_write_next() {
    ws_writing_ = true;
    ws_->async_write(asio::buffer(ws_outbox_.front()),
                     beast::bind_front_handler(&StreamSession::on_ws_write, self()));
  }

  void on_ws_write(beast::error_code ec, size_t) {
    ws_writing_ = false;
    if (!ws_outbox_.empty()) {
      ws_outbox_.pop_front();
      ws_queued_.fetch_sub(1);
    }
    if (phase_ != Phase::kWebSocket) return;
    if (ec) {
      ws_finish(kWebSocketAbnormalClosure);
      close_socket();
      return;
    }
    if (!ws_outbox_.empty() && ws_sent_close_ == 0) ws_write_next();
  }

  void ws_close(uint16_t code, std::string reason) {
    if (phase_ != Phase::kWebSocket || ws_sent_close_ != 0 || !ws_) return;
    ws_closing_.store(true);
    if (!ws_open_) {  // the handshake is still being written
      ws_pending_close_.emplace(code, std::move(reason));
      return;
    }
    ws_sent_close_ = code;
    // Drop what waits; a message being written finishes first.
    const size_t dropped = ws_outbox_.size() - (ws_writing_ ? 1 : 0);
    ws_outbox_.resize(ws_writing_ ? 1 : 0);
    ws_queued_.fetch_sub(dropped);
    if (reason.size() > 123) reason.resize(123);
    websocket::close_reason close_reason(code);
    close_reason.reason = reason;
    ws_->async_close(close_reason, [self = self(), code](beast::error_code) {
      self->ws_finish(code);
      self->close_socket();
    });
  }

  // The route hears of the end once.
  void ws_finish(uint16_t code) {
    if (!ws_handlers_) return;
    auto handlers = std::move(ws_handlers_);
    ws_handlers_.reset();
    ws_closing_.store(true);
    if (handlers->on_close) handlers->on_close(code);
  }

  void close_socket() {
    if (phase_ == Phase::kHandling) core_->requests_in_flight->dec();
    if (phase_ == Phase::kWebSocket) ws_finish(kWebSocketAbnormalClosure);
    if (phase_ == Phase::kClosed) return;
    phase_ = Phase::kClosed;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  std::string remote_;
  std::optional<Stream> stream_;
  std::string client_cert_sha256_;  // of a verified client certificate (TLS only)
  std::string client_cert_subject_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  Phase phase_ = Phase::kIdle;
  bool close_after_response_ = false;
  bool head_request_ = false;
  int status_ = 0;
  RouteMetrics* route_metrics_ = nullptr;
  SteadyClock::time_point request_start_ = SteadyClock::now();
  uint64_t lingered_bytes_ = 0;
  std::array<char, 4096> discard_{};
  // WebSocket state (a route took the connection over).
  std::optional<http::request<http::empty_body>> upgrade_request_;  // the handshake, if one
  std::optional<websocket::stream<Stream&>> ws_;
  std::shared_ptr<const WebSocketHandlers> ws_handlers_;  // reset once on_close is called
  beast::flat_buffer ws_input_;
  std::deque<std::string> ws_outbox_;
  bool ws_writing_ = false;
  bool ws_open_ = false;                                              // the handshake is done
  std::optional<std::pair<uint16_t, std::string>> ws_pending_close_;  // asked before it was
  uint16_t ws_sent_close_ = 0;        // the close code we sent (0: none)
  std::atomic<size_t> ws_queued_{0};  // posted or queued, not yet written
  std::atomic<bool> ws_closing_{false};
};

PendingResponse::~PendingResponse() {
  if (!done_.exchange(true)) {
    log_event(LogLevel::kError, "server.responder_dropped", {{"target", request_.target}});
    session_->post_response(problem_response(
        500, "Internal Server Error", "the request was dropped without a response", "internal"));
  }
}

void PendingResponse::complete(HttpResponse response) {
  if (done_.exchange(true)) {
    log_event(LogLevel::kWarn, "server.responder_called_twice", {{"target", request_.target}});
    return;
  }
  session_->post_response(std::move(response));
  // The response is queued on the session's executor (which holds the session);
  // stale responder copies must not keep a finished session open.
  session_.reset();
}

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  explicit Listener(std::shared_ptr<ServerCore> core)
      : core_(std::move(core)),
        strand_(asio::make_strand(core_->ioc)),
        acceptor_(strand_),
        retry_timer_(strand_) {}

  // Binds and listens; called before the I/O threads start.
  Result<uint16_t> open(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      beast::error_code ignored;
      acceptor_.close(ignored);
      return io_error("cannot listen on " + core_->options.listen + ": " + ec.message());
    }
    uint16_t port = acceptor_.local_endpoint(ec).port();
    if (ec) return io_error("cannot read the bound port: " + ec.message());
    return port;
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->accept_next(); });
  }

  void stop() {
    asio::post(strand_, [self = shared_from_this()] {
      beast::error_code ignored;
      self->acceptor_.close(ignored);
      self->retry_timer_.cancel();
    });
  }

 private:
  void accept_next() {
    if (core_->stopping.load() || !acceptor_.is_open()) return;
    acceptor_.async_accept(asio::make_strand(core_->ioc),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (core_->stopping.load() || ec == asio::error::operation_aborted) return;
    if (ec) {
      // Typically out of file descriptors: back off instead of spinning.
      log_event(LogLevel::kWarn, "server.accept_failed", {{"error", ec.message()}});
      retry_timer_.expires_after(std::chrono::milliseconds(50));
      retry_timer_.async_wait([self = shared_from_this()](beast::error_code wait_ec) {
        if (!wait_ec) self->accept_next();
      });
      return;
    }
    bool overloaded =
        core_->open_connections.load(std::memory_order_relaxed) >= core_->options.max_connections;
    std::shared_ptr<Session> session;
    {
      std::lock_guard lock(core_->sessions_mutex);
      uint64_t id = core_->next_session_id++;
      if (core_->tls_context) {
        session =
            std::make_shared<StreamSession<TlsStream>>(core_, std::move(socket), id, overloaded);
      } else {
        session = std::make_shared<StreamSession<beast::tcp_stream>>(core_, std::move(socket), id,
                                                                     overloaded);
      }
      core_->sessions.emplace(id, session);
    }
    session->start();
    accept_next();
  }

  std::shared_ptr<ServerCore> core_;
  asio::strand<asio::io_context::executor_type> strand_;
  tcp::acceptor acceptor_;
  asio::steady_timer retry_timer_;
};

Result<tcp::endpoint> resolve_listen_address(std::string_view listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string_view::npos) {
    return invalid_argument("listen address '" + std::string(listen) + "' is not host:port");
  }
  std::string_view host = listen.substr(0, colon);
  auto port = parse_decimal_u64(listen.substr(colon + 1));
  if (!port.is_ok() || port.value() > 65535) {
    return invalid_argument("listen address '" + std::string(listen) + "' has a bad port");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  auto port_number = static_cast<uint16_t>(port.value());
  beast::error_code ec;
  auto address = asio::ip::make_address(std::string(host), ec);
  if (!ec) return tcp::endpoint(address, port_number);
  asio::io_context resolver_context;
  tcp::resolver resolver(resolver_context);
  auto results = resolver.resolve(std::string(host), std::to_string(port_number), ec);
  if (ec || results.empty()) {
    return invalid_argument("cannot resolve listen host '" + std::string(host) +
                            "': " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

bool is_websocket_upgrade(const HttpRequest& request) {
  if (request.method != "GET") return false;
  auto upgrade = request.header("Upgrade");
  auto connection = request.header("Connection");
  if (!upgrade || !connection || !equals_ignore_case(trim_ows(*upgrade), "websocket")) return false;
  // Connection is a list of tokens ("keep-alive, Upgrade").
  std::string_view tokens = *connection;
  while (!tokens.empty()) {
    const size_t comma = tokens.find(',');
    if (equals_ignore_case(trim_ows(tokens.substr(0, comma)), "upgrade")) return true;
    if (comma == std::string_view::npos) break;
    tokens.remove_prefix(comma + 1);
  }
  return false;
}

HttpResponse websocket_accept(WebSocketHandlers handlers) {
  HttpResponse response;
  response.status = 101;
  response.websocket = std::make_shared<const WebSocketHandlers>(std::move(handlers));
  return response;
}

Result<ClientCertMode> parse_client_cert_mode(std::string_view text) {
  if (text == "none") return ClientCertMode::kNone;
  if (text == "optional") return ClientCertMode::kOptional;
  if (text == "required") return ClientCertMode::kRequired;
  return invalid_argument("client certificate mode '" + std::string(text) +
                          "' is not none, optional or required");
}

ServerOptions server_options_from_config(const Config& config) {
  ServerOptions options = server_options_from_config(config.server);
  options.tls.cert_file = config.tls.cert_file;
  options.tls.key_file = config.tls.key_file;
  options.tls.client_ca_file = config.tls.client_ca_file;
  auto mode = parse_client_cert_mode(config.tls.client_auth);
  options.tls.client_auth = mode.is_ok() ? mode.value() : ClientCertMode::kRequired;
  return options;
}

ServerOptions server_options_from_config(const ServerConfig& config) {
  ServerOptions options;
  options.listen = config.listen;
  options.io_threads = std::max<uint32_t>(1, config.threads);
  options.max_body_bytes = config.max_body_bytes;
  options.idle_timeout = std::chrono::seconds(config.idle_timeout_s);
  options.max_connections = config.max_connections;
  return options;
}

class HttpServer::Impl {
 public:
  enum class State { kNew, kRunning, kStopping, kStopped };

  Impl(ServerOptions options, Router router, MetricsRegistry* metrics) {
    std::unique_ptr<MetricsRegistry> owned;
    if (metrics == nullptr) {
      owned = std::make_unique<MetricsRegistry>();
      metrics = owned.get();
    }
    core_ = std::make_shared<ServerCore>(std::move(options), std::move(router), metrics);
    core_->owned_metrics = std::move(owned);
  }

  ~Impl() { stop(); }

  void set_readiness(ReadinessCheck check) {
    std::lock_guard lock(state_mutex_);
    if (state_ == State::kNew) core_->readiness = std::move(check);
  }

  Status start() {
    std::lock_guard lock(state_mutex_);
    if (state_ != State::kNew) return failed_precondition("the server was started before");
    const ServerTlsOptions& tls = core_->options.tls;
    if (tls.enabled()) {
      Status tls_status = make_server_tls_context(tls, core_->tls_context);
      if (!tls_status.is_ok()) {
        core_->tls_context.reset();
        return tls_status;
      }
    } else if (tls.client_auth != ClientCertMode::kNone) {
      return invalid_argument("TLS client authentication needs a server certificate");
    }
    CUSTOS_RETURN_IF_ERROR(add_builtin_routes());
    CUSTOS_ASSIGN_OR_RETURN(tcp::endpoint endpoint, resolve_listen_address(core_->options.listen));

    auto listener = std::make_shared<Listener>(core_);
    CUSTOS_ASSIGN_OR_RETURN(uint16_t port, listener->open(endpoint));
    port_ = port;

    MetricsRegistry& metrics = *core_->metrics;
    for (size_t i = 0; i < core_->router.size(); ++i) {
      core_->route_metrics.push_back(core_->make_route_metrics(core_->router.route(i).name));
    }
    core_->unmatched_metrics = core_->make_route_metrics("unmatched");
    core_->malformed_metrics = core_->make_route_metrics("malformed");
    core_->overloaded_metrics = core_->make_route_metrics("overloaded");
    core_->connections_open =
        &metrics.gauge("custos_http_connections_open", "Open HTTP connections.");
    core_->connections_rejected =
        &metrics.counter("custos_http_connections_rejected_total",
                         "Connections refused with 503 over max_connections.");
    core_->requests_in_flight = &metrics.gauge(
        "custos_http_requests_in_flight", "Requests handed to a handler and not yet answered.");
    if (core_->tls_context) {
      core_->tls_handshake_failures = &metrics.counter(
          "custos_http_tls_handshake_failures_total",
          "TLS handshakes that failed or timed out (plain HTTP, bad or missing client cert).");
    }

    listener_ = std::move(listener);
    work_guard_.emplace(core_->ioc.get_executor());
    uint32_t thread_count = std::max<uint32_t>(1, core_->options.io_threads);
    for (uint32_t i = 0; i < thread_count; ++i) {
      threads_.emplace_back([core = core_.get()] {
        while (true) {
          try {
            core->ioc.run();
            return;
          } catch (const std::exception& error) {
            log_event(LogLevel::kError, "server.io_thread_error", {{"error", error.what()}});
          }
        }
      });
    }
    listener_->start();
    state_ = State::kRunning;
    std::string host = endpoint.address().to_string();
    if (endpoint.address().is_v6()) host = "[" + host + "]";
    log_event(LogLevel::kInfo, "server.listening",
              {{"address", host + ":" + std::to_string(port_.load())},
               {"threads", std::to_string(thread_count)},
               {"tls", core_->tls_context ? "on" : "off"}});
    return Status::ok();
  }

  void stop() {
    {
      std::unique_lock lock(state_mutex_);
      if (state_ == State::kNew) {
        state_ = State::kStopped;
        state_cv_.notify_all();
        return;
      }
      if (state_ != State::kRunning) {
        state_cv_.wait(lock, [&] { return state_ == State::kStopped; });
        return;
      }
      state_ = State::kStopping;
    }
    core_->stopping.store(true);
    listener_->stop();
    for (const auto& session : live_sessions()) session->notify_stop();

    auto deadline = SteadyClock::now() + core_->options.shutdown_grace;
    {
      std::unique_lock lock(core_->sessions_mutex);
      core_->sessions_cv.wait_until(lock, deadline, [&] { return core_->sessions.empty(); });
    }
    auto remaining = live_sessions();
    if (!remaining.empty()) {
      log_event(LogLevel::kWarn, "server.shutdown_forced",
                {{"connections", std::to_string(remaining.size())}});
      for (const auto& session : remaining) session->force_close();
      remaining.clear();
      std::unique_lock lock(core_->sessions_mutex);
      core_->sessions_cv.wait_for(lock, std::chrono::milliseconds(200),
                                  [&] { return core_->sessions.empty(); });
    }
    {
      std::lock_guard lock(core_->post_mutex);
      core_->accepting_posts = false;
    }
    work_guard_.reset();
    core_->ioc.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    // Run what is still queued (aborted operations) so sessions release the core.
    core_->ioc.restart();
    for (int round = 0; round < 100 && core_->ioc.poll() > 0; ++round) {
    }
    listener_.reset();
    {
      std::lock_guard lock(core_->sessions_mutex);
      core_->metrics_detached = true;
    }

    std::lock_guard lock(state_mutex_);
    state_ = State::kStopped;
    state_cv_.notify_all();
    log_event(LogLevel::kInfo, "server.stopped", {});
  }

  void wait() {
    std::unique_lock lock(state_mutex_);
    state_cv_.wait(lock, [&] { return state_ == State::kStopped || state_ == State::kNew; });
  }

  bool running() const {
    std::lock_guard lock(state_mutex_);
    return state_ == State::kRunning;
  }

  uint16_t port() const { return port_.load(); }
  MetricsRegistry& metrics() { return *core_->metrics; }

 private:
  std::vector<std::shared_ptr<Session>> live_sessions() {
    std::vector<std::shared_ptr<Session>> sessions;
    std::lock_guard lock(core_->sessions_mutex);
    for (const auto& [id, weak] : core_->sessions) {
      if (auto session = weak.lock()) sessions.push_back(std::move(session));
    }
    return sessions;
  }

  Status add_builtin_routes() {
    ServerCore* core = core_.get();
    CUSTOS_RETURN_IF_ERROR(
        core->router.add("GET", "/healthz", "healthz",
                         [](const HttpRequest&, const RouteParams&, Responder respond) {
                           respond(json_response(200, R"({"status":"ok"})"));
                         }));
    CUSTOS_RETURN_IF_ERROR(core->router.add(
        "GET", "/readyz", "readyz",
        [core](const HttpRequest&, const RouteParams&, Responder respond) {
          if (core->stopping.load()) {
            respond(problem_response(503, "Service Unavailable", "the server is shutting down",
                                     "not-ready"));
            return;
          }
          Status ready = core->readiness ? core->readiness() : Status::ok();
          if (ready.is_ok()) {
            respond(json_response(200, R"({"status":"ready"})"));
          } else {
            respond(problem_response(503, "Service Unavailable", ready.message(), "not-ready"));
          }
        }));
    CUSTOS_RETURN_IF_ERROR(
        core->router.add("GET", "/metrics", "metrics",
                         [core](const HttpRequest&, const RouteParams&, Responder respond) {
                           respond(text_response(200, core->metrics->render(),
                                                 "text/plain; version=0.0.4; charset=utf-8"));
                         }));
    return Status::ok();
  }

  std::shared_ptr<ServerCore> core_;
  std::shared_ptr<Listener> listener_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_guard_;
  std::vector<std::thread> threads_;
  std::atomic<uint16_t> port_{0};
  mutable std::mutex state_mutex_;
  std::condition_variable state_cv_;
  State state_ = State::kNew;
};

HttpServer::HttpServer(ServerOptions options, Router router, MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router), metrics)) {}

HttpServer::~HttpServer() = default;

void HttpServer::set_readiness(ReadinessCheck check) { impl_->set_readiness(std::move(check)); }
Status HttpServer::start() { return impl_->start(); }
uint16_t HttpServer::port() const { return impl_->port(); }
void HttpServer::stop() { impl_->stop(); }
void HttpServer::wait() { impl_->wait(); }
bool HttpServer::running() const { return impl_->running(); }
MetricsRegistry& HttpServer::metrics() { return impl_->metrics(); }

void run_until_signal(HttpServer& server) {
  asio::io_context signal_context;
  asio::signal_set signals(signal_context, SIGINT, SIGTERM);
  int received = 0;
  signals.async_wait([&](const beast::error_code& ec, int signal_number) {
    if (!ec) received = signal_number;
  });
  while (received == 0 && server.running()) {
    signal_context.run_for(std::chrono::milliseconds(200));
  }
  if (received != 0) {
    log_event(LogLevel::kInfo, "server.signal", {{"signal", std::to_string(received)}});
  }
  server.stop();
}

}  // namespace custos
