#include "custos/ledger/log.h"

#include <algorithm>
#include <chrono>
#include <future>

#include "custos/ledger/checkpoint.h"
#include "custos/ledger/merkle.h"
#include "log_internal.h"

namespace custos::ledger {

using log_internal::TreeEdge;
using store::Family;

namespace {

// The body of a signed note is everything up to and including the line
// before the first blank line.
Result<Checkpoint> checkpoint_of_note(std::string_view note) {
  size_t blank = note.find("\n\n");
  if (blank == std::string_view::npos)
    return data_loss("stored checkpoint note has no signature block");
  auto checkpoint = parse_checkpoint_body(note.substr(0, blank + 1));
  if (!checkpoint.is_ok()) return data_loss("stored checkpoint: " + checkpoint.status().message());
  return checkpoint;
}

Status validate_options(const LogOptions& options) {
  if (options.origin.empty() || options.origin.find('\n') != std::string::npos) {
    return invalid_argument("log origin must be a non-empty single line");
  }
  if (!options.sign_checkpoint) return invalid_argument("log needs a checkpoint signer");
  if (options.clock == nullptr) return invalid_argument("log needs a clock");
  return Status::ok();
}

}  // namespace

Log::Log(store::Store& store, LogOptions options)
    : store_(store), options_(std::move(options)), edge_(std::make_unique<TreeEdge>()) {
  options_.max_batch_entries = std::max<uint64_t>(options_.max_batch_entries, 1);
  options_.max_pending_entries = std::max<uint64_t>(options_.max_pending_entries, 1);
}

Log::~Log() { close(); }

Result<std::unique_ptr<Log>> Log::open(store::Store& store, LogOptions options) {
  CUSTOS_RETURN_IF_ERROR(validate_options(options));
  std::unique_ptr<Log> log(new Log(store, std::move(options)));
  CUSTOS_RETURN_IF_ERROR(log->load());
  log->sequencer_ = std::thread([raw = log.get()] { raw->run_sequencer(); });
  return log;
}

Status Log::load() {
  CUSTOS_ASSIGN_OR_RETURN(auto origin, store_.get(Family::kMeta, log_internal::kOriginKey));
  CUSTOS_ASSIGN_OR_RETURN(auto state_bytes, store_.get(Family::kMeta, log_internal::kTreeStateKey));

  if (!state_bytes) {
    // A new log: nothing of it may exist yet.
    auto entries = store_.new_iterator(Family::kEntries);
    entries->seek_to_first();
    if (origin || entries->valid()) {
      return data_loss("store holds log data but no log tree state");
    }
    if (store_.read_only()) {
      return failed_precondition("cannot start a new log in a read-only store");
    }
    Checkpoint checkpoint{options_.origin, 0, empty_tree_hash(), {}};
    std::string body = format_checkpoint_body(checkpoint);
    auto note = options_.sign_checkpoint(body);
    if (!note.is_ok()) return note.status().with_context("signing the empty-log checkpoint");
    if (!note->starts_with(body))
      return internal_error("signed checkpoint does not start with its body");
    store::WriteBatch batch;
    batch.put(Family::kMeta, log_internal::kOriginKey, std::string_view(options_.origin));
    batch.put(Family::kMeta, log_internal::kTreeStateKey,
              std::string_view(log_internal::encode_tree_state({0, checkpoint.root_hash})));
    batch.put(Family::kCheckpoints, log_internal::kLatestCheckpointKey, std::string_view(*note));
    batch.put(Family::kCheckpoints, log_internal::checkpoint_key(0), std::string_view(*note));
    CUSTOS_RETURN_IF_ERROR(store_.write(batch, /*sync=*/true));
    latest_checkpoint_ = std::move(note).value();
    return Status::ok();
  }

  if (!origin) return data_loss("log tree state is stored without the log origin");
  if (*origin != options_.origin) {
    return failed_precondition("store holds the log \"" + *origin + "\", not \"" + options_.origin +
                               "\"");
  }
  CUSTOS_ASSIGN_OR_RETURN(auto state, log_internal::decode_tree_state(*state_bytes));
  CUSTOS_ASSIGN_OR_RETURN(auto edge, TreeEdge::restore(store_, state.tree_size));
  if (edge.root() != state.root_hash) {
    return data_loss("stored tiles hash to " + edge.root().hex() + " but the tree state of size " +
                     std::to_string(state.tree_size) + " records root " + state.root_hash.hex());
  }
  uint64_t bundle_entries = state.tree_size % log_internal::kTileWidth;
  if (bundle_entries > 0) {
    uint64_t bundle_index = state.tree_size / log_internal::kTileWidth;
    CUSTOS_ASSIGN_OR_RETURN(
        auto bundle, store_.get(Family::kEntries, log_internal::entry_bundle_key(bundle_index)));
    if (!bundle) return data_loss("entry bundle " + std::to_string(bundle_index) + " is missing");
    CUSTOS_ASSIGN_OR_RETURN(auto prefix, log_internal::bundle_prefix(*bundle, bundle_entries));
    edge.bundle.assign(prefix.begin(), prefix.end());
    edge.bundle_entries = static_cast<uint32_t>(bundle_entries);
    // Bytes past the tree's entries (none are ever written) must not stay
    // in front of the next entries: the next commit puts the bundle whole.
    edge.bundle_stored = prefix.size() == bundle->size();
  }
  CUSTOS_ASSIGN_OR_RETURN(auto latest,
                          store_.get(Family::kCheckpoints, log_internal::kLatestCheckpointKey));
  if (!latest) return data_loss("the latest checkpoint is missing");
  CUSTOS_ASSIGN_OR_RETURN(auto checkpoint, checkpoint_of_note(*latest));
  if (checkpoint.tree_size != state.tree_size || checkpoint.root_hash != state.root_hash) {
    return data_loss("the latest checkpoint (size " + std::to_string(checkpoint.tree_size) +
                     ") does not match the tree state (size " + std::to_string(state.tree_size) +
                     ")");
  }
  *edge_ = std::move(edge);
  latest_checkpoint_ = std::move(*latest);
  committed_size_.store(state.tree_size, std::memory_order_release);
  return Status::ok();
}

Status Log::admission_locked(uint64_t entries) const {
  if (closing_) return unavailable("the log is closing");
  if (!failure_.is_ok()) return failure_;
  if (pending_entries_ + entries > options_.max_pending_entries) {
    return resource_exhausted("the log has " + std::to_string(pending_entries_) +
                              " appends pending; try again later");
  }
  return Status::ok();
}

void Log::append_async(AppendRequest request, AppendCallback done) {
  Status valid = validate_entry_fields(request.kind, request.principal, request.request_signature,
                                       request.payload);
  if (!valid.is_ok()) {
    done(std::move(valid));
    return;
  }
  Status refused;
  {
    std::lock_guard lock(queue_mutex_);
    refused = admission_locked(1);
    if (refused.is_ok()) {
      // Read the clock under the lock so receive times follow index order.
      queue_.push_back(Pending{std::move(request), options_.clock->now_micros(), std::move(done)});
      ++pending_entries_;
    }
  }
  if (!refused.is_ok()) {
    done(std::move(refused));
    return;
  }
  queue_cv_.notify_one();
}

void Log::append_group_async(std::vector<AppendRequest> requests, GroupCallback done) {
  if (requests.empty()) {
    done(invalid_argument("an append group needs at least one entry"));
    return;
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const AppendRequest& request = requests[i];
    Status valid = validate_entry_fields(request.kind, request.principal,
                                         request.request_signature, request.payload);
    if (!valid.is_ok()) {
      done(valid.with_context("entry " + std::to_string(i) + " of the group"));
      return;
    }
  }
  if (requests.size() > options_.max_pending_entries) {
    done(invalid_argument("a group of " + std::to_string(requests.size()) +
                          " entries exceeds the log's limit of " +
                          std::to_string(options_.max_pending_entries) + " pending entries"));
    return;
  }
  // Every entry's callback runs on the sequencer thread, in the same
  // commit_batch or finish_batch loop: no lock is needed to collect them.
  struct Collected {
    std::vector<AppendReceipt> receipts;
    size_t outstanding = 0;
    Status error;
    GroupCallback done;
  };
  auto collected = std::make_shared<Collected>();
  collected->receipts.resize(requests.size());
  collected->outstanding = requests.size();
  collected->done = std::move(done);
  Status refused;
  {
    std::lock_guard lock(queue_mutex_);
    refused = admission_locked(requests.size());
    if (refused.is_ok()) {
      const UnixMicros receive_time = options_.clock->now_micros();
      uint64_t left = requests.size();
      for (size_t i = 0; i < requests.size(); ++i, --left) {
        auto finish_one = [collected, i](Result<AppendReceipt> receipt) {
          if (receipt.is_ok()) {
            collected->receipts[i] = std::move(receipt).value();
          } else if (collected->error.is_ok()) {
            collected->error = receipt.status();
          }
          if (--collected->outstanding > 0) return;
          if (collected->error.is_ok()) {
            collected->done(std::move(collected->receipts));
          } else {
            collected->done(collected->error);
          }
        };
        queue_.push_back(Pending{std::move(requests[i]), receive_time, std::move(finish_one), left});
      }
      pending_entries_ += requests.size();
    }
  }
  if (!refused.is_ok()) {
    collected->done(std::move(refused));
    return;
  }
  queue_cv_.notify_one();
}

Result<AppendReceipt> Log::append(AppendRequest request) {
  std::promise<Result<AppendReceipt>> promise;
  auto future = promise.get_future();
  append_async(std::move(request), [&promise](Result<AppendReceipt> receipt) {
    promise.set_value(std::move(receipt));
  });
  return future.get();
}

void Log::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(queue_mutex_);
    closing_ = true;
  }
  queue_cv_.notify_all();
  // From a callback (on the sequencer thread) only stop intake; the sequencer
  // drains the queue and the destructor joins it.
  if (sequencer_.joinable() && sequencer_.get_id() != std::this_thread::get_id()) {
    sequencer_.join();
  }
}

