// custos ledger: the remote auditor's logic, independent of any transport.
//
// An auditor remembers the last checkpoint it accepted from a log (an
// AuditState, saved between runs) and, given the log's current signed
// checkpoint and a way to fetch its tiles, decides whether the log is still
// the same append-only log: the note must be signed by the log key, its body
// must parse and name the remembered origin, the tiles served must hash to
// the signed root at the new size, and the new tree must extend the
// remembered one (a consistency proof built from the served tiles must verify
// against both roots). The `custos audit` command supplies HTTP fetchers; the
// tests supply an in-process log.
//
// Verdicts and errors are distinct: anything the log served that is wrong
// (bad signature, malformed checkpoint or tile, other origin, smaller tree,
// different root at the same size, tiles disagreeing with the signed root,
// rewritten history) is a verdict, AuditOutcome::consistent == false with a
// reason and a message. A Status error means the audit could not be done
// (a fetch failed: the fetcher's Status is returned with context; or the
// caller passed a previous state made for another key: InvalidArgument).
//
// AuditState text format, version 1 (encode_audit_state writes exactly this
// and decode_audit_state accepts nothing else): six lines, each ending "\n",
// in this order, with no other lines, spaces or carriage returns added:
//
//   custos-audit-state v1
//   origin <origin line, non-empty>
//   vkey <note verifier key, name+hash+base64>
//   tree_size <decimal, no leading zeros>
//   root_hash <standard base64 of 32 bytes>
//   checkpoint <standard base64 of the whole signed checkpoint note>
//
// Decoding also checks that the vkey parses and that the checkpoint note's
// body names the same origin, size and root (its signature is not re-checked:
// the state is the auditor's own file; a fresh audit checks the log anew).
//
// All functions are thread-safe; audit_checkpoint calls `fetch` on the
// calling thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/tile_reader.h"

namespace custos::ledger {

inline constexpr std::string_view kAuditStateHeader = "custos-audit-state v1";

struct AuditState {
  std::string origin;      // the log's checkpoint origin
  std::string vkey;        // the log key's verifier key text
  uint64_t tree_size = 0;  // size of the last accepted checkpoint
  Hash256 root_hash;       // its root
  std::string checkpoint;  // the signed note itself, kept as evidence

  friend bool operator==(const AuditState&, const AuditState&) = default;
};

std::string encode_audit_state(const AuditState& state);
// InvalidArgument naming the first line that is wrong.
Result<AuditState> decode_audit_state(std::string_view text);

enum class AuditVerdict : uint8_t {
  kConsistent,        // the new checkpoint extends (or equals) the previous one
  kBadSignature,      // the note does not open with the log key
  kMalformed,         // the body or a tile is malformed
  kWrongOrigin,       // the origin differs from the remembered one
  kTilesDisagree,     // the served tiles do not hash to the signed root
  kRollback,          // the new tree is smaller than the remembered one
  kFork,              // same size, different root
  kRewrittenHistory,  // the consistency proof from the served tiles does not verify
};

std::string_view audit_verdict_name(AuditVerdict verdict);

struct AuditOutcome {
  bool consistent = false;
  AuditVerdict verdict = AuditVerdict::kMalformed;
  // One line for people, e.g. "log grew from 1000 to 1500 entries, consistent".
  std::string message;
  // The state to remember next. Filled whenever the checkpoint opened and
  // parsed, but save it ONLY when `consistent`.
  AuditState new_state;
  uint64_t tiles_fetched = 0;  // fetcher calls
  uint64_t bytes_fetched = 0;  // bytes those calls returned
};

// Audits `checkpoint_note` (a whole signed note) against `previous` (none on
// the first audit, which then only checks the signature, the body and the
// tiles), fetching tiles of the new tree through `fetch`.
Result<AuditOutcome> audit_checkpoint(const NoteVerifier& log_key,
                                      const std::optional<AuditState>& previous,
                                      std::string_view checkpoint_note, TileFetcher fetch);

}  // namespace custos::ledger
