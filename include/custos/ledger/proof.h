// custos ledger: verifying RFC 9162 inclusion and consistency proofs.
//
// These are the client's checks (RFC 9162 sections 2.1.3.2 and 2.1.4.2): given
// hashes a log served, decide whether they prove what they claim. A proof is
// accepted only if it has exactly the length the tree shape requires and every
// hash matches; anything else is refused with a message saying which check
// failed (InvalidArgument for impossible indices or sizes and wrong proof
// lengths, DataLoss for hashes that do not match). Pure and thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "custos/crypto/sha256.h"

namespace custos::ledger {

// The root hash an inclusion proof leads to for the leaf at `leaf_index` in a
// tree of `tree_size` leaves; refused if the proof has the wrong length for
// that position or the index is not below the size.
Result<Hash256> root_from_inclusion_proof(uint64_t leaf_index, uint64_t tree_size,
                                          const Hash256& leaf_hash, std::span<const Hash256> proof);

// OK when `proof` proves `leaf_hash` is leaf `leaf_index` of the tree of
// `tree_size` leaves whose root is `root_hash`.
Status verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const Hash256& leaf_hash,
                        std::span<const Hash256> proof, const Hash256& root_hash);

// OK when `proof` proves the tree of `size1` leaves with root `root1` is a
// prefix of the tree of `size2` leaves with root `root2`. Equal sizes need an
// empty proof and equal roots. size1 > size2 is refused, and so is size1 == 0:
// every tree extends the empty tree, so a client that trusts no tree yet needs
// no proof and should not ask for one (the transparency-dev probes refuse it).
Status verify_consistency(uint64_t size1, uint64_t size2, const Hash256& root1,
                          const Hash256& root2, std::span<const Hash256> proof);

}  // namespace custos::ledger
