#include "custos/policy/entities.h"

#include <simdjson.h>

#include <algorithm>

#include "json_convert.h"

namespace custos::policy {

namespace {
// Cedar's action entities have a type named `Action`, optionally namespaced.
bool is_action_type(std::string_view type) {
  return type == "Action" || (type.size() > 8 && type.substr(type.size() - 8) == "::Action");
}
}  // namespace

Result<EntityStore> EntityStore::build(std::vector<Entity> entities) {
  for (const Entity& entity : entities) {
    if (!entity.attributes.is(ValueKind::kRecord)) {
      return invalid_argument("attributes of " + entity.uid.to_string() + " must be a record");
    }
    if (is_action_type(entity.uid.type)) {
      // As in Cedar: an action's parents must be actions.
      for (const EntityUid& parent : entity.parents) {
        if (!is_action_type(parent.type)) {
          return invalid_argument("action " + entity.uid.to_string() + " has a non-action parent " +
                                  parent.to_string());
        }
      }
    }
  }
  if (entities.size() >= kNoEntity) return invalid_argument("too many entities");
  EntityStore store;
  store.entities_ = std::move(entities);
  std::vector<Entity>& all = store.entities_;
  size_t capacity = 8;
  while (capacity < 2 * all.size()) capacity *= 2;
  store.slots_.assign(capacity, 0);
  store.nodes_.reserve(all.size());
  // Unique uids in first-seen order; a repeated uid keeps the last definition.
  const EntityUidHash hasher;
  size_t kept = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const size_t uid_hash = hasher(all[i].uid);
    const uint32_t existing = store.index_of(all[i].uid, uid_hash);
    if (existing != kNoEntity) {
      all[existing] = std::move(all[i]);
      continue;
    }
    if (kept != i) all[kept] = std::move(all[i]);
    store.nodes_.push_back(NodeInfo{uid_hash, 0, 0});
    size_t slot = uid_hash & (capacity - 1);
    while (store.slots_[slot] != 0) slot = (slot + 1) & (capacity - 1);
    store.slots_[slot] = static_cast<uint32_t>(kept + 1);
    ++kept;
  }
  all.resize(kept);

  // Every parent edge, resolved once: its uid's hash and the parent's
  // position (kNoEntity for a parent that is not in the store).
  struct Link {
    size_t uid_hash;
    uint32_t target;
    uint32_t entity;
    uint32_t parent;
  };
  size_t link_count = 0;
  for (const Entity& entity : all) link_count += entity.parents.size();
  if (link_count >= kNoEntity) return invalid_argument("too many parents");
  std::vector<Link> links;
  links.reserve(link_count);
  // One scratch allocation: where each entity's links start (n + 1), which
  // search last reached each entity (n), and the search stack (at most one
  // entry per link: an entity's links are pushed once per search).
  const size_t n = all.size();
  std::vector<uint32_t> scratch(2 * n + 1 + link_count, kNoEntity);
  uint32_t* links_begin = scratch.data();
  uint32_t* reached_from = links_begin + n + 1;
  uint32_t* stack = reached_from + n;
  for (uint32_t i = 0; i < n; ++i) {
    links_begin[i] = static_cast<uint32_t>(links.size());
    for (uint32_t p = 0; p < all[i].parents.size(); ++p) {
      const size_t uid_hash = hasher(all[i].parents[p]);
      links.push_back(Link{uid_hash, store.index_of(all[i].parents[p], uid_hash), i, p});
    }
  }
  links_begin[n] = static_cast<uint32_t>(links.size());
  store.ancestors_.reserve(2 * link_count);

