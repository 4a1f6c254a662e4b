// custos crypto: one-time passwords (HOTP, RFC 4226; TOTP, RFC 6238).
//
// HOTP truncates HMAC(secret, 8-byte big-endian counter) to a decimal code
// of 6 to 8 digits (RFC 4226 section 5.3); TOTP uses the counter
// floor((unix_time - t0) / step). HMAC-SHA1, HMAC-SHA256 and HMAC-SHA512
// are supported, through OpenSSL. Codes are strings with leading zeros kept.
//
// verify_totp accepts a code from the current step or `window` steps either
// side of it (clock drift) and returns the matched step. A code stays valid
// for up to 2*window+1 steps, so callers MUST remember the last step they
// accepted for an account and refuse a match at or before it (RFC 6238
// section 5.2); the step is returned for exactly that. Candidate codes are
// all computed and compared in constant time.
//
// Secrets travel as RFC 4648 base32 (upper-case, no padding, in otpauth://
// URIs as authenticator apps expect). All functions are thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos {

enum class OtpAlgorithm { kSha1, kSha256, kSha512 };

// "SHA1", "SHA256" or "SHA512" (the otpauth:// spelling).
std::string_view otp_algorithm_name(OtpAlgorithm algorithm);

struct TotpParams {
  OtpAlgorithm algorithm = OtpAlgorithm::kSha1;
  int digits = 6;             // 6, 7 or 8
  int64_t step_seconds = 30;  // X in RFC 6238; must be positive
  int64_t epoch_seconds = 0;  // T0 in RFC 6238
};

// The HOTP code for `counter`. Refuses digits outside 6..8 and an empty secret.
Result<std::string> hotp(ByteView secret, uint64_t counter, int digits = 6,
                         OtpAlgorithm algorithm = OtpAlgorithm::kSha1);

// The TOTP step (counter) containing `unix_time`; refuses a time before
// epoch_seconds and a non-positive step.
Result<uint64_t> totp_step(int64_t unix_time, const TotpParams& params = {});

// The TOTP code at `unix_time`.
Result<std::string> totp(ByteView secret, int64_t unix_time, const TotpParams& params = {});

// The step whose code equals `code`, searching totp_step(unix_time) - window
// .. + window; nullopt when none matches or the input is invalid (a code of
// the wrong length or with non-digits never matches).
std::optional<uint64_t> verify_totp(ByteView secret, std::string_view code, int64_t unix_time,
                                    const TotpParams& params = {}, int window = 1);

// RFC 4648 section 6 base32, upper-case, without "=" padding.
std::string base32_encode(ByteView bytes);
// Accepts upper or lower case and optional "=" padding; refuses other
// characters, impossible lengths and non-zero trailing bits.
Result<Bytes> base32_decode(std::string_view text);

// otpauth://totp/<issuer>:<account>?secret=...&issuer=...&algorithm=...&digits=...&period=...
// (the Key Uri Format authenticator apps read), with issuer and account
// percent-encoded. Refuses an empty account, a ':' in issuer or account,
// and invalid params.
Result<std::string> totp_uri(ByteView secret, std::string_view issuer, std::string_view account,
                             const TotpParams& params = {});

}  // namespace custos