Status Log::health() const {
  std::lock_guard lock(queue_mutex_);
  return failure_;
}

void Log::run_sequencer() {
  std::vector<Pending> batch;
  for (;;) {
    Status failure;
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;  // closing, and everything queued is done
      size_t take = std::min<uint64_t>(queue_.size(), options_.max_batch_entries);
      // Never split a group: take the rest of the one the batch ends in.
      while (queue_[take - 1].group_left > 1) ++take;
      batch.clear();
      batch.reserve(take);
      for (size_t i = 0; i < take; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      failure = failure_;
    }
    if (failure.is_ok()) {
      commit_batch(batch);
    } else {
      finish_batch(batch, failure);
    }
    // Release the callbacks (and whatever they captured) now, not at the next batch.
    batch.clear();
  }
}

void Log::commit_batch(std::vector<Pending>& batch) {
  auto started = std::chrono::steady_clock::now();
  TreeEdge rollback = *edge_;
  TreeEdge& edge = *edge_;
  uint64_t first_index = edge.size();
  write_batch_.clear();
  batch_leaf_hashes_.clear();
  batch_leaf_hashes_.reserve(batch.size());

  // Bytes of the partial bundle already stored: this commit appends only
  // what follows them (a put when it starts a bundle), so each entry is
  // written once, not again at every commit until its bundle is full.
  size_t stored_bundle_bytes = edge.bundle_stored ? edge.bundle.size() : 0;
  auto write_bundle = [&](uint64_t bundle_index) {
    std::string key = log_internal::entry_bundle_key(bundle_index);
    if (stored_bundle_bytes == 0) {
      write_batch_.put(Family::kEntries, key, edge.bundle);
    } else {
      write_batch_.append(Family::kEntries, key,
                          ByteView(edge.bundle.data() + stored_bundle_bytes,
                                   edge.bundle.size() - stored_bundle_bytes));
    }
  };
  for (const Pending& pending : batch) {
    const AppendRequest& request = pending.request;
    uint64_t index = edge.size();
    size_t length_at = edge.bundle.size();
    edge.bundle.resize(length_at + 2);
    append_encoded_entry(edge.bundle, request.kind, index, pending.receive_time, request.principal,
                         request.request_signature, request.payload);
    size_t entry_size = edge.bundle.size() - length_at - 2;
    edge.bundle[length_at] = static_cast<uint8_t>(entry_size >> 8);
    edge.bundle[length_at + 1] = static_cast<uint8_t>(entry_size);
    Hash256 leaf = hash_leaf(ByteView(edge.bundle.data() + length_at + 2, entry_size));
    batch_leaf_hashes_.push_back(leaf);
    edge.append_leaf(leaf, write_batch_);
    if (++edge.bundle_entries == log_internal::kTileWidth) {
      write_bundle(index / log_internal::kTileWidth);
      edge.bundle.clear();
      edge.bundle_entries = 0;
      stored_bundle_bytes = 0;
    }
  }
  uint64_t new_size = edge.size();
  if (edge.bundle.size() > stored_bundle_bytes) {
    write_bundle(new_size / log_internal::kTileWidth);
  }
  edge.write_partial_tiles(write_batch_);
  Hash256 root = edge.root();

  Checkpoint checkpoint{options_.origin, new_size, root, {}};
  std::string body = format_checkpoint_body(checkpoint);
  auto note = options_.sign_checkpoint(body);
  if (!note.is_ok() || !note->starts_with(body)) {
    *edge_ = std::move(rollback);
    Status error = note.is_ok() ? internal_error("signed checkpoint does not start with its body")
                                : note.status();
    finish_batch(batch, error.with_context("signing checkpoint " + std::to_string(new_size)));
    return;
  }
  write_batch_.put(Family::kCheckpoints, log_internal::kLatestCheckpointKey,
                   std::string_view(*note));
  write_batch_.put(Family::kCheckpoints, log_internal::checkpoint_key(new_size),
                   std::string_view(*note));
  write_batch_.put(Family::kMeta, log_internal::kTreeStateKey,
                   std::string_view(log_internal::encode_tree_state({new_size, root})));

  Status written = store_.write(write_batch_, /*sync=*/true);
  if (!written.is_ok()) {
    *edge_ = std::move(rollback);
    {
      std::lock_guard lock(queue_mutex_);
      failure_ = failed_precondition("the log is read-only after a failed store write (" +
                                     written.to_string() +
                                     "); reopen it to resume from the last synced checkpoint");
    }
    finish_batch(
        batch, written.with_context("committing log entries " + std::to_string(first_index) + ".." +
                                    std::to_string(new_size - 1)));
    return;
  }

  edge.bundle_stored = true;
  committed_size_.store(new_size, std::memory_order_release);
  {
    std::lock_guard lock(checkpoint_mutex_);
    latest_checkpoint_ = *note;
  }
  if (options_.on_batch) {
    auto elapsed = std::chrono::steady_clock::now() - started;
    options_.on_batch(BatchStats{
        batch.size(), new_size, write_batch_.payload_bytes(),
        std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()});
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(AppendReceipt{first_index + i, batch_leaf_hashes_[i], *note, new_size,
                                  batch[i].receive_time});
  }
  std::lock_guard lock(queue_mutex_);
  pending_entries_ -= batch.size();
}

