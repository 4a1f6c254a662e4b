// Fuzzes the RFC 8941 structured field parsers on arbitrary bytes: they must
// refuse or accept without crashing, whatever they accept must serialise,
// and the serialisation must parse back to the same value (and serialise to
// the same text: serialisation is canonical).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "custos/crypto/structured_fields.h"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

template <typename Parse, typename Serialize>
void round_trip(std::string_view input, Parse parse, Serialize serialize) {
  auto parsed = parse(input);
  if (!parsed.is_ok()) return;
  auto text = serialize(*parsed);
  check(text.is_ok());
  auto again = parse(*text);
  check(again.is_ok());
  check(*again == *parsed);
  auto text_again = serialize(*again);
  check(text_again.is_ok() && *text_again == *text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  round_trip(input, custos::sf::parse_item, custos::sf::serialize_item);
  round_trip(input, custos::sf::parse_list, custos::sf::serialize_list);
  round_trip(input, custos::sf::parse_dictionary, custos::sf::serialize_dictionary);
  return 0;
}
