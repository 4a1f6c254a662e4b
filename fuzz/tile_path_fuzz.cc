// Fuzzes the tile path parser: every accepted path is canonical, so
// formatting what was parsed gives the same path back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/ledger/tile_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view path(reinterpret_cast<const char*>(data), size);
  auto tile = custos::ledger::parse_tile_path(path);
  if (tile.is_ok()) {
    if (tile->level > custos::ledger::kMaxTileLevel || tile->width < 1 ||
        tile->width > custos::ledger::kFullTileWidth || (tile->entries && tile->level != 0)) {
      std::abort();
    }
    if (custos::ledger::format_tile_path(*tile) != path) std::abort();
  }
  return 0;
}
