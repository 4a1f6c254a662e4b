// Differential-testing tool for the policy engine (driven by
// tests/cedar_oracle/run.sh):
//
//   policy_oracle_tool generate --seed S --count N --out cases.jsonl
//       writes N random cases (see case_generator.h), one JSON object a line;
//   policy_oracle_tool compare --cases cases.jsonl --oracle answers.jsonl
//       evaluates every case with custos's engine and compares decision,
//       determining policies and erroring policies with the reference
//       answers written by oracle.js. Prints the agreement rate and, for each
//       disagreement (up to --show, default 5), a reproducer: the policies
//       whose outcome differs, the entities, the request and both answers.
//       Exit status 0 only when every case agrees.
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "case_generator.h"
#include "custos/policy/authorizer.h"

namespace {

using custos::policy::Decision;
using custos::policy::EntityStore;
using custos::policy::EntityUid;
using custos::policy::PolicySet;
using custos::policy::Request;

struct Answer {
  bool failure = false;  // inputs rejected (parse error, bad entities)
  std::string failure_message;
  bool allowed = false;
  std::vector<std::string> reasons;
  std::vector<std::string> errors;

  bool operator==(const Answer& other) const {
    if (failure || other.failure) return failure == other.failure;
    return allowed == other.allowed && reasons == other.reasons && errors == other.errors;
  }
  std::string to_string() const {
    if (failure) return "failure: " + failure_message;
    std::string out = allowed ? "allow" : "deny";
    out += " reasons=[";
    for (size_t i = 0; i < reasons.size(); ++i) out += (i ? "," : "") + reasons[i];
    out += "] errors=[";
    for (size_t i = 0; i < errors.size(); ++i) out += (i ? "," : "") + errors[i];
    return out + "]";
  }
};

const char* arg_value(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 2; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == name) return argv[i + 1];
  }
  return fallback;
}

int generate(uint64_t seed, uint64_t count, const std::string& out_path) {
  std::ofstream out(out_path);
  if (!out) {
    std::cerr << "cannot write " << out_path << "\n";
    return 2;
  }
  custos::policy::testing::CaseGenerator generator(seed);
  for (uint64_t i = 0; i < count; ++i) out << generator.generate().to_json_line(i) << "\n";
  return out ? 0 : 2;
}

EntityUid uid_of(simdjson::dom::element element) {
  return EntityUid{std::string(element["type"].get_string().value()),
                   std::string(element["id"].get_string().value())};
}

std::string raw_json(simdjson::dom::element element) { return simdjson::minify(element); }

// Our engine's answer for one case, plus per-policy outcomes for reproducers.
Answer evaluate(simdjson::dom::element c, std::vector<std::string>* policy_texts) {
  Answer answer;
  std::string_view text = c["policies"].get_string().value();
  auto policies = custos::policy::parse_policies(text);
  if (!policies.is_ok()) {
    answer.failure = true;
    answer.failure_message = policies.status().message();
    return answer;
  }
  auto entities = EntityStore::from_json(raw_json(c["entities"].value()));
  if (!entities.is_ok()) {
    answer.failure = true;
    answer.failure_message = entities.status().message();
    return answer;
  }
  auto context = custos::policy::parse_context_json(raw_json(c["context"].value()));
  if (!context.is_ok()) {
    answer.failure = true;
    answer.failure_message = context.status().message();
    return answer;
  }
  Request request{uid_of(c["principal"].value()), uid_of(c["action"].value()),
                  uid_of(c["resource"].value()), *context};
  Decision decision = custos::policy::is_authorized(request, *policies, *entities);
  answer.allowed = decision.allowed;
  answer.reasons = decision.reasons;
  for (const auto& error : decision.errors) answer.errors.push_back(error.policy_id);
  std::sort(answer.reasons.begin(), answer.reasons.end());
  std::sort(answer.errors.begin(), answer.errors.end());
  if (policy_texts != nullptr) {
    // Split the text back into single policies (each generated policy ends
    // a line with `;`), for the reproducer.
    std::istringstream lines{std::string(text)};
    std::string line, current;
    while (std::getline(lines, line)) {
      current += line + "\n";
      if (!line.empty() && line.back() == ';') {
        policy_texts->push_back(current);
        current.clear();
      }
    }
  }
  return answer;
}

