#include "custos/crypto/totp.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>

namespace custos {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

const EVP_MD* evp_for(OtpAlgorithm algorithm) {
  switch (algorithm) {
    case OtpAlgorithm::kSha256:
      return EVP_sha256();
    case OtpAlgorithm::kSha512:
      return EVP_sha512();
    case OtpAlgorithm::kSha1:
      break;
  }
  return EVP_sha1();
}

Status check_digits(int digits) {
  if (digits < 6 || digits > 8) {
    return invalid_argument("one-time password digits must be 6, 7 or 8, got " +
                            std::to_string(digits));
  }
  return Status::ok();
}

int base32_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// RFC 3986 unreserved characters stay; everything else becomes %XX.
std::string percent_encode_component(std::string_view text) { return percent_encode(text, "-._~"); }

}  // namespace

std::string_view otp_algorithm_name(OtpAlgorithm algorithm) {
  switch (algorithm) {
    case OtpAlgorithm::kSha256:
      return "SHA256";
    case OtpAlgorithm::kSha512:
      return "SHA512";
    case OtpAlgorithm::kSha1:
      break;
  }
  return "SHA1";
}

Result<std::string> hotp(ByteView secret, uint64_t counter, int digits, OtpAlgorithm algorithm) {
  CUSTOS_RETURN_IF_ERROR(check_digits(digits));
  if (secret.empty()) return invalid_argument("one-time password secret is empty");
  std::array<uint8_t, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<uint8_t>(counter);
    counter >>= 8;
  }
  std::array<uint8_t, EVP_MAX_MD_SIZE> mac{};
  unsigned int mac_length = 0;
  if (HMAC(evp_for(algorithm), secret.data(), static_cast<int>(secret.size()), message.data(),
           message.size(), mac.data(), &mac_length) == nullptr) {
    return internal_error("HMAC failed");
  }
  // Dynamic truncation, RFC 4226 section 5.3.
  size_t offset = mac[mac_length - 1] & 0x0F;
  uint32_t binary = (uint32_t(mac[offset] & 0x7F) << 24) | (uint32_t(mac[offset + 1]) << 16) |
                    (uint32_t(mac[offset + 2]) << 8) | uint32_t(mac[offset + 3]);
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  code.insert(0, static_cast<size_t>(digits) - code.size(), '0');
  return code;
}

Result<uint64_t> totp_step(int64_t unix_time, const TotpParams& params) {
  if (params.step_seconds <= 0) return invalid_argument("TOTP step must be positive");
  if (unix_time < params.epoch_seconds) return invalid_argument("time is before the TOTP epoch");
  // Subtracting in unsigned arithmetic cannot overflow once time >= epoch.
  uint64_t elapsed = static_cast<uint64_t>(unix_time) - static_cast<uint64_t>(params.epoch_seconds);
  return elapsed / static_cast<uint64_t>(params.step_seconds);
}

Result<std::string> totp(ByteView secret, int64_t unix_time, const TotpParams& params) {
  CUSTOS_ASSIGN_OR_RETURN(uint64_t step, totp_step(unix_time, params));
  return hotp(secret, step, params.digits, params.algorithm);
}

std::optional<uint64_t> verify_totp(ByteView secret, std::string_view code, int64_t unix_time,
                                    const TotpParams& params, int window) {
  if (window < 0 || !check_digits(params.digits).is_ok()) return std::nullopt;
  if (code.size() != static_cast<size_t>(params.digits)) return std::nullopt;
  for (char c : code) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  auto current = totp_step(unix_time, params);
  if (!current.is_ok()) return std::nullopt;
  std::optional<uint64_t> matched;
  for (int64_t delta = -window; delta <= window; ++delta) {
    if (delta < 0 && *current < static_cast<uint64_t>(-delta)) continue;
    uint64_t step = *current + static_cast<uint64_t>(delta);
    auto candidate = hotp(secret, step, params.digits, params.algorithm);
    if (!candidate.is_ok()) return std::nullopt;
    // Every candidate is compared, matched or not, so timing says nothing.
    if (CRYPTO_memcmp(candidate->data(), code.data(), code.size()) == 0 && !matched) {
      matched = step;
    }
  }
  return matched;
}

std::string base32_encode(ByteView bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t accumulator = 0;
  int bits = 0;
  for (uint8_t byte : bytes) {
    accumulator = (accumulator << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32Alphabet[(accumulator >> bits) & 31];
    }
    accumulator &= (1u << bits) - 1;
  }
  if (bits > 0) out += kBase32Alphabet[(accumulator << (5 - bits)) & 31];
  return out;
}

Result<Bytes> base32_decode(std::string_view text) {
  size_t length = text.size();
  while (length > 0 && text[length - 1] == '=') --length;
  size_t padding = text.size() - length;
  size_t remainder = length % 8;
  if (remainder == 1 || remainder == 3 || remainder == 6) {
    return invalid_argument("base32 text has an impossible length");
  }
  if (padding > 0 && (text.size() % 8 != 0 || remainder == 0 || padding >= 8)) {
    return invalid_argument("base32 padding does not complete a block");
  }
  Bytes bytes;
  bytes.reserve(length * 5 / 8);
  uint32_t accumulator = 0;
  int bits = 0;
  for (size_t i = 0; i < length; ++i) {
    int value = base32_value(text[i]);
    if (value < 0) return invalid_argument("base32 text has an invalid character");
    accumulator = (accumulator << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<uint8_t>(accumulator >> bits));
      accumulator &= (1u << bits) - 1;
    }
  }
  if (accumulator != 0) return invalid_argument("base32 text has non-zero trailing bits");
  return bytes;
}

Result<std::string> totp_uri(ByteView secret, std::string_view issuer, std::string_view account,
                             const TotpParams& params) {
  CUSTOS_RETURN_IF_ERROR(check_digits(params.digits));
  if (params.step_seconds <= 0) return invalid_argument("TOTP step must be positive");
  if (secret.empty()) return invalid_argument("one-time password secret is empty");
  if (account.empty()) return invalid_argument("TOTP account name is empty");
  if (account.find(':') != std::string_view::npos || issuer.find(':') != std::string_view::npos) {
    return invalid_argument("TOTP issuer and account must not contain ':'");
  }
  std::string uri = "otpauth://totp/";
  if (!issuer.empty()) uri += percent_encode_component(issuer) + ":";
  uri += percent_encode_component(account);
  uri += "?secret=" + base32_encode(secret);
  if (!issuer.empty()) uri += "&issuer=" + percent_encode_component(issuer);
  uri += "&algorithm=" + std::string(otp_algorithm_name(params.algorithm));
  uri += "&digits=" + std::to_string(params.digits);
  uri += "&period=" + std::to_string(params.step_seconds);
  return uri;
}

}  // namespace custos
