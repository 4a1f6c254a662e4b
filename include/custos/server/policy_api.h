// custos server: the policy set's endpoints.
//
// Policies are public (every version is a control entry in the public log),
// so reading them is open; changing them is the action policy.change on
// Custos::Policy::"active", which the default set puts under the two-person
// rule (a second approver's Custos-Approval header).
//
//   GET  /custos/v1/policies              {"current": N, "versions": [info...]}
//   GET  /custos/v1/policies/{version}    one version with its text ("current" for the latest)
//   POST /custos/v1/policies              body: the policy text (text/plain); 201 with the new
//                                         version; 400 with "errors": [{line, column, message}]
//                                         when it does not parse or names unknown types,
//                                         actions or attributes (nothing is logged then);
//                                         409 when it equals the current version
//
// The push runs on the `control` work queue (it waits for the log's group
// commit). The caller's AccessControl follows the store through
// PolicyStore::set_on_change, which the composition root sets.
#pragma once

#include "custos/core/status.h"
#include "custos/core/work_queue.h"
#include "custos/policy/policy_store.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/router.h"

namespace custos {

inline constexpr std::string_view kActivePolicyId = "active";

// Adds the routes above; everything is borrowed and must outlive the server.
Status add_policy_routes(Router& router, policy::PolicyStore& policies, const Gatekeeper& gate,
                         WorkQueue& control);

// Makes `access` enforce the store's current version now and after every push.
// FailedPrecondition when the store has no version yet.
Status follow_policy_store(policy::PolicyStore& policies, AccessControl& access);

}  // namespace custos
