// epcis_json_bench: throughput of the EPCIS 2.0 JSON codec on the capture
// path (decode_document, encode_document, canonical_identifiers), with the
// CBV 2.0 event hash over the same text for scale.
//
// "validate+decode+hash" is what capture did with a document's text through
// three calls; "read_capture_document" is the same from one shared parse.
//
// Usage: epcis_json_bench [document.jsonld ...]  (default: two GS1 examples
// from tests/data/epcis). Each document's events are repeated into one
// document of about 4 MB, decoded and encoded repeatedly by one JsonCodec.
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "custos/epcis/capture.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/json_codec.h"
#include "custos/epcis/validate.h"

namespace {

using custos::Result;
using custos::epcis::Document;
using SteadyClock = std::chrono::steady_clock;

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

double seconds_since(SteadyClock::time_point started) {
  return std::chrono::duration<double>(SteadyClock::now() - started).count();
}

int run(const std::string& path) {
  Result<Document> sample = custos::epcis::decode_document(read_text(path));
  if (!sample.is_ok() || sample->events.empty()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), sample.status().to_string().c_str());
    return 1;
  }
  Document big = *sample;
  big.events.clear();
  const size_t sample_bytes = custos::epcis::encode_document(*sample).size();
  size_t copy = 0;
  while (big.events.size() * sample_bytes / sample->events.size() < (4u << 20)) {
    for (const auto& event : sample->events) {
      big.events.push_back(event);
      // Distinct eventIDs, as a valid document has.
      if (auto& id = big.events.back().event_id) {
        id->push_back('-');
        id->append(std::to_string(copy));
      }
    }
    ++copy;
  }
  const std::string json = custos::epcis::encode_document(big);
  const double megabytes = static_cast<double>(json.size()) / 1e6;
  const double events = static_cast<double>(big.events.size());
  std::printf("%s: %zu events, %.1f MB\n", path.c_str(), big.events.size(), megabytes);

  custos::epcis::JsonCodec codec;
  const int rounds = 10;
  size_t decoded = 0;
  (void)codec.decode_document(json);  // warm up the codec's buffers
  auto started = SteadyClock::now();
  for (int i = 0; i < rounds; ++i) decoded += codec.decode_document(json)->events.size();
  double elapsed = seconds_since(started);
  std::printf("  decode_document        %8.1f MB/s %10.0f events/s\n", megabytes * rounds / elapsed,
              static_cast<double>(decoded) / elapsed);

  size_t written = 0;
  started = SteadyClock::now();
  for (int i = 0; i < rounds; ++i) written += custos::epcis::encode_document(big).size();
  elapsed = seconds_since(started);
  std::printf("  encode_document        %8.1f MB/s %10.0f events/s\n",
              static_cast<double>(written) / 1e6 / elapsed, events * rounds / elapsed);

  size_t identifiers = 0;
  started = SteadyClock::now();
  for (const auto& event : big.events) {
    auto ids = custos::epcis::canonical_identifiers(event);
    if (ids.is_ok()) identifiers += ids->size();
  }
  elapsed = seconds_since(started);
  std::printf("  canonical_identifiers  %8.0f ids/s   %10.0f events/s\n",
              static_cast<double>(identifiers) / elapsed, events / elapsed);

  started = SteadyClock::now();
  auto hashes = custos::epcis::document_event_hashes(json);
  elapsed = seconds_since(started);
  std::printf("  document_event_hashes  %8.1f MB/s %10.0f events/s (for scale)\n",
              megabytes / elapsed, hashes.is_ok() ? events / elapsed : 0.0);

  started = SteadyClock::now();
  size_t problems = 0;
  for (int i = 0; i < rounds; ++i) problems += custos::epcis::validate_document(json).size();
  elapsed = seconds_since(started);
  std::printf("  validate_document      %8.1f MB/s %10.0f events/s (%zu problems)\n",
              megabytes * rounds / elapsed, events * rounds / elapsed, problems);

  // What capture does with a document's text: validate, decode, hash.
  started = SteadyClock::now();
  size_t pipeline_events = 0;
  for (int i = 0; i < rounds; ++i) {
    if (!custos::epcis::validate_document(json).empty()) return 1;
    auto document = codec.decode_document(json);
    auto event_hashes = custos::epcis::document_event_hashes(json);
    if (!document.is_ok() || !event_hashes.is_ok()) return 1;
    pipeline_events += event_hashes->size();
  }
  elapsed = seconds_since(started);
  const double pipeline_mb_s = megabytes * rounds / elapsed;
  std::printf("  validate+decode+hash   %8.1f MB/s %10.0f events/s\n", pipeline_mb_s,
              static_cast<double>(pipeline_events) / elapsed);

  // The same from one shared parse (read_capture_document).
  (void)custos::epcis::read_capture_document(json);  // warm up the thread's parser and codec
  started = SteadyClock::now();
  size_t single_parse_events = 0;
  for (int i = 0; i < rounds; ++i) {
    auto capture = custos::epcis::read_capture_document(json);
    if (!capture.problems.empty() || !capture.document_status.is_ok() ||
        !capture.hash_status.is_ok()) {
      return 1;
    }
    single_parse_events += capture.event_hashes.size();
  }
  elapsed = seconds_since(started);
  const double single_parse_mb_s = megabytes * rounds / elapsed;
  std::printf("  read_capture_document  %8.1f MB/s %10.0f events/s (%.2fx validate+decode+hash)\n",
              single_parse_mb_s, static_cast<double>(single_parse_events) / elapsed,
              single_parse_mb_s / pipeline_mb_s);

  // simdjson's own rate on the same text (DOM parse, runtime-dispatched kernel).
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  started = SteadyClock::now();
  size_t parsed = 0;
  for (int i = 0; i < rounds; ++i) {
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) == simdjson::SUCCESS) ++parsed;
  }
  elapsed = seconds_since(started);
  const double simdjson_mb_s = megabytes * parsed / elapsed;
  std::printf("  simdjson dom::parse    %8.1f MB/s (%s kernel); validate+decode+hash at %.1f%%\n",
              simdjson_mb_s, simdjson::get_active_implementation()->name().c_str(),
              100 * pipeline_mb_s / simdjson_mb_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) paths.emplace_back(argv[i]);
  if (paths.empty()) {
    paths = {"tests/data/epcis/JSON/Example_9.6.1-ObjectEvent.jsonld",
             "tests/data/epcis/JSON/WithSensorData/SensorDataExample1.jsonld"};
  }
  int status = 0;
  for (const std::string& path : paths) status |= run(path);
  return status;
}
