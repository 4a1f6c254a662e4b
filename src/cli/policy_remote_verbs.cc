// custos policy push | list | show, and diff between server versions:
// the policy set of a running server (every version is a control entry in
// the log; pushing is policy.change, under the two-person rule by default).
#include <simdjson.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.h"
#include "custos/core/bytes.h"
#include "custos/policy/policy_store.h"
#include "data_dir.h"
#include "policy_verbs.h"
#include "remote.h"

namespace custos::cli {
namespace {

namespace fs = std::filesystem;

// The text of a policy file, or of a directory's *.cedar files joined.
Result<std::string> read_policy_source(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) return policy::read_policy_dir(path);
  return read_text_file(path);
}

// A version's text from the server: "current" or a number.
Result<std::string> fetch_version_text(sdk::Client& client, const std::string& version) {
  CUSTOS_ASSIGN_OR_RETURN(std::string body,
                          call_json(client, "GET", "/custos/v1/policies/" + percent_encode(version)));
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view text;
  if (parser.parse(body).get(root) != simdjson::SUCCESS ||
      root["text"].get_string().get(text) != simdjson::SUCCESS) {
    return invalid_argument("the server's policy answer has no text");
  }
  return std::string(text);
}

// A member's value, or 0 / "" when absent or of another type.
uint64_t u64_of(simdjson::dom::element element, std::string_view key) {
  uint64_t value = 0;
  return element[key].get_uint64().get(value) == simdjson::SUCCESS ? value : 0;
}
std::string_view text_of(simdjson::dom::element element, std::string_view key) {
  std::string_view value;
  return element[key].get_string().get(value) == simdjson::SUCCESS ? value : std::string_view();
}

bool is_version_name(const std::string& name) {
  return name == "current" || parse_decimal_u64(name).is_ok();
}

}  // namespace

int run_policy_push(const PolicyPushOptions& options) {
  constexpr std::string_view kVerb = "policy push";
  auto text = read_policy_source(options.path);
  if (!text.is_ok()) return fail(kVerb, text.status(), kExitUsage);
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const std::string& approval : options.approvals) {
    headers.emplace_back("Custos-Approval", approval);
  }
  auto response = client->request_with("POST", "/custos/v1/policies", *text,
                                        "text/plain; charset=utf-8", headers);
  if (!response.is_ok()) return fail(kVerb, response.status(), kExitNetwork);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  bool parsed = parser.parse(response->body).get(root) == simdjson::SUCCESS;
  if (response->status == 400 && parsed) {
    simdjson::dom::array errors;
    if (root["errors"].get_array().get(errors) == simdjson::SUCCESS) {
      // Point at the file and line the way compilers do.
      for (auto error : errors) {
        std::cerr << options.path << ":" << u64_of(error, "line") << ":"
                  << u64_of(error, "column") << ": " << text_of(error, "message") << "\n";
      }
      std::cerr << "custos policy push: refused; nothing was changed\n";
      return kExitUsage;
    }
  }
  if (response->status != 201) {
    Status status = sdk::status_from_response(*response, "POST /custos/v1/policies");
    return fail(kVerb, status, exit_code_for(status));
  }
  if (options.json) {
    std::cout << response->body << "\n";
    return kExitOk;
  }
  std::cout << "policy version " << u64_of(root, "version") << " ("
            << u64_of(root, "policy_count") << " policies) is now enforced; decision "
            << text_of(root, "decision_id") << "\n";
  return kExitOk;
}

int run_policy_list(const PolicyRemoteOptions& options) {
  constexpr std::string_view kVerb = "policy list";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto body = call_json(*client, "GET", "/custos/v1/policies");
  if (!body.is_ok()) return fail(kVerb, body.status(), exit_code_for(body.status()));
  if (options.json) {
    std::cout << *body << "\n";
    return kExitOk;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array versions;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS ||
      root["versions"].get_array().get(versions) != simdjson::SUCCESS) {
    return fail(kVerb, invalid_argument("malformed answer"), kExitNetwork);
  }
  const uint64_t current = u64_of(root, "current");
  for (auto version : versions) {
    const uint64_t number = u64_of(version, "version");
    std::cout << (number == current ? "* " : "  ") << "v" << number << "  "
              << u64_of(version, "policy_count") << " policies  by " << text_of(version, "actor")
              << "  log index " << u64_of(version, "log_index") << "  sha256 "
              << text_of(version, "sha256").substr(0, 16) << "\n";
  }
  return kExitOk;
}

int run_policy_show(const PolicyRemoteOptions& options) {
  constexpr std::string_view kVerb = "policy show";
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto text = fetch_version_text(*client, options.version.empty() ? "current" : options.version);
  if (!text.is_ok()) return fail(kVerb, text.status(), exit_code_for(text.status()));
  std::cout << *text;
  if (!text->empty() && text->back() != '\n') std::cout << "\n";
  return kExitOk;
}

int run_policy_diff(const PolicyRemoteOptions& options) {
  constexpr std::string_view kVerb = "policy diff";
  // Two local paths: compare files. A version name needs --url.
  if (!is_version_name(options.version) && !is_version_name(options.other)) {
    return run_policy_diff_files(options.version, options.other);
  }
  auto client = make_remote_client(options.remote);
  if (!client.is_ok()) return fail(kVerb, client.status(), kExitUsage);
  auto load = [&](const std::string& name) -> Result<std::string> {
    if (is_version_name(name)) return fetch_version_text(*client, name);
    return read_policy_source(name);
  };
  auto a = load(options.version);
  if (!a.is_ok()) return fail(kVerb, a.status(), exit_code_for(a.status()));
  auto b = load(options.other);
  if (!b.is_ok()) return fail(kVerb, b.status(), exit_code_for(b.status()));
  std::string diff = policy::diff_policy_text(*a, *b, options.version, options.other);
  std::cout << diff;
  return diff.empty() ? kExitOk : kExitVerifyFailed;
}

}  // namespace custos::cli
