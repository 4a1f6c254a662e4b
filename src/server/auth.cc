#include "custos/server/auth.h"

#include <algorithm>
#include <array>
#include <span>

#include "custos/core/bytes.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/http_signature.h"
#include "custos/crypto/random.h"
#include "custos/crypto/sha256.h"

namespace custos {
namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;

int64_t floor_seconds(UnixMicros micros) {
  int64_t seconds = micros / kMicrosPerSecond;
  if (micros % kMicrosPerSecond < 0) --seconds;
  return seconds;
}

AuthFailure refuse(std::string_view reason, std::string message) {
  return AuthFailure{std::string(reason), std::move(message)};
}

std::string_view reason_for(SignatureError error) {
  switch (error) {
    case SignatureError::kMissingSignature:
      return kReasonMissingSignature;
    case SignatureError::kMalformedSignature:
      return kReasonMalformedSignature;
    case SignatureError::kUnsupportedAlgorithm:
      return kReasonUnsupportedAlgorithm;
    case SignatureError::kUnknownKey:
      return kReasonUnknownKey;
    case SignatureError::kMissingParameter:
      return kReasonMissingParameter;
    case SignatureError::kMissingComponent:
      return kReasonMissingComponent;
    case SignatureError::kExpired:
      return kReasonSignatureExpired;
    case SignatureError::kCreatedOutOfWindow:
      return kReasonCreatedOutOfWindow;
    case SignatureError::kBadSignature:
      return kReasonBadSignature;
    case SignatureError::kDigestMismatch:
      return kReasonDigestMismatch;
  }
  return kReasonMalformedSignature;
}

// The reason a key the lookup found is not usable, or "" when it is.
std::string_view reason_for(identity::KeyVerdict verdict) {
  switch (verdict) {
    case identity::KeyVerdict::kValid:
      return "";
    case identity::KeyVerdict::kUnknownKey:
      return kReasonUnknownKey;
    case identity::KeyVerdict::kNotYetValid:
      return kReasonKeyNotYetValid;
    case identity::KeyVerdict::kExpired:
      return kReasonKeyExpired;
    case identity::KeyVerdict::kPrincipalSuspended:
      return kReasonPrincipalSuspended;
    case identity::KeyVerdict::kPrincipalQuarantined:
      return kReasonPrincipalQuarantined;
    case identity::KeyVerdict::kPrincipalRevoked:
      return kReasonPrincipalRevoked;
  }
  return kReasonUnknownKey;
}

bool has_header(const HttpRequest& request, std::string_view name) {
  return request.headers.contains(name);
}

// What a refusal may say about a signature that did not verify. Messages are
// returned to the caller and logged, so they never repeat free text from the
// request (a client that put a token into keyid, alg or a component name
// would otherwise see it written to the server's log); the reason code says
// what was wrong. Details made only of numbers or fixed text are kept.
std::string refusal_detail(const SignatureFailure& failure) {
  switch (failure.reason) {
    case SignatureError::kUnknownKey:
      return "keyid does not name an enrolled key";
    case SignatureError::kUnsupportedAlgorithm:
      return "alg must be \"ed25519\"";
    case SignatureError::kMalformedSignature:
      return "Signature-Input or Signature is not a valid \"custos\" signature (RFC 9421, RFC 8941)";
    case SignatureError::kMissingComponent:
      if (failure.detail.starts_with("required component ") ||
          failure.detail.starts_with("the request has a body")) {
        return failure.detail;
      }
      return "a covered component is missing from the request";
    default:
      return failure.detail;
  }
}

// "dec-" + 32 hex digits of 16 bytes from the CSPRNG. The bytes are fetched
// for 64 decisions at a time per thread: one getrandom() call instead of one
// per decision, the ids as random as before. (custos never forks, so no two
// processes share a thread's pool.)
std::string new_decision_id() {
  constexpr size_t kIdBytes = 16;
  constexpr size_t kIdsPerFetch = 64;
  thread_local std::array<uint8_t, kIdBytes * kIdsPerFetch> pool{};
  thread_local size_t next_id = kIdsPerFetch;
  if (next_id == kIdsPerFetch) {
    Bytes fresh = random_bytes(pool.size());
    std::copy(fresh.begin(), fresh.end(), pool.begin());
    next_id = 0;
  }
  uint8_t* id = pool.data() + next_id * kIdBytes;
  ++next_id;
  std::string text = "dec-";
  text += hex_encode(ByteView(id, kIdBytes));
  std::fill(id, id + kIdBytes, uint8_t{0});  // each id is handed out once
  return text;
}

}  // namespace

