// custos policy store: versioned policy sets kept as control entries in the log.
//
// Every policy set custos enforces is a version in the log: one control
// entry (ledger::EntryKind::kControlChange) whose payload is the canonical
// JSON object
//
//   {"v":1,"op":"policy.set","actor":"<principal id>","decision_id":"<id>",
//    "version":N,"sha256":"<lower-case hex SHA-256 of text>","text":"<policy text>"}
//
// compact, in exactly this field order, written by custos's JsonWriter.
// Decoding is strict: it re-encodes what it read and refuses the payload
// unless the bytes are identical, and refuses a sha256 that is not the
// text's. Versions are numbered 1, 2, 3... in log order.
//
// push() refuses, before anything is logged: text that does not parse or
// names what custos_schema() (or the schema given to open) does not have
// (InvalidArgument "line:column: message"), an empty policy set (it would
// deny every request, policy.change included), text identical to the current
// version (FailedPrecondition), text that does not fit in one log entry
// (ResourceExhausted), and a malformed actor or decision id. Only after the
// log has durably committed the entry does the version become current() and
// the on-change callback run.
//
// Storage (store::Family::kPolicies, owned by this module; integers big-endian):
//   "version/" + u64 version   u8 0x01 + u64 log index + i64 receive time +
//                              the payload, for every version taken so far
//   "replayed_up_to"           u8 0x01 + u64: every policy entry below this
//                              log index is in the journal
// The journal is a cache of the log written after each push (and at the end
// of open's tail scan); open() reads it, then scans only the log entries from
// replayed_up_to to the log's size, so a restart does not rescan the log.
// Deleting the family rebuilds everything from the log. Over a read-only
// Store, open() rebuilds the same way and writes nothing (push then fails
// at the log).
//
// Replay (journal and log tail alike): a policy payload becomes version N
// only when it decodes strictly and N is one more than the last version
// taken; any other policy payload is skipped and counted in replay_stats().
// Each version's text is validated again against the schema: a version that
// no longer validates (the schema changed, or another writer logged it)
// keeps its number but is not loaded (counted in invalid_versions; absent
// from list() and get()), and current() stays at the latest version that
// validates. Replay never fails on a bad payload; it fails (DataLoss) only on
// a corrupt journal or log.
//
// Thread-safety: all methods are safe to call concurrently. push() calls are
// serialised by one mutex held across validate + append + publish + callback;
// current(), list() and get() take a shared lock briefly and return
// immutable snapshots, so readers never wait for the log. push() blocks on
// the log's group commit: never call it from a Log callback or from the
// on-change callback.
//
// Ownership: the store borrows the Log and the Store, which must outlive it.
// One PolicyStore per log: it must be the only writer of policy entries.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/ledger/log.h"
#include "custos/policy/parser.h"
#include "custos/policy/schema.h"
#include "custos/store/store.h"

namespace custos::policy {

inline constexpr int kPolicyPayloadVersion = 1;
inline constexpr std::string_view kPolicySetOp = "policy.set";
// Longest actor or decision id accepted by push().
inline constexpr size_t kMaxPolicyActorBytes = 256;

// The content of one policy.set payload.
struct PolicyChange {
  std::string actor;
  std::string decision_id;
  uint64_t version = 0;
  Hash256 sha256;  // of text
  std::string text;
  friend bool operator==(const PolicyChange&, const PolicyChange&) = default;
};

// The canonical payload. Precondition: the strings are valid UTF-8 (push
// checks this), otherwise the encoding would not decode to the same change.
std::string encode_policy_change(const PolicyChange& change);
// InvalidArgument for malformed JSON, a missing, extra or mistyped field, a
// wrong op or version, a sha256 that is not the text's, version 0, or a
// non-canonical encoding.
Result<PolicyChange> decode_policy_change(std::string_view payload);
// True when `payload` starts like a policy.set payload (cheap prefix test).
bool is_policy_payload(ByteView payload);

// One version as list() reports it.
struct PolicyVersionInfo {
  uint64_t version = 0;
  Hash256 sha256;
  uint64_t log_index = 0;
  UnixMicros logged_at = 0;  // the log entry's receive time
  std::string actor;
  std::string decision_id;
  size_t policy_count = 0;
};

// One version with its compiled set. Immutable once published.
struct PolicyVersion {
  uint64_t version = 0;
  std::string text;
  Hash256 sha256;
  uint64_t log_index = 0;
  UnixMicros logged_at = 0;
  std::string actor;
  std::string decision_id;
  PolicySet policies;

