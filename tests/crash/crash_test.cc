// custos crash test: every acknowledged append survives SIGKILL.
//
// Runs the custos binary as a child process on one data directory, trial
// after trial. In each trial C client threads append distinct payloads over
// keep-alive connections while one more thread polls GET /checkpoint; after a
// random delay the server gets SIGKILL, and once restarted on the same data
// directory the test checks the promise the API makes (a 201 receipt is sent
// only after the entry is durably synced):
//   1. every entry acknowledged in any trial so far is in the log at its
//      index with exactly its payload (this trial's acks one by one through
//      GET /custos/v1/log/entries/{i}, every ack of every trial through the
//      entry bundles, compared by leaf hash);
//   2. no index was acknowledged twice with different payloads;
//   3. the restarted log's checkpoint is signed by log.vkey, covers every
//      acknowledged index, and is consistent (RFC 9162 proof from the
//      restarted server) with every distinct checkpoint handed out before the
//      crash, and checkpoints of one size always have one root.
// Each trial checks the checkpoints handed out since the previous restart,
// plus the checkpoint that restart served; consistency is transitive, so
// every checkpoint of every earlier trial is covered too.
// Receipts are checked as they arrive: the checkpoint's signature, the leaf
// hash against the entry rebuilt from the payload sent, and the inclusion
// proof against the checkpoint.
//
// Exit status: 0 when every check held, 1 when one failed (each failure is
// printed, then the summary), 2 for bad arguments or a setup problem. The
// child server is killed on every exit path (and by PR_SET_PDEATHSIG should
// this program die). The work directory (data dir and server.log) is kept
// when a check fails.
#include <fcntl.h>
#include <signal.h>
#include <simdjson.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/ledger/tile_path.h"
#include "custos/server/http_client.h"

namespace custos::crash {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kExitPass = 0;
constexpr int kExitFailed = 1;
constexpr int kExitSetup = 2;

constexpr std::string_view kOrigin = "crash-test.custos.example/log";
constexpr std::string_view kEntriesPath = "/custos/v1/log/entries";
constexpr size_t kMaxPayloadSize = 2000;
constexpr int kMinKillDelayMs = 20;
constexpr int kMaxKillDelayMs = 400;
constexpr milliseconds kReadyTimeout{60000};
constexpr milliseconds kStopTimeout{15000};
constexpr milliseconds kRequestTimeout{10000};
constexpr milliseconds kCheckpointPollInterval{2};
constexpr size_t kMaxFailuresPrinted = 30;

const char kUsage[] =
    "usage: crash_test --custos PATH [--trials N] [--seed S] [--work-dir DIR] [--clients C]\n"
    "  --custos PATH    the custos binary to crash\n"
    "  --trials N       SIGKILL/restart cycles (default 20)\n"
    "  --seed S         seed for payloads and kill delays (default: from the clock; printed)\n"
    "  --work-dir DIR   where the data dir and server.log go; must not hold data yet\n"
    "                   (default: a fresh temporary dir, removed when the test passes)\n"
    "  --clients C      appending client threads (default 8)\n"
    "exit status: 0 pass, 1 a check failed, 2 bad arguments or setup error\n";

struct Options {
  std::string custos_path;
  uint64_t trials = 20;
  std::optional<uint64_t> seed;
  std::string work_dir;
  uint64_t clients = 8;
};

Result<Options> parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    if (auto equals = arg.find('='); arg.starts_with("--") && equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
      arg = arg.substr(0, equals);
    } else if (i + 1 < argc) {
      value = argv[i + 1];
      if (arg == "--custos" || arg == "--trials" || arg == "--seed" || arg == "--work-dir" ||
          arg == "--clients") {
        ++i;
      }
    }
    auto number = [&](std::string_view name) -> Result<uint64_t> {
      auto parsed = parse_decimal_u64(value);
      if (!parsed.is_ok()) return invalid_argument(std::string(name) + ": expected a number");
      return parsed;
    };
    if (arg == "--custos") {
      options.custos_path = std::string(value);
    } else if (arg == "--work-dir") {
      options.work_dir = std::string(value);
    } else if (arg == "--trials") {
      CUSTOS_ASSIGN_OR_RETURN(options.trials, number(arg));
    } else if (arg == "--seed") {
      CUSTOS_ASSIGN_OR_RETURN(options.seed, number(arg));
    } else if (arg == "--clients") {
      CUSTOS_ASSIGN_OR_RETURN(options.clients, number(arg));
    } else if (arg == "--help" || arg == "-h") {
      return not_found("help");
    } else {
      return invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (options.custos_path.empty()) return invalid_argument("--custos PATH is required");
  if (options.trials == 0) return invalid_argument("--trials must be at least 1");
  if (options.clients == 0 || options.clients > 256) {
    return invalid_argument("--clients must be 1..256");
  }
  return options;
}

// splitmix64: turns (seed, trial, client, seq) into independent RNG seeds.
uint64_t mix(std::initializer_list<uint64_t> parts) {
  uint64_t state = 0x243f6a8885a308d3ull;
  for (uint64_t part : parts) {
    state ^= part;
    state += 0x9e3779b97f4a7c15ull;
    state = (state ^ (state >> 30)) * 0xbf58476d1ce4e5b9ull;
    state = (state ^ (state >> 27)) * 0x94d049bb133111ebull;
    state ^= state >> 31;
  }
  return state;
}

// Names one payload; the payload bytes are a pure function of it and the seed,
// so the expectations need not keep the payloads themselves.
struct PayloadId {
  uint64_t trial = 0;
  uint64_t client = 0;
  uint64_t seq = 0;
};

// "trial T client C seq N " followed by random bytes, 1..kMaxPayloadSize
// bytes in all (never shorter than the unique prefix).
std::string make_payload(uint64_t seed, const PayloadId& id) {
  std::string payload = "trial " + std::to_string(id.trial) + " client " +
                        std::to_string(id.client) + " seq " + std::to_string(id.seq) + " ";
  std::mt19937_64 rng(mix({seed, id.trial, id.client, id.seq}));
  size_t size = std::uniform_int_distribution<size_t>(1, kMaxPayloadSize)(rng);
  while (payload.size() < size) {
    uint64_t random = rng();
    for (int byte = 0; byte < 8 && payload.size() < size; ++byte, random >>= 8) {
      payload.push_back(static_cast<char>(random & 0xff));
    }
  }
  return payload;
}

// The first bytes of `bytes`, with anything unprintable as \xNN.
std::string printable_prefix(ByteView bytes, size_t max_bytes = 40) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (uint8_t byte : bytes.first(std::min(bytes.size(), max_bytes))) {
    if (byte >= 0x20 && byte < 0x7f && byte != '\\') {
      text.push_back(static_cast<char>(byte));
    } else {
      text += "\\x";
      text.push_back(kHex[byte >> 4]);
      text.push_back(kHex[byte & 0xf]);
    }
  }
  return text;
}

