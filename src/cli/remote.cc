#include "remote.h"

#include <iostream>

#include "cli.h"
#include "custos/crypto/signed_note.h"
#include "custos/sdk/signer.h"
#include "data_dir.h"

namespace custos::cli {

int fail(std::string_view verb, const Status& status, int code) {
  std::cerr << "custos " << verb << ": " << status.message() << "\n";
  return code;
}

int exit_code_for(const Status& status) {
  switch (status.code()) {
    case StatusCode::kDataLoss: return kExitVerifyFailed;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied:
    case StatusCode::kAlreadyExists: return kExitUsage;
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
    case StatusCode::kFailedPrecondition: return kExitNetwork;
    default: return kExitStorage;
  }
}

Result<sdk::Client> make_remote_client(const RemoteOptions& options) {
  sdk::ClientOptions client;
  client.base_url = options.url;
  if (!options.token_file.empty() && !options.key_file.empty()) {
    return invalid_argument("give one credential: --token-file or --key-file, not both");
  }
  if (!options.token_file.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(std::string token, read_secret_file(options.token_file));
    client.bearer_token = std::move(token);
  }
  if (!options.key_file.empty()) {
    CUSTOS_ASSIGN_OR_RETURN(sdk::DeviceKey key, sdk::load_device_key(options.key_file));
    CUSTOS_ASSIGN_OR_RETURN(sdk::RequestSigner signer, sdk::RequestSigner::create(std::move(key)));
    client.signer = std::move(signer);
    if (!options.posture.empty()) {
      client.signed_headers.emplace_back("Custos-Device-Posture", options.posture);
    }
    if (!options.geo.empty()) client.signed_headers.emplace_back("Custos-Geo", options.geo);
  } else if (!options.posture.empty() || !options.geo.empty()) {
    return invalid_argument("--posture and --geo are signed: they need --key-file");
  }
  if (!options.ca_file.empty() || !options.client_cert.empty() || !options.client_key.empty()) {
    if (options.client_cert.empty() != options.client_key.empty()) {
      return invalid_argument("--client-cert and --client-key go together");
    }
    HttpClientTlsOptions tls;
    tls.ca_file = options.ca_file;
    tls.cert_file = options.client_cert;
    tls.key_file = options.client_key;
    client.tls = std::move(tls);
  }
  if (!options.vkey.empty()) {
    auto log_key = NoteVerifier::parse(options.vkey);
    if (!log_key.is_ok()) return log_key.status().with_context("--vkey");
    client.log_key = std::move(log_key).value();
  }
  return sdk::Client::create(std::move(client));
}

Result<std::string> call_json(sdk::Client& client, std::string_view method, std::string_view path,
                              std::string_view body,
                              const std::vector<std::pair<std::string, std::string>>& headers) {
  auto response = client.request_with(method, path, body,
                                      body.empty() ? "" : "application/json", headers);
  std::string description = std::string(method) + " " + std::string(path);
  if (!response.is_ok()) return response.status().with_context(description);
  if (response->status >= 200 && response->status < 300) return std::move(response->body);
  return sdk::status_from_response(*response, description);
}

}  // namespace custos::cli
