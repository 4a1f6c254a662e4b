// The remote auditor's logic against in-process logs: honest growth is
// consistent; rewritten history, rollback, fork, bad signatures, another
// origin and tiles that disagree with the signed head are verdicts; transport
// failures are errors. Plus the saved state's text format.
#include "custos/ledger/log_auditor.h"

#include <array>
#include <filesystem>

#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "log_test_support.h"

namespace custos::ledger::testing {
namespace {

NoteSigner make_signer(uint8_t seed_byte, std::string name = std::string(kOrigin)) {
  std::array<uint8_t, 32> seed;
  seed.fill(seed_byte);
  auto key_pair = Ed25519KeyPair::from_seed(seed);
  EXPECT_TRUE(key_pair.is_ok());
  auto signer = NoteSigner::create(std::move(name), *key_pair);
  EXPECT_TRUE(signer.is_ok());
  return *signer;
}

TileFetcher fetcher_of(const Log& log) {
  return [&log](uint8_t level, uint64_t tile_index, uint64_t width) -> Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(auto bytes,
                            log.read_tile(level, tile_index, static_cast<uint32_t>(width)));
    return std::string(as_text(bytes));
  };
}

// A log in its own store: the "server" the auditor talks to.
struct ServedLog {
  std::filesystem::path dir;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Log> log;
  ~ServedLog() {
    log.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }
};

class LogAuditorTest : public LogFixture {
 protected:
  LogOptions signed_options(std::string origin = std::string(kOrigin)) {
    auto options = log_options(std::move(origin));
    options.sign_checkpoint = [this](std::string_view body) {
      const NoteSigner* signers[] = {&signer_key_};
      return sign_note(body, signers);
    };
    options.max_batch_entries = 300;
    return options;
  }

  // Appends request_for(first_request + i) for i < count to `log` in group
  // commits and waits for all of them.
  static void append(Log& log, uint64_t first_request, uint64_t count) {
    std::mutex mutex;
    std::condition_variable done;
    uint64_t remaining = count;
    for (uint64_t i = 0; i < count; ++i) {
      log.append_async(request_for(first_request + i), [&](Result<AppendReceipt> receipt) {
        EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
        std::lock_guard lock(mutex);
        if (--remaining == 0) done.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return remaining == 0; });
  }

  // A second log with the same key: requests [0, shared) then [divergent, +extra).
  std::unique_ptr<ServedLog> served_log(uint64_t shared, uint64_t extra,
                                        std::string origin = std::string(kOrigin)) {
    auto served = std::make_unique<ServedLog>();
    served->dir = dir_.string() + "-served-" + std::to_string(++served_count_);
    std::filesystem::remove_all(served->dir);
    store::StoreOptions store_options;
    store_options.block_cache_mb = 8;
    store_options.write_buffer_mb = 8;
    auto store = store::Store::open(served->dir.string(), store_options);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    served->store = std::move(store).value();
    auto log = Log::open(*served->store, signed_options(std::move(origin)));
    EXPECT_TRUE(log.is_ok()) << log.status().to_string();
    served->log = std::move(log).value();
    append(*served->log, 0, shared);
    append(*served->log, 100000, extra);
    return served;
  }

  AuditOutcome audit(const std::optional<AuditState>& previous, std::string_view note,
                     TileFetcher fetch) {
    auto outcome = audit_checkpoint(verifier_, previous, note, std::move(fetch));
    EXPECT_TRUE(outcome.is_ok()) << outcome.status().to_string();
    return outcome.is_ok() ? *outcome : AuditOutcome{};
  }
  AuditOutcome audit(const std::optional<AuditState>& previous, const Log& log) {
    return audit(previous, log.latest_checkpoint(), fetcher_of(log));
  }

  // The state after auditing the main log at its current size.
  AuditState state_of_main_log() {
    AuditOutcome outcome = audit(std::nullopt, *log_);
    EXPECT_TRUE(outcome.consistent) << outcome.message;
    return outcome.new_state;
  }

  NoteSigner signer_key_ = make_signer(3);
  NoteVerifier verifier_ = signer_key_.verifier();
  int served_count_ = 0;
};

TEST_F(LogAuditorTest, HonestGrowthIsConsistent) {
  open_log(signed_options());
  AuditOutcome empty = audit(std::nullopt, *log_);
  ASSERT_TRUE(empty.consistent) << empty.message;
  EXPECT_EQ(empty.new_state.tree_size, 0u);
  EXPECT_EQ(empty.tiles_fetched, 0u);

  append(*log_, 0, 1000);
  AuditOutcome first = audit(empty.new_state, *log_);
  ASSERT_TRUE(first.consistent) << first.message;
  EXPECT_EQ(first.verdict, AuditVerdict::kConsistent);
  EXPECT_EQ(first.new_state.origin, kOrigin);
  EXPECT_EQ(first.new_state.vkey, verifier_.vkey_string());
  EXPECT_EQ(first.new_state.tree_size, 1000u);
  EXPECT_EQ(first.new_state.root_hash, *log_->root_at(1000));
  EXPECT_EQ(first.new_state.checkpoint, log_->latest_checkpoint());
  EXPECT_GT(first.tiles_fetched, 0u);
  EXPECT_GT(first.bytes_fetched, 0u);

  // The state survives its text form between runs.
  auto saved = decode_audit_state(encode_audit_state(first.new_state));
  ASSERT_TRUE(saved.is_ok()) << saved.status().to_string();
  EXPECT_EQ(*saved, first.new_state);

  append(*log_, 1000, 70000 - 1000 + 123);
  AuditOutcome grown = audit(*saved, *log_);
  ASSERT_TRUE(grown.consistent) << grown.message;
  EXPECT_EQ(grown.new_state.tree_size, 70123u);
  EXPECT_EQ(grown.message, "log grew from 1000 to 70123 entries, consistent");

  AuditOutcome same = audit(grown.new_state, *log_);
  EXPECT_TRUE(same.consistent) << same.message;
  EXPECT_EQ(same.message, "log unchanged at 70123 entries");

  // An older checkpoint of the same log is consistent with an older state too.
  auto old_note = log_->checkpoint_at(first.new_state.tree_size);
  ASSERT_TRUE(old_note.is_ok());
  EXPECT_TRUE(audit(first.new_state, *old_note, fetcher_of(*log_)).consistent);
}

TEST_F(LogAuditorTest, RewrittenHistoryIsInconsistent) {
  open_log(signed_options());
  append(*log_, 0, 1000);
  AuditState state = state_of_main_log();

  // Same key, same first 500 entries, then different ones, and longer.
  auto rewritten = served_log(500, 700);
  AuditOutcome outcome = audit(state, *rewritten->log);
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kRewrittenHistory) << outcome.message;
  EXPECT_NE(outcome.message.find("size 1200 does not extend size 1000"), std::string::npos)
      << outcome.message;
  EXPECT_EQ(outcome.new_state.tree_size, 1200u);

