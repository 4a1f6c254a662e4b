// custos ledger: reading a range of committed entries in log order.
//
// scan_entries reads entries [from, to) of a Log entry bundle by entry bundle
// (C2SP tlog-tiles: a u16 BE length, then the entry), the way the log's
// consumers (identity, the policy store) replay the tail their journals do
// not cover. A kind filter looks only at the entry's kind byte, so entries of
// other kinds are never decoded: a tail of EPCIS events costs one bundle read
// per 256 entries. Every entry that passes the filter must decode and carry
// its own index; a truncated bundle or an entry that does not stops the scan
// with DataLoss.
//
// Thread-safety: like Log's reads, safe to call concurrently with appends;
// it sees only committed entries.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"

namespace custos::ledger {

// Called for each entry that passes the kind filter, in index order, with the
// decoded entry and its encoding (borrowed: valid only during the call). A
// non-OK status stops the scan and is returned by scan_entries.
using EntryVisitor = std::function<Status(const LogEntry& entry, ByteView entry_bytes)>;

// Visits the entries with from <= index < to whose kind is `kind` (every
// entry when `kind` is empty). Returns the number of entries read, filtered
// ones included (to - from when the scan completes). InvalidArgument when
// from > to, OutOfRange when `to` exceeds the log's committed size.
Result<uint64_t> scan_entries(const Log& log, uint64_t from, uint64_t to,
                              std::optional<EntryKind> kind, const EntryVisitor& visit);

// The replay mark a module keeps beside its journal of log entries (identity,
// policy store): under kReplayMarkKey in the module's family, u8 0x01 + u64
// big-endian index; every entry of that module below the index is in its
// journal, so a restart scans the log only from there.
inline constexpr std::string_view kReplayMarkKey = "replayed_up_to";
std::string encode_replay_mark(uint64_t index);
// The mark stored in `family` (nullopt when none yet). DataLoss when it is
// malformed or lies beyond the log's committed size.
Result<std::optional<uint64_t>> read_replay_mark(const store::Store& store, store::Family family,
                                                 const Log& log);

}  // namespace custos::ledger