void Log::finish_batch(std::vector<Pending>& batch, const Status& error) {
  for (Pending& pending : batch) pending.done(error);
  std::lock_guard lock(queue_mutex_);
  pending_entries_ -= batch.size();
}

std::string Log::latest_checkpoint() const {
  std::lock_guard lock(checkpoint_mutex_);
  return latest_checkpoint_;
}

Result<std::string> Log::checkpoint_at(uint64_t tree_size) const {
  if (tree_size > this->tree_size()) {
    return out_of_range("no checkpoint of size " + std::to_string(tree_size) + "; the log has " +
                        std::to_string(this->tree_size()) + " entries");
  }
  CUSTOS_ASSIGN_OR_RETURN(
      auto note, store_.get(Family::kCheckpoints, log_internal::checkpoint_key(tree_size)));
  if (!note)
    return not_found("no checkpoint was issued for tree size " + std::to_string(tree_size));
  return std::move(*note);
}

Result<Bytes> Log::entry(uint64_t index) const {
  uint64_t size = tree_size();
  if (index >= size) {
    return out_of_range("entry " + std::to_string(index) + " is beyond the log's " +
                        std::to_string(size) + " entries");
  }
  uint64_t bundle_index = index / log_internal::kTileWidth;
  CUSTOS_ASSIGN_OR_RETURN(
      auto bundle, store_.get(Family::kEntries, log_internal::entry_bundle_key(bundle_index)));
  if (!bundle) return data_loss("entry bundle " + std::to_string(bundle_index) + " is missing");
  uint64_t position = index % log_internal::kTileWidth;
  CUSTOS_ASSIGN_OR_RETURN(auto before, log_internal::bundle_prefix(*bundle, position));
  CUSTOS_ASSIGN_OR_RETURN(auto through, log_internal::bundle_prefix(*bundle, position + 1));
  auto entry = std::string_view(through).substr(before.size() + 2);
  return Bytes(entry.begin(), entry.end());
}

