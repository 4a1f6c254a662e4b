#include "custos/identity/control_change.h"

#include <simdjson.h>

#include <array>
#include <type_traits>

#include "custos/core/json_writer.h"

namespace custos::identity {
namespace {

constexpr std::array<std::string_view, 11> kOpNames = {
    "principal.create",  "principal.update",    "principal.status", "key.add",      "key.expire",
    "enrollment.create", "enrollment.complete", "token.create",     "token.revoke", "user.password",
    "user.totp"};
static_assert(kOpNames.size() == std::variant_size_v<ControlChange>);

constexpr std::string_view kPayloadPrefix = "{\"v\":1,\"op\":\"";

void write_set(JsonWriter& writer, const std::set<std::string>& values) {
  writer.begin_array();
  for (const std::string& value : values) writer.string(value);
  writer.end_array();
}

void write_map(JsonWriter& writer, const std::map<std::string, std::string>& values) {
  writer.begin_object();
  for (const auto& [name, value] : values) writer.key(name).string(value);
  writer.end_object();
}

void write_fields(JsonWriter& w, const PrincipalCreate& c) {
  const PrincipalAttributes& a = c.attributes;
  w.key("id").string(a.id);
  w.key("kind").string(principal_kind_name(a.kind));
  w.key("subtype").string(device_subtype_name(a.subtype));
  w.key("display_name").string(a.display_name);
  w.key("site").string(a.site);
  w.key("zone").string(a.zone);
  w.key("roles");
  write_set(w, a.roles);
  w.key("vendor").string(a.vendor);
  w.key("shift").string(a.shift);
  w.key("tags");
  write_map(w, a.tags);
}

void write_fields(JsonWriter& w, const PrincipalUpdate& c) {
  w.key("id").string(c.id);
  if (c.display_name) w.key("display_name").string(*c.display_name);
  if (c.site) w.key("site").string(*c.site);
  if (c.zone) w.key("zone").string(*c.zone);
  if (c.roles) write_set(w.key("roles"), *c.roles);
  if (c.vendor) w.key("vendor").string(*c.vendor);
  if (c.shift) w.key("shift").string(*c.shift);
  if (c.tags) write_map(w.key("tags"), *c.tags);
}

void write_fields(JsonWriter& w, const PrincipalStatusChange& c) {
  w.key("id").string(c.id);
  w.key("status").string(principal_status_name(c.status));
  w.key("reason").string(c.reason);
}

void write_fields(JsonWriter& w, const KeyAdd& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("key_id").string(c.key_id);
  w.key("public_key").string(base64_encode(c.public_key.view()));
  w.key("not_before").number(int64_t{c.not_before});
  if (c.not_after) w.key("not_after").number(int64_t{*c.not_after});
}

void write_fields(JsonWriter& w, const KeyExpire& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("key_id").string(c.key_id);
  w.key("not_after").number(int64_t{c.not_after});
}

void write_fields(JsonWriter& w, const EnrollmentCreate& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("token_hash").string(c.token_hash.hex());
  w.key("expires_at").number(int64_t{c.expires_at});
}

void write_fields(JsonWriter& w, const EnrollmentComplete& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("token_hash").string(c.token_hash.hex());
  w.key("key_id").string(c.key_id);
  w.key("public_key").string(base64_encode(c.public_key.view()));
  w.key("not_before").number(int64_t{c.not_before});
  w.key("proof").string(base64_encode(c.proof.view()));
}

void write_fields(JsonWriter& w, const TokenCreate& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("token_id").string(c.token_id);
  w.key("token_hash").string(c.token_hash.hex());
  w.key("scopes");
  write_set(w, c.scopes);
  w.key("expires_at").number(int64_t{c.expires_at});
}

void write_fields(JsonWriter& w, const TokenRevoke& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("token_id").string(c.token_id);
}

void write_fields(JsonWriter& w, const UserPassword& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("password_commitment").string(c.password_commitment.hex());
}

void write_fields(JsonWriter& w, const UserTotp& c) {
  w.key("principal_id").string(c.principal_id);
  w.key("totp_commitment").string(c.totp_commitment.hex());
}

// Reads typed fields out of one JSON object, keeping the first error.
class FieldReader {
 public:
  explicit FieldReader(simdjson::dom::object object) : object_(object) {}

  const Status& status() const { return status_; }

  bool has(std::string_view name) {
    simdjson::dom::element element;
    return !object_[name].get(element);
  }

  std::string text(std::string_view name) {
    std::string_view value;
    if (object_[name].get_string().get(value)) {
      fail(name, "a string");
      return {};
    }
    return std::string(value);
  }
  std::optional<std::string> optional_text(std::string_view name) {
    if (!has(name)) return std::nullopt;
    return text(name);
  }