// ---- Authentication ----

std::string_view credential_method_name(CredentialMethod method) {
  switch (method) {
    case CredentialMethod::kSignature:
      return "signature";
    case CredentialMethod::kSession:
      return "session";
    case CredentialMethod::kApiToken:
      return "api_token";
    case CredentialMethod::kClientCertificate:
      return "client_certificate";
  }
  return "unknown";
}

bool AuthenticatedPrincipal::covers(std::string_view header) const {
  for (const std::string& covered : covered_headers) {
    if (equals_ignore_case(covered, header)) return true;
  }
  return false;
}

std::string signature_evidence(const AuthenticatedPrincipal& who) {
  if (who.method != CredentialMethod::kSignature || who.signature.empty()) return "";
  return "custos-sig v1\n" + base64_encode(who.signature) + "\n" + who.signature_base;
}

std::vector<std::string> group_request_signatures(const std::string& evidence, size_t entries) {
  std::vector<std::string> signatures;
  if (entries == 0) return signatures;
  signatures.reserve(entries);
  signatures.push_back(evidence);
  if (evidence.empty()) {
    signatures.resize(entries);
    return signatures;
  }
  const std::string digest = base64_encode(sha256(evidence).view());  // once per request
  for (size_t distance = 1; distance < entries; ++distance) {
    signatures.push_back("custos-sig-ref v1\n" + std::to_string(distance) + "\n" + digest);
  }
  return signatures;
}

Status AuthResult::status() const {
  if (is_ok()) return Status::ok();
  return Status(StatusCode::kUnauthenticated, failure().reason + ": " + failure().message);
}

HttpResponse unauthenticated_response(const AuthFailure& failure) {
  JsonWriter json;
  json.begin_object()
      .key("type")
      .string("https://custos.dev/problems/unauthenticated")
      .key("title")
      .string("Unauthenticated")
      .key("status")
      .number(401)
      .key("detail")
      .string(failure.message)
      .key("reason")
      .string(failure.reason)
      .end_object();
  HttpResponse response;
  response.status = 401;
  response.body = json.take();
  response.content_type = "application/problem+json";
  response.headers.set("WWW-Authenticate", "Signature, Bearer");
  return response;
}

RequestAuthenticator::RequestAuthenticator(const identity::IdentityService& identity,
                                           identity::NonceCache& nonces, const Clock& clock,
                                           AuthenticatorOptions options)
    : identity_(identity),
      nonces_(nonces),
      clock_(clock),
      options_(std::move(options)),
      key_cache_(options_.key_cache_entries > 0
                     ? std::make_unique<Ed25519KeyCache>(options_.key_cache_entries)
                     : nullptr) {}

size_t RequestAuthenticator::warm_key_cache(std::stop_token stop) const {
  if (!key_cache_) return 0;
  identity::PrincipalFilter active;
  active.status = identity::PrincipalStatus::kActive;
  size_t prepared = 0;
  for (const identity::PrincipalPtr& principal : identity_.list_principals(active)) {
    for (const identity::PrincipalKey& key : principal->keys) {
      if (stop.stop_requested() || prepared >= key_cache_->capacity()) return prepared;
      key_cache_->warm(key.public_key);
      ++prepared;
    }
  }
  return prepared;
}

AuthResult RequestAuthenticator::authenticate(const HttpRequest& request,
                                              AuthenticateMode mode) const {
  const bool has_input = has_header(request, "Signature-Input");
  const bool has_signature = has_header(request, "Signature");
  if (has_input || has_signature) {
    return authenticate_signature(request, mode, has_input, has_signature);
  }
  if (auto authorization = request.header("Authorization")) {
    return authenticate_bearer(*authorization);
  }
  if (!request.client_cert_sha256.empty()) return authenticate_client_certificate(request, mode);
  return refuse(kReasonMissingCredentials,
                "the request carries neither a signature nor an Authorization header");
}

