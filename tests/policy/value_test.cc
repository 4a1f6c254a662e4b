#include "custos/policy/value.h"

#include <gtest/gtest.h>

#include "custos/policy/entities.h"

namespace custos::policy {
namespace {

TEST(IpAddrTest, ParsesCedarForms) {
  auto v4 = IpAddr::parse("10.1.2.3/24");
  ASSERT_TRUE(v4.is_ok());
  EXPECT_TRUE(v4->is_v4);
  EXPECT_EQ(v4->prefix, 24);
  auto v6 = IpAddr::parse("2001:db8::1");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_FALSE(v6->is_v4);
  EXPECT_EQ(v6->prefix, 128);
  EXPECT_TRUE(IpAddr::parse("::").is_ok());
  EXPECT_TRUE(IpAddr::parse("1:2:3:4:5:6:7:8").is_ok());
  for (const char* bad : {"1.2.3", "010.0.0.1", "1.2.3.4/33", "10.0.0.0/024", "::ffff:1.2.3.4",
                          "1::2::3", "::1:2:3:4:5:6:7:8", "", "::/129", "256.0.0.1", "1.2.3.4/"}) {
    EXPECT_FALSE(IpAddr::parse(bad).is_ok()) << bad;
  }
}

TEST(IpAddrTest, Methods) {
  auto ip = [](const char* text) { return IpAddr::parse(text).value(); };
  EXPECT_TRUE(ip("127.0.0.1").is_loopback());
  EXPECT_FALSE(ip("127.0.0.1/4").is_loopback());
  EXPECT_TRUE(ip("::1").is_loopback());
  EXPECT_FALSE(ip("::1/64").is_loopback());
  EXPECT_TRUE(ip("224.0.0.1").is_multicast());
  EXPECT_FALSE(ip("224.0.0.0/3").is_multicast());
  EXPECT_TRUE(ip("ff02::1").is_multicast());
  EXPECT_TRUE(ip("10.1.2.3").is_in_range(ip("10.0.0.0/8")));
  EXPECT_TRUE(ip("10.1.2.0/24").is_in_range(ip("10.1.0.0/16")));
  EXPECT_FALSE(ip("10.0.0.0/8").is_in_range(ip("10.1.0.0/16")));
  EXPECT_FALSE(ip("10.0.0.1").is_in_range(ip("::/0")));
  EXPECT_NE(ip("10.0.0.1/24"), ip("10.0.0.0/24"));  // host bits are kept
  EXPECT_EQ(ip("10.0.0.1"), ip("10.0.0.1/32"));
}

TEST(DecimalTest, ParsesFourFractionalDigitsWithinInt64) {
  EXPECT_EQ(Decimal::parse("1.5")->scaled, 15000);
  EXPECT_EQ(Decimal::parse("-0.0001")->scaled, -1);
  EXPECT_EQ(Decimal::parse("01.50")->scaled, 15000);
  EXPECT_EQ(Decimal::parse("922337203685477.5807")->scaled, INT64_MAX);
  EXPECT_EQ(Decimal::parse("-922337203685477.5808")->scaled, INT64_MIN);
  for (const char* bad : {"1", "1.", ".5", "-.5", "1.23456", "abc", "922337203685477.5808", ""}) {
    EXPECT_FALSE(Decimal::parse(bad).is_ok()) << bad;
  }
  EXPECT_EQ(Decimal::parse("-3.1416")->to_string(), "-3.1416");
}

TEST(ValueTest, EqualityIsCedarEquality) {
  EXPECT_NE(Value::long_value(1), Value::string("1"));
  EXPECT_EQ(Value::set({Value::long_value(1), Value::long_value(2), Value::long_value(1)}),
            Value::set({Value::long_value(2), Value::long_value(1)}));
  EXPECT_EQ(Value::record({{"b", Value::long_value(2)}, {"a", Value::boolean(true)}}),
            Value::record({{"a", Value::boolean(true)}, {"b", Value::long_value(2)}}));
  EXPECT_EQ(Value::entity({"User", "a"}), Value::entity({"User", "a"}));
  EXPECT_NE(Value::entity({"User", "a"}), Value::entity({"Group", "a"}));
  EXPECT_EQ(Value::decimal(*Decimal::parse("1.0")), Value::decimal(*Decimal::parse("1.0000")));
}

TEST(ValueTest, JsonRoundTripWithEscapes) {
  auto value = parse_value_json(
      R"({"n": 3, "s": "x", "set": [1, 1, 2], "who": {"__entity": {"type": "User", "id": "a"}},
          "ip": {"__extn": {"fn": "ip", "arg": "10.0.0.1"}},
          "d": {"__extn": {"fn": "decimal", "arg": "1.25"}}, "rec": {"type": "User", "id": "a"}})");
  ASSERT_TRUE(value.is_ok()) << value.status().to_string();
  EXPECT_EQ(value->field("set")->as_set().size(), 2u);
  EXPECT_TRUE(value->field("who")->is(ValueKind::kEntity));
  EXPECT_TRUE(value->field("rec")->is(ValueKind::kRecord));  // schema-less: a record
  EXPECT_TRUE(value->field("ip")->is(ValueKind::kIp));
  auto again = parse_value_json(value_to_json(*value));
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, *value);
  EXPECT_FALSE(parse_value_json("null").is_ok());
  EXPECT_FALSE(parse_value_json("1.5").is_ok());
  EXPECT_FALSE(parse_value_json(R"({"__extn": {"fn": "ip", "arg": "nope"}})").is_ok());
}

