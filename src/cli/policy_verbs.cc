// custos policy check | test | diff: the offline policy verbs.
#include "policy_verbs.h"

#include <simdjson.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <vector>

#include "cli.h"
#include "custos/core/json_writer.h"
#include "custos/policy/authorizer.h"
#include "custos/policy/policy_store.h"
#include "custos/policy/schema.h"

namespace custos::cli {

namespace {

// The entity store of a cases file (a function of its own: g++ 12 reports a
// -Wfree-nonheap-object false positive when the Result dies inline).
Status load_entities(const std::string& json, policy::EntityStore& entities) {
  CUSTOS_ASSIGN_OR_RETURN(entities, policy::EntityStore::from_json(json));
  return Status::ok();
}


using policy::PolicyDirText;

int input_exit_code(const Status& status) {
  return status.code() == StatusCode::kIoError ? kExitStorage : kExitUsage;
}

// A .cedar file or a policy directory, with where each line came from.
Result<PolicyDirText> load_policy_text(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return policy::read_policy_dir_sources(path);
  if (!std::filesystem::exists(path, error)) return not_found(path + " does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in) return io_error("cannot open " + path);
  PolicyDirText loaded;
  loaded.text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return io_error("cannot read " + path);
  loaded.files.push_back({path, 1});
  return loaded;
}

// "file:line:col: message" in the file the error comes from.
std::string locate_error(const PolicyDirText& loaded, const policy::ValidationError& error) {
  auto [file, line] = loaded.locate(static_cast<uint32_t>(std::max(error.line, 1)));
  return file->path + ":" + std::to_string(line) + ":" + std::to_string(error.column) + ": " +
         error.message;
}

// Loads and validates; on failure prints why and returns the exit code.
std::optional<int> load_and_validate(const std::string& verb, const std::string& path,
                                     std::ostream& err, PolicyDirText& loaded,
                                     policy::PolicySet& policies) {
  auto text = load_policy_text(path);
  if (!text.is_ok()) {
    err << "custos policy " << verb << ": " << text.status().message() << "\n";
    return input_exit_code(text.status());
  }
  loaded = std::move(text).value();
  std::vector<policy::ValidationError> errors;
  auto validated = policy::validate_policies(loaded.text, policy::custos_schema(), &errors);
  if (!validated.is_ok()) {
    for (const auto& error : errors) err << locate_error(loaded, error) << "\n";
    err << "custos policy " << verb << ": " << errors.size() << " error"
        << (errors.size() == 1 ? "" : "s") << " in " << path << "\n";
    return kExitUsage;
  }
  policies = std::move(validated).value();
  return std::nullopt;
}

struct Expectation {
  bool allowed = false;
  std::optional<std::vector<std::string>> reasons;  // absent: not compared
  std::optional<std::vector<std::string>> errors;
};

struct TestCase {
  std::string name;
  policy::Request request;
  Expectation expected;
};

Result<policy::EntityUid> read_uid(simdjson::dom::element element, std::string_view field) {
  std::string_view type, id;
  if (element.at_key(field)["type"].get_string().get(type) ||
      element.at_key(field)["id"].get_string().get(id)) {
    return invalid_argument("\"" + std::string(field) + "\" must be {\"type\": ..., \"id\": ...}");
  }
  return policy::EntityUid{std::string(type), std::string(id)};
}

Result<std::optional<std::vector<std::string>>> read_names(simdjson::dom::element element,
                                                           std::string_view field) {
  simdjson::dom::element value;
  if (element.at_key(field).get(value)) return std::optional<std::vector<std::string>>();
  simdjson::dom::array array;
  if (value.get_array().get(array)) {
    return invalid_argument("\"" + std::string(field) + "\" must be an array of policy ids");
  }
  std::vector<std::string> names;
  for (simdjson::dom::element item : array) {
    std::string_view name;
    if (item.get_string().get(name)) {
      return invalid_argument("\"" + std::string(field) + "\" must be an array of policy ids");
    }
    names.emplace_back(name);
  }
  std::sort(names.begin(), names.end());
  return std::optional<std::vector<std::string>>(std::move(names));
}

Result<TestCase> read_case(simdjson::dom::element element, size_t index) {
  TestCase test;
  std::string_view name;
  if (!element["note"].get_string().get(name) || !element["name"].get_string().get(name)) {
    test.name = std::string(name);
  } else {
    test.name = "request " + std::to_string(index);
  }
  CUSTOS_ASSIGN_OR_RETURN(test.request.principal, read_uid(element, "principal"));
  CUSTOS_ASSIGN_OR_RETURN(test.request.action, read_uid(element, "action"));
  CUSTOS_ASSIGN_OR_RETURN(test.request.resource, read_uid(element, "resource"));
  simdjson::dom::element context;
  if (!element["context"].get(context)) {
    CUSTOS_ASSIGN_OR_RETURN(test.request.context,
                            policy::parse_context_json(simdjson::minify(context)));
  }
  std::string_view decision;
  if (element["decision"].get_string().get(decision) ||
      (decision != "allow" && decision != "deny")) {
    return invalid_argument("\"decision\" must be \"allow\" or \"deny\"");
  }
  test.expected.allowed = decision == "allow";
  CUSTOS_ASSIGN_OR_RETURN(test.expected.reasons, read_names(element, "reasons"));
  CUSTOS_ASSIGN_OR_RETURN(test.expected.errors, read_names(element, "errors"));
  return test;
}

std::string join(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out + "]";
}

void write_names(JsonWriter& json, std::string_view key, const std::vector<std::string>& names) {
  json.key(key).begin_array();
  for (const auto& name : names) json.string(name);
  json.end_array();
}

}  // namespace

int run_policy_check(const std::string& path, std::ostream& out, std::ostream& err) {
  PolicyDirText loaded;
  policy::PolicySet policies;
  if (auto code = load_and_validate("check", path, err, loaded, policies)) return *code;
  out << "ok: " << policies.size() << " policies\n";
  return kExitOk;
}

int run_policy_check(const std::string& path) {
  return run_policy_check(path, std::cout, std::cerr);
}

int run_policy_test(const std::string& policy_path, const std::string& cases_file, bool json,
                    std::ostream& out, std::ostream& err) {
  PolicyDirText loaded;
  policy::PolicySet policies;
  if (auto code = load_and_validate("test", policy_path, err, loaded, policies)) return *code;

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.load(cases_file).get(root)) {
    err << "custos policy test: " << cases_file << ": " << simdjson::error_message(error) << "\n";
    return error == simdjson::IO_ERROR ? kExitStorage : kExitUsage;
  }
  policy::EntityStore entities;
  simdjson::dom::element entities_json;
  if (!root["entities"].get(entities_json)) {
    std::string entities_text = simdjson::minify(entities_json);
    Status loaded = load_entities(entities_text, entities);
    if (!loaded.is_ok()) {
      err << "custos policy test: " << cases_file << ": entities: " << loaded.message() << "\n";
      return kExitUsage;
    }
  }
  simdjson::dom::array requests;
  if (root["requests"].get_array().get(requests)) {
    err << "custos policy test: " << cases_file << ": \"requests\" must be an array of cases\n";
    return kExitUsage;
  }
  std::vector<TestCase> cases;
  for (simdjson::dom::element element : requests) {
    auto test = read_case(element, cases.size());
    if (!test.is_ok()) {
      err << "custos policy test: " << cases_file << ": request " << cases.size() << ": "
          << test.status().message() << "\n";
      return kExitUsage;
    }
    cases.push_back(std::move(test).value());
  }

