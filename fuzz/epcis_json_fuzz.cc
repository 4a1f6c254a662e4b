// EPCIS JSON / JSON-LD on arbitrary bytes: the validator, the decoder (and a
// round trip of whatever decodes), the event hash and the capture summaries
// never crash; a document the decoder accepts encodes to JSON that decodes
// to the same model.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/custody/capture_record.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/json_codec.h"
#include "custos/epcis/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)custos::epcis::validate_document_or_event(text);
  (void)custos::epcis::document_event_hashes(text);
  auto document = custos::epcis::decode_document(text);
  if (document.is_ok()) {
    auto again = custos::epcis::decode_document(custos::epcis::encode_document(*document));
    if (!again.is_ok() || !(*again == *document)) std::abort();
    for (const auto& event : document->events) {
      (void)custos::custody::summarise_event(event, "ni:///sha-256;00?ver=CBV2.0", "fuzz");
    }
  }
  auto event = custos::epcis::decode_event(text);
  if (event.is_ok()) {
    auto again = custos::epcis::decode_event(custos::epcis::encode_event(*event));
    if (!again.is_ok() || !(*again == *event)) std::abort();
  }
  return 0;
}
