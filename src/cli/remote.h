// custos CLI: talking to a custos server (URL parsing, JSON, receipt checks).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "custos/core/status.h"
#include "custos/crypto/sha256.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "custos/server/http_client.h"

namespace custos::cli {

struct ServerUrl {
  std::string host;
  uint16_t port = 80;
  std::string prefix;  // path prefix without trailing slash, e.g. "" or "/custos"
};

// Accepts http://host[:port][/prefix]. https is refused until TLS lands.
Result<ServerUrl> parse_server_url(std::string_view url);

std::unique_ptr<HttpClient> connect_client(const ServerUrl& url);

// GET `path` expecting 200; a problem body becomes the Status message.
Result<std::string> fetch(HttpClient& client, const ServerUrl& url, const std::string& path);

// Opens a signed checkpoint with the log's key and parses its body.
Result<ledger::Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key);

// A short description of a non-2xx response (its problem detail when present).
std::string describe_error_response(const HttpResponse& response);

Result<std::vector<Hash256>> decode_hash_list(const std::vector<std::string>& base64_hashes);

}  // namespace custos::cli
