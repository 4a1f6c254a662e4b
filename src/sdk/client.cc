// The custos client: signed requests and verified log answers.
#include "custos/sdk/client.h"

#include <simdjson.h>

#include <utility>

#include "custos/server/http_client.h"

namespace custos::sdk {
namespace {

bool has_control_or_space(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7F) return true;
  }
  return false;
}

StatusCode code_for_http_status(int status) {
  switch (status) {
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kAlreadyExists;
    case 413:
    case 429:
    case 431:
      return StatusCode::kResourceExhausted;
    case 502:
    case 503:
    case 504:
      return StatusCode::kUnavailable;
    default:
      return status >= 500 ? StatusCode::kInternal : StatusCode::kInvalidArgument;
  }
}

}  // namespace

Status status_from_response(const HttpResponse& response, std::string_view request_description) {
  if (response.status >= 100 && response.status < 400) return Status::ok();
  std::string message =
      std::string(request_description) + ": HTTP " + std::to_string(response.status);
  simdjson::dom::parser parser;
  simdjson::dom::element problem;
  if (parser.parse(response.body).get(problem) == simdjson::SUCCESS && problem.is_object()) {
    std::string_view text;
    if (problem["detail"].get(text) == simdjson::SUCCESS ||
        problem["title"].get(text) == simdjson::SUCCESS) {
      message += ": ";
      message += text;
    }
    // The machine-readable refusal reason and the policy decision, when given.
    if (problem["reason"].get(text) == simdjson::SUCCESS) {
      message += " [reason ";
      message += text;
      message += "]";
    }
    if (problem["decision_id"].get(text) == simdjson::SUCCESS) {
      message += " [decision ";
      message += text;
      message += "]";
    }
  } else {
    message += " ";
    message += reason_phrase(response.status);
  }
  return Status(code_for_http_status(response.status), std::move(message));
}

Result<Client> Client::create(ClientOptions options) {
  CUSTOS_ASSIGN_OR_RETURN(BaseUrl url, parse_base_url(options.base_url));
  if (options.bearer_token &&
      (options.bearer_token->empty() || has_control_or_space(*options.bearer_token))) {
    return invalid_argument("the bearer token must be non-empty visible ASCII");
  }
  return Client(std::move(options), std::move(url));
}

