#include "custos/policy/authorizer.h"

#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "ast.h"

namespace custos::policy {
namespace {

using internal::Expr;
using internal::Method;
using internal::Op;
using internal::ScopeConstraint;
using internal::Var;

Status type_error(std::string_view expected, const Value& got) {
  return invalid_argument("type error: expected " + std::string(expected) + ", got " +
                          std::string(value_kind_name(got.kind())));
}

// Evaluates expressions for one request. Values borrowed from the entity
// store and the policy literals are shared, not copied.
class Evaluator {
 public:
  Evaluator(const Request& request, const EntityStore& entities)
      : request_(request),
        entities_(entities),
        principal_(Value::entity(request.principal)),
        action_(Value::entity(request.action)),
        resource_(Value::entity(request.resource)) {}

  Result<bool> satisfied(const internal::CompiledPolicy& policy) {
    if (!scope_matches(policy.principal, request_.principal) ||
        !scope_matches(policy.action, request_.action) ||
        !scope_matches(policy.resource, request_.resource)) {
      return false;
    }
    for (const internal::Condition& condition : policy.conditions) {
      CUSTOS_ASSIGN_OR_RETURN(Value value, eval(*condition.expr));
      if (!value.is(ValueKind::kBool)) return type_error("bool", value);
      if (value.as_bool() != condition.is_when) return false;
    }
    return true;
  }

 private:
  bool scope_matches(const ScopeConstraint& scope, const EntityUid& uid) const {
    switch (scope.kind) {
      case ScopeConstraint::Kind::kAny: return true;
      case ScopeConstraint::Kind::kEq: return uid == scope.uid;
      case ScopeConstraint::Kind::kIn: return entities_.is_in(uid, scope.uid);
      case ScopeConstraint::Kind::kIs: return uid.type == scope.type;
      case ScopeConstraint::Kind::kIsIn:
        return uid.type == scope.type && entities_.is_in(uid, scope.uid);
      case ScopeConstraint::Kind::kInAny:
        for (const EntityUid& target : scope.uids) {
          if (entities_.is_in(uid, target)) return true;
        }
        return false;
    }
    return false;
  }

  Result<bool> eval_bool(const Expr& expr) {
    CUSTOS_ASSIGN_OR_RETURN(Value value, eval(expr));
    if (!value.is(ValueKind::kBool)) return type_error("bool", value);
    return value.as_bool();
  }

  Result<int64_t> eval_long(const Expr& expr) {
    CUSTOS_ASSIGN_OR_RETURN(Value value, eval(expr));
    if (!value.is(ValueKind::kLong)) return type_error("long", value);
    return value.as_long();
  }

  // `lhs in rhs` where rhs is an entity or a set of entities.
  Result<Value> eval_in(const Value& lhs, const Value& rhs) {
    if (!lhs.is(ValueKind::kEntity)) return type_error("entity", lhs);
    const EntityUid& descendant = lhs.as_entity();
    if (rhs.is(ValueKind::kEntity)) {
      return Value::boolean(entities_.is_in(descendant, rhs.as_entity()));
    }
    if (!rhs.is(ValueKind::kSet)) return type_error("set or entity", rhs);
    for (const Value& element : rhs.as_set()) {
      if (!element.is(ValueKind::kEntity)) return type_error("entity", element);
    }
    for (const Value& element : rhs.as_set()) {
      if (entities_.is_in(descendant, element.as_entity())) return Value::boolean(true);
    }
    return Value::boolean(false);
  }

  // The record an attribute read or `has` looks into; nullptr with ok status
  // means "an entity that does not exist".
  Result<const Value*> attributes_of(const Value& object, bool for_has) {
    if (object.is(ValueKind::kRecord)) return &object;
    if (object.is(ValueKind::kEntity)) {
      const Entity* entity = entities_.find(object.as_entity());
      if (entity == nullptr) {
        if (for_has) return static_cast<const Value*>(nullptr);
        return invalid_argument("entity `" + object.as_entity().to_string() + "` does not exist");
      }
      return &entity->attributes;
    }
    return type_error("entity or record", object);
  }