  // Sharing all 1000 entries and extending them is consistent.
  auto honest = served_log(1000, 50);
  EXPECT_TRUE(audit(state, *honest->log).consistent);
}

TEST_F(LogAuditorTest, RollbackAndForkAreReported) {
  open_log(signed_options());
  append(*log_, 0, 1000);
  AuditState state = state_of_main_log();

  auto shorter = served_log(800, 0);
  AuditOutcome rollback = audit(state, *shorter->log);
  EXPECT_FALSE(rollback.consistent);
  EXPECT_EQ(rollback.verdict, AuditVerdict::kRollback);
  EXPECT_EQ(rollback.message, "log rolled back from 1000 to 800 entries");

  auto forked = served_log(999, 1);
  AuditOutcome fork = audit(state, *forked->log);
  EXPECT_FALSE(fork.consistent);
  EXPECT_EQ(fork.verdict, AuditVerdict::kFork) << fork.message;
}

TEST_F(LogAuditorTest, BadSignaturesAreRefused) {
  open_log(signed_options());
  append(*log_, 0, 10);
  std::string note = log_->latest_checkpoint();

  // Signed by another key of the same name.
  NoteSigner impostor = make_signer(4);
  const NoteSigner* signers[] = {&impostor};
  auto forged = sign_note(note.substr(0, note.find("\n\n") + 1), signers);
  ASSERT_TRUE(forged.is_ok());
  AuditOutcome outcome = audit(std::nullopt, *forged, fetcher_of(*log_));
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kBadSignature);

  // The body changed under the log's signature.
  std::string tampered = note;
  tampered[tampered.find('\n') + 1] = '9';
  outcome = audit(std::nullopt, tampered, fetcher_of(*log_));
  EXPECT_EQ(outcome.verdict, AuditVerdict::kBadSignature);

  outcome = audit(std::nullopt, "not a note", fetcher_of(*log_));
  EXPECT_EQ(outcome.verdict, AuditVerdict::kBadSignature);
}

TEST_F(LogAuditorTest, MalformedBodyIsAVerdict) {
  open_log(signed_options());
  const NoteSigner* signers[] = {&signer_key_};
  auto note = sign_note("only an origin\n", signers);
  ASSERT_TRUE(note.is_ok());
  AuditOutcome outcome = audit(std::nullopt, *note, fetcher_of(*log_));
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kMalformed);
}

