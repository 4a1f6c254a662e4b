// Random Cedar authorization cases for differential testing against the
// reference implementation (tests/cedar_oracle). Deterministic for a seed:
// the generator uses its own 64-bit PRNG and never a std distribution, so the
// same seed yields the same cases on every platform.
//
// A case is a small schema-less world (users, groups, devices, sites,
// documents, actions with a random acyclic parent graph, some entities left
// out so attribute reads can fail), a random policy set (1-5 policies over
// every supported operator, with deliberate type errors, missing attributes,
// overflow and bad extension arguments), and a random request and context.
// Policy text is printed with minimal parentheses so operator precedence is
// exercised, not bypassed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/json_writer.h"

namespace custos::policy::testing {

struct GeneratedCase {
  std::string policies;
  std::string entities_json;
  std::string principal_type, principal_id;
  std::string action_type, action_id;
  std::string resource_type, resource_id;
  std::string context_json;

  // One JSON object (no newline) with fields policies, entities, principal,
  // action, resource, context: the input format of tests/cedar_oracle.
  std::string to_json_line(uint64_t id) const {
    JsonWriter writer;
    writer.begin_object();
    writer.key("id").number(id);
    writer.key("policies").string(policies);
    writer.key("entities").raw(entities_json);
    auto uid = [&](std::string_view key, const std::string& type, const std::string& entity_id) {
      writer.key(key).begin_object().key("type").string(type).key("id").string(entity_id).end_object();
    };
    uid("principal", principal_type, principal_id);
    uid("action", action_type, action_id);
    uid("resource", resource_type, resource_id);
    writer.key("context").raw(context_json);
    writer.end_object();
    return writer.take();
  }
};

class CaseGenerator {
 public:
  explicit CaseGenerator(uint64_t seed) : state_(seed ^ 0x6a09e667f3bcc909ULL) { next(); }

  GeneratedCase generate() {
    GeneratedCase out;
    build_world();
    out.entities_json = entities_json();
    int count = 1 + static_cast<int>(below(5));
    for (int i = 0; i < count; ++i) out.policies += policy() + "\n";
    Uid principal = pick(principal_pool());
    Uid action = pick(actions_);
    Uid resource = pick(resource_pool());
    out.principal_type = principal.type;
    out.principal_id = principal.id;
    out.action_type = action.type;
    out.action_id = action.id;
    out.resource_type = resource.type;
    out.resource_id = resource.id;
    out.context_json = context_json();
    return out;
  }

 private:
  struct Uid {
    std::string type;
    std::string id;
    int rank = 0;  // parents only have a higher rank, so the graph is acyclic
  };
  enum class Type { kBool, kLong, kString, kEntity, kSet, kRecord, kIp, kDecimal };
  struct Text {
    std::string text;
    int level;  // 0 if, 1 ||, 2 &&, 3 relation, 4 +-, 5 *, 6 unary, 7 member/primary
  };

  // --- PRNG (splitmix64) ---
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  // Returns a copy: callers often pass temporaries.
  template <typename T>
  T pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

  // --- the world ---
  void build_world() {
    all_ = {
        {"User", "alice", 0},         {"User", "bob", 0},         {"User", "carol", 0},
        {"Custos::Device", "d1", 0},  {"Custos::Device", "d2", 0}, {"Doc", "doc1", 1},
        {"Doc", "doc2", 0},           {"Doc", "doc3", 0},          {"Group", "admins", 2},
        {"Group", "ops", 2},          {"Group", "all", 3},         {"Site", "north", 2},
        {"Site", "south", 2},         {"Custos::Org::Team", "red", 3},
    };
    actions_ = {{"Action", "read", 0},
                {"Action", "write", 0},
                {"Action", "delete", 0},
                {"Action", "readOnly", 1},
                {"Action", "any", 2}};
    ghosts_ = {{"User", "ghost", 0}, {"Doc", "missing", 0}, {"Group", "nobody", 2}};
    present_.clear();
    for (size_t i = 0; i < all_.size(); ++i) present_.push_back(!chance(12));
  }

