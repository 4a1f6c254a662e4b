#include "custos/policy/policy_store.h"

#include <algorithm>
#include <utility>

#include "custos/ledger/entry.h"
#include "custos/ledger/entry_scan.h"

namespace custos::policy {

namespace {

constexpr std::string_view kVersionPrefix = "version/";
constexpr uint8_t kJournalFormat = 1;
constexpr size_t kJournalHeader = 1 + 8 + 8;  // format, log index, receive time
constexpr uint64_t kJournalBatchVersions = 256;

std::string version_key(uint64_t version) {
  Bytes key = to_bytes(kVersionPrefix);
  append_u64_be(key, version);
  return std::string(as_text(key));
}

std::string journal_value(uint64_t log_index, UnixMicros logged_at, std::string_view payload) {
  Bytes value;
  append_u8(value, kJournalFormat);
  append_u64_be(value, log_index);
  append_u64_be(value, static_cast<uint64_t>(logged_at));
  value.insert(value.end(), payload.begin(), payload.end());
  return std::string(as_text(value));
}

const uint8_t* raw(std::string_view text) { return reinterpret_cast<const uint8_t*>(text.data()); }

// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t invalid_utf8_at(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<uint8_t>(text[i]);
    size_t length = lead < 0x80             ? 1
                    : (lead & 0xe0) == 0xc0 ? 2
                    : (lead & 0xf0) == 0xe0 ? 3
                    : (lead & 0xf8) == 0xf0 ? 4
                                            : 0;
    if (length == 0 || i + length > text.size()) return i;
    uint32_t code = length == 1 ? lead : lead & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<uint8_t>(text[i + k]);
      if ((next & 0xc0) != 0x80) return i;
      code = code << 6 | (next & 0x3f);
    }
    static constexpr uint32_t kMinCode[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMinCode[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += length;
  }
  return std::string_view::npos;
}

Status check_label(std::string_view field, const std::string& value) {
  bool ok = !value.empty() && value.size() <= kMaxPolicyActorBytes &&
            invalid_utf8_at(value) == std::string_view::npos &&
            std::none_of(value.begin(), value.end(), [](char c) {
              return static_cast<uint8_t>(c) < 0x20 || c == 0x7f;
            });
  if (ok) return Status::ok();
  return invalid_argument(std::string(field) +
                          " must be non-empty UTF-8 text without control characters, at most " +
                          std::to_string(kMaxPolicyActorBytes) + " bytes");
}

}  // namespace

PolicyVersionInfo PolicyVersion::info() const {
  return {version, sha256, log_index, logged_at, actor, decision_id, policies.size()};
}

PolicyStore::PolicyStore(ledger::Log& log, store::Store& store, Schema schema)
    : log_(log), store_(store), schema_(std::move(schema)) {}

PolicyStore::~PolicyStore() {
  // Every policy entry below the log's size is ours and already applied (we
  // are the only writer and no push is running), so the next open may start
  // scanning here. Best effort: on failure the next open scans a longer tail.
  std::lock_guard lock(push_mutex_);
  if (!replayed_ || journal_stale_ || store_.read_only()) return;
  store::WriteBatch batch;
  batch.put(store::Family::kPolicies, ledger::kReplayMarkKey, ledger::encode_replay_mark(log_.tree_size()));
  (void)store_.write(batch, /*sync=*/false);
}

Result<std::unique_ptr<PolicyStore>> PolicyStore::open(ledger::Log& log, store::Store& store,
                                                       Schema schema) {
  std::unique_ptr<PolicyStore> policy_store(new PolicyStore(log, store, std::move(schema)));
  CUSTOS_RETURN_IF_ERROR(policy_store->replay().with_context("policy replay"));
  return policy_store;
}

