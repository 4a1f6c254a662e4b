#include "custos/policy/entities.h"

#include <simdjson.h>

#include "json_convert.h"

namespace custos::policy {

namespace {
// Cedar's action entities have a type named `Action`, optionally namespaced.
bool is_action_type(std::string_view type) {
  return type == "Action" || (type.size() > 8 && type.substr(type.size() - 8) == "::Action");
}
}  // namespace

Result<EntityStore> EntityStore::build(std::vector<Entity> entities) {
  EntityStore store;
  store.entities_.reserve(entities.size());
  for (Entity& entity : entities) {
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
    EntityUid uid = entity.uid;
    store.entities_[uid] = Node{std::move(entity), {}};
  }
  // Transitive closure by depth-first search from each entity. A path that
  // comes back to its start is a cycle, which Cedar rejects.
  std::vector<const EntityUid*> stack;
  for (auto& [uid, node] : store.entities_) {
    stack.clear();
    for (const EntityUid& parent : node.entity.parents) stack.push_back(&parent);
    while (!stack.empty()) {
      const EntityUid* current = stack.back();
      stack.pop_back();
      if (*current == uid) {
        return invalid_argument("entity hierarchy has a cycle containing " + uid.to_string());
      }
      if (!node.ancestors.insert(*current).second) continue;
      auto it = store.entities_.find(*current);
      if (it == store.entities_.end()) continue;
      for (const EntityUid& parent : it->second.entity.parents) stack.push_back(&parent);
    }
  }
  return store;
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
  auto it = entities_.find(uid);
  return it == entities_.end() ? nullptr : &it->second.entity;
}

bool EntityStore::is_in(const EntityUid& descendant, const EntityUid& ancestor) const {
  if (descendant == ancestor) return true;
  auto it = entities_.find(descendant);
  return it != entities_.end() && it->second.ancestors.contains(ancestor);
}

}  // namespace custos::policy
