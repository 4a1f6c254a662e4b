// EPCIS capture on arbitrary bytes: read_capture_document and
// read_capture_event (one shared parse) give exactly what the three calls
// they replace give (validate, decode, hash); any difference aborts.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "custos/epcis/capture.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/json_codec.h"
#include "custos/epcis/validate.h"

namespace {

using namespace custos::epcis;

bool same_status(const custos::Status& a, const custos::Status& b) {
  return a.code() == b.code() && a.message() == b.message();
}

bool same_error(const DecodeError& a, const DecodeError& b) {
  return a.pointer == b.pointer && a.detail == b.detail;
}

void check_document(std::string_view text) {
  const DocumentCapture capture = read_capture_document(text);
  if (validate_document(text) != capture.problems) std::abort();
  if (!capture.problems.empty()) return;
  DecodeError error;
  auto document = decode_document(text, &error);
  if (!same_error(error, capture.decode_error)) std::abort();
  if (!document.is_ok()) {
    if (!same_status(document.status(), capture.document_status)) std::abort();
    return;
  }
  if (!capture.document_status.is_ok() || !(*document == capture.document)) std::abort();
  auto hashes = document_event_hashes(text);
  if (!hashes.is_ok()) {
    if (!same_status(hashes.status(), capture.hash_status)) std::abort();
    return;
  }
  if (!capture.hash_status.is_ok() || *hashes != capture.event_hashes) std::abort();
}

void check_event(std::string_view text) {
  const EventCapture capture = read_capture_event(text);
  if (validate_event(text) != capture.problems) std::abort();
  if (!capture.problems.empty()) return;
  DecodeError error;
  auto event = decode_event(text, &error);
  if (!same_error(error, capture.decode_error)) std::abort();
  if (!event.is_ok()) {
    if (!same_status(event.status(), capture.event_status)) std::abort();
    return;
  }
  if (!capture.event_status.is_ok() || !(*event == capture.event)) std::abort();
  auto hash = event_hash(text);
  if (!hash.is_ok()) {
    if (!same_status(hash.status(), capture.hash_status)) std::abort();
    return;
  }
  if (!capture.hash_status.is_ok() || *hash != capture.event_hash) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_document(text);
  check_event(text);
  return 0;
}
