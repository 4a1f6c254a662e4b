// The canonical policy.set payload (policy_store.h).
#include <simdjson.h>

#include "custos/core/json_writer.h"
#include "custos/policy/policy_store.h"

namespace custos::policy {

namespace {
constexpr std::string_view kPayloadPrefix = "{\"v\":1,\"op\":\"policy.set\"";
}  // namespace

std::string encode_policy_change(const PolicyChange& change) {
  JsonWriter writer;
  writer.begin_object()
      .key("v").number(kPolicyPayloadVersion)
      .key("op").string(kPolicySetOp)
      .key("actor").string(change.actor)
      .key("decision_id").string(change.decision_id)
      .key("version").number(change.version)
      .key("sha256").string(change.sha256.hex())
      .key("text").string(change.text)
      .end_object();
  return writer.take();
}

Result<PolicyChange> decode_policy_change(std::string_view payload) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(payload);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    return invalid_argument(std::string("policy change is not JSON: ") +
                            simdjson::error_message(error));
  }
  simdjson::dom::object object;
  if (root.get_object().get(object)) return invalid_argument("policy change is not an object");
  int64_t format = 0;
  std::string_view op, actor, decision_id, sha256_hex, text;
  uint64_t version = 0;
  auto missing = [](std::string_view field) {
    return invalid_argument("policy change: missing or mistyped field \"" + std::string(field) +
                            "\"");
  };
  if (object["v"].get_int64().get(format)) return missing("v");
  if (object["op"].get_string().get(op)) return missing("op");
  if (object["actor"].get_string().get(actor)) return missing("actor");
  if (object["decision_id"].get_string().get(decision_id)) return missing("decision_id");
  if (object["version"].get_uint64().get(version)) return missing("version");
  if (object["sha256"].get_string().get(sha256_hex)) return missing("sha256");
  if (object["text"].get_string().get(text)) return missing("text");
  if (format != kPolicyPayloadVersion) {
    return invalid_argument("unsupported policy change version " + std::to_string(format));
  }
  if (op != kPolicySetOp) {
    return invalid_argument("not a policy.set change: \"" + std::string(op) + "\"");
  }
  if (version == 0) return invalid_argument("policy change: version must be at least 1");
  auto digest = Hash256::from_hex(sha256_hex);
  if (!digest.is_ok()) return invalid_argument("policy change: sha256 is not 32 bytes of hex");
  PolicyChange change{std::string(actor), std::string(decision_id), version, *digest,
                      std::string(text)};
  if (sha256(change.text) != change.sha256) {
    return invalid_argument("policy change: sha256 does not match the text");
  }
  if (encode_policy_change(change) != payload) {
    return invalid_argument("policy change is not in canonical form");
  }
  return change;
}

bool is_policy_payload(ByteView payload) {
  std::string_view text = as_text(payload);
  return text.substr(0, kPayloadPrefix.size()) == kPayloadPrefix;
}

}  // namespace custos::policy
