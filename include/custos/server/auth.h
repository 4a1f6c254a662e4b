// custos server: who is asking (authentication) and may they (authorisation).
//
// RequestAuthenticator establishes the principal behind an HttpRequest. A
// request that carries Signature-Input or Signature is judged by its HTTP
// Message Signature (RFC 9421) under the custos profile (sdk/signer.h): label
// "custos", alg ed25519, covering "@method" and "@target-uri" (rebuilt as
// "<scheme>://" + Host + request target) and "content-digest" when the body
// is not empty, with created (within max_skew_seconds of the clock), keyid
// and nonce. The key is looked up in the IdentityService at the clock's now:
// an unknown, expired or not-yet-valid key, or a suspended, quarantined or
// revoked principal, is refused with its own reason. Only a signature that
// verifies reaches the NonceCache, so a forged request cannot burn a nonce;
// a (keyid, nonce) pair seen before is refused as a replay. Without a
// signature, "Authorization: Bearer <token>" is checked with
// IdentityService::authenticate_token (sessions and API tokens). A signature
// is never downgraded to the bearer token when both are present. With
// neither, a TLS client certificate that the listener verified
// (HttpRequest::client_cert_sha256) authenticates the one principal whose
// tag kClientCertTag holds that fingerprint (status rules as for keys).
//
// A refusal is an AuthFailure: a stable, machine-readable reason code (the
// kReason* constants below; clients and dashboards may match on them) and a
// human message that never contains key material or a token. It becomes a
// 401 problem+json response with unauthenticated_response().
//
// RequestAuthorizer answers "may this principal do this action on this
// resource" with the Cedar policy engine. The principal is re-read from the
// IdentityService on every call (so a suspension applies to the very next
// decision, even for an already authenticated request) and becomes the
// entity Custos::<Kind>::"<id>" (Custos::Device, Custos::User,
// Custos::Service, Custos::Witness, Custos::Partner) with attributes
//   site, zone, vendor, shift, status, kind, subtype  (Strings; "" when unset)
//   roles                                             (Set of Strings)
//   tags                                              (Record of Strings)
// and parents Custos::Site::"<site>" and Custos::Zone::"<zone>" (the zone's
// parent being the site), those that are set. Actions are
// Custos::Action::"<name>". The context record holds the caller's extra
// pairs, then (overriding any extra of the same name) time (Long, UNIX
// seconds), hour (Long, 0..23) and weekday (Long, 1 = Monday .. 7), both in
// the site's local time (AuthorizationContext::utc_offset_minutes), source_ip (ipaddr, when known),
// credential ("signature", "session" or "api_token") and scopes (Set of
// Strings; the API token's scopes, else empty). IdentityService has no change
// counter, so the entity store is rebuilt per call, kept to the principal,
// its site and zone, and the resource: a handful of entities.
//
// Every decision carries a fresh random id ("dec-" + 32 hex digits) to log
// next to the action and to quote in a 403 (forbidden_response), and the ids
// of the determining policies. With no policies every request is denied.
//
// Thread-safety: authenticate(), authorize() and set_policies() may be called
// concurrently from any thread. Both classes borrow the IdentityService, the
// NonceCache and the Clock, which must outlive them.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519_prepared.h"
#include "custos/identity/identity_service.h"
#include "custos/identity/nonce_cache.h"
#include "custos/identity/principal.h"
#include "custos/policy/authorizer.h"
#include "custos/policy/entities.h"
#include "custos/policy/parser.h"
#include "custos/policy/value.h"
#include "custos/server/http.h"