std::string describe(const PayloadId& id) {
  return "payload (trial " + std::to_string(id.trial) + ", client " + std::to_string(id.client) +
         ", seq " + std::to_string(id.seq) + ")";
}

// One acknowledged append. leaf_hash is computed here from the payload sent
// (and the index, receive time and principal of the receipt), so a stored
// entry with that leaf hash holds exactly the payload.
struct Ack {
  PayloadId id;
  Hash256 leaf_hash;
};

// Thread-safe list of failed checks.
class Failures {
 public:
  void add(std::string message) {
    std::lock_guard lock(mutex_);
    if (messages_.size() < kMaxFailuresPrinted) {
      std::cerr << "FAIL: " << message << "\n";
    } else if (messages_.size() == kMaxFailuresPrinted) {
      std::cerr << "FAIL: (further failures counted, not printed)\n";
    }
    messages_.push_back(std::move(message));
  }
  size_t count() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> messages_;
};

// What the log's identity lets a client check.
struct LogIdentity {
  NoteVerifier verifier;
  std::string origin;
};

Result<ledger::Checkpoint> open_checkpoint(std::string_view note, const LogIdentity& log) {
  const NoteVerifier* known[] = {&log.verifier};
  auto opened = open_note(note, known);
  if (!opened.is_ok()) return opened.status().with_context("checkpoint signature");
  auto checkpoint = ledger::parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok()) return checkpoint.status().with_context("checkpoint body");
  if (checkpoint->origin != log.origin) {
    return invalid_argument("checkpoint origin '" + checkpoint->origin + "', expected '" +
                            log.origin + "'");
  }
  return checkpoint;
}

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string text() const { return host + ":" + std::to_string(port); }
};

