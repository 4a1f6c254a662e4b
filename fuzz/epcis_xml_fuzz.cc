// The EPCIS XML binding on arbitrary bytes: conversion never crashes, and
// whatever converts is JSON the validator and the event hash can read.
#include <cstdint>
#include <string_view>

#include "custos/epcis/event_hash.h"
#include "custos/epcis/validate.h"
#include "custos/epcis/xml_binding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = custos::epcis::xml_document_to_json(text);
  if (json.is_ok()) {
    (void)custos::epcis::validate_document(*json);
    (void)custos::epcis::document_event_hashes(*json);
  }
  return 0;
}
