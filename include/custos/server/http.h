// custos server: HTTP request and response values.
//
// HttpRequest and HttpResponse are plain values with no network state: the
// server fills a request from the wire and writes a response back, handlers
// read one and build the other, and HttpClient returns responses in the same
// form. Header names compare case-insensitively (RFC 9110 section 5.1); the
// order of fields is kept. Query parameters are percent-decoded with '+' read
// as a space (the form encoding browsers and curl use); a malformed escape
// makes the whole query invalid, so a request never reaches a handler with a
// half-decoded parameter. Errors seen by users are RFC 9457 problem documents
// built by problem_response(). Values are not thread-safe to mutate
// concurrently; the free functions are thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/status.h"

namespace custos {

// An ordered list of header fields with case-insensitive name lookup.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  // The value of the first field called `name`, if any.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }
  // Replaces every field called `name` with one field.
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping any existing ones with the same name.
  void add(std::string_view name, std::string_view value);
  // Removes every field called `name`.
  void remove(std::string_view name);

  const std::vector<Field>& fields() const { return fields_; }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

struct WebSocketHandlers;

using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string target;  // request-target as sent, e.g. "/tile/0/001?x=1"
  std::string path;    // target before '?', still percent-encoded
  QueryParams query;   // decoded parameters in order; repeated names kept
  HttpHeaders headers;
  std::string body;
  std::string remote_address;  // "ip:port" of the peer ("[ip]:port" for IPv6)
  // Transport security, filled by HttpServer. tls is true when the request
  // arrived over TLS. The client_cert_* fields are set only when the peer
  // presented a client certificate that verified against the server's client
  // CA (HttpServer's ServerTlsOptions); otherwise both are empty.
  bool tls = false;
  std::string client_cert_sha256;   // lower-case hex SHA-256 of the leaf certificate's DER
  std::string client_cert_subject;  // the leaf's subject commonName (UTF-8); may be empty

  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
  // The first query parameter called `name` (exact, case-sensitive), if any.
  std::optional<std::string_view> query_param(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  HttpHeaders headers;  // Content-Length, Transfer-Encoding, Connection are set by the server
  std::string body;
  std::string content_type;  // sent as Content-Type when not empty
  // Set only by websocket_accept() (websocket.h): the route takes the
  // connection over as a WebSocket; status and the rest are then unused.
  std::shared_ptr<const WebSocketHandlers> websocket;
};

// A response with body `body` and Content-Type application/json.
HttpResponse json_response(int status, std::string body);

// A response with a text body (Content-Type text/plain; charset=utf-8 unless given).
HttpResponse text_response(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");

// An RFC 9457 application/problem+json response with members type, title,
// status and detail. type is "https://custos.dev/problems/<type_suffix>", or
// "about:blank" when type_suffix is empty.
HttpResponse problem_response(int status, std::string_view title, std::string_view detail,
                              std::string_view type_suffix = "");

// The standard reason phrase for a status code ("Not Found"), or "Unknown".
std::string_view reason_phrase(int status);

// Decodes %XX escapes; with plus_as_space, '+' becomes ' '. Refuses a '%' not
// followed by two hex digits.
Result<std::string> percent_decode(std::string_view text, bool plus_as_space = false);

// Encoding is custos::percent_encode (core/bytes.h).

// Parses "a=1&b=x%20y&flag" into decoded pairs; a name without '=' has an
// empty value and empty items ("a=1&&b=2") are skipped.
Result<QueryParams> parse_query(std::string_view query);

// ASCII case-insensitive equality, for header names and tokens.
bool equals_ignore_case(std::string_view a, std::string_view b);

// `text` without leading and trailing spaces and tabs (RFC 9110 OWS).
std::string_view trim_ows(std::string_view text);

}  // namespace custos
