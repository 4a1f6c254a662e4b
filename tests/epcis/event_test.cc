// The EPCIS event model without the codec: time parsing, names of types and
// actions, and canonical_identifiers over a hand-built event.
#include "custos/epcis/event.h"

#include <gtest/gtest.h>

namespace custos::epcis {
namespace {

TEST(EventTest, TimestampsParseToUtcMicros) {
  Result<Timestamp> t = parse_timestamp("2005-04-03T20:33:31.116000-06:00");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->text, "2005-04-03T20:33:31.116000-06:00");
  EXPECT_EQ(t->utc_micros, 1112582011116000);  // 2005-04-04T02:33:31.116Z
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00Z")->utc_micros, 0);
  EXPECT_EQ(parse_timestamp("1970-01-01T00:00:00.0000019Z")->utc_micros, 1);  // truncated
  EXPECT_EQ(parse_timestamp("1969-12-31T23:59:59.5Z")->utc_micros, -500000);
  EXPECT_EQ(parse_timestamp("2000-01-01T01:00:00+01:00")->utc_micros, 946684800000000);
  EXPECT_EQ(parse_timestamp("2000-01-01T00:00:00-14:00")->utc_micros, 946735200000000);
  EXPECT_EQ(parse_timestamp("9999-12-31T23:59:59.999999Z")->utc_micros, 253402300799999999);
  EXPECT_TRUE(parse_timestamp("2020-02-29T00:00:00Z").is_ok());
  EXPECT_TRUE(parse_timestamp("2000-02-29T00:00:00Z").is_ok());
}

TEST(EventTest, TimestampsFromUtcMicros) {
  EXPECT_EQ(timestamp_from_utc_micros(0).text, "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(timestamp_from_utc_micros(1112582011116000).text, "2005-04-04T02:33:31.116Z");
  EXPECT_EQ(timestamp_from_utc_micros(-500000).text, "1969-12-31T23:59:59.500Z");
  EXPECT_EQ(timestamp_from_utc_micros(951782400000001).text, "2000-02-29T00:00:00.000001Z");
  EXPECT_EQ(timestamp_from_utc_micros(INT64_MAX).text, "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(timestamp_from_utc_micros(INT64_MIN).text, "0000-01-01T00:00:00.000Z");
  // Text and instant agree with the parser, across many instants.
  for (int64_t micros = -40'000'000'000'000'000; micros < 250'000'000'000'000'000;
       micros += 987'654'321'987'001) {
    Timestamp made = timestamp_from_utc_micros(micros);
    Result<Timestamp> parsed = parse_timestamp(made.text);
    ASSERT_TRUE(parsed.is_ok()) << made.text;
    EXPECT_EQ(parsed->utc_micros, micros) << made.text;
  }
}

TEST(EventTest, BadTimestampsAreRefused) {
  for (const char* text :
       {"", "2019-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2019-04-31T00:00:00Z",
        "2019-01-01T00:00:00+15:00", "2019-01-01T00:00:00+01:60", "2019-01-01T00:00:00Zjunk",
        "2019-01-01T00:00:00", "2019-01-01T00:00:60Z", "2019-01-01T24:00:00Z",
        "2019-01-01t00:00:00Z", "2019-1-01T00:00:00Z", "2019-01-01T00:00:00.Z",
        "2019-01-01T00:00:00+0100", "+2019-01-01T00:00:00Z", "2019-00-01T00:00:00Z"}) {
    Result<Timestamp> t = parse_timestamp(text);
    EXPECT_FALSE(t.is_ok()) << text;
    if (!t.is_ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(EventTest, NamesRoundTrip) {
  for (EventType type :
       {EventType::kObjectEvent, EventType::kAggregationEvent, EventType::kTransactionEvent,
        EventType::kTransformationEvent, EventType::kAssociationEvent}) {
    EXPECT_EQ(event_type_from_name(event_type_name(type)), type);
  }
  EXPECT_EQ(event_type_name(EventType::kAssociationEvent), "AssociationEvent");
  EXPECT_FALSE(event_type_from_name("objectEvent").has_value());
  for (Action action : {Action::kAdd, Action::kObserve, Action::kDelete}) {
    EXPECT_EQ(action_from_name(action_name(action)), action);
  }
  EXPECT_FALSE(action_from_name("add").has_value());
  EXPECT_EQ(document_type_name(DocumentType::kEpcisQueryDocument), "EPCISQueryDocument");
  Extension extension{"example:myField", "http://ns.example.com/epcis/", "1"};
  EXPECT_EQ(extension.local_name(), "myField");
  Extension plain{"plain", "", "1"};
  EXPECT_EQ(plain.local_name(), "plain");
}

TEST(EventTest, CanonicalIdentifiersCoverEveryRole) {
  Event event;
  event.type = EventType::kTransformationEvent;
  event.epc_list = {"urn:epc:id:sgtin:0614141.107346.2017"};
  event.quantity_list = {QuantityElement{"urn:epc:class:lgtin:4012345.012345.998877", {}, {}, {}}};
  event.parent_id = "urn:epc:id:sscc:0614141.1234567890";
  event.child_epcs = {"https://id.gs1.org/01/10614141073464/21/2018"};
  event.child_quantity_list = {QuantityElement{"urn:epc:idpat:sgtin:4012345.098765.*", {}, {}, {}}};
  event.input_epc_list = {"urn:epc:id:giai:4000001.12345"};
  event.input_quantity_list = {
      QuantityElement{"urn:epc:class:lgtin:4012345.011111.4444", {}, {}, {}}};
  event.output_epc_list = {"urn:epc:id:grai:4012345.55555.987"};
  event.output_quantity_list = {QuantityElement{"urn:example:class:1", {}, {}, {}}};
  event.read_point = Location{"urn:epc:id:sgln:0614141.00777.0", {}};
  event.biz_location = Location{"urn:epc:id:sgln:0614141.00888.0", {}};
  event.source_list = {SourceDestination{"owning_party", "urn:epc:id:pgln:4012345.00225"}};
  event.destination_list = {SourceDestination{"location", "urn:epc:id:sgln:0614141.00777.0"}};
  Result<std::vector<RoleIdentifier>> ids = canonical_identifiers(event);
  ASSERT_TRUE(ids.is_ok()) << ids.status().to_string();
  std::vector<std::string> seen;
  for (const RoleIdentifier& id : *ids) {
    seen.push_back(std::string(identifier_role_name(id.role)) + " " + id.pointer + " " +
                   id.id.canonical);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{
                      "epc /epcList/0 https://id.gs1.org/01/10614141073464/21/2017",
                      "epcClass /quantityList/0/epcClass "
                      "https://id.gs1.org/01/04012345123456/10/998877",
                      "parentID /parentID https://id.gs1.org/00/106141412345678908",
                      "childEPC /childEPCs/0 https://id.gs1.org/01/10614141073464/21/2018",
                      "childEPCClass /childQuantityList/0/epcClass "
                      "https://id.gs1.org/01/04012345987652",
                      "inputEPC /inputEPCList/0 https://id.gs1.org/8004/400000112345",
                      "inputEPCClass /inputQuantityList/0/epcClass "
                      "https://id.gs1.org/01/04012345111118/10/4444",
                      "outputEPC /outputEPCList/0 https://id.gs1.org/8003/04012345555554987",
                      "outputEPCClass /outputQuantityList/0/epcClass urn:example:class:1",
                      "readPoint /readPoint/id https://id.gs1.org/414/0614141007776",
                      "bizLocation /bizLocation/id https://id.gs1.org/414/0614141008889",
                      "source /sourceList/0/source https://id.gs1.org/417/4012345002256",
                      "destination /destinationList/0/destination "
                      "https://id.gs1.org/414/0614141007776",
                  }));
  // The SSCC's kind is kept next to its canonical form.
  EXPECT_EQ((*ids)[2].id.kind, IdentifierKind::kSscc);
  EXPECT_EQ((*ids)[2].id.original, "urn:epc:id:sscc:0614141.1234567890");
}

TEST(EventTest, MalformedIdentifierIsRefusedWithItsPointer) {
  Event event;
  event.destination_list = {SourceDestination{"location", "urn:epc:id:sgln:0614141.00777.0"},
                            SourceDestination{"location", "not a uri"}};
  Result<std::vector<RoleIdentifier>> ids = canonical_identifiers(event);
  ASSERT_FALSE(ids.is_ok());
  EXPECT_TRUE(ids.status().message().starts_with("/destinationList/1/destination: "))
      << ids.status().message();
}

}  // namespace
}  // namespace custos::epcis
