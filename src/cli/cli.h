// custos CLI: verbs of the `custos` binary.
//
// Each verb is a function taking its parsed options and returning the
// process exit code; main.cc wires them to CLI11. Exit codes (documented in
// every verb's --help and in docs/operations.md):
//   0 success
//   1 verification failed (verify, audit): the data or the server is not trustworthy
//   2 bad usage or bad input
//   3 storage or file-system error
//   4 network or server error
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace custos::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitStorage = 3;
inline constexpr int kExitNetwork = 4;

struct InitOptions {
  std::string data_dir;
  std::string origin;  // empty: "custos.local/" + a random suffix
  bool json = false;
};
int run_init(const InitOptions& options);

struct ServeOptions {
  std::string config_path;                // optional TOML file
  std::optional<std::string> data_dir;    // overrides storage.data_dir
  std::optional<std::string> listen;      // overrides server.listen
  std::optional<uint32_t> threads;        // overrides server.threads
  std::optional<std::string> log_level;   // overrides logging.level
  std::optional<std::string> log_format;  // overrides logging.format
  std::string ready_file;                 // when set, the bound address is written here once ready
};
int run_serve(const ServeOptions& options);

struct LogAppendOptions {
  std::string url;
  std::string token_file;
  std::string vkey;     // the receipt's checkpoint and proof are verified with it
  std::string payload;
  bool json = false;
};
int run_log_append(const LogAppendOptions& options);

struct LogProofOptions {
  std::string url;
  std::string vkey;
  uint64_t index = 0;
  std::optional<uint64_t> tree_size;
  bool json = false;
};
int run_log_proof(const LogProofOptions& options);

struct LogShowOptions {
  std::string data_dir;
  std::string url;  // when set, read over HTTP instead of the data directory
  uint64_t index = 0;
  bool json = false;
};
int run_log_show(const LogShowOptions& options);
// Prints one encoded entry, decoded (shared by log show's local and remote paths).
int print_entry(std::span<const uint8_t> bytes, bool json);

struct VerifyOptions {
  std::string data_dir;
  bool json = false;
  bool quiet = false;
};
int run_verify(const VerifyOptions& options);

struct AuditOptions {
  std::string url;
  std::string state_path;
  std::string vkey;  // verifier key; required on the first run, then kept in the state file
  bool json = false;
};
int run_audit(const AuditOptions& options);

struct BenchAppendOptions {
  std::string data_dir;  // empty: a fresh temporary directory, removed afterwards
  uint64_t entries = 1'000'000;
  uint32_t size = 256;
  uint32_t producers = 4;
  uint32_t in_flight = 65536;
  bool json = false;
};
int run_bench_append(const BenchAppendOptions& options);

}  // namespace custos::cli
