#include "custos/server/identity_api.h"

#include <simdjson.h>

#include <chrono>
#include <memory>
#include <optional>

#include "custos/core/bytes.h"
#include "custos/core/json_writer.h"
#include "custos/identity/control_change.h"
#include "custos/server/log_api.h"

namespace custos {
namespace {

using identity::PrincipalPtr;

constexpr std::string_view kRegistry = "registry";

// ---- request bodies ----

// "\"name\"" for messages (built with += : g++ 12 warns about the + chain).
std::string member_name(std::string_view name) {
  std::string quoted = "\"";
  quoted += name;
  quoted += '"';
  return quoted;
}

// A JSON object body with typed, checked member access. Unknown members are
// refused so that a typo never silently falls back to a default.
class JsonBody {
 public:
  static Result<JsonBody> parse(const std::string& text,
                                std::initializer_list<std::string_view> allowed) {
    JsonBody body;
    body.state_ = std::make_unique<State>();
    body.state_->text = simdjson::padded_string(text);
    simdjson::dom::element root;
    if (body.state_->parser.parse(body.state_->text).get(root) != simdjson::SUCCESS) {
      return invalid_argument("the request body is not valid JSON");
    }
    if (root.get_object().get(body.object_) != simdjson::SUCCESS) {
      return invalid_argument("the request body must be a JSON object");
    }
    for (auto field : body.object_) {
      bool known = false;
      for (std::string_view name : allowed) known |= field.key == name;
      if (!known) return invalid_argument("unknown member \"" + std::string(field.key) + "\"");
    }
    return body;
  }

  bool has(std::string_view name) const {
    simdjson::dom::element value;
    return object_[name].get(value) == simdjson::SUCCESS;
  }

  Result<std::optional<std::string>> optional_string(std::string_view name) const {
    simdjson::dom::element value;
    if (object_[name].get(value) != simdjson::SUCCESS) return std::optional<std::string>();
    std::string_view text;
    if (value.get_string().get(text) != simdjson::SUCCESS) {
      return invalid_argument(member_name(name) + " must be a string");
    }
    return std::optional<std::string>(std::string(text));
  }

  Result<std::string> string(std::string_view name) const {
    CUSTOS_ASSIGN_OR_RETURN(std::optional<std::string> value, optional_string(name));
    if (!value || value->empty()) {
      return invalid_argument(member_name(name) + " is required");
    }
    return *value;
  }

  Result<std::optional<int64_t>> optional_integer(std::string_view name, int64_t min_value,
                                                  int64_t max_value) const {
    simdjson::dom::element value;
    if (object_[name].get(value) != simdjson::SUCCESS) return std::optional<int64_t>();
    int64_t number = 0;
    if (value.get_int64().get(number) != simdjson::SUCCESS || number < min_value ||
        number > max_value) {
      return invalid_argument(member_name(name) + " must be an integer in " +
                              std::to_string(min_value) + ".." + std::to_string(max_value));
    }
    return std::optional<int64_t>(number);
  }

  Result<std::optional<std::set<std::string>>> optional_string_set(std::string_view name) const {
    simdjson::dom::element value;
    if (object_[name].get(value) != simdjson::SUCCESS) {
      return std::optional<std::set<std::string>>();
    }
    simdjson::dom::array array;
    if (value.get_array().get(array) != simdjson::SUCCESS) {
      return invalid_argument(member_name(name) + " must be an array of strings");
    }
    std::set<std::string> result;
    for (auto item : array) {
      std::string_view text;
      if (item.get_string().get(text) != simdjson::SUCCESS) {
        return invalid_argument(member_name(name) + " must be an array of strings");
      }
      result.emplace(text);
    }
    return std::optional<std::set<std::string>>(std::move(result));
  }

  Result<std::optional<std::map<std::string, std::string>>> optional_string_map(
      std::string_view name) const {
    simdjson::dom::element value;
    if (object_[name].get(value) != simdjson::SUCCESS) {
      return std::optional<std::map<std::string, std::string>>();
    }
    simdjson::dom::object object;
    if (value.get_object().get(object) != simdjson::SUCCESS) {
      return invalid_argument(member_name(name) + " must be an object of strings");
    }
    std::map<std::string, std::string> result;
    for (auto field : object) {
      std::string_view text;
      if (field.value.get_string().get(text) != simdjson::SUCCESS) {
        return invalid_argument(member_name(name) + " must be an object of strings");
      }
      result.emplace(std::string(field.key), std::string(text));
    }
    return std::optional<std::map<std::string, std::string>>(std::move(result));
  }