  std::vector<Uid> principal_pool() const {
    std::vector<Uid> pool(all_.begin(), all_.begin() + 5);
    pool.push_back(all_[8]);
    pool.push_back(ghosts_[0]);
    return pool;
  }
  std::vector<Uid> resource_pool() const {
    std::vector<Uid> pool(all_.begin() + 3, all_.begin() + 8);
    pool.push_back(all_[11]);
    pool.push_back(ghosts_[1]);
    return pool;
  }
  std::vector<Uid> every_uid() const {
    std::vector<Uid> pool = all_;
    pool.insert(pool.end(), actions_.begin(), actions_.end());
    pool.insert(pool.end(), ghosts_.begin(), ghosts_.end());
    return pool;
  }

  static void write_uid(JsonWriter& writer, const Uid& uid) {
    writer.begin_object().key("type").string(uid.type).key("id").string(uid.id).end_object();
  }

  std::string entities_json() {
    JsonWriter writer;
    writer.begin_array();
    auto write_entity = [&](const Uid& uid, const std::vector<Uid>& candidates) {
      writer.begin_object().key("uid");
      write_uid(writer, uid);
      writer.key("attrs").begin_object();
      if (uid.type != "Action" || chance(30)) entity_attributes(writer);
      writer.end_object();
      writer.key("parents").begin_array();
      for (const Uid& parent : candidates) {
        if (parent.rank > uid.rank && chance(35)) write_uid(writer, parent);
      }
      if (chance(uid.type == "Action" ? 1 : 5)) write_uid(writer, ghosts_[2]);
      writer.end_array();
      writer.end_object();
    };
    for (size_t i = 0; i < all_.size(); ++i) {
      if (present_[i]) write_entity(all_[i], all_);
    }
    for (const Uid& action : actions_) {
      if (!chance(10)) write_entity(action, actions_);
    }
    writer.end_array();
    return writer.take();
  }

  // Attribute values in Cedar JSON; usually the expected type, sometimes not.
  void json_value(JsonWriter& writer, Type type, int depth = 0) {
    switch (type) {
      case Type::kBool: writer.boolean(chance(50)); break;
      case Type::kLong: writer.number(json_long_value()); break;
      case Type::kString: writer.string(pick(strings())); break;
      case Type::kEntity:
        writer.begin_object().key("__entity");
        write_uid(writer, pick(every_uid()));
        writer.end_object();
        break;
      case Type::kSet: {
        writer.begin_array();
        Type element = chance(15) ? random_type() : pick(std::vector<Type>{Type::kString, Type::kLong, Type::kEntity});
        int n = static_cast<int>(below(4));
        for (int i = 0; i < n; ++i) json_value(writer, chance(10) ? random_type() : element, depth + 1);
        writer.end_array();
        break;
      }
      case Type::kRecord: {
        writer.begin_object();
        writer.key("depth").number(json_long_value());
        if (chance(70)) writer.key("label").string(pick(strings()));
        if (depth < 2 && chance(60)) {
          writer.key("nested");
          json_value(writer, Type::kRecord, depth + 1);
        }
        if (chance(30)) {
          writer.key("who");
          json_value(writer, Type::kEntity, depth + 1);
        }
        writer.end_object();
        break;
      }
      case Type::kIp:
        writer.begin_object().key("__extn").begin_object();
        writer.key("fn").string("ip").key("arg").string(pick(valid_ips()));
        writer.end_object().end_object();
        break;
      case Type::kDecimal:
        writer.begin_object().key("__extn").begin_object();
        writer.key("fn").string("decimal").key("arg").string(pick(valid_decimals()));
        writer.end_object().end_object();
        break;
    }
  }

  struct Attr {
    const char* name;
    Type type;
  };
  static const std::vector<Attr>& entity_attrs() {
    static const std::vector<Attr> attrs = {
        {"level", Type::kLong},     {"name", Type::kString},  {"active", Type::kBool},
        {"tags", Type::kSet},       {"owner", Type::kEntity}, {"addr", Type::kIp},
        {"score", Type::kDecimal},  {"info", Type::kRecord},  {"big", Type::kLong},
    };
    return attrs;
  }
  static const std::vector<Attr>& context_attrs() {
    static const std::vector<Attr> attrs = {
        {"ip", Type::kIp},       {"amount", Type::kLong}, {"flag", Type::kBool},
        {"str", Type::kString},  {"roles", Type::kSet},   {"rec", Type::kRecord},
        {"dec", Type::kDecimal}, {"who", Type::kEntity},  {"n", Type::kLong},
    };
    return attrs;
  }

  void entity_attributes(JsonWriter& writer) {
    for (const Attr& attr : entity_attrs()) {
      if (!chance(70)) continue;
      writer.key(attr.name);
      json_value(writer, chance(8) ? random_type() : attr.type);
    }
  }

