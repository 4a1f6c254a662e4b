#include "custos/crypto/random.h"

#include <sodium.h>

#include <cstdlib>
#include <mutex>

namespace custos {

Bytes random_bytes(size_t count) {
  static std::once_flag initialised;
  std::call_once(initialised, [] {
    if (sodium_init() < 0) std::abort();  // no entropy source: nothing safe can follow
  });
  Bytes bytes(count);
  randombytes_buf(bytes.data(), bytes.size());
  return bytes;
}

}  // namespace custos