Answer oracle_answer(simdjson::dom::element o) {
  Answer answer;
  std::string_view failure;
  if (!o["failure"].get_string().get(failure)) {
    answer.failure = true;
    answer.failure_message = std::string(failure);
    return answer;
  }
  answer.allowed = o["decision"].get_string().value() == "allow";
  simdjson::dom::array reasons = o["reasons"].get_array().value();
  simdjson::dom::array errors = o["errors"].get_array().value();
  for (auto r : reasons) answer.reasons.emplace_back(r.get_string().value());
  for (auto e : errors) answer.errors.emplace_back(e.get_string().value());
  std::sort(answer.reasons.begin(), answer.reasons.end());
  std::sort(answer.errors.begin(), answer.errors.end());
  return answer;
}

std::vector<std::string> symmetric_difference(std::vector<std::string> a, std::vector<std::string> b) {
  std::vector<std::string> out;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

int compare(const std::string& cases_path, const std::string& oracle_path, int show) {
  std::ifstream cases(cases_path), oracle(oracle_path);
  if (!cases || !oracle) {
    std::cerr << "cannot read " << cases_path << " or " << oracle_path << "\n";
    return 2;
  }
  simdjson::dom::parser case_parser, oracle_parser;
  std::string case_line, oracle_line;
  uint64_t total = 0, agreed = 0, both_failed = 0, allows = 0, with_errors = 0;
  while (std::getline(cases, case_line)) {
    if (!std::getline(oracle, oracle_line)) {
      std::cerr << "oracle output ends early at case " << total << "\n";
      return 2;
    }
    ++total;
    simdjson::dom::element c = case_parser.parse(case_line).value();
    simdjson::dom::element o = oracle_parser.parse(oracle_line).value();
    std::vector<std::string> policy_texts;
    Answer ours = evaluate(c, &policy_texts);
    Answer theirs = oracle_answer(o);
    if (ours == theirs) {
      ++agreed;
      both_failed += ours.failure ? 1 : 0;
      allows += !ours.failure && ours.allowed ? 1 : 0;
      with_errors += !ours.failure && !ours.errors.empty() ? 1 : 0;
      continue;
    }
    if (show-- <= 0) continue;
    std::cout << "=== disagreement in case " << c["id"].get_uint64().value() << "\n";
    std::vector<std::string> suspects = symmetric_difference(ours.reasons, theirs.reasons);
    for (auto& id : symmetric_difference(ours.errors, theirs.errors)) suspects.push_back(id);
    std::cout << "--- policies whose outcome differs (each alone reproduces):\n";
    for (const std::string& id : suspects) {
      size_t index = id.rfind("policy", 0) == 0 ? std::strtoul(id.c_str() + 6, nullptr, 10) : 0;
      if (index < policy_texts.size()) std::cout << "[" << id << "] " << policy_texts[index];
    }
    if (suspects.empty()) std::cout << c["policies"].get_string().value() << "\n";
    std::cout << "--- all policies:\n" << c["policies"].get_string().value();
    std::cout << "--- entities: " << raw_json(c["entities"].value()) << "\n";
    std::cout << "--- request: principal=" << raw_json(c["principal"].value())
              << " action=" << raw_json(c["action"].value())
              << " resource=" << raw_json(c["resource"].value())
              << " context=" << raw_json(c["context"].value()) << "\n";
    std::cout << "--- custos:    " << ours.to_string() << "\n";
    std::cout << "--- cedar-wasm: " << theirs.to_string() << "\n";
    if (o["messages"].error() == simdjson::SUCCESS) {
      std::cout << "--- cedar-wasm messages: " << raw_json(o["messages"].value()) << "\n";
    }
  }
  double rate = total == 0 ? 0.0 : 100.0 * static_cast<double>(agreed) / static_cast<double>(total);
  std::printf("cases: %llu agreed: %llu (%.4f%%) [allow: %llu, with erroring policies: %llu, "
              "inputs rejected by both: %llu]\n",
              static_cast<unsigned long long>(total), static_cast<unsigned long long>(agreed), rate,
              static_cast<unsigned long long>(allows), static_cast<unsigned long long>(with_errors),
              static_cast<unsigned long long>(both_failed));
  return total > 0 && agreed == total ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "generate") {
    uint64_t seed = std::strtoull(arg_value(argc, argv, "--seed", "1"), nullptr, 10);
    uint64_t count = std::strtoull(arg_value(argc, argv, "--count", "10000"), nullptr, 10);
    return generate(seed, count, arg_value(argc, argv, "--out", "cases.jsonl"));
  }
  if (mode == "compare") {
    return compare(arg_value(argc, argv, "--cases", "cases.jsonl"),
                   arg_value(argc, argv, "--oracle", "oracle.jsonl"),
                   std::atoi(arg_value(argc, argv, "--show", "5")));
  }
  std::cerr << "usage: policy_oracle_tool generate --seed S --count N --out FILE\n"
               "       policy_oracle_tool compare --cases FILE --oracle FILE [--show K]\n";
  return 2;
}
