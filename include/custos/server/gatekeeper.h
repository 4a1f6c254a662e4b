// custos server: the gate every protected route passes through.
//
// Gatekeeper::guard wraps a route handler so that, before the handler runs,
// the request is authenticated (RequestAuthenticator: RFC 9421 signature or
// bearer token; 401 problem on failure) and then authorised (RequestAuthorizer:
// the route's one action on the resource the route names, decided by the
// current policy set; 403 problem naming the decision id on denial). The
// handler receives the AccessGrant: who is asking and the decision that let
// them, whose id it records next to any change it makes.
//
// The request context the policies see is built here from the principal's
// site profile (core/config.h SiteConfig) and from what the request proves:
//   hour, weekday        site-local (the site's utc_offset)
//   site_hours_start/end the site's working hours, when configured
//   device_posture       "healthy", "unknown" or "compromised" from the
//                        Custos-Device-Posture header; "unknown" unless the
//                        request's signature covers that header
//   geofence_ok          true when the signed Custos-Geo header ("LAT,LON",
//                        degrees) lies inside the site's geofence; false when
//                        the header is absent, not signed, or the site has
//                        no geofence
//   approvals            principal ids of second approvers (ApprovalBook),
//                        named by the Custos-Approval header ("apr-...",
//                        comma-separated); an approval counts only for the
//                        requester, action and resource it was granted for,
//                        until it expires, and is used up by an allowed request
//   source_ip, credential, scopes, time (auth.h)
// An API token's scopes are action names: it may only be used for those
// actions; outside them the request is denied (403) before the policies are asked.
//
// Every denial is logged (event "authz.denied": decision id, principal,
// action, resource, determining policies) and counted:
//   custos_auth_failures_total{reason}           401s by reason code
//   custos_authz_decisions_total{action,result}  result = allow | deny
//
// Thread-safety: guard() must be called while routes are being built; the
// handlers it returns, check() and the ApprovalBook are safe to use from any
// thread. The Gatekeeper borrows everything it is given.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/config.h"
#include "custos/core/status.h"
#include "custos/policy/entities.h"
#include "custos/server/auth.h"
#include "custos/server/metrics.h"
#include "custos/server/router.h"

namespace custos {

inline constexpr std::string_view kPostureHeader = "Custos-Device-Posture";
inline constexpr std::string_view kGeoHeader = "Custos-Geo";
inline constexpr std::string_view kApprovalHeader = "Custos-Approval";

// Great-circle distance in metres between two points given in degrees.
double distance_m(double latitude_a, double longitude_a, double latitude_b, double longitude_b);

// Parses "LAT,LON" (degrees; optional spaces). InvalidArgument otherwise.
Result<std::pair<double, double>> parse_geo(std::string_view text);

// What the approver allowed: one action on one resource for one requester.
struct Approval {
  std::string id;  // "apr-" + 32 hex digits
  std::string approver;
  std::string requester;
  std::string action;
  policy::EntityUid resource;
  UnixMicros expires_at = 0;
  std::string decision_id;  // the decision that let the approver grant it
};

// Second approvals for the two-person rule, held in memory (they are short
// lived; a restart drops them and the approver grants again). Granting is a
// logged action of the approver's (the route writes the log entry).
class ApprovalBook {
 public:
  explicit ApprovalBook(const Clock& clock, size_t max_live = 10000);

  // Records an approval; ResourceExhausted when too many are live.
  Result<Approval> grant(std::string approver, std::string requester, std::string action,
                         policy::EntityUid resource, std::chrono::microseconds ttl,
                         std::string decision_id);
  // The approvers of the live approvals among `ids` that match
  // (requester, action, resource). Unknown, expired or mismatched ids are ignored.
  std::set<std::string> approvers(const std::vector<std::string>& ids,
                                  std::string_view requester, std::string_view action,
                                  const policy::EntityUid& resource) const;
  // Uses up the matching approvals among `ids` (after an allowed request).
  void consume(const std::vector<std::string>& ids, std::string_view requester,
               std::string_view action, const policy::EntityUid& resource);
  size_t live() const;

 private:
  void expire_locked(UnixMicros now) const;

