// custos core: configuration.
//
// One TOML file configures a custos process; every key is documented in
// docs/configuration.md and has a default, so an absent file is a valid
// configuration. Unknown keys and wrongly typed values are refused with the
// key's dotted name, so typos do not silently fall back to defaults.
// Command-line flags override the file (the CLI applies them after load).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos {

struct StorageConfig {
  std::string data_dir = "./custos-data";  // storage.data_dir
  uint64_t block_cache_mb = 64;            // storage.block_cache_mb
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // server.listen (host:port)
  uint32_t threads = 2;                   // server.threads (I/O threads)
  uint64_t max_body_bytes = 61440;        // server.max_body_bytes (<= 61440 for log entries)
  uint32_t idle_timeout_s = 60;           // server.idle_timeout_s (keep-alive idle limit)
  uint32_t max_connections = 4096;        // server.max_connections
};

struct SequencerConfig {
  uint64_t max_batch_entries = 65536;  // sequencer.max_batch_entries
  uint64_t max_pending_entries = 1 << 20;  // sequencer.max_pending_entries (back-pressure)
};

struct LoggingConfig {
  std::string level = "info";   // logging.level: trace, debug, info, warn, error, off
  std::string format = "text";  // logging.format: text or json
};

struct Config {
  StorageConfig storage;
  ServerConfig server;
  SequencerConfig sequencer;
  LoggingConfig logging;
};

// Parses TOML text. `source` names the text in error messages.
Result<Config> parse_config(std::string_view toml_text, std::string_view source = "config");

// Reads and parses a TOML file.
Result<Config> load_config_file(const std::string& path);

}  // namespace custos