  int64_t integer(std::string_view name) {
    int64_t value = 0;
    if (object_[name].get_int64().get(value)) fail(name, "an integer");
    return value;
  }
  std::optional<int64_t> optional_integer(std::string_view name) {
    if (!has(name)) return std::nullopt;
    return integer(name);
  }

  std::set<std::string> text_set(std::string_view name) {
    std::set<std::string> values;
    simdjson::dom::array array;
    if (object_[name].get_array().get(array)) {
      fail(name, "an array of strings");
      return values;
    }
    for (simdjson::dom::element element : array) {
      std::string_view value;
      if (element.get_string().get(value)) {
        fail(name, "an array of strings");
        break;
      }
      values.emplace(value);
    }
    return values;
  }
  std::optional<std::set<std::string>> optional_text_set(std::string_view name) {
    if (!has(name)) return std::nullopt;
    return text_set(name);
  }

  std::map<std::string, std::string> text_map(std::string_view name) {
    std::map<std::string, std::string> values;
    simdjson::dom::object object;
    if (object_[name].get_object().get(object)) {
      fail(name, "an object of strings");
      return values;
    }
    for (auto field : object) {
      std::string_view value;
      if (field.value.get_string().get(value)) {
        fail(name, "an object of strings");
        break;
      }
      values.emplace(std::string(field.key), std::string(value));
    }
    return values;
  }
  std::optional<std::map<std::string, std::string>> optional_text_map(std::string_view name) {
    if (!has(name)) return std::nullopt;
    return text_map(name);
  }

  Hash256 hash(std::string_view name) {
    auto hash = Hash256::from_hex(text(name));
    if (!hash.is_ok()) {
      fail(name, "64 hex digits");
      return {};
    }
    return *hash;
  }

  Ed25519PublicKey public_key(std::string_view name) {
    auto bytes = base64_decode(text(name));
    if (bytes.is_ok()) {
      auto key = Ed25519PublicKey::from_bytes(*bytes);
      if (key.is_ok()) return *key;
    }
    fail(name, "a base64 Ed25519 public key");
    return {};
  }

  Ed25519Signature signature(std::string_view name) {
    auto bytes = base64_decode(text(name));
    if (bytes.is_ok()) {
      auto signature = Ed25519Signature::from_bytes(*bytes);
      if (signature.is_ok()) return *signature;
    }
    fail(name, "a base64 Ed25519 signature");
    return {};
  }

  template <typename Enum>
  Enum named(std::string_view name, Result<Enum> (*parse)(std::string_view)) {
    std::string value = text(name);
    if (!status_.is_ok()) return Enum{};
    auto parsed = parse(value);
    if (!parsed.is_ok()) {
      if (status_.is_ok()) status_ = parsed.status().with_context(std::string(name));
      return Enum{};
    }
    return *parsed;
  }

 private:
  void fail(std::string_view name, std::string_view expected) {
    if (status_.is_ok()) {
      status_ =
          invalid_argument("field \"" + std::string(name) + "\" must be " + std::string(expected));
    }
  }

