// custos CLI: verbs of the `custos` binary.
//
// Each verb is a function taking its parsed options and returning the
// process exit code; main.cc wires them to CLI11. Exit codes (documented in
// every verb's --help and in docs/operations.md):
//   0 success
//   1 verification failed (verify, audit): the data or the server is not trustworthy
//   2 bad usage or bad input
//   3 storage or file-system error
//   4 network or server error
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "remote.h"

namespace custos::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStorage = 3;
inline constexpr int kExitNetwork = 4;

struct InitOptions {
  std::string data_dir;
  std::string origin;  // empty: "custos.local/" + a random suffix
  std::string admin_id = "admin";
  std::string credentials_out;  // when set, the admin's secrets go to this file (0600), not stdout
  std::string policy_dir;       // policy version 1 from these *.cedar files (default: built in)
  bool json = false;
};
int run_init(const InitOptions& options);

struct ServeOptions {
  std::string config_path;                // optional TOML file
  std::optional<std::string> data_dir;    // overrides storage.data_dir
  std::optional<std::string> listen;      // overrides server.listen
  std::optional<uint32_t> threads;        // overrides server.threads
  std::optional<std::string> log_level;   // overrides logging.level
  std::optional<std::string> log_format;  // overrides logging.format
  std::string ready_file;                 // when set, the bound address is written here once ready
};
int run_serve(const ServeOptions& options);

struct LogAppendOptions {
  RemoteOptions remote;  // url, credential; vkey: the receipt is verified with it
  std::string payload;
  bool json = false;
};
int run_log_append(const LogAppendOptions& options);

struct LogProofOptions {
  std::string url;
  std::string vkey;
  uint64_t index = 0;
  std::optional<uint64_t> tree_size;
  bool json = false;
};
int run_log_proof(const LogProofOptions& options);

struct LogShowOptions {
  std::string data_dir;
  std::string url;  // when set, read over HTTP instead of the data directory
  uint64_t index = 0;
  bool json = false;
};
int run_log_show(const LogShowOptions& options);
// Prints one encoded entry, decoded (shared by log show's local and remote paths).
int print_entry(std::span<const uint8_t> bytes, bool json);

struct VerifyOptions {
  std::string data_dir;
  bool json = false;
  bool quiet = false;
};
int run_verify(const VerifyOptions& options);

struct AuditOptions {
  std::string url;
  std::string state_path;
  std::string vkey;  // verifier key; required on the first run, then kept in the state file
  bool json = false;
};
int run_audit(const AuditOptions& options);

struct BenchAppendOptions {
  std::string data_dir;  // empty: a fresh temporary directory, removed afterwards
  uint64_t entries = 1'000'000;
  uint32_t size = 256;
  uint32_t producers = 4;
  uint32_t in_flight = 65536;
  bool json = false;
};
int run_bench_append(const BenchAppendOptions& options);

// ---- identities (identity_verbs.cc) ----

// Offline administration of a stopped node's data directory, instead of --url.
struct LocalTarget {
  std::string data_dir;  // when set, act on this directory in-process (actor "local-admin")
};

struct LoginOptions {
  RemoteOptions remote;
  std::string credentials_file;  // from custos init --credentials-out
  std::string principal;
  std::string password_file;
  std::string totp;  // the current code (or computed from the credentials file)
  std::string save;  // session token file to write (mode 0600)
};
int run_login(const LoginOptions& options);

struct PrincipalAddOptions {
  RemoteOptions remote;
  LocalTarget local;
  std::string id;
  std::string kind;
  std::string subtype;
  std::string display_name;
  std::string site;
  std::string zone;
  std::vector<std::string> roles;
  std::string vendor;
  std::string shift;
  std::vector<std::string> tags;  // key=value
  std::string password_file;      // users
  std::string credentials_out;    // users: write password + TOTP secret here (0600)
  bool json = false;
};
int run_principal_add(const PrincipalAddOptions& options);

struct PrincipalQueryOptions {
  RemoteOptions remote;
  std::string id;  // show; empty for list
  std::string kind;
  std::string status;
  std::string site;
  bool json = false;
};
int run_principal_list(const PrincipalQueryOptions& options);
int run_principal_show(const PrincipalQueryOptions& options);

