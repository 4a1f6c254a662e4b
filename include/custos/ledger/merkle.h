// custos ledger: RFC 9162 Merkle tree hashing.
//
// leaf hash = SHA-256(0x00 || entry), node hash = SHA-256(0x01 || left || right),
// and the hash of the empty tree is SHA-256 of nothing (RFC 9162 section 2.1.1).
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "custos/crypto/sha256.h"

namespace custos::ledger {

Hash256 hash_leaf(ByteView entry);
Hash256 hash_children(const Hash256& left, const Hash256& right);
Hash256 empty_tree_hash();

// The Merkle tree hash of the given leaf hashes (RFC 9162 MTH), computed
// directly. For tests and small trees; the log itself computes roots from tiles.
Hash256 root_from_leaf_hashes(std::span<const Hash256> leaf_hashes);

}  // namespace custos::ledger
