#include "custos/ledger/log_auditor.h"

#include <array>
#include <utility>

#include "custos/ledger/checkpoint.h"
#include "custos/ledger/proof.h"

namespace custos::ledger {
namespace {

constexpr std::array<std::string_view, 6> kStateKeys = {"",           "origin ",    "vkey ",
                                                        "tree_size ", "root_hash ", "checkpoint "};

AuditOutcome verdict(AuditVerdict verdict, std::string message) {
  AuditOutcome outcome;
  outcome.consistent = verdict == AuditVerdict::kConsistent;
  outcome.verdict = verdict;
  outcome.message = std::move(message);
  return outcome;
}

// Counts what the fetcher returns and remembers a transport failure, so the
// caller can tell it from a malformed tile (TileReader reports both as errors).
struct CountingFetcher {
  TileFetcher fetch;
  uint64_t calls = 0;
  uint64_t bytes = 0;
  Status failure;

  TileFetcher wrap() {
    return [this](uint8_t level, uint64_t tile_index, uint64_t width) -> Result<std::string> {
      ++calls;
      auto tile = fetch(level, tile_index, width);
      if (!tile.is_ok()) {
        failure = tile.status().with_context("fetching tile " + std::to_string(level) + "/" +
                                             std::to_string(tile_index));
        return failure;
      }
      bytes += tile->size();
      return tile;
    };
  }
};

}  // namespace

std::string_view audit_verdict_name(AuditVerdict verdict) {
  switch (verdict) {
    case AuditVerdict::kConsistent:
      return "consistent";
    case AuditVerdict::kBadSignature:
      return "bad_signature";
    case AuditVerdict::kMalformed:
      return "malformed";
    case AuditVerdict::kWrongOrigin:
      return "wrong_origin";
    case AuditVerdict::kTilesDisagree:
      return "tiles_disagree";
    case AuditVerdict::kRollback:
      return "rollback";
    case AuditVerdict::kFork:
      return "fork";
    case AuditVerdict::kRewrittenHistory:
      return "rewritten_history";
  }
  return "unknown";
}

std::string encode_audit_state(const AuditState& state) {
  std::string text;
  text.append(kAuditStateHeader).append("\n");
  text.append(kStateKeys[1]).append(state.origin).append("\n");
  text.append(kStateKeys[2]).append(state.vkey).append("\n");
  text.append(kStateKeys[3]).append(std::to_string(state.tree_size)).append("\n");
  text.append(kStateKeys[4]).append(state.root_hash.base64()).append("\n");
  text.append(kStateKeys[5]).append(base64_encode(as_bytes(state.checkpoint))).append("\n");
  return text;
}

Result<AuditState> decode_audit_state(std::string_view text) {
  std::array<std::string_view, kStateKeys.size()> values;
  std::string_view rest = text;
  for (size_t line = 0; line < kStateKeys.size(); ++line) {
    std::string where = "audit state line " + std::to_string(line + 1);
    size_t end = rest.find('\n');
    if (end == std::string_view::npos)
      return invalid_argument(where + " is missing or unterminated");
    std::string_view content = rest.substr(0, end);
    rest.remove_prefix(end + 1);
    for (char c : content) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return invalid_argument(where + " holds a control character");
      }
    }
    if (line == 0) {
      if (content != kAuditStateHeader) {
        return invalid_argument(where + " must be \"" + std::string(kAuditStateHeader) + "\"");
      }
      continue;
    }
    if (!content.starts_with(kStateKeys[line]) || content.size() == kStateKeys[line].size()) {
      return invalid_argument(where + " must be \"" + std::string(kStateKeys[line]) + "<value>\"");
    }
    values[line] = content.substr(kStateKeys[line].size());
  }
  if (!rest.empty()) return invalid_argument("audit state has text after its 6 lines");

  AuditState state;
  state.origin = std::string(values[1]);
  auto verifier = NoteVerifier::parse(values[2]);
  if (!verifier.is_ok())
    return invalid_argument("audit state vkey: " + verifier.status().message());
  state.vkey = std::string(values[2]);
  auto tree_size = parse_decimal_u64(values[3]);
  if (!tree_size.is_ok()) return invalid_argument("audit state tree_size is not a decimal number");
  state.tree_size = *tree_size;
  auto root = Hash256::from_base64(values[4]);
  if (!root.is_ok()) return invalid_argument("audit state root_hash: " + root.status().message());
  state.root_hash = *root;
  auto note = base64_decode(values[5]);
  if (!note.is_ok()) return invalid_argument("audit state checkpoint: " + note.status().message());
  state.checkpoint = std::string(as_text(*note));

  auto parsed = parse_note(state.checkpoint);
  if (!parsed.is_ok()) {
    return invalid_argument("audit state checkpoint note: " + parsed.status().message());
  }
  auto body = parse_checkpoint_body(parsed->text);
  if (!body.is_ok()) {
    return invalid_argument("audit state checkpoint body: " + body.status().message());
  }
  if (body->origin != state.origin || body->tree_size != state.tree_size ||
      body->root_hash != state.root_hash) {
    return invalid_argument(
        "audit state checkpoint does not match its origin, tree_size and root_hash lines");
  }
  return state;
}

