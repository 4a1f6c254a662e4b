#include "custos/server/policy_api.h"

#include <memory>

#include "custos/core/bytes.h"
#include "custos/core/json_writer.h"
#include "custos/server/log_api.h"

namespace custos {
namespace {

void write_info(JsonWriter& json, const policy::PolicyVersionInfo& info) {
  json.key("version").number(info.version)
      .key("sha256").string(info.sha256.hex())
      .key("log_index").number(info.log_index)
      .key("logged_at_us").number(static_cast<int64_t>(info.logged_at))
      .key("actor").string(info.actor)
      .key("decision_id").string(info.decision_id)
      .key("policy_count").number(static_cast<uint64_t>(info.policy_count));
}

policy::Entity active_policy_entity() {
  return policy::Entity{policy::EntityUid{"Custos::Policy", std::string(kActivePolicyId)},
                        policy::Value::record({}), {}};
}

}  // namespace

Status follow_policy_store(policy::PolicyStore& policies, AccessControl& access) {
  auto enforce = [&access](const std::shared_ptr<const policy::PolicyVersion>& version) {
    // The set lives inside the version: share ownership of the whole version.
    access.set_policies(std::shared_ptr<const policy::PolicySet>(version, &version->policies));
  };
  std::shared_ptr<const policy::PolicyVersion> current = policies.current();
  if (!current) return failed_precondition("the policy store holds no version yet");
  enforce(current);
  policies.set_on_change(enforce);
  return Status::ok();
}

Status add_policy_routes(Router& router, policy::PolicyStore& policies, const Gatekeeper& gate,
                         WorkQueue& control) {
  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/policies", "policy_list",
      [&policies](const HttpRequest&, const RouteParams&, Responder respond) {
        auto current = policies.current();
        JsonWriter json;
        json.begin_object().key("current").number(current ? current->version : uint64_t{0});
        json.key("versions").begin_array();
        for (const policy::PolicyVersionInfo& info : policies.list()) {
          json.begin_object();
          write_info(json, info);
          json.end_object();
        }
        json.end_array().end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "GET", "/custos/v1/policies/{version}", "policy_show",
      [&policies](const HttpRequest&, const RouteParams& params, Responder respond) {
        std::string_view name = params.value("version");
        std::shared_ptr<const policy::PolicyVersion> version;
        if (name == "current") {
          version = policies.current();
          if (!version) return respond(problem_from_status(not_found("no policy version yet")));
        } else {
          auto number = parse_decimal_u64(name);
          if (!number.is_ok()) {
            return respond(problem_from_status(
                invalid_argument("a policy version is a decimal number or \"current\"")));
          }
          auto found = policies.get(*number);
          if (!found.is_ok()) return respond(problem_from_status(found.status()));
          version = *found;
        }
        JsonWriter json;
        json.begin_object();
        write_info(json, version->info());
        json.key("text").string(version->text).end_object();
        respond(json_response(200, json.take()));
      }));

  CUSTOS_RETURN_IF_ERROR(router.add(
      "POST", "/custos/v1/policies", "policy_push",
      gate.guard(
          RouteAccess{"policy.change",
                      [](const HttpRequest&, const RouteParams&,
                         const AuthenticatedPrincipal&) -> Result<policy::Entity> {
                        return active_policy_entity();
                      }},
          [&policies, &control](const HttpRequest& request, const RouteParams&, AccessGrant grant,
                                Responder respond) {
            respond_on(control, std::move(respond), [&policies, text = request.body,
                                                     grant = std::move(grant)] {
              std::vector<policy::ValidationError> errors;
              auto pushed = policies.push(text, grant.who.id(), grant.decision.decision_id, &errors);
              if (pushed.is_ok()) {
                JsonWriter json;
                json.begin_object();
                write_info(json, *pushed);
                json.end_object();
                return json_response(201, json.take());
              }
              if (errors.empty()) return change_problem(pushed.status());
              JsonWriter json;
              json.begin_object()
                  .key("type").string("https://custos.dev/problems/invalid-policy")
                  .key("title").string("Invalid policy")
                  .key("status").number(400)
                  .key("detail").string(pushed.status().message())
                  .key("errors").begin_array();
              for (const policy::ValidationError& error : errors) {
                json.begin_object()
                    .key("line").number(error.line)
                    .key("column").number(error.column)
                    .key("message").string(error.message)
                    .end_object();
              }
              json.end_array().end_object();
              HttpResponse response;
              response.status = 400;
              response.body = json.take();
              response.content_type = "application/problem+json";
              return response;
            });
          })));
  return Status::ok();
}

}  // namespace custos
