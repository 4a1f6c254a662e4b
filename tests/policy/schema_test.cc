// Schema validation: every refusal names the exact line:column of the
// offending token, the shipped default policy set validates clean, and
// custos_schema() matches docs/security.md's entity model.
#include "custos/policy/schema.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace custos::policy {
namespace {

const std::filesystem::path kPolicyDir =
    std::filesystem::path(CUSTOS_TEST_DATA_DIR "/../../docs/policies");

std::string shipped_text() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(kPolicyDir)) {
    if (entry.path().extension() == ".cedar") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string text;
  for (size_t i = 0; i < files.size(); ++i) {
    if (i > 0) text += "\n";
    std::ifstream in(files[i], std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    text += out.str();
  }
  return text;
}

struct Refusal {
  const char* name;
  std::string text;
  int line;
  int column;
  std::string message_part;  // must appear in the message
};

// The scope header most cases share ("permit (" is 8 columns wide).
const std::string kHead = "permit (principal, action, resource)\n";

std::vector<Refusal> refusals() {
  return {
      {"parse error", kHead + "when { 1 + };", 2, 12, "in expression"},
      {"lexer error", kHead + "when { context.device_posture == \"x };", 2, 34,
       "unterminated string"},
      {"principal is unknown type", "permit (principal is Custos::Devise, action, resource);", 1,
       22, "unknown entity type `Custos::Devise` (did you mean `Custos::Device`?)"},
      {"principal == unknown type",
       "permit (principal == Custos::Usr::\"alice\", action, resource);", 1, 22,
       "unknown entity type `Custos::Usr`"},
      {"resource in unknown type",
       "permit (principal, action, resource in Custos::Warehouse::\"w1\");", 1, 40,
       "unknown entity type `Custos::Warehouse`"},
      {"unknown action in scope",
       "permit (principal, action == Custos::Action::\"log.apend\", resource);", 1, 30,
       "unknown action `Custos::Action::\"log.apend\"` (did you mean `log.append`?)"},
      {"unknown action in scope list",
       "permit (principal, action in [Custos::Action::\"capture\", Custos::Action::\"teleport\"], "
       "resource);",
       1, 58, "unknown action `Custos::Action::\"teleport\"`"},
      {"non-action in action scope",
       "permit (principal, action == Custos::Device::\"d\", resource);", 1, 30,
       "the action scope must name Custos::Action entities"},
      {"unknown type in condition literal",
       kHead + "when { principal in Custos::Sitee::\"north\" };", 2, 21,
       "unknown entity type `Custos::Sitee`"},
      {"unknown type inside a folded set literal",
       kHead + "when { resource in [Custos::Site::\"a\", Custos::Siet::\"b\"] };", 2, 40,
       "unknown entity type `Custos::Siet`"},
      {"unqualified type", kHead + "when { principal == User::\"alice\" };", 2, 21,
       "unknown entity type `User`"},
      {"unknown type in an is test", kHead + "when { principal is Custos::Robot };", 2, 21,
       "unknown entity type `Custos::Robot`"},
      {"unknown action in condition",
       kHead + "unless { action == Custos::Action::\"status.reed\" };", 2, 20,
       "unknown action `Custos::Action::\"status.reed\"` (did you mean `status.read`?)"},
      {"principal attribute typo", kHead + "when { principal.sitee == \"x\" };", 2, 18,
       "`principal.sitee`: no principal type has an attribute `sitee` (did you mean `site`?)"},
      {"context key typo", kHead + "when { context.hourr > 3 };", 2, 16,
       "`context.hourr`: the context has no key `hourr` (did you mean `hour`?)"},
      {"context has typo", kHead + "when { context has geofence };", 2, 20,
       "`context has geofence`: the context has no key `geofence`"},
      {"context bracket typo", kHead + "when { context[\"hourr\"] > 1 };", 2, 16,
       "the context has no key `hourr`"},
      {"attribute not on the scoped resource type",
       "permit (principal, action, resource is Custos::Cage)\nwhen { resource.zone == \"z\" };", 2,
       17, "`resource.zone`: Custos::Cage has no attribute `zone`"},
      {"attribute not on the scoped principal type",
       "permit (principal is Custos::Device, action, resource)\nwhen { principal.secure };", 2, 18,
       "`principal.secure`: Custos::Device has no attribute `secure`"},
      {"principal == narrows to its type",
       "permit (principal == Custos::User::\"u\", action, resource)\n"
       "when { principal has secure };",
       2, 22, "`principal has secure`: Custos::User has no attribute `secure`"},
      {"resource attribute no type has", kHead + "when { resource.color == \"red\" };", 2, 17,
       "no resource type has an attribute `color`"},
      {"error in a later policy",
       "@id(\"a\")\npermit (principal, action, resource);\n\n@id(\"b\")\nforbid (principal, "
       "action, "
       "resource)\n  when { context.device_postur == \"compromised\" };",
       6, 18, "did you mean `device_posture`?"},
  };
}

TEST(SchemaTest, RefusalsNameLineAndColumn) {
  const Schema schema = custos_schema();
  auto cases = refusals();
  ASSERT_GE(cases.size(), 12u);
  for (const Refusal& refusal : cases) {
    SCOPED_TRACE(refusal.name);
    std::vector<ValidationError> errors;
    auto result = validate_policies(refusal.text, schema, &errors);
    ASSERT_FALSE(result.is_ok());
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    ASSERT_EQ(errors.size(), 1u) << result.status().message();
    EXPECT_EQ(errors[0].line, refusal.line) << errors[0].to_string();
    EXPECT_EQ(errors[0].column, refusal.column) << errors[0].to_string();
    EXPECT_NE(errors[0].message.find(refusal.message_part), std::string::npos) << errors[0].message;
    std::string prefix = std::to_string(refusal.line) + ":" + std::to_string(refusal.column) + ": ";
    EXPECT_EQ(result.status().message().rfind(prefix, 0), 0u) << result.status().message();
  }
}

TEST(SchemaTest, EverySchemaErrorIsReportedInTextOrder) {
  std::string text =
      "permit (principal is Custos::Robot, action == Custos::Action::\"fly\", resource)\n"
      "when { context.hourr > 1 && resource.colour == \"x\" };";
  std::vector<ValidationError> errors;
  auto result = validate_policies(text, custos_schema(), &errors);
  ASSERT_FALSE(result.is_ok());
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_EQ(errors[0].to_string().substr(0, 5), "1:22:");
  EXPECT_EQ(errors[1].to_string().substr(0, 5), "1:47:");
  EXPECT_EQ(errors[2].to_string().substr(0, 5), "2:16:");
  EXPECT_EQ(errors[3].to_string().substr(0, 5), "2:38:");
  EXPECT_NE(result.status().message().find("(and 3 more errors)"), std::string::npos);
  // principal.x is not checked when the scope's own type is unknown (one error, not two).
  EXPECT_FALSE(validate_policies("permit (principal is Custos::Robot, action, resource) "
                                 "when { principal.wheels > 2 };",
                                 custos_schema(), &errors)
                   .is_ok());
  EXPECT_EQ(errors.size(), 1u);
}

TEST(SchemaTest, AcceptsWhatTheSchemaHas) {
  const Schema schema = custos_schema();
  const char* accepted[] = {
      // Open records: tags' attributes are free.
      "permit (principal, action, resource) when { principal has tags.anything && "
      "principal.tags.anything == \"x\" && principal.tags[\"other\"] == \"y\" };",
      // Union over resource types: secure is a Dock attribute, status a principal's.
      "permit (principal, action, resource) when { resource.secure && resource.status == \"a\" };",
      // Every context key.
      "permit (principal, action, resource) when { context.time > 0 && context.hour < 24 && "
      "context.weekday > 0 && context.source_ip.isIpv4() && context.approvals.isEmpty() && "
      "context.site_hours_start < context.site_hours_end && context.device_posture == \"h\" && "
      "context.geofence_ok && context.credential == \"session\" && "
      "context.scopes.contains(\"x\") };",
      // Every action, and approval.grant.
      "permit (principal, action in [Custos::Action::\"log.append\", Custos::Action::\"log.read\", "
      "Custos::Action::\"capture\", Custos::Action::\"query\", Custos::Action::\"release\", "
      "Custos::Action::\"dock.open\", Custos::Action::\"cage.release\", "
      "Custos::Action::\"policy.change\", Custos::Action::\"key.change\", "
      "Custos::Action::\"principal.change\", Custos::Action::\"containment.override\", "
      "Custos::Action::\"incident.manage\", Custos::Action::\"status.read\", "
      "Custos::Action::\"approval.grant\"], resource);",
      // Every entity type.
      "permit (principal, action, resource) when { [Custos::Device::\"a\", Custos::User::\"a\", "
      "Custos::Service::\"a\", Custos::Witness::\"a\", Custos::Partner::\"a\", "
      "Custos::Site::\"a\", "
      "Custos::Zone::\"a\", Custos::Dock::\"a\", Custos::Shipment::\"a\", Custos::Cage::\"a\", "
      "Custos::Log::\"a\", Custos::Policy::\"a\", Custos::Principal::\"a\"].contains(resource) };",
      // Reads of action are not checked; deeper reads are not checked.
      "permit (principal is Custos::Device in Custos::Site::\"n\", action, resource is "
      "Custos::Dock) when { resource.site == principal.site && principal.roles.contains(\"x\") };",
      // An empty text is a valid (empty) set.
      "",
  };
  for (const char* text : accepted) {
    std::vector<ValidationError> errors;
    auto result = validate_policies(text, schema, &errors);
    EXPECT_TRUE(result.is_ok()) << text << "\n" << result.status().to_string();
    EXPECT_TRUE(errors.empty());
  }
}

TEST(SchemaTest, DefaultPolicySetValidatesClean) {
  std::string text = shipped_text();
  ASSERT_FALSE(text.empty()) << "no .cedar files in " << kPolicyDir;
  std::vector<ValidationError> errors;
  auto result = validate_policies(text, custos_schema(), &errors);
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_TRUE(errors.empty());
  EXPECT_GE(result->size(), 19u);
  // The compiled set is the same as an ordinary parse's.
  auto parsed = parse_policies(text);
  ASSERT_TRUE(parsed.is_ok());
  ASSERT_EQ(parsed->size(), result->size());
  for (size_t i = 0; i < parsed->size(); ++i) EXPECT_EQ(parsed->id(i), result->id(i));
}

TEST(SchemaTest, ParseErrorPositionMatchesTheParser) {
  std::string text = kHead + "when { principal.site == \"a\" &&\n  };";
  ParseError parse_error;
  ASSERT_FALSE(parse_policies_detailed(text, &parse_error).is_ok());
  std::vector<ValidationError> errors;
  ASSERT_FALSE(validate_policies(text, custos_schema(), &errors).is_ok());
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, parse_error.line);
  EXPECT_EQ(errors[0].column, parse_error.column);
  EXPECT_EQ(errors[0].message, parse_error.message);
  EXPECT_EQ(errors[0].line, 3);
  EXPECT_EQ(errors[0].column, 3);
}