  PolicyVersionInfo info() const;
};

struct PolicyReplayStats {
  uint64_t journal_versions = 0;  // versions read from the journal
  uint64_t scanned_entries = 0;   // log entries read past the journal
  uint64_t log_versions = 0;      // versions found in the scanned log tail
  uint64_t skipped_entries = 0;   // policy payloads that did not decode or were out of sequence
  uint64_t invalid_versions = 0;  // versions whose text no longer validates
  uint64_t replayed_up_to = 0;    // the log size open() replayed to
};

class PolicyStore {
 public:
  using ChangeCallback = std::function<void(std::shared_ptr<const PolicyVersion>)>;

  // Rebuilds every version from the journal and the log tail (see above)
  // and checks pushed text against `schema` from then on.
  static Result<std::unique_ptr<PolicyStore>> open(ledger::Log& log, store::Store& store,
                                                   Schema schema);

  // Records in the journal that the whole log has been replayed, so the next
  // open() does not rescan entries appended after the last push.
  ~PolicyStore();
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // Validates `text`, logs it as the next version and makes it current.
  // `actor` and `decision_id` (non-empty UTF-8 without control characters, at
  // most kMaxPolicyActorBytes) name who pushed it and the policy decision that
  // allowed it. On a validation failure, `errors` (when non-null) receives
  // every error with its position. Errors from the log are returned as they
  // are, and the version does not change.
  Result<PolicyVersionInfo> push(std::string_view text, const std::string& actor,
                                 const std::string& decision_id,
                                 std::vector<ValidationError>* errors = nullptr);

  // The current version; nullptr before the first push.
  std::shared_ptr<const PolicyVersion> current() const;
  // Every loaded version, oldest first.
  std::vector<PolicyVersionInfo> list() const;
  // NotFound when no such version is loaded.
  Result<std::shared_ptr<const PolicyVersion>> get(uint64_t version) const;

  // Called after each successful push, on the pushing thread, with the new
  // current version, in version order. Replaces any earlier callback; an
  // empty function removes it. Must not call push().
  void set_on_change(ChangeCallback on_change);

  const PolicyReplayStats& replay_stats() const { return replay_stats_; }
  const Schema& schema() const { return schema_; }

 private:
  PolicyStore(ledger::Log& log, store::Store& store, Schema schema);
  Status replay();
  // Takes a decoded payload found at `log_index` as the next version when it
  // is in sequence; false when it is skipped.
  bool take(const PolicyChange& change, uint64_t log_index, UnixMicros logged_at);
  void publish(std::shared_ptr<const PolicyVersion> version);

  ledger::Log& log_;
  store::Store& store_;
  const Schema schema_;
  PolicyReplayStats replay_stats_;  // written by open() only

  std::mutex push_mutex_;       // serialises push() and the destructor's journal write
  uint64_t last_version_ = 0;   // highest version number taken (loaded or not)
  bool journal_stale_ = false;  // a journal write failed (or read-only store): stop writing it
  bool replayed_ = false;       // open() finished its replay

  mutable std::shared_mutex state_mutex_;  // guards versions_ and current_
  std::map<uint64_t, std::shared_ptr<const PolicyVersion>> versions_;
  std::shared_ptr<const PolicyVersion> current_;

  std::mutex callback_mutex_;
  ChangeCallback on_change_;
};

// A unified diff (LCS over lines, 3 lines of context, "@@ -a,b +c,d @@"
// hunks, "--- label_a" / "+++ label_b" header, "\ No newline at end of file"
// markers); empty when the texts are equal. Texts whose differing middle
// (after the common head and tail) exceeds 4096 x 4096 lines get a correct but
// not minimal diff (the middle removed, then added).
std::string diff_policy_text(std::string_view a, std::string_view b, std::string_view label_a,
                             std::string_view label_b);

// A policy directory as docs/policies/README.md defines it: every regular
// *.cedar file, in file-name (byte) order, joined with one newline.
struct PolicySource {
  std::string path;         // the file
  uint32_t first_line = 1;  // its first line in the joined text (1-based)
};
struct PolicyDirText {
  std::string text;
  std::vector<PolicySource> files;  // in load order

  // Maps a 1-based line of `text` to the file holding it and the line in
  // that file. Precondition: files is not empty.
  std::pair<const PolicySource*, uint32_t> locate(uint32_t line) const;
};

// NotFound when `dir` does not exist, InvalidArgument when it is not a
// directory or holds no *.cedar file, IoError when a file cannot be read.
Result<PolicyDirText> read_policy_dir_sources(const std::string& dir);
// The joined text of read_policy_dir_sources.
Result<std::string> read_policy_dir(const std::string& dir);

}  // namespace custos::policy
