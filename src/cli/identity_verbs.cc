// custos login | principal | enroll | key | token | approve: identities and
// credentials, through a running server (--url + a credential) or, for
// bootstrapping, in-process on a stopped node's data directory (--data).
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/crypto/totp.h"
#include "custos/identity/control_change.h"
#include "custos/sdk/signer.h"
#include "custos/server/identity_api.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {
namespace {

constexpr std::string_view kLocalActor = "local-admin";
constexpr std::string_view kLocalDecision = "offline";

std::string path_segment(std::string_view id) { return percent_encode(id); }

// Writes a secret to a file (mode 0600), replacing an older one.
Status write_secret(const std::string& path, std::string_view text) {
  std::remove(path.c_str());
  return write_new_file(path, std::string(text) + "\n", 0600);
}

// Prints `secret` or, given a `path`, saves it there (mode 0600) and prints `saved_message`.
int print_or_save_secret(std::string_view verb, const std::string& secret, const std::string& path,
                         const std::string& saved_message) {
  if (path.empty()) {
    std::cout << secret << "\n";
    return kExitOk;
  }
  Status saved = write_secret(path, secret);
  if (!saved.is_ok()) return fail(verb, saved, kExitStorage);
  std::cout << saved_message << "\n";
  return kExitOk;
}

// --json: the server's answer as it came.
int print_answer(const std::string& answer) {
  std::cout << answer << "\n";
  return kExitOk;
}

Result<simdjson::dom::element> parse(simdjson::dom::parser& parser, const std::string& text) {
  simdjson::dom::element root;
  if (parser.parse(text).get(root) != simdjson::SUCCESS) {
    return invalid_argument("the server answered with malformed JSON");
  }
  return root;
}

std::string string_of(simdjson::dom::element element, std::string_view key) {
  std::string_view value;
  if (element[key].get_string().get(value) != simdjson::SUCCESS) return "";
  return std::string(value);
}

void print_principal(simdjson::dom::element p) {
  std::cout << string_of(p, "id") << "  " << string_of(p, "kind");
  if (!string_of(p, "subtype").empty()) std::cout << "/" << string_of(p, "subtype");
  std::cout << "  status=" << string_of(p, "status");
  if (!string_of(p, "site").empty()) std::cout << "  site=" << string_of(p, "site");
  if (!string_of(p, "zone").empty()) std::cout << "  zone=" << string_of(p, "zone");
  simdjson::dom::array roles;
  if (p["roles"].get_array().get(roles) == simdjson::SUCCESS && roles.size() > 0) {
    std::cout << "  roles=";
    bool first = true;
    for (auto role : roles) {
      std::cout << (first ? "" : ",") << std::string_view(role.get_string().value_unsafe());
      first = false;
    }
  }
  simdjson::dom::array keys;
  if (p["keys"].get_array().get(keys) == simdjson::SUCCESS) {
    std::cout << "  keys=" << keys.size();
  }
  std::cout << "\n";
}

Result<std::map<std::string, std::string>> parse_tags(const std::vector<std::string>& tags) {
  std::map<std::string, std::string> result;
  for (const std::string& tag : tags) {
    size_t equals = tag.find('=');
    if (equals == std::string::npos || equals == 0) {
      return invalid_argument("--tag must be KEY=VALUE, not '" + tag + "'");
    }
    result[tag.substr(0, equals)] = tag.substr(equals + 1);
  }
  return result;
}

}  // namespace

