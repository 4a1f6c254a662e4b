// custos ledger: checkpoint bodies (C2SP tlog-checkpoint).
//
// A checkpoint body is the text a log signs: the origin line, the tree size
// in decimal, the base64 root hash, then optional extension lines, each line
// ending in "\n". Signing and opening the note around it is crypto's
// signed_note. Parsing is strict: anything the spec does not allow is refused.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "custos/crypto/sha256.h"

namespace custos::ledger {

struct Checkpoint {
  std::string origin;      // e.g. "example.com/custos/log1"; non-empty, no newline
  uint64_t tree_size = 0;  // number of leaves
  Hash256 root_hash;       // RFC 9162 root of the first tree_size leaves
  std::vector<std::string> extension_lines;  // without their trailing newline
};

std::string format_checkpoint_body(const Checkpoint& checkpoint);
Result<Checkpoint> parse_checkpoint_body(std::string_view body);

}  // namespace custos::ledger
