// custos CLI: the data directory.
//
// Layout (docs/operations.md):
//   DIR/db/          RocksDB (all column families)
//   DIR/log.key      the log's Ed25519 signing key, C2SP private key form, mode 0600
//   DIR/log.vkey     the log's verifier key (name+hash+base64), public
// No credential is stored in the data directory: `custos init` creates the
// first admin user and prints its password and TOTP secret once (or writes
// them to --credentials-out).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "custos/core/status.h"
#include "custos/crypto/signed_note.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/policy/parser.h"
#include "custos/store/store.h"

namespace custos::cli {

struct DataDirPaths {
  std::string root;
  std::string db() const { return root + "/db"; }
  std::string log_key() const { return root + "/log.key"; }
  std::string log_vkey() const { return root + "/log.vkey"; }
};

struct InitResult {
  std::string origin;
  std::string verifier_key;
  std::string checkpoint;
  std::string admin_id;
  std::string admin_password;     // shown once
  std::string admin_totp_secret;  // base32, shown once
  std::string admin_otpauth_uri;
  uint64_t policy_version = 0;
  size_t policy_count = 0;
};

// Creates the data directory, the log, the first admin user (roles admin,
// security, policy_admin; random password; TOTP) and policy version 1 (the
// built-in default set, or the *.cedar files of `policy_dir`); refuses a
// directory that already holds a log.
Result<InitResult> initialise_data_dir(const DataDirPaths& paths, const std::string& origin,
                                       const std::string& admin_id,
                                       const std::string& policy_dir = "");

// A data directory opened in-process (the server must not be running): for
// offline administration (principal add, token create with --data).
struct LocalNode {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<NoteSigner> signer;
  std::unique_ptr<ledger::Log> log;
  std::unique_ptr<identity::IdentityService> identity;
  LocalNode() = default;
  LocalNode(LocalNode&&) = default;
  ~LocalNode();
};
Result<LocalNode> open_local_node(const DataDirPaths& paths);

// The policy text a node starts with (version 1): the *.cedar files of `dir`
// in file-name order, or the built-in default set when `dir` is empty.
Result<std::string> bootstrap_policy_text(const std::string& dir);

// Credentials file (custos init --credentials-out; custos login --credentials):
//   custos-credentials v1
//   principal <id>
//   password <password>
//   totp_secret <base32>
struct Credentials {
  std::string principal;
  std::string password;
  std::string totp_secret;
};
Status write_credentials_file(const std::string& path, const Credentials& credentials);
Result<Credentials> read_credentials_file(const std::string& path);

// NotFound with the command to run when `paths.root` is not a data directory.
Status check_data_dir(const DataDirPaths& paths);

// Reads the signing key; refuses a key file others can read.
Result<NoteSigner> load_log_signer(const DataDirPaths& paths);
Result<std::string> read_secret_file(const std::string& path);
Result<std::string> read_text_file(const std::string& path);
// Writes `text` to a new file with `mode`; refuses to overwrite.
Status write_new_file(const std::string& path, std::string_view text, unsigned mode);

// A LogOptions::sign_checkpoint that signs with `signer` (borrowed).
std::function<Result<std::string>(std::string_view)> checkpoint_signer(const NoteSigner& signer);

// Opens the store; read_only opens work beside a running server.
Result<std::unique_ptr<store::Store>> open_store(const DataDirPaths& paths, bool read_only,
                                                 uint64_t block_cache_mb = 64);

}  // namespace custos::cli
