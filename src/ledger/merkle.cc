#include "custos/ledger/merkle.h"

namespace custos::ledger {

Hash256 hash_leaf(ByteView entry) {
  thread_local Sha256 hasher;
  return hasher.update(uint8_t{0x00}).update(entry).final();
}

Hash256 hash_children(const Hash256& left, const Hash256& right) {
  thread_local Sha256 hasher;
  return hasher.update(uint8_t{0x01}).update(left.view()).update(right.view()).final();
}

Hash256 empty_tree_hash() { return sha256(ByteView()); }

Hash256 root_from_leaf_hashes(std::span<const Hash256> leaf_hashes) {
  if (leaf_hashes.empty()) return empty_tree_hash();
  if (leaf_hashes.size() == 1) return leaf_hashes[0];
  size_t split = 1;
  while (split * 2 < leaf_hashes.size()) split *= 2;
  return hash_children(root_from_leaf_hashes(leaf_hashes.first(split)),
                       root_from_leaf_hashes(leaf_hashes.subspan(split)));
}

}  // namespace custos::ledger
