// custos server: routing requests to asynchronous handlers.
//
// A Router maps (method, path pattern) to a named handler. Patterns are
// '/'-separated segments: literals ("log"), parameters ("{index}", one
// non-empty segment) and, as the last segment only, a catch-all
// ("{path...}", one or more segments joined by '/'), so
// "/tile/{path...}" matches "/tile/0/x001/234.p/8" with path =
// "0/x001/234.p/8". Each request path segment is percent-decoded before it is
// compared or captured. When several patterns match, the most specific wins,
// comparing segment by segment: literal before parameter before catch-all.
// A HEAD request falls back to the GET route when no HEAD route exists.
//
// Handlers are asynchronous: a handler receives a Responder and calls it
// exactly once, on any thread, now or later (for example after a group
// commit). The server writes the response on the connection's own strand.
// A second call is ignored; a Responder whose last copy is destroyed without
// being called answers 500. The request and params stay valid until the
// Responder has been called or destroyed, so a handler may keep references
// to them. Handlers run on I/O threads and must not block; they should not
// throw (a throw becomes a 500 problem and a log line).
//
// Thread-safety: add() is not thread-safe and must finish before the router
// is handed to HttpServer; match() is const and safe to call concurrently.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/status.h"
#include "custos/server/http.h"

namespace custos {

class WorkQueue;

// Captured path parameters, in pattern order, percent-decoded.
class RouteParams {
 public:
  // The value of parameter `name`, or nullopt when the pattern has none.
  std::optional<std::string_view> get(std::string_view name) const;
  // The value of parameter `name`, or "" when absent.
  std::string_view value(std::string_view name) const { return get(name).value_or(""); }
  void add(std::string name, std::string value);
  const std::vector<std::pair<std::string, std::string>>& all() const { return params_; }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(const HttpRequest&, const RouteParams&, Responder)>;

// Runs `work` on `queue` (for handlers that must block, e.g. on a log
// commit) and answers with the response it returns; a throw becomes a 500
// problem.
void respond_on(WorkQueue& queue, Responder respond, std::function<HttpResponse()> work);

struct RouteMatch {
  enum class Kind { kFound, kNotFound, kMethodNotAllowed };
  Kind kind = Kind::kNotFound;
  size_t route_index = 0;  // valid when kFound
  RouteParams params;      // valid when kFound
  std::string allow;       // valid when kMethodNotAllowed, e.g. "GET, HEAD, POST"
};

class Router {
 public:
  struct Route {
    std::string method;
    std::string pattern;
    std::string name;  // label for metrics and logs, e.g. "add_entry"
    Handler handler;
  };

  // Registers a route. Refuses a malformed pattern (not starting with '/',
  // bad braces, a catch-all not last, a repeated parameter name), an empty
  // method or name, a null handler, and a second route with the same method
  // and the same pattern shape.
  Status add(std::string method, std::string pattern, std::string name, Handler handler);

  // Finds the route for a request path (the target before '?', still
  // percent-encoded). A path with a malformed escape matches nothing.
  RouteMatch match(std::string_view method, std::string_view path) const;

  const Route& route(size_t index) const { return routes_[index].route; }
  size_t size() const { return routes_.size(); }

 private:
  enum class SegmentKind { kCatchAll = 0, kParam = 1, kLiteral = 2 };
  struct Segment {
    SegmentKind kind;
    std::string text;  // literal text or parameter name
  };
  struct CompiledRoute {
    Route route;
    std::vector<Segment> segments;
  };
  static bool match_segments(const std::vector<Segment>& pattern,
                             const std::vector<std::string>& path, RouteParams* params);
  static bool more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b);

  std::vector<CompiledRoute> routes_;
};

}  // namespace custos
