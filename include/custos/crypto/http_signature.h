// custos crypto: HTTP Message Signatures (RFC 9421) for requests, Ed25519.
//
// A signer lists the request components it covers (derived components such
// as "@method" and "@path", and header fields by lower-case name), builds the
// signature base of RFC 9421 section 2.5 from them and the signature
// parameters (created, expires, nonce, alg, keyid, tag), signs the base with
// Ed25519 (alg "ed25519", section 3.3.6) and sends the result in the
// Signature-Input and Signature fields under a label. sign_request produces
// both field values; verify_request checks them.
//
// Supported components (section 2.1 and 2.2): @method, @target-uri,
// @authority (host lower-cased, default port dropped), @scheme,
// @request-target (origin form), @path, @query, @query-param;name="..."
// (re-encoded as the RFC asks; a name that occurs more than once cannot be
// covered), and header fields with the parameters sf (strict re-serialisation,
// for the Dictionary fields custos knows), key (one Dictionary member) and bs
// (each line as a Byte Sequence). Field lines are trimmed, obsolete line
// folding becomes one space, and lines are joined with ", ". A component
// value with a control character is refused, so a value can never add a line
// to the base. Responses (@status, req) and trailers (tr) are not supported
// and are refused, as is any parameter this code does not understand.
//
// Verification returns either the verified signature (label, every
// parameter and the covered components, so the server can enforce its own
// policy: nonce replay, tags, key rights) or a SignatureFailure with a
// reason code. It enforces a VerifyPolicy: required components, a covered
// and matching Content-Digest (RFC 9530) when the body is not empty, and a
// window of max_skew_seconds around `now` for created and expires. The
// request is read through SignedRequestView, a borrowed view the server and
// the SDK fill from their own request types; nothing here depends on them.
//
// All functions are thread-safe provided the callbacks they are given are.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/ed25519_prepared.h"
#include "custos/crypto/structured_fields.h"

namespace custos {

// All values of the header field called `lowercase_name`, one per field line
// in message order; empty when the field is absent.
using HeaderValuesFn =
    std::function<std::vector<std::string_view>(std::string_view lowercase_name)>;

// A request as the signature code sees it. Every view is borrowed and must
// outlive the call it is passed to.
struct SignedRequestView {
  std::string_view method;     // as sent, e.g. "POST"
  std::string_view scheme;     // "https" or "http"
  std::string_view authority;  // host[:port] of the target URI, e.g. "example.com"
  std::string_view path;       // still percent-encoded, without the query
  std::string_view query;      // after '?', still percent-encoded; empty when absent
  HeaderValuesFn header_values;
  std::string_view body;
};

// A HeaderValuesFn over (name, value) pairs compared case-insensitively. It
// borrows `fields`, which must outlive it.
HeaderValuesFn header_values_from(const std::vector<std::pair<std::string, std::string>>& fields);

// A covered component: a name ("@method", or a lower-case field name) and
// its parameters (name="..." for @query-param; sf, key="..." or bs for fields).
struct ComponentId {
  std::string name;
  sf::Parameters parameters;