TEST(SchemaTest, CustosSchemaFollowsTheEntityModel) {
  const Schema schema = custos_schema();
  for (const char* type : {"Custos::Device", "Custos::User", "Custos::Service", "Custos::Witness",
                           "Custos::Partner"}) {
    SCOPED_TRACE(type);
    const EntityTypeSchema& entity = schema.entity_types.at(type);
    EXPECT_TRUE(entity.principal);
    EXPECT_EQ(entity.attributes.size(), 10u);
    EXPECT_EQ(entity.attributes.at("roles").to_string(), "Set<String>");
    EXPECT_EQ(entity.attributes.at("tags").to_string(), "Record");
    EXPECT_EQ(entity.attributes.at("status").to_string(), "String");
  }
  EXPECT_EQ(schema.entity_types.at("Custos::Dock").attributes.at("secure").to_string(), "Bool");
  EXPECT_FALSE(schema.entity_types.at("Custos::Dock").principal);
  EXPECT_TRUE(schema.entity_types.at("Custos::Cage").resource);
  EXPECT_EQ(schema.entity_types.at("Custos::Cage").attributes.size(), 1u);
  EXPECT_EQ(schema.entity_types.size(), 15u);
  EXPECT_EQ(schema.entity_types.at("Custos::Event").attributes.at("parties").to_string(), "Set<String>");
  EXPECT_EQ(schema.actions.size(), 14u);
  EXPECT_TRUE(schema.actions.contains("approval.grant"));
  EXPECT_EQ(schema.context.size(), 11u);
  EXPECT_EQ(schema.context.at("source_ip").to_string(), "ipaddr");
  EXPECT_EQ(schema.context.at("approvals").to_string(), "Set<String>");
  EXPECT_EQ(schema.context.at("geofence_ok").to_string(), "Bool");
  EXPECT_EQ(AttributeType::entity_of("Custos::Site").to_string(), "Entity<Custos::Site>");
  EXPECT_EQ(AttributeType::decimal_type().to_string(), "decimal");
}

}  // namespace
}  // namespace custos::policy
