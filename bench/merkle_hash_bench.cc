// merkle_hash_bench: the cost of one RFC 9162 interior-node hash, which bounds
// proof latency (a proof from tiles recomputes up to 255 nodes per tile level).
//
// Compares custos::ledger::hash_children (Sha256 over EVP, re-initialised with
// EVP_sha256() after every digest) with the same digest through an EVP_MD
// fetched once (OpenSSL 3 otherwise looks the implementation up on every
// init), and root_from_leaf_hashes over a full tile of 256 hashes.
#include <openssl/evp.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "custos/crypto/sha256.h"
#include "custos/ledger/merkle.h"

namespace {

using custos::Hash256;
using SteadyClock = std::chrono::steady_clock;

Hash256 sample_hash(uint8_t seed) {
  Hash256 hash;
  for (size_t i = 0; i < Hash256::kSize; ++i) hash.bytes[i] = static_cast<uint8_t>(seed + i);
  return hash;
}

// Runs `body` `iterations` times and prints nanoseconds per call.
template <typename Body>
void measure(const char* name, uint64_t iterations, Body body) {
  body();  // warm up (first-use initialisation)
  auto started = SteadyClock::now();
  for (uint64_t i = 0; i < iterations; ++i) body();
  double nanos = std::chrono::duration<double, std::nano>(SteadyClock::now() - started).count();
  std::printf("%-34s %10.1f ns/call  (%llu calls)\n", name, nanos / static_cast<double>(iterations),
              static_cast<unsigned long long>(iterations));
}

}  // namespace

int main() {
  Hash256 left = sample_hash(1);
  const Hash256 right = sample_hash(2);
  measure("hash_children (custos Sha256)", 2'000'000,
          [&] { left = custos::ledger::hash_children(left, right); });

  // The same bytes hashed with an EVP_MD fetched once and a reused context.
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const uint8_t prefix = 0x01;
  measure("hash_children, EVP_MD fetched once", 2'000'000, [&] {
    unsigned length = 0;
    EVP_DigestInit_ex2(context, sha256, nullptr);
    EVP_DigestUpdate(context, &prefix, 1);
    EVP_DigestUpdate(context, left.bytes.data(), Hash256::kSize);
    EVP_DigestUpdate(context, right.bytes.data(), Hash256::kSize);
    EVP_DigestFinal_ex(context, left.bytes.data(), &length);
  });
  EVP_MD_CTX_free(context);
  EVP_MD_free(sha256);

  // A full tile hashed back to its root: 255 interior nodes.
  std::array<Hash256, 256> leaves;
  for (size_t i = 0; i < leaves.size(); ++i) leaves[i] = sample_hash(static_cast<uint8_t>(i));
  Hash256 root;
  measure("root_from_leaf_hashes(256)", 20'000,
          [&] { root = custos::ledger::root_from_leaf_hashes(leaves); });
  std::printf("(checksum %02x%02x)\n", left.bytes[0], root.bytes[0]);
  return 0;
}
