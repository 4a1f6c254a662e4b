#include "custos/ledger/entry_scan.h"

#include <algorithm>
#include <string>

#include "custos/ledger/tile_reader.h"

namespace custos::ledger {

Result<uint64_t> scan_entries(const Log& log, uint64_t from, uint64_t to,
                              std::optional<EntryKind> kind, const EntryVisitor& visit) {
  if (from > to) {
    return invalid_argument("entry scan needs from <= to (got " + std::to_string(from) + " > " +
                            std::to_string(to) + ")");
  }
  uint64_t committed = log.tree_size();
  if (to > committed) {
    return out_of_range("entry scan up to " + std::to_string(to) + " is beyond the committed " +
                        std::to_string(committed));
  }
  uint64_t scanned = 0;
  for (uint64_t bundle = from / kTileWidth; bundle * kTileWidth < to; ++bundle) {
    uint64_t first = bundle * kTileWidth;
    auto width = static_cast<uint32_t>(std::min<uint64_t>(kTileWidth, to - first));
    CUSTOS_ASSIGN_OR_RETURN(Bytes bytes, log.read_entry_bundle(bundle, width));
    size_t offset = 0;
    for (uint32_t i = 0; i < width; ++i) {
      if (offset + 2 > bytes.size()) return data_loss("truncated entry bundle");
      size_t length = read_u16_be(bytes.data() + offset);
      offset += 2;
      if (offset + length > bytes.size()) return data_loss("truncated entry bundle");
      ByteView entry_bytes(bytes.data() + offset, length);
      offset += length;
      uint64_t index = first + i;
      if (index < from) continue;
      ++scanned;
      // The kind byte follows the version byte: filter before decoding.
      if (kind && (length < 2 || entry_bytes[1] != static_cast<uint8_t>(*kind))) continue;
      auto entry = decode_entry(entry_bytes);
      if (!entry.is_ok() || entry->index != index) {
        return data_loss("log entry " + std::to_string(index) + " does not decode");
      }
      CUSTOS_RETURN_IF_ERROR(visit(*entry, entry_bytes));
    }
  }
  return scanned;
}

std::string encode_replay_mark(uint64_t index) {
  Bytes value;
  append_u8(value, 1);
  append_u64_be(value, index);
  return std::string(as_text(value));
}

Result<std::optional<uint64_t>> read_replay_mark(const store::Store& store, store::Family family,
                                                 const Log& log) {
  CUSTOS_ASSIGN_OR_RETURN(auto stored, store.get(family, kReplayMarkKey));
  if (!stored) return std::optional<uint64_t>();
  if (stored->size() != 9 || static_cast<uint8_t>((*stored)[0]) != 1) {
    return data_loss("malformed replayed_up_to");
  }
  uint64_t index = read_u64_be(reinterpret_cast<const uint8_t*>(stored->data()) + 1);
  uint64_t tree_size = log.tree_size();
  if (index > tree_size) {
    return data_loss("replayed_up_to " + std::to_string(index) + " is beyond the log's size " +
                     std::to_string(tree_size));
  }
  return std::optional<uint64_t>(index);
}

}  // namespace custos::ledger