Result<AuditOutcome> audit_checkpoint(const NoteVerifier& log_key,
                                      const std::optional<AuditState>& previous,
                                      std::string_view checkpoint_note, TileFetcher fetch) {
  if (previous && previous->vkey != log_key.vkey_string()) {
    return invalid_argument("the saved audit state is for key " + previous->vkey + ", not " +
                            log_key.vkey_string());
  }
  if (!fetch) return invalid_argument("audit_checkpoint needs a tile fetcher");

  const NoteVerifier* known[] = {&log_key};
  auto opened = open_note(checkpoint_note, known);
  if (!opened.is_ok()) {
    return verdict(AuditVerdict::kBadSignature, "checkpoint is not signed by " + log_key.name() +
                                                    ": " + opened.status().message());
  }
  auto checkpoint = parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok()) {
    return verdict(AuditVerdict::kMalformed,
                   "checkpoint body is malformed: " + checkpoint.status().message());
  }
  AuditState state{checkpoint->origin, log_key.vkey_string(), checkpoint->tree_size,
                   checkpoint->root_hash, std::string(checkpoint_note)};
  std::string new_size = std::to_string(state.tree_size);

  auto finish = [&](AuditOutcome outcome, const CountingFetcher& counter) {
    outcome.new_state = state;
    outcome.tiles_fetched = counter.calls;
    outcome.bytes_fetched = counter.bytes;
    return outcome;
  };
  CountingFetcher counter;
  counter.fetch = std::move(fetch);

  if (previous && checkpoint->origin != previous->origin) {
    return finish(verdict(AuditVerdict::kWrongOrigin, "checkpoint origin \"" + checkpoint->origin +
                                                          "\" is not \"" + previous->origin + "\""),
                  counter);
  }

  // The tiles must agree with the signed head before they are trusted for a proof.
  TileReader reader(counter.wrap(), state.tree_size);
  // Maps a TileReader failure to a transport error or a verdict on the served tiles.
  auto tile_failure = [&](const Status& status) -> Result<AuditOutcome> {
    if (!counter.failure.is_ok()) return counter.failure;
    if (status.code() != StatusCode::kDataLoss) return status;
    return finish(
        verdict(AuditVerdict::kMalformed, "served tiles are malformed: " + status.message()),
        counter);
  };
  auto root = reader.root();
  if (!root.is_ok()) return tile_failure(root.status());
  if (*root != state.root_hash) {
    return finish(verdict(AuditVerdict::kTilesDisagree,
                          "tiles of size " + new_size + " hash to " + root->hex() +
                              " but the checkpoint signs " + state.root_hash.hex()),
                  counter);
  }

  if (!previous) {
    return finish(verdict(AuditVerdict::kConsistent,
                          "first audit: checkpoint of size " + new_size + " verified"),
                  counter);
  }
  std::string old_size = std::to_string(previous->tree_size);
  if (state.tree_size < previous->tree_size) {
    return finish(verdict(AuditVerdict::kRollback,
                          "log rolled back from " + old_size + " to " + new_size + " entries"),
                  counter);
  }
  if (state.tree_size == previous->tree_size) {
    if (state.root_hash != previous->root_hash) {
      return finish(verdict(AuditVerdict::kFork, "log forked: size " + new_size + " had root " +
                                                     previous->root_hash.hex() + ", now " +
                                                     state.root_hash.hex()),
                    counter);
    }
    return finish(verdict(AuditVerdict::kConsistent, "log unchanged at " + new_size + " entries"),
                  counter);
  }
  if (previous->tree_size == 0) {
    return finish(verdict(AuditVerdict::kConsistent,
                          "log grew from 0 to " + new_size + " entries, consistent"),
                  counter);
  }
  auto proof = reader.consistency_proof(previous->tree_size);
  if (!proof.is_ok()) return tile_failure(proof.status());
  Status consistent = verify_consistency(previous->tree_size, state.tree_size, previous->root_hash,
                                         state.root_hash, *proof);
  if (!consistent.is_ok()) {
    return finish(verdict(AuditVerdict::kRewrittenHistory, "log rewrote history: size " + new_size +
                                                               " does not extend size " + old_size +
                                                               " (" + consistent.message() + ")"),
                  counter);
  }
  return finish(verdict(AuditVerdict::kConsistent,
                        "log grew from " + old_size + " to " + new_size + " entries, consistent"),
                counter);
}

}  // namespace custos::ledger
