#include "custos/ledger/proof.h"

#include <string>

#include "custos/ledger/merkle.h"

namespace custos::ledger {
namespace {

bool is_odd(uint64_t value) { return (value & 1) != 0; }

}  // namespace

Result<Hash256> root_from_inclusion_proof(uint64_t leaf_index, uint64_t tree_size,
                                          const Hash256& leaf_hash,
                                          std::span<const Hash256> proof) {
  if (leaf_index >= tree_size) {
    return invalid_argument("leaf index " + std::to_string(leaf_index) +
                            " is not below tree size " + std::to_string(tree_size));
  }
  // RFC 9162 section 2.1.3.2: fn walks the leaf's path, sn the tree's last leaf.
  uint64_t fn = leaf_index;
  uint64_t sn = tree_size - 1;
  Hash256 root = leaf_hash;
  for (const Hash256& sibling : proof) {
    if (sn == 0) return invalid_argument("inclusion proof is too long");
    if (is_odd(fn) || fn == sn) {
      root = hash_children(sibling, root);
      // A right-edge node with no right sibling moves up without hashing.
      while (!is_odd(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      root = hash_children(root, sibling);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return invalid_argument("inclusion proof is too short");
  return root;
}

Status verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const Hash256& leaf_hash,
                        std::span<const Hash256> proof, const Hash256& root_hash) {
  CUSTOS_ASSIGN_OR_RETURN(Hash256 computed,
                          root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof));
  if (computed != root_hash) {
    return data_loss("inclusion proof leads to root " + computed.hex() + ", expected " +
                     root_hash.hex());
  }
  return Status::ok();
}

Status verify_consistency(uint64_t size1, uint64_t size2, const Hash256& root1,
                          const Hash256& root2, std::span<const Hash256> proof) {
  if (size1 > size2) {
    return invalid_argument("tree size " + std::to_string(size1) + " is larger than " +
                            std::to_string(size2));
  }
  if (size1 == 0) {
    return invalid_argument(
        "a consistency proof from the empty tree proves nothing; size1 must be > 0");
  }
  if (size1 == size2) {
    if (!proof.empty())
      return invalid_argument("consistency proof between equal sizes must be empty");
    if (root1 != root2) return data_loss("trees of equal size have different roots");
    return Status::ok();
  }
  if (proof.empty()) return invalid_argument("consistency proof is empty");

  // RFC 9162 section 2.1.4.2. When size1 is a power of two, the old root is
  // itself a node of the new tree and the proof omits it.
  const bool size1_is_power_of_two = (size1 & (size1 - 1)) == 0;
  size_t next = 0;
  Hash256 first = size1_is_power_of_two ? root1 : proof[next++];
  uint64_t fn = size1 - 1;
  uint64_t sn = size2 - 1;
  while (is_odd(fn)) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash256 old_root = first;
  Hash256 new_root = first;
  for (; next < proof.size(); ++next) {
    const Hash256& node = proof[next];
    if (sn == 0) return invalid_argument("consistency proof is too long");
    if (is_odd(fn) || fn == sn) {
      old_root = hash_children(node, old_root);
      new_root = hash_children(node, new_root);
      while (!is_odd(fn) && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      new_root = hash_children(new_root, node);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return invalid_argument("consistency proof is too short");
  if (old_root != root1) return data_loss("consistency proof does not lead to the old root");
  if (new_root != root2) return data_loss("consistency proof does not lead to the new root");
  return Status::ok();
}

}  // namespace custos::ledger
