// EPC URNs, EPC pattern URIs and GS1 Digital Links on arbitrary text: parsing
// never crashes, a canonical form parses again to itself, and a pattern
// without "*" matches exactly the EPC it names.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "custos/epcis/epc_pattern.h"
#include "custos/epcis/identifiers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace custos::epcis;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = parse_identifier(text);
  if (parsed.is_ok()) {
    auto again = parse_identifier(parsed->canonical);
    if (!again.is_ok() || again->canonical != parsed->canonical) std::abort();
  }
  for (PatternLevel level : {PatternLevel::kInstance, PatternLevel::kClass}) {
    auto patterns = parse_epc_pattern(text, level);
    if (!patterns.is_ok() || !*patterns) continue;
    if ((*patterns)->empty()) std::abort();
    if (text.find('*') != std::string_view::npos) continue;
    // No "*": the pattern is the EPC urn:epc:id:<scheme>:<fields> names.
    auto id = parse_identifier("urn:epc:id:" + std::string(text.substr(14)));
    if (!id.is_ok() || !pattern_matches((*patterns)->front(), id->canonical)) std::abort();
  }
  return 0;
}
