// custos ledger: C2SP tlog-tiles resource paths.
//
// Tiles live at "tile/<L>/<N>[.p/<W>]" and entry bundles at
// "tile/entries/<N>[.p/<W>]" (c2sp.org/tlog-tiles): <L> is the level 0..63 in
// decimal, <N> the tile index in zero-padded 3-digit groups with an "x" on all
// but the last ("x001/x234/067" is 1234067), and ".p/<W>" marks a partial
// tile of width 1..255. Every tile has exactly one path: formatting gives the
// canonical form and parsing accepts only that form (no leading zero groups,
// no leading zeroes in <L> or <W>, nothing before or after). Pure and
// thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "custos/core/status.h"

namespace custos::ledger {

inline constexpr uint16_t kFullTileWidth = 256;
inline constexpr uint8_t kMaxTileLevel = 63;

struct TilePath {
  bool entries = false;             // an entry bundle rather than a hash tile
  uint8_t level = 0;                // 0..63; always 0 for entry bundles
  uint64_t index = 0;               // the tile's index within its level
  uint16_t width = kFullTileWidth;  // 1..255 for partial tiles, 256 for full ones

  friend bool operator==(const TilePath&, const TilePath&) = default;
};

// The path without a leading slash, e.g. "tile/0/x001/x234/067.p/8" or
// "tile/entries/000". Precondition: level <= 63 and 1 <= width <= 256.
std::string format_tile_path(const TilePath& tile);

// Parses a path as format_tile_path writes it (no leading slash); refuses
// anything else.
Result<TilePath> parse_tile_path(std::string_view path);

}  // namespace custos::ledger
