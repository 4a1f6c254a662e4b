// custos policy: the entity store that policies are evaluated against.
//
// An EntityStore holds entities (uid, attribute record, parent uids) and
// answers Cedar's `in` question: is A equal to B or a transitive descendant
// of B. Ancestor sets are computed once when the store is built (the
// transitive closure), so `in` is a hash lookup and a binary search at
// evaluation time. As in
// Cedar, a parent hierarchy containing a cycle is rejected when the store is
// built (InvalidArgument naming an entity on the cycle); parents that are not
// themselves entities in the store are allowed. Also as in Cedar, an action
// entity (type `Action` or `Namespace::Action`) may only have action parents. Entities absent from the
// store are fine in requests: only reading their attributes is an error.
//
// Input format: Cedar's JSON entity format, an array of
//   {"uid": {"type": T, "id": I}, "attrs": {...}, "parents": [uid...]}
// (uids may also be written {"__entity": {...}}; attribute values use the
// escapes described at parse_value_json). A repeated uid keeps the last
// definition.
//
// Thread-safety: a built EntityStore is immutable; any number of threads may
// evaluate against it concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/policy/value.h"

namespace custos::policy {

struct Entity {
  EntityUid uid;
  Value attributes = Value::record({});  // always a record
  std::vector<EntityUid> parents;
};

class EntityStore {
 public:
  EntityStore() = default;

  // Builds a store from entities; fails on a cyclic hierarchy.
  static Result<EntityStore> build(std::vector<Entity> entities);
  // Parses Cedar's JSON entity format and builds the store.
  static Result<EntityStore> from_json(std::string_view json);

  // nullptr when the uid is not in the store.
  const Entity* find(const EntityUid& uid) const;
  // Cedar `descendant in ancestor`: equal, or ancestor reachable via parents.
  bool is_in(const EntityUid& descendant, const EntityUid& ancestor) const;
  // The same question for an entity already looked up (`entity` must have
  // been returned by find() on this store): is `ancestor` one of its
  // transitive parents. Saves the lookup when one entity is asked about often.
  bool has_ancestor(const Entity& entity, const EntityUid& ancestor) const;
  // Calls visit(const EntityUid&) once for each transitive parent of
  // `entity` (returned by find() on this store), in no particular order.
  template <typename Visit>
  void for_each_ancestor(const Entity& entity, Visit&& visit) const {
    const NodeInfo& node = nodes_[static_cast<size_t>(&entity - entities_.data())];
    for (uint32_t i = node.ancestors_begin; i < node.ancestors_end; ++i) {
      visit(ancestor_uid(ancestors_[i]));
    }
  }
  size_t size() const { return entities_.size(); }

 private:
  // Flat arrays instead of node-based hash containers: a store is often
  // built per request (a handful of entities), so building it must cost a few
  // allocations, not one per entity and per ancestor.
  struct NodeInfo {
    size_t uid_hash = 0;
    uint32_t ancestors_begin = 0;  // range in ancestors_
    uint32_t ancestors_end = 0;
  };
  // One ancestor: the parent uid `parent` of entity `entity` (where it was
  // first reached), identified by position so that a copied or moved store
  // stays valid.
  struct AncestorRef {
    size_t uid_hash = 0;
    uint32_t entity = 0;
    uint32_t parent = 0;
  };
  static constexpr uint32_t kNoEntity = UINT32_MAX;

  uint32_t index_of(const EntityUid& uid, size_t uid_hash) const;
  const EntityUid& ancestor_uid(const AncestorRef& ref) const {
    return entities_[ref.entity].parents[ref.parent];
  }

  std::vector<Entity> entities_;  // unique uids
  std::vector<NodeInfo> nodes_;   // parallel to entities_
  // Open addressing over entity positions (+1; 0 is empty); size a power of two.
  std::vector<uint32_t> slots_;
  // Per entity, its transitive ancestors (self excluded), sorted by uid_hash.
  std::vector<AncestorRef> ancestors_;
};

}  // namespace custos::policy