  const Clock& clock_;
  const size_t max_live_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Approval, std::less<>> approvals_;
};

// Who is asking and the decision that allowed them.
struct AccessGrant {
  AuthenticatedPrincipal who;
  AuthorizationDecision decision;
  policy::Entity resource;
};

// Builds the resource a request acts on; an error Status becomes the
// problem response (400 for InvalidArgument, 404 for NotFound...).
using ResourceFn = std::function<Result<policy::Entity>(
    const HttpRequest& request, const RouteParams& params, const AuthenticatedPrincipal& who)>;

struct RouteAccess {
  std::string action;   // e.g. "log.append"
  ResourceFn resource;  // required
  bool allow_quarantined = false;  // see AuthenticateMode
};

// The grant is the handler's own copy (keep it in an asynchronous continuation).
using GuardedHandler = std::function<void(const HttpRequest& request, const RouteParams& params,
                                          AccessGrant grant, Responder respond)>;

class Gatekeeper {
 public:
  Gatekeeper(const RequestAuthenticator& authenticator, const RequestAuthorizer& authorizer,
             ApprovalBook& approvals, std::vector<SiteConfig> sites, MetricsRegistry& metrics);
  Gatekeeper(const Gatekeeper&) = delete;
  Gatekeeper& operator=(const Gatekeeper&) = delete;

  // The handler to register: authenticate, authorise, then `handler`.
  Handler guard(RouteAccess access, GuardedHandler handler) const;

  // The same checks without the routing: the grant, or the 401/403/4xx
  // response to send. Used by guard() and by tests and benchmarks.
  std::variant<AccessGrant, HttpResponse> check(const HttpRequest& request,
                                                const RouteParams& params,
                                                const RouteAccess& access) const;

  // Authorises one more action for a request already authenticated as `who`
  // (e.g. each event of a capture document): the API-token scope check, the
  // context, the decision, the denial log and the metrics, as check() does.
  // The decision when allowed, otherwise the 403 response naming it.
  std::variant<AuthorizationDecision, HttpResponse> authorize(const HttpRequest& request,
                                                              const AuthenticatedPrincipal& who,
                                                              std::string_view action,
                                                              const policy::Entity& resource) const;

  // Whether `who` may do `action` on `resource`, for filtering the results of
  // a request already allowed (e.g. each event of a query answer): the same
  // scope check, context and decision as authorize(), but a "no" is only
  // counted (custos_authz_hidden_total), not logged as a denial, and no
  // approval is consumed.
  bool may(const HttpRequest& request, const AuthenticatedPrincipal& who, std::string_view action,
           const policy::Entity& resource) const;

  // The context the policies would see for `who` (exposed for tests).
  AuthorizationContext context_for(const HttpRequest& request, const AuthenticatedPrincipal& who,
                                   const std::vector<std::string>& approval_ids,
                                   std::string_view action,
                                   const policy::EntityUid& resource) const;

  const SiteConfig* site(std::string_view id) const;

 private:
  const RequestAuthenticator& authenticator_;
  const RequestAuthorizer& authorizer_;
  ApprovalBook& approvals_;
  std::map<std::string, SiteConfig, std::less<>> sites_;
  MetricsRegistry& metrics_;
};

// Everything between a request and a handler, wired together: the nonce
// cache, authenticator, authorizer, approval book and gatekeeper of one node.
struct AccessControlOptions {
  int64_t max_skew_seconds = 300;
  size_t nonce_cache_entries = 1000000;
  size_t key_cache_entries = 16384;  // prepared public keys for fast verification
  std::string scheme = "http";  // "https" when the listener terminates TLS
  std::vector<SiteConfig> sites;
};

class AccessControl {
 public:
  // Borrows the identity service, clock and metrics. The policy set starts
  // empty (everything denied) until set_policies().
  AccessControl(const identity::IdentityService& identity, const Clock& clock,
                MetricsRegistry& metrics, AccessControlOptions options = {});
  AccessControl(const AccessControl&) = delete;
  AccessControl& operator=(const AccessControl&) = delete;

  void set_policies(policy::PolicySet policies) { authorizer_.set_policies(std::move(policies)); }
  void set_policies(std::shared_ptr<const policy::PolicySet> policies) {
    authorizer_.set_policies(std::move(policies));
  }
  const Gatekeeper& gatekeeper() const { return gatekeeper_; }
  ApprovalBook& approvals() { return approvals_; }
  const RequestAuthenticator& authenticator() const { return authenticator_; }
  const RequestAuthorizer& authorizer() const { return authorizer_; }

 private:
  identity::NonceCache nonces_;
  RequestAuthenticator authenticator_;
  RequestAuthorizer authorizer_;
  ApprovalBook approvals_;
  Gatekeeper gatekeeper_;
};

// Approval ids named by the Custos-Approval header(s); empty when none.
std::vector<std::string> approval_ids_of(const HttpRequest& request);

}  // namespace custos
