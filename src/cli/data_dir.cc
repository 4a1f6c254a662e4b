#include "data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "custos/core/clock.h"
#include "custos/crypto/password.h"
#include "custos/crypto/random.h"
#include "custos/ledger/log.h"
#include "custos/policy/policy_store.h"
#include "custos/server/default_policies.h"

namespace custos::cli {
namespace fs = std::filesystem;

Status write_new_file(const std::string& path, std::string_view text, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return io_error("cannot create " + path + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return io_error("cannot write " + path + ": " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return io_error("cannot sync " + path);
  return Status::ok();
}

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return not_found("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

Result<std::string> read_secret_file(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return not_found("cannot read " + path);
  if ((info.st_mode & 0077) != 0) {
    return failed_precondition(path + " is readable by others; run chmod 600 " + path);
  }
  CUSTOS_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

Status check_data_dir(const DataDirPaths& paths) {
  if (!fs::exists(paths.db()) || !fs::exists(paths.log_key())) {
    return not_found(paths.root + " is not a custos data directory; run: custos init --data " +
                     paths.root);
  }
  return Status::ok();
}

Result<NoteSigner> load_log_signer(const DataDirPaths& paths) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, read_secret_file(paths.log_key()));
  auto signer = NoteSigner::parse_private_key(text);
  if (!signer.is_ok()) return signer.status().with_context(paths.log_key());
  return signer;
}

std::function<Result<std::string>(std::string_view)> checkpoint_signer(const NoteSigner& signer) {
  return [&signer](std::string_view body) -> Result<std::string> {
    const NoteSigner* signers[] = {&signer};
    return sign_note(body, signers);
  };
}

Result<std::unique_ptr<store::Store>> open_store(const DataDirPaths& paths, bool read_only,
                                                 uint64_t block_cache_mb) {
  CUSTOS_RETURN_IF_ERROR(check_data_dir(paths));
  store::StoreOptions options;
  options.create_if_missing = false;
  options.read_only = read_only;
  options.block_cache_mb = block_cache_mb;
  return store::Store::open(paths.db(), options);
}

LocalNode::~LocalNode() {
  identity.reset();
  if (log) log->close();
}

Result<LocalNode> open_local_node(const DataDirPaths& paths) {
  LocalNode node;
  CUSTOS_ASSIGN_OR_RETURN(NoteSigner signer, load_log_signer(paths));
  node.signer = std::make_unique<NoteSigner>(std::move(signer));
  auto store = open_store(paths, /*read_only=*/false);
  if (!store.is_ok()) {
    if (store.status().message().find("lock") != std::string::npos) {
      return failed_precondition(paths.root +
                                 " is in use (is custos serve running on it?); use --url to "
                                 "administer a running server");
    }
    return store.status();
  }
  node.store = std::move(store).value();
  static SystemClock clock;
  ledger::LogOptions log_options;
  log_options.origin = node.signer->name();
  log_options.clock = &clock;
  log_options.sign_checkpoint = checkpoint_signer(*node.signer);
  CUSTOS_ASSIGN_OR_RETURN(node.log, ledger::Log::open(*node.store, std::move(log_options)));
  CUSTOS_ASSIGN_OR_RETURN(node.identity,
                          identity::IdentityService::open(*node.log, *node.store, clock));
  return node;
}

Result<std::string> bootstrap_policy_text(const std::string& dir) {
  if (dir.empty()) return std::string(default_policy_text());
  return policy::read_policy_dir(dir);
}

Status write_credentials_file(const std::string& path, const Credentials& credentials) {
  return write_new_file(path,
                        "custos-credentials v1\nprincipal " + credentials.principal +
                            "\npassword " + credentials.password + "\ntotp_secret " +
                            credentials.totp_secret + "\n",
                        0600);
}

Result<Credentials> read_credentials_file(const std::string& path) {
  CUSTOS_ASSIGN_OR_RETURN(std::string text, read_secret_file(path));
  std::istringstream lines(text);
  std::string line;
  Credentials credentials;
  bool header = false;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (!header) {
      if (line != "custos-credentials v1") break;
      header = true;
      continue;
    }
    size_t space = line.find(' ');
    std::string name = line.substr(0, space);
    std::string value = space == std::string::npos ? "" : line.substr(space + 1);
    if (name == "principal") credentials.principal = value;
    else if (name == "password") credentials.password = value;
    else if (name == "totp_secret") credentials.totp_secret = value;
  }
  if (!header || credentials.principal.empty() || credentials.password.empty()) {
    return invalid_argument(path + " is not a custos credentials file");
  }
  return credentials;
}

Result<InitResult> initialise_data_dir(const DataDirPaths& paths, const std::string& origin_in,
                                       const std::string& admin_id,
                                       const std::string& policy_dir) {
  std::string origin = origin_in;
  if (origin.empty()) origin = "custos.local/log-" + hex_encode(random_bytes(4));
  if (!is_valid_note_key_name(origin)) {
    return invalid_argument("origin '" + origin +
                            "' is not a valid note key name (no spaces, no '+', non-empty)");
  }
  std::error_code error;
  if (fs::exists(paths.db()) || fs::exists(paths.log_key())) {
    return Status(StatusCode::kAlreadyExists, paths.root + " already holds a custos log");
  }
  fs::create_directories(paths.root, error);
  if (error) return io_error("cannot create " + paths.root + ": " + error.message());
  fs::permissions(paths.root, fs::perms::owner_all, fs::perm_options::replace, error);

  CUSTOS_ASSIGN_OR_RETURN(NoteSigner signer, NoteSigner::create(origin, Ed25519KeyPair::generate()));
  std::string vkey = signer.verifier().vkey_string();
  CUSTOS_RETURN_IF_ERROR(write_new_file(paths.log_key(), signer.private_key_string() + "\n", 0600));
  CUSTOS_RETURN_IF_ERROR(write_new_file(paths.log_vkey(), vkey + "\n", 0644));
  if (!identity::is_valid_identifier(admin_id)) {
    return invalid_argument("admin id '" + admin_id + "' is not a valid identifier");
  }
  // Check the policies before anything is written.
  CUSTOS_ASSIGN_OR_RETURN(std::string policy_text, bootstrap_policy_text(policy_dir));
  if (auto valid = policy::validate_policies(policy_text, policy::custos_schema()); !valid.is_ok()) {
    return valid.status().with_context(policy_dir.empty() ? "built-in policies" : policy_dir);
  }

  store::StoreOptions options;
  options.create_if_missing = true;
  CUSTOS_ASSIGN_OR_RETURN(auto store, store::Store::open(paths.db(), options));
  SystemClock clock;
  ledger::LogOptions log_options;
  log_options.origin = origin;
  log_options.clock = &clock;
  log_options.sign_checkpoint = checkpoint_signer(signer);
  CUSTOS_ASSIGN_OR_RETURN(auto log, ledger::Log::open(*store, std::move(log_options)));
  InitResult result{origin, vkey, "", admin_id, generate_token(18), "", ""};
  {
    CUSTOS_ASSIGN_OR_RETURN(auto identity, identity::IdentityService::open(*log, *store, clock));
    identity::PrincipalAttributes admin;
    admin.id = admin_id;
    admin.kind = identity::PrincipalKind::kUser;
    admin.display_name = "first administrator (custos init)";
    admin.roles = {"admin", "security", "policy_admin"};
    auto user = identity->create_user(admin, result.admin_password, /*with_totp=*/true,
                                      "bootstrap", "init");
    if (!user.is_ok()) return user.status().with_context("creating the first admin");
    if (!user->totp) return internal_error("the first admin got no TOTP secret");
    result.admin_totp_secret = user->totp->secret_base32;
    result.admin_otpauth_uri = user->totp->otpauth_uri;
    CUSTOS_ASSIGN_OR_RETURN(auto policies,
                            policy::PolicyStore::open(*log, *store, policy::custos_schema()));
    auto pushed = policies->push(policy_text, "bootstrap", "init");
    if (!pushed.is_ok()) return pushed.status().with_context("policy version 1");
    result.policy_version = pushed->version;
    result.policy_count = pushed->policy_count;
  }
  result.checkpoint = log->latest_checkpoint();
  log->close();
  return result;
}

}  // namespace custos::cli