Result<Bytes> Log::read_tile(uint8_t level, uint64_t index, uint32_t width) const {
  if (width < 1 || width > log_internal::kTileWidth) {
    return invalid_argument("tile width must be 1..256");
  }
  uint64_t size = tree_size();
  if (width > log_internal::tile_width_at(level, index, size)) {
    return not_found("tile " + std::to_string(level) + "/" + std::to_string(index) + " of width " +
                     std::to_string(width) + " is not in the tree of size " + std::to_string(size));
  }
  CUSTOS_ASSIGN_OR_RETURN(auto tile,
                          store_.get(Family::kTiles, log_internal::tile_key(level, index)));
  if (!tile || tile->size() < width * Hash256::kSize) {
    return data_loss("tile " + std::to_string(level) + "/" + std::to_string(index) +
                     " is missing or shorter than the committed tree needs");
  }
  return Bytes(tile->begin(), tile->begin() + width * Hash256::kSize);
}

Result<Bytes> Log::read_entry_bundle(uint64_t index, uint32_t width) const {
  if (width < 1 || width > log_internal::kTileWidth) {
    return invalid_argument("entry bundle width must be 1..256");
  }
  uint64_t size = tree_size();
  if (width > log_internal::bundle_width_at(index, size)) {
    return not_found("entry bundle " + std::to_string(index) + " of width " +
                     std::to_string(width) + " is not in the tree of size " + std::to_string(size));
  }
  CUSTOS_ASSIGN_OR_RETURN(auto bundle,
                          store_.get(Family::kEntries, log_internal::entry_bundle_key(index)));
  if (!bundle) return data_loss("entry bundle " + std::to_string(index) + " is missing");
  CUSTOS_ASSIGN_OR_RETURN(auto prefix, log_internal::bundle_prefix(*bundle, width));
  return Bytes(prefix.begin(), prefix.end());
}

