// custos sdk: verifying what a custos log hands out, without trusting it.
//
// A client that knows the log's verifier key (a C2SP note key,
// "origin+hash+base64") checks every answer of the log before believing it:
//
//   checkpoint  the note opens with the log key (every known signature
//               verifies, at least one does), the body parses as a C2SP
//               tlog-checkpoint, and its origin is the key's name.
//   receipt     (the 201 answer to POST /custos/v1/log/entries, docs/api.md)
//               the checkpoint opens as above and its size equals the
//               receipt's tree_size; the entry rebuilt from the payload the
//               client sent and the receipt's index, receive_time_us,
//               principal, kind and request signature (docs/storage.md)
//               hashes (RFC 9162 leaf hash) to leaf_hash; and the inclusion
//               proof leads from that leaf to the checkpoint's root.
//   inclusion   (GET /custos/v1/log/proof/inclusion) the same checks of the
//               proof against the checkpoint it carries, and, for an entry
//               served by GET /custos/v1/log/entries/{index}, that its bytes
//               hash to the proven leaf.
//
// The request signature inside the rebuilt entry: when the receipt echoes it
// ("request_signature", base64: the signature evidence of docs/storage.md)
// those bytes are used, and when this client signed the request they must
// carry its own signature; otherwise the client tries the raw Ed25519
// signature it sent (if it signed) and then no signature (bearer appends). Every
// other field is bound by the leaf hash either way, so a receipt can never
// vouch for a payload other than the one sent.
//
// Every verification failure, including an answer that is not the JSON the
// API promises, is DataLoss: the log said something that is not true or not
// provable. All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"

namespace custos::sdk {

// A checkpoint whose signature verified with the log key.
struct SignedCheckpoint {
  ledger::Checkpoint checkpoint;
  std::string note;  // the signed note as served, to keep as evidence
};

// Opens `note` with `log_key` (see above). DataLoss on any failure.
Result<SignedCheckpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key);

// A verified append receipt.
struct Receipt {
  uint64_t index = 0;
  UnixMicros receive_time = 0;
  std::string principal;
  ledger::EntryKind kind = ledger::EntryKind::kRawPayload;
  Bytes request_signature;  // as inside the logged entry (may be empty)
  Hash256 leaf_hash;
  uint64_t tree_size = 0;
  std::vector<Hash256> inclusion_proof;
  SignedCheckpoint checkpoint;
  std::string json;  // the receipt as received
};

// Verifies the JSON receipt of appending `payload`. `sent_signature` is the
// raw signature of the request, when it was signed.
Result<Receipt> verify_append_receipt(std::string_view receipt_json, ByteView payload,
                                      const NoteVerifier& log_key,
                                      const std::optional<Ed25519Signature>& sent_signature = {});

// A verified inclusion proof, and the entry when it was fetched and checked.
struct VerifiedInclusion {
  uint64_t index = 0;
  uint64_t tree_size = 0;
  Hash256 leaf_hash;
  std::vector<Hash256> inclusion_proof;
  SignedCheckpoint checkpoint;
  std::optional<ledger::LogEntry> entry;  // decoded; its encoding hashes to leaf_hash
  std::string json;                       // the proof response as received
};

// Verifies an inclusion proof response. `expected_index` and, when given,
// `expected_tree_size` are what was asked for; the answer must be about them.
// FailedPrecondition (not DataLoss) when the response carries no checkpoint,
// which the server does for a tree size it never signed.
Result<VerifiedInclusion> verify_inclusion_response(
    std::string_view proof_json, const NoteVerifier& log_key, uint64_t expected_index,
    std::optional<uint64_t> expected_tree_size = {});

// Checks a GET /custos/v1/log/entries/{index} response: its "entry" bytes
// hash to `leaf_hash` and decode to an entry with index `index`.
// The encoded entry bytes of a GET /custos/v1/log/entries/{index} response
// ("entry", base64), unverified: prove them with prove_inclusion.
Result<Bytes> entry_bytes_from_response(std::string_view entry_json);

Result<ledger::LogEntry> verify_entry_response(std::string_view entry_json, uint64_t index,
                                               const Hash256& leaf_hash);

}  // namespace custos::sdk