  static ComponentId query_param(std::string parameter_name);
  // The identifier as it appears in the signature base: "\"@query-param\";name=\"id\"".
  Result<std::string> serialize() const;
  friend bool operator==(const ComponentId&, const ComponentId&) = default;
};

// The signature parameters of RFC 9421 section 2.3.
struct SignatureParams {
  std::vector<ComponentId> components;
  std::optional<int64_t> created;  // UNIX seconds
  std::optional<int64_t> expires;  // UNIX seconds
  std::optional<std::string> nonce;
  std::optional<std::string> alg;
  std::optional<std::string> keyid;
  std::optional<std::string> tag;
};

inline constexpr std::string_view kAlgEd25519 = "ed25519";

// The @signature-params value for params made here: the components, then
// created, expires, nonce, alg, keyid and tag, those that are set.
Result<std::string> signature_params_value(const SignatureParams& params);

// The signature base for `params` (section 2.5), without a trailing newline.
// NotFound when a covered component is absent from the request;
// InvalidArgument for an unsupported or repeated component identifier.
Result<std::string> signature_base(const SignedRequestView& request, const SignatureParams& params);

// One signature read from Signature-Input and Signature, not yet verified.
struct ParsedSignature {
  std::string label;
  SignatureParams params;
  // The Signature-Input member as received; its serialisation is the
  // @signature-params value, so parameters unknown to custos and their order
  // are kept.
  sf::InnerList signature_input;
  Bytes signature;
};

// The labels of a Signature-Input field value, in order.
Result<std::vector<std::string>> signature_labels(std::string_view signature_input);

// Reads the signature called `label`. NotFound when either field lacks the
// label; InvalidArgument when the fields or the member are malformed
// (components that are not Strings, parameters of the wrong type, a
// Signature member that is not a Byte Sequence).
Result<ParsedSignature> parse_signature(std::string_view signature_input,
                                        std::string_view signature, std::string_view label);

// The two field values to add to a signed request.
struct SignedHeaders {
  std::string signature_input;  // e.g. sig1=("@method" "@path");created=1618884473;keyid="k"
  std::string signature;        // e.g. sig1=:base64:
  std::string signature_base;   // what was signed, for logs and tests
};

// Signs `request` with `key`. params.alg, when set, must be "ed25519".
// To cover the body, set a Content-Digest header (content_digest_value) on
// the request first and list "content-digest" among the components.
Result<SignedHeaders> sign_request(const SignedRequestView& request, const SignatureParams& params,
                                   const Ed25519KeyPair& key, std::string_view label = "sig1");

enum class SignatureError {
  kMissingSignature,      // no Signature-Input or Signature field, or not the label asked for
  kMalformedSignature,    // the fields, the member or a component identifier are malformed
  kUnsupportedAlgorithm,  // alg is present and is not "ed25519"
  kUnknownKey,            // no keyid, or the key lookup does not know it
  kMissingParameter,      // a parameter the policy requires (created, nonce) is absent
  kMissingComponent,      // a required component is not covered, or a covered one is absent
  kExpired,               // expires is before now - max_skew_seconds
  kCreatedOutOfWindow,    // created is more than max_skew_seconds from now
  kBadSignature,          // the signature does not verify over the signature base
  kDigestMismatch,        // Content-Digest is covered but does not match the body
};

std::string_view signature_error_name(SignatureError error);

struct SignatureFailure {
  SignatureError reason = SignatureError::kMissingSignature;
  std::string label;   // the label that failed, when known
  std::string detail;  // for logs and problem details; never contains key material
};

struct VerifiedSignature {
  std::string label;
  SignatureParams params;
  std::string signature_base;
  Bytes signature;  // the raw signature that verified
};

// A verified signature, or why none verified.
class [[nodiscard]] VerifyResult {
 public:
  VerifyResult(VerifiedSignature verified) : state_(std::move(verified)) {}  // NOLINT
  VerifyResult(SignatureFailure failure) : state_(std::move(failure)) {}     // NOLINT

  bool is_ok() const { return state_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  // Precondition: is_ok().
  const VerifiedSignature& value() const& { return std::get<0>(state_); }
  VerifiedSignature&& value() && { return std::get<0>(std::move(state_)); }
  const VerifiedSignature* operator->() const { return &value(); }
  // Precondition: !is_ok().
  const SignatureFailure& failure() const { return std::get<1>(state_); }
  // OK, or Unauthenticated with "<Reason>: <detail>".
  Status status() const;

 private:
  std::variant<VerifiedSignature, SignatureFailure> state_;
};

struct VerifyPolicy {
  // Components every accepted signature covers: a bare name ("@method",
  // "content-type") matches a covered component of that name without
  // parameters; a serialised identifier ("\"@query-param\";name=\"id\"")
  // matches exactly.
  std::vector<std::string> required_components;
  // A non-empty body needs "content-digest" covered (and it must match).
  bool require_content_digest = true;
  bool require_created = true;
  bool require_nonce = false;
  // created must lie within [now - max_skew_seconds, now + max_skew_seconds];
  // expires must not be before now - max_skew_seconds.
  int64_t max_skew_seconds = 300;
  int64_t now = 0;  // UNIX seconds
  // When set, signatures are checked through this cache of prepared keys
  // (same answers as ed25519_verify, about 2.5x faster for a key seen before).
  Ed25519KeyCache* key_cache = nullptr;
};

// The public key for a keyid, or nullopt when it is unknown (or revoked).
using KeyLookupFn = std::function<std::optional<Ed25519PublicKey>(std::string_view keyid)>;

// Verifies the signature called `label`, or with nullopt the first label in
// Signature-Input that verifies (the failure reported is then the first
// label's). Multiple field lines of Signature-Input and Signature are joined
// as RFC 8941 asks.
VerifyResult verify_request(const SignedRequestView& request, std::optional<std::string_view> label,
                            const KeyLookupFn& key_lookup, const VerifyPolicy& policy);

}  // namespace custos
