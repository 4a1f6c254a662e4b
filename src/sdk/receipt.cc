// Verification of checkpoints, append receipts and inclusion proofs served by a custos log.
#include "custos/sdk/receipt.h"

#include <simdjson.h>

#include <utility>

#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"

namespace custos::sdk {
namespace {

Status refuse(std::string_view what, std::string_view why) {
  return data_loss(std::string(what) + ": " + std::string(why));
}

// Reads member `key` of `object` as T; DataLoss naming the member otherwise.
template <typename T>
Result<T> member(simdjson::dom::element object, const char* key, std::string_view what) {
  T value;
  if (object[key].get(value) != simdjson::SUCCESS) {
    return refuse(what, std::string("missing or mistyped member '") + key + "'");
  }
  return value;
}

Result<Hash256> hash_member(simdjson::dom::element object, const char* key, std::string_view what) {
  CUSTOS_ASSIGN_OR_RETURN(std::string_view text, member<std::string_view>(object, key, what));
  auto hash = Hash256::from_base64(text);
  if (!hash.is_ok()) return refuse(what, std::string("'") + key + "' is not a base64 SHA-256 hash");
  return hash;
}

Result<std::vector<Hash256>> hash_list_member(simdjson::dom::element object, const char* key,
                                              std::string_view what) {
  CUSTOS_ASSIGN_OR_RETURN(simdjson::dom::array array,
                          member<simdjson::dom::array>(object, key, what));
  std::vector<Hash256> hashes;
  hashes.reserve(array.size());
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get(text) != simdjson::SUCCESS)
      return refuse(what, std::string("'") + key + "' holds a non-string");
    auto hash = Hash256::from_base64(text);
    if (!hash.is_ok())
      return refuse(what, std::string("'") + key + "' holds a hash that is not base64 SHA-256");
    hashes.push_back(*hash);
  }
  return hashes;
}

Result<simdjson::dom::element> parse_object(simdjson::dom::parser& parser, std::string_view json,
                                            std::string_view what) {
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return refuse(what, "not JSON");
  }
  if (!root.is_object()) return refuse(what, "not a JSON object");
  return root;
}

Result<ledger::EntryKind> entry_kind_from_name(std::string_view name) {
  for (uint8_t value = 0; value < 255; ++value) {
    if (!ledger::is_known_entry_kind(value)) continue;
    auto kind = static_cast<ledger::EntryKind>(value);
    if (ledger::entry_kind_name(kind) == name) return kind;
  }
  return invalid_argument("unknown entry kind '" + std::string(name) + "'");
}

// The checks shared by receipts and proof responses: the checkpoint opens,
// has the proof's tree size, and the proof leads from the leaf to its root.
Status check_inclusion(std::string_view what, uint64_t index, uint64_t tree_size,
                       const Hash256& leaf_hash, const std::vector<Hash256>& proof,
                       const ledger::Checkpoint& checkpoint) {
  if (checkpoint.tree_size != tree_size) {
    return refuse(what, "the checkpoint's tree size " + std::to_string(checkpoint.tree_size) +
                            " differs from the proof's tree size " + std::to_string(tree_size));
  }
  Status included =
      ledger::verify_inclusion(index, tree_size, leaf_hash, proof, checkpoint.root_hash);
  if (!included.is_ok())
    return refuse(what, "the inclusion proof does not verify: " + included.message());
  return Status::ok();
}

}  // namespace

Result<SignedCheckpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key) {
  const NoteVerifier* known[] = {&log_key};
  auto opened = open_note(note, known);
  if (!opened.is_ok()) {
    return refuse("checkpoint", "the signature does not verify with the log key " + log_key.name() +
                                    ": " + opened.status().message());
  }
  auto checkpoint = ledger::parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok())
    return refuse("checkpoint", "malformed body: " + checkpoint.status().message());
  if (checkpoint->origin != log_key.name()) {
    return refuse("checkpoint", "origin '" + checkpoint->origin + "' is not the log key's name '" +
                                    log_key.name() + "'");
  }
  return SignedCheckpoint{std::move(checkpoint).value(), std::string(note)};
}