AuthResult RequestAuthenticator::authenticate_signature(const HttpRequest& request,
                                                        AuthenticateMode mode, bool has_input,
                                                        bool has_signature) const {
  if (!has_input || !has_signature) {
    return refuse(kReasonMalformedSignature, "Signature-Input and Signature must be sent together");
  }
  std::optional<std::string_view> host = request.header("Host");
  if (!host || trim_ows(*host).empty()) {
    return refuse(kReasonMalformedRequest, "a signed request needs a Host header");
  }
  std::string_view target = request.target;
  if (target.empty() || target.front() != '/') {
    return refuse(kReasonMalformedRequest, "the request target must be in origin form");
  }
  std::string_view path = target;
  std::string_view query;
  if (size_t question = target.find('?'); question != std::string_view::npos) {
    path = target.substr(0, question);
    query = target.substr(question + 1);
  }

  SignedRequestView view;
  view.method = request.method;
  view.scheme = options_.scheme;
  view.authority = trim_ows(*host);
  view.path = path;
  view.query = query;
  view.header_values = header_values_from(request.headers.fields());
  view.body = request.body;

  const UnixMicros now_micros = clock_.now_micros();
  const int64_t now = floor_seconds(now_micros);
  VerifyPolicy policy;
  policy.required_components = {"@method", "@target-uri"};
  policy.require_content_digest = true;
  policy.require_created = true;
  policy.require_nonce = true;
  policy.max_skew_seconds = options_.max_skew_seconds;
  policy.now = now;
  policy.key_cache = key_cache_.get();

  // The lookup remembers what identity said, so a refused key is reported
  // with its own reason instead of verify_request's generic unknown key.
  // One pointer is captured, so the std::function holds it without allocating.
  struct LookupState {
    const identity::IdentityService& identity;
    UnixMicros now_micros;
    bool allow_quarantined;
    identity::KeyLookup lookup;
    bool looked_up = false;
    bool usable() const {
      return lookup.ok() || (allow_quarantined &&
                             lookup.verdict == identity::KeyVerdict::kPrincipalQuarantined);
    }
  };
  LookupState state{identity_, now_micros, mode.allow_quarantined, {}, false};
  KeyLookupFn key_lookup = [&state](std::string_view key_id) -> std::optional<Ed25519PublicKey> {
    state.lookup = state.identity.find_by_key_id(key_id, state.now_micros);
    state.looked_up = true;
    if (!state.usable()) return std::nullopt;
    return state.lookup.key.public_key;
  };
  const identity::KeyLookup& lookup = state.lookup;

  VerifyResult verified =
      verify_request(view, std::string_view(kCustosSignatureLabel), key_lookup, policy);
  if (!verified) {
    const SignatureFailure& failure = verified.failure();
    if (failure.reason == SignatureError::kUnknownKey && state.looked_up && lookup.principal) {
      std::string_view reason = reason_for(lookup.verdict);
      return refuse(
          reason, "key \"" + lookup.key.key_id + "\" of principal \"" + lookup.principal->id() +
                      "\" is refused: " + std::string(identity::key_verdict_name(lookup.verdict)));
    }
    return refuse(reason_for(failure.reason), refusal_detail(failure));
  }

  VerifiedSignature signature = std::move(verified).value();
  SignatureParams& params = signature.params;
  if (!params.alg) {
    return refuse(kReasonMissingParameter, "the custos profile requires alg=\"ed25519\"");
  }
  if (!params.keyid || !params.nonce || !params.created || !state.looked_up || !state.usable()) {
    // verify_request enforces all of these; refuse rather than trust a gap.
    return refuse(kReasonMissingParameter, "keyid, nonce and created are required");
  }

  switch (nonces_.check(*params.keyid, *params.nonce, *params.created, now)) {
    case identity::NonceVerdict::kAccepted:
      break;
    case identity::NonceVerdict::kReplayed:
      return refuse(kReasonReplayedNonce,
                    "this nonce was already used with key \"" + *params.keyid + "\"");
    case identity::NonceVerdict::kOutOfWindow:
      return refuse(kReasonCreatedOutOfWindow, "created is outside the replay window");
    case identity::NonceVerdict::kFull:
      return refuse(kReasonNonceCacheFull,
                    "the server cannot remember more nonces right now; retry later");
    case identity::NonceVerdict::kInvalid:
      return refuse(kReasonMissingParameter, "keyid and nonce must not be empty");
  }

  AuthenticatedPrincipal who;
  who.principal = lookup.principal;
  who.method = CredentialMethod::kSignature;
  who.key_id = std::move(*params.keyid);
  who.nonce = std::move(*params.nonce);
  who.created = *params.created;
  for (ComponentId& component : params.components) {
    if (!component.name.empty() && component.name.front() != '@') {
      who.covered_headers.push_back(std::move(component.name));
    }
  }
  who.signature_base = std::move(signature.signature_base);
  who.signature = std::move(signature.signature);
  return who;
}

