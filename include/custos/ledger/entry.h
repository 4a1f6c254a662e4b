// custos ledger: the log entry format (version 1).
//
// A log entry is the leaf a custos log commits to: self-contained and
// deterministic, so an auditor can re-hash it and learn what was logged,
// when, by whom and under which request signature. Its bytes are (all
// integers big-endian; docs/storage.md has the table):
//
//   version          u8     0x01
//   kind             u8     EntryKind
//   log index        u64    position of the entry in the log
//   receive time     i64    server receive time, Unix microseconds
//   principal        u16 length + UTF-8
//   request sig      u16 length + bytes (may be empty)
//   payload          u32 length + bytes
//
// and the whole encoding is at most kMaxEntrySize bytes, because an entry
// bundle (C2SP tlog-tiles) prefixes each entry with a 16-bit length.
// Decoding is strict: an unknown version or kind, a length that overruns,
// trailing bytes, invalid UTF-8 or an oversized entry are refused.
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/status.h"

namespace custos::ledger {

inline constexpr uint8_t kEntryFormatVersion = 1;
inline constexpr size_t kMaxEntrySize = 65535;
// Bytes of an entry with empty principal, signature and payload.
inline constexpr size_t kEntryOverhead = 1 + 1 + 8 + 8 + 2 + 2 + 4;

enum class EntryKind : uint8_t {
  kRawPayload = 1,     // opaque bytes
  kEpcisEvent = 2,     // canonical EPCIS event
  kControlChange = 3,  // key, principal, policy or vendor change
  kAlert = 4,          // detector alert
  kAction = 5,         // incident or playbook action
};

// True for the kinds defined by format version 1.
bool is_known_entry_kind(uint8_t kind);
std::string_view entry_kind_name(EntryKind kind);

struct LogEntry {
  EntryKind kind = EntryKind::kRawPayload;
  uint64_t index = 0;
  UnixMicros receive_time = 0;
  std::string principal;    // UTF-8
  Bytes request_signature;  // may be empty
  Bytes payload;
  friend bool operator==(const LogEntry&, const LogEntry&) = default;
};

// The encoded size of an entry with these field sizes (may exceed kMaxEntrySize).
constexpr size_t encoded_entry_size(size_t principal_size, size_t signature_size,
                                    size_t payload_size) {
  return kEntryOverhead + principal_size + signature_size + payload_size;
}

// Checks that the fields can be encoded: known kind, principal valid UTF-8
// and at most 65535 bytes, signature at most 65535 bytes, total at most
// kMaxEntrySize. InvalidArgument otherwise, naming the field.
Status validate_entry_fields(EntryKind kind, std::string_view principal, ByteView request_signature,
                             ByteView payload);
inline Status validate_entry(const LogEntry& entry) {
  return validate_entry_fields(entry.kind, entry.principal, entry.request_signature, entry.payload);
}

// Appends the encoding to `out` (the hot path: no allocation when `out` has
// capacity). Precondition: validate_entry_fields() is OK for these fields.
void append_encoded_entry(Bytes& out, EntryKind kind, uint64_t index, UnixMicros receive_time,
                          std::string_view principal, ByteView request_signature, ByteView payload);

// Precondition: validate_entry(entry) is OK.
Bytes encode_entry(const LogEntry& entry);

Result<LogEntry> decode_entry(ByteView bytes);

}  // namespace custos::ledger