  JsonWriter report;  // the failures array, with json
  report.begin_array();
  size_t failed = 0;
  policy::Decision decision;
  for (const TestCase& test : cases) {
    policy::is_authorized(test.request, policies, entities, decision);
    std::vector<std::string> reasons = decision.reasons;
    std::sort(reasons.begin(), reasons.end());
    std::vector<std::string> errors;
    for (const auto& error : decision.errors) errors.push_back(error.policy_id);
    std::sort(errors.begin(), errors.end());
    bool pass = decision.allowed == test.expected.allowed &&
                (!test.expected.reasons || *test.expected.reasons == reasons) &&
                (!test.expected.errors || *test.expected.errors == errors);
    if (pass) continue;
    ++failed;
    auto decision_name = [](bool allowed) { return allowed ? "allow" : "deny"; };
    if (json) {
      report.begin_object().key("name").string(test.name);
      report.key("expected").begin_object().key("decision").string(
          decision_name(test.expected.allowed));
      if (test.expected.reasons) write_names(report, "reasons", *test.expected.reasons);
      if (test.expected.errors) write_names(report, "errors", *test.expected.errors);
      report.end_object();
      report.key("got").begin_object().key("decision").string(decision_name(decision.allowed));
      write_names(report, "reasons", reasons);
      write_names(report, "errors", errors);
      report.end_object().end_object();
    } else {
      out << "FAIL " << test.name << "\n  expected: " << decision_name(test.expected.allowed);
      if (test.expected.reasons) out << ", reasons " << join(*test.expected.reasons);
      if (test.expected.errors) out << ", errors " << join(*test.expected.errors);
      out << "\n  got:      " << decision_name(decision.allowed) << ", reasons " << join(reasons)
          << ", errors " << join(errors) << "\n";
    }
  }
  if (json) {
    report.end_array();
    JsonWriter summary;
    summary.begin_object()
        .key("cases").number(uint64_t{cases.size()})
        .key("passed").number(uint64_t{cases.size() - failed})
        .key("failed").number(uint64_t{failed})
        .key("failures").raw(report.str())
        .end_object();
    out << summary.str() << "\n";
  } else {
    out << cases.size() << " cases: " << cases.size() - failed << " passed, " << failed
        << " failed\n";
  }
  return failed == 0 ? kExitOk : kExitVerifyFailed;
}

int run_policy_test(const std::string& policy_path, const std::string& cases_file, bool json) {
  return run_policy_test(policy_path, cases_file, json, std::cout, std::cerr);
}

int run_policy_diff_files(const std::string& a, const std::string& b, std::ostream& out,
                          std::ostream& err) {
  auto text_a = load_policy_text(a);
  if (!text_a.is_ok()) {
    err << "custos policy diff: " << text_a.status().message() << "\n";
    return input_exit_code(text_a.status());
  }
  auto text_b = load_policy_text(b);
  if (!text_b.is_ok()) {
    err << "custos policy diff: " << text_b.status().message() << "\n";
    return input_exit_code(text_b.status());
  }
  std::string diff = policy::diff_policy_text(text_a->text, text_b->text, a, b);
  out << diff;
  return diff.empty() ? kExitOk : kExitVerifyFailed;
}

int run_policy_diff_files(const std::string& a, const std::string& b) {
  return run_policy_diff_files(a, b, std::cout, std::cerr);
}

}  // namespace custos::cli