Result<Hash256> Log::root_at(uint64_t tree_size) const {
  uint64_t committed = this->tree_size();
  if (tree_size > committed) {
    return out_of_range("tree size " + std::to_string(tree_size) + " is beyond the committed " +
                        std::to_string(committed));
  }
  if (tree_size == 0) return empty_tree_hash();
  TileReader reader(log_internal::store_tile_fetcher(store_), committed);
  return reader.range_hash(0, tree_size);
}

Result<std::vector<Hash256>> Log::inclusion_proof(uint64_t index, uint64_t tree_size) const {
  uint64_t committed = this->tree_size();
  if (tree_size > committed) {
    return out_of_range("tree size " + std::to_string(tree_size) + " is beyond the committed " +
                        std::to_string(committed));
  }
  if (index >= tree_size) {
    return out_of_range("entry " + std::to_string(index) + " is not in the tree of size " +
                        std::to_string(tree_size));
  }
  TileReader reader(log_internal::store_tile_fetcher(store_), tree_size);
  return reader.inclusion_proof(index);
}

Result<std::vector<std::vector<Hash256>>> Log::inclusion_proofs(std::span<const uint64_t> indexes,
                                                                uint64_t tree_size) const {
  uint64_t committed = this->tree_size();
  if (tree_size > committed) {
    return out_of_range("tree size " + std::to_string(tree_size) + " is beyond the committed " +
                        std::to_string(committed));
  }
  TileReader reader(log_internal::store_tile_fetcher(store_), tree_size);
  std::vector<std::vector<Hash256>> proofs;
  proofs.reserve(indexes.size());
  for (uint64_t index : indexes) {
    if (index >= tree_size) {
      return out_of_range("entry " + std::to_string(index) + " is not in the tree of size " +
                          std::to_string(tree_size));
    }
    CUSTOS_ASSIGN_OR_RETURN(std::vector<Hash256> proof, reader.inclusion_proof(index));
    proofs.push_back(std::move(proof));
  }
  return proofs;
}

Result<std::vector<Hash256>> Log::consistency_proof(uint64_t size1, uint64_t size2) const {
  if (size1 > size2) {
    return invalid_argument("consistency proof needs size1 <= size2 (got " + std::to_string(size1) +
                            " > " + std::to_string(size2) + ")");
  }
  uint64_t committed = this->tree_size();
  if (size2 > committed) {
    return out_of_range("tree size " + std::to_string(size2) + " is beyond the committed " +
                        std::to_string(committed));
  }
  TileReader reader(log_internal::store_tile_fetcher(store_), size2);
  return reader.consistency_proof(size1);
}

}  // namespace custos::ledger