  Result<Value> get_attr(const Value& object, const std::string& name) {
    CUSTOS_ASSIGN_OR_RETURN(const Value* record, attributes_of(object, false));
    const Value* field = record->field(name);
    if (field == nullptr) {
      return invalid_argument(std::string(object.is(ValueKind::kRecord) ? "record" : "entity") +
                              " does not have the attribute `" + name + "`");
    }
    return *field;
  }

  Result<Value> eval_method(const Expr& expr) {
    CUSTOS_ASSIGN_OR_RETURN(Value receiver, eval(*expr.kids[0]));
    Value arg;
    if (expr.kids.size() > 1) {
      CUSTOS_ASSIGN_OR_RETURN(arg, eval(*expr.kids[1]));
    }
    switch (expr.method) {
      case Method::kContains:
        if (!receiver.is(ValueKind::kSet)) return type_error("set", receiver);
        return Value::boolean(receiver.set_contains(arg));
      case Method::kContainsAll:
      case Method::kContainsAny: {
        if (!receiver.is(ValueKind::kSet)) return type_error("set", receiver);
        if (!arg.is(ValueKind::kSet)) return type_error("set", arg);
        bool all = expr.method == Method::kContainsAll;
        for (const Value& element : arg.as_set()) {
          bool found = receiver.set_contains(element);
          if (all && !found) return Value::boolean(false);
          if (!all && found) return Value::boolean(true);
        }
        return Value::boolean(all);
      }
      case Method::kIsEmpty:
        if (!receiver.is(ValueKind::kSet)) return type_error("set", receiver);
        return Value::boolean(receiver.as_set().empty());
      case Method::kIsIpv4:
      case Method::kIsIpv6:
      case Method::kIsLoopback:
      case Method::kIsMulticast:
      case Method::kIsInRange: {
        if (!receiver.is(ValueKind::kIp)) return type_error("ipaddr", receiver);
        const IpAddr& ip = receiver.as_ip();
        switch (expr.method) {
          case Method::kIsIpv4: return Value::boolean(ip.is_v4);
          case Method::kIsIpv6: return Value::boolean(!ip.is_v4);
          case Method::kIsLoopback: return Value::boolean(ip.is_loopback());
          case Method::kIsMulticast: return Value::boolean(ip.is_multicast());
          default:
            if (!arg.is(ValueKind::kIp)) return type_error("ipaddr", arg);
            return Value::boolean(ip.is_in_range(arg.as_ip()));
        }
      }
      case Method::kLessThan:
      case Method::kLessThanOrEqual:
      case Method::kGreaterThan:
      case Method::kGreaterThanOrEqual: {
        if (!receiver.is(ValueKind::kDecimal)) return type_error("decimal", receiver);
        if (!arg.is(ValueKind::kDecimal)) return type_error("decimal", arg);
        int64_t a = receiver.as_decimal().scaled;
        int64_t b = arg.as_decimal().scaled;
        switch (expr.method) {
          case Method::kLessThan: return Value::boolean(a < b);
          case Method::kLessThanOrEqual: return Value::boolean(a <= b);
          case Method::kGreaterThan: return Value::boolean(a > b);
          default: return Value::boolean(a >= b);
        }
      }
    }
    return internal_error("unknown method");
  }