  // Transitive closure by depth-first search from each entity. A path that
  // comes back to its start is a cycle, which Cedar rejects.
  for (uint32_t i = 0; i < n; ++i) {
    const size_t begin = store.ancestors_.size();
    size_t depth = 0;
    for (uint32_t l = links_begin[i]; l < links_begin[i + 1]; ++l) stack[depth++] = l;
    while (depth > 0) {
      const Link& link = links[stack[--depth]];
      if (link.target == i) {
        return invalid_argument("entity hierarchy has a cycle containing " + all[i].uid.to_string());
      }
      if (link.target != kNoEntity) {
        if (reached_from[link.target] == i) continue;
        reached_from[link.target] = i;
        for (uint32_t l = links_begin[link.target]; l < links_begin[link.target + 1]; ++l) {
          stack[depth++] = l;
        }
      }
      store.ancestors_.push_back(AncestorRef{link.uid_hash, link.entity, link.parent});
    }
    auto first = store.ancestors_.begin() + static_cast<std::ptrdiff_t>(begin);
    std::sort(first, store.ancestors_.end(),
              [](const AncestorRef& a, const AncestorRef& b) { return a.uid_hash < b.uid_hash; });
    // A parent outside the store may be reached along several paths: keep it once.
    size_t end = begin;
    for (size_t k = begin; k < store.ancestors_.size(); ++k) {
      bool repeated = false;
      for (size_t m = end; m > begin && store.ancestors_[m - 1].uid_hash == store.ancestors_[k].uid_hash;
           --m) {
        if (store.ancestor_uid(store.ancestors_[m - 1]) == store.ancestor_uid(store.ancestors_[k])) {
          repeated = true;
          break;
        }
      }
      if (!repeated) store.ancestors_[end++] = store.ancestors_[k];
    }
    store.ancestors_.resize(end);
    store.nodes_[i].ancestors_begin = static_cast<uint32_t>(begin);
    store.nodes_[i].ancestors_end = static_cast<uint32_t>(end);
  }
  return store;
}

uint32_t EntityStore::index_of(const EntityUid& uid, size_t uid_hash) const {
  if (slots_.empty()) return kNoEntity;
  const size_t mask = slots_.size() - 1;
  for (size_t slot = uid_hash & mask;; slot = (slot + 1) & mask) {
    const uint32_t entry = slots_[slot];
    if (entry == 0) return kNoEntity;
    if (nodes_[entry - 1].uid_hash == uid_hash && entities_[entry - 1].uid == uid) return entry - 1;
  }
}

Result<EntityStore> EntityStore::from_json(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return invalid_argument(std::string("invalid entities JSON: ") + simdjson::error_message(error));
  }
  simdjson::dom::array array;
  if (root.get_array().get(array)) return invalid_argument("entities JSON must be an array");
  std::vector<Entity> entities;
  entities.reserve(array.size());
  size_t index = 0;
  for (simdjson::dom::element item : array) {
    std::string where = "entity " + std::to_string(index++);
    simdjson::dom::element uid_json, attrs_json, parents_json;
    if (item["uid"].get(uid_json)) return invalid_argument(where + ": missing \"uid\"");
    Entity entity;
    auto uid = internal::uid_from_json(uid_json);
    if (!uid.is_ok()) return uid.status().with_context(where);
    entity.uid = std::move(uid).value();
    if (!item["attrs"].get(attrs_json)) {
      if (!attrs_json.is_object()) return invalid_argument(where + ": \"attrs\" must be an object");
      auto attrs = internal::value_from_json(attrs_json, 0);
      if (!attrs.is_ok()) return attrs.status().with_context(where);
      entity.attributes = std::move(attrs).value();
    }
    if (!item["parents"].get(parents_json)) {
      simdjson::dom::array parents;
      if (parents_json.get_array().get(parents)) {
        return invalid_argument(where + ": \"parents\" must be an array");
      }
      for (simdjson::dom::element parent : parents) {
        auto parent_uid = internal::uid_from_json(parent);
        if (!parent_uid.is_ok()) return parent_uid.status().with_context(where);
        entity.parents.push_back(std::move(parent_uid).value());
      }
    }
    entities.push_back(std::move(entity));
  }
  return build(std::move(entities));
}

const Entity* EntityStore::find(const EntityUid& uid) const {
  if (slots_.empty()) return nullptr;
  const uint32_t index = index_of(uid, EntityUidHash()(uid));
  return index == kNoEntity ? nullptr : &entities_[index];
}

bool EntityStore::is_in(const EntityUid& descendant, const EntityUid& ancestor) const {
  if (descendant == ancestor) return true;
  const Entity* entity = find(descendant);
  return entity != nullptr && has_ancestor(*entity, ancestor);
}

bool EntityStore::has_ancestor(const Entity& entity, const EntityUid& ancestor) const {
  const NodeInfo& node = nodes_[static_cast<size_t>(&entity - entities_.data())];
  if (node.ancestors_begin == node.ancestors_end) return false;
  const size_t ancestor_hash = EntityUidHash()(ancestor);
  auto first = ancestors_.begin() + node.ancestors_begin;
  auto last = ancestors_.begin() + node.ancestors_end;
  for (auto it = std::lower_bound(
           first, last, ancestor_hash,
           [](const AncestorRef& ref, size_t uid_hash) { return ref.uid_hash < uid_hash; });
       it != last && it->uid_hash == ancestor_hash; ++it) {
    if (ancestor_uid(*it) == ancestor) return true;
  }
  return false;
}

}  // namespace custos::policy
