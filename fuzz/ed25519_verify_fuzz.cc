// Ed25519PreparedKey::verify against libsodium's crypto_sign_verify_detached
// on arbitrary bytes: any difference in the answer aborts.
//
// Input: mode byte, then
//   mode even: public key (32) | signature (64) | message (rest), taken as is;
//   mode odd:  seed (32) | bit positions to flip (8 bytes, 0xff = none) |
//              message (rest): a valid signature by the seed's key, with up to
//              eight bits of the key-and-signature string flipped, so the
//              fuzzer explores near-valid inputs.
#include <sodium.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "custos/crypto/ed25519.h"
#include "custos/crypto/ed25519_prepared.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ++data;
  --size;
  custos::Ed25519PublicKey key;
  custos::Ed25519Signature signature;
  const uint8_t* message = nullptr;
  size_t message_size = 0;
  if ((mode & 1) == 0) {
    if (size < 96) return 0;
    std::memcpy(key.bytes.data(), data, 32);
    std::memcpy(signature.bytes.data(), data + 32, 64);
    message = data + 96;
    message_size = size - 96;
  } else {
    if (size < 40) return 0;
    auto pair = custos::Ed25519KeyPair::from_seed(custos::ByteView(data, 32));
    if (!pair.is_ok()) std::abort();
    message = data + 40;
    message_size = size - 40;
    key = pair->public_key();
    signature = pair->sign(custos::ByteView(message, message_size));
    for (int i = 0; i < 8; ++i) {
      const uint8_t position = data[32 + i];
      if (position == 0xff) continue;
      const size_t bit = static_cast<size_t>(position) * 3 % (96 * 8);  // spread over key and sig
      if (bit < 256) {
        key.bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      } else {
        signature.bytes[(bit - 256) / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      }
    }
  }
  const bool expected = crypto_sign_verify_detached(signature.bytes.data(), message, message_size,
                                                    key.bytes.data()) == 0;
  auto prepared = custos::Ed25519PreparedKey::prepare(key);
  const bool got = prepared.is_ok() && prepared->verify(custos::ByteView(message, message_size),
                                                         signature);
  if (got != expected) std::abort();
  return 0;
}
