// custos policy: the entity store that policies are evaluated against.
//
// An EntityStore holds entities (uid, attribute record, parent uids) and
// answers Cedar's `in` question: is A equal to B or a transitive descendant
// of B. Ancestor sets are computed once when the store is built (the
// transitive closure), so `in` is a hash lookup at evaluation time. As in
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

#include <string_view>
#include <unordered_map>
#include <unordered_set>
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
  size_t size() const { return entities_.size(); }

 private:
  struct Node {
    Entity entity;
    std::unordered_set<EntityUid, EntityUidHash> ancestors;  // transitive, excludes self
  };
  std::unordered_map<EntityUid, Node, EntityUidHash> entities_;
};

}  // namespace custos::policy
