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
#include <vector>

#include "custos/core/status.h"

namespace custos {

struct StorageConfig {
  std::string data_dir = "./custos-data";  // storage.data_dir
  uint64_t block_cache_mb = 64;            // storage.block_cache_mb
};

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";  // server.listen (host:port)
  uint32_t threads = 2;                   // server.threads (I/O threads)
  uint64_t max_body_bytes = 4259840;      // server.max_body_bytes: 4 MiB + 64 KiB (capture documents)
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

// TLS on the listener (OpenSSL). Off unless cert_file is set.
struct TlsConfig {
  std::string cert_file;       // tls.cert_file: PEM certificate chain; empty = plain HTTP
  std::string key_file;        // tls.key_file: PEM private key (mode 0600)
  std::string client_ca_file;  // tls.client_ca_file: PEM CAs that issue client certificates
  std::string client_auth = "none";  // tls.client_auth: none, optional or required
};

// Request authentication.
struct AuthConfig {
  uint32_t max_skew_s = 300;                // auth.max_skew_s: allowed |created - now|
  uint64_t nonce_cache_entries = 1000000;   // auth.nonce_cache_entries: replay cache bound
  uint64_t key_cache_entries = 16384;       // auth.key_cache_entries: prepared verify keys
  std::string policy_dir;                   // auth.policy_dir: bootstrap policies (default: built in)
};

// One site's working hours, clock and geofence ([sites.<id>] tables). Devices
// are authorised against their own site's profile (docs/security.md).
struct SiteConfig {
  std::string id;
  int32_t utc_offset_minutes = 0;  // sites.<id>.utc_offset: "+01:00", "-05:30", "Z"
  int32_t hours_start = 0;         // sites.<id>.hours: "06-22" (start hour inclusive,
  int32_t hours_end = 24;          //   end exclusive; "22-06" wraps midnight)
  bool has_geofence = false;       // sites.<id>.geofence: "lat,lon,radius_m"
  double latitude = 0;
  double longitude = 0;
  double radius_m = 0;
  // sites.<id>.locations: EPCIS location id (SGLN URN or GS1 Digital Link) ->
  // zone, the places whose events the site's devices may capture.
  std::vector<std::pair<std::string, std::string>> locations;
};

struct EpcisConfig {
  uint64_t max_document_bytes = 4194304;  // epcis.max_document_bytes
  uint64_t max_events = 10000;            // epcis.max_events
  std::string webhook_ca_file;            // epcis.webhook_ca_file (empty: system CAs)
};

struct Config {
  StorageConfig storage;
  ServerConfig server;
  TlsConfig tls;
  AuthConfig auth;
  std::vector<SiteConfig> sites;  // in id order
  SequencerConfig sequencer;
  EpcisConfig epcis;
  LoggingConfig logging;
};

// Parses TOML text. `source` names the text in error messages.
Result<Config> parse_config(std::string_view toml_text, std::string_view source = "config");

// Reads and parses a TOML file.
Result<Config> load_config_file(const std::string& path);

}  // namespace custos
