#include "remote.h"

#include <simdjson.h>

namespace custos::cli {

Result<ServerUrl> parse_server_url(std::string_view url) {
  constexpr std::string_view kHttp = "http://";
  if (url.starts_with("https://")) {
    return invalid_argument("https URLs are not supported yet; use http:// on a trusted network");
  }
  if (!url.starts_with(kHttp)) return invalid_argument("URL must start with http://: " + std::string(url));
  std::string_view rest = url.substr(kHttp.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ServerUrl parsed;
  if (slash != std::string_view::npos) {
    parsed.prefix = std::string(rest.substr(slash));
    while (!parsed.prefix.empty() && parsed.prefix.back() == '/') parsed.prefix.pop_back();
  }
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    auto port = parse_decimal_u64(authority.substr(colon + 1));
    if (!port.is_ok() || *port == 0 || *port > 65535) {
      return invalid_argument("bad port in URL " + std::string(url));
    }
    parsed.port = static_cast<uint16_t>(*port);
    authority = authority.substr(0, colon);
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) return invalid_argument("URL has no host: " + std::string(url));
  parsed.host = std::string(authority);
  return parsed;
}

std::unique_ptr<HttpClient> connect_client(const ServerUrl& url) {
  return std::make_unique<HttpClient>(url.host, url.port);
}

std::string describe_error_response(const HttpResponse& response) {
  std::string text = "HTTP " + std::to_string(response.status);
  simdjson::dom::parser parser;
  simdjson::dom::element problem;
  if (!parser.parse(response.body).get(problem)) {
    std::string_view detail;
    if (!problem["detail"].get(detail)) {
      text += ": ";
      text += detail;
    }
  }
  return text;
}

Result<std::string> fetch(HttpClient& client, const ServerUrl& url, const std::string& path) {
  auto response = client.get(url.prefix + path);
  if (!response.is_ok()) return response.status().with_context("GET " + path);
  if (response->status != 200) {
    StatusCode code = response->status == 404 ? StatusCode::kNotFound : StatusCode::kUnavailable;
    return Status(code, "GET " + path + ": " + describe_error_response(*response));
  }
  return std::move(response->body);
}

Result<ledger::Checkpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key) {
  const NoteVerifier* known[] = {&log_key};
  auto opened = open_note(note, known);
  if (!opened.is_ok()) return opened.status().with_context("checkpoint signature");
  auto checkpoint = ledger::parse_checkpoint_body(opened->text);
  if (!checkpoint.is_ok()) return checkpoint.status().with_context("checkpoint body");
  if (checkpoint->origin != log_key.name()) {
    return invalid_argument("checkpoint origin '" + checkpoint->origin +
                            "' does not match the key name '" + log_key.name() + "'");
  }
  return checkpoint;
}

Result<std::vector<Hash256>> decode_hash_list(const std::vector<std::string>& base64_hashes) {
  std::vector<Hash256> hashes;
  for (const auto& text : base64_hashes) {
    CUSTOS_ASSIGN_OR_RETURN(Hash256 hash, Hash256::from_base64(text));
    hashes.push_back(hash);
  }
  return hashes;
}

}  // namespace custos::cli
