#include "custos/epcis/capture.h"

#include <simdjson.h>

#include <optional>

#include "custos/epcis/event_hash.h"
#include "dom_walk.h"

namespace custos::epcis {
namespace {

// The reused parser of this thread, or a one-off one for a large text.
class ThreadParser {
 public:
  explicit ThreadParser(size_t text_bytes) {
    if (text_bytes > kMaxReusedParserBytes) one_off_.emplace();
  }
  simdjson::dom::parser& get() {
    if (one_off_) return *one_off_;
    thread_local simdjson::dom::parser reused;
    return reused;
  }

 private:
  std::optional<simdjson::dom::parser> one_off_;
};

JsonCodec& thread_codec() {
  thread_local JsonCodec codec;
  return codec;
}

// Parses and validates `json`; the problems, or none with `root` set.
std::vector<ValidationProblem> parse_and_validate(
    simdjson::dom::parser& parser, std::string_view json, const ValidationLimits& limits,
    dom_walk::ValidationMode mode, simdjson::dom::element& root, dom_walk::IdentifierForms& forms) {
  std::vector<ValidationProblem> problems = dom_walk::parse(parser, json, limits, root);
  if (!problems.empty()) return problems;
  problems = dom_walk::validate(root, limits, mode, &forms);
  forms.seal();
  return problems;
}

}  // namespace

DocumentCapture read_capture_document(std::string_view json, const ValidationLimits& limits) {
  DocumentCapture capture;
  ThreadParser parser(json.size());
  simdjson::dom::element root;
  dom_walk::IdentifierForms forms;
  capture.problems = parse_and_validate(parser.get(), json, limits,
                                        dom_walk::ValidationMode::kDocument, root, forms);
  if (!capture.problems.empty()) return capture;

  Result<Document> document = thread_codec().decode_document(json, &capture.decode_error);
  if (!document.is_ok()) {
    capture.document_status = document.status();
    return capture;
  }
  capture.document = std::move(document).value();

  Result<std::vector<std::string>> prehashes = dom_walk::document_event_prehashes(root, &forms);
  if (!prehashes.is_ok()) {
    capture.hash_status = prehashes.status();
    return capture;
  }
  capture.event_hashes.reserve(prehashes->size());
  for (const std::string& prehash : *prehashes) {
    capture.event_hashes.push_back(event_hash_from_prehash(prehash));
  }
  return capture;
}

EventCapture read_capture_event(std::string_view json, const ValidationLimits& limits) {
  EventCapture capture;
  ThreadParser parser(json.size());
  simdjson::dom::element root;
  dom_walk::IdentifierForms forms;
  capture.problems =
      parse_and_validate(parser.get(), json, limits, dom_walk::ValidationMode::kEvent, root, forms);
  if (!capture.problems.empty()) return capture;

  Result<Event> event = thread_codec().decode_event(json, &capture.decode_error);
  if (!event.is_ok()) {
    capture.event_status = event.status();
    return capture;
  }
  capture.event = std::move(event).value();

  Result<std::string> prehash = dom_walk::event_prehash(root, &forms);
  if (!prehash.is_ok()) {
    capture.hash_status = prehash.status();
    return capture;
  }
  capture.event_hash = event_hash_from_prehash(*prehash);
  return capture;
}

}  // namespace custos::epcis
