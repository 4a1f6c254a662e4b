// custos trace EPC: an object's chain of custody (GET /custos/v1/trace/{epc}),
// each step checked against the checkpoint signed with the log key: the
// entry hashes to the proven leaf, the leaf is in the tree, and the entry is
// the EPCIS event the step names (index, kind, custodian, event hash, eventID).
#include <simdjson.h>

#include <iostream>
#include <optional>
#include <vector>

#include "cli.h"
#include "custos/crypto/signed_note.h"
#include "custos/custody/capture_record.h"
#include "custos/epcis/json_codec.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/sdk/receipt.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {

namespace {

std::string_view text_of(simdjson::dom::element element, const char* key) {
  std::string_view value;
  return element[key].get(value) == simdjson::SUCCESS ? value : std::string_view();
}

// OK when the step's entry is the event it names and is in the checkpoint's tree.
Status verify_step(simdjson::dom::element step, const ledger::Checkpoint& checkpoint) {
  uint64_t index = 0;
  simdjson::dom::array proof;
  if (step["logIndex"].get(index) != simdjson::SUCCESS ||
      step["inclusionProof"].get(proof) != simdjson::SUCCESS) {
    return data_loss("a step lacks its log index or proof");
  }
  const std::string where = "step at log index " + std::to_string(index) + ": ";
  CUSTOS_ASSIGN_OR_RETURN(Bytes entry_bytes, base64_decode(text_of(step, "entry")));
  std::vector<Hash256> path;
  for (simdjson::dom::element hash : proof) {
    std::string_view text;
    if (hash.get(text) != simdjson::SUCCESS) return data_loss(where + "malformed proof");
    CUSTOS_ASSIGN_OR_RETURN(Hash256 node, Hash256::from_base64(text));
    path.push_back(node);
  }
  Status included = ledger::verify_inclusion(index, checkpoint.tree_size,
                                             ledger::hash_leaf(entry_bytes), path,
                                             checkpoint.root_hash);
  if (!included.is_ok()) return data_loss(where + "not in the log: " + included.message());
  auto entry = ledger::decode_entry(entry_bytes);
  if (!entry.is_ok()) return data_loss(where + entry.status().message());
  if (entry->index != index || entry->kind != ledger::EntryKind::kEpcisEvent ||
      entry->principal != text_of(step, "custodian")) {
    return data_loss(where + "the entry is not the event the step names");
  }
  auto logged = custody::decode_event_payload(entry->payload);
  if (!logged.is_ok()) return data_loss(where + logged.status().message());
  auto event = epcis::decode_event(logged->event_json);
  if (!event.is_ok() || logged->event_hash != text_of(step, "eventHash") ||
      event->event_id.value_or("") != text_of(step, "eventID")) {
    return data_loss(where + "event hash or eventID differ from the logged event");
  }
  return Status::ok();
}

}  // namespace

int run_trace(const TraceOptions& options) {
  constexpr std::string_view kVerb = "trace";
  std::string text;
  if (!options.file.empty()) {
    auto saved = read_text_file(options.file);
    if (!saved.is_ok()) return fail(kVerb, saved.status(), kExitUsage);
    text = std::move(saved).value();
  } else {
    if (options.epc.empty()) {
      return fail(kVerb, invalid_argument("name an EPC, or --file with a saved trace"), kExitUsage);
    }
    auto client = make_remote_client(options.remote);
    if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
    auto answer = call_json(*client, "GET", "/custos/v1/trace/" + percent_encode(options.epc, ""));
    if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
    text = std::move(answer).value();
  }
  if (!options.out.empty()) {
    Status saved = write_new_file(options.out, text + "\n", 0644);
    if (!saved.is_ok()) return fail(kVerb, saved, kExitStorage);
  }
  simdjson::dom::parser parser;
  simdjson::dom::element trace;
  simdjson::dom::array steps, gaps;
  if (parser.parse(text).get(trace) != simdjson::SUCCESS ||
      trace["steps"].get(steps) != simdjson::SUCCESS ||
      trace["gaps"].get(gaps) != simdjson::SUCCESS) {
    return fail(kVerb, data_loss("not a custos trace"), kExitVerifyFailed);
  }
  std::optional<sdk::SignedCheckpoint> checkpoint;
  if (options.verify) {
    if (options.remote.vkey.empty()) {
      return fail(kVerb, invalid_argument("--verify needs the log's --vkey"), kExitUsage);
    }
    auto key = NoteVerifier::parse(options.remote.vkey);
    if (!key.is_ok()) return fail(kVerb, key.status(), kExitUsage);
    auto opened = sdk::open_checkpoint(text_of(trace, "checkpoint"), *key);
    if (!opened.is_ok()) return fail(kVerb, opened.status(), kExitVerifyFailed);
    checkpoint = std::move(opened).value();
    for (simdjson::dom::element step : steps) {
      Status verified = verify_step(step, checkpoint->checkpoint);
      if (!verified.is_ok()) return fail(kVerb, verified, kExitVerifyFailed);
    }
  }
  if (options.json) {
    std::cout << text << "\n";
    return kExitOk;
  }
  std::cout << "custody of " << text_of(trace, "subject") << ": " << steps.size() << " steps, "
            << gaps.size() << " gaps" << (bool(trace["truncated"]) ? " (truncated)" : "") << "\n";
  for (simdjson::dom::element step : steps) {
    uint64_t index = 0;
    if (step["logIndex"].get(index) != simdjson::SUCCESS) index = 0;
    std::cout << "  " << text_of(step, "eventTime") << "  #" << index << "  "
              << text_of(step, "relation") << " " << text_of(step, "subject") << "  "
              << text_of(step, "eventType") << " " << text_of(step, "action") << " "
              << text_of(step, "bizStep") << " at " << text_of(step, "bizLocation")
              << "  by " << text_of(step, "custodian") << "\n";
  }
  for (simdjson::dom::element gap : gaps) {
    int64_t seconds = 0;
    if (gap["seconds"].get(seconds) != simdjson::SUCCESS) seconds = 0;
    std::cout << "  GAP " << text_of(gap, "from") << " .. " << text_of(gap, "to") << " ("
              << seconds << " s without any event)\n";
  }
  if (checkpoint) {
    std::cout << "every step VERIFIED against the checkpoint of size "
              << checkpoint->checkpoint.tree_size << " signed by " << checkpoint->checkpoint.origin
              << "\n";
  } else {
    std::cout << "(not verified: add --verify --vkey KEY)\n";
  }
  return kExitOk;
}

}  // namespace custos::cli