Client::Client(ClientOptions options, BaseUrl url)
    : options_(std::move(options)), url_(std::move(url)) {
  HttpClientOptions http_options;
  http_options.timeout = options_.timeout;
  std::optional<HttpClientTlsOptions> tls;
  if (url_.scheme == "https") tls = options_.tls.value_or(HttpClientTlsOptions{});
  http_ = std::make_unique<HttpClient>(url_.host, url_.port, http_options, std::move(tls));
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;

Result<HttpResponse> Client::request(std::string_view method, std::string_view path_and_query,
                                     std::string_view body, std::string_view content_type) {
  return send(method, path_and_query, body, content_type, nullptr);
}

Result<HttpResponse> Client::request_with(
    std::string_view method, std::string_view path_and_query, std::string_view body,
    std::string_view content_type,
    const std::vector<std::pair<std::string, std::string>>& extra_headers) {
  return send(method, path_and_query, body, content_type, nullptr, extra_headers);
}

Result<HttpResponse> Client::send(std::string_view method, std::string_view path_and_query,
                                  std::string_view body, std::string_view content_type,
                                  std::optional<Ed25519Signature>* signature_sent,
                                  const std::vector<std::pair<std::string, std::string>>& extra) {
  if (!path_and_query.starts_with('/')) {
    return invalid_argument("request path must start with '/': " + std::string(path_and_query));
  }
  std::string target = url_.prefix + std::string(path_and_query);
  HttpHeaders headers;
  headers.set("Host", url_.authority);
  if (!content_type.empty()) headers.set("Content-Type", content_type);
  if (options_.bearer_token) headers.set("Authorization", "Bearer " + *options_.bearer_token);
  std::vector<std::pair<std::string, std::string>> covered = options_.signed_headers;
  covered.insert(covered.end(), extra.begin(), extra.end());
  for (const auto& [name, value] : covered) headers.set(name, value);
  if (options_.signer) {
    UnixMicros now = options_.clock ? options_.clock->now_micros() : SystemClock().now_micros();
    auto signed_headers = options_.signer->sign(method, url_.scheme, url_.authority, target, body,
                                                now / 1000000, covered);
    if (!signed_headers.is_ok()) return signed_headers.status().with_context("signing the request");
    if (signed_headers->content_digest)
      headers.set("Content-Digest", *signed_headers->content_digest);
    headers.set("Signature-Input", signed_headers->signature_input);
    headers.set("Signature", signed_headers->signature);
    if (signature_sent) *signature_sent = signed_headers->signature_bytes;
  }
  return http_->request(method, target, body, headers);
}

Result<const NoteVerifier*> Client::require_log_key() const {
  if (!options_.log_key) {
    return failed_precondition(
        "the client has no log verifier key to check the log's answers with");
  }
  return &*options_.log_key;
}

Result<std::string> Client::get_ok(const std::string& path_and_query) {
  auto response = send("GET", path_and_query, "", "", nullptr);
  std::string description = "GET " + path_and_query;
  if (!response.is_ok()) return response.status().with_context(description);
  if (response->status != 200) {
    Status status = status_from_response(*response, description);
    if (status.is_ok())
      status = Status(StatusCode::kInvalidArgument,
                      description + ": unexpected HTTP " + std::to_string(response->status));
    return status;
  }
  return std::move(response->body);
}

Result<Receipt> Client::append(std::string_view payload) {
  CUSTOS_ASSIGN_OR_RETURN(const NoteVerifier* log_key, require_log_key());
  if (payload.empty()) return invalid_argument("the payload is empty");
  std::optional<Ed25519Signature> signature_sent;
  auto response = send("POST", kAppendPath, payload, "application/octet-stream", &signature_sent);
  std::string description = "POST " + std::string(kAppendPath);
  if (!response.is_ok()) return response.status().with_context(description);
  if (response->status != 201 && response->status != 200) {
    Status status = status_from_response(*response, description);
    if (status.is_ok())
      status = data_loss(description + ": unexpected HTTP " + std::to_string(response->status));
    return status;
  }
  return verify_append_receipt(response->body, as_bytes(payload), *log_key, signature_sent);
}

Result<VerifiedInclusion> Client::prove_inclusion(uint64_t index,
                                                  std::optional<uint64_t> tree_size) {
  CUSTOS_ASSIGN_OR_RETURN(const NoteVerifier* log_key, require_log_key());
  std::string path = "/custos/v1/log/proof/inclusion?index=" + std::to_string(index);
  if (tree_size) path += "&tree_size=" + std::to_string(*tree_size);
  CUSTOS_ASSIGN_OR_RETURN(std::string proof_json, get_ok(path));
  CUSTOS_ASSIGN_OR_RETURN(VerifiedInclusion verified,
                          verify_inclusion_response(proof_json, *log_key, index, tree_size));
  CUSTOS_ASSIGN_OR_RETURN(std::string entry_json,
                          get_ok("/custos/v1/log/entries/" + std::to_string(index)));
  CUSTOS_ASSIGN_OR_RETURN(verified.entry,
                          verify_entry_response(entry_json, index, verified.leaf_hash));
  return verified;
}

Result<SignedCheckpoint> Client::checkpoint() {
  CUSTOS_ASSIGN_OR_RETURN(const NoteVerifier* log_key, require_log_key());
  CUSTOS_ASSIGN_OR_RETURN(std::string note, get_ok("/checkpoint"));
  return open_checkpoint(note, *log_key);
}

}  // namespace custos::sdk
