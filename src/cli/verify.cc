// custos verify: the offline auditor over a data directory.
#include <iostream>

#include "cli.h"
#include "custos/core/json_writer.h"
#include "custos/ledger/store_audit.h"
#include "data_dir.h"

namespace custos::cli {

int run_verify(const VerifyOptions& options) {
  DataDirPaths paths{options.data_dir};
  auto vkey_text = read_text_file(paths.log_vkey());
  if (!vkey_text.is_ok()) {
    std::cerr << "custos verify: " << vkey_text.status().message()
              << " (is --data a custos data directory?)\n";
    return kExitUsage;
  }
  while (!vkey_text->empty() && vkey_text->back() == '\n') vkey_text->pop_back();
  auto log_key = NoteVerifier::parse(*vkey_text);
  if (!log_key.is_ok()) {
    std::cerr << "custos verify: " << paths.log_vkey() << ": " << log_key.status().message() << "\n";
    return kExitVerifyFailed;
  }
  auto store = open_store(paths, /*read_only=*/true);
  if (!store.is_ok()) {
    std::cerr << "custos verify: " << store.status().message() << "\n";
    return store.status().code() == StatusCode::kNotFound ? kExitUsage : kExitStorage;
  }
  auto report = ledger::audit_log_store(
      **store, *log_key, [&options](const ledger::StoreAuditProgress& progress) {
        if (!options.quiet) {
          std::cerr << "verify: " << progress.entries_checked << "/" << progress.tree_size
                    << " entries checked\n";
        }
      });
  if (!report.is_ok()) {
    std::cerr << "custos verify: " << report.status().message() << "\n";
    return kExitStorage;
  }
  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("ok").boolean(report->ok())
        .key("origin").string(report->origin)
        .key("tree_size").number(report->tree_size)
        .key("root_hash").string(report->root_hash.base64())
        .key("entries_checked").number(report->entries_checked)
        .key("tiles_checked").number(report->tiles_checked)
        .key("checkpoints_checked").number(report->checkpoints_checked)
        .key("problems").begin_array();
    for (const auto& problem : report->problems) {
      json.begin_object()
          .key("kind").string(ledger::store_audit_problem_kind_name(problem.kind))
          .key("position").number(problem.position)
          .key("message").string(problem.message)
          .end_object();
    }
    json.end_array().key("problems_omitted").number(report->problems_omitted).end_object();
    std::cout << json.str() << "\n";
  } else {
    for (const auto& problem : report->problems) std::cout << "PROBLEM " << problem.message << "\n";
    if (report->problems_omitted > 0) {
      std::cout << "... and " << report->problems_omitted << " more problems\n";
    }
    std::cout << (report->ok() ? "verified: " : "FAILED: ") << report->origin << ", "
              << report->entries_checked << " entries, " << report->tiles_checked << " tiles, "
              << report->checkpoints_checked << " checkpoints; root at size " << report->tree_size
              << " " << report->root_hash.base64() << "\n";
  }
  return report->ok() ? kExitOk : kExitVerifyFailed;
}

}  // namespace custos::cli
