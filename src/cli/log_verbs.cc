// custos log append | proof | show, through the SDK (which verifies every
// receipt, proof and checkpoint before returning it).
#include <iostream>

#include "cli.h"
#include "custos/core/clock.h"
#include "custos/core/json_writer.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/ledger/merkle.h"
#include "custos/sdk/client.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {
namespace {

void print_note(std::string_view note) {
  size_t start = 0;
  while (start < note.size()) {
    size_t end = note.find('\n', start);
    if (end == std::string_view::npos) end = note.size();
    std::cout << "    " << note.substr(start, end - start) << "\n";
    start = end + 1;
  }
}

}  // namespace

int run_log_append(const LogAppendOptions& options) {
  constexpr std::string_view kVerb = "log append";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto receipt = client->append(options.payload);
  if (!receipt.is_ok()) return fail(kVerb, receipt.status(), exit_code_for(receipt.status()));
  if (options.json) {
    std::cout << receipt->json << "\n";
  } else {
    std::cout << "entry " << receipt->index << " committed; inclusion proof ("
              << receipt->inclusion_proof.size() << " hashes) verified against checkpoint of size "
              << receipt->tree_size << " signed by " << receipt->checkpoint.checkpoint.origin
              << "\n";
  }
  return kExitOk;
}

int run_log_proof(const LogProofOptions& options) {
  constexpr std::string_view kVerb = "log proof";
  RemoteOptions remote;
  remote.url = options.url;
  remote.vkey = options.vkey;
  auto client = make_remote_client(remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto proof = client->prove_inclusion(options.index, options.tree_size);
  if (!proof.is_ok()) return fail(kVerb, proof.status(), exit_code_for(proof.status()));
  if (options.json) {
    std::cout << proof->json << "\n";
    return kExitOk;
  }
  std::cout << "entry " << proof->index << " is in the log of size " << proof->tree_size
            << ": inclusion proof VERIFIED\n"
            << "  leaf hash  " << proof->leaf_hash.base64() << "\n";
  for (size_t i = 0; i < proof->inclusion_proof.size(); ++i) {
    std::cout << "  proof[" << i << "]   " << proof->inclusion_proof[i].base64() << "\n";
  }
  std::cout << "  checkpoint (signature verified with " << proof->checkpoint.checkpoint.origin
            << "):\n";
  print_note(proof->checkpoint.note);
  return kExitOk;
}

int run_log_show(const LogShowOptions& options) {
  constexpr std::string_view kVerb = "log show";
  if (!options.url.empty()) {
    RemoteOptions remote;
    remote.url = options.url;
    auto client = make_remote_client(remote);
    if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
    auto text = client->get_ok("/custos/v1/log/entries/" + std::to_string(options.index));
    if (!text.is_ok()) return fail(kVerb, text.status(), exit_code_for(text.status()));
    // Without a tree to prove against, the entry is shown as served; its
    // leaf hash is recomputed from the bytes, not taken from the server.
    auto entry = sdk::entry_bytes_from_response(*text);
    if (!entry.is_ok()) return fail(kVerb, entry.status(), kExitVerifyFailed);
    return print_entry(*entry, options.json);
  }
  DataDirPaths paths{options.data_dir};
  auto store = open_store(paths, /*read_only=*/true);
  if (!store.is_ok()) return fail(kVerb, store.status(), exit_code_for(store.status()));
  SystemClock clock;
  ledger::LogOptions log_options;
  log_options.clock = &clock;
  log_options.sign_checkpoint = [](std::string_view) -> Result<std::string> {
    return failed_precondition("the log is opened read-only");
  };
  auto origin = (*store)->get(store::Family::kMeta, "log/origin");
  if (origin.is_ok() && origin->has_value()) log_options.origin = **origin;
  auto log = ledger::Log::open(**store, std::move(log_options));
  if (!log.is_ok()) return fail(kVerb, log.status(), kExitStorage);
  auto bytes = (*log)->entry(options.index);
  if (!bytes.is_ok()) return fail(kVerb, bytes.status(), exit_code_for(bytes.status()));
  return print_entry(*bytes, options.json);
}

int print_entry(ByteView bytes, bool json_output) {
  auto entry = ledger::decode_entry(bytes);
  if (!entry.is_ok()) {
    std::cerr << "custos log show: the entry does not decode: " << entry.status().message() << "\n";
    return kExitVerifyFailed;
  }
  Hash256 leaf = ledger::hash_leaf(bytes);
  bool printable = true;
  for (uint8_t byte : entry->payload) {
    printable = printable && (byte >= 0x20 || byte == '\n' || byte == '\t') && byte != 0x7f;
  }
  if (json_output) {
    JsonWriter json;
    json.begin_object()
        .key("index").number(entry->index)
        .key("kind").string(ledger::entry_kind_name(entry->kind))
        .key("receive_time").string(format_rfc3339_micros(entry->receive_time))
        .key("principal").string(entry->principal)
        .key("request_signature").string(base64_encode(entry->request_signature))
        .key("payload").string(base64_encode(entry->payload))
        .key("leaf_hash").string(leaf.base64())
        .end_object();
    std::cout << json.str() << "\n";
    return kExitOk;
  }
  std::cout << "index         " << entry->index << "\n"
            << "kind          " << ledger::entry_kind_name(entry->kind) << "\n"
            << "received      " << format_rfc3339_micros(entry->receive_time) << "\n"
            << "principal     " << entry->principal << "\n"
            << "signature     "
            << (entry->request_signature.empty() ? "(none)" : base64_encode(entry->request_signature))
            << "\n"
            << "leaf hash     " << leaf.base64() << "\n"
            << "payload       " << entry->payload.size() << " bytes\n";
  if (printable) {
    std::cout << "  " << as_text(entry->payload) << "\n";
  } else {
    std::cout << "  base64 " << base64_encode(entry->payload) << "\n";
  }
  return kExitOk;
}

}  // namespace custos::cli
