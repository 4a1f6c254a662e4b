#include <iostream>

#include "cli.h"
#include "custos/core/json_writer.h"
#include "data_dir.h"

namespace custos::cli {

int run_init(const InitOptions& options) {
  DataDirPaths paths{options.data_dir};
  auto result = initialise_data_dir(paths, options.origin, options.admin_id, options.policy_dir);
  if (!result.is_ok()) {
    std::cerr << "custos init: " << result.status().message() << "\n";
    switch (result.status().code()) {
      case StatusCode::kInvalidArgument:
      case StatusCode::kAlreadyExists: return kExitUsage;
      default: return kExitStorage;
    }
  }
  const bool to_file = !options.credentials_out.empty();
  if (to_file) {
    Status written = write_credentials_file(
        options.credentials_out,
        Credentials{result->admin_id, result->admin_password, result->admin_totp_secret});
    if (!written.is_ok()) {
      std::cerr << "custos init: " << written.message()
                << "\n  the data directory was created; the admin's credentials are lost: "
                   "remove it and run init again\n";
      return kExitStorage;
    }
  }
  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("data_dir").string(paths.root)
        .key("origin").string(result->origin)
        .key("verifier_key").string(result->verifier_key)
        .key("checkpoint").string(result->checkpoint)
        .key("admin").string(result->admin_id)
        .key("policy_version").number(result->policy_version);
    if (to_file) {
      json.key("credentials_file").string(options.credentials_out);
    } else {
      json.key("admin_password").string(result->admin_password)
          .key("admin_totp_secret").string(result->admin_totp_secret)
          .key("admin_otpauth_uri").string(result->admin_otpauth_uri);
    }
    json.end_object();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  std::cout << "initialised " << paths.root << "\n"
            << "  origin        " << result->origin << "\n"
            << "  verifier key  " << result->verifier_key << "\n"
            << "  signing key   " << paths.log_key() << " (mode 0600; keep it secret)\n"
            << "  admin user    " << result->admin_id << " (roles admin, security, policy_admin)\n"
            << "  policies      version " << result->policy_version << ", "
            << result->policy_count << " policies ("
            << (options.policy_dir.empty() ? std::string("built-in default set") : options.policy_dir)
            << ")\n";
  if (to_file) {
    std::cout << "  credentials   " << options.credentials_out
              << " (mode 0600: password and TOTP secret)\n";
  } else {
    std::cout << "\nShown once, store them now:\n"
              << "  password      " << result->admin_password << "\n"
              << "  TOTP secret   " << result->admin_totp_secret << "\n"
              << "  TOTP URI      " << result->admin_otpauth_uri << "\n";
  }
  std::cout << "Give the verifier key to auditors and witnesses: custos audit --vkey '"
            << result->verifier_key << "' ...\n";
  return kExitOk;
}

}  // namespace custos::cli