  std::string context_json() {
    JsonWriter writer;
    writer.begin_object();
    for (const Attr& attr : context_attrs()) {
      if (!chance(75)) continue;
      writer.key(attr.name);
      json_value(writer, chance(8) ? random_type() : attr.type);
    }
    writer.end_object();
    return writer.take();
  }

  // --- value pools ---
  static const std::vector<std::string>& strings() {
    static const std::vector<std::string> pool = {
        "",      "alice", "bob",    "a*b",  "north-1", "h\xc3\xa9llo", "say \"hi\"",
        "back\\slash", "x\ny", "abcabc", "*", "ops",   "NORTH",        "10.0.0.1",
        "1.5",   "doc1"};
    return pool;
  }
  static const std::vector<std::string>& valid_ips() {
    static const std::vector<std::string> pool = {
        "10.0.0.1",     "10.0.0.0/8",  "10.1.2.3/24", "127.0.0.1",   "127.5.0.0/16",
        "127.0.0.1/4",  "224.0.0.1",   "239.1.1.1/8", "224.0.0.0/3", "192.168.1.10",
        "0.0.0.0/0",    "::1",         "::1/64",      "ff02::1",     "ff00::/8",
        "fe80::1/10",   "2001:db8::1", "2001:db8::/32", "::/0",      "::",
        "1:2:3:4:5:6:7:8", "255.255.255.255/32"};
    return pool;
  }
  static const std::vector<std::string>& invalid_ips() {
    static const std::vector<std::string> pool = {"1.2.3",        "hello", "1.2.3.4/33",
                                                  "::ffff:1.2.3.4", "010.0.0.1", "10.0.0.0/024",
                                                  "1::2::3",      "",      "::/129"};
    return pool;
  }
  static const std::vector<std::string>& valid_decimals() {
    static const std::vector<std::string> pool = {
        "0.0",   "1.5",    "-1.5",   "1.50",   "2.0001", "-0.0001", "100.25", "01.5",
        "922337203685477.5807", "-922337203685477.5808", "3.14",     "-3.1416"};
    return pool;
  }
  static const std::vector<std::string>& invalid_decimals() {
    static const std::vector<std::string> pool = {"1",     "1.",    "1.23456", "abc",
                                                  "922337203685477.5808", "-.5", "1.2.3", ""};
    return pool;
  }

  int64_t long_value() {
    switch (below(8)) {
      case 0: return INT64_MAX - static_cast<int64_t>(below(3));
      case 1: return INT64_MIN + static_cast<int64_t>(below(3));
      case 2: return static_cast<int64_t>(below(3037000500)) * (chance(50) ? 1 : -1);
      default: return static_cast<int64_t>(below(21)) - 5;
    }
  }

  // Entity and context JSON passes through JavaScript numbers on the oracle
  // side, which are exact only up to 2^53; larger longs appear in policy text.
  int64_t json_long_value() {
    constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;
    switch (below(8)) {
      case 0: return kMaxSafe - static_cast<int64_t>(below(3));
      case 1: return -kMaxSafe + static_cast<int64_t>(below(3));
      case 2: return static_cast<int64_t>(below(3037000500)) * (chance(50) ? 1 : -1);
      default: return static_cast<int64_t>(below(21)) - 5;
    }
  }

  Type random_type() { return static_cast<Type>(below(8)); }

