// custos epcis hash: CBV 2.0 event hash IDs of an EPCIS 2.0 JSON / JSON-LD
// document, one line per event in document order.
#include <iostream>

#include "cli.h"
#include "custos/epcis/event_hash.h"
#include "data_dir.h"
#include "remote.h"

namespace custos::cli {

int run_epcis_hash(const EpcisHashOptions& options) {
  constexpr std::string_view kVerb = "epcis hash";
  auto text = read_text_file(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  auto hashes = options.prehash ? epcis::document_event_prehashes(*text)
                                : epcis::document_event_hashes(*text);
  if (!hashes.is_ok()) {
    return fail(kVerb, hashes.status().with_context(options.path), kExitUsage);
  }
  for (const std::string& line : *hashes) std::cout << line << "\n";
  return kExitOk;
}

}  // namespace custos::cli
