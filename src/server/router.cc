#include "custos/server/router.h"

#include <algorithm>
#include <exception>
#include <set>

#include "custos/core/work_queue.h"

namespace custos {

void respond_on(WorkQueue& queue, Responder respond, std::function<HttpResponse()> work) {
  queue.post([respond = std::move(respond), work = std::move(work)] {
    HttpResponse response;
    try {
      response = work();
    } catch (const std::exception& error) {
      response = problem_response(500, "Internal error", error.what(), "internal");
    }
    respond(std::move(response));
  });
}
namespace {

bool is_param_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Splits "/a/b/" into {"a", "b", ""}; "/" into {}. Precondition: starts with '/'.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  if (path.empty()) return segments;
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

}  // namespace

std::optional<std::string_view> RouteParams::get(std::string_view name) const {
  for (const auto& [key, value] : params_) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

void RouteParams::add(std::string name, std::string value) {
  params_.emplace_back(std::move(name), std::move(value));
}

Status Router::add(std::string method, std::string pattern, std::string name, Handler handler) {
  if (method.empty()) return invalid_argument("route method is empty");
  if (name.empty()) return invalid_argument("route name is empty for " + pattern);
  if (!handler) return invalid_argument("route " + name + " has no handler");
  if (pattern.empty() || pattern[0] != '/') {
    return invalid_argument("route pattern '" + pattern + "' does not start with '/'");
  }
  std::vector<Segment> segments;
  std::set<std::string, std::less<>> param_names;
  auto parts = split_path(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    bool braced = !part.empty() && part.front() == '{';
    if (!braced) {
      if (part.find_first_of("{}") != std::string_view::npos) {
        return invalid_argument("route pattern '" + pattern + "' has a stray brace");
      }
      segments.push_back({SegmentKind::kLiteral, std::string(part)});
      continue;
    }
    if (part.size() < 3 || part.back() != '}') {
      return invalid_argument("route pattern '" + pattern + "' has a malformed parameter");
    }
    std::string_view inner = part.substr(1, part.size() - 2);
    SegmentKind kind = SegmentKind::kParam;
    if (inner.size() > 3 && inner.substr(inner.size() - 3) == "...") {
      kind = SegmentKind::kCatchAll;
      inner.remove_suffix(3);
      if (i + 1 != parts.size()) {
        return invalid_argument("route pattern '" + pattern + "' has a catch-all before the end");
      }
    }
    if (!is_param_name(inner)) {
      return invalid_argument("route pattern '" + pattern + "' has a bad parameter name");
    }
    if (!param_names.insert(std::string(inner)).second) {
      return invalid_argument("route pattern '" + pattern + "' repeats parameter " +
                              std::string(inner));
    }
    segments.push_back({kind, std::string(inner)});
  }
  for (const auto& existing : routes_) {
    if (existing.route.method != method || existing.segments.size() != segments.size()) continue;
    bool same_shape = true;
    for (size_t i = 0; i < segments.size() && same_shape; ++i) {
      const auto& a = existing.segments[i];
      const auto& b = segments[i];
      same_shape = a.kind == b.kind && (a.kind != SegmentKind::kLiteral || a.text == b.text);
    }
    if (same_shape) {
      return Status(StatusCode::kAlreadyExists,
                    "route " + method + " " + pattern + " clashes with " + existing.route.pattern);
    }
  }
  routes_.push_back(CompiledRoute{
      Route{std::move(method), std::move(pattern), std::move(name), std::move(handler)},
      std::move(segments)});
  return Status::ok();
}

bool Router::match_segments(const std::vector<Segment>& pattern,
                            const std::vector<std::string>& path, RouteParams* params) {
  size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const Segment& segment = pattern[i];
    if (segment.kind == SegmentKind::kCatchAll) {
      if (i >= path.size()) return false;
      std::string rest;
      for (size_t k = i; k < path.size(); ++k) {
        if (k > i) rest += '/';
        rest += path[k];
      }
      if (rest.empty()) return false;
      if (params != nullptr) params->add(segment.text, std::move(rest));
      return true;
    }
    if (i >= path.size()) return false;
    if (segment.kind == SegmentKind::kLiteral) {
      if (path[i] != segment.text) return false;
    } else {
      if (path[i].empty()) return false;
      if (params != nullptr) params->add(segment.text, path[i]);
    }
  }
  return i == path.size();
}

bool Router::more_specific(const std::vector<Segment>& a, const std::vector<Segment>& b) {
  size_t common = std::min(a.size(), b.size());
  for (size_t i = 0; i < common; ++i) {
    if (a[i].kind != b[i].kind) return a[i].kind > b[i].kind;
  }
  return a.size() > b.size();
}

RouteMatch Router::match(std::string_view method, std::string_view path) const {
  RouteMatch result;
  if (path.empty() || path[0] != '/') return result;
  std::vector<std::string> decoded;
  for (std::string_view raw : split_path(path)) {
    auto segment = percent_decode(raw);
    if (!segment.is_ok()) return result;
    decoded.push_back(std::move(segment).value());
  }

  const CompiledRoute* best = nullptr;
  size_t best_index = 0;
  bool best_is_head_fallback = false;
  std::set<std::string> allowed;
  for (size_t index = 0; index < routes_.size(); ++index) {
    const CompiledRoute& candidate = routes_[index];
    if (!match_segments(candidate.segments, decoded, nullptr)) continue;
    const std::string& route_method = candidate.route.method;
    allowed.insert(route_method);
    if (route_method == "GET") allowed.insert("HEAD");
    bool exact = route_method == method;
    bool head_fallback = !exact && method == "HEAD" && route_method == "GET";
    if (!exact && !head_fallback) continue;
    // An exact HEAD route beats a GET fallback for the same shape; otherwise specificity decides.
    bool better =
        best == nullptr || more_specific(candidate.segments, best->segments) ||
        (!more_specific(best->segments, candidate.segments) && best_is_head_fallback && exact);
    if (better) {
      best = &candidate;
      best_index = index;
      best_is_head_fallback = head_fallback;
    }
  }
  if (best != nullptr) {
    result.kind = RouteMatch::Kind::kFound;
    result.route_index = best_index;
    match_segments(best->segments, decoded, &result.params);
    return result;
  }
  if (!allowed.empty()) {
    result.kind = RouteMatch::Kind::kMethodNotAllowed;
    for (const auto& allowed_method : allowed) {
      if (!result.allow.empty()) result.allow += ", ";
      result.allow += allowed_method;
    }
  }
  return result;
}

}  // namespace custos
