// custos crypto: the Content-Digest field (RFC 9530).
//
// Content-Digest is a Structured Field Dictionary from a hash algorithm
// name to a Byte Sequence holding that algorithm's digest of the message
// content (the body as sent, after any content coding). custos produces and
// checks the two algorithms RFC 9530 registers as active, "sha-256" and
// "sha-512", computed with OpenSSL's EVP interface.
//
// Verification policy: the field must parse as a Dictionary; members whose
// algorithm is not supported (deprecated ones such as "md5", or unknown
// names) are ignored; at least one supported algorithm must be present; and
// every supported algorithm present must hold a Byte Sequence equal to the
// digest of the body. Comparisons are constant-time. All functions are
// thread-safe.
#pragma once

#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "custos/core/bytes.h"

namespace custos {

enum class DigestAlgorithm {
  kSha256,  // "sha-256"
  kSha512,  // "sha-512"
};

// The algorithm's name in the Hash Algorithms for HTTP Digest Fields registry.
std::string_view digest_algorithm_name(DigestAlgorithm algorithm);
// The supported algorithm called `name` (exact, lower-case), if any.
std::optional<DigestAlgorithm> digest_algorithm_from_name(std::string_view name);

// The raw digest of `content` (32 bytes for sha-256, 64 for sha-512).
Bytes content_digest_bytes(DigestAlgorithm algorithm, ByteView content);

// The Content-Digest field value for `content`, one member per algorithm in
// the order given, e.g. "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:".
std::string content_digest_value(ByteView content, std::span<const DigestAlgorithm> algorithms);
inline std::string content_digest_value(ByteView content,
                                        DigestAlgorithm algorithm = DigestAlgorithm::kSha256) {
  return content_digest_value(content, std::span<const DigestAlgorithm>(&algorithm, 1));
}

enum class DigestVerdict {
  kMatch,                 // every supported digest present matches the content
  kMismatch,              // a supported digest differs from the content's
  kMalformed,             // not a Dictionary, or a supported member is not a Byte Sequence
  kNoSupportedAlgorithm,  // no sha-256 or sha-512 member
};

std::string_view digest_verdict_name(DigestVerdict verdict);

// Checks a Content-Digest field value against `content` (see the policy above).
DigestVerdict verify_content_digest(std::string_view field_value, ByteView content);

}  // namespace custos