  Result<Value> eval(const Expr& expr) {
    switch (expr.op) {
      case Op::kLiteral: return expr.literal;
      case Op::kVar:
        switch (expr.var) {
          case Var::kPrincipal: return principal_;
          case Var::kAction: return action_;
          case Var::kResource: return resource_;
          case Var::kContext: return request_.context;
        }
        return internal_error("unknown variable");
      case Op::kIf: {
        CUSTOS_ASSIGN_OR_RETURN(bool cond, eval_bool(*expr.kids[0]));
        return eval(*expr.kids[cond ? 1 : 2]);
      }
      case Op::kAnd: {
        CUSTOS_ASSIGN_OR_RETURN(bool lhs, eval_bool(*expr.kids[0]));
        if (!lhs) return Value::boolean(false);
        CUSTOS_ASSIGN_OR_RETURN(bool rhs, eval_bool(*expr.kids[1]));
        return Value::boolean(rhs);
      }
      case Op::kOr: {
        CUSTOS_ASSIGN_OR_RETURN(bool lhs, eval_bool(*expr.kids[0]));
        if (lhs) return Value::boolean(true);
        CUSTOS_ASSIGN_OR_RETURN(bool rhs, eval_bool(*expr.kids[1]));
        return Value::boolean(rhs);
      }
      case Op::kNot: {
        CUSTOS_ASSIGN_OR_RETURN(bool operand, eval_bool(*expr.kids[0]));
        return Value::boolean(!operand);
      }
      case Op::kNeg: {
        CUSTOS_ASSIGN_OR_RETURN(int64_t operand, eval_long(*expr.kids[0]));
        if (operand == INT64_MIN) {
          return invalid_argument("integer overflow while negating " + std::to_string(operand));
        }
        return Value::long_value(-operand);
      }
      case Op::kEq:
      case Op::kNe: {
        CUSTOS_ASSIGN_OR_RETURN(Value lhs, eval(*expr.kids[0]));
        CUSTOS_ASSIGN_OR_RETURN(Value rhs, eval(*expr.kids[1]));
        return Value::boolean((lhs == rhs) == (expr.op == Op::kEq));
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        CUSTOS_ASSIGN_OR_RETURN(Value lhs, eval(*expr.kids[0]));
        CUSTOS_ASSIGN_OR_RETURN(Value rhs, eval(*expr.kids[1]));
        if (!lhs.is(ValueKind::kLong)) return type_error("long", lhs);
        if (!rhs.is(ValueKind::kLong)) return type_error("long", rhs);
        int64_t a = lhs.as_long();
        int64_t b = rhs.as_long();
        bool result = expr.op == Op::kLt   ? a < b
                      : expr.op == Op::kLe ? a <= b
                      : expr.op == Op::kGt ? a > b
                                           : a >= b;
        return Value::boolean(result);
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul: {
        CUSTOS_ASSIGN_OR_RETURN(Value lhs, eval(*expr.kids[0]));
        CUSTOS_ASSIGN_OR_RETURN(Value rhs, eval(*expr.kids[1]));
        if (!lhs.is(ValueKind::kLong)) return type_error("long", lhs);
        if (!rhs.is(ValueKind::kLong)) return type_error("long", rhs);
        int64_t out = 0;
        bool overflow = expr.op == Op::kAdd   ? __builtin_add_overflow(lhs.as_long(), rhs.as_long(), &out)
                        : expr.op == Op::kSub ? __builtin_sub_overflow(lhs.as_long(), rhs.as_long(), &out)
                                              : __builtin_mul_overflow(lhs.as_long(), rhs.as_long(), &out);
        if (overflow) {
          return invalid_argument("integer overflow in " + std::to_string(lhs.as_long()) +
                                  (expr.op == Op::kAdd ? " + " : expr.op == Op::kSub ? " - " : " * ") +
                                  std::to_string(rhs.as_long()));
        }
        return Value::long_value(out);
      }
      case Op::kIn: {
        CUSTOS_ASSIGN_OR_RETURN(Value lhs, eval(*expr.kids[0]));
        CUSTOS_ASSIGN_OR_RETURN(Value rhs, eval(*expr.kids[1]));
        return eval_in(lhs, rhs);
      }
      case Op::kHas: {
        CUSTOS_ASSIGN_OR_RETURN(Value object, eval(*expr.kids[0]));
        for (const std::string& name : expr.path) {
          CUSTOS_ASSIGN_OR_RETURN(const Value* record, attributes_of(object, true));
          if (record == nullptr) return Value::boolean(false);
          const Value* field = record->field(name);
          if (field == nullptr) return Value::boolean(false);
          // `field` may live inside `object`: copy it out before replacing `object`.
          Value next = *field;
          object = std::move(next);
        }
        return Value::boolean(true);
      }
      case Op::kLike: {
        CUSTOS_ASSIGN_OR_RETURN(Value operand, eval(*expr.kids[0]));
        if (!operand.is(ValueKind::kString)) return type_error("string", operand);
        return Value::boolean(expr.pattern.matches(operand.as_string()));
      }
      case Op::kIs: {
        CUSTOS_ASSIGN_OR_RETURN(Value operand, eval(*expr.kids[0]));
        if (!operand.is(ValueKind::kEntity)) return type_error("entity", operand);
        if (operand.as_entity().type != expr.name) return Value::boolean(false);
        if (expr.kids.size() == 1) return Value::boolean(true);
        CUSTOS_ASSIGN_OR_RETURN(Value target, eval(*expr.kids[1]));
        return eval_in(operand, target);
      }
      case Op::kGetAttr: {
        CUSTOS_ASSIGN_OR_RETURN(Value object, eval(*expr.kids[0]));
        return get_attr(object, expr.name);
      }
      case Op::kSet: {
        std::vector<Value> elements;
        elements.reserve(expr.kids.size());
        for (const auto& kid : expr.kids) {
          CUSTOS_ASSIGN_OR_RETURN(Value element, eval(*kid));
          elements.push_back(std::move(element));
        }
        return Value::set(std::move(elements));
      }
      case Op::kRecord: {
        RecordFields fields;
        fields.reserve(expr.kids.size());
        for (size_t i = 0; i < expr.kids.size(); ++i) {
          CUSTOS_ASSIGN_OR_RETURN(Value field, eval(*expr.kids[i]));
          fields.emplace_back(expr.keys[i], std::move(field));
        }
        return Value::record(std::move(fields));
      }
      case Op::kMethod: return eval_method(expr);
      case Op::kIpCall:
      case Op::kDecimalCall: {
        CUSTOS_ASSIGN_OR_RETURN(Value arg, eval(*expr.kids[0]));
        if (!arg.is(ValueKind::kString)) return type_error("string", arg);
        if (expr.op == Op::kIpCall) {
          CUSTOS_ASSIGN_OR_RETURN(IpAddr ip, IpAddr::parse(arg.as_string()));
          return Value::ip(ip);
        }
        CUSTOS_ASSIGN_OR_RETURN(Decimal decimal, Decimal::parse(arg.as_string()));
        return Value::decimal(decimal);
      }
    }
    return internal_error("unknown expression");
  }

  const Request& request_;
  const EntityStore& entities_;
  Value principal_, action_, resource_;
};

using ScopeIndex = internal::CompiledPolicySet::ScopeIndex;

// Positions of candidate policies, visited in ascending order.
class CandidateSet {
 public:
  explicit CandidateSet(size_t policy_count) : word_count_((policy_count + 63) / 64) {
    if (word_count_ > inline_words_.size()) {
      heap_words_.assign(word_count_, 0);
      words_ = heap_words_.data();
    } else {
      words_ = inline_words_.data();
    }
  }