Result<Receipt> verify_append_receipt(std::string_view receipt_json, ByteView payload,
                                      const NoteVerifier& log_key,
                                      const std::optional<Ed25519Signature>& sent_signature) {
  constexpr std::string_view kWhat = "append receipt";
  simdjson::dom::parser parser;
  CUSTOS_ASSIGN_OR_RETURN(simdjson::dom::element body, parse_object(parser, receipt_json, kWhat));

  Receipt receipt;
  CUSTOS_ASSIGN_OR_RETURN(receipt.index, member<uint64_t>(body, "index", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(receipt.tree_size, member<uint64_t>(body, "tree_size", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(receipt.receive_time, member<int64_t>(body, "receive_time_us", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(std::string_view principal,
                          member<std::string_view>(body, "principal", kWhat));
  receipt.principal = std::string(principal);
  CUSTOS_ASSIGN_OR_RETURN(receipt.leaf_hash, hash_member(body, "leaf_hash", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(receipt.inclusion_proof,
                          hash_list_member(body, "inclusion_proof", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(std::string_view note,
                          member<std::string_view>(body, "checkpoint", kWhat));

  std::string_view kind_name;
  if (body["kind"].get(kind_name) == simdjson::SUCCESS) {
    auto kind = entry_kind_from_name(kind_name);
    if (!kind.is_ok()) return refuse(kWhat, kind.status().message());
    receipt.kind = *kind;
  }

  // Candidate request signatures, most specific first (see the header).
  std::vector<Bytes> candidates;
  std::string_view echoed;
  if (body["request_signature"].get(echoed) == simdjson::SUCCESS) {
    auto bytes = base64_decode(echoed);
    if (!bytes.is_ok()) return refuse(kWhat, "'request_signature' is not base64");
    // The log keeps the signature evidence of the request (docs/storage.md);
    // when this client signed, it must be this client's signature.
    if (sent_signature) {
      std::string expected = "custos-sig v1\n" + base64_encode(sent_signature->view()) + "\n";
      if (!as_text(*bytes).starts_with(expected)) {
        return refuse(kWhat, "the logged request signature is not the one this client sent");
      }
    }
    candidates.push_back(std::move(bytes).value());
  } else {
    if (sent_signature)
      candidates.emplace_back(sent_signature->bytes.begin(), sent_signature->bytes.end());
    candidates.emplace_back();
  }

  auto checkpoint = open_checkpoint(note, log_key);
  if (!checkpoint.is_ok()) return checkpoint.status();
  receipt.checkpoint = std::move(checkpoint).value();

  bool leaf_matches = false;
  for (Bytes& signature : candidates) {
    if (!ledger::validate_entry_fields(receipt.kind, receipt.principal, signature, payload)
             .is_ok()) {
      continue;
    }
    Bytes entry;
    ledger::append_encoded_entry(entry, receipt.kind, receipt.index, receipt.receive_time,
                                 receipt.principal, signature, payload);
    if (ledger::hash_leaf(entry) == receipt.leaf_hash) {
      receipt.request_signature = std::move(signature);
      leaf_matches = true;
      break;
    }
  }
  if (!leaf_matches) {
    return refuse(kWhat, "leaf_hash is not the hash of the entry holding the payload sent (index " +
                             std::to_string(receipt.index) + ", principal '" + receipt.principal +
                             "')");
  }
  CUSTOS_RETURN_IF_ERROR(check_inclusion(kWhat, receipt.index, receipt.tree_size, receipt.leaf_hash,
                                         receipt.inclusion_proof, receipt.checkpoint.checkpoint));
  receipt.json = std::string(receipt_json);
  return receipt;
}

Result<VerifiedInclusion> verify_inclusion_response(std::string_view proof_json,
                                                    const NoteVerifier& log_key,
                                                    uint64_t expected_index,
                                                    std::optional<uint64_t> expected_tree_size) {
  constexpr std::string_view kWhat = "inclusion proof";
  simdjson::dom::parser parser;
  CUSTOS_ASSIGN_OR_RETURN(simdjson::dom::element body, parse_object(parser, proof_json, kWhat));

  VerifiedInclusion verified;
  CUSTOS_ASSIGN_OR_RETURN(verified.index, member<uint64_t>(body, "index", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(verified.tree_size, member<uint64_t>(body, "tree_size", kWhat));
  if (verified.index != expected_index) {
    return refuse(kWhat, "it is about entry " + std::to_string(verified.index) + ", not " +
                             std::to_string(expected_index));
  }
  if (expected_tree_size && verified.tree_size != *expected_tree_size) {
    return refuse(kWhat, "it is for tree size " + std::to_string(verified.tree_size) + ", not " +
                             std::to_string(*expected_tree_size));
  }
  CUSTOS_ASSIGN_OR_RETURN(verified.leaf_hash, hash_member(body, "leaf_hash", kWhat));
  CUSTOS_ASSIGN_OR_RETURN(verified.inclusion_proof,
                          hash_list_member(body, "inclusion_proof", kWhat));
  std::string_view note;
  if (body["checkpoint"].get(note) != simdjson::SUCCESS) {
    return failed_precondition("the log has no signed checkpoint of size " +
                               std::to_string(verified.tree_size) +
                               " to verify the proof against; ask without a tree size");
  }
  auto checkpoint = open_checkpoint(note, log_key);
  if (!checkpoint.is_ok()) return checkpoint.status();
  verified.checkpoint = std::move(checkpoint).value();
  CUSTOS_RETURN_IF_ERROR(check_inclusion(kWhat, verified.index, verified.tree_size,
                                         verified.leaf_hash, verified.inclusion_proof,
                                         verified.checkpoint.checkpoint));
  verified.json = std::string(proof_json);
  return verified;
}

Result<Bytes> entry_bytes_from_response(std::string_view entry_json) {
  constexpr std::string_view kWhat = "log entry";
  simdjson::dom::parser parser;
  CUSTOS_ASSIGN_OR_RETURN(simdjson::dom::element body, parse_object(parser, entry_json, kWhat));
  CUSTOS_ASSIGN_OR_RETURN(std::string_view entry_text,
                          member<std::string_view>(body, "entry", kWhat));
  auto bytes = base64_decode(entry_text);
  if (!bytes.is_ok()) return refuse(kWhat, "'entry' is not base64");
  return std::move(bytes).value();
}

Result<ledger::LogEntry> verify_entry_response(std::string_view entry_json, uint64_t index,
                                               const Hash256& leaf_hash) {
  constexpr std::string_view kWhat = "log entry";
  CUSTOS_ASSIGN_OR_RETURN(Bytes bytes_value, entry_bytes_from_response(entry_json));
  Result<Bytes> bytes = std::move(bytes_value);
  if (ledger::hash_leaf(*bytes) != leaf_hash) {
    return refuse(kWhat, "the served entry does not hash to the proven leaf");
  }
  auto entry = ledger::decode_entry(*bytes);
  if (!entry.is_ok())
    return refuse(kWhat, "the proven entry does not decode: " + entry.status().message());
  if (entry->index != index) {
    return refuse(kWhat, "the proven entry says it is entry " + std::to_string(entry->index) +
                             ", not " + std::to_string(index));
  }
  return entry;
}

}  // namespace custos::sdk
