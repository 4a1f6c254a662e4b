// custos server: identity, credential and approval endpoints.
//
// Every change goes through the Gatekeeper (action and resource below) and
// becomes a control entry in the log naming the caller and the decision id.
// Request and response bodies are JSON; docs/api.md describes every field.
//
//   POST   /custos/v1/auth/login                       open (the password is the credential)
//   POST   /custos/v1/auth/logout                      the session itself
//   GET    /custos/v1/principals                       status.read      Custos::Principal::"registry"
//   POST   /custos/v1/principals                       principal.change Custos::Principal::"registry"
//   GET    /custos/v1/principals/{id}                  status.read      the principal (quarantined may ask)
//   POST   /custos/v1/principals/{id}/status           principal.change the principal
//                                                      (containment.override to lift a quarantine)
//   POST   /custos/v1/principals/{id}/enrollments      key.change       the principal
//   POST   /custos/v1/enroll                           open (the one-time token + proof of possession)
//   POST   /custos/v1/principals/{id}/keys/rotate      key.change       the principal
//   POST   /custos/v1/principals/{id}/tokens           key.change       the principal
//   DELETE /custos/v1/principals/{id}/tokens/{token}   key.change       the principal
//   POST   /custos/v1/approvals                        approval.grant   the resource approved
//
// Changes block on the log's group commit, so their handlers run on the
// `control` work queue, never on an I/O thread. Logins (an Argon2id hash
// each, unauthenticated) run on `logins`, so a flood of them cannot delay
// trust changes such as a suspension.
#pragma once

#include <string>

#include "custos/core/status.h"
#include "custos/core/work_queue.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/server/gatekeeper.h"
#include "custos/server/router.h"

namespace custos {

// The message a new key's holder signs to prove possession when rotating to
// it: identity::enrollment_proof_message(principal, key, "rotate:" + old key id).
std::string rotation_proof_message(std::string_view principal_id,
                                   const Ed25519PublicKey& public_key,
                                   std::string_view old_key_id);

// Adds the routes above. Everything is borrowed and must outlive the server.
Status add_identity_routes(Router& router, identity::IdentityService& identity,
                           AccessControl& access, ledger::Log& log, WorkQueue& control,
                           WorkQueue& logins);
// The same with logins on `control` (tests).
Status add_identity_routes(Router& router, identity::IdentityService& identity,
                           AccessControl& access, ledger::Log& log, WorkQueue& control);

}  // namespace custos