  simdjson::dom::object object_;
  Status status_;
};

ControlChange read_change(FieldReader& r, size_t op) {
  switch (op) {
    case 0: {
      PrincipalCreate c;
      PrincipalAttributes& a = c.attributes;
      a.id = r.text("id");
      a.kind = r.named("kind", &parse_principal_kind);
      a.subtype = r.named("subtype", &parse_device_subtype);
      a.display_name = r.text("display_name");
      a.site = r.text("site");
      a.zone = r.text("zone");
      a.roles = r.text_set("roles");
      a.vendor = r.text("vendor");
      a.shift = r.text("shift");
      a.tags = r.text_map("tags");
      return c;
    }
    case 1: {
      PrincipalUpdate c;
      c.id = r.text("id");
      c.display_name = r.optional_text("display_name");
      c.site = r.optional_text("site");
      c.zone = r.optional_text("zone");
      c.roles = r.optional_text_set("roles");
      c.vendor = r.optional_text("vendor");
      c.shift = r.optional_text("shift");
      c.tags = r.optional_text_map("tags");
      return c;
    }
    case 2:
      return PrincipalStatusChange{r.text("id"), r.named("status", &parse_principal_status),
                                   r.text("reason")};
    case 3: {
      KeyAdd c;
      c.principal_id = r.text("principal_id");
      c.key_id = r.text("key_id");
      c.public_key = r.public_key("public_key");
      c.not_before = r.integer("not_before");
      c.not_after = r.optional_integer("not_after");
      return c;
    }
    case 4: {
      KeyExpire c;
      c.principal_id = r.text("principal_id");
      c.key_id = r.text("key_id");
      c.not_after = r.integer("not_after");
      return c;
    }
    case 5: {
      EnrollmentCreate c;
      c.principal_id = r.text("principal_id");
      c.token_hash = r.hash("token_hash");
      c.expires_at = r.integer("expires_at");
      return c;
    }
    case 6: {
      EnrollmentComplete c;
      c.principal_id = r.text("principal_id");
      c.token_hash = r.hash("token_hash");
      c.key_id = r.text("key_id");
      c.public_key = r.public_key("public_key");
      c.not_before = r.integer("not_before");
      c.proof = r.signature("proof");
      return c;
    }
    case 7: {
      TokenCreate c;
      c.principal_id = r.text("principal_id");
      c.token_id = r.text("token_id");
      c.token_hash = r.hash("token_hash");
      c.scopes = r.text_set("scopes");
      c.expires_at = r.integer("expires_at");
      return c;
    }
    case 8: {
      TokenRevoke c;
      c.principal_id = r.text("principal_id");
      c.token_id = r.text("token_id");
      return c;
    }
    case 9: {
      UserPassword c;
      c.principal_id = r.text("principal_id");
      c.password_commitment = r.hash("password_commitment");
      return c;
    }
    default: {
      UserTotp c;
      c.principal_id = r.text("principal_id");
      c.totp_commitment = r.hash("totp_commitment");
      return c;
    }
  }
}

}  // namespace

std::string_view control_op_name(const ControlChange& change) { return kOpNames[change.index()]; }

std::string encode_control_change(const ControlChange& change, std::string_view actor,
                                  std::string_view decision_id) {
  JsonWriter writer;
  writer.begin_object();
  writer.key("v").number(kControlFormatVersion);
  writer.key("op").string(control_op_name(change));
  writer.key("actor").string(actor);
  writer.key("decision_id").string(decision_id);
  std::visit([&](const auto& fields) { write_fields(writer, fields); }, change);
  writer.end_object();
  return writer.take();
}

Result<DecodedControlChange> decode_control_change(std::string_view payload) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(payload);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return invalid_argument(std::string("control change is not JSON: ") +
                            simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return invalid_argument("control change is not an object");
  FieldReader reader(object);
  int64_t version = reader.integer("v");
  std::string op = reader.text("op");
  DecodedControlChange decoded{PrincipalCreate{}, reader.text("actor"), reader.text("decision_id")};
  CUSTOS_RETURN_IF_ERROR(reader.status());
  if (version != kControlFormatVersion) {
    return invalid_argument("unsupported control change version " + std::to_string(version));
  }
  size_t op_index = 0;
  while (op_index < kOpNames.size() && kOpNames[op_index] != op) ++op_index;
  if (op_index == kOpNames.size()) return invalid_argument("unknown control op \"" + op + "\"");
  decoded.change = read_change(reader, op_index);
  CUSTOS_RETURN_IF_ERROR(reader.status().with_context(op));
  if (encode_control_change(decoded.change, decoded.actor, decoded.decision_id) != payload) {
    return invalid_argument("control change " + op + " is not in canonical form");
  }
  return decoded;
}

bool is_identity_payload(ByteView payload) {
  std::string_view text = as_text(payload);
  if (text.substr(0, kPayloadPrefix.size()) != kPayloadPrefix) return false;
  text.remove_prefix(kPayloadPrefix.size());
  for (std::string_view op : kOpNames) {
    if (text.size() > op.size() && text.substr(0, op.size()) == op && text[op.size()] == '"') {
      return true;
    }
  }
  return false;
}

Hash256 secret_commitment(std::string_view purpose, std::string_view principal_id,
                          ByteView secret) {
  Sha256 hasher;
  hasher.update(as_bytes("custos-identity-secret-v1\n"));
  hasher.update(as_bytes(purpose));
  hasher.update(uint8_t{'\n'});
  hasher.update(as_bytes(principal_id));
  hasher.update(uint8_t{'\n'});
  hasher.update(secret);
  return hasher.final();
}

std::string enrollment_proof_message(std::string_view principal_id,
                                     const Ed25519PublicKey& public_key, std::string_view token) {
  std::string message = "custos-enroll-v1\n";
  message.append(principal_id);
  message += '\n';
  message += base64_encode(public_key.view());
  message += '\n';
  message.append(token);
  return message;
}

std::string key_id_for(const Ed25519PublicKey& public_key) {
  Hash256 digest = sha256(public_key.view());
  return hex_encode(ByteView(digest.bytes.data(), 16));
}

}  // namespace custos::identity
