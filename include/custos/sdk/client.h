// custos sdk: a client for one custos server.
//
// Client sends requests to the server named by a base URL
// ("http[s]://host[:port][/prefix]"; https verifies the server's certificate
// against ClientOptions::tls or the system trust store), keeping
// one HTTP/1.1 connection alive (custos::HttpClient underneath). With a
// RequestSigner every request is signed under the custos profile
// (signer.h) and sent with Host equal to the URL's authority, the value the
// signature covers; with a bearer token, "Authorization: Bearer <token>" is
// added (both when both are set: the server decides which it honours).
//
// The log calls believe nothing the server says until it is verified with
// the log's verifier key (receipt.h): append() returns only a receipt whose
// checkpoint, leaf hash and inclusion proof all verify for the payload sent;
// prove_inclusion() returns only a proof that verifies, for the entry the
// server serves; checkpoint() only a checkpoint signed by the log key. These
// calls need ClientOptions::log_key (FailedPrecondition without it).
//
// Errors: transport failures as HttpClient reports them (Unavailable,
// IoError); an HTTP error answer becomes the Status of status_from_response
// (its problem+json "detail" in the message; 401 -> Unauthenticated, 403 ->
// PermissionDenied); any verification failure is DataLoss.
//
// HttpClient retries a GET once on a fresh connection when a reused one
// fails before any response byte; the retry carries the same signature and
// nonce, so a server that did see the first attempt refuses it as a replay
// (Unauthenticated), which is safe. POSTs are never retried.
//
// Not thread-safe: use one Client per thread. The RequestSigner and
// NoteVerifier are copied in.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/clock.h"
#include "custos/core/status.h"
#include "custos/crypto/signed_note.h"
#include "custos/sdk/receipt.h"
#include "custos/sdk/signer.h"
#include "custos/server/http.h"
#include "custos/server/http_client.h"

namespace custos::sdk {

inline constexpr std::string_view kAppendPath = "/custos/v1/log/entries";

// The URL parser is the server module's (http_client.h), shared with webhooks.
using custos::BaseUrl;
using custos::parse_base_url;

// The Status an HTTP error answer stands for: 400, 405 and other 4xx ->
// InvalidArgument, 401 -> Unauthenticated, 403 -> PermissionDenied, 404 ->
// NotFound, 409 -> AlreadyExists, 413/429/431 -> ResourceExhausted, 502/503/504 ->
// Unavailable, other 5xx -> Internal. The message is "<request>: HTTP <status>:
// <problem detail or title>", then " [reason <code>]" and " [decision <id>]"
// when the problem names them. OK for 1xx..3xx.
Status status_from_response(const HttpResponse& response, std::string_view request_description);

struct ClientOptions {
  std::string base_url;                     // "http://host:port"
  std::optional<RequestSigner> signer;      // signs every request when set
  std::optional<std::string> bearer_token;  // sent as Authorization: Bearer when set
  // Sent with every request and, with a signer, covered by the signature:
  // e.g. {"Custos-Device-Posture", "healthy"}, {"Custos-Geo", "52.37,4.89"}.
  std::vector<std::pair<std::string, std::string>> signed_headers;
  std::optional<NoteVerifier> log_key;      // needed by append, prove_inclusion, checkpoint
  const Clock* clock = nullptr;             // for `created`; the system clock when null; borrowed
  std::chrono::milliseconds timeout{10000};
  // https only: the CA to trust and an optional client certificate (mTLS).
  std::optional<HttpClientTlsOptions> tls;
};

class Client {
 public:
  // Checks the options (URL, token characters); does not connect yet.
  static Result<Client> create(ClientOptions options);
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const BaseUrl& base_url() const { return url_; }

  // Sends one request to prefix + `path_and_query` (origin form, starting
  // with '/'), signed and authorised as configured, Content-Type set when
  // `content_type` is not empty. Any HTTP status is returned as a response;
  // only transport and signing failures are errors.
  Result<HttpResponse> request(std::string_view method, std::string_view path_and_query,
                               std::string_view body = "", std::string_view content_type = "");
  // As request(), with further header fields for this request only (sent,
  // and signed when there is a signer), e.g. {"Custos-Approval", "apr-..."}.
  Result<HttpResponse> request_with(
      std::string_view method, std::string_view path_and_query, std::string_view body,
      std::string_view content_type,
      const std::vector<std::pair<std::string, std::string>>& extra_headers);

  // Appends `payload` as a raw entry and returns its verified receipt.
  // GETs `path_and_query` (signed when a signer is set) and returns the body
  // of a 200 response; any other status becomes the problem's Status.
  Result<std::string> get_ok(const std::string& path_and_query);

  Result<Receipt> append(std::string_view payload);

  // Fetches and verifies the inclusion proof of entry `index` (against the
  // latest checkpoint, or the one of `tree_size`), then fetches the entry and
  // checks it is the proven leaf.
  Result<VerifiedInclusion> prove_inclusion(uint64_t index,
                                            std::optional<uint64_t> tree_size = std::nullopt);

  // The latest checkpoint, opened with the log key.
  Result<SignedCheckpoint> checkpoint();

 private:
  Client(ClientOptions options, BaseUrl url);
  Result<HttpResponse> send(std::string_view method, std::string_view path_and_query,
                            std::string_view body, std::string_view content_type,
                            std::optional<Ed25519Signature>* signature_sent,
                            const std::vector<std::pair<std::string, std::string>>& extra = {});
  // GET expecting 200; the body, or the answer's Status.
  Result<const NoteVerifier*> require_log_key() const;

  ClientOptions options_;
  BaseUrl url_;
  std::unique_ptr<HttpClient> http_;
};

}  // namespace custos::sdk
