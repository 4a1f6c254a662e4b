// custos audit: the remote auditor (a witness's core) over HTTP.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli.h"
#include "custos/core/json_writer.h"
#include "custos/ledger/log_auditor.h"
#include "custos/ledger/tile_path.h"
#include "data_dir.h"
#include "custos/sdk/client.h"

namespace custos::cli {

int run_audit(const AuditOptions& options) {
  auto fail = [](const Status& status, int code) {
    std::cerr << "custos audit: " << status.message() << "\n";
    return code;
  };
  sdk::ClientOptions client_options;
  client_options.base_url = options.url;
  auto client = sdk::Client::create(std::move(client_options));
  if (!client.is_ok()) return fail(client.status(), kExitUsage);

  std::optional<ledger::AuditState> previous;
  if (std::filesystem::exists(options.state_path)) {
    auto text = read_text_file(options.state_path);
    if (!text.is_ok()) return fail(text.status(), kExitStorage);
    auto state = ledger::decode_audit_state(*text);
    if (!state.is_ok()) return fail(state.status().with_context(options.state_path), kExitUsage);
    previous = std::move(state).value();
  }
  std::string vkey = options.vkey;
  if (previous) {
    if (!vkey.empty() && vkey != previous->vkey) {
      return fail(invalid_argument("--vkey differs from the key in " + options.state_path +
                                   "; use a new state file to audit another log"),
                  kExitUsage);
    }
    vkey = previous->vkey;
  }
  if (vkey.empty()) {
    return fail(invalid_argument("the first audit needs the log's verifier key: --vkey KEY"),
                kExitUsage);
  }
  auto log_key = NoteVerifier::parse(vkey);
  if (!log_key.is_ok()) return fail(log_key.status().with_context("--vkey"), kExitUsage);

  auto checkpoint = client->get_ok("/checkpoint");
  if (!checkpoint.is_ok()) return fail(checkpoint.status(), kExitNetwork);
  ledger::TileFetcher fetch_tile = [&](uint8_t level, uint64_t index,
                                       uint64_t width) -> Result<std::string> {
    ledger::TilePath path;
    path.level = level;
    path.index = index;
    path.width = static_cast<uint16_t>(width);
    std::string target = "/";
    target += ledger::format_tile_path(path);
    return client->get_ok(target);
  };
  auto outcome = ledger::audit_checkpoint(*log_key, previous, *checkpoint, fetch_tile);
  if (!outcome.is_ok()) return fail(outcome.status(), kExitNetwork);

  if (outcome->consistent) {
    std::string temporary = options.state_path + ".tmp";
    std::remove(temporary.c_str());
    Status written =
        write_new_file(temporary, ledger::encode_audit_state(outcome->new_state), 0644);
    if (!written.is_ok() || std::rename(temporary.c_str(), options.state_path.c_str()) != 0) {
      return fail(io_error("cannot save the audit state to " + options.state_path), kExitStorage);
    }
  }
  if (options.json) {
    JsonWriter json;
    json.begin_object()
        .key("consistent").boolean(outcome->consistent)
        .key("verdict").string(ledger::audit_verdict_name(outcome->verdict))
        .key("message").string(outcome->message)
        .key("previous_tree_size").number(previous ? previous->tree_size : uint64_t{0})
        .key("tree_size").number(outcome->new_state.tree_size)
        .key("root_hash").string(outcome->new_state.root_hash.base64())
        .key("tiles_fetched").number(outcome->tiles_fetched)
        .end_object();
    std::cout << json.str() << "\n";
  } else if (outcome->consistent) {
    std::cout << "consistent: " << log_key->name() << " at size " << outcome->new_state.tree_size;
    if (previous) std::cout << " extends the audited size " << previous->tree_size;
    std::cout << " (" << outcome->tiles_fetched << " tiles fetched); state saved to "
              << options.state_path << "\n";
  } else {
    std::cout << "INCONSISTENT (" << ledger::audit_verdict_name(outcome->verdict)
              << "): " << outcome->message << "\n";
  }
  return outcome->consistent ? kExitOk : kExitVerifyFailed;
}

}  // namespace custos::cli
