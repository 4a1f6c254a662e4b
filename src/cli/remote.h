// custos CLI: talking to a running server through the SDK, as some principal.
//
// A verb that acts on a server takes --url and one credential: --token-file
// (a session from `custos login` or an API token: Authorization: Bearer) or
// --key-file (a device or service key: every request signed, RFC 9421).
// With a key, --posture and --geo add the signed Custos-Device-Posture and
// Custos-Geo headers the device policies look at.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "custos/core/status.h"
#include "custos/sdk/client.h"

namespace custos::cli {

struct RemoteOptions {
  std::string url = "http://127.0.0.1:8080";
  std::string token_file;  // bearer token file (mode 0600)
  std::string key_file;    // device key file (mode 0600)
  std::string posture;     // "healthy" | "unknown" | "compromised"; sent signed with --key-file
  std::string geo;         // "LAT,LON"; sent signed with --key-file
  std::string vkey;        // the log's verifier key (log verbs)
  std::string ca_file;     // https: PEM CAs to trust (default: the system store)
  std::string client_cert; // https: PEM client certificate (mutual TLS)
  std::string client_key;  // https: its PEM private key
};

// A client for `options`; InvalidArgument/NotFound for unusable files.
Result<sdk::Client> make_remote_client(const RemoteOptions& options);

// Prints "custos <verb>: <message>" to stderr and returns `code`.
int fail(std::string_view verb, const Status& status, int code);

// The exit code (cli.h) for an error from the SDK, a server answer or the store.
int exit_code_for(const Status& status);

// Sends a request and returns the body of a 2xx answer as JSON text; any other
// answer becomes its Status (the problem's detail, reason and decision id in
// the message).
Result<std::string> call_json(sdk::Client& client, std::string_view method, std::string_view path,
                              std::string_view body = "",
                              const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace custos::cli
