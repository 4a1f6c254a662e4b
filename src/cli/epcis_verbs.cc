// custos epcis hash: CBV 2.0 event hash IDs of an EPCIS 2.0 JSON / JSON-LD
// document, one line per event in document order.
// custos epcis validate: the problems of a document or event, one a line.
// custos epcis capture: a document through POST /capture, receipts verified.
#include <simdjson.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <vector>

#include "cli.h"
#include "custos/crypto/signed_note.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/validate.h"
#include "custos/ledger/proof.h"
#include "custos/sdk/receipt.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {

int run_epcis_hash(const EpcisHashOptions& options) {
  constexpr std::string_view kVerb = "epcis hash";
  auto text = read_text_file(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  auto hashes = options.prehash ? epcis::document_event_prehashes(*text)
                                : epcis::document_event_hashes(*text);
  if (!hashes.is_ok()) {
    return fail(kVerb, hashes.status().with_context(options.path), kExitUsage);
  }
  for (const std::string& line : *hashes) std::cout << line << "\n";
  return kExitOk;
}

int run_epcis_capture(const EpcisCaptureOptions& options) {
  constexpr std::string_view kVerb = "epcis capture";
  auto text = read_text_file(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  std::optional<NoteVerifier> log_key;
  if (!options.remote.vkey.empty()) {
    auto parsed = NoteVerifier::parse(options.remote.vkey);
    if (!parsed.is_ok()) return fail(kVerb, parsed.status(), kExitUsage);
    log_key = std::move(parsed).value();
  }
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  size_t first = text->find_first_not_of(" \t\r\n");
  const bool xml = first != std::string::npos && (*text)[first] == '<';
  auto answer = call_json(*client, "POST", "/capture", *text,
                          {{"Content-Type", xml ? "application/xml" : "application/ld+json"}});
  if (!answer.is_ok()) return fail(kVerb, answer.status(), exit_code_for(answer.status()));
  if (options.json) {
    std::cout << *answer << "\n";
  }
  simdjson::dom::parser parser;
  simdjson::dom::element job;
  std::string_view note;
  simdjson::dom::array events;
  if (parser.parse(*answer).get(job) != simdjson::SUCCESS ||
      job["checkpoint"].get(note) != simdjson::SUCCESS ||
      job["events"].get(events) != simdjson::SUCCESS) {
    return fail(kVerb, data_loss("the server's answer is not a capture job"), kExitVerifyFailed);
  }
  std::optional<sdk::SignedCheckpoint> checkpoint;
  if (log_key) {
    auto opened = sdk::open_checkpoint(note, *log_key);
    if (!opened.is_ok()) return fail(kVerb, opened.status(), kExitVerifyFailed);
    checkpoint = std::move(opened).value();
  }
  size_t fresh = 0, repeated = 0;
  for (simdjson::dom::element event : events) {
    std::string_view event_id, leaf_text;
    uint64_t index = 0;
    bool duplicate = false;
    simdjson::dom::array proof_hashes;
    if (event["eventID"].get(event_id) != simdjson::SUCCESS ||
        event["logIndex"].get(index) != simdjson::SUCCESS ||
        event["leafHash"].get(leaf_text) != simdjson::SUCCESS ||
        event["duplicate"].get(duplicate) != simdjson::SUCCESS ||
        event["inclusionProof"].get(proof_hashes) != simdjson::SUCCESS) {
      return fail(kVerb, data_loss("a receipt in the answer is incomplete"), kExitVerifyFailed);
    }
    (duplicate ? repeated : fresh) += 1;
    if (checkpoint) {
      auto leaf = Hash256::from_base64(leaf_text);
      std::vector<Hash256> path;
      for (simdjson::dom::element hash : proof_hashes) {
        std::string_view hash_text;
        auto parsed = hash.get(hash_text) == simdjson::SUCCESS ? Hash256::from_base64(hash_text)
                                                               : Result<Hash256>(data_loss("hash"));
        if (!parsed.is_ok()) return fail(kVerb, data_loss("malformed proof hash"), kExitVerifyFailed);
        path.push_back(*parsed);
      }
      Status verified = leaf.is_ok() ? ledger::verify_inclusion(index, checkpoint->checkpoint.tree_size,
                                                                *leaf, path,
                                                                checkpoint->checkpoint.root_hash)
                                     : leaf.status();
      if (!verified.is_ok()) {
        return fail(kVerb, data_loss("the receipt of " + std::string(event_id) + " does not verify: " +
                                     verified.message()),
                    kExitVerifyFailed);
      }
    }
    if (!options.json) {
      std::cout << "  " << event_id << " -> log index " << index
                << (duplicate ? " (already captured)" : "") << "\n";
    }
  }
  if (!options.json) {
    std::cout << fresh + repeated << " events captured (" << fresh << " new, " << repeated
              << " already in the log)";
    if (checkpoint) {
      std::cout << "; every inclusion proof VERIFIED against the checkpoint of size "
                << checkpoint->checkpoint.tree_size << " signed by "
                << checkpoint->checkpoint.origin;
    }
    std::cout << "\n";
  }
  return kExitOk;
}

int run_epcis_validate(const EpcisValidateOptions& options) {
  constexpr std::string_view kVerb = "epcis validate";
  std::error_code ignored;
  if (std::filesystem::is_directory(options.path, ignored)) {
    return fail(kVerb, invalid_argument(options.path + " is a directory; name an EPCIS JSON file"),
                kExitUsage);
  }
  auto text = read_text_file(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  std::vector<epcis::ValidationProblem> problems = epcis::validate_document_or_event(*text);
  if (problems.empty()) {
    std::cout << "valid\n";
    return kExitOk;
  }
  for (const epcis::ValidationProblem& problem : problems) {
    std::cout << (problem.pointer.empty() ? "(root)" : problem.pointer) << ": " << problem.message
              << "\n";
  }
  return kExitVerifyFailed;
}

}  // namespace custos::cli
