// EPC URNs and GS1 Digital Links on arbitrary text: parsing never crashes,
// and a canonical form parses again to itself.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/epcis/identifiers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = custos::epcis::parse_identifier(text);
  if (parsed.is_ok()) {
    auto again = custos::epcis::parse_identifier(parsed->canonical);
    if (!again.is_ok() || again->canonical != parsed->canonical) std::abort();
  }
  return 0;
}