std::unique_ptr<HttpClient> make_client(const Endpoint& endpoint) {
  HttpClientOptions options;
  options.timeout = kRequestTimeout;
  return std::make_unique<HttpClient>(endpoint.host, endpoint.port, options);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return not_found("cannot read " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string trim_newlines(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

// A child process running the custos binary, its output appended to a log
// file. Owned by the main thread; the destructor kills it.
class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { kill_now(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  Status spawn(const std::vector<std::string>& args, const std::string& log_path) {
    kill_now();
    {
      std::ofstream log(log_path, std::ios::app);
      std::string line;
      for (const auto& arg : args) line += (line.empty() ? "" : " ") + arg;
      log << "==== crash_test: starting " << line << "\n";
    }
    log_path_ = log_path;
    std::error_code ignored;
    log_offset_ = fs::file_size(log_path, ignored);

    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log_fd < 0 || null_fd < 0) {
      if (log_fd >= 0) ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return io_error("cannot open " + log_path);
    }
    pid_t parent = ::getpid();
    pid_t pid = ::fork();
    if (pid == 0) {
      // Only async-signal-safe calls until exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::signal(SIGPIPE, SIG_DFL);  // as a shell would start it
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::close_range(3, ~0u, 0);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    if (pid < 0) return io_error("fork failed");
    pid_ = pid;
    return Status::ok();
  }

  bool running() const { return pid_ > 0; }

  // Sends `signal` without waiting; kill_now() or poll_exit() reaps.
  void send_signal(int signal) {
    if (pid_ > 0) ::kill(pid_, signal);
  }

  // The wait status if the child has exited (and is now reaped).
  std::optional<int> poll_exit() {
    if (pid_ <= 0) return std::nullopt;
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped != pid_) return std::nullopt;
    pid_ = -1;
    return status;
  }

  // Waits for the child to exit by itself, up to `timeout`.
  std::optional<int> wait_exit(milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (pid_ > 0) {
      if (auto status = poll_exit()) return status;
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }

  // SIGKILL and reap. Returns the wait status when the child had already
  // exited by itself before the signal.
  std::optional<int> kill_now() {
    if (pid_ <= 0) return std::nullopt;
    if (auto status = poll_exit()) return status;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return std::nullopt;
  }

  // SIGTERM, then SIGKILL after `timeout`. The wait status on a clean exit.
  std::optional<int> terminate(milliseconds timeout) {
    if (pid_ <= 0) return std::nullopt;
    ::kill(pid_, SIGTERM);
    if (auto status = wait_exit(timeout)) return status;
    kill_now();
    return std::nullopt;
  }

  // The end of what this child wrote to its log, for error messages.
  std::string log_tail(size_t max_bytes = 3000) const {
    auto text = read_file(log_path_);
    if (!text.is_ok()) return "(no log)";
    std::string own = log_offset_ < text->size() ? text->substr(log_offset_) : std::string();
    if (own.size() > max_bytes) own = "..." + own.substr(own.size() - max_bytes);
    return own;
  }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  uintmax_t log_offset_ = 0;
};

// The paths of one crash-test run.
struct WorkPaths {
  std::string root;
  std::string data() const { return root + "/data"; }
  std::string ready_file() const { return root + "/ready"; }
  std::string server_log() const { return root + "/server.log"; }
  std::string token_file() const { return root + "/loader.token"; }
};

// Runs one custos command to completion; an error unless it exits 0.
Status run_step(const std::vector<std::string>& args, const WorkPaths& paths) {
  ChildProcess step;
  CUSTOS_RETURN_IF_ERROR(step.spawn(args, paths.server_log()));
  auto status = step.wait_exit(kReadyTimeout);
  if (!status || !WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return failed_precondition("custos " + args[1] + " failed (" +
                               (status ? describe_wait_status(*status) : "timed out") + "):\n" +
                               step.log_tail());
  }
  return Status::ok();
}

// init, then (offline, before the server runs) a log-writing service and an
// API token for it, which the clients present as their bearer token.
Status run_init(const std::string& custos, const WorkPaths& paths) {
  CUSTOS_RETURN_IF_ERROR(run_step({custos, "init", "--data", paths.data(), "--origin",
                                   std::string(kOrigin), "--credentials-out",
                                   paths.root + "/admin.credentials"},
                                  paths));
  CUSTOS_RETURN_IF_ERROR(run_step({custos, "principal", "add", "loader", "--kind", "service",
                                   "--role", "log_writer", "--data", paths.data()},
                                  paths));
  return run_step({custos, "token", "create", "--data", paths.data(), "--principal", "loader",
                   "--scope", "log.append", "--ttl", "604800", "--out", paths.token_file()},
                  paths);
}

// Starts `custos serve` and waits for its ready file.
Result<Endpoint> start_server(ChildProcess& server, const std::string& custos,
                              const WorkPaths& paths) {
  std::error_code ignored;
  fs::remove(paths.ready_file(), ignored);
  CUSTOS_RETURN_IF_ERROR(server.spawn({custos, "serve", "--data", paths.data(), "--listen",
                                       "127.0.0.1:0", "--ready-file", paths.ready_file()},
                                      paths.server_log()));
  auto deadline = Clock::now() + kReadyTimeout;
  while (true) {
    if (auto status = server.poll_exit()) {
      return failed_precondition("custos serve exited during startup (" +
                                 describe_wait_status(*status) + "):\n" + server.log_tail());
    }
    auto ready = read_file(paths.ready_file());
    if (ready.is_ok() && !ready->empty() && ready->back() == '\n') {
      std::string address = trim_newlines(*ready);
      auto colon = address.rfind(':');
      auto port = colon == std::string::npos ? Result<uint64_t>(invalid_argument("no port"))
                                             : parse_decimal_u64(address.substr(colon + 1));
      if (!port.is_ok() || *port == 0 || *port > 65535) {
        return failed_precondition("unreadable ready file: '" + address + "'");
      }
      return Endpoint{address.substr(0, colon), static_cast<uint16_t>(*port)};
    }
    if (Clock::now() >= deadline) {
      server.kill_now();
      return failed_precondition("custos serve not ready within " +
                                 std::to_string(kReadyTimeout.count()) + " ms:\n" +
                                 server.log_tail());
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
}

Result<std::string> http_get(HttpClient& client, const std::string& target) {
  auto response = client.get(target);
  if (!response.is_ok()) return response.status().with_context("GET " + target);
  if (response->status != 200) {
    return Status(response->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable,
                  "GET " + target + ": HTTP " + std::to_string(response->status) + " " +
                      response->body.substr(0, 300));
  }
  return std::move(response->body);
}

Result<std::vector<Hash256>> hash_array(simdjson::dom::element object, const char* key) {
  simdjson::dom::array array;
  if (object[key].get_array().get(array) != simdjson::SUCCESS) {
    return invalid_argument(std::string("no array '") + key + "'");
  }
  std::vector<Hash256> hashes;
  for (simdjson::dom::element item : array) {
    std::string_view text;
    if (item.get_string().get(text) != simdjson::SUCCESS) {
      return invalid_argument(std::string("'") + key + "' holds a non-string");
    }
    CUSTOS_ASSIGN_OR_RETURN(Hash256 hash, Hash256::from_base64(text));
    hashes.push_back(hash);
  }
  return hashes;
}

// What one trial's threads collect; thread-safe.
class TrialRecord {
 public:
  // Records a failure when `index` was already acknowledged in this trial.
  void add_ack(uint64_t index, const Ack& ack, Failures& failures) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = acks_.emplace(index, ack);
    if (!inserted) {
      failures.add("index " + std::to_string(index) +
                   " acknowledged twice: " + describe(it->second.id) + " and " + describe(ack.id));
    }
  }
  void add_checkpoint(const ledger::Checkpoint& checkpoint, Failures& failures) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = checkpoints_.emplace(checkpoint.tree_size, checkpoint.root_hash);
    if (!inserted && it->second != checkpoint.root_hash) {
      failures.add("two checkpoints of size " + std::to_string(checkpoint.tree_size) +
                   " with different roots: " + it->second.base64() + " and " +
                   checkpoint.root_hash.base64());
    }
  }
  // `status` is the HTTP status, or 0 when the request failed without one;
  // `killed` says whether SIGKILL may already have been sent.
  void count_post(int status, bool killed, const Status& error) {
    std::lock_guard lock(mutex_);
    if (status == 201) return;
    if (status != 0) {
      ++rejected_[status];
    } else if (killed) {
      ++failed_;
    } else {
      if (failed_alive_++ == 0) first_alive_error_ = error.to_string();
    }
  }

  // Only once the threads are joined.
  const std::map<uint64_t, Ack>& acks() const { return acks_; }
  const std::map<uint64_t, Hash256>& checkpoints() const { return checkpoints_; }
  uint64_t failed() const { return failed_; }
  uint64_t failed_alive() const { return failed_alive_; }
  const std::string& first_alive_error() const { return first_alive_error_; }
  const std::map<int, uint64_t>& rejected() const { return rejected_; }
  uint64_t unacknowledged() const {
    uint64_t total = failed_ + failed_alive_;
    for (const auto& [status, count] : rejected_) total += count;
    return total;
  }

 private:
  std::mutex mutex_;
  std::map<uint64_t, Ack> acks_;
  std::map<uint64_t, Hash256> checkpoints_;  // tree size -> root
  uint64_t failed_ = 0;                      // no response, SIGKILL sent
  uint64_t failed_alive_ = 0;                // no response before SIGKILL was sent
  std::string first_alive_error_;
  std::map<int, uint64_t> rejected_;  // HTTP status other than 201 -> count
};

// Everything a trial's threads share, read-only.
struct TrialContext {
  uint64_t seed = 0;
  uint64_t trial = 0;
  Endpoint endpoint;
  const LogIdentity* log = nullptr;
  std::string bearer_token;
};

// Checks a 201 receipt for the payload sent and records the ack (even when a
// check of the receipt fails: the 201 is the acknowledgement).
void accept_receipt(std::string_view body, const PayloadId& id, const std::string& payload,
                    const TrialContext& context, simdjson::dom::parser& parser, TrialRecord& record,
                    Failures& failures) {
  std::string where = "receipt for " + describe(id);
  simdjson::padded_string json(body);
  simdjson::dom::element receipt;
  uint64_t index = 0;
  if (parser.parse(json).get(receipt) != simdjson::SUCCESS ||
      receipt["index"].get_uint64().get(index) != simdjson::SUCCESS) {
    failures.add(where + ": 201 without a readable index: " + std::string(body.substr(0, 300)));
    return;
  }
  where += " at index " + std::to_string(index);
  uint64_t tree_size = 0;
  int64_t receive_time = 0;
  std::string_view principal, leaf_text, note;
  if (receipt["tree_size"].get_uint64().get(tree_size) != simdjson::SUCCESS ||
      receipt["receive_time_us"].get_int64().get(receive_time) != simdjson::SUCCESS ||
      receipt["principal"].get_string().get(principal) != simdjson::SUCCESS ||
      receipt["leaf_hash"].get_string().get(leaf_text) != simdjson::SUCCESS ||
      receipt["checkpoint"].get_string().get(note) != simdjson::SUCCESS) {
    failures.add(where + ": a field is missing or mistyped: " + std::string(body.substr(0, 300)));
    return;
  }
  ledger::LogEntry entry;
  entry.kind = ledger::EntryKind::kRawPayload;
  entry.index = index;
  entry.receive_time = receive_time;
  entry.principal = std::string(principal);
  entry.payload = to_bytes(payload);
  Hash256 expected_leaf = ledger::hash_leaf(ledger::encode_entry(entry));
  record.add_ack(index, Ack{id, expected_leaf}, failures);

  auto leaf = Hash256::from_base64(leaf_text);
  if (!leaf.is_ok() || *leaf != expected_leaf) {
    failures.add(where + ": leaf_hash does not commit to the payload sent");
  }
  auto checkpoint = open_checkpoint(note, *context.log);
  if (!checkpoint.is_ok()) {
    failures.add(where + ": " + checkpoint.status().to_string());
    return;
  }
  record.add_checkpoint(*checkpoint, failures);
  if (checkpoint->tree_size != tree_size) {
    failures.add(where + ": tree_size " + std::to_string(tree_size) + " but checkpoint size " +
                 std::to_string(checkpoint->tree_size));
    return;
  }
  auto proof = hash_array(receipt, "inclusion_proof");
  Status included = proof.is_ok() ? ledger::verify_inclusion(index, tree_size, expected_leaf,
                                                             *proof, checkpoint->root_hash)
                                  : proof.status();
  if (!included.is_ok()) failures.add(where + ": inclusion proof: " + included.to_string());
}

void run_client(const TrialContext& context, uint64_t client, const std::atomic<bool>& killing,
                const std::atomic<bool>& stop, TrialRecord& record, Failures& failures) {
  auto http = make_client(context.endpoint);
  HttpHeaders headers;
  headers.set("Authorization", "Bearer " + context.bearer_token);
  headers.set("Content-Type", "application/octet-stream");
  simdjson::dom::parser parser;
  for (uint64_t seq = 0; !stop.load(); ++seq) {
    PayloadId id{context.trial, client, seq};
    std::string payload = make_payload(context.seed, id);
    auto response = http->request("POST", kEntriesPath, payload, headers);
    int status = response.is_ok() ? response->status : 0;
    record.count_post(status, killing.load(), response.status());
    if (status == 201) {
      accept_receipt(response->body, id, payload, context, parser, record, failures);
    } else if (!stop.load()) {
      // Overload (503) or the server just died: not acknowledged, try the next payload.
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
}

void run_checkpoint_poller(const TrialContext& context, const std::atomic<bool>& stop,
                           TrialRecord& record, Failures& failures) {
  auto http = make_client(context.endpoint);
  while (!stop.load()) {
    auto note = http_get(*http, "/checkpoint");
    if (note.is_ok()) {
      auto checkpoint = open_checkpoint(*note, *context.log);
      if (checkpoint.is_ok()) {
        record.add_checkpoint(*checkpoint, failures);
      } else {
        failures.add("GET /checkpoint in trial " + std::to_string(context.trial) + ": " +
                     checkpoint.status().to_string());
      }
    }
    std::this_thread::sleep_for(kCheckpointPollInterval);
  }
}

// Runs fn(client, parser, item) for item in [0, count) on `threads` threads,
// each with its own connection.
template <typename Fn>
void parallel_for(const Endpoint& endpoint, size_t count, size_t threads, Fn fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (size_t t = 0; t < std::min(threads, count); ++t) {
    workers.emplace_back([&] {
      auto http = make_client(endpoint);
      simdjson::dom::parser parser;
      for (size_t item; (item = next.fetch_add(1)) < count;) fn(*http, parser, item);
    });
  }
  for (auto& worker : workers) worker.join();
}

// All acknowledgements and checkpoint roots across trials. Main thread only.
struct Expectations {
  std::map<uint64_t, Ack> acks;
  std::map<uint64_t, Hash256> roots;  // tree size -> root, every checkpoint ever seen
  uint64_t lost = 0;
};

struct VerifyResult {
  ledger::Checkpoint checkpoint;  // the restarted log's
  uint64_t checkpoints_checked = 0;
};

// Checks (1) and (3) of the file comment against the restarted server.
// Missing or altered acknowledged entries are counted in expectations.lost.
Result<VerifyResult> verify_after_restart(const Endpoint& endpoint, const LogIdentity& log,
                                          uint64_t seed, size_t threads, const TrialRecord& record,
                                          Expectations& expectations, Failures& failures) {
  auto http = make_client(endpoint);
  CUSTOS_ASSIGN_OR_RETURN(std::string note, http_get(*http, "/checkpoint"));
  auto opened = open_checkpoint(note, log);
  if (!opened.is_ok()) {
    failures.add("restarted server's checkpoint: " + opened.status().to_string());
    return opened.status();
  }
  VerifyResult result{*opened, 0};
  const uint64_t tree_size = result.checkpoint.tree_size;
  const Hash256& root = result.checkpoint.root_hash;
  if (!expectations.acks.empty() && tree_size <= expectations.acks.rbegin()->first) {
    auto beyond = std::distance(expectations.acks.lower_bound(tree_size), expectations.acks.end());
    expectations.lost += static_cast<uint64_t>(beyond);
    failures.add("restarted log has size " + std::to_string(tree_size) + " but " +
                 std::to_string(beyond) + " acknowledged indices are beyond it, up to " +
                 std::to_string(expectations.acks.rbegin()->first));
  }
  if (auto known = expectations.roots.find(tree_size);
      known != expectations.roots.end() && known->second != root) {
    failures.add("restarted checkpoint of size " + std::to_string(tree_size) +
                 " has a different root than one handed out earlier");
  }
  expectations.roots.emplace(tree_size, root);

  // (3) consistency with every distinct checkpoint handed out this trial.
  std::vector<std::pair<uint64_t, Hash256>> earlier(record.checkpoints().begin(),
                                                    record.checkpoints().end());
  std::atomic<uint64_t> checked{0};
  parallel_for(
      endpoint, earlier.size(), threads,
      [&](HttpClient& client, simdjson::dom::parser& parser, size_t item) {
        auto [size, earlier_root] = earlier[item];
        std::string what =
            "checkpoint of size " + std::to_string(size) + " handed out before the crash";
        checked.fetch_add(1);
        if (size > tree_size) {
          failures.add(what + " is ahead of the restarted log (size " + std::to_string(tree_size) +
                       "): the log rolled back");
          return;
        }
        if (size == tree_size) {
          if (earlier_root != root) failures.add(what + " has a different root");
          return;
        }
        if (size == 0) return;  // every tree extends the empty tree
        std::string target = "/custos/v1/log/proof/consistency?from=" + std::to_string(size) +
                             "&to=" + std::to_string(tree_size);
        auto body = http_get(client, target);
        if (!body.is_ok()) {
          failures.add(what + ": " + body.status().to_string());
          return;
        }
        simdjson::padded_string json(*body);
        simdjson::dom::element response;
        Status consistent = invalid_argument("unreadable JSON");
        if (parser.parse(json).get(response) == simdjson::SUCCESS) {
          auto proof = hash_array(response, "consistency_proof");
          consistent = proof.is_ok()
                           ? ledger::verify_consistency(size, tree_size, earlier_root, root, *proof)
                           : proof.status();
        }
        if (!consistent.is_ok()) {
          failures.add(what + " is not consistent with the restarted checkpoint (size " +
                       std::to_string(tree_size) + "): " + consistent.to_string());
        }
      });
  result.checkpoints_checked = checked.load();

  std::atomic<uint64_t> lost{0};
  // (1a) this trial's acknowledgements, one GET each, compared byte for byte.
  std::vector<std::pair<uint64_t, Ack>> fresh(record.acks().begin(), record.acks().end());
  parallel_for(endpoint, fresh.size(), threads,
               [&](HttpClient& client, simdjson::dom::parser& parser, size_t item) {
                 const auto& [index, ack] = fresh[item];
                 if (index >= tree_size) return;  // counted as lost above
                 std::string what =
                     "acknowledged entry " + std::to_string(index) + " (" + describe(ack.id) + ")";
                 auto body =
                     http_get(client, std::string(kEntriesPath) + "/" + std::to_string(index));
                 if (!body.is_ok()) {
                   lost.fetch_add(1);
                   failures.add(what + " is missing: " + body.status().to_string());
                   return;
                 }
                 simdjson::padded_string json(*body);
                 simdjson::dom::element response;
                 std::string_view entry_base64;
                 if (parser.parse(json).get(response) != simdjson::SUCCESS ||
                     response["entry"].get_string().get(entry_base64) != simdjson::SUCCESS) {
                   lost.fetch_add(1);
                   failures.add(what + ": unreadable response " + body->substr(0, 300));
                   return;
                 }
                 auto bytes = base64_decode(entry_base64);
                 auto entry = bytes.is_ok() ? ledger::decode_entry(*bytes)
                                            : Result<ledger::LogEntry>(bytes.status());
                 if (!entry.is_ok()) {
                   lost.fetch_add(1);
                   failures.add(what + " does not decode: " + entry.status().to_string());
                   return;
                 }
                 std::string expected = make_payload(seed, ack.id);
                 if (entry->index != index || as_text(entry->payload) != expected) {
                   lost.fetch_add(1);
                   failures.add(what + " holds other bytes: index " + std::to_string(entry->index) +
                                ", payload of " + std::to_string(entry->payload.size()) +
                                " bytes starting '" + printable_prefix(entry->payload) + "'");
                   return;
                 }
                 if (ledger::hash_leaf(*bytes) != ack.leaf_hash) {
                   lost.fetch_add(1);
                   failures.add(what + ": stored leaf differs from the one acknowledged");
                 }
               });

  // (1b) every acknowledgement of every trial, through the entry bundles.
  const uint64_t width = ledger::kFullTileWidth;
  uint64_t bundles = (tree_size + width - 1) / width;
  parallel_for(endpoint, bundles, threads,
               [&](HttpClient& client, simdjson::dom::parser&, size_t item) {
                 ledger::TilePath path;
                 path.entries = true;
                 path.index = item;
                 path.width = static_cast<uint16_t>(std::min(width, tree_size - item * width));
                 std::string target = "/" + ledger::format_tile_path(path);
                 // Acknowledged entries from `position` on, when the rest of the bundle is
                 // unreadable.
                 auto count_lost_from = [&](uint64_t position) {
                   auto first = expectations.acks.lower_bound(item * width + position);
                   auto last = expectations.acks.lower_bound(item * width + path.width);
                   lost.fetch_add(static_cast<uint64_t>(std::distance(first, last)));
                 };
                 auto bundle = http_get(client, target);
                 if (!bundle.is_ok()) {
                   count_lost_from(0);
                   failures.add("entry bundle " + target + ": " + bundle.status().to_string());
                   return;
                 }
                 ByteView rest = as_bytes(*bundle);
                 for (uint64_t position = 0; position < path.width; ++position) {
                   uint64_t index = item * width + position;
                   auto ack = expectations.acks.find(index);
                   std::optional<std::string> problem;
                   ByteView entry_bytes;
                   if (rest.size() < 2 || rest.size() - 2 < read_u16_be(rest.data())) {
                     problem = "bundle " + target + " ends before entry " + std::to_string(index);
                   } else {
                     entry_bytes = rest.subspan(2, read_u16_be(rest.data()));
                     rest = rest.subspan(2 + entry_bytes.size());
                     auto entry = ledger::decode_entry(entry_bytes);
                     if (!entry.is_ok()) {
                       problem = "entry " + std::to_string(index) + " in " + target +
                                 " does not decode: " + entry.status().to_string();
                     } else if (entry->index != index) {
                       problem = "entry " + std::to_string(index) + " in " + target +
                                 " says it is entry " + std::to_string(entry->index);
                     } else if (ack != expectations.acks.end() &&
                                ledger::hash_leaf(entry_bytes) != ack->second.leaf_hash) {
                       problem = "acknowledged entry " + std::to_string(index) + " (" +
                                 describe(ack->second.id) + ") holds other bytes in " + target;
                     }
                   }
                   if (problem) {
                     failures.add(*problem);
                     if (entry_bytes.empty()) {
                       count_lost_from(position);
                       return;
                     }
                     if (ack != expectations.acks.end()) lost.fetch_add(1);
                   }
                 }
                 if (!rest.empty()) failures.add("bundle " + target + " has trailing bytes");
               });
  expectations.lost += lost.load();
  return result;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string format_seconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.2f s", seconds);
  return text;
}

int run(const Options& options) {
  auto run_start = Clock::now();
  uint64_t seed =
      options.seed
          ? *options.seed
          : static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  if (!fs::exists(options.custos_path)) {
    std::cerr << "crash_test: no custos binary at " << options.custos_path << "\n";
    return kExitSetup;
  }
  std::string custos = fs::absolute(options.custos_path).string();

  WorkPaths paths;
  bool temporary_work_dir = options.work_dir.empty();
  if (temporary_work_dir) {
    std::string pattern = (fs::temp_directory_path() / "custos-crash-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::cerr << "crash_test: cannot create a temporary directory\n";
      return kExitSetup;
    }
    paths.root = pattern;
  } else {
    std::error_code error;
    fs::create_directories(options.work_dir, error);
    paths.root = fs::absolute(options.work_dir).string();
    if (fs::exists(paths.data())) {
      std::cerr << "crash_test: " << paths.data()
                << " already exists; give --work-dir an empty or new directory\n";
      return kExitSetup;
    }
  }
  std::cout << "crash test: " << options.trials << " trials, " << options.clients
            << " clients, seed " << seed << ", work dir " << paths.root << std::endl;

  if (Status init = run_init(custos, paths); !init.is_ok()) {
    std::cerr << "crash_test: " << init.message() << "\n";
    return kExitSetup;
  }
  auto vkey = read_file(paths.data() + "/log.vkey");
  auto token = read_file(paths.token_file());
  if (!vkey.is_ok() || !token.is_ok()) {
    std::cerr << "crash_test: setup did not write log.vkey and the loader's token\n";
    return kExitSetup;
  }
  auto verifier = NoteVerifier::parse(trim_newlines(*vkey));
  if (!verifier.is_ok()) {
    std::cerr << "crash_test: log.vkey: " << verifier.status().to_string() << "\n";
    return kExitSetup;
  }
  const LogIdentity log{*verifier, std::string(kOrigin)};

  ChildProcess server;
  auto endpoint = start_server(server, custos, paths);
  if (!endpoint.is_ok()) {
    std::cerr << "crash_test: " << endpoint.status().message() << "\n";
    return kExitSetup;
  }

  Failures failures;
  Expectations expectations;
  // The checkpoint the running server started with: part of the next trial's checks.
  std::optional<ledger::Checkpoint> baseline;
  {
    auto http = make_client(*endpoint);
    auto note = http_get(*http, "/checkpoint");
    auto opened =
        note.is_ok() ? open_checkpoint(*note, log) : Result<ledger::Checkpoint>(note.status());
    if (!opened.is_ok()) {
      failures.add("initial checkpoint: " + opened.status().to_string());
    } else {
      baseline = *opened;
      expectations.roots.emplace(baseline->tree_size, baseline->root_hash);
    }
  }

  std::mt19937_64 rng(mix({seed, 0x6b696c6cull}));
  uint64_t trials_run = 0;
  uint64_t unacknowledged = 0;
  for (uint64_t trial = 0; trial < options.trials && failures.count() == 0; ++trial) {
    TrialContext context{seed, trial, *endpoint, &log, trim_newlines(*token)};
    TrialRecord record;
    if (baseline) record.add_checkpoint(*baseline, failures);
    int delay_ms = std::uniform_int_distribution<int>(kMinKillDelayMs, kMaxKillDelayMs)(rng);

    std::atomic<bool> killing{false};
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (uint64_t client = 0; client < options.clients; ++client) {
      threads.emplace_back(run_client, std::cref(context), client, std::cref(killing),
                           std::cref(stop), std::ref(record), std::ref(failures));
    }
    threads.emplace_back(run_checkpoint_poller, std::cref(context), std::cref(stop),
                         std::ref(record), std::ref(failures));
    std::this_thread::sleep_for(milliseconds(delay_ms));
    // Whether it exited before the kill: a server that died by itself is a failure.
    std::optional<int> exited_early = server.poll_exit();
    killing.store(true);
    server.send_signal(SIGKILL);
    stop.store(true);  // before reaping, so the clients do not hammer a dead port meanwhile
    server.kill_now();
    for (auto& thread : threads) thread.join();
    ++trials_run;
    unacknowledged += record.unacknowledged();
    if (exited_early) {
      failures.add("trial " + std::to_string(trial) + ": the server exited by itself (" +
                   describe_wait_status(*exited_early) + ") before SIGKILL:\n" + server.log_tail());
    }

    // (2) an index acknowledged in an earlier trial must not be acknowledged again.
    for (const auto& [index, ack] : record.acks()) {
      auto [it, inserted] = expectations.acks.emplace(index, ack);
      if (!inserted) {
        failures.add("index " + std::to_string(index) + " acknowledged twice: " +
                     describe(it->second.id) + " and " + describe(ack.id));
      }
    }
    for (const auto& [size, root] : record.checkpoints()) {
      auto [it, inserted] = expectations.roots.emplace(size, root);
      if (!inserted && it->second != root) {
        failures.add("two checkpoints of size " + std::to_string(size) +
                     " with different roots, in different trials");
      }
    }

    auto restart_start = Clock::now();
    endpoint = start_server(server, custos, paths);
    if (!endpoint.is_ok()) {
      failures.add("trial " + std::to_string(trial) +
                   ": restart failed: " + endpoint.status().message());
      break;
    }
    double restart_seconds = seconds_since(restart_start);
    auto verify_start = Clock::now();
    auto verified =
        verify_after_restart(*endpoint, log, seed, options.clients, record, expectations, failures);
    if (!verified.is_ok()) {
      failures.add("trial " + std::to_string(trial) + ": " + verified.status().to_string());
      break;
    }
    baseline = verified->checkpoint;
    std::cout << "trial " << trial + 1 << "/" << options.trials << ": killed after " << delay_ms
              << " ms; " << record.acks().size() << " acknowledged (" << expectations.acks.size()
              << " so far), " << record.failed() << " failed in flight";
    if (record.failed_alive() > 0) {
      std::cout << ", " << record.failed_alive()
                << " failed before SIGKILL (first: " << record.first_alive_error() << ")";
    }
    for (const auto& [status, count] : record.rejected()) {
      std::cout << ", " << count << " refused with HTTP " << status;
    }
    std::cout << "; tree size " << verified->checkpoint.tree_size << "; "
              << verified->checkpoints_checked << " checkpoints checked; restart "
              << format_seconds(restart_seconds) << ", verify "
              << format_seconds(seconds_since(verify_start)) << std::endl;
  }

  if (server.running()) {
    if (auto status = server.terminate(kStopTimeout); !status) {
      std::cerr << "warning: custos serve did not exit within " << kStopTimeout.count()
                << " ms of SIGTERM; killed\n";
    } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      std::cerr << "warning: custos serve ended with " << describe_wait_status(*status)
                << " after SIGTERM\n";
    }
  }

  double total = seconds_since(run_start);
  if (failures.count() == 0) {
    std::cout << "crash test: " << trials_run << " trials, " << expectations.acks.size()
              << " acknowledged entries, 0 lost" << std::endl;
    std::cout << "(" << unacknowledged << " appends not acknowledged, seed " << seed << ", "
              << format_seconds(total) << ")" << std::endl;
    if (temporary_work_dir) {
      std::error_code ignored;
      fs::remove_all(paths.root, ignored);
    }
    return kExitPass;
  }
  std::cout << "crash test: FAILED after " << trials_run << " trials, " << expectations.acks.size()
            << " acknowledged entries, " << expectations.lost << " lost, " << failures.count()
            << " failed checks (seed " << seed << ", " << format_seconds(total)
            << "; data and server.log kept in " << paths.root << ")" << std::endl;
  return kExitFailed;
}

}  // namespace
}  // namespace custos::crash

int main(int argc, char** argv) {
  // A write to a connection the killed server left behind must fail, not kill us.
  ::signal(SIGPIPE, SIG_IGN);
  auto options = custos::crash::parse_options(argc, argv);
  if (!options.is_ok()) {
    if (options.status().code() == custos::StatusCode::kNotFound) {
      std::cout << custos::crash::kUsage;
      return custos::crash::kExitPass;
    }
    std::cerr << "crash_test: " << options.status().message() << "\n" << custos::crash::kUsage;
    return custos::crash::kExitSetup;
  }
  return custos::crash::run(*options);
}