int run_login(const LoginOptions& options) {
  constexpr std::string_view kVerb = "login";
  std::string principal = options.principal;
  std::string password;
  std::string code = options.totp;
  if (!options.credentials_file.empty()) {
    auto credentials = read_credentials_file(options.credentials_file);
    if (!credentials.is_ok()) return fail(kVerb, credentials.status(), kExitUsage);
    if (principal.empty()) principal = credentials->principal;
    password = credentials->password;
    if (code.empty() && !credentials->totp_secret.empty()) {
      auto secret = base32_decode(credentials->totp_secret);
      if (!secret.is_ok()) return fail(kVerb, secret.status(), kExitUsage);
      auto now = SystemClock().now_micros() / 1000000;
      auto computed = totp(*secret, now);
      if (!computed.is_ok()) return fail(kVerb, computed.status(), kExitUsage);
      code = *computed;
    }
  } else if (!options.password_file.empty()) {
    auto secret = read_secret_file(options.password_file);
    if (!secret.is_ok()) return fail(kVerb, secret.status(), kExitUsage);
    password = *secret;
  } else {
    return fail(kVerb, invalid_argument("give --credentials FILE or --password-file FILE"),
                kExitUsage);
  }
  if (principal.empty()) return fail(kVerb, invalid_argument("--user is required"), kExitUsage);
  RemoteOptions remote = options.remote;
  remote.token_file.clear();
  remote.key_file.clear();
  auto client = make_remote_client(remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  JsonWriter body;
  body.begin_object().key("principal").string(principal).key("password").string(password);
  if (!code.empty()) body.key("totp").string(code);
  body.end_object();
  auto answer = call_json(*client, "POST", "/custos/v1/auth/login", body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  return print_or_save_secret(kVerb, string_of(*root, "token"), options.save,
                              "logged in as " + principal + "; session token saved to " +
                                  options.save + " (use --token-file " + options.save + ")");
}

int run_principal_add(const PrincipalAddOptions& options) {
  constexpr std::string_view kVerb = "principal add";
  auto tags = parse_tags(options.tags);
  if (!tags.is_ok()) return fail(kVerb, tags.status(), kExitUsage);
  std::string password;
  if (!options.password_file.empty()) {
    auto secret = read_secret_file(options.password_file);
    if (!secret.is_ok()) return fail(kVerb, secret.status(), kExitUsage);
    password = *secret;
  }

  if (!options.local.data_dir.empty()) {
    auto node = open_local_node(DataDirPaths{options.local.data_dir});
    if (!node.is_ok()) return fail(kVerb, node.status(), exit_code_for(node.status()));
    identity::PrincipalAttributes attributes;
    attributes.id = options.id;
    auto kind = identity::parse_principal_kind(options.kind);
    if (!kind.is_ok()) return fail(kVerb, kind.status(), kExitUsage);
    attributes.kind = *kind;
    auto subtype = identity::parse_device_subtype(options.subtype);
    if (!subtype.is_ok()) return fail(kVerb, subtype.status(), kExitUsage);
    attributes.subtype = *subtype;
    attributes.display_name = options.display_name;
    attributes.site = options.site;
    attributes.zone = options.zone;
    attributes.roles = {options.roles.begin(), options.roles.end()};
    attributes.vendor = options.vendor;
    attributes.shift = options.shift;
    attributes.tags = *tags;
    if (attributes.kind == identity::PrincipalKind::kUser) {
      auto user = node->identity->create_user(attributes, password, false,
                                              std::string(kLocalActor), std::string(kLocalDecision));
      if (!user.is_ok()) return fail(kVerb, user.status(), exit_code_for(user.status()));
      std::cout << "added user " << options.id << " (local)\n";
      if (user->totp) std::cout << "  TOTP secret (shown once): " << user->totp->secret_base32 << "\n";
      return kExitOk;
    }
    auto receipt = node->identity->apply(identity::PrincipalCreate{attributes},
                                         std::string(kLocalActor), std::string(kLocalDecision));
    if (!receipt.is_ok()) return fail(kVerb, receipt.status(), exit_code_for(receipt.status()));
    std::cout << "added " << options.kind << " " << options.id << " (local; log index "
              << receipt->receipt.index << ")\n";
    return kExitOk;
  }

  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  JsonWriter body;
  body.begin_object().key("id").string(options.id).key("kind").string(options.kind);
  if (!options.subtype.empty()) body.key("subtype").string(options.subtype);
  if (!options.display_name.empty()) body.key("display_name").string(options.display_name);
  if (!options.site.empty()) body.key("site").string(options.site);
  if (!options.zone.empty()) body.key("zone").string(options.zone);
  if (!options.vendor.empty()) body.key("vendor").string(options.vendor);
  if (!options.shift.empty()) body.key("shift").string(options.shift);
  body.key("roles").begin_array();
  for (const std::string& role : options.roles) body.string(role);
  body.end_array().key("tags").begin_object();
  for (const auto& [name, value] : *tags) body.key(name).string(value);
  body.end_object();
  if (!password.empty()) body.key("password").string(password);
  body.end_object();
  auto answer = call_json(*client, "POST", "/custos/v1/principals", body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  if (options.json) return print_answer(*answer);
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  std::cout << "added ";
  print_principal((*root)["principal"].value_unsafe());
  if (!options.credentials_out.empty()) {
    Status saved = write_credentials_file(
        options.credentials_out,
        Credentials{options.id, password, string_of(*root, "totp_secret")});
    if (!saved.is_ok()) return fail(kVerb, saved, kExitStorage);
    std::cout << "  credentials saved to " << options.credentials_out << " (mode 0600)\n";
  } else if (!string_of(*root, "totp_secret").empty()) {
    std::cout << "  TOTP secret (shown once): " << string_of(*root, "totp_secret") << "\n";
  }
  std::cout << "  decision " << string_of(*root, "decision_id") << "\n";
  return kExitOk;
}

int run_principal_list(const PrincipalQueryOptions& options) {
  constexpr std::string_view kVerb = "principal list";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  std::string query;
  for (auto [name, value] : {std::pair{"kind", &options.kind}, std::pair{"status", &options.status},
                             std::pair{"site", &options.site}}) {
    if (value->empty()) continue;
    query += query.empty() ? "?" : "&";
    query += name;
    query += '=';
    query += percent_encode(*value);
  }
  std::string path = "/custos/v1/principals";
  path += query;
  auto answer = call_json(*client, "GET", path);
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  if (options.json) return print_answer(*answer);
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  simdjson::dom::array principals;
  if ((*root)["principals"].get_array().get(principals) != simdjson::SUCCESS) {
    return fail(kVerb, invalid_argument("the answer has no principals"), kExitNetwork);
  }
  for (auto principal : principals) print_principal(principal);
  std::cout << principals.size() << " principal(s)\n";
  return kExitOk;
}

int run_principal_show(const PrincipalQueryOptions& options) {
  constexpr std::string_view kVerb = "principal show";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto answer = call_json(*client, "GET", "/custos/v1/principals/" + path_segment(options.id));
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  if (options.json) return print_answer(*answer);
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  print_principal(*root);
  if (!string_of(*root, "status_reason").empty()) {
    std::cout << "  reason: " << string_of(*root, "status_reason") << "\n";
  }
  return kExitOk;
}

int run_principal_status(const PrincipalStatusOptions& options) {
  const std::string verb = "principal " + (options.status == "release" ? std::string("release")
                                                                       : options.status);
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(verb, client.status(), kExitUsage);
  JsonWriter body;
  body.begin_object();
  if (options.status != "release") body.key("status").string(options.status);
  body.key("reason").string(options.reason).end_object();
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& approval : options.approvals) {
    headers.emplace_back("Custos-Approval", approval);
  }
  std::string path = "/custos/v1/principals/" + path_segment(options.id) +
                     (options.status == "release" ? "/release" : "/status");
  auto answer = call_json(*client, "POST", path, body.str(), headers);
  if (!answer.is_ok()) return fail(verb, answer.status(), exit_code_for(answer.status()));
  if (options.json) return print_answer(*answer);
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(verb, root.status(), kExitNetwork);
  print_principal((*root)["principal"].value_unsafe());
  std::cout << "  decision " << string_of(*root, "decision_id") << "; takes effect on its next request\n";
  return kExitOk;
}

int run_enroll_create(const EnrollOptions& options) {
  constexpr std::string_view kVerb = "principal enroll";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  JsonWriter body;
  body.begin_object().key("ttl_s").number(static_cast<int64_t>(options.ttl_s)).end_object();
  auto answer = call_json(*client, "POST",
                          "/custos/v1/principals/" + path_segment(options.principal) +
                              "/enrollments",
                          body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  if (!options.token_file.empty()) {
    Status saved = write_secret(options.token_file, string_of(*root, "token"));
    if (!saved.is_ok()) return fail(kVerb, saved, kExitStorage);
  }
  if (options.json) {
    std::cout << *answer << "\n";
  } else if (options.token_file.empty()) {
    std::cout << string_of(*root, "token") << "\n";
  } else {
    std::cout << "one-time enrollment token for " << options.principal << " saved to "
              << options.token_file << "\n";
  }
  return kExitOk;
}

int run_enroll(const EnrollOptions& options) {
  constexpr std::string_view kVerb = "enroll";
  std::string token = options.token;
  if (token.empty() && !options.token_file.empty()) {
    auto read = read_secret_file(options.token_file);
    if (!read.is_ok()) return fail(kVerb, read.status(), kExitUsage);
    token = *read;
  }
  if (token.empty()) {
    return fail(kVerb, invalid_argument("give --token or --token-file"), kExitUsage);
  }
  RemoteOptions remote = options.remote;
  remote.token_file.clear();
  remote.key_file.clear();
  auto client = make_remote_client(remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  // The key pair is made here and its private half never leaves this machine.
  sdk::DeviceKey key = sdk::generate_device_key();
  std::string message =
      identity::enrollment_proof_message(options.principal, key.key_pair.public_key(), token);
  Ed25519Signature proof = key.key_pair.sign(as_bytes(message));
  JsonWriter body;
  body.begin_object()
      .key("token").string(token)
      .key("public_key").string(base64_encode(key.key_pair.public_key().view()))
      .key("proof").string(base64_encode(proof.view()))
      .end_object();
  auto answer = call_json(*client, "POST", "/custos/v1/enroll", body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  Status saved = sdk::save_device_key(options.key_out, key);
  if (!saved.is_ok()) return fail(kVerb, saved, kExitStorage);
  if (options.json) {
    std::cout << *answer << "\n";
  } else {
    std::cout << "enrolled key " << key.key_id << " for " << options.principal << "; saved to "
              << options.key_out << " (mode 0600)\n";
  }
  return kExitOk;
}

int run_key_rotate(const KeyRotateOptions& options) {
  constexpr std::string_view kVerb = "key rotate";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  sdk::DeviceKey key = sdk::generate_device_key();
  Ed25519Signature proof = key.key_pair.sign(as_bytes(
      rotation_proof_message(options.principal, key.key_pair.public_key(), options.old_key_id)));
  JsonWriter body;
  body.begin_object()
      .key("old_key_id").string(options.old_key_id)
      .key("public_key").string(base64_encode(key.key_pair.public_key().view()))
      .key("proof").string(base64_encode(proof.view()))
      .key("overlap_s").number(static_cast<int64_t>(options.overlap_s))
      .end_object();
  auto answer = call_json(*client, "POST",
                          "/custos/v1/principals/" + path_segment(options.principal) +
                              "/keys/rotate",
                          body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  Status saved = sdk::save_device_key(options.new_key_out, key);
  if (!saved.is_ok()) return fail(kVerb, saved, kExitStorage);
  if (options.json) {
    std::cout << *answer << "\n";
  } else {
    std::cout << "new key " << key.key_id << " for " << options.principal << " saved to "
              << options.new_key_out << "; " << options.old_key_id << " stays valid for "
              << options.overlap_s << " s\n";
  }
  return kExitOk;
}

int run_token_create(const TokenOptions& options) {
  constexpr std::string_view kVerb = "token create";
  if (options.scopes.empty()) {
    return fail(kVerb, invalid_argument("give at least one --scope (an action, e.g. log.append)"),
                kExitUsage);
  }
  std::string token;
  std::string listing;
  if (!options.local.data_dir.empty()) {
    auto node = open_local_node(DataDirPaths{options.local.data_dir});
    if (!node.is_ok()) return fail(kVerb, node.status(), exit_code_for(node.status()));
    auto created = node->identity->create_api_token(
        options.principal, {options.scopes.begin(), options.scopes.end()},
        std::chrono::seconds(options.ttl_s), std::string(kLocalActor),
        std::string(kLocalDecision));
    if (!created.is_ok()) return fail(kVerb, created.status(), exit_code_for(created.status()));
    token = created->token;
    listing = "token " + created->token_id + " for " + options.principal + " (local)";
  } else {
    auto client = make_remote_client(options.remote);
    if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
    JsonWriter body;
    body.begin_object().key("scopes").begin_array();
    for (const std::string& scope : options.scopes) body.string(scope);
    body.end_array().key("ttl_s").number(static_cast<int64_t>(options.ttl_s)).end_object();
    auto answer = call_json(*client, "POST",
                            "/custos/v1/principals/" + path_segment(options.principal) + "/tokens",
                            body.str());
    if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
    simdjson::dom::parser parser;
    auto root = parse(parser, *answer);
    if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
    token = string_of(*root, "token");
    listing = "token " + string_of(*root, "token_id") + " for " + options.principal;
  }
  return print_or_save_secret(kVerb, token, options.out,
                              listing + " saved to " + options.out + " (mode 0600)");
}

int run_token_revoke(const TokenOptions& options) {
  constexpr std::string_view kVerb = "token revoke";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto answer = call_json(*client, "DELETE",
                          "/custos/v1/principals/" + path_segment(options.principal) +
                              "/tokens/" + path_segment(options.token_id));
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  std::cout << (options.json ? *answer : "revoked token " + options.token_id) << "\n";
  return kExitOk;
}

int run_approve(const ApproveOptions& options) {
  constexpr std::string_view kVerb = "approve";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  JsonWriter body;
  body.begin_object()
      .key("requester").string(options.requester)
      .key("action").string(options.action)
      .key("resource_type").string(options.resource_type)
      .key("resource_id").string(options.resource_id)
      .key("ttl_s").number(static_cast<int64_t>(options.ttl_s))
      .end_object();
  auto answer = call_json(*client, "POST", "/custos/v1/approvals", body.str());
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  simdjson::dom::parser parser;
  auto root = parse(parser, *answer);
  if (!root.is_ok()) return fail(kVerb, root.status(), kExitNetwork);
  if (options.json) {
    std::cout << *answer << "\n";
  } else {
    std::cout << string_of(*root, "approval_id") << "\n";
  }
  return kExitOk;
}

}  // namespace custos::cli