AuthResult RequestAuthenticator::authenticate_client_certificate(const HttpRequest& request,
                                                                 AuthenticateMode mode) const {
  identity::PrincipalFilter filter;
  filter.tag = std::make_pair(std::string(kClientCertTag), request.client_cert_sha256);
  filter.limit = 2;
  std::vector<identity::PrincipalPtr> found = identity_.list_principals(filter);
  if (found.size() != 1) {
    return refuse(kReasonUnknownClientCertificate,
                  found.empty() ? "no principal is bound to this client certificate"
                                : "more than one principal is bound to this client certificate");
  }
  const identity::PrincipalPtr& principal = found.front();
  switch (principal->status) {
    case identity::PrincipalStatus::kActive:
      break;
    case identity::PrincipalStatus::kQuarantined:
      if (mode.allow_quarantined) break;
      return refuse(kReasonPrincipalQuarantined,
                    "principal \"" + principal->id() + "\" is quarantined");
    case identity::PrincipalStatus::kSuspended:
      return refuse(kReasonPrincipalSuspended, "principal \"" + principal->id() + "\" is suspended");
    case identity::PrincipalStatus::kRevoked:
      return refuse(kReasonPrincipalRevoked, "principal \"" + principal->id() + "\" is revoked");
  }
  AuthenticatedPrincipal who;
  who.principal = principal;
  who.method = CredentialMethod::kClientCertificate;
  return who;
}

AuthResult RequestAuthenticator::authenticate_bearer(std::string_view authorization) const {
  authorization = trim_ows(authorization);
  size_t space = std::min(authorization.find(' '), authorization.size());
  if (!equals_ignore_case(authorization.substr(0, space), "Bearer")) {
    return refuse(kReasonUnsupportedCredentials,
                  "Authorization must use the Bearer scheme (or sign the request)");
  }
  std::string_view token = trim_ows(authorization.substr(space));
  if (token.empty()) return refuse(kReasonInvalidToken, "the bearer token is empty");
  auto authenticated = identity_.authenticate_token(token);
  if (!authenticated.is_ok()) {
    return refuse(kReasonInvalidToken, authenticated.status().message());
  }
  AuthenticatedPrincipal who;
  who.principal = authenticated->principal;
  if (authenticated->kind == identity::CredentialKind::kApiToken) {
    who.method = CredentialMethod::kApiToken;
    who.token_id = authenticated->token_id;
    who.scopes = authenticated->scopes;
  } else {
    who.method = CredentialMethod::kSession;
  }
  return who;
}

// ---- Authorisation ----

std::string principal_entity_type(identity::PrincipalKind kind) {
  switch (kind) {
    case identity::PrincipalKind::kDevice:
      return "Custos::Device";
    case identity::PrincipalKind::kUser:
      return "Custos::User";
    case identity::PrincipalKind::kService:
      return "Custos::Service";
    case identity::PrincipalKind::kWitness:
      return "Custos::Witness";
    case identity::PrincipalKind::kPartner:
      return "Custos::Partner";
  }
  return "Custos::Principal";
}

policy::EntityUid principal_uid(const identity::Principal& principal) {
  return policy::EntityUid{principal_entity_type(principal.kind()), principal.id()};
}

policy::EntityUid action_uid(std::string_view action) {
  return policy::EntityUid{std::string(kActionType), std::string(action)};
}

