// Fuzzes the identity control-change decoder, the parser that replays trust
// changes from the log: arbitrary bytes must be refused or decode to a change
// whose canonical encoding is exactly the input (decode is strict), and the
// cheap is_identity_payload pre-check must never contradict a decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/identity/control_change.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view payload(reinterpret_cast<const char*>(data), size);
  auto decoded = custos::identity::decode_control_change(payload);
  if (!decoded.is_ok()) return 0;
  std::string again =
      custos::identity::encode_control_change(decoded->change, decoded->actor, decoded->decision_id);
  if (again != payload) std::abort();  // a non-canonical payload was accepted
  if (!custos::identity::is_identity_payload(custos::ByteView(data, size))) std::abort();
  return 0;
}
