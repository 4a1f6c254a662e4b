#include "custos/ledger/tile_path.h"

#include <cassert>
#include <vector>

#include "custos/core/bytes.h"

namespace custos::ledger {
namespace {

constexpr std::string_view kTilePrefix = "tile/";
constexpr std::string_view kEntriesLevel = "entries";
constexpr std::string_view kPartialMarker = ".p/";

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// "x001/x234/067": 3-digit groups, most significant first, "x" on all but the last.
Result<uint64_t> parse_tile_index(std::string_view text) {
  uint64_t index = 0;
  bool first = true;
  while (true) {
    size_t slash = text.find('/');
    bool last = slash == std::string_view::npos;
    std::string_view group = text.substr(0, slash);
    if (!last) {
      if (group.size() != 4 || group[0] != 'x') {
        return invalid_argument("tile index groups but the last must be 'x' and 3 digits");
      }
      group.remove_prefix(1);
    }
    if (group.size() != 3 || !is_digit(group[0]) || !is_digit(group[1]) || !is_digit(group[2])) {
      return invalid_argument("tile index groups must be 3 digits");
    }
    uint64_t value =
        uint64_t(group[0] - '0') * 100 + uint64_t(group[1] - '0') * 10 + uint64_t(group[2] - '0');
    if (first && !last && value == 0) {
      return invalid_argument("tile index has a leading zero group");
    }
    if (index > (UINT64_MAX - value) / 1000) return invalid_argument("tile index overflows");
    index = index * 1000 + value;
    if (last) return index;
    text.remove_prefix(slash + 1);
    first = false;
  }
}

}  // namespace

std::string format_tile_path(const TilePath& tile) {
  assert(tile.level <= kMaxTileLevel && tile.width >= 1 && tile.width <= kFullTileWidth);
  std::string path(kTilePrefix);
  if (tile.entries) {
    path += kEntriesLevel;
  } else {
    path += std::to_string(tile.level);
  }
  path += '/';
  std::vector<uint16_t> groups;
  uint64_t index = tile.index;
  do {
    groups.push_back(static_cast<uint16_t>(index % 1000));
    index /= 1000;
  } while (index != 0);
  for (size_t i = groups.size(); i-- > 0;) {
    if (i != 0) path += 'x';
    path += static_cast<char>('0' + groups[i] / 100);
    path += static_cast<char>('0' + groups[i] / 10 % 10);
    path += static_cast<char>('0' + groups[i] % 10);
    if (i != 0) path += '/';
  }
  if (tile.width < kFullTileWidth) {
    path += kPartialMarker;
    path += std::to_string(tile.width);
  }
  return path;
}

Result<TilePath> parse_tile_path(std::string_view path) {
  if (!path.starts_with(kTilePrefix)) return invalid_argument("tile path must start with tile/");
  path.remove_prefix(kTilePrefix.size());
  size_t slash = path.find('/');
  if (slash == std::string_view::npos) return invalid_argument("tile path has no index");
  std::string_view level_text = path.substr(0, slash);
  path.remove_prefix(slash + 1);

  TilePath tile;
  if (level_text == kEntriesLevel) {
    tile.entries = true;
  } else {
    auto level = parse_decimal_u64(level_text);
    if (!level.is_ok() || *level > kMaxTileLevel) {
      return invalid_argument("tile level must be a decimal number from 0 to 63");
    }
    tile.level = static_cast<uint8_t>(*level);
  }

  std::string_view index_text = path;
  size_t partial = path.find(kPartialMarker);
  if (partial != std::string_view::npos) {
    index_text = path.substr(0, partial);
    std::string_view width_text = path.substr(partial + kPartialMarker.size());
    auto width = parse_decimal_u64(width_text);
    if (!width.is_ok() || *width < 1 || *width >= kFullTileWidth) {
      return invalid_argument("partial tile width must be a decimal number from 1 to 255");
    }
    tile.width = static_cast<uint16_t>(*width);
  }
  CUSTOS_ASSIGN_OR_RETURN(tile.index, parse_tile_index(index_text));
  return tile;
}

}  // namespace custos::ledger