 private:
  // Heap-held so that moving a JsonBody never moves what object_ points into.
  struct State {
    simdjson::padded_string text;
    simdjson::dom::parser parser;
  };
  std::unique_ptr<State> state_;
  simdjson::dom::object object_;
};

Result<Bytes> decode_base64_field(const JsonBody& body, std::string_view name) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, body.string(name));
  auto bytes = base64_decode(text);
  if (!bytes.is_ok()) return invalid_argument(member_name(name) + " must be base64");
  return bytes;
}

// The new key and its proof of possession in an enrollment or rotation body:
// "public_key" and "proof", base64.
struct KeyWithProof {
  Ed25519PublicKey key;
  Ed25519Signature proof;
};

Result<KeyWithProof> key_with_proof(const JsonBody& body) {
  CUSTOS_ASSIGN_OR_RETURN(Bytes key_bytes, decode_base64_field(body, "public_key"));
  CUSTOS_ASSIGN_OR_RETURN(Bytes proof_bytes, decode_base64_field(body, "proof"));
  CUSTOS_ASSIGN_OR_RETURN(Ed25519PublicKey key, Ed25519PublicKey::from_bytes(key_bytes));
  CUSTOS_ASSIGN_OR_RETURN(Ed25519Signature proof, Ed25519Signature::from_bytes(proof_bytes));
  return KeyWithProof{key, proof};
}

// ---- responses ----

void write_principal(JsonWriter& json, const identity::Principal& principal) {
  const identity::PrincipalAttributes& a = principal.attributes;
  json.begin_object()
      .key("id").string(a.id)
      .key("kind").string(identity::principal_kind_name(a.kind))
      .key("subtype").string(identity::device_subtype_name(a.subtype))
      .key("display_name").string(a.display_name)
      .key("site").string(a.site)
      .key("zone").string(a.zone)
      .key("roles").begin_array();
  for (const std::string& role : a.roles) json.string(role);
  json.end_array().key("vendor").string(a.vendor).key("shift").string(a.shift).key("tags");
  json.begin_object();
  for (const auto& [name, value] : a.tags) json.key(name).string(value);
  json.end_object()
      .key("status").string(identity::principal_status_name(principal.status))
      .key("status_reason").string(principal.status_reason)
      .key("keys").begin_array();
  for (const identity::PrincipalKey& key : principal.keys) {
    json.begin_object()
        .key("key_id").string(key.key_id)
        .key("public_key").base64_string(key.public_key.view())
        .key("not_before_us").number(static_cast<int64_t>(key.not_before));
    if (key.not_after) json.key("not_after_us").number(static_cast<int64_t>(*key.not_after));
    json.end_object();
  }
  json.end_array().key("tokens").begin_array();
  for (const identity::ApiTokenInfo& token : principal.tokens) {
    json.begin_object().key("token_id").string(token.token_id).key("scopes").begin_array();
    for (const std::string& scope : token.scopes) json.string(scope);
    json.end_array()
        .key("expires_at_us").number(static_cast<int64_t>(token.expires_at))
        .key("revoked").boolean(token.revoked)
        .end_object();
  }
  json.end_array()
      .key("has_password").boolean(principal.has_password)
      .key("has_totp").boolean(principal.has_totp)
      .key("created_at_index").number(principal.created_at_index)
      .key("last_change_index").number(principal.last_change_index)
      .end_object();
}

void write_receipt(JsonWriter& json, const identity::ChangeReceipt& receipt) {
  json.key("log_index").number(receipt.receipt.index);
}

// Ends the answer to a logged change: the entry's log index and the decision
// that allowed the change, in the object `json` has open.
HttpResponse change_response(int status, JsonWriter& json, const identity::ChangeReceipt& receipt,
                             const std::string& decision_id) {
  write_receipt(json, receipt);
  json.key("decision_id").string(decision_id).end_object();
  return json_response(status, json.take());
}

// ---- resources ----

policy::Entity registry_entity() {
  return policy::Entity{policy::EntityUid{"Custos::Principal", std::string(kRegistry)},
                        policy::Value::record({}), {}};
}

ResourceFn registry_resource() {
  return [](const HttpRequest&, const RouteParams&,
            const AuthenticatedPrincipal&) -> Result<policy::Entity> { return registry_entity(); };
}