  // --- printing ---
  static std::string quote(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\t': out += "\\t"; break;
        case '\0': out += "\\0"; break;
        default: out += c;
      }
    }
    return out + "\"";
  }
  static std::string uid_text(const Uid& uid) { return uid.type + "::" + quote(uid.id); }
  static std::string wrap(const Text& t, int min_level) {
    return t.level >= min_level ? t.text : "(" + t.text + ")";
  }
  Text paren_maybe(Text t) {
    if (chance(5)) return {"(" + t.text + ")", 7};
    return t;
  }

  std::string long_literal(int64_t value) {
    if (value == INT64_MIN) return "-9223372036854775808";
    return std::to_string(value);
  }
  Text long_text(int64_t value) { return {long_literal(value), value < 0 ? 6 : 7}; }

  // --- expressions ---
  Text expr(Type type, int depth) {
    if (depth <= 0 || chance(25)) return paren_maybe(leaf(chance(6) ? random_type() : type));
    if (chance(6)) type = random_type();  // deliberate type confusion
    if (chance(6)) return if_then_else(type, depth);
    switch (type) {
      case Type::kBool: return paren_maybe(bool_expr(depth));
      case Type::kLong: return paren_maybe(long_expr(depth));
      case Type::kSet: return paren_maybe(set_expr(depth));
      case Type::kRecord: return paren_maybe(record_expr(depth));
      case Type::kIp:
        if (chance(30)) return {"ip(" + expr(Type::kString, depth - 1).text + ")", 7};
        return leaf(type);
      case Type::kDecimal:
        if (chance(30)) return {"decimal(" + expr(Type::kString, depth - 1).text + ")", 7};
        return leaf(type);
      default:
        if (chance(40)) return attr_access(type, depth);
        return leaf(type);
    }
  }

  Text if_then_else(Type type, int depth) {
    return {"if " + expr(Type::kBool, depth - 1).text + " then " + expr(type, depth - 1).text +
                " else " + expr(type, depth - 1).text,
            0};
  }

  Text attr_access(Type type, int depth) {
    // An attribute chosen by name from the entity or context attribute lists
    // (typed to match `type` when possible), read from a var or expression.
    bool from_context = chance(40);
    const auto& attrs = from_context ? context_attrs() : entity_attrs();
    std::vector<Attr> matching;
    for (const Attr& attr : attrs) {
      if (attr.type == type) matching.push_back(attr);
    }
    Attr attr = matching.empty() || chance(10) ? pick(attrs) : pick(matching);
    std::string name = chance(8) ? "nope" : attr.name;
    std::string base;
    if (from_context) {
      base = "context";
    } else if (chance(70)) {
      base = pick(std::vector<std::string>{"principal", "resource", "principal", "action"});
    } else {
      base = wrap(expr(Type::kEntity, depth - 1), 7);
    }
    if (chance(15)) return {base + "[" + quote(name) + "]", 7};
    return {base + "." + name, 7};
  }

  Text leaf(Type type) {
    switch (type) {
      case Type::kBool:
        if (chance(50)) return {chance(50) ? "true" : "false", 7};
        return {"context.flag", 7};
      case Type::kLong:
        if (chance(35)) {
          return {pick(std::vector<std::string>{"principal.level", "resource.level", "context.amount",
                                                "context.n", "principal.big", "context.rec.depth",
                                                "principal.info.nested.depth"}),
                  7};
        }
        return long_text(long_value());
      case Type::kString:
        if (chance(30)) {
          return {pick(std::vector<std::string>{"principal.name", "context.str", "resource.name",
                                                "context.rec.label"}),
                  7};
        }
        return {quote(pick(strings())), 7};
      case Type::kEntity:
        switch (below(6)) {
          case 0: return {"principal", 7};
          case 1: return {"resource", 7};
          case 2: return {"action", 7};
          case 3: return {pick(std::vector<std::string>{"principal.owner", "context.who", "resource.owner"}), 7};
          default: return {uid_text(pick(every_uid())), 7};
        }
      case Type::kSet:
        if (chance(40)) {
          return {pick(std::vector<std::string>{"principal.tags", "context.roles", "resource.tags"}), 7};
        }
        return set_literal();
      case Type::kRecord:
        if (chance(50)) {
          return {pick(std::vector<std::string>{"context", "context.rec", "principal.info",
                                                "resource.info", "context.rec.nested"}),
                  7};
        }
        return record_literal(1);
      case Type::kIp:
        if (chance(30)) return {pick(std::vector<std::string>{"context.ip", "principal.addr"}), 7};
        return {"ip(" + quote(chance(12) ? pick(invalid_ips()) : pick(valid_ips())) + ")", 7};
      case Type::kDecimal:
        if (chance(30)) return {pick(std::vector<std::string>{"context.dec", "principal.score"}), 7};
        return {"decimal(" + quote(chance(12) ? pick(invalid_decimals()) : pick(valid_decimals())) + ")", 7};
    }
    return {"true", 7};
  }

  Text set_literal() {
    Type element = pick(std::vector<Type>{Type::kString, Type::kLong, Type::kEntity, Type::kEntity});
    int n = static_cast<int>(below(4));
    std::string text = "[";
    for (int i = 0; i < n; ++i) {
      if (i) text += ", ";
      text += leaf(chance(10) ? random_type() : element).text;
    }
    return {text + "]", 7};
  }

  Text record_literal(int depth) {
    static const std::vector<std::string> keys = {"depth", "label", "nested", "x", "\"odd key\"", "who"};
    std::string text = "{";
    int n = static_cast<int>(below(4));
    std::vector<std::string> used;
    for (int i = 0; i < n; ++i) {
      std::string key = pick(keys);
      bool dup = false;
      for (const auto& u : used) dup = dup || u == key;
      if (dup) continue;
      used.push_back(key);
      if (text.size() > 1) text += ", ";
      text += key + ": " + expr(random_type(), depth - 1).text;
    }
    return {text + "}", 7};
  }

  Text set_expr(int depth) {
    if (chance(50)) return leaf(Type::kSet);
    Type element = pick(std::vector<Type>{Type::kString, Type::kLong, Type::kEntity});
    int n = static_cast<int>(below(4));
    std::string text = "[";
    for (int i = 0; i < n; ++i) {
      if (i) text += ", ";
      text += expr(chance(10) ? random_type() : element, depth - 1).text;
    }
    return {text + "]", 7};
  }

  Text record_expr(int depth) {
    if (chance(50)) return leaf(Type::kRecord);
    return record_literal(depth);
  }

  Text long_expr(int depth) {
    switch (below(6)) {
      case 0:
      case 1: {
        Text lhs = expr(Type::kLong, depth - 1);
        Text rhs = expr(Type::kLong, depth - 1);
        bool plus = chance(50);
        return {wrap(lhs, 4) + (plus ? " + " : " - ") + wrap(rhs, 5), 4};
      }
      case 2: {
        Text lhs = expr(Type::kLong, depth - 1);
        Text rhs = expr(Type::kLong, depth - 1);
        return {wrap(lhs, 5) + " * " + wrap(rhs, 6), 5};
      }
      case 3: {
        Text operand = expr(Type::kLong, depth - 1);
        int count = 1 + static_cast<int>(below(2));
        std::string prefix = count == 1 ? "-" : "- -";
        return {prefix + wrap(operand, 7), 6};
      }
      case 4: return attr_access(Type::kLong, depth);
      default: return leaf(Type::kLong);
    }
  }

  std::string pattern_text() {
    static const std::vector<std::string> pieces = {"a", "b", "abc", "north", "-", "h\xc3\xa9", "1",
                                                    ".", "x", "o", "\""};
    std::string text = "\"";
    int n = 1 + static_cast<int>(below(4));
    for (int i = 0; i < n; ++i) {
      switch (below(4)) {
        case 0: text += "*"; break;
        case 1: text += "\\*"; break;
        default: {
          std::string piece = pick(pieces);
          text += piece == "\"" ? "\\\"" : piece;
        }
      }
    }
    return text + "\"";
  }

  std::string type_name() {
    return pick(std::vector<std::string>{"User", "Doc", "Group", "Custos::Device", "Action", "Site",
                                         "Custos::Org::Team", "Device"});
  }

  Text bool_expr(int depth) {
    switch (below(20)) {
      case 0:
      case 1: {
        Type t = random_type();
        Text lhs = expr(t, depth - 1);
        Text rhs = expr(chance(75) ? t : random_type(), depth - 1);
        return {wrap(lhs, 4) + (chance(70) ? " == " : " != ") + wrap(rhs, 4), 3};
      }
      case 2:
      case 3: {
        static const char* ops[] = {" < ", " <= ", " > ", " >= "};
        Text lhs = expr(Type::kLong, depth - 1);
        Text rhs = expr(Type::kLong, depth - 1);
        return {wrap(lhs, 4) + ops[below(4)] + wrap(rhs, 4), 3};
      }
      case 4: {
        Text lhs = expr(Type::kBool, depth - 1);
        Text rhs = expr(Type::kBool, depth - 1);
        return {wrap(lhs, 2) + " && " + wrap(rhs, 3), 2};
      }
      case 5: {
        Text lhs = expr(Type::kBool, depth - 1);
        Text rhs = expr(Type::kBool, depth - 1);
        return {wrap(lhs, 1) + " || " + wrap(rhs, 2), 1};
      }
      case 6: {
        Text operand = expr(Type::kBool, depth - 1);
        return {std::string(chance(80) ? "!" : "!!") + wrap(operand, 7), 6};
      }
      case 7:
      case 8: {
        Text lhs = expr(Type::kEntity, depth - 1);
        Text rhs = expr(chance(60) ? Type::kEntity : Type::kSet, depth - 1);
        return {wrap(lhs, 4) + " in " + wrap(rhs, 4), 3};
      }
      case 9: {
        Text lhs = expr(chance(50) ? Type::kEntity : Type::kRecord, depth - 1);
        std::string attr = pick(std::vector<std::string>{"level", "name", "owner", "tags", "info",
                                                         "depth", "label", "nested", "\"odd key\"",
                                                         "info.nested", "nested.depth", "flag", "ip"});
        return {wrap(lhs, 4) + " has " + attr, 3};
      }
      case 10: {
        Text lhs = expr(Type::kString, depth - 1);
        return {wrap(lhs, 4) + " like " + pattern_text(), 3};
      }
      case 11: {
        Text lhs = expr(Type::kEntity, depth - 1);
        std::string text = wrap(lhs, 4) + " is " + type_name();
        if (chance(40)) text += " in " + wrap(expr(chance(70) ? Type::kEntity : Type::kSet, depth - 1), 4);
        return {text, 3};
      }
      case 12: {
        Text receiver = expr(Type::kSet, depth - 1);
        std::string method = pick(std::vector<std::string>{"contains", "containsAll", "containsAny"});
        Text arg = expr(method == "contains" ? pick(std::vector<Type>{Type::kString, Type::kLong, Type::kEntity})
                                             : Type::kSet,
                        depth - 1);
        return {wrap(receiver, 7) + "." + method + "(" + arg.text + ")", 7};
      }
      case 13: return {wrap(expr(Type::kSet, depth - 1), 7) + ".isEmpty()", 7};
      case 14: {
        Text receiver = expr(Type::kIp, depth - 1);
        std::string method = pick(std::vector<std::string>{"isIpv4", "isIpv6", "isLoopback",
                                                           "isMulticast", "isInRange"});
        std::string arg = method == "isInRange" ? expr(Type::kIp, depth - 1).text : "";
        return {wrap(receiver, 7) + "." + method + "(" + arg + ")", 7};
      }
      case 15: {
        Text receiver = expr(Type::kDecimal, depth - 1);
        std::string method = pick(std::vector<std::string>{"lessThan", "lessThanOrEqual",
                                                           "greaterThan", "greaterThanOrEqual"});
        return {wrap(receiver, 7) + "." + method + "(" + expr(Type::kDecimal, depth - 1).text + ")", 7};
      }
      case 16: return attr_access(Type::kBool, depth);
      default: return leaf(Type::kBool);
    }
  }

  // --- policies ---
  std::string scope_entity(const std::vector<Uid>& pool) {
    return uid_text(chance(90) ? pick(pool) : pick(ghosts_));
  }

  std::string principal_or_resource(const char* var) {
    std::vector<Uid> pool = every_uid();
    switch (below(7)) {
      case 0: return std::string(var) + " == " + scope_entity(std::string(var) == "principal" ? principal_pool() : resource_pool());
      case 1: return std::string(var) + " in " + scope_entity(all_);
      case 2: return std::string(var) + " is " + type_name();
      case 3: return std::string(var) + " is " + type_name() + " in " + scope_entity(all_);
      default: return var;
    }
  }

  std::string action_scope() {
    switch (below(6)) {
      case 0: return "action == " + uid_text(pick(actions_));
      case 1: return "action in " + uid_text(pick(actions_));
      case 2: {
        std::string text = "action in [";
        int n = static_cast<int>(below(3));
        for (int i = 0; i < n; ++i) text += (i ? ", " : "") + uid_text(pick(actions_));
        return text + "]";
      }
      default: return "action";
    }
  }

  std::string policy() {
    std::string text;
    if (chance(10)) text += "// generated\n";
    if (chance(15)) text += "@advice(" + quote(pick(strings())) + ")\n";
    text += chance(65) ? "permit" : "forbid";
    text += " (" + principal_or_resource("principal") + ", " + action_scope() + ", " +
            principal_or_resource("resource") + ")";
    int conditions = static_cast<int>(below(3));
    for (int i = 0; i < conditions; ++i) {
      text += chance(75) ? " when { " : " unless { ";
      text += expr(chance(92) ? Type::kBool : random_type(), 1 + static_cast<int>(below(4))).text;
      text += " }";
    }
    return text + ";";
  }

  uint64_t state_;
  std::vector<Uid> all_, actions_, ghosts_;
  std::vector<bool> present_;
};

}  // namespace custos::policy::testing