namespace {

policy::EntityUid site_uid(const std::string& site) {
  return policy::EntityUid{std::string(kSiteType), site};
}

policy::EntityUid zone_uid(const std::string& zone) {
  return policy::EntityUid{std::string(kZoneType), zone};
}

// Values that many entities and contexts share are made once (immutable;
// copying a Value only counts a reference).
template <typename Enum, size_t kCount, std::string_view (*kNameOf)(Enum)>
policy::Value name_value(Enum value) {
  static const std::array<policy::Value, kCount> values = [] {
    std::array<policy::Value, kCount> made;
    for (size_t i = 0; i < kCount; ++i) {
      made[i] = policy::Value::string(std::string(kNameOf(static_cast<Enum>(i))));
    }
    return made;
  }();
  const auto index = static_cast<size_t>(value);
  return index < kCount ? values[index] : policy::Value::string(std::string(kNameOf(value)));
}

policy::Value text_value(const std::string& text) {
  static const policy::Value empty = policy::Value::string("");
  return text.empty() ? empty : policy::Value::string(text);
}

const policy::Value& empty_record() {
  static const policy::Value empty = policy::Value::record({});
  return empty;
}

// A set of strings (roles, scopes).
policy::Value string_set_value(const std::set<std::string>& strings) {
  static const policy::Value empty = policy::Value::set({});
  if (strings.empty()) return empty;
  std::vector<policy::Value> elements;
  elements.reserve(strings.size());
  for (const std::string& text : strings) elements.push_back(policy::Value::string(text));
  return policy::Value::set(std::move(elements));
}

// The context record: the caller's extra pairs, then `fixed` (sorted by key)
// overriding any extra of the same name. Built in key order, so that
// Value::record has nothing to sort (the same record as appending `fixed` to
// the extras and letting Value::record sort them).
policy::Value merged_context(const policy::RecordFields& extra,
                             std::span<std::pair<std::string_view, policy::Value>> fixed) {
  // Positions of the extras in key order, the last of equal keys kept.
  std::vector<uint32_t> order(extra.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    return extra[a].first < extra[b].first || (extra[a].first == extra[b].first && a < b);
  });
  policy::RecordFields fields;
  fields.reserve(extra.size() + fixed.size());
  size_t next_fixed = 0;
  for (size_t i = 0; i < order.size(); ++i) {
    const auto& [key, value] = extra[order[i]];
    if (i + 1 < order.size() && extra[order[i + 1]].first == key) continue;  // a later one wins
    while (next_fixed < fixed.size() && fixed[next_fixed].first < key) {
      fields.emplace_back(std::string(fixed[next_fixed].first), std::move(fixed[next_fixed].second));
      ++next_fixed;
    }
    if (next_fixed < fixed.size() && fixed[next_fixed].first == key) continue;  // fixed wins
    fields.emplace_back(key, value);
  }
  for (; next_fixed < fixed.size(); ++next_fixed) {
    fields.emplace_back(std::string(fixed[next_fixed].first), std::move(fixed[next_fixed].second));
  }
  return policy::Value::record(std::move(fields));
}

}  // namespace

policy::Entity principal_entity(const identity::Principal& principal) {
  const identity::PrincipalAttributes& attributes = principal.attributes;
  policy::RecordFields tags;
  tags.reserve(attributes.tags.size());
  for (const auto& [name, value] : attributes.tags) tags.emplace_back(name, text_value(value));
  policy::Entity entity;
  entity.uid = principal_uid(principal);
  // "id" repeats the entity id: Cedar cannot read an entity's id, and the
  // two-person rule (docs/policies) compares approvers with it.
  policy::RecordFields fields;
  fields.reserve(10);
  // In key order, so that Value::record has nothing to sort.
  fields.emplace_back("id", text_value(attributes.id));
  fields.emplace_back("kind", name_value<identity::PrincipalKind, 5, identity::principal_kind_name>(
                                  attributes.kind));
  fields.emplace_back("roles", string_set_value(attributes.roles));
  fields.emplace_back("shift", text_value(attributes.shift));
  fields.emplace_back("site", text_value(attributes.site));
  fields.emplace_back("status",
                      name_value<identity::PrincipalStatus, 4, identity::principal_status_name>(
                          principal.status));
  fields.emplace_back("subtype",
                      name_value<identity::DeviceSubtype, 7, identity::device_subtype_name>(
                          attributes.subtype));
  fields.emplace_back("tags", tags.empty() ? empty_record() : policy::Value::record(std::move(tags)));
  fields.emplace_back("vendor", text_value(attributes.vendor));
  fields.emplace_back("zone", text_value(attributes.zone));
  entity.attributes = policy::Value::record(std::move(fields));
  entity.parents.reserve(2);
  if (!attributes.site.empty()) entity.parents.push_back(site_uid(attributes.site));
  if (!attributes.zone.empty()) entity.parents.push_back(zone_uid(attributes.zone));
  return entity;
}

