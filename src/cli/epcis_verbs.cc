// custos epcis hash: CBV 2.0 event hash IDs of an EPCIS 2.0 JSON / JSON-LD
// document, one line per event in document order.
// custos epcis validate: the problems of a document or event, one a line.
#include <filesystem>
#include <iostream>
#include <vector>

#include "cli.h"
#include "custos/epcis/event_hash.h"
#include "custos/epcis/validate.h"
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

int run_epcis_validate(const EpcisValidateOptions& options) {
  constexpr std::string_view kVerb = "epcis validate";
  std::error_code ignored;
  if (std::filesystem::is_directory(options.path, ignored)) {
    return fail(kVerb, invalid_argument(options.path + " is a directory; name an EPCIS JSON file"),
                kExitUsage);
  }
  auto text = read_text_file(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  std::vector<epcis::ValidationProblem> problems = epcis::validate_document_or_event(*text);
  if (problems.empty()) {
    std::cout << "valid\n";
    return kExitOk;
  }
  for (const epcis::ValidationProblem& problem : problems) {
    std::cout << (problem.pointer.empty() ? "(root)" : problem.pointer) << ": " << problem.message
              << "\n";
  }
  return kExitVerifyFailed;
}

}  // namespace custos::cli
