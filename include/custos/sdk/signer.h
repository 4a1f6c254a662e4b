// custos sdk: device keys and signed requests.
//
// A device or service proves who it is by signing every request with its
// Ed25519 key, as RFC 9421 HTTP Message Signatures. The custos profile, which
// the server enforces and RequestSigner produces:
//
//   label       "custos"
//   alg         ed25519 (the parameter alg="ed25519" is always sent)
//   components  "@method" "@target-uri", plus "content-digest" when the body
//               is not empty; the request then carries
//               Content-Digest: sha-256=:<base64 SHA-256 of the body>: (RFC 9530)
//   parameters  created  the signing time, UNIX seconds
//               nonce    16 random bytes, base64url without padding, fresh
//                        for every request (the server refuses a replay)
//               alg      "ed25519"
//               keyid    the key id the device was enrolled under
//
// @target-uri is "<scheme>://<authority><path and query>"; the server
// rebuilds it as "http://" + the Host header + the request target (https
// once TLS terminates in custos), so the client must send Host equal to the
// authority it signed (Client does). A request may instead carry
// "Authorization: Bearer <token>" (users and services with API tokens).
//
// A device key file holds the key id and the 32-byte Ed25519 seed:
//
//   custos-device-key v1
//   keyid <key id>
//   seed <base64 of the seed, standard alphabet with padding>
//
// save_device_key writes it atomically with mode 0600; load_device_key refuses
// a file that is not a regular file, grants any permission to group or others,
// or deviates from the format by a byte.
//
// Thread-safety: RequestSigner is immutable after creation, so sign() may be
// called from several threads; the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"

namespace custos::sdk {

inline constexpr std::string_view kSignatureLabel = "custos";
inline constexpr size_t kNonceBytes = 16;

// Key ids (like every custos identifier): 1..128 bytes of [A-Za-z0-9._:@/-].
bool is_valid_key_id(std::string_view key_id);

// The key id enrollment assigns to a public key: the first 16 bytes of
// SHA-256(public key) in lowercase hex (identity's key_id_for).
std::string enrollment_key_id(const Ed25519PublicKey& public_key);

struct DeviceKey {
  std::string key_id;
  Ed25519KeyPair key_pair;
};

// A fresh key pair from the OS random source, with its enrollment key id.
DeviceKey generate_device_key();

// Writes `key` to `path` (through a temporary file in the same directory,
// synced, then renamed over `path`), with mode 0600. InvalidArgument for an
// invalid key id; IoError when the file system refuses.
Status save_device_key(const std::string& path, const DeviceKey& key);

// Reads a key file. PermissionDenied when the file is readable, writable or
// executable by group or others (chmod 600 fixes it); InvalidArgument when
// its content is not the format above; NotFound / IoError from the file system.
Result<DeviceKey> load_device_key(const std::string& path);

// The header values of one signed request.
struct SignedHeaders {
  std::optional<std::string> content_digest;  // set when the body is not empty
  std::string signature_input;                // custos=("@method" ...);created=...
  std::string signature;                      // custos=:base64:
  Ed25519Signature signature_bytes;           // the raw signature inside `signature`
  std::string nonce;
  std::string signature_base;  // what was signed, for logs and tests
};

class RequestSigner {
 public:
  // InvalidArgument when `key_id` is not a valid key id.
  static Result<RequestSigner> create(std::string key_id, Ed25519KeyPair key_pair);
  static Result<RequestSigner> create(DeviceKey key) {
    return create(std::move(key.key_id), std::move(key.key_pair));
  }

  const std::string& key_id() const { return key_id_; }
  const Ed25519PublicKey& public_key() const { return key_pair_.public_key(); }

  // Signs one request under the profile above. `authority` is host[:port] as
  // sent in Host; `path_and_query` is the request target in origin form
  // ("/custos/v1/log/entries", "/x?a=1"), percent-encoded as sent;
  // `now_unix_seconds` becomes `created`. InvalidArgument for a malformed
  // method, scheme, authority or target.
  // `covered` are further header fields the request sends (name, value) that
  // the signature must also cover, e.g. Custos-Device-Posture and Custos-Geo:
  // the server believes those only when signed. InvalidArgument for a name
  // that is not a token or repeats a covered one, or a value with control characters.
  Result<SignedHeaders> sign(std::string_view method, std::string_view scheme,
                             std::string_view authority, std::string_view path_and_query,
                             std::string_view body, int64_t now_unix_seconds,
                             const std::vector<std::pair<std::string, std::string>>& covered = {})
      const;

 private:
  RequestSigner(std::string key_id, Ed25519KeyPair key_pair)
      : key_id_(std::move(key_id)), key_pair_(std::move(key_pair)) {}

  std::string key_id_;
  Ed25519KeyPair key_pair_;
};

}  // namespace custos::sdk