Result<policy::IpAddr> source_ip_of(const HttpRequest& request) {
  std::string_view address = request.remote_address;
  std::string_view host;
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos) {
      return invalid_argument("malformed remote address \"" + request.remote_address + "\"");
    }
    host = address.substr(1, close - 1);
  } else {
    size_t colon = address.rfind(':');
    host = colon == std::string_view::npos ? address : address.substr(0, colon);
  }
  auto ip = policy::IpAddr::parse(host);
  if (!ip.is_ok() || host.find('/') != std::string_view::npos) {
    return invalid_argument("malformed remote address \"" + request.remote_address + "\"");
  }
  return ip;
}

HttpResponse forbidden_response(const AuthorizationDecision& decision) {
  JsonWriter json;
  json.begin_object()
      .key("type")
      .string("https://custos.dev/problems/forbidden")
      .key("title")
      .string("Forbidden")
      .key("status")
      .number(403)
      .key("detail")
      .string(decision.detail)
      .key("reason")
      .string("forbidden")
      .key("decision_id")
      .string(decision.decision_id)
      .end_object();
  HttpResponse response;
  response.status = 403;
  response.body = json.take();
  response.content_type = "application/problem+json";
  return response;
}

RequestAuthorizer::RequestAuthorizer(const identity::IdentityService& identity, const Clock& clock,
                                     policy::PolicySet policies)
    : identity_(identity),
      clock_(clock),
      policies_(std::make_shared<const policy::PolicySet>(std::move(policies))) {}

void RequestAuthorizer::set_policies(policy::PolicySet policies) {
  auto replacement = std::make_shared<const policy::PolicySet>(std::move(policies));
  std::lock_guard lock(policies_mutex_);
  policies_.swap(replacement);
  // The old set is released (maybe destroyed) when `replacement` goes out of
  // scope, after the lock: destruction never happens under the mutex.
}

void RequestAuthorizer::set_policies(std::shared_ptr<const policy::PolicySet> policies) {
  if (!policies) policies = std::make_shared<const policy::PolicySet>();
  std::lock_guard lock(policies_mutex_);
  policies_.swap(policies);
}

std::shared_ptr<const policy::PolicySet> RequestAuthorizer::policies() const {
  std::lock_guard lock(policies_mutex_);
  return policies_;
}

std::shared_ptr<const policy::EntityStore> RequestAuthorizer::entity_store_for(
    const identity::PrincipalPtr& principal, const policy::Entity& resource) const {
  {
    std::lock_guard lock(store_cache_mutex_);
    auto cached = store_cache_.find(principal->id());
    if (cached != store_cache_.end() && cached->second.principal == principal &&
        cached->second.resource_uid == resource.uid &&
        cached->second.resource_parents == resource.parents &&
        cached->second.resource_attributes == resource.attributes) {
      return cached->second.store;
    }
  }
  const identity::PrincipalAttributes& attributes = principal->attributes;
  std::vector<policy::Entity> entities;
  entities.reserve(4);
  entities.push_back(principal_entity(*principal));
  if (!attributes.site.empty()) {
    entities.push_back(policy::Entity{site_uid(attributes.site), empty_record(), {}});
  }
  if (!attributes.zone.empty()) {
    policy::Entity zone{zone_uid(attributes.zone), empty_record(), {}};
    if (!attributes.site.empty()) zone.parents.push_back(site_uid(attributes.site));
    entities.push_back(std::move(zone));
  }
  // A resource that names the principal itself (or its site or zone) must
  // not replace identity's attributes: a repeated uid would keep the last.
  bool resource_is_known = false;
  for (const policy::Entity& entity : entities) resource_is_known |= entity.uid == resource.uid;
  if (!resource_is_known) entities.push_back(resource);

  auto built = policy::EntityStore::build(std::move(entities));
  if (!built.is_ok()) return nullptr;
  auto store = std::make_shared<const policy::EntityStore>(std::move(built).value());
  std::lock_guard lock(store_cache_mutex_);
  if (store_cache_.size() >= kStoreCacheEntries) store_cache_.clear();
  store_cache_[principal->id()] =
      CachedStore{principal, resource.uid, resource.attributes, resource.parents, store};
  return store;
}

