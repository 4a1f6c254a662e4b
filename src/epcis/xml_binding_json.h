// A small ordered JSON tree for the XML binding: XML is converted into this
// tree first (so repeated extension elements can become arrays and the
// @context can be written once every namespace is known), then serialised.
// Private to src/epcis.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace custos::epcis::xml_binding {

class JsonNode {
 public:
  enum class Kind { kString, kLiteral, kObject, kArray };

  static JsonNode string(std::string text) { return JsonNode(Kind::kString, std::move(text)); }
  // A number or boolean, already in JSON syntax.
  static JsonNode literal(std::string json) { return JsonNode(Kind::kLiteral, std::move(json)); }
  static JsonNode object() { return JsonNode(Kind::kObject, {}); }
  static JsonNode array() { return JsonNode(Kind::kArray, {}); }

  Kind kind() const { return kind_; }
  bool empty() const { return members_.empty() && items_.empty(); }

  // Object members in insertion order.
  JsonNode* find(std::string_view key);
  // Adds a member; the caller makes sure `key` is new.
  JsonNode& set(std::string key, JsonNode value);
  // Adds a member; a key seen before turns into an array of all its values,
  // at the place of the first one (how the JSON binding writes repetition).
  void add_repeated(std::string key, JsonNode value);
  void push(JsonNode value) { items_.push_back(std::move(value)); }
  // Moves every member of `other` (an object) to the end of this object.
  void take_members(JsonNode& other);

  void serialise(std::string& out) const;

 private:
  JsonNode(Kind kind, std::string text) : kind_(kind), text_(std::move(text)) {}
  void index_last_member();

  Kind kind_;
  std::string text_;
  std::vector<std::pair<std::string, JsonNode>> members_;
  // Key -> position in members_, built once an object is large, so that
  // elements with many children convert in linear time.
  std::unordered_map<std::string, size_t> index_;
  std::vector<JsonNode> items_;
  // Arrays made by add_repeated (as opposed to arrays that are values).
  bool repeated_ = false;
};

}  // namespace custos::epcis::xml_binding
