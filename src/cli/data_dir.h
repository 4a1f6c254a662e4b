// custos CLI: the data directory.
//
// Layout (docs/operations.md):
//   DIR/db/          RocksDB (all column families)
//   DIR/log.key      the log's Ed25519 signing key, C2SP private key form, mode 0600
//   DIR/log.vkey     the log's verifier key (name+hash+base64), public
//   DIR/admin.token  the admin bearer token, mode 0600 (until issue 4's identities)
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "custos/core/status.h"
#include "custos/crypto/signed_note.h"
#include "custos/store/store.h"

namespace custos::cli {

struct DataDirPaths {
  std::string root;
  std::string db() const { return root + "/db"; }
  std::string log_key() const { return root + "/log.key"; }
  std::string log_vkey() const { return root + "/log.vkey"; }
  std::string admin_token() const { return root + "/admin.token"; }
};

struct InitResult {
  std::string origin;
  std::string verifier_key;
  std::string checkpoint;
};

// Creates the data directory; refuses one that already holds a log.
Result<InitResult> initialise_data_dir(const DataDirPaths& paths, const std::string& origin);

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
