// C2SP tlog-tiles paths (tests/data/c2sp/tlog-tiles.md).
#include "custos/ledger/tile_path.h"

#include <gtest/gtest.h>

#include <string>

namespace custos::ledger {
namespace {

TEST(TilePathTest, FormatsTheSpecExamples) {
  EXPECT_EQ(format_tile_path({.entries = false, .level = 0, .index = 1234067, .width = 8}),
            "tile/0/x001/x234/067.p/8");
  EXPECT_EQ(format_tile_path({.entries = false, .level = 0, .index = 1234067, .width = 256}),
            "tile/0/x001/x234/067");
  EXPECT_EQ(format_tile_path({.entries = true, .level = 0, .index = 0, .width = 256}),
            "tile/entries/000");
  EXPECT_EQ(format_tile_path({.entries = true, .level = 0, .index = 273, .width = 112}),
            "tile/entries/273.p/112");
  EXPECT_EQ(format_tile_path({.entries = false, .level = 63, .index = 1000, .width = 1}),
            "tile/63/x001/000.p/1");
  EXPECT_EQ(format_tile_path({.entries = false, .level = 2, .index = 999, .width = 255}),
            "tile/2/999.p/255");
  EXPECT_EQ(format_tile_path({.entries = false, .level = 1, .index = UINT64_MAX, .width = 256}),
            "tile/1/x018/x446/x744/x073/x709/x551/615");
}

TEST(TilePathTest, ParsesWhatItFormats) {
  const TilePath tiles[] = {
      {false, 0, 0, 256},      {false, 0, 1234067, 8},   {true, 0, 0, 256},
      {true, 0, 273, 112},     {false, 63, 1000, 1},     {false, 1, UINT64_MAX, 256},
      {false, 5, 999999, 255}, {false, 0, 1000000, 256},
  };
  for (const TilePath& tile : tiles) {
    std::string path = format_tile_path(tile);
    auto parsed = parse_tile_path(path);
    ASSERT_TRUE(parsed.is_ok()) << path << ": " << parsed.status().to_string();
    EXPECT_EQ(*parsed, tile) << path;
  }
  auto spec = parse_tile_path("tile/0/x001/x234/067.p/8");
  ASSERT_TRUE(spec.is_ok());
  EXPECT_FALSE(spec->entries);
  EXPECT_EQ(spec->level, 0);
  EXPECT_EQ(spec->index, 1234067u);
  EXPECT_EQ(spec->width, 8);
}

TEST(TilePathTest, RefusesNonCanonicalAndMalformedPaths) {
  const char* refused[] = {
      "",
      "tile",
      "tile/",
      "tile/0",
      "tile/0/",
      "/tile/0/000",  // leading slash
      "tiles/0/000",
      "tile/0/000/",  // trailing slash
      "tile/0/000 ",  // trailing junk
      "tile/0/0",     // groups are 3 digits
      "tile/0/0000",
      "tile/0/x000",     // last group has no x
      "tile/0/001/234",  // all but the last need x
      "tile/0/x001/x234/x067",
      "tile/0/X001/234",
      "tile/0/x000/234",  // leading zero group
      "tile/0/x000/x001/234",
      "tile/0/x1/234",
      "tile/0/x0012/234",
      "tile/0/+12",
      "tile/0/-12",
      "tile/0/x018/x446/x744/x073/x709/x551/616",  // overflows 64 bits
      "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
      "tile/00/000",  // level with a leading zero
      "tile/64/000",  // level beyond 63
      "tile/-1/000",
      "tile/+1/000",
      "tile/a/000",
      "tile//000",
      "tile/entry/000",
      "tile/entries/x000",
      "tile/0/000.p/",  // widths 1..255, canonical decimal
      "tile/0/000.p/0",
      "tile/0/000.p/256",
      "tile/0/000.p/008",
      "tile/0/000.p/8/",
      "tile/0/000.p/8x",
      "tile/0/000.p8",
      "tile/0/000.p/8.p/8",
      "tile/0/.p/8",
      "tile/0/x001/.p/8",
      "tile/0/000.P/8",
      "tile/0/000\n",
  };
  for (const char* path : refused) {
    EXPECT_FALSE(parse_tile_path(path).is_ok()) << "'" << path << "'";
  }
}

TEST(TilePathTest, RoundTripsEveryGroupBoundary) {
  for (uint64_t index : {0ull, 1ull, 999ull, 1000ull, 999999ull, 1000000ull, 1000001ull,
                         999999999999ull, 1000000000000ull}) {
    for (uint16_t width : {uint16_t{1}, uint16_t{128}, uint16_t{255}, uint16_t{256}}) {
      TilePath tile{false, 7, index, width};
      auto parsed = parse_tile_path(format_tile_path(tile));
      ASSERT_TRUE(parsed.is_ok()) << format_tile_path(tile);
      EXPECT_EQ(*parsed, tile);
    }
  }
}

}  // namespace
}  // namespace custos::ledger
