// Test helpers: principals and credentials for tests that go through the
// Gatekeeper (server and SDK tests). Header-only; each helper fails with the
// Status of the step that failed.
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/sdk/signer.h"

namespace custos::test_support {

// A service principal with the log_writer role (the default policies let it
// append) and an API token for it with `scopes`; returns the token.
inline Result<std::string> make_writer_token(identity::IdentityService& identity,
                                             const std::string& id = "writer",
                                             std::set<std::string> scopes = {"log.append", "log.read"}) {
  if (!identity.find_principal(id)) {
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kService;
    attributes.roles = {"log_writer"};
    CUSTOS_RETURN_IF_ERROR(
        identity.apply(identity::PrincipalCreate{attributes}, "test", "dec-test").status());
  }
  CUSTOS_ASSIGN_OR_RETURN(
      identity::NewApiToken token,
      identity.create_api_token(id, scopes, std::chrono::hours(1), "test", "dec-test"));
  return token.token;
}

// A device at (site, zone), enrolled with a fresh key through the real
// enrollment flow; returns the key.
inline Result<sdk::DeviceKey> make_device(identity::IdentityService& identity,
                                          const std::string& id, const std::string& site,
                                          const std::string& zone) {
  identity::PrincipalAttributes attributes;
  attributes.id = id;
  attributes.kind = identity::PrincipalKind::kDevice;
  attributes.subtype = identity::DeviceSubtype::kScanner;
  attributes.site = site;
  attributes.zone = zone;
  CUSTOS_RETURN_IF_ERROR(
      identity.apply(identity::PrincipalCreate{attributes}, "test", "dec-test").status());
  CUSTOS_ASSIGN_OR_RETURN(
      identity::EnrollmentTicket ticket,
      identity.create_enrollment(id, std::chrono::minutes(10), "test", "dec-test"));
  Ed25519KeyPair pair = Ed25519KeyPair::generate();
  std::string key_id = identity::key_id_for(pair.public_key());
  sdk::DeviceKey key{std::move(key_id), std::move(pair)};
  std::string message =
      identity::enrollment_proof_message(id, key.key_pair.public_key(), ticket.token);
  Ed25519Signature proof = key.key_pair.sign(as_bytes(message));
  CUSTOS_RETURN_IF_ERROR(
      identity.complete_enrollment(ticket.token, key.key_pair.public_key(), proof, "dec-test")
          .status());
  return key;
}

}  // namespace custos::test_support
