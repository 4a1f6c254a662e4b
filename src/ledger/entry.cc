#include "custos/ledger/entry.h"

#include <cstring>

namespace custos::ledger {
namespace {

// Strict UTF-8 (RFC 3629): shortest form only, no surrogates, at most U+10FFFF.
bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t code_point;
    if (c >= 0xc2 && c <= 0xdf) {
      length = 2;
      code_point = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      length = 3;
      code_point = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      length = 4;
      code_point = c & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (size_t j = 1; j < length; ++j) {
      auto continuation = static_cast<uint8_t>(text[i + j]);
      if ((continuation & 0xc0) != 0x80) return false;
      code_point = code_point << 6 | (continuation & 0x3f);
    }
    if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
        code_point > 0x10ffff || (code_point >= 0xd800 && code_point <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

void put_u16(uint8_t* out, uint16_t value) {
  out[0] = static_cast<uint8_t>(value >> 8);
  out[1] = static_cast<uint8_t>(value);
}
void put_u32(uint8_t* out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(value >> (24 - 8 * i));
}
void put_u64(uint8_t* out, uint64_t value) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(value >> (56 - 8 * i));
}

}  // namespace

bool is_known_entry_kind(uint8_t kind) { return kind >= 1 && kind <= 5; }

std::string_view entry_kind_name(EntryKind kind) {
  switch (kind) {
    case EntryKind::kRawPayload:
      return "raw_payload";
    case EntryKind::kEpcisEvent:
      return "epcis_event";
    case EntryKind::kControlChange:
      return "control_change";
    case EntryKind::kAlert:
      return "alert";
    case EntryKind::kAction:
      return "action";
  }
  return "unknown";
}

Status validate_entry_fields(EntryKind kind, std::string_view principal, ByteView request_signature,
                             ByteView payload) {
  if (!is_known_entry_kind(static_cast<uint8_t>(kind))) {
    return invalid_argument("entry kind " + std::to_string(static_cast<int>(kind)) +
                            " is not defined in entry format version 1");
  }
  if (principal.size() > 0xffff)
    return invalid_argument("entry principal is longer than 65535 bytes");
  if (!is_valid_utf8(principal)) return invalid_argument("entry principal is not valid UTF-8");
  if (request_signature.size() > 0xffff) {
    return invalid_argument("entry request signature is longer than 65535 bytes");
  }
  size_t total = encoded_entry_size(principal.size(), request_signature.size(), payload.size());
  if (total > kMaxEntrySize) {
    return invalid_argument("entry would be " + std::to_string(total) +
                            " bytes encoded; the limit is 65535 (principal, request signature "
                            "and payload together at most " +
                            std::to_string(kMaxEntrySize - kEntryOverhead) + " bytes)");
  }
  return Status::ok();
}

void append_encoded_entry(Bytes& out, EntryKind kind, uint64_t index, UnixMicros receive_time,
                          std::string_view principal, ByteView request_signature,
                          ByteView payload) {
  size_t start = out.size();
  out.resize(start +
             encoded_entry_size(principal.size(), request_signature.size(), payload.size()));
  uint8_t* at = out.data() + start;
  at[0] = kEntryFormatVersion;
  at[1] = static_cast<uint8_t>(kind);
  put_u64(at + 2, index);
  put_u64(at + 10, static_cast<uint64_t>(receive_time));
  at += 18;
  put_u16(at, static_cast<uint16_t>(principal.size()));
  if (!principal.empty()) std::memcpy(at + 2, principal.data(), principal.size());
  at += 2 + principal.size();
  put_u16(at, static_cast<uint16_t>(request_signature.size()));
  if (!request_signature.empty()) {
    std::memcpy(at + 2, request_signature.data(), request_signature.size());
  }
  at += 2 + request_signature.size();
  put_u32(at, static_cast<uint32_t>(payload.size()));
  if (!payload.empty()) std::memcpy(at + 4, payload.data(), payload.size());
}

Bytes encode_entry(const LogEntry& entry) {
  Bytes out;
  out.reserve(encoded_entry_size(entry.principal.size(), entry.request_signature.size(),
                                 entry.payload.size()));
  append_encoded_entry(out, entry.kind, entry.index, entry.receive_time, entry.principal,
                       entry.request_signature, entry.payload);
  return out;
}

Result<LogEntry> decode_entry(ByteView bytes) {
  if (bytes.size() > kMaxEntrySize) {
    return invalid_argument("entry is " + std::to_string(bytes.size()) +
                            " bytes; the limit is 65535");
  }
  if (bytes.size() < kEntryOverhead) return invalid_argument("entry is truncated");
  if (bytes[0] != kEntryFormatVersion) {
    return invalid_argument("entry format version " + std::to_string(bytes[0]) +
                            " is not supported (expected 1)");
  }
  if (!is_known_entry_kind(bytes[1])) {
    return invalid_argument("entry kind " + std::to_string(bytes[1]) + " is not defined");
  }
  LogEntry entry;
  entry.kind = static_cast<EntryKind>(bytes[1]);
  entry.index = read_u64_be(bytes.data() + 2);
  entry.receive_time = static_cast<UnixMicros>(read_u64_be(bytes.data() + 10));
  size_t at = 18;
  size_t remaining = bytes.size() - at;

  size_t principal_size = read_u16_be(bytes.data() + at);
  // Each field's length must leave room for the later fields' length prefixes.
  if (principal_size + 2 + 2 + 4 > remaining) {
    return invalid_argument("entry principal length overruns the entry");
  }
  entry.principal.assign(reinterpret_cast<const char*>(bytes.data() + at + 2), principal_size);
  if (!is_valid_utf8(entry.principal))
    return invalid_argument("entry principal is not valid UTF-8");
  at += 2 + principal_size;
  remaining = bytes.size() - at;

  size_t signature_size = read_u16_be(bytes.data() + at);
  if (signature_size + 2 + 4 > remaining) {
    return invalid_argument("entry request signature length overruns the entry");
  }
  entry.request_signature.assign(bytes.data() + at + 2, bytes.data() + at + 2 + signature_size);
  at += 2 + signature_size;
  remaining = bytes.size() - at;

  size_t payload_size = read_u32_be(bytes.data() + at);
  if (payload_size + 4 > remaining)
    return invalid_argument("entry payload length overruns the entry");
  if (payload_size + 4 < remaining) {
    return invalid_argument("entry has " + std::to_string(remaining - 4 - payload_size) +
                            " trailing bytes");
  }
  entry.payload.assign(bytes.data() + at + 4, bytes.data() + at + 4 + payload_size);
  return entry;
}

}  // namespace custos::ledger
