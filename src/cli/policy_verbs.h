// custos CLI: the offline `custos policy` verbs (no server, no data directory).
//
//   policy check PATH          validate a .cedar file or a policy directory
//                              against custos's schema
//   policy test PATH CASES     run a JSON case file against the policies
//   policy diff A B            unified diff of two policy files or directories
//
// PATH may be a .cedar file or a directory (every *.cedar in file-name order,
// joined with one newline, as docs/policies/README.md says); errors in a
// directory are reported against the file and line they come from.
// Exit codes (cli.h): 0 ok / all pass / same; 1 some case failed (test) or
// the texts differ (diff); 2 bad input (unreadable path, invalid policies,
// malformed case file); 3 a file could not be read.
//
// The stream overloads write results to `out` and diagnostics to `err`; the
// others use std::cout and std::cerr.
#pragma once

#include <iosfwd>
#include <string>

namespace custos::cli {

// Prints "PATH:LINE:COL: message" per error (to err) and exits 2, or prints
// "ok: N policies" and exits 0.
int run_policy_check(const std::string& path);
int run_policy_check(const std::string& path, std::ostream& out, std::ostream& err);

// `cases_file` has the format of tests/data/policy/*.json:
//   {"entities": [...], "requests": [{"note": "...", "principal": {"type","id"},
//    "action": ..., "resource": ..., "context": {...}, "decision": "allow"|"deny",
//    "reasons": [...], "errors": [...]}]}
// ("policies" and "description" are ignored: the policies come from
// `policy_path`; "name" may stand for "note"; "context" defaults to {} and an
// absent "reasons" or "errors" is not compared). The policies must validate
// against custos's schema. Prints each failing case (name, expected and got:
// decision, determining policies, erroring policies) and a summary line;
// with `json`, one JSON object {"cases","passed","failed","failures":[...]}.
int run_policy_test(const std::string& policy_path, const std::string& cases_file, bool json);
int run_policy_test(const std::string& policy_path, const std::string& cases_file, bool json,
                    std::ostream& out, std::ostream& err);

// Prints the unified diff of A and B (files or directories); exit 0 when
// they are the same text, 1 when they differ.
int run_policy_diff_files(const std::string& a, const std::string& b);
int run_policy_diff_files(const std::string& a, const std::string& b, std::ostream& out,
                          std::ostream& err);

}  // namespace custos::cli