namespace custos {

// ---- Authentication ----

inline constexpr std::string_view kCustosSignatureLabel = "custos";

// Reason codes of AuthFailure. Stable: part of the API.
inline constexpr std::string_view kReasonMissingCredentials = "missing_credentials";
inline constexpr std::string_view kReasonUnsupportedCredentials = "unsupported_credentials";
inline constexpr std::string_view kReasonMalformedRequest = "malformed_request";  // e.g. no Host
inline constexpr std::string_view kReasonMissingSignature =
    "missing_signature";  // no "custos" label
inline constexpr std::string_view kReasonMalformedSignature = "malformed_signature";
inline constexpr std::string_view kReasonUnsupportedAlgorithm = "unsupported_algorithm";
inline constexpr std::string_view kReasonMissingParameter =
    "missing_parameter";  // created, nonce, keyid, alg
inline constexpr std::string_view kReasonMissingComponent = "missing_component";
inline constexpr std::string_view kReasonUnknownKey = "unknown_key";
inline constexpr std::string_view kReasonKeyExpired = "key_expired";
inline constexpr std::string_view kReasonKeyNotYetValid = "key_not_yet_valid";
inline constexpr std::string_view kReasonPrincipalSuspended = "principal_suspended";
inline constexpr std::string_view kReasonPrincipalQuarantined = "principal_quarantined";
inline constexpr std::string_view kReasonPrincipalRevoked = "principal_revoked";
inline constexpr std::string_view kReasonBadSignature = "bad_signature";
inline constexpr std::string_view kReasonDigestMismatch = "digest_mismatch";
inline constexpr std::string_view kReasonSignatureExpired = "signature_expired";
inline constexpr std::string_view kReasonCreatedOutOfWindow = "created_out_of_window";
inline constexpr std::string_view kReasonReplayedNonce = "replayed_nonce";
inline constexpr std::string_view kReasonNonceCacheFull = "nonce_cache_full";
inline constexpr std::string_view kReasonInvalidToken = "invalid_token";
inline constexpr std::string_view kReasonUnknownClientCertificate = "unknown_client_certificate";

// The principal tag that binds a TLS client certificate to a principal: its
// value is the lower-case hex SHA-256 of the certificate's DER encoding.
inline constexpr std::string_view kClientCertTag = "tls_cert_sha256";

// Why a request was not authenticated.
struct AuthFailure {
  std::string reason;   // one of the kReason* codes
  std::string message;  // for humans and logs; no secrets
};

enum class CredentialMethod { kSignature, kSession, kApiToken, kClientCertificate };
// "signature", "session", "api_token", "client_certificate".
std::string_view credential_method_name(CredentialMethod method);

// Who an accepted request comes from, and how it proved it.
struct AuthenticatedPrincipal {
  identity::PrincipalPtr principal;  // as it was when the request was accepted
  CredentialMethod method = CredentialMethod::kSignature;
  std::string key_id;            // kSignature: the keyid that signed
  std::string nonce;             // kSignature: the nonce, now remembered
  int64_t created = 0;           // kSignature: UNIX seconds
  std::string token_id;          // kApiToken
  std::set<std::string> scopes;  // kApiToken
  // kSignature: the header fields the signature covers (lower-case names,
  // e.g. "content-digest"), so a caller can trust their values.
  std::vector<std::string> covered_headers;
  std::string signature_base;  // kSignature: the RFC 9421 signature base that was verified
  Bytes signature;             // kSignature: the raw Ed25519 signature (64 bytes)

  bool covers(std::string_view header) const;

  const std::string& id() const { return principal->id(); }
};

// The evidence a log entry keeps of the signed request that produced it
// (docs/storage.md, "request signature"): "custos-sig v1\n", the base64
// signature, "\n", then the signature base. Anyone holding the signer's
// public key can check it, and that its content-digest line matches the
// request body. Empty unless `who` authenticated with a signature.
std::string signature_evidence(const AuthenticatedPrincipal& who);

// The request signatures of `entries` consecutive log entries appended by one
// signed request (an EPCIS document's events: one request, many entries):
// the evidence in the first; in each later one, instead of a repeat,
// "custos-sig-ref v1\n<distance>\n<base64 SHA-256 of the evidence>", where
// the entry `distance` places earlier in the log holds the evidence itself
// (docs/storage.md, "request signature"). All empty when `evidence` is.
std::vector<std::string> group_request_signatures(const std::string& evidence, size_t entries);

// An AuthenticatedPrincipal or an AuthFailure.
class [[nodiscard]] AuthResult {
 public:
  AuthResult(AuthenticatedPrincipal principal) : state_(std::move(principal)) {}  // NOLINT
  AuthResult(AuthFailure failure) : state_(std::move(failure)) {}                 // NOLINT

  bool is_ok() const { return state_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  // Precondition: is_ok().
  const AuthenticatedPrincipal& value() const& { return std::get<0>(state_); }
  AuthenticatedPrincipal&& value() && { return std::get<0>(std::move(state_)); }
  const AuthenticatedPrincipal* operator->() const { return &value(); }
  // Precondition: !is_ok().
  const AuthFailure& failure() const { return std::get<1>(state_); }
  // OK, or Unauthenticated with "<reason>: <message>".
  Status status() const;

 private:
  std::variant<AuthenticatedPrincipal, AuthFailure> state_;
};

// 401 application/problem+json: type .../problems/unauthenticated, the
// failure's message as detail and its code as "reason"; with a
// WWW-Authenticate header naming the accepted schemes.
HttpResponse unauthenticated_response(const AuthFailure& failure);

// Per-request switches of RequestAuthenticator::authenticate.
struct AuthenticateMode {
  // Accept a quarantined principal's signature (the one route where it may
  // read its own status); everywhere else quarantine is refused at 401.
  bool allow_quarantined = false;
};

struct AuthenticatorOptions {
  int64_t max_skew_seconds = 300;  // should equal the NonceCache's
  std::string scheme = "http";     // for @target-uri; "https" once TLS terminates in custos
  // Public keys kept prepared for fast verification (~7.5 KiB each); 0 = none.
  size_t key_cache_entries = Ed25519KeyCache::kDefaultCapacity;
};

class RequestAuthenticator {
 public:
  RequestAuthenticator(const identity::IdentityService& identity, identity::NonceCache& nonces,
                       const Clock& clock, AuthenticatorOptions options = {});
  RequestAuthenticator(const RequestAuthenticator&) = delete;
  RequestAuthenticator& operator=(const RequestAuthenticator&) = delete;

  AuthResult authenticate(const HttpRequest& request, AuthenticateMode mode = {}) const;

