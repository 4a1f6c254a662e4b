#include "xml_binding_json.h"

#include "custos/core/json_writer.h"

namespace custos::epcis::xml_binding {

namespace {
constexpr size_t kIndexFrom = 16;
}  // namespace

JsonNode* JsonNode::find(std::string_view key) {
  if (members_.size() >= kIndexFrom) {
    auto found = index_.find(std::string(key));
    return found == index_.end() ? nullptr : &members_[found->second].second;
  }
  for (auto& [name, value] : members_) {
    if (name == key) return &value;
  }
  return nullptr;
}

JsonNode& JsonNode::set(std::string key, JsonNode value) {
  members_.emplace_back(std::move(key), std::move(value));
  index_last_member();
  return members_.back().second;
}

void JsonNode::index_last_member() {
  if (members_.size() < kIndexFrom) return;
  if (members_.size() == kIndexFrom) {
    for (size_t i = 0; i + 1 < members_.size(); ++i) index_.emplace(members_[i].first, i);
  }
  index_.emplace(members_.back().first, members_.size() - 1);
}

void JsonNode::add_repeated(std::string key, JsonNode value) {
  JsonNode* existing = find(key);
  if (existing == nullptr) {
    set(std::move(key), std::move(value));
    return;
  }
  if (!existing->repeated_) {
    JsonNode list = array();
    list.repeated_ = true;
    list.push(std::move(*existing));
    *existing = std::move(list);
  }
  existing->push(std::move(value));
}

void JsonNode::take_members(JsonNode& other) {
  for (auto& member : other.members_) {
    members_.push_back(std::move(member));
    index_last_member();
  }
  other.members_.clear();
  other.index_.clear();
}

void JsonNode::serialise(std::string& out) const {
  switch (kind_) {
    case Kind::kString:
      append_json_string(out, text_);
      return;
    case Kind::kLiteral:
      out += text_;
      return;
    case Kind::kObject: {
      out += '{';
      bool first = true;
      for (const auto& [name, value] : members_) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, name);
        out += ':';
        value.serialise(out);
      }
      out += '}';
      return;
    }
    case Kind::kArray: {
      out += '[';
      bool first = true;
      for (const JsonNode& item : items_) {
        if (!first) out += ',';
        first = false;
        item.serialise(out);
      }
      out += ']';
      return;
    }
  }
}

}  // namespace custos::epcis::xml_binding