AuthorizationDecision RequestAuthorizer::authorize(const AuthenticatedPrincipal& who,
                                                   std::string_view action,
                                                   const policy::EntityUid& resource,
                                                   const AuthorizationContext& context) const {
  return authorize(who, action, policy::Entity{resource, empty_record(), {}}, context);
}

AuthorizationDecision RequestAuthorizer::authorize(const AuthenticatedPrincipal& who,
                                                   std::string_view action,
                                                   const policy::Entity& resource,
                                                   const AuthorizationContext& context) const {
  AuthorizationDecision decision;
  decision.decision_id = new_decision_id();
  decision.action = std::string(action);
  decision.principal_id = who.principal ? who.principal->id() : std::string();

  // The current state, not the one at authentication time.
  identity::PrincipalPtr principal =
      who.principal ? identity_.find_principal(who.principal->id()) : nullptr;
  if (!principal) {
    decision.detail = "unknown principal";
    return decision;
  }
  if (principal->status == identity::PrincipalStatus::kSuspended ||
      principal->status == identity::PrincipalStatus::kRevoked) {
    decision.detail = "principal \"" + principal->id() + "\" is " +
                      std::string(principal_status_name(principal->status));
    return decision;
  }

  std::shared_ptr<const policy::EntityStore> store = entity_store_for(principal, resource);
  if (!store) {
    decision.detail = "entity store: the principal's hierarchy is invalid";
    return decision;
  }

  const int64_t now = context.time ? *context.time : floor_seconds(clock_.now_micros());
  const int64_t local = now + int64_t{context.utc_offset_minutes} * 60;
  int64_t local_day = local / 86400;
  int64_t second_of_day = local % 86400;
  if (second_of_day < 0) {
    second_of_day += 86400;
    --local_day;
  }
  const int64_t hour = second_of_day / 3600;
  // 1970-01-01 was a Thursday (4); 1 = Monday .. 7 = Sunday.
  int64_t weekday = (local_day + 3) % 7;
  if (weekday < 0) weekday += 7;
  weekday += 1;
  // The fields the authorizer sets, in key order.
  std::array<std::pair<std::string_view, policy::Value>, 6> fixed;
  size_t fixed_count = 0;
  fixed[fixed_count++] = {"credential", name_value<CredentialMethod, 4, credential_method_name>(who.method)};
  fixed[fixed_count++] = {"hour", policy::Value::long_value(hour)};
  fixed[fixed_count++] = {"scopes", string_set_value(who.scopes)};
  if (context.source_ip) fixed[fixed_count++] = {"source_ip", policy::Value::ip(*context.source_ip)};
  fixed[fixed_count++] = {"time", policy::Value::long_value(now)};
  fixed[fixed_count++] = {"weekday", policy::Value::long_value(weekday)};
  policy::Value context_record =
      merged_context(context.extra, std::span(fixed.data(), fixed_count));

  policy::Request request;
  request.principal = principal_uid(*principal);
  request.action = action_uid(action);
  request.resource = resource.uid;
  request.context = std::move(context_record);

  std::shared_ptr<const policy::PolicySet> policies = this->policies();
  policy::Decision evaluated = policy::is_authorized(request, *policies, *store);
  decision.allowed = evaluated.allowed;
  decision.policy_ids = std::move(evaluated.reasons);
  decision.errors = std::move(evaluated.errors);
  if (decision.allowed) {
    decision.detail = "allowed";
  } else if (decision.policy_ids.empty()) {
    decision.detail =
        "no policy permits \"" + decision.action + "\" for \"" + decision.principal_id + "\"";
  } else {
    decision.detail =
        "\"" + decision.action + "\" for \"" + decision.principal_id + "\" is forbidden by policy";
    for (size_t i = 0; i < decision.policy_ids.size(); ++i) {
      decision.detail += (i == 0 ? " " : ", ") + decision.policy_ids[i];
    }
  }
  return decision;
}

}  // namespace custos
