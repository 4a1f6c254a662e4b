#include "custos/server/gatekeeper.h"

#include <cmath>
#include <cstdlib>
#include <exception>

#include "custos/core/bytes.h"
#include "custos/core/logging.h"
#include "custos/crypto/random.h"
#include "custos/server/log_api.h"

namespace custos {
namespace {

constexpr double kEarthRadiusM = 6371008.8;  // mean radius (IUGG)
constexpr double kPi = 3.14159265358979323846;

bool parse_degrees(std::string_view text, double* out) {
  std::string copy(trim_ows(text));
  if (copy.empty() || copy.size() > 32) return false;
  for (char c : copy) {
    if (!(c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

std::string resource_text(const policy::EntityUid& uid) { return uid.to_string(); }

}  // namespace

double distance_m(double latitude_a, double longitude_a, double latitude_b, double longitude_b) {
  const double to_radians = kPi / 180.0;
  const double phi_a = latitude_a * to_radians;
  const double phi_b = latitude_b * to_radians;
  const double d_phi = (latitude_b - latitude_a) * to_radians;
  const double d_lambda = (longitude_b - longitude_a) * to_radians;
  const double h = std::sin(d_phi / 2) * std::sin(d_phi / 2) +
                   std::cos(phi_a) * std::cos(phi_b) * std::sin(d_lambda / 2) *
                       std::sin(d_lambda / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(h)));
}

Result<std::pair<double, double>> parse_geo(std::string_view text) {
  size_t comma = text.find(',');
  double latitude = 0;
  double longitude = 0;
  if (comma == std::string_view::npos || !parse_degrees(text.substr(0, comma), &latitude) ||
      !parse_degrees(text.substr(comma + 1), &longitude) || latitude < -90 || latitude > 90 ||
      longitude < -180 || longitude > 180) {
    return invalid_argument(std::string(kGeoHeader) +
                            " must be \"LATITUDE,LONGITUDE\" in degrees, e.g. \"52.37,4.89\"");
  }
  return std::make_pair(latitude, longitude);
}

// ---- ApprovalBook ----

ApprovalBook::ApprovalBook(const Clock& clock, size_t max_live)
    : clock_(clock), max_live_(max_live) {}

void ApprovalBook::expire_locked(UnixMicros now) const {
  for (auto it = approvals_.begin(); it != approvals_.end();) {
    it = it->second.expires_at <= now ? approvals_.erase(it) : std::next(it);
  }
}

Result<Approval> ApprovalBook::grant(std::string approver, std::string requester,
                                     std::string action, policy::EntityUid resource,
                                     std::chrono::microseconds ttl, std::string decision_id) {
  if (ttl.count() <= 0) return invalid_argument("an approval needs a positive time to live");
  if (approver == requester) {
    return invalid_argument("an approver cannot approve their own request (two-person rule)");
  }
  const UnixMicros now = clock_.now_micros();
  std::lock_guard lock(mutex_);
  expire_locked(now);
  if (approvals_.size() >= max_live_) {
    return resource_exhausted("too many live approvals; wait for some to be used or expire");
  }
  Approval approval;
  approval.id = "apr-" + hex_encode(random_bytes(16));
  approval.approver = std::move(approver);
  approval.requester = std::move(requester);
  approval.action = std::move(action);
  approval.resource = std::move(resource);
  approval.expires_at = now + ttl.count();
  approval.decision_id = std::move(decision_id);
  approvals_.emplace(approval.id, approval);
  return approval;
}

std::set<std::string> ApprovalBook::approvers(const std::vector<std::string>& ids,
                                              std::string_view requester, std::string_view action,
                                              const policy::EntityUid& resource) const {
  std::set<std::string> result;
  if (ids.empty()) return result;
  const UnixMicros now = clock_.now_micros();
  std::lock_guard lock(mutex_);
  for (const std::string& id : ids) {
    auto it = approvals_.find(id);
    if (it == approvals_.end()) continue;
    const Approval& approval = it->second;
    if (approval.expires_at > now && approval.requester == requester &&
        approval.action == action && approval.resource == resource) {
      result.insert(approval.approver);
    }
  }
  return result;
}

void ApprovalBook::consume(const std::vector<std::string>& ids, std::string_view requester,
                           std::string_view action, const policy::EntityUid& resource) {
  std::lock_guard lock(mutex_);
  for (const std::string& id : ids) {
    auto it = approvals_.find(id);
    if (it != approvals_.end() && it->second.requester == requester &&
        it->second.action == action && it->second.resource == resource) {
      approvals_.erase(it);
    }
  }
}

size_t ApprovalBook::live() const {
  std::lock_guard lock(mutex_);
  expire_locked(clock_.now_micros());
  return approvals_.size();
}

std::vector<std::string> approval_ids_of(const HttpRequest& request) {
  std::vector<std::string> ids;
  for (const auto& [name, value] : request.headers) {
    if (!equals_ignore_case(name, kApprovalHeader)) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = trim_ows(rest.substr(0, comma));
      if (!item.empty() && ids.size() < 16) ids.emplace_back(item);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return ids;
}

// ---- Gatekeeper ----

Gatekeeper::Gatekeeper(const RequestAuthenticator& authenticator,
                       const RequestAuthorizer& authorizer, ApprovalBook& approvals,
                       std::vector<SiteConfig> sites, MetricsRegistry& metrics)
    : authenticator_(authenticator),
      authorizer_(authorizer),
      approvals_(approvals),
      metrics_(metrics) {
  for (SiteConfig& site : sites) {
    std::string id = site.id;
    sites_.emplace(std::move(id), std::move(site));
  }
}

const SiteConfig* Gatekeeper::site(std::string_view id) const {
  auto it = sites_.find(id);
  return it == sites_.end() ? nullptr : &it->second;
}

AuthorizationContext Gatekeeper::context_for(const HttpRequest& request,
                                             const AuthenticatedPrincipal& who,
                                             const std::vector<std::string>& approval_ids,
                                             std::string_view action,
                                             const policy::EntityUid& resource) const {
  AuthorizationContext context;
  const SiteConfig* home = who.principal ? site(who.principal->attributes.site) : nullptr;
  if (home != nullptr) {
    context.utc_offset_minutes = home->utc_offset_minutes;
    context.extra.emplace_back("site_hours_start", policy::Value::long_value(home->hours_start));
    context.extra.emplace_back("site_hours_end", policy::Value::long_value(home->hours_end));
  }
  if (auto ip = source_ip_of(request); ip.is_ok()) context.source_ip = *ip;

  // Only what the signature vouches for is believed.
  const bool signed_request = who.method == CredentialMethod::kSignature;
  std::string posture = "unknown";
  if (signed_request && who.covers(kPostureHeader)) {
    if (auto value = request.header(kPostureHeader)) {
      std::string_view reported = trim_ows(*value);
      if (reported == "healthy" || reported == "compromised") posture = std::string(reported);
    }
  }
  context.extra.emplace_back("device_posture", policy::Value::string(posture));

  bool geofence_ok = false;
  if (signed_request && home != nullptr && home->has_geofence && who.covers(kGeoHeader)) {
    if (auto value = request.header(kGeoHeader)) {
      if (auto point = parse_geo(*value); point.is_ok()) {
        geofence_ok = distance_m(point->first, point->second, home->latitude, home->longitude) <=
                      home->radius_m;
      }
    }
  }
  context.extra.emplace_back("geofence_ok", policy::Value::boolean(geofence_ok));

  std::vector<policy::Value> approvers;
  if (who.principal) {
    for (const std::string& approver :
         approvals_.approvers(approval_ids, who.principal->id(), action, resource)) {
      approvers.push_back(policy::Value::string(approver));
    }
  }
  context.extra.emplace_back("approvals", policy::Value::set(std::move(approvers)));
  return context;
}

std::variant<AccessGrant, HttpResponse> Gatekeeper::check(const HttpRequest& request,
                                                          const RouteParams& params,
                                                          const RouteAccess& access) const {
  AuthResult authenticated =
      authenticator_.authenticate(request, AuthenticateMode{access.allow_quarantined});
  if (!authenticated) {
    metrics_
        .counter("custos_auth_failures_total", "Requests refused at authentication, by reason",
                 {{"reason", authenticated.failure().reason}})
        .inc();
    log_event(LogLevel::kInfo, "authn.refused",
              {{"reason", authenticated.failure().reason},
               {"detail", authenticated.failure().message},
               {"remote", request.remote_address},
               {"target", request.path}});
    return unauthenticated_response(authenticated.failure());
  }
  AccessGrant grant;
  grant.who = std::move(authenticated).value();

  auto resource = access.resource(request, params, grant.who);
  if (!resource.is_ok()) return problem_from_status(resource.status());
  grant.resource = std::move(resource).value();

  auto decided = authorize(request, grant.who, access.action, grant.resource);
  if (auto* refusal = std::get_if<HttpResponse>(&decided)) return std::move(*refusal);
  grant.decision = std::get<AuthorizationDecision>(std::move(decided));
  return grant;
}

std::variant<AuthorizationDecision, HttpResponse> Gatekeeper::authorize(
    const HttpRequest& request, const AuthenticatedPrincipal& who, std::string_view action_name,
    const policy::Entity& resource) const {
  const std::string action(action_name);
  AuthorizationContext context;
  auto deny = [&](AuthorizationDecision decision) -> HttpResponse {
    // What the request looked like to the policies, for the operator's log
    // only (the caller learns the decision id, not the site's hours or fence).
    std::string facts;
    if (who.principal && !who.principal->attributes.site.empty() &&
        site(who.principal->attributes.site) == nullptr) {
      facts = "site \"" + who.principal->attributes.site + "\" not configured;";
    }
    for (const auto& [name, value] : context.extra) {
      facts += " " + name + "=" +
               (name == "approvals" ? std::to_string(value.as_set().size()) : value.to_string());
    }
    metrics_
        .counter("custos_authz_decisions_total", "Authorization decisions by action and result",
                 {{"action", action}, {"result", "deny"}})
        .inc();
    std::string policies;
    for (const std::string& id : decision.policy_ids) {
      if (!policies.empty()) policies += ",";
      policies += id;
    }
    log_event(LogLevel::kWarn, "authz.denied",
              {{"decision_id", decision.decision_id},
               {"principal", decision.principal_id},
               {"action", action},
               {"resource", resource_text(resource.uid)},
               {"policies", policies},
               {"detail", decision.detail},
               {"context", facts}});
    return forbidden_response(decision);
  };

  if (who.method == CredentialMethod::kApiToken && !who.scopes.count(action)) {
    AuthorizationDecision decision;
    decision.decision_id = "dec-" + hex_encode(random_bytes(16));
    decision.principal_id = who.id();
    decision.action = action;
    decision.detail = "the API token's scopes do not include \"" + action + "\"";
    return deny(std::move(decision));
  }

  const std::vector<std::string> approval_ids = approval_ids_of(request);
  context = context_for(request, who, approval_ids, action, resource.uid);
  AuthorizationDecision decision_made = authorizer_.authorize(who, action, resource, context);
  if (!decision_made.allowed) return deny(std::move(decision_made));
  if (!approval_ids.empty()) {
    approvals_.consume(approval_ids, who.id(), action, resource.uid);
  }
  metrics_
      .counter("custos_authz_decisions_total", "Authorization decisions by action and result",
               {{"action", action}, {"result", "allow"}})
      .inc();
  return decision_made;
}

bool Gatekeeper::may(const HttpRequest& request, const AuthenticatedPrincipal& who,
                     std::string_view action_name, const policy::Entity& resource) const {
  const std::string action(action_name);
  bool allowed = who.method != CredentialMethod::kApiToken || who.scopes.count(action) > 0;
  if (allowed) {
    const AuthorizationContext context = context_for(request, who, {}, action, resource.uid);
    allowed = authorizer_.authorize(who, action, resource, context).allowed;
  }
  if (!allowed) {
    metrics_
        .counter("custos_authz_hidden_total",
                 "Results withheld from an allowed request by policy, by action",
                 {{"action", action}})
        .inc();
  }
  return allowed;
}

Handler Gatekeeper::guard(RouteAccess access, GuardedHandler handler) const {
  return [this, access = std::move(access), handler = std::move(handler)](
             const HttpRequest& request, const RouteParams& params, Responder respond) {
    auto checked = check(request, params, access);
    if (auto* refusal = std::get_if<HttpResponse>(&checked)) {
      respond(std::move(*refusal));
      return;
    }
    handler(request, params, std::get<AccessGrant>(std::move(checked)), std::move(respond));
  };
}

}  // namespace custos

namespace custos {

AccessControl::AccessControl(const identity::IdentityService& identity, const Clock& clock,
                             MetricsRegistry& metrics, AccessControlOptions options)
    : nonces_(identity::NonceCacheOptions{options.max_skew_seconds, options.nonce_cache_entries}),
      authenticator_(identity, nonces_, clock,
                     AuthenticatorOptions{options.max_skew_seconds, options.scheme,
                                          options.key_cache_entries}),
      authorizer_(identity, clock),
      approvals_(clock),
      gatekeeper_(authenticator_, authorizer_, approvals_, std::move(options.sites), metrics) {}

}  // namespace custos
