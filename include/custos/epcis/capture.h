// custos epcis: what capture does with the text of an EPCIS 2.0 JSON document
// or event (validate it, decode it, hash its events), from one parse.
//
// read_capture_document(json, limits) gives exactly what these three calls
// give, in this order, stopping at the first that fails:
//   1. validate_document(json, limits)       -> problems
//   2. JsonCodec().decode_document(json, &e)  -> document_status, decode_error, document
//   3. document_event_hashes(json)           -> hash_status, event_hashes
// The validator and the event hash share one simdjson DOM parse of the text
// (runtime-dispatched kernel, the parser reused per thread). The decoder still
// reads the text itself (simdjson On-Demand): the model keeps extension values,
// @context, epcisHeader and numbers as the text they were written with, which
// a DOM does not hold.
//
// A stage runs only when the ones before it succeeded: when `problems` is not
// empty the document is not decoded and nothing is hashed; when decoding fails
// nothing is hashed. Fields of stages that did not run are left empty (and
// their Status OK).
//
// Thread-safe: each thread uses its own parser and codec, kept between calls
// (a text over kMaxReusedParserBytes is parsed with buffers freed after the
// call, so one large document does not pin memory to a thread).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"
#include "custos/epcis/event.h"
#include "custos/epcis/json_codec.h"
#include "custos/epcis/validate.h"

namespace custos::epcis {

inline constexpr size_t kMaxReusedParserBytes = size_t{8} << 20;

struct DocumentCapture {
  std::vector<ValidationProblem> problems;  // validate_document's list; empty means valid
  Status document_status;                   // decode_document's error
  DecodeError decode_error;                 // its pointer and detail
  Document document;
  Status hash_status;                     // document_event_hashes' error
  std::vector<std::string> event_hashes;  // one per event of `document`, in order
};

DocumentCapture read_capture_document(std::string_view json, const ValidationLimits& limits = {});

// The same for one event outside any document (POST /events):
// validate_event(json, limits), decode_event(json, &e), event_hash(json).
struct EventCapture {
  std::vector<ValidationProblem> problems;
  Status event_status;
  DecodeError decode_error;
  Event event;
  Status hash_status;
  std::string event_hash;
};

EventCapture read_capture_event(std::string_view json, const ValidationLimits& limits = {});

}  // namespace custos::epcis