TEST_F(LogAuditorTest, AnotherOriginIsRefused) {
  open_log(signed_options());
  append(*log_, 0, 100);
  AuditState state = state_of_main_log();
  auto other = served_log(100, 10, "other.example/custos/log");
  AuditOutcome outcome = audit(state, *other->log);
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kWrongOrigin);
  EXPECT_NE(outcome.message.find("other.example/custos/log"), std::string::npos);
}

TEST_F(LogAuditorTest, TilesThatDisagreeWithTheSignedRootAreRefused) {
  open_log(signed_options());
  append(*log_, 0, 1000);
  auto forked = served_log(999, 1);  // same size, other last entry
  AuditOutcome outcome = audit(std::nullopt, log_->latest_checkpoint(), fetcher_of(*forked->log));
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kTilesDisagree) << outcome.message;

  // A tile of the wrong size is malformed, not a transport error.
  TileFetcher short_tiles = [this](uint8_t level, uint64_t index,
                                   uint64_t width) -> Result<std::string> {
    CUSTOS_ASSIGN_OR_RETURN(auto tile, fetcher_of (*log_)(level, index, width));
    tile.pop_back();
    return tile;
  };
  outcome = audit(std::nullopt, log_->latest_checkpoint(), short_tiles);
  EXPECT_FALSE(outcome.consistent);
  EXPECT_EQ(outcome.verdict, AuditVerdict::kMalformed) << outcome.message;
}

TEST_F(LogAuditorTest, TransportFailuresAndForeignStatesAreErrors) {
  open_log(signed_options());
  append(*log_, 0, 300);
  AuditState state = state_of_main_log();
  append(*log_, 300, 300);

  TileFetcher down = [](uint8_t, uint64_t, uint64_t) -> Result<std::string> {
    return unavailable("connection refused");
  };
  auto outcome = audit_checkpoint(verifier_, state, log_->latest_checkpoint(), down);
  EXPECT_EQ(outcome.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(outcome.status().message().find("connection refused"), std::string::npos);

  // Failing only on the proof's tiles (after the root) is an error too.
  uint64_t calls = 0;
  TileFetcher flaky = [&](uint8_t level, uint64_t index, uint64_t width) -> Result<std::string> {
    if (++calls > 2) return unavailable("timeout");
    return fetcher_of(*log_)(level, index, width);
  };
  outcome = audit_checkpoint(verifier_, state, log_->latest_checkpoint(), flaky);
  EXPECT_EQ(outcome.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(calls, 3u);

  NoteVerifier other = make_signer(5).verifier();
  outcome = audit_checkpoint(other, state, log_->latest_checkpoint(), fetcher_of(*log_));
  EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(LogAuditorTest, StateFormatIsExactAndStrict) {
  open_log(signed_options());
  append(*log_, 0, 5);
  AuditState state = state_of_main_log();
  std::string text = encode_audit_state(state);
  EXPECT_EQ(text, "custos-audit-state v1\norigin " + std::string(kOrigin) + "\nvkey " +
                      verifier_.vkey_string() + "\ntree_size 5\nroot_hash " +
                      state.root_hash.base64() + "\ncheckpoint " +
                      base64_encode(as_bytes(state.checkpoint)) + "\n");
  ASSERT_TRUE(decode_audit_state(text).is_ok());

  auto replace_line = [&](size_t line, std::string content) {
    std::vector<std::string> lines;
    size_t at = 0;
    for (size_t end; (end = text.find('\n', at)) != std::string::npos; at = end + 1) {
      lines.push_back(text.substr(at, end - at));
    }
    lines[line] = std::move(content);
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  };
  const std::vector<std::string> bad = {
      "",
      text.substr(0, text.size() - 1),  // unterminated
      text + "extra\n",
      "custos-audit-state v2\n" + text.substr(text.find('\n') + 1),
      replace_line(1, "origin "),
      replace_line(1, "origin other.example/log"),  // disagrees with the checkpoint
      replace_line(2, "vkey nonsense"),
      replace_line(3, "tree_size 05"),
      replace_line(3, "tree_size -1"),
      replace_line(3, "tree_size 6"),
      replace_line(4, "root_hash AAAA"),
      replace_line(5, "checkpoint !!!"),
      replace_line(5, "checkpoint " + base64_encode(as_bytes(std::string_view("x\n")))),
      replace_line(2, "tree_size 5"),  // lines out of order
      replace_line(0, "custos-audit-state v1\r"),
  };
  for (const auto& candidate : bad) {
    auto decoded = decode_audit_state(candidate);
    EXPECT_FALSE(decoded.is_ok()) << candidate;
    if (!decoded.is_ok()) {
      EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace custos::ledger::testing