struct PrincipalStatusOptions {
  RemoteOptions remote;
  std::string id;
  std::string status;  // suspended | quarantined | revoked | active; "release" lifts a quarantine
  std::string reason;
  std::vector<std::string> approvals;  // Custos-Approval ids
  bool json = false;
};
int run_principal_status(const PrincipalStatusOptions& options);

struct EnrollOptions {
  RemoteOptions remote;
  std::string principal;
  uint32_t ttl_s = 3600;
  std::string token;         // device side: the one-time token
  std::string token_file;    // device side: or read it from this file
  std::string key_out;       // device side: where to save the new key
  bool json = false;
};
int run_enroll_create(const EnrollOptions& options);  // admin: a one-time token
int run_enroll(const EnrollOptions& options);         // device: generate a key and enroll it

struct KeyRotateOptions {
  RemoteOptions remote;
  std::string principal;
  std::string old_key_id;
  std::string new_key_out;  // the new key is generated here and saved on success
  uint32_t overlap_s = 3600;
  bool json = false;
};
int run_key_rotate(const KeyRotateOptions& options);

struct TokenOptions {
  RemoteOptions remote;
  LocalTarget local;
  std::string principal;
  std::vector<std::string> scopes;
  uint32_t ttl_s = 86400;
  std::string token_id;  // revoke
  std::string out;       // create: write the token to this file (0600) instead of stdout
  bool json = false;
};
int run_token_create(const TokenOptions& options);
int run_token_revoke(const TokenOptions& options);

// ---- policies (policy_remote_verbs.cc; offline check/test in policy_verbs.h) ----

struct PolicyPushOptions {
  RemoteOptions remote;
  std::string path;  // a .cedar file or a directory of them
  std::vector<std::string> approvals;
  bool json = false;
};
int run_policy_push(const PolicyPushOptions& options);

struct PolicyRemoteOptions {
  RemoteOptions remote;
  std::string version;  // show: "current" or N; diff: first side (version or path)
  std::string other;    // diff: second side
  bool json = false;
};
int run_policy_list(const PolicyRemoteOptions& options);
int run_policy_show(const PolicyRemoteOptions& options);
// Diff of two policy sets: files/directories, or server versions ("current",
// "3") with --url; exit 0 when equal, 1 when they differ.
int run_policy_diff(const PolicyRemoteOptions& options);

// ---- EPCIS (epcis_verbs.cc) ----

struct EpcisHashOptions {
  std::string path;      // an EPCIS 2.0 JSON / JSON-LD document (EPCISDocument or query document)
  bool prehash = false;  // print the canonical pre-hash strings instead
};
int run_epcis_hash(const EpcisHashOptions& options);

struct EpcisCaptureOptions {
  std::string path;  // EPCIS document: JSON / JSON-LD, or XML (by its first character)
  RemoteOptions remote;  // --url, --key-file (signed), --posture, --geo, --vkey
  bool json = false;     // print the server's answer
};
int run_epcis_capture(const EpcisCaptureOptions& options);

struct TraceOptions {
  std::string epc;        // EPC URN or GS1 Digital Link
  RemoteOptions remote;   // --url, --token-file / --key-file, --vkey
  std::string file;       // read a saved trace instead of asking the server (offline)
  std::string out;        // save the trace (JSON) here
  bool verify = false;    // check every step against the log-key-signed checkpoint
  bool json = false;      // print the trace JSON
};
int run_trace(const TraceOptions& options);

struct EpcisValidateOptions {
  std::string path;  // an EPCIS 2.0 JSON / JSON-LD document, or one event with its @context
};
// Prints "valid" (exit 0), or one "POINTER: message" line per problem (exit 1;
// "(root)" stands for the empty pointer); exit 2 when the file cannot be read.
int run_epcis_validate(const EpcisValidateOptions& options);

struct ApproveOptions {
  RemoteOptions remote;
  std::string requester;
  std::string action;
  std::string resource_type;
  std::string resource_id;
  uint32_t ttl_s = 900;
  bool json = false;
};
int run_approve(const ApproveOptions& options);

}  // namespace custos::cli
