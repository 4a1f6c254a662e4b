// The `custos` binary: one verb per subcommand. See cli.h for exit codes.
#include <CLI/CLI.hpp>

#include <iostream>
#include <tuple>
#include <vector>

#include "cli.h"
#include "policy_verbs.h"

namespace {

// --url and the credential options of a verb that talks to a server.
void add_remote_options(CLI::App* command, custos::cli::RemoteOptions& remote, bool device = false) {
  command->add_option("--url", remote.url, "Server URL")->default_val("http://127.0.0.1:8080");
  command->add_option("--token-file", remote.token_file,
                      "Bearer token file: a session (custos login --save) or an API token");
  command->add_option("--key-file", remote.key_file,
                      "Device or service key file: sign every request (RFC 9421)");
  command->add_option("--ca-file", remote.ca_file, "https: PEM CA certificates to trust");
  command->add_option("--client-cert", remote.client_cert,
                      "https: PEM client certificate (mutual TLS; may authenticate a principal)");
  command->add_option("--client-key", remote.client_key, "https: the client certificate's key");
  if (device) {
    command->add_option("--posture", remote.posture,
                        "Device posture to report, signed: healthy|unknown|compromised");
    command->add_option("--geo", remote.geo, "Device position to report, signed: LAT,LON");
  }
}

constexpr const char* kExitCodes =
    "Exit codes: 0 success, 1 verification failed, 2 bad usage or input, "
    "3 storage error, 4 network or server error.";

}  // namespace