// The principal named by the {id} path parameter, as an entity. An unknown
// id becomes Custos::Principal::"<id>" so that the policies decide first and
// only a caller allowed to look gets the handler's 404 (no probing for ids).
ResourceFn principal_resource(const identity::IdentityService& identity) {
  return [&identity](const HttpRequest&, const RouteParams& params,
                     const AuthenticatedPrincipal&) -> Result<policy::Entity> {
    PrincipalPtr principal = identity.find_principal(params.value("id"));
    if (!principal) {
      return policy::Entity{policy::EntityUid{"Custos::Principal", std::string(params.value("id"))},
                            policy::Value::record({}), {}};
    }
    return principal_entity(*principal);
  };
}

Result<policy::EntityUid> parse_resource_uid(std::string_view type, std::string_view id) {
  if (!type.starts_with("Custos::") || type.size() > 64 || id.empty() || id.size() > 256) {
    return invalid_argument("resource_type must be a Custos:: entity type and resource_id non-empty");
  }
  return policy::EntityUid{std::string(type), std::string(id)};
}

std::chrono::microseconds seconds(int64_t value) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::seconds(value));
}

}  // namespace

std::string rotation_proof_message(std::string_view principal_id,
                                   const Ed25519PublicKey& public_key,
                                   std::string_view old_key_id) {
  return identity::enrollment_proof_message(principal_id, public_key,
                                            "rotate:" + std::string(old_key_id));
}

Status add_identity_routes(Router& router, identity::IdentityService& identity,
                           AccessControl& access, ledger::Log& log, WorkQueue& control) {
  return add_identity_routes(router, identity, access, log, control, control);
}

