// custos crypto: SHA-256.
//
// SHA-256 through OpenSSL's EVP interface (which uses the CPU's SHA
// extensions where present). Hash256 is a distinct 32-byte value type used
// for every digest in custos. All functions are thread-safe; a Sha256
// object is not (one per thread, reusable after final()).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "custos/core/bytes.h"

namespace custos {

struct Hash256 {
  static constexpr size_t kSize = 32;
  std::array<uint8_t, kSize> bytes{};

  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }
  std::string hex() const { return hex_encode(view()); }
  std::string base64() const { return base64_encode(view()); }
  friend bool operator==(const Hash256&, const Hash256&) = default;

  // Refuses anything that is not exactly 32 bytes.
  static Result<Hash256> from_bytes(ByteView bytes);
  static Result<Hash256> from_hex(std::string_view hex);
  static Result<Hash256> from_base64(std::string_view text);
};

Hash256 sha256(ByteView data);
inline Hash256 sha256(std::string_view text) { return sha256(as_bytes(text)); }

// Incremental hashing with a reusable context (no allocation per digest).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Sha256& update(ByteView data);
  Sha256& update(uint8_t byte) { return update(ByteView(&byte, 1)); }
  // Returns the digest and resets the context for the next message.
  Hash256 final();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace custos
