// custos policy: the Cedar policy language parser.
//
// parse_policies turns Cedar policy text into a PolicySet: each policy is
// compiled once into an expression tree (literal sets and records folded to
// constants, attribute names resolved, `like` patterns pre-split) and its
// scope is indexed so authorization looks only at policies whose principal /
// resource `==` or `in` constraint, or action constraint, can match a request. Supported: annotations,
// permit/forbid, scope constraints (`==`, `in`, `is T`, `is T in E`, action
// `in [..]`), when/unless clauses, and the expression language with Cedar's
// precedence: if-then-else, ||, &&, relations (== != < <= > >= in has like
// is), + -, *, unary ! and -, member access, method calls (contains,
// containsAll, containsAny, isEmpty, and the ipaddr / decimal methods), the
// extension constructors ip("..") and decimal(".."), and all literal forms.
// Not supported: templates (?principal / ?resource slots), entity tags,
// datetime/duration extensions.
//
// Policy ids: the value of an @id("...") annotation when present, otherwise
// "policyN" where N is the policy's position in the text (0-based, counting
// every policy), which matches Cedar's default ids.
//
// Errors: InvalidArgument whose message starts with "line:column: " (both
// 1-based, column counted in bytes) pointing at the offending token. The
// same position is available structurally through parse_policies_detailed.
//
// Thread-safety: a PolicySet is immutable once built and may be evaluated
// from many threads concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/status.h"

namespace custos::policy {

enum class Effect : uint8_t { kPermit, kForbid };

namespace internal {
struct CompiledPolicySet;
}

class PolicySet {
 public:
  PolicySet();
  ~PolicySet();
  PolicySet(PolicySet&&) noexcept;
  PolicySet& operator=(PolicySet&&) noexcept;

  size_t size() const;
  const std::string& id(size_t index) const;
  Effect effect(size_t index) const;
  // Annotations of a policy, e.g. {"id": "p1", "advice": "..."}.
  const std::map<std::string, std::string>& annotations(size_t index) const;

  // For the evaluator.
  const internal::CompiledPolicySet& compiled() const { return *compiled_; }

 private:
  friend struct PolicySetBuilder;
  std::unique_ptr<internal::CompiledPolicySet> compiled_;
};

struct ParseError {
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
  std::string message;
};

// Parses and compiles a policy set; an error carries "line:col: message".
Result<PolicySet> parse_policies(std::string_view text);

// As parse_policies, reporting the error position structurally.
Result<PolicySet> parse_policies_detailed(std::string_view text, ParseError* error);

}  // namespace custos::policy