TEST(EntityStoreTest, TransitiveAncestry) {
  auto store = EntityStore::from_json(R"([
    {"uid": {"type": "User", "id": "a"}, "attrs": {}, "parents": [{"type": "Group", "id": "g"}]},
    {"uid": {"__entity": {"type": "Group", "id": "g"}}, "attrs": {},
     "parents": [{"__entity": {"type": "Group", "id": "top"}}]},
    {"uid": {"type": "Group", "id": "top"}, "attrs": {"level": 1}, "parents": []}
  ])");
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(store->size(), 3u);
  EXPECT_TRUE(store->is_in({"User", "a"}, {"Group", "top"}));
  EXPECT_TRUE(store->is_in({"User", "a"}, {"User", "a"}));
  EXPECT_TRUE(store->is_in({"User", "ghost"}, {"User", "ghost"}));
  EXPECT_FALSE(store->is_in({"Group", "top"}, {"User", "a"}));
  ASSERT_NE(store->find({"Group", "top"}), nullptr);
  EXPECT_EQ(store->find({"Group", "top"})->attributes.field("level")->as_long(), 1);
}

TEST(EntityStoreTest, RepeatedUidsSharedAndOutsideAncestorsCopies) {
  // "b" and "c" both lead to the outside parent Group::"top"; User::"a" is
  // defined twice (the last definition wins); the store stays valid when
  // copied.
  auto built = EntityStore::from_json(R"([
    {"uid": {"type": "User", "id": "a"}, "attrs": {"v": 1}, "parents": []},
    {"uid": {"type": "Group", "id": "b"}, "attrs": {}, "parents": [{"type": "Group", "id": "top"}]},
    {"uid": {"type": "Group", "id": "c"}, "attrs": {}, "parents": [{"type": "Group", "id": "top"}]},
    {"uid": {"type": "User", "id": "a"}, "attrs": {"v": 2},
     "parents": [{"type": "Group", "id": "b"}, {"type": "Group", "id": "c"}]}
  ])");
  ASSERT_TRUE(built.is_ok()) << built.status().to_string();
  const EntityStore copy = *built;
  for (const EntityStore* store : {static_cast<const EntityStore*>(&*built), &copy}) {
    EXPECT_EQ(store->size(), 3u);
    const Entity* a = store->find({"User", "a"});
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->attributes.field("v")->as_long(), 2);
    EXPECT_TRUE(store->is_in({"User", "a"}, {"Group", "top"}));
    EXPECT_TRUE(store->is_in({"User", "a"}, {"Group", "c"}));
    EXPECT_TRUE(store->has_ancestor(*a, {"Group", "b"}));
    EXPECT_FALSE(store->has_ancestor(*a, {"User", "a"}));
    EXPECT_FALSE(store->is_in({"Group", "b"}, {"Group", "c"}));
    EXPECT_FALSE(store->is_in({"Group", "top"}, {"Group", "b"}));
    EXPECT_EQ(store->find({"Group", "top"}), nullptr);
  }
  // A cycle through an entity defined twice is judged on the last definition.
  EXPECT_FALSE(EntityStore::from_json(R"([
    {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": []},
    {"uid": {"type": "G", "id": "b"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]},
    {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "b"}]}])")
                   .is_ok());
}

TEST(ValueTest, RecordSortsKeysAndKeepsTheLastOfRepeatedKeys) {
  Value record = Value::record({{"b", Value::long_value(1)},
                                {"a", Value::long_value(2)},
                                {"b", Value::long_value(3)},
                                {"c", Value::long_value(4)},
                                {"a", Value::long_value(5)}});
  ASSERT_EQ(record.as_record().size(), 3u);
  EXPECT_EQ(record.as_record()[0].first, "a");
  EXPECT_EQ(record.field("a")->as_long(), 5);
  EXPECT_EQ(record.field("b")->as_long(), 3);
  EXPECT_EQ(record.field("c")->as_long(), 4);
  EXPECT_EQ(record.field("d"), nullptr);
  RecordFields many;
  for (int i = 40; i > 0; --i) {
    std::string key = "k";
    key += std::to_string(i % 20);
    many.emplace_back(std::move(key), Value::long_value(i));
  }
  Value large = Value::record(std::move(many));
  ASSERT_EQ(large.as_record().size(), 20u);
  EXPECT_EQ(large.field("k5")->as_long(), 5);  // 25 came first, 5 last
  EXPECT_EQ(large.field("k0")->as_long(), 20);
  EXPECT_EQ(large.field("k20"), nullptr);
}

TEST(EntityStoreTest, RejectsCyclesAndBadInput) {
  EXPECT_FALSE(EntityStore::from_json(R"([
    {"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "b"}]},
    {"uid": {"type": "G", "id": "b"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]}])")
                   .is_ok());
  EXPECT_FALSE(EntityStore::from_json(
                   R"([{"uid": {"type": "G", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "a"}]}])")
                   .is_ok());
  EXPECT_FALSE(EntityStore::from_json(
                   R"([{"uid": {"type": "Action", "id": "a"}, "attrs": {}, "parents": [{"type": "G", "id": "x"}]}])")
                   .is_ok());
  EXPECT_FALSE(EntityStore::from_json(R"({"uid": 1})").is_ok());
  EXPECT_FALSE(EntityStore::from_json(R"([{"uid": {"type": "bad type", "id": "a"}}])").is_ok());
  EXPECT_FALSE(EntityStore::from_json(R"([{"uid": {"type": "G", "id": "a"}, "attrs": {"x": null}}])").is_ok());
}

}  // namespace
}  // namespace custos::policy