bool PolicyStore::take(const PolicyChange& change, uint64_t log_index, UnixMicros logged_at) {
  if (change.version != last_version_ + 1) return false;
  last_version_ = change.version;
  auto policies = validate_policies(change.text, schema_);
  if (!policies.is_ok()) {
    ++replay_stats_.invalid_versions;
    return true;
  }
  auto version = std::make_shared<PolicyVersion>();
  version->version = change.version;
  version->text = change.text;
  version->sha256 = change.sha256;
  version->log_index = log_index;
  version->logged_at = logged_at;
  version->actor = change.actor;
  version->decision_id = change.decision_id;
  version->policies = std::move(policies).value();
  publish(std::move(version));
  return true;
}

void PolicyStore::publish(std::shared_ptr<const PolicyVersion> version) {
  std::unique_lock lock(state_mutex_);
  current_ = version;
  versions_.emplace(version->version, std::move(version));
}

Status PolicyStore::replay() {
  CUSTOS_ASSIGN_OR_RETURN(std::optional<uint64_t> stored,
                          ledger::read_replay_mark(store_, store::Family::kPolicies, log_));
  const uint64_t replayed_up_to = stored.value_or(0);
  const uint64_t tree_size = log_.tree_size();

  // 1. The journal: every version taken from entries below replayed_up_to.
  auto iterator = store_.new_iterator(store::Family::kPolicies);
  for (iterator->seek(kVersionPrefix); iterator->valid(); iterator->next()) {
    std::string_view key = iterator->key();
    if (key.substr(0, kVersionPrefix.size()) != kVersionPrefix) break;
    std::string_view value = iterator->value();
    if (key.size() != kVersionPrefix.size() + 8 || value.size() < kJournalHeader ||
        static_cast<uint8_t>(value[0]) != kJournalFormat) {
      return data_loss("malformed policy journal entry");
    }
    uint64_t version = read_u64_be(raw(key) + kVersionPrefix.size());
    uint64_t log_index = read_u64_be(raw(value) + 1);
    auto logged_at = static_cast<UnixMicros>(read_u64_be(raw(value) + 9));
    if (log_index >= replayed_up_to) break;  // written by a batch that also moved replayed_up_to
    auto change = decode_policy_change(value.substr(kJournalHeader));
    if (!change.is_ok() || change->version != version || !take(*change, log_index, logged_at)) {
      return data_loss("policy journal entry for version " + std::to_string(version) +
                       " does not decode or is out of sequence");
    }
    ++replay_stats_.journal_versions;
  }
  CUSTOS_RETURN_IF_ERROR(iterator->status());
  iterator.reset();

  // 2. The log tail: the policy changes past the journal, journaled as they are taken.
  store::WriteBatch batch;
  uint64_t pending = 0;
  auto take_entry = [&](const ledger::LogEntry& entry, ByteView) -> Status {
    if (!is_policy_payload(entry.payload)) return Status::ok();
    std::string_view payload = as_text(entry.payload);
    auto change = decode_policy_change(payload);
    if (!change.is_ok() || !take(*change, entry.index, entry.receive_time)) {
      ++replay_stats_.skipped_entries;
      return Status::ok();
    }
    ++replay_stats_.log_versions;
    batch.put(store::Family::kPolicies, version_key(change->version),
              journal_value(entry.index, entry.receive_time, payload));
    if (++pending == kJournalBatchVersions && !store_.read_only()) {
      batch.put(store::Family::kPolicies, ledger::kReplayMarkKey, ledger::encode_replay_mark(entry.index + 1));
      CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/false));
      batch.clear();
      pending = 0;
    }
    return Status::ok();
  };
  CUSTOS_ASSIGN_OR_RETURN(replay_stats_.scanned_entries,
                          ledger::scan_entries(log_, replayed_up_to, tree_size,
                                               ledger::EntryKind::kControlChange, take_entry));
  if (store_.read_only()) {
    journal_stale_ = true;  // nothing can be written; open() still rebuilt everything
  } else if (!stored || replayed_up_to != tree_size) {
    batch.put(store::Family::kPolicies, ledger::kReplayMarkKey, ledger::encode_replay_mark(tree_size));
    CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/false));
  }
  replay_stats_.replayed_up_to = tree_size;
  replayed_ = true;
  return Status::ok();
}

