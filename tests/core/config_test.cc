#include "custos/core/config.h"

#include <gtest/gtest.h>

#include "custos/core/clock.h"
#include "custos/core/json_writer.h"

namespace custos {
namespace {

TEST(ConfigTest, EmptyTextGivesDefaults) {
  auto config = parse_config("");
  ASSERT_TRUE(config.is_ok());
  EXPECT_EQ(config->storage.data_dir, "./custos-data");
  EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
}

TEST(ConfigTest, ReadsKnownKeys) {
  auto config = parse_config(R"(
[storage]
data_dir = "/var/lib/custos"
[server]
listen = "0.0.0.0:9000"
threads = 4
[logging]
format = "json"
)");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->storage.data_dir, "/var/lib/custos");
  EXPECT_EQ(config->server.listen, "0.0.0.0:9000");
  EXPECT_EQ(config->server.threads, 4u);
  EXPECT_EQ(config->logging.format, "json");
}

TEST(ConfigTest, RefusesUnknownKeysWrongTypesAndBadValues) {
  auto unknown = parse_config("[server]\nlisten_addr = \"x\"\n");
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("server.listen_addr"), std::string::npos);

  auto wrong_type = parse_config("[server]\nthreads = \"four\"\n");
  ASSERT_FALSE(wrong_type.is_ok());
  EXPECT_NE(wrong_type.status().message().find("server.threads"), std::string::npos);

  EXPECT_FALSE(parse_config("[server]\nthreads = 0\n").is_ok());
  EXPECT_FALSE(parse_config("[logging]\nlevel = \"loud\"\n").is_ok());

  auto syntax = parse_config("[server\n", "custos.toml");
  ASSERT_FALSE(syntax.is_ok());
  EXPECT_NE(syntax.status().message().find("custos.toml:1"), std::string::npos);
}

TEST(ConfigTest, ReadsTlsAuthAndSites) {
  auto config = parse_config(R"(
[tls]
cert_file = "server.pem"
key_file = "server.key"
client_ca_file = "ca.pem"
client_auth = "optional"
[auth]
max_skew_s = 120
[sites.north]
utc_offset = "+01:30"
hours = "22-06"
geofence = "52.37,4.89,1500"
[sites.south]
utc_offset = "-05:00"
)");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->tls.client_auth, "optional");
  EXPECT_EQ(config->auth.max_skew_s, 120u);
  ASSERT_EQ(config->sites.size(), 2u);
  EXPECT_EQ(config->sites[0].id, "north");
  EXPECT_EQ(config->sites[0].utc_offset_minutes, 90);
  EXPECT_EQ(config->sites[0].hours_start, 22);
  EXPECT_EQ(config->sites[0].hours_end, 6);
  EXPECT_TRUE(config->sites[0].has_geofence);
  EXPECT_DOUBLE_EQ(config->sites[0].radius_m, 1500);
  EXPECT_EQ(config->sites[1].utc_offset_minutes, -300);
  EXPECT_FALSE(config->sites[1].has_geofence);
  EXPECT_EQ(config->sites[1].hours_start, 0);
  EXPECT_EQ(config->sites[1].hours_end, 24);
}

TEST(ConfigTest, RefusesBadTlsAndSiteValues) {
  const char* bad[] = {
      "[tls]\ncert_file = \"a\"\n",                            // no key
      "[tls]\nclient_auth = \"sometimes\"\n",                  // bad choice
      "[tls]\ncert_file = \"a\"\nkey_file = \"b\"\nclient_auth = \"required\"\n",  // no CA
      "[sites.north]\nhours = \"6-6\"\n",
      "[sites.north]\nhours = \"25-06\"\n",
      "[sites.north]\nutc_offset = \"+1\"\n",
      "[sites.north]\ngeofence = \"91,0,10\"\n",
      "[sites.north]\ngeofence = \"1,2\"\n",
      "[sites.north]\nfence = \"1,2,3\"\n",
      "[sites]\nnorth = 1\n",
  };
  for (const char* text : bad) {
    EXPECT_FALSE(parse_config(text).is_ok()) << text;
  }
  auto unknown = parse_config("[sites.north]\nfence = \"1,2,3\"\n");
  EXPECT_NE(unknown.status().message().find("sites.north.fence"), std::string::npos);
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(1000);
  EXPECT_EQ(clock.now_micros(), 1000);
  clock.advance(500);
  EXPECT_EQ(clock.now_micros(), 1500);
  EXPECT_EQ(format_rfc3339_micros(1'700'000'000'000'001), "2023-11-14T22:13:20.000001Z");
}

TEST(JsonWriterTest, WritesNestedValuesAndEscapes) {
  JsonWriter json;
  json.begin_object()
      .key("a").number(1)
      .key("b").begin_array().string("x\"y").boolean(true).null().end_array()
      .key("c").string("\x01\xff")
      .end_object();
  EXPECT_EQ(json.str(), R"({"a":1,"b":["x\"y",true,null],"c":"\u0001)" "\xef\xbf\xbd" R"("})");
}

}  // namespace
}  // namespace custos
