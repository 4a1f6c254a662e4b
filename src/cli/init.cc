#include <iostream>

#include "cli.h"
#include "custos/core/json_writer.h"
#include "data_dir.h"

namespace custos::cli {

int run_init(const InitOptions& options) {
  DataDirPaths paths{options.data_dir};
  auto result = initialise_data_dir(paths, options.origin);
  if (!result.is_ok()) {
    std::cerr << "custos init: " << result.status().message() << "\n";
    switch (result.status().code()) {
      case StatusCode::kInvalidArgument:
      case StatusCode::kAlreadyExists: return kExitUsage;
      default: return kExitStorage;
    }
  }
  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("data_dir").string(paths.root)
        .key("origin").string(result->origin)
        .key("verifier_key").string(result->verifier_key)
        .key("admin_token_file").string(paths.admin_token())
        .key("checkpoint").string(result->checkpoint)
        .end_object();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  std::cout << "initialised " << paths.root << "\n"
            << "  origin        " << result->origin << "\n"
            << "  verifier key  " << result->verifier_key << "\n"
            << "  signing key   " << paths.log_key() << " (mode 0600; keep it secret)\n"
            << "  admin token   " << paths.admin_token() << " (mode 0600)\n"
            << "Give the verifier key to auditors and witnesses: custos audit --vkey '"
            << result->verifier_key << "' ...\n";
  return kExitOk;
}

}  // namespace custos::cli