Result<PolicyVersionInfo> PolicyStore::push(std::string_view text, const std::string& actor,
                                            const std::string& decision_id,
                                            std::vector<ValidationError>* errors) {
  if (errors != nullptr) errors->clear();
  CUSTOS_RETURN_IF_ERROR(check_label("actor", actor));
  CUSTOS_RETURN_IF_ERROR(check_label("decision_id", decision_id));
  if (size_t at = invalid_utf8_at(text); at != std::string_view::npos) {
    return invalid_argument("policy text is not valid UTF-8 (byte offset " + std::to_string(at) +
                            ")");
  }
  // Validation needs no lock: it reads only the immutable schema.
  CUSTOS_ASSIGN_OR_RETURN(PolicySet policies, validate_policies(text, schema_, errors));
  if (policies.size() == 0) {
    return invalid_argument(
        "the policy set is empty: it would deny every request, policy.change included");
  }
  Hash256 digest = sha256(text);

  std::lock_guard writer(push_mutex_);
  if (auto now = current(); now && now->sha256 == digest && now->text == text) {
    return failed_precondition("the policy text is identical to the current version " +
                               std::to_string(now->version));
  }
  PolicyChange change{actor, decision_id, last_version_ + 1, digest, std::string(text)};
  ledger::AppendRequest request;
  request.kind = ledger::EntryKind::kControlChange;
  request.principal = actor;
  request.payload = to_bytes(encode_policy_change(change));
  size_t entry_size = ledger::encoded_entry_size(actor.size(), 0, request.payload.size());
  if (entry_size > ledger::kMaxEntrySize) {
    return resource_exhausted("the policy text is too large for one log entry (" +
                              std::to_string(entry_size) + " bytes encoded, at most " +
                              std::to_string(ledger::kMaxEntrySize) + ")");
  }
  CUSTOS_ASSIGN_OR_RETURN(ledger::AppendReceipt receipt, log_.append(request));

  // Committed: from here on the version exists whatever else happens.
  last_version_ = change.version;
  auto version = std::make_shared<PolicyVersion>();
  version->version = change.version;
  version->text = std::move(change.text);
  version->sha256 = digest;
  version->log_index = receipt.index;
  version->logged_at = receipt.receive_time;
  version->actor = actor;
  version->decision_id = decision_id;
  version->policies = std::move(policies);
  PolicyVersionInfo info = version->info();
  publish(version);

  // The journal lets the next open() skip the log; if this write fails the
  // journal stops here (replayed_up_to stays put) and open() reads the tail.
  if (!journal_stale_) {
    store::WriteBatch batch;
    batch.put(store::Family::kPolicies, version_key(info.version),
              journal_value(receipt.index, receipt.receive_time, as_text(request.payload)));
    batch.put(store::Family::kPolicies, ledger::kReplayMarkKey, ledger::encode_replay_mark(receipt.index + 1));
    if (!store_.write(batch, /*sync=*/false).is_ok()) journal_stale_ = true;
  }

  ChangeCallback on_change;
  {
    std::lock_guard lock(callback_mutex_);
    on_change = on_change_;
  }
  if (on_change) on_change(std::move(version));
  return info;
}

std::shared_ptr<const PolicyVersion> PolicyStore::current() const {
  std::shared_lock lock(state_mutex_);
  return current_;
}

std::vector<PolicyVersionInfo> PolicyStore::list() const {
  std::vector<PolicyVersionInfo> infos;
  std::shared_lock lock(state_mutex_);
  infos.reserve(versions_.size());
  for (const auto& [number, version] : versions_) infos.push_back(version->info());
  return infos;
}

Result<std::shared_ptr<const PolicyVersion>> PolicyStore::get(uint64_t version) const {
  std::shared_lock lock(state_mutex_);
  auto it = versions_.find(version);
  if (it == versions_.end()) {
    return not_found("no policy version " + std::to_string(version));
  }
  return std::shared_ptr<const PolicyVersion>(it->second);
}

void PolicyStore::set_on_change(ChangeCallback on_change) {
  std::lock_guard lock(callback_mutex_);
  on_change_ = std::move(on_change);
}

}  // namespace custos::policy
