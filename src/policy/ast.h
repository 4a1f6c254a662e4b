// Private: the compiled form of Cedar policies shared by parser and evaluator.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "custos/policy/entities.h"
#include "custos/policy/parser.h"
#include "custos/policy/value.h"

namespace custos::policy::internal {

enum class Var : uint8_t { kPrincipal, kAction, kResource, kContext };

enum class Op : uint8_t {
  kLiteral,   // literal
  kVar,       // var
  kIf,        // kids: cond, then, else
  kAnd,       // kids: lhs, rhs
  kOr,
  kNot,       // kids: operand
  kNeg,
  kEq,        // kids: lhs, rhs
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kAdd,
  kSub,
  kMul,
  kHas,       // kids: object; path: attribute names (`has a.b` checks both)
  kLike,      // kids: string; pattern
  kIs,        // kids: entity [, in-target]; name: entity type
  kGetAttr,   // kids: object; name: attribute
  kSet,       // kids: elements
  kRecord,    // kids: values; keys
  kMethod,    // kids: receiver, args...; method
  kIpCall,    // kids: argument
  kDecimalCall,
};

enum class Method : uint8_t {
  kContains,
  kContainsAll,
  kContainsAny,
  kIsEmpty,
  kIsIpv4,
  kIsIpv6,
  kIsLoopback,
  kIsMulticast,
  kIsInRange,
  kLessThan,
  kLessThanOrEqual,
  kGreaterThan,
  kGreaterThanOrEqual,
};

// A `like` pattern: literal runs separated by wildcards.
struct Pattern {
  // Element i is a literal run; a wildcard sits between consecutive runs.
  std::vector<std::string> runs;
  bool matches(std::string_view text) const;
};

struct Expr {
  Op op = Op::kLiteral;
  Var var = Var::kPrincipal;
  Method method = Method::kContains;
  Value literal;
  std::string name;
  std::vector<std::string> path;
  std::vector<std::string> keys;
  Pattern pattern;
  std::vector<std::unique_ptr<Expr>> kids;
};

struct ScopeConstraint {
  enum class Kind : uint8_t { kAny, kEq, kIn, kIs, kIsIn, kInAny };
  Kind kind = Kind::kAny;
  EntityUid uid;                // kEq, kIn, kIsIn
  std::string type;             // kIs, kIsIn
  std::vector<EntityUid> uids;  // kInAny (action in [...])
};

struct Condition {
  bool is_when = true;  // false: unless
  std::unique_ptr<Expr> expr;
};

struct CompiledPolicy {
  std::string id;
  Effect effect = Effect::kPermit;
  std::map<std::string, std::string> annotations;
  ScopeConstraint principal, action, resource;
  std::vector<Condition> conditions;
};

// Source positions of what a policy names, recorded only when the schema
// validator asks (parse_policies_recording); an ordinary parse records
// nothing, so evaluation and parse speed are unaffected.
struct SourcePos {
  int line = 0;    // 1-based
  int column = 0;  // 1-based, in bytes
};

enum class RefSite : uint8_t { kPrincipalScope, kActionScope, kResourceScope, kCondition };

// An entity type named in the text: a uid (`T::"id"`) or an `is T` test.
struct EntityRef {
  uint32_t policy = 0;  // position of the policy in the set
  RefSite site = RefSite::kCondition;
  std::string type;
  bool has_id = false;  // false for `is T`
  std::string id;
  SourcePos pos;  // the type's first token
};

// An attribute read (`x.a`, `x["a"]`) or `has` test directly on principal,
// resource or context (never action; deeper paths are not recorded).
struct AttributeRef {
  uint32_t policy = 0;
  Var var = Var::kPrincipal;
  bool has_test = false;
  std::string name;
  SourcePos pos;  // the attribute name's token
};

struct SourceRefs {
  std::vector<EntityRef> entities;
  std::vector<AttributeRef> attributes;
};

struct CompiledPolicySet {
  std::vector<CompiledPolicy> policies;
  // Scope index: every policy is filed in exactly one place, the first of
  // these that its scope allows, under the uid the scope names; lists hold
  // positions in ascending order. A policy can only match a request when
  //   by_principal:    the uid is the request principal (`principal == E`);
  //   by_resource:     the uid is the request resource (`resource == E`);
  //   by_principal_in: the uid is the principal or one of its ancestors
  //                    (`principal in E`, `principal is T in E`);
  //   by_resource_in:  the same for the resource;
  //   by_action:       the uid is the action or one of its ancestors
  //                    (`action == A`, `action in A`, and each A of
  //                    `action in [A, ...]`, filed under every element);
  // the rest are unindexed.
  using ScopeIndex = std::unordered_map<EntityUid, std::vector<uint32_t>, EntityUidHash>;
  ScopeIndex by_principal;
  ScopeIndex by_resource;
  ScopeIndex by_principal_in;
  ScopeIndex by_resource_in;
  ScopeIndex by_action;
  std::vector<uint32_t> unindexed;
};

// parse_policies_detailed that also records, when `refs` is non-null, the
// positions of every entity type and principal/resource/context attribute
// the text names (in text order). On failure `refs` holds what was recorded
// before the error.
Result<PolicySet> parse_policies_recording(std::string_view text, ParseError* error,
                                           SourceRefs* refs);

}  // namespace custos::policy::internal