Status add_identity_routes(Router& router, identity::IdentityService& identity,
                           AccessControl& access, ledger::Log& log, WorkQueue& control,
                           WorkQueue& logins) {
  const Gatekeeper& gate = access.gatekeeper();

  // ---- sessions ----
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/auth/login", "auth_login",
      [&identity, &logins](const HttpRequest& request, const RouteParams&, Responder respond) {
        respond_on(logins, std::move(respond), [&identity, body_text = request.body] {
          auto body = JsonBody::parse(body_text, {"principal", "password", "totp"});
          if (!body.is_ok()) return problem_from_status(body.status());
          auto principal = body->string("principal");
          auto password = body->string("password");
          auto totp = body->optional_string("totp");
          if (!principal.is_ok()) return problem_from_status(principal.status());
          if (!password.is_ok()) return problem_from_status(password.status());
          if (!totp.is_ok()) return problem_from_status(totp.status());
          auto session = identity.login(*principal, *password, totp->value_or(""));
          if (!session.is_ok()) {
            return unauthenticated_response(
                AuthFailure{std::string(kReasonInvalidToken), session.status().message()});
          }
          JsonWriter json;
          json.begin_object()
              .key("principal").string(*principal)
              .key("token").string(session->token)
              .key("expires_at_us").number(static_cast<int64_t>(session->expires_at))
              .end_object();
          return json_response(200, json.take());
        });
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/auth/logout", "auth_logout",
      [&identity](const HttpRequest& request, const RouteParams&, Responder respond) {
        std::string_view authorization = request.header("Authorization").value_or("");
        constexpr std::string_view kBearer = "Bearer ";
        if (!authorization.starts_with(kBearer) ||
            !identity.logout(authorization.substr(kBearer.size()))) {
          respond(unauthenticated_response(
              AuthFailure{std::string(kReasonInvalidToken), "no live session for this token"}));
          return;
        }
        HttpResponse response;
        response.status = 204;
        respond(std::move(response));
      }));

  // ---- principals ----
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/principals", "principal_list",
      gate.guard(RouteAccess{"status.read", registry_resource()},
                 [&identity](const HttpRequest& request, const RouteParams&, AccessGrant,
                             Responder respond) {
                   identity::PrincipalFilter filter;
                   if (auto kind = request.query_param("kind")) {
                     auto parsed = identity::parse_principal_kind(*kind);
                     if (!parsed.is_ok()) return respond(problem_from_status(parsed.status()));
                     filter.kind = *parsed;
                   }
                   if (auto status = request.query_param("status")) {
                     auto parsed = identity::parse_principal_status(*status);
                     if (!parsed.is_ok()) return respond(problem_from_status(parsed.status()));
                     filter.status = *parsed;
                   }
                   if (auto site = request.query_param("site")) filter.site = std::string(*site);
                   if (auto role = request.query_param("role")) filter.role = std::string(*role);
                   JsonWriter json;
                   json.begin_object().key("principals").begin_array();
                   for (const PrincipalPtr& principal : identity.list_principals(filter)) {
                     write_principal(json, *principal);
                   }
                   json.end_array().end_object();
                   respond(json_response(200, json.take()));
                 })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/principals", "principal_create",
      gate.guard(
          RouteAccess{"principal.change", registry_resource()},
          [&identity, &control](const HttpRequest& request, const RouteParams&, AccessGrant grant,
                                Responder respond) {
            respond_on(control, std::move(respond), [&identity, body_text = request.body,
                                                      grant = std::move(grant)] {
              auto body = JsonBody::parse(body_text,
                                          {"id", "kind", "subtype", "display_name", "site", "zone",
                                           "roles", "vendor", "shift", "tags", "password", "totp"});
              if (!body.is_ok()) return problem_from_status(body.status());
              identity::PrincipalAttributes attributes;
              auto id = body->string("id");
              auto kind = body->string("kind");
              if (!id.is_ok()) return problem_from_status(id.status());
              if (!kind.is_ok()) return problem_from_status(kind.status());
              attributes.id = *id;
              auto parsed_kind = identity::parse_principal_kind(*kind);
              if (!parsed_kind.is_ok()) return problem_from_status(parsed_kind.status());
              attributes.kind = *parsed_kind;
              for (auto [name, field] :
                   {std::pair{"subtype", (std::string*)nullptr},
                    std::pair{"display_name", &attributes.display_name},
                    std::pair{"site", &attributes.site}, std::pair{"zone", &attributes.zone},
                    std::pair{"vendor", &attributes.vendor},
                    std::pair{"shift", &attributes.shift}}) {
                auto value = body->optional_string(name);
                if (!value.is_ok()) return problem_from_status(value.status());
                if (!*value) continue;
                if (field != nullptr) {
                  *field = **value;
                } else {
                  auto subtype = identity::parse_device_subtype(**value);
                  if (!subtype.is_ok()) return problem_from_status(subtype.status());
                  attributes.subtype = *subtype;
                }
              }
              auto roles = body->optional_string_set("roles");
              if (!roles.is_ok()) return problem_from_status(roles.status());
              if (*roles) attributes.roles = **roles;
              auto tags = body->optional_string_map("tags");
              if (!tags.is_ok()) return problem_from_status(tags.status());
              if (*tags) attributes.tags = **tags;

              const std::string& actor = grant.who.id();
              const std::string& decision = grant.decision.decision_id;
              JsonWriter json;
              json.begin_object();
              if (attributes.kind == identity::PrincipalKind::kUser) {
                auto password = body->string("password");
                if (!password.is_ok()) {
                  return problem_from_status(
                      invalid_argument("a user needs \"password\" (at least 12 characters)"));
                }
                bool with_totp = false;
                if (body->has("totp")) with_totp = true;
                auto user = identity.create_user(attributes, *password, with_totp, actor, decision);
                if (!user.is_ok()) return change_problem(user.status());
                json.key("principal");
                write_principal(json, *user->principal);
                if (user->totp) {
                  json.key("totp_secret").string(user->totp->secret_base32);
                  json.key("otpauth_uri").string(user->totp->otpauth_uri);
                }
              } else {
                if (body->has("password")) {
                  return problem_from_status(invalid_argument("only users have passwords"));
                }
                auto receipt = identity.apply(identity::PrincipalCreate{attributes}, actor, decision);
                if (!receipt.is_ok()) return change_problem(receipt.status());
                json.key("principal");
                write_principal(json, *identity.find_principal(attributes.id));
                write_receipt(json, *receipt);
              }
              json.key("decision_id").string(decision).end_object();
              auto response = json_response(201, json.take());
              response.headers.set("Location", "/custos/v1/principals/" + percent_encode(attributes.id));
              return response;
            });
          })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/principals/{id}", "principal_show",
      gate.guard(RouteAccess{"status.read", principal_resource(identity), true},
                 [&identity](const HttpRequest&, const RouteParams& params, AccessGrant,
                             Responder respond) {
                   PrincipalPtr principal = identity.find_principal(params.value("id"));
                   if (!principal) {
                     return respond(problem_from_status(not_found("no such principal")));
                   }
                   JsonWriter json;
                   write_principal(json, *principal);
                   respond(json_response(200, json.take()));
                 })));

  // Status changes: suspend, quarantine, revoke, reactivate. Lifting a
  // quarantine is a containment override (two-person rule by default).
  auto status_resource = principal_resource(identity);
  for (auto [action, name] : {std::pair{"principal.change", "principal_status"},
                              std::pair{"containment.override", "principal_release"}}) {
    const bool lifting = std::string_view(action) == "containment.override";
    std::string path = lifting ? "/custos/v1/principals/{id}/release"
                               : "/custos/v1/principals/{id}/status";
    CUSTOS_RETURN_IF_ERROR(router.add(
        "POST", path, name,
        gate.guard(
            RouteAccess{action, status_resource},
            [&identity, &control, lifting](const HttpRequest& request, const RouteParams& params,
                                           AccessGrant grant, Responder respond) {
              respond_on(control, std::move(respond),
                          [&identity, lifting, body_text = request.body,
                           id = std::string(params.value("id")), grant = std::move(grant)] {
                auto body = JsonBody::parse(body_text, {"status", "reason"});
                if (!body.is_ok()) return problem_from_status(body.status());
                auto reason = body->string("reason");
                if (!reason.is_ok()) return problem_from_status(reason.status());
                identity::PrincipalStatusChange change;
                change.id = id;
                change.reason = *reason;
                PrincipalPtr current = identity.find_principal(id);
                if (!current) return problem_from_status(not_found("no such principal"));
                if (lifting) {
                  if (current->status != identity::PrincipalStatus::kQuarantined) {
                    return change_problem(
                        failed_precondition("principal \"" + id + "\" is not quarantined"));
                  }
                  change.status = identity::PrincipalStatus::kActive;
                } else {
                  auto status = body->string("status");
                  if (!status.is_ok()) return problem_from_status(status.status());
                  auto parsed = identity::parse_principal_status(*status);
                  if (!parsed.is_ok()) return problem_from_status(parsed.status());
                  if (current->status == identity::PrincipalStatus::kQuarantined &&
                      *parsed == identity::PrincipalStatus::kActive) {
                    return change_problem(failed_precondition(
                        "lifting a quarantine is a containment override: POST "
                        "/custos/v1/principals/" + id + "/release (needs a second approver)"));
                  }
                  change.status = *parsed;
                }
                auto receipt = identity.apply(change, grant.who.id(), grant.decision.decision_id);
                if (!receipt.is_ok()) return change_problem(receipt.status());
                JsonWriter json;
                json.begin_object().key("principal");
                write_principal(json, *identity.find_principal(id));
                return change_response(200, json, *receipt, grant.decision.decision_id);
              });
            })));
  }

  // ---- keys ----
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/principals/{id}/enrollments", "enrollment_create",
      gate.guard(RouteAccess{"key.change", principal_resource(identity)},
                 [&identity, &control](const HttpRequest& request, const RouteParams& params,
                                       AccessGrant grant, Responder respond) {
                   respond_on(control, std::move(respond),
                               [&identity, body_text = request.body,
                                id = std::string(params.value("id")), grant = std::move(grant)] {
                     auto body = JsonBody::parse(body_text.empty() ? "{}" : body_text, {"ttl_s"});
                     if (!body.is_ok()) return problem_from_status(body.status());
                     auto ttl = body->optional_integer("ttl_s", 1, 7 * 86400);
                     if (!ttl.is_ok()) return problem_from_status(ttl.status());
                     auto ticket = identity.create_enrollment(id, seconds(ttl->value_or(3600)),
                                                              grant.who.id(),
                                                              grant.decision.decision_id);
                     if (!ticket.is_ok()) return change_problem(ticket.status());
                     JsonWriter json;
                     json.begin_object()
                         .key("principal").string(id)
                         .key("token").string(ticket->token)
                         .key("expires_at_us").number(static_cast<int64_t>(ticket->expires_at));
                     return change_response(201, json, ticket->receipt, grant.decision.decision_id);
                   });
                 })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/enroll", "enroll",
      [&identity, &control](const HttpRequest& request, const RouteParams&, Responder respond) {
        respond_on(control, std::move(respond), [&identity, body_text = request.body] {
          auto body = JsonBody::parse(body_text, {"token", "public_key", "proof"});
          if (!body.is_ok()) return problem_from_status(body.status());
          auto token = body->string("token");
          if (!token.is_ok()) return change_problem(token.status());
          auto key = key_with_proof(*body);
          if (!key.is_ok()) return problem_from_status(key.status());
          auto receipt = identity.complete_enrollment(*token, key->key, key->proof, "enrollment");
          if (!receipt.is_ok()) {
            if (receipt.status().code() == StatusCode::kUnauthenticated) {
              return unauthenticated_response(
                  AuthFailure{std::string(kReasonInvalidToken), receipt.status().message()});
            }
            return change_problem(receipt.status());
          }
          JsonWriter json;
          json.begin_object().key("key_id").string(identity::key_id_for(key->key));
          write_receipt(json, *receipt);
          json.end_object();
          return json_response(201, json.take());
        });
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/principals/{id}/keys/rotate", "key_rotate",
      gate.guard(
          RouteAccess{"key.change", principal_resource(identity)},
          [&identity, &control](const HttpRequest& request, const RouteParams& params,
                                AccessGrant grant, Responder respond) {
            respond_on(control, std::move(respond),
                        [&identity, body_text = request.body, id = std::string(params.value("id")),
                         grant = std::move(grant)] {
              auto body =
                  JsonBody::parse(body_text, {"old_key_id", "public_key", "proof", "overlap_s"});
              if (!body.is_ok()) return problem_from_status(body.status());
              auto old_key = body->string("old_key_id");
              if (!old_key.is_ok()) return problem_from_status(old_key.status());
              auto new_key = key_with_proof(*body);
              if (!new_key.is_ok()) return problem_from_status(new_key.status());
              auto overlap = body->optional_integer("overlap_s", 0, 30 * 86400);
              if (!overlap.is_ok()) return problem_from_status(overlap.status());
              const Ed25519PublicKey& key = new_key->key;
              if (!ed25519_verify(key, as_bytes(rotation_proof_message(id, key, *old_key)),
                                  new_key->proof)) {
                return problem_from_status(
                    invalid_argument("the proof is not the new key's signature over the rotation "
                                     "message (proof of possession)"));
              }
              std::string new_key_id = identity::key_id_for(key);
              auto receipts = identity.rotate_key(id, *old_key, new_key_id, key,
                                                  seconds(overlap->value_or(3600)), grant.who.id(),
                                                  grant.decision.decision_id);
              if (!receipts.is_ok()) return change_problem(receipts.status());
              JsonWriter json;
              json.begin_object()
                  .key("principal").string(id)
                  .key("key_id").string(new_key_id)
                  .key("old_key_id").string(*old_key)
                  .key("decision_id").string(grant.decision.decision_id)
                  .end_object();
              return json_response(200, json.take());
            });
          })));

  // ---- API tokens ----
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/principals/{id}/tokens", "token_create",
      gate.guard(RouteAccess{"key.change", principal_resource(identity)},
                 [&identity, &control](const HttpRequest& request, const RouteParams& params,
                                       AccessGrant grant, Responder respond) {
                   respond_on(control, std::move(respond),
                               [&identity, body_text = request.body,
                                id = std::string(params.value("id")), grant = std::move(grant)] {
                     auto body = JsonBody::parse(body_text, {"scopes", "ttl_s"});
                     if (!body.is_ok()) return problem_from_status(body.status());
                     auto scopes = body->optional_string_set("scopes");
                     if (!scopes.is_ok()) return problem_from_status(scopes.status());
                     if (!*scopes || (*scopes)->empty()) {
                       return problem_from_status(invalid_argument(
                           "\"scopes\" (the actions the token may be used for) is required"));
                     }
                     auto ttl = body->optional_integer("ttl_s", 60, 366 * 86400);
                     if (!ttl.is_ok()) return problem_from_status(ttl.status());
                     auto token = identity.create_api_token(
                         id, **scopes, seconds(ttl->value_or(86400)), grant.who.id(),
                         grant.decision.decision_id);
                     if (!token.is_ok()) return change_problem(token.status());
                     JsonWriter json;
                     json.begin_object()
                         .key("principal").string(id)
                         .key("token").string(token->token)
                         .key("token_id").string(token->token_id)
                         .key("expires_at_us").number(static_cast<int64_t>(token->expires_at));
                     return change_response(201, json, token->receipt, grant.decision.decision_id);
                   });
                 })));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "DELETE", "/custos/v1/principals/{id}/tokens/{token_id}", "token_revoke",
      gate.guard(RouteAccess{"key.change", principal_resource(identity)},
                 [&identity, &control](const HttpRequest&, const RouteParams& params,
                                       AccessGrant grant, Responder respond) {
                   respond_on(control, std::move(respond),
                               [&identity, id = std::string(params.value("id")),
                                token_id = std::string(params.value("token_id")),
                                grant = std::move(grant)] {
                     auto receipt = identity.revoke_api_token(id, token_id, grant.who.id(),
                                                              grant.decision.decision_id);
                     if (!receipt.is_ok()) return change_problem(receipt.status());
                     JsonWriter json;
                     json.begin_object()
                         .key("principal").string(id)
                         .key("token_id").string(token_id)
                         .key("revoked").boolean(true);
                     return change_response(200, json, *receipt, grant.decision.decision_id);
                   });
                 })));

  // ---- approvals (two-person rule) ----
  // The resource of approval.grant is the resource being approved, named in
  // the body; the body is parsed twice (here and in the handler): it is small.
  ResourceFn approved_resource = [](const HttpRequest& request, const RouteParams&,
                                    const AuthenticatedPrincipal&) -> Result<policy::Entity> {
    CUSTOS_ASSIGN_OR_RETURN(JsonBody body,
                            JsonBody::parse(request.body, {"requester", "action", "resource_type",
                                                           "resource_id", "ttl_s"}));
    CUSTOS_ASSIGN_OR_RETURN(std::string type, body.string("resource_type"));
    CUSTOS_ASSIGN_OR_RETURN(std::string id, body.string("resource_id"));
    CUSTOS_ASSIGN_OR_RETURN(policy::EntityUid uid, parse_resource_uid(type, id));
    return policy::Entity{std::move(uid), policy::Value::record({}), {}};
  };
  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/approvals", "approval_grant",
      gate.guard(
          RouteAccess{"approval.grant", approved_resource},
          [&access, &log, &control](const HttpRequest& request, const RouteParams&,
                                    AccessGrant grant, Responder respond) {
            respond_on(control, std::move(respond), [&access, &log, body_text = request.body,
                                                      grant = std::move(grant)] {
              auto body = JsonBody::parse(
                  body_text, {"requester", "action", "resource_type", "resource_id", "ttl_s"});
              if (!body.is_ok()) return problem_from_status(body.status());
              auto requester = body->string("requester");
              auto action = body->string("action");
              auto ttl = body->optional_integer("ttl_s", 1, 86400);
              if (!requester.is_ok()) return problem_from_status(requester.status());
              if (!action.is_ok()) return problem_from_status(action.status());
              if (!ttl.is_ok()) return problem_from_status(ttl.status());
              auto approval = access.approvals().grant(
                  grant.who.id(), *requester, *action, grant.resource.uid,
                  seconds(ttl->value_or(900)), grant.decision.decision_id);
              if (!approval.is_ok()) return problem_from_status(approval.status());
              // The approval is a logged action of the approver's.
              JsonWriter entry;
              entry.begin_object()
                  .key("v").number(1)
                  .key("op").string("approval.grant")
                  .key("actor").string(grant.who.id())
                  .key("decision_id").string(grant.decision.decision_id)
                  .key("approval_id").string(approval->id)
                  .key("requester").string(approval->requester)
                  .key("action").string(approval->action)
                  .key("resource").string(approval->resource.to_string())
                  .key("expires_at").number(static_cast<int64_t>(approval->expires_at))
                  .end_object();
              ledger::AppendRequest append;
              append.kind = ledger::EntryKind::kAction;
              append.principal = grant.who.id();
              append.payload = to_bytes(entry.str());
              auto receipt = log.append(std::move(append));
              if (!receipt.is_ok()) return change_problem(receipt.status());
              JsonWriter json;
              json.begin_object()
                  .key("approval_id").string(approval->id)
                  .key("approver").string(approval->approver)
                  .key("requester").string(approval->requester)
                  .key("action").string(approval->action)
                  .key("resource").string(approval->resource.to_string())
                  .key("expires_at_us").number(static_cast<int64_t>(approval->expires_at))
                  .key("log_index").number(receipt->index)
                  .key("decision_id").string(grant.decision.decision_id)
                  .end_object();
              return json_response(201, json.take());
            });
          })));
  return Status::ok();
}

}  // namespace custos