  // Prepares the keys of active principals for fast verification (up to the
  // cache's capacity), so a device's first request after a restart does not
  // pay for it. Thread-safe; stops early when `stop` is requested. Returns
  // the number of keys prepared.
  size_t warm_key_cache(std::stop_token stop = {}) const;

 private:
  // `has_input` / `has_signature`: whether Signature-Input / Signature are present.
  AuthResult authenticate_signature(const HttpRequest& request, AuthenticateMode mode,
                                    bool has_input, bool has_signature) const;
  AuthResult authenticate_bearer(std::string_view authorization) const;
  AuthResult authenticate_client_certificate(const HttpRequest& request,
                                             AuthenticateMode mode) const;

  const identity::IdentityService& identity_;
  identity::NonceCache& nonces_;
  const Clock& clock_;
  const AuthenticatorOptions options_;
  // Thread-safe on its own; null when options_.key_cache_entries is 0.
  std::unique_ptr<Ed25519KeyCache> key_cache_;
};

// ---- Authorisation ----

// Entity type names.
inline constexpr std::string_view kSiteType = "Custos::Site";
inline constexpr std::string_view kZoneType = "Custos::Zone";
inline constexpr std::string_view kActionType = "Custos::Action";
// "Custos::Device", "Custos::User"...
std::string principal_entity_type(identity::PrincipalKind kind);
policy::EntityUid principal_uid(const identity::Principal& principal);
policy::EntityUid action_uid(std::string_view action);
// The principal as an entity (attributes and parents as described above).
policy::Entity principal_entity(const identity::Principal& principal);

// The peer address of "ip:port" or "[ip]:port" (HttpRequest::remote_address);
// InvalidArgument when it is neither.
Result<policy::IpAddr> source_ip_of(const HttpRequest& request);

// What the request context holds beyond the principal and the credential.
struct AuthorizationContext {
  std::optional<int64_t> time;              // UNIX seconds; default the clock's now
  int32_t utc_offset_minutes = 0;           // the site's offset: hour and weekday are site-local
  std::optional<policy::IpAddr> source_ip;  // omitted from the context when unset
  policy::RecordFields extra;               // e.g. {"site", String "site-1"}
};

struct AuthorizationDecision {
  bool allowed = false;
  std::string decision_id;                  // "dec-" + 32 lower-case hex digits
  std::vector<std::string> policy_ids;      // the determining policies (empty: default deny)
  std::vector<policy::PolicyError> errors;  // policies skipped because evaluation failed
  std::string principal_id;
  std::string action;
  std::string detail;  // why, in a sentence, for logs and the 403
};

// 403 application/problem+json: type .../problems/forbidden, with
// "decision_id" (and "reason": "forbidden") in the body.
HttpResponse forbidden_response(const AuthorizationDecision& decision);

class RequestAuthorizer {
 public:
  RequestAuthorizer(const identity::IdentityService& identity, const Clock& clock,
                    policy::PolicySet policies = {});
  RequestAuthorizer(const RequestAuthorizer&) = delete;
  RequestAuthorizer& operator=(const RequestAuthorizer&) = delete;

  // Replaces the policy set atomically: a decision uses either the old set or
  // the new one, never a mix. Decisions in flight keep the old set alive.
  void set_policies(policy::PolicySet policies);
  // The same for a set owned elsewhere (e.g. a PolicyStore version).
  void set_policies(std::shared_ptr<const policy::PolicySet> policies);

  // `resource` is an entity uid (attributes unknown: a policy reading them
  // errors and is skipped) or a full entity with attributes and parents.
  // A principal unknown to the IdentityService, suspended or revoked, is
  // denied without consulting the policies; a quarantined one is left to the
  // policies (the default set lets it read its own status only).
  AuthorizationDecision authorize(const AuthenticatedPrincipal& who, std::string_view action,
                                  const policy::EntityUid& resource,
                                  const AuthorizationContext& context = {}) const;
  AuthorizationDecision authorize(const AuthenticatedPrincipal& who, std::string_view action,
                                  const policy::Entity& resource,
                                  const AuthorizationContext& context = {}) const;

 private:
  std::shared_ptr<const policy::PolicySet> policies() const;

  const identity::IdentityService& identity_;
  const Clock& clock_;
  mutable std::mutex policies_mutex_;  // guards the pointer only, never held during evaluation
  std::shared_ptr<const policy::PolicySet> policies_;

  // The entity store of a principal's latest request, reused while the
  // principal is unchanged (identity hands out a new PrincipalPtr for every
  // change) and the resource is the same: a device mostly acts on one resource.
  struct CachedStore {
    identity::PrincipalPtr principal;
    policy::EntityUid resource_uid;
    policy::Value resource_attributes;
    std::vector<policy::EntityUid> resource_parents;
    std::shared_ptr<const policy::EntityStore> store;
  };
  std::shared_ptr<const policy::EntityStore> entity_store_for(
      const identity::PrincipalPtr& principal, const policy::Entity& resource) const;
  static constexpr size_t kStoreCacheEntries = 16384;
  mutable std::mutex store_cache_mutex_;
  mutable std::unordered_map<std::string, CachedStore> store_cache_;
};

}  // namespace custos