int main(int argc, char** argv) {
  using namespace custos::cli;
  CLI::App app{"custos: tamper-evident custody for physical supply chains", "custos"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.set_version_flag("--version", "custos 0.1.0");

  InitOptions init;
  auto* init_cmd = app.add_subcommand(
      "init", "Create a data directory: storage, log key, the first admin (password + TOTP)");
  init_cmd->add_option("--admin", init.admin_id, "Id of the first admin user")->default_val("admin");
  init_cmd->add_option("--credentials-out", init.credentials_out,
                       "Write the admin's password and TOTP secret to this file (mode 0600) "
                       "instead of printing them");
  init_cmd->add_option("--policies", init.policy_dir,
                       "Directory of *.cedar files for policy version 1 (default: the built-in set)");
  init_cmd->add_option("--data", init.data_dir, "Data directory to create")->default_val("./custos-data");
  init_cmd->add_option("--origin", init.origin,
                       "Log origin (checkpoint first line), e.g. example.com/custos/log1");
  init_cmd->add_flag("--json", init.json, "Print the result as JSON");
  init_cmd->footer(kExitCodes);

  ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the HTTP server on a data directory");
  serve_cmd->add_option("--config", serve.config_path, "TOML configuration file");
  serve_cmd->add_option("--data", serve.data_dir, "Data directory (overrides storage.data_dir)");
  serve_cmd->add_option("--listen", serve.listen, "host:port to listen on (overrides server.listen)");
  serve_cmd->add_option("--threads", serve.threads, "I/O threads (overrides server.threads)");
  serve_cmd->add_option("--log-level", serve.log_level, "trace|debug|info|warn|error|off");
  serve_cmd->add_option("--log-format", serve.log_format, "text|json");
  serve_cmd->add_option("--ready-file", serve.ready_file,
                        "Write the bound host:port to this file once the server is ready");
  serve_cmd->footer(kExitCodes);

  auto* log_cmd = app.add_subcommand("log", "Append to and read the custody log");
  log_cmd->require_subcommand(1);

  LogAppendOptions log_append;
  auto* append_cmd = log_cmd->add_subcommand(
      "append", "Append one entry through a server and verify its receipt (proof + checkpoint)");
  append_cmd->add_option("PAYLOAD", log_append.payload, "Entry payload (text)")->required();
  add_remote_options(append_cmd, log_append.remote, /*device=*/true);
  append_cmd->add_option("--vkey", log_append.remote.vkey, "Log verifier key")->required();
  append_cmd->add_flag("--json", log_append.json, "Print the receipt as JSON");
  append_cmd->footer(kExitCodes);

  LogProofOptions log_proof;
  auto* proof_cmd = log_cmd->add_subcommand(
      "proof", "Fetch and verify an inclusion proof for an entry against a signed checkpoint");
  proof_cmd->add_option("INDEX", log_proof.index, "Log index")->required();
  proof_cmd->add_option("--url", log_proof.url, "Server URL")->default_val("http://127.0.0.1:8080");
  proof_cmd->add_option("--vkey", log_proof.vkey, "Log verifier key")->required();
  proof_cmd->add_option("--tree-size", log_proof.tree_size, "Prove against this tree size (default: latest)");
  proof_cmd->add_flag("--json", log_proof.json, "Print the proof as JSON");
  proof_cmd->footer(kExitCodes);

  LogShowOptions log_show;
  auto* show_cmd = log_cmd->add_subcommand("show", "Print one log entry, decoded");
  show_cmd->add_option("INDEX", log_show.index, "Log index")->required();
  show_cmd->add_option("--data", log_show.data_dir, "Data directory")->default_val("./custos-data");
  show_cmd->add_option("--url", log_show.url, "Read from a server instead, e.g. http://127.0.0.1:8080");
  show_cmd->add_flag("--json", log_show.json, "Print as JSON");
  show_cmd->footer(kExitCodes);

  VerifyOptions verify;
  auto* verify_cmd = app.add_subcommand(
      "verify", "Offline audit of a data directory: every leaf, tile and checkpoint");
  verify_cmd->add_option("--data", verify.data_dir, "Data directory")->default_val("./custos-data");
  verify_cmd->add_flag("--json", verify.json, "Print the report as JSON");
  verify_cmd->add_flag("--quiet", verify.quiet, "No progress output");
  verify_cmd->footer(kExitCodes);

  AuditOptions audit;
  auto* audit_cmd = app.add_subcommand(
      "audit", "Remote audit: verify the server's checkpoint and its consistency with the last run");
  audit_cmd->add_option("--url", audit.url, "Server URL, e.g. http://127.0.0.1:8080")->required();
  audit_cmd->add_option("--state", audit.state_path, "State file kept between runs")->required();
  audit_cmd->add_option("--vkey", audit.vkey,
                        "Log verifier key (name+hash+base64); needed on the first run");
  audit_cmd->add_flag("--json", audit.json, "Print the result as JSON");
  audit_cmd->footer(kExitCodes);

  BenchAppendOptions bench;
  auto* bench_cmd = app.add_subcommand("bench", "Benchmarks");
  bench_cmd->require_subcommand(1);
  auto* bench_append_cmd =
      bench_cmd->add_subcommand("append", "Synced appends through the sequencer, in-process");
  bench_append_cmd->add_option("--entries", bench.entries, "Entries to append")->default_val(1000000);
  bench_append_cmd->add_option("--size", bench.size, "Payload bytes per entry")->default_val(256);
  bench_append_cmd->add_option("--producers", bench.producers, "Producer threads")->default_val(4);
  bench_append_cmd->add_option("--in-flight", bench.in_flight, "Appends in flight per run")
      ->default_val(65536);
  bench_append_cmd->add_option("--data", bench.data_dir,
                               "Data directory (default: a temporary one, removed afterwards)");
  bench_append_cmd->add_flag("--json", bench.json, "Print the result as JSON");
  bench_append_cmd->footer(kExitCodes);

  // ---- identities ----
  LoginOptions login;
  auto* login_cmd = app.add_subcommand("login", "Log in as a user and save the session token");
  add_remote_options(login_cmd, login.remote);
  login_cmd->add_option("--credentials", login.credentials_file,
                        "Credentials file from custos init --credentials-out (password + TOTP secret)");
  login_cmd->add_option("--user", login.principal, "User id");
  login_cmd->add_option("--password-file", login.password_file, "File holding the password");
  login_cmd->add_option("--totp", login.totp, "The current TOTP code");
  login_cmd->add_option("--save", login.save, "Write the session token to this file (mode 0600)");
  login_cmd->footer(kExitCodes);

  auto* principal_cmd = app.add_subcommand("principal", "Manage principals (devices, users, services...)");
  principal_cmd->require_subcommand(1);
  PrincipalAddOptions principal_add;
  auto* principal_add_cmd = principal_cmd->add_subcommand("add", "Create a principal");
  add_remote_options(principal_add_cmd, principal_add.remote);
  principal_add_cmd->add_option("--data", principal_add.local.data_dir,
                                "Act offline on a stopped node's data directory instead of --url");
  principal_add_cmd->add_option("ID", principal_add.id, "Principal id")->required();
  principal_add_cmd->add_option("--kind", principal_add.kind, "device|user|service|witness|partner")
      ->required();
  principal_add_cmd->add_option("--subtype", principal_add.subtype,
                                "Devices: scanner|gate|door_controller|tracker|wms_connector|tms_connector");
  principal_add_cmd->add_option("--name", principal_add.display_name, "Display name");
  principal_add_cmd->add_option("--site", principal_add.site, "Home site id");
  principal_add_cmd->add_option("--zone", principal_add.zone, "Home zone id");
  principal_add_cmd->add_option("--role", principal_add.roles, "A role (repeatable)");
  principal_add_cmd->add_option("--vendor", principal_add.vendor, "Vendor id");
  principal_add_cmd->add_option("--shift", principal_add.shift, "Shift, e.g. day");
  principal_add_cmd->add_option("--tag", principal_add.tags, "KEY=VALUE tag (repeatable)");
  principal_add_cmd->add_option("--password-file", principal_add.password_file,
                                "Users: file holding the initial password");
  principal_add_cmd->add_option("--credentials-out", principal_add.credentials_out,
                                "Users: write the password and TOTP secret to this file (mode "
                                "0600), for custos login --credentials");
  principal_add_cmd->add_flag("--json", principal_add.json, "Print the answer as JSON");
  principal_add_cmd->footer(kExitCodes);

  PrincipalQueryOptions principal_query;
  auto* principal_list_cmd = principal_cmd->add_subcommand("list", "List principals");
  add_remote_options(principal_list_cmd, principal_query.remote);
  principal_list_cmd->add_option("--kind", principal_query.kind, "Only this kind");
  principal_list_cmd->add_option("--status", principal_query.status, "Only this status");
  principal_list_cmd->add_option("--site", principal_query.site, "Only this site");
  principal_list_cmd->add_flag("--json", principal_query.json, "Print the answer as JSON");
  principal_list_cmd->footer(kExitCodes);
  auto* principal_show_cmd = principal_cmd->add_subcommand("show", "Show one principal");
  add_remote_options(principal_show_cmd, principal_query.remote, true);
  principal_show_cmd->add_option("ID", principal_query.id, "Principal id")->required();
  principal_show_cmd->add_flag("--json", principal_query.json, "Print the answer as JSON");
  principal_show_cmd->footer(kExitCodes);

  PrincipalStatusOptions principal_status;
  std::vector<std::pair<CLI::App*, std::string>> status_cmds;
  for (auto [verb, status, help] :
       {std::tuple{"suspend", "suspended", "Suspend a principal (refused from its next request)"},
        std::tuple{"quarantine", "quarantined", "Quarantine a principal (it may only read its status)"},
        std::tuple{"revoke", "revoked", "Revoke a principal for good"},
        std::tuple{"reactivate", "active", "Reactivate a suspended principal"},
        std::tuple{"release", "release", "Lift a quarantine (containment override: needs --approval)"}}) {
    auto* command = principal_cmd->add_subcommand(verb, help);
    add_remote_options(command, principal_status.remote);
    command->add_option("ID", principal_status.id, "Principal id")->required();
    command->add_option("--reason", principal_status.reason, "Why (recorded in the log)")->required();
    command->add_option("--approval", principal_status.approvals,
                        "A second approver's approval id (custos approve)");
    command->add_flag("--json", principal_status.json, "Print the answer as JSON");
    command->footer(kExitCodes);
    status_cmds.emplace_back(command, status);
  }

  EnrollOptions enroll_create;
  auto* enroll_create_cmd = principal_cmd->add_subcommand(
      "enroll", "Create a one-time enrollment token for a device or service");
  add_remote_options(enroll_create_cmd, enroll_create.remote);
  enroll_create_cmd->add_option("ID", enroll_create.principal, "Principal id")->required();
  enroll_create_cmd->add_option("--ttl", enroll_create.ttl_s, "Seconds the token stays valid")
      ->default_val(3600);
  enroll_create_cmd->add_option("--out", enroll_create.token_file,
                                "Write the token to this file (mode 0600) instead of stdout");
  enroll_create_cmd->add_flag("--json", enroll_create.json, "Print the answer as JSON");
  enroll_create_cmd->footer(kExitCodes);

  EnrollOptions enroll;
  auto* enroll_cmd = app.add_subcommand(
      "enroll", "On the device: generate a key pair and enroll it with a one-time token");
  enroll_cmd->add_option("--url", enroll.remote.url, "Server URL")->default_val("http://127.0.0.1:8080");
  enroll_cmd->add_option("--principal", enroll.principal, "This device's principal id")->required();
  enroll_cmd->add_option("--token", enroll.token, "The one-time enrollment token");
  enroll_cmd->add_option("--token-file", enroll.token_file, "Or a file holding it");
  enroll_cmd->add_option("--key-out", enroll.key_out, "Where to save the key (mode 0600)")->required();
  enroll_cmd->add_flag("--json", enroll.json, "Print the answer as JSON");
  enroll_cmd->footer(kExitCodes);

  auto* key_cmd = app.add_subcommand("key", "Signing keys");
  key_cmd->require_subcommand(1);
  KeyRotateOptions key_rotate;
  auto* key_rotate_cmd = key_cmd->add_subcommand(
      "rotate", "Generate a new key for a principal; the old one stays valid for --overlap");
  add_remote_options(key_rotate_cmd, key_rotate.remote);
  key_rotate_cmd->add_option("--principal", key_rotate.principal, "Principal id")->required();
  key_rotate_cmd->add_option("--old-key-id", key_rotate.old_key_id, "The key being replaced")->required();
  key_rotate_cmd->add_option("--new-key-out", key_rotate.new_key_out, "Where to save the new key")
      ->required();
  key_rotate_cmd->add_option("--overlap", key_rotate.overlap_s, "Seconds both keys are valid")
      ->default_val(3600);
  key_rotate_cmd->add_flag("--json", key_rotate.json, "Print the answer as JSON");
  key_rotate_cmd->footer(kExitCodes);

  auto* token_cmd = app.add_subcommand("token", "API tokens for services");
  token_cmd->require_subcommand(1);
  TokenOptions token;
  auto* token_create_cmd = token_cmd->add_subcommand("create", "Create a scoped, expiring API token");
  add_remote_options(token_create_cmd, token.remote);
  token_create_cmd->add_option("--data", token.local.data_dir,
                               "Act offline on a stopped node's data directory instead of --url");
  token_create_cmd->add_option("--principal", token.principal, "Principal id")->required();
  token_create_cmd->add_option("--scope", token.scopes, "An action the token may be used for (repeatable)");
  token_create_cmd->add_option("--ttl", token.ttl_s, "Seconds the token stays valid")->default_val(86400);
  token_create_cmd->add_option("--out", token.out, "Write the token to this file (mode 0600)");
  token_create_cmd->footer(kExitCodes);
  auto* token_revoke_cmd = token_cmd->add_subcommand("revoke", "Revoke an API token by its id");
  add_remote_options(token_revoke_cmd, token.remote);
  token_revoke_cmd->add_option("--principal", token.principal, "Principal id")->required();
  token_revoke_cmd->add_option("--token-id", token.token_id, "The token's public id")->required();
  token_revoke_cmd->add_flag("--json", token.json, "Print the answer as JSON");
  token_revoke_cmd->footer(kExitCodes);

  ApproveOptions approve;
  auto* approve_cmd = app.add_subcommand(
      "approve", "Grant a second approval (two-person rule) for one request of someone else's");
  add_remote_options(approve_cmd, approve.remote);
  approve_cmd->add_option("--requester", approve.requester, "Who may use it")->required();
  approve_cmd->add_option("--action", approve.action, "The action, e.g. policy.change")->required();
  approve_cmd->add_option("--resource-type", approve.resource_type, "e.g. Custos::Policy")->required();
  approve_cmd->add_option("--resource-id", approve.resource_id, "e.g. active")->required();
  approve_cmd->add_option("--ttl", approve.ttl_s, "Seconds it stays valid")->default_val(900);
  approve_cmd->add_flag("--json", approve.json, "Print the answer as JSON");
  approve_cmd->footer(kExitCodes);

  // ---- policies ----
  auto* policy_cmd = app.add_subcommand("policy", "The policy set: check, test, push, list, show, diff");
  policy_cmd->require_subcommand(1);
  std::string policy_path;
  auto* policy_check_cmd = policy_cmd->add_subcommand(
      "check", "Validate a .cedar file or directory (syntax, entity types, actions, attributes)");
  policy_check_cmd->add_option("PATH", policy_path, "A .cedar file or a directory of them")->required();
  policy_check_cmd->footer(kExitCodes);
  std::string policy_cases;
  bool policy_test_json = false;
  auto* policy_test_cmd = policy_cmd->add_subcommand(
      "test", "Evaluate a JSON file of cases (requests with expected decisions) against policies");
  policy_test_cmd->add_option("PATH", policy_path, "A .cedar file or a directory of them")->required();
  policy_test_cmd->add_option("CASES", policy_cases, "JSON cases file")->required();
  policy_test_cmd->add_flag("--json", policy_test_json, "Print the result as JSON");
  policy_test_cmd->footer(kExitCodes);
  PolicyPushOptions policy_push;
  auto* policy_push_cmd = policy_cmd->add_subcommand(
      "push", "Make a policy set the server's next version (policy.change; two-person rule)");
  add_remote_options(policy_push_cmd, policy_push.remote);
  policy_push_cmd->add_option("PATH", policy_push.path, "A .cedar file or a directory of them")
      ->required();
  policy_push_cmd->add_option("--approval", policy_push.approvals,
                              "A second approver's approval id (custos approve)");
  policy_push_cmd->add_flag("--json", policy_push.json, "Print the answer as JSON");
  policy_push_cmd->footer(kExitCodes);
  PolicyRemoteOptions policy_remote;
  auto* policy_list_cmd = policy_cmd->add_subcommand("list", "List the server's policy versions");
  add_remote_options(policy_list_cmd, policy_remote.remote);
  policy_list_cmd->add_flag("--json", policy_remote.json, "Print the answer as JSON");
  policy_list_cmd->footer(kExitCodes);
  auto* policy_show_cmd = policy_cmd->add_subcommand("show", "Print a policy version's text");
  add_remote_options(policy_show_cmd, policy_remote.remote);
  policy_show_cmd->add_option("VERSION", policy_remote.version, "A version number or current");
  policy_show_cmd->footer(kExitCodes);
  auto* policy_diff_cmd = policy_cmd->add_subcommand(
      "diff", "Unified diff of two policy sets: paths, or server versions (N, current) with --url");
  add_remote_options(policy_diff_cmd, policy_remote.remote);
  policy_diff_cmd->add_option("A", policy_remote.version, "First: a path or a version")->required();
  policy_diff_cmd->add_option("B", policy_remote.other, "Second: a path or a version")->required();
  policy_diff_cmd->footer(kExitCodes);

  // ---- EPCIS ----
  auto* epcis_cmd = app.add_subcommand("epcis", "EPCIS 2.0 documents");
  epcis_cmd->require_subcommand(1);
  EpcisHashOptions epcis_hash;
  auto* epcis_hash_cmd = epcis_cmd->add_subcommand(
      "hash", "Print the CBV 2.0 event hash ID of every event in a JSON/JSON-LD document");
  epcis_hash_cmd->add_option("FILE", epcis_hash.path, "EPCIS document (JSON or JSON-LD)")->required();
  epcis_hash_cmd->add_flag("--prehash", epcis_hash.prehash,
                           "Print the canonical pre-hash strings instead of the hashes");
  epcis_hash_cmd->footer(kExitCodes);
  EpcisCaptureOptions epcis_capture;
  auto* epcis_capture_cmd = epcis_cmd->add_subcommand(
      "capture", "Capture an EPCIS document (JSON, JSON-LD or XML) through POST /capture, signed "
                 "with --key-file; verifies every receipt's inclusion proof with --vkey");
  epcis_capture_cmd->add_option("FILE", epcis_capture.path, "EPCIS document")->required();
  add_remote_options(epcis_capture_cmd, epcis_capture.remote, /*device=*/true);
  epcis_capture_cmd->add_option("--vkey", epcis_capture.remote.vkey,
                                "The log's verifier key: check the checkpoint and every receipt");
  epcis_capture_cmd->add_flag("--json", epcis_capture.json, "Print the server's answer");
  epcis_capture_cmd->footer(kExitCodes);
  TraceOptions trace;
  auto* trace_cmd = app.add_subcommand(
      "trace", "An object's chain of custody (containers, contents, transformation inputs, gaps); "
               "--verify checks every step against the checkpoint signed with --vkey");
  trace_cmd->add_option("EPC", trace.epc, "EPC URN or GS1 Digital Link");
  add_remote_options(trace_cmd, trace.remote);
  trace_cmd->add_option("--vkey", trace.remote.vkey, "The log's verifier key");
  trace_cmd->add_flag("--verify", trace.verify, "Verify every step (needs --vkey)");
  trace_cmd->add_option("--out", trace.out, "Save the trace (JSON) to this new file");
  trace_cmd->add_option("--file", trace.file,
                        "Read a trace saved with --out instead of asking the server (offline)");
  trace_cmd->add_flag("--json", trace.json, "Print the trace as JSON");
  trace_cmd->footer(kExitCodes);
  EpcisValidateOptions epcis_validate;
  auto* epcis_validate_cmd = epcis_cmd->add_subcommand(
      "validate",
      "Check a JSON/JSON-LD document (or one event) against the EPCIS 2.0 schemas and rules");
  epcis_validate_cmd
      ->add_option("FILE", epcis_validate.path, "EPCIS document, or one event with its @context")
      ->required();
  epcis_validate_cmd->footer(
      "Prints \"valid\", or one line per problem: JSON pointer (\"(root)\" for the whole "
      "document), a colon, the message.\nExit codes: 0 valid, 1 problems found, 2 unreadable "
      "file or bad usage.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }

  if (init_cmd->parsed()) return run_init(init);
  if (serve_cmd->parsed()) return run_serve(serve);
  if (show_cmd->parsed()) return run_log_show(log_show);
  if (append_cmd->parsed()) return run_log_append(log_append);
  if (proof_cmd->parsed()) return run_log_proof(log_proof);
  if (verify_cmd->parsed()) return run_verify(verify);
  if (audit_cmd->parsed()) return run_audit(audit);
  if (bench_append_cmd->parsed()) return run_bench_append(bench);
  if (login_cmd->parsed()) return run_login(login);
  if (principal_add_cmd->parsed()) return run_principal_add(principal_add);
  if (principal_list_cmd->parsed()) return run_principal_list(principal_query);
  if (principal_show_cmd->parsed()) return run_principal_show(principal_query);
  for (auto& [command, status] : status_cmds) {
    if (command->parsed()) {
      principal_status.status = status;
      return run_principal_status(principal_status);
    }
  }
  if (enroll_create_cmd->parsed()) return run_enroll_create(enroll_create);
  if (enroll_cmd->parsed()) return run_enroll(enroll);
  if (key_rotate_cmd->parsed()) return run_key_rotate(key_rotate);
  if (token_create_cmd->parsed()) return run_token_create(token);
  if (token_revoke_cmd->parsed()) return run_token_revoke(token);
  if (approve_cmd->parsed()) return run_approve(approve);
  if (epcis_hash_cmd->parsed()) return run_epcis_hash(epcis_hash);
  if (epcis_validate_cmd->parsed()) return run_epcis_validate(epcis_validate);
  if (epcis_capture_cmd->parsed()) return run_epcis_capture(epcis_capture);
  if (trace_cmd->parsed()) return run_trace(trace);
  if (policy_check_cmd->parsed()) return run_policy_check(policy_path);
  if (policy_test_cmd->parsed()) return run_policy_test(policy_path, policy_cases, policy_test_json);
  if (policy_push_cmd->parsed()) return run_policy_push(policy_push);
  if (policy_list_cmd->parsed()) return run_policy_list(policy_remote);
  if (policy_show_cmd->parsed()) return run_policy_show(policy_remote);
  if (policy_diff_cmd->parsed()) return run_policy_diff(policy_remote);
  std::cerr << "custos: no verb given; try custos --help\n";
  return kExitUsage;
}