  void add(std::span<const uint32_t> positions) {
    for (uint32_t position : positions) words_[position / 64] |= uint64_t{1} << (position % 64);
  }

  void add(const ScopeIndex& index, const EntityUid& uid) {
    auto it = index.find(uid);
    if (it != index.end()) add(it->second);
  }

  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (size_t word = 0; word < word_count_; ++word) {
      for (uint64_t bits = words_[word]; bits != 0; bits &= bits - 1) {
        visit(static_cast<uint32_t>(word * 64 + static_cast<unsigned>(__builtin_ctzll(bits))));
      }
    }
  }

 private:
  size_t word_count_;
  std::array<uint64_t, 16> inline_words_{};  // up to 1024 policies without allocating
  std::vector<uint64_t> heap_words_;
  uint64_t* words_;
};

// Adds the policies of `index` filed under `uid` or any of its ancestors in
// `entities`: exactly the uids E for which Cedar's `uid in E` holds.
void add_self_and_ancestors(const ScopeIndex& index, const EntityStore& entities,
                            const EntityUid& uid, CandidateSet& candidates) {
  if (index.empty()) return;
  std::array<const EntityUid*, 16> inline_seen;
  std::vector<const EntityUid*> more_seen;
  size_t inline_count = 0;
  auto seen = [&](const EntityUid& candidate) {
    for (size_t i = 0; i < inline_count; ++i) {
      if (*inline_seen[i] == candidate) return true;
    }
    for (const EntityUid* other : more_seen) {
      if (*other == candidate) return true;
    }
    return false;
  };
  auto remember = [&](const EntityUid& next) {
    if (inline_count < inline_seen.size()) {
      inline_seen[inline_count++] = &next;
    } else {
      more_seen.push_back(&next);
    }
  };
  remember(uid);
  // Breadth-first over the parents, the walk EntityStore's closure makes.
  for (size_t i = 0; i < inline_count + more_seen.size(); ++i) {
    const EntityUid& current = i < inline_count ? *inline_seen[i] : *more_seen[i - inline_count];
    candidates.add(index, current);
    const Entity* entity = entities.find(current);
    if (entity == nullptr) continue;
    for (const EntityUid& parent : entity->parents) {
      if (!seen(parent)) remember(parent);
    }
  }
}

}  // namespace

void is_authorized(const Request& request, const PolicySet& policies, const EntityStore& entities,
                   Decision& decision) {
  decision.allowed = false;
  decision.reasons.clear();
  decision.errors.clear();
  const internal::CompiledPolicySet& set = policies.compiled();
  Evaluator evaluator(request, entities);

  // Candidates: every policy whose filed scope can match, in ascending order
  // (the order reasons and errors are reported in).
  CandidateSet candidates(set.policies.size());
  candidates.add(set.unindexed);
  candidates.add(set.by_principal, request.principal);
  candidates.add(set.by_resource, request.resource);
  add_self_and_ancestors(set.by_principal_in, entities, request.principal, candidates);
  add_self_and_ancestors(set.by_resource_in, entities, request.resource, candidates);
  add_self_and_ancestors(set.by_action, entities, request.action, candidates);
  bool forbidden = false;
  size_t permits = 0;
  candidates.for_each([&](uint32_t next) {
    const internal::CompiledPolicy& policy = set.policies[next];
    Result<bool> result = evaluator.satisfied(policy);
    if (!result.is_ok()) {
      decision.errors.push_back({policy.id, result.status().message()});
      return;
    }
    if (!*result) return;
    if (policy.effect == Effect::kForbid) {
      if (!forbidden) decision.reasons.clear();
      forbidden = true;
      decision.reasons.push_back(policy.id);
    } else if (!forbidden) {
      decision.reasons.push_back(policy.id);
      ++permits;
    }
  });
  decision.allowed = !forbidden && permits > 0;
}

Decision is_authorized(const Request& request, const PolicySet& policies,
                       const EntityStore& entities) {
  Decision decision;
  is_authorized(request, policies, entities, decision);
  return decision;
}

Result<Value> parse_context_json(std::string_view json) {
  CUSTOS_ASSIGN_OR_RETURN(Value context, parse_value_json(json));
  if (!context.is(ValueKind::kRecord)) return invalid_argument("context must be a JSON object");
  return context;
}

}  // namespace custos::policy
