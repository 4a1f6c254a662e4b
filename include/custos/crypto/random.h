// custos crypto: cryptographically secure random bytes (libsodium).
// Thread-safe.
#pragma once

#include <cstddef>

#include "custos/core/bytes.h"

namespace custos {

Bytes random_bytes(size_t count);

}  // namespace custos
