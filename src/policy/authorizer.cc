#include "custos/policy/authorizer.h"

#include <algorithm>
#include <array>
#include <optional>
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

Status type_error(std::string_view expected, ValueKind got) {
  return invalid_argument("type error: expected " + std::string(expected) + ", got " +
                          std::string(value_kind_name(got)));
}

// What an expression evaluated to, without copying values that outlive the
// evaluation: a value borrowed from the request, the entity store or a policy
// literal; one of the request's entities (principal, action, resource), kept
// as the request's uid until something needs it as a Value; or a temporary
// owned here (a computed bool or long, a set or record built at run time).
class Operand {
 public:
  void borrow(const Value& value) {
    source_ = Source::kBorrowed;
    borrowed_ = &value;
  }
  void own(Value value) {
    source_ = Source::kOwned;
    owned_.emplace(std::move(value));
  }
  void request_entity(Var var, const EntityUid& uid) {
    source_ = Source::kRequestEntity;
    var_ = var;
    uid_ = &uid;
  }

  bool is_request_entity() const { return source_ == Source::kRequestEntity; }
  bool is_owned() const { return source_ == Source::kOwned; }
  Var var() const { return var_; }
  ValueKind kind() const { return is_request_entity() ? ValueKind::kEntity : value().kind(); }
  bool is(ValueKind kind) const { return this->kind() == kind; }
  // Precondition: !is_request_entity().
  const Value& value() const { return source_ == Source::kBorrowed ? *borrowed_ : *owned_; }
  // Precondition: is(ValueKind::kEntity).
  const EntityUid& entity() const { return is_request_entity() ? *uid_ : value().as_entity(); }

 private:
  enum class Source : uint8_t { kBorrowed, kOwned, kRequestEntity };
  Source source_ = Source::kBorrowed;
  Var var_ = Var::kPrincipal;
  const Value* borrowed_ = &unset_;  // an operand never assigned reads as Cedar `false`
  const EntityUid* uid_ = nullptr;
  std::optional<Value> owned_;  // engaged only for temporaries
  static inline const Value unset_;
};

// Evaluates expressions for one request. Values borrowed from the request,
// the entity store and the policy literals are read in place, never copied;
// boolean operators produce plain bools. A failed evaluation returns false
// and leaves the reason in error().
class Evaluator {
 public:
  Evaluator(const Request& request, const EntityStore& entities)
      : request_(request), entities_(entities) {}

  // Ok(true) when the scope matches and every condition holds.
  Result<bool> satisfied(const internal::CompiledPolicy& policy) {
    if (!scope_matches(policy.principal, Var::kPrincipal) ||
        !scope_matches(policy.action, Var::kAction) ||
        !scope_matches(policy.resource, Var::kResource)) {
      return false;
    }
    for (const internal::Condition& condition : policy.conditions) {
      bool holds = false;
      if (!eval_bool(*condition.expr, holds)) return std::move(error_);
      if (holds != condition.is_when) return false;
    }
    return true;
  }

  // The store's entry for the request's principal, action or resource
  // (nullptr: not in the store), looked up once per request.
  const Entity* request_entry(Var var) {
    const size_t slot = static_cast<size_t>(var);
    if (!request_entries_found_[slot]) {
      request_entries_[slot] = entities_.find(request_uid(var));
      request_entries_found_[slot] = true;
    }
    return request_entries_[slot];
  }

 private:
  bool fail(Status status) {
    error_ = std::move(status);
    return false;
  }

  const EntityUid& request_uid(Var var) const {
    return var == Var::kPrincipal ? request_.principal
           : var == Var::kAction  ? request_.action
                                  : request_.resource;
  }

  // Cedar `in` for a request entity.
  bool request_in(Var var, const EntityUid& ancestor) {
    if (request_uid(var) == ancestor) return true;
    const Entity* entry = request_entry(var);
    return entry != nullptr && entities_.has_ancestor(*entry, ancestor);
  }

  bool scope_matches(const ScopeConstraint& scope, Var var) {
    switch (scope.kind) {
      case ScopeConstraint::Kind::kAny: return true;
      case ScopeConstraint::Kind::kEq: return request_uid(var) == scope.uid;
      case ScopeConstraint::Kind::kIn: return request_in(var, scope.uid);
      case ScopeConstraint::Kind::kIs: return request_uid(var).type == scope.type;
      case ScopeConstraint::Kind::kIsIn:
        return request_uid(var).type == scope.type && request_in(var, scope.uid);
      case ScopeConstraint::Kind::kInAny:
        for (const EntityUid& target : scope.uids) {
          if (request_in(var, target)) return true;
        }
        return false;
    }
    return false;
  }

  // `operand in ancestor`; operand is an entity.
  bool operand_in(const Operand& operand, const EntityUid& ancestor) {
    return operand.is_request_entity() ? request_in(operand.var(), ancestor)
                                       : entities_.is_in(operand.entity(), ancestor);
  }

  // The request's principal, action or resource as a Value, made once per
  // evaluator and only when an expression needs the entity as a value (an
  // element of a set, an argument of contains...).
  const Value& request_value(Var var) {
    const size_t slot = static_cast<size_t>(var);
    if (!request_values_made_[slot]) {
      request_values_[slot] = Value::entity(request_uid(var));
      request_values_made_[slot] = true;
    }
    return request_values_[slot];
  }

  const Value& value_of(const Operand& operand) {
    return operand.is_request_entity() ? request_value(operand.var()) : operand.value();
  }

  static bool operands_equal(const Operand& a, const Operand& b) {
    if (a.is_request_entity() || b.is_request_entity()) {
      return a.is(ValueKind::kEntity) && b.is(ValueKind::kEntity) && a.entity() == b.entity();
    }
    return a.value() == b.value();
  }

  bool eval_long(const Expr& lhs_expr, const Expr& rhs_expr, int64_t& lhs, int64_t& rhs) {
    // Both sides are evaluated before either is type-checked.
    Operand a, b;
    if (!eval(lhs_expr, a) || !eval(rhs_expr, b)) return false;
    if (!a.is(ValueKind::kLong)) return fail(type_error("long", a.kind()));
    if (!b.is(ValueKind::kLong)) return fail(type_error("long", b.kind()));
    lhs = a.value().as_long();
    rhs = b.value().as_long();
    return true;
  }

  // `lhs in rhs` where rhs is an entity or a set of entities.
  bool eval_in(const Operand& lhs, const Operand& rhs, bool& out) {
    if (!lhs.is(ValueKind::kEntity)) return fail(type_error("entity", lhs.kind()));
    if (rhs.is(ValueKind::kEntity)) {
      out = operand_in(lhs, rhs.entity());
      return true;
    }
    if (!rhs.is(ValueKind::kSet)) return fail(type_error("set or entity", rhs.kind()));
    const SetElements& elements = rhs.value().as_set();
    for (const Value& element : elements) {
      if (!element.is(ValueKind::kEntity)) return fail(type_error("entity", element.kind()));
    }
    out = false;
    for (const Value& element : elements) {
      if (operand_in(lhs, element.as_entity())) {
        out = true;
        break;
      }
    }
    return true;
  }

  // The record an attribute read or `has` looks into; `out` is nullptr (and
  // the call succeeds) for an entity that does not exist when `for_has`.
  bool attributes_of(const EntityUid& uid, bool for_has, const Value*& out) {
    return attributes_of(uid, entities_.find(uid), for_has, out);
  }

  // `entity` is the store's entry for `uid`, nullptr when absent.
  bool attributes_of(const EntityUid& uid, const Entity* entity, bool for_has, const Value*& out) {
    if (entity == nullptr) {
      out = nullptr;
      if (for_has) return true;
      return fail(invalid_argument("entity `" + uid.to_string() + "` does not exist"));
    }
    out = &entity->attributes;
    return true;
  }

  bool attributes_of(const Value& object, bool for_has, const Value*& out) {
    if (object.is(ValueKind::kRecord)) {
      out = &object;
      return true;
    }
    if (object.is(ValueKind::kEntity)) return attributes_of(object.as_entity(), for_has, out);
    return fail(type_error("entity or record", object.kind()));
  }

  bool attributes_of(const Operand& object, bool for_has, const Value*& out) {
    if (object.is_request_entity()) {
      return attributes_of(object.entity(), request_entry(object.var()), for_has, out);
    }
    return attributes_of(object.value(), for_has, out);
  }

  bool get_attr(const Operand& object, const std::string& name, Operand& out) {
    const Value* record = nullptr;
    if (!attributes_of(object, false, record)) return false;
    const Value* field = record->field(name);
    if (field == nullptr) {
      return fail(invalid_argument(
          std::string(object.is(ValueKind::kRecord) ? "record" : "entity") +
          " does not have the attribute `" + name + "`"));
    }
    // A field of a temporary record dies with it: copy it out. Everything
    // else (entity attributes, the context, literals) outlives the evaluation.
    if (object.is_owned() && object.value().is(ValueKind::kRecord)) {
      out.own(*field);
    } else {
      out.borrow(*field);
    }
    return true;
  }

  bool eval_has(const Expr& expr, bool& out) {
    Operand object;
    if (!eval(*expr.kids[0], object)) return false;
    // Each step reads inside `object` or the entity store, both alive here.
    const Value* current = nullptr;
    for (size_t i = 0; i < expr.path.size(); ++i) {
      const Value* record = nullptr;
      bool ok = i == 0 ? attributes_of(object, true, record) : attributes_of(*current, true, record);
      if (!ok) return false;
      if (record == nullptr) {
        out = false;
        return true;
      }
      current = record->field(expr.path[i]);
      if (current == nullptr) {
        out = false;
        return true;
      }
    }
    out = true;
    return true;
  }

  bool eval_method(const Expr& expr, bool& out) {
    Operand receiver, arg;
    if (!eval(*expr.kids[0], receiver)) return false;
    if (expr.kids.size() > 1 && !eval(*expr.kids[1], arg)) return false;
    switch (expr.method) {
      case Method::kContains:
        if (!receiver.is(ValueKind::kSet)) return fail(type_error("set", receiver.kind()));
        out = receiver.value().set_contains(value_of(arg));
        return true;
      case Method::kContainsAll:
      case Method::kContainsAny: {
        if (!receiver.is(ValueKind::kSet)) return fail(type_error("set", receiver.kind()));
        if (!arg.is(ValueKind::kSet)) return fail(type_error("set", arg.kind()));
        const bool all = expr.method == Method::kContainsAll;
        out = all;
        for (const Value& element : arg.value().as_set()) {
          bool found = receiver.value().set_contains(element);
          if (all && !found) {
            out = false;
            break;
          }
          if (!all && found) {
            out = true;
            break;
          }
        }
        return true;
      }
      case Method::kIsEmpty:
        if (!receiver.is(ValueKind::kSet)) return fail(type_error("set", receiver.kind()));
        out = receiver.value().as_set().empty();
        return true;
      case Method::kIsIpv4:
      case Method::kIsIpv6:
      case Method::kIsLoopback:
      case Method::kIsMulticast:
      case Method::kIsInRange: {
        if (!receiver.is(ValueKind::kIp)) return fail(type_error("ipaddr", receiver.kind()));
        const IpAddr& ip = receiver.value().as_ip();
        switch (expr.method) {
          case Method::kIsIpv4: out = ip.is_v4; return true;
          case Method::kIsIpv6: out = !ip.is_v4; return true;
          case Method::kIsLoopback: out = ip.is_loopback(); return true;
          case Method::kIsMulticast: out = ip.is_multicast(); return true;
          default:
            if (!arg.is(ValueKind::kIp)) return fail(type_error("ipaddr", arg.kind()));
            out = ip.is_in_range(arg.value().as_ip());
            return true;
        }
      }
      case Method::kLessThan:
      case Method::kLessThanOrEqual:
      case Method::kGreaterThan:
      case Method::kGreaterThanOrEqual: {
        if (!receiver.is(ValueKind::kDecimal)) return fail(type_error("decimal", receiver.kind()));
        if (!arg.is(ValueKind::kDecimal)) return fail(type_error("decimal", arg.kind()));
        int64_t a = receiver.value().as_decimal().scaled;
        int64_t b = arg.value().as_decimal().scaled;
        switch (expr.method) {
          case Method::kLessThan: out = a < b; return true;
          case Method::kLessThanOrEqual: out = a <= b; return true;
          case Method::kGreaterThan: out = a > b; return true;
          default: out = a >= b; return true;
        }
      }
    }
    return fail(internal_error("unknown method"));
  }

  static bool is_boolean_op(Op op) {
    switch (op) {
      case Op::kAnd:
      case Op::kOr:
      case Op::kNot:
      case Op::kEq:
      case Op::kNe:
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe:
      case Op::kIn:
      case Op::kHas:
      case Op::kLike:
      case Op::kIs:
      case Op::kMethod: return true;
      default: return false;
    }
  }

  // Evaluates an expression that must yield a bool (Cedar's type error
  // "expected bool" otherwise).
  bool eval_bool(const Expr& expr, bool& out) {
    switch (expr.op) {
      case Op::kAnd:
      case Op::kOr: {
        bool lhs = false;
        if (!eval_bool(*expr.kids[0], lhs)) return false;
        if (lhs == (expr.op == Op::kOr)) {
          out = lhs;
          return true;
        }
        return eval_bool(*expr.kids[1], out);
      }
      case Op::kNot: {
        bool operand = false;
        if (!eval_bool(*expr.kids[0], operand)) return false;
        out = !operand;
        return true;
      }
      case Op::kIf: {
        bool cond = false;
        if (!eval_bool(*expr.kids[0], cond)) return false;
        return eval_bool(*expr.kids[cond ? 1 : 2], out);
      }
      case Op::kEq:
      case Op::kNe: {
        Operand lhs, rhs;
        if (!eval(*expr.kids[0], lhs) || !eval(*expr.kids[1], rhs)) return false;
        out = operands_equal(lhs, rhs) == (expr.op == Op::kEq);
        return true;
      }
      case Op::kLt:
      case Op::kLe:
      case Op::kGt:
      case Op::kGe: {
        int64_t a = 0, b = 0;
        if (!eval_long(*expr.kids[0], *expr.kids[1], a, b)) return false;
        out = expr.op == Op::kLt   ? a < b
              : expr.op == Op::kLe ? a <= b
              : expr.op == Op::kGt ? a > b
                                   : a >= b;
        return true;
      }
      case Op::kIn: {
        Operand lhs, rhs;
        if (!eval(*expr.kids[0], lhs) || !eval(*expr.kids[1], rhs)) return false;
        return eval_in(lhs, rhs, out);
      }
      case Op::kHas: return eval_has(expr, out);
      case Op::kLike: {
        Operand operand;
        if (!eval(*expr.kids[0], operand)) return false;
        if (!operand.is(ValueKind::kString)) return fail(type_error("string", operand.kind()));
        out = expr.pattern.matches(operand.value().as_string());
        return true;
      }
      case Op::kIs: {
        Operand operand;
        if (!eval(*expr.kids[0], operand)) return false;
        if (!operand.is(ValueKind::kEntity)) return fail(type_error("entity", operand.kind()));
        if (operand.entity().type != expr.name) {
          out = false;
          return true;
        }
        if (expr.kids.size() == 1) {
          out = true;
          return true;
        }
        Operand target;
        if (!eval(*expr.kids[1], target)) return false;
        return eval_in(operand, target, out);
      }
      case Op::kMethod: return eval_method(expr, out);
      default: {
        Operand operand;
        if (!eval(expr, operand)) return false;
        if (!operand.is(ValueKind::kBool)) return fail(type_error("bool", operand.kind()));
        out = operand.value().as_bool();
        return true;
      }
    }
  }

  bool eval(const Expr& expr, Operand& out) {
    if (is_boolean_op(expr.op)) {
      bool result = false;
      if (!eval_bool(expr, result)) return false;
      out.own(Value::boolean(result));
      return true;
    }
    switch (expr.op) {
      case Op::kLiteral: out.borrow(expr.literal); return true;
      case Op::kVar:
        switch (expr.var) {
          case Var::kPrincipal: out.request_entity(Var::kPrincipal, request_.principal); return true;
          case Var::kAction: out.request_entity(Var::kAction, request_.action); return true;
          case Var::kResource: out.request_entity(Var::kResource, request_.resource); return true;
          case Var::kContext: out.borrow(request_.context); return true;
        }
        return fail(internal_error("unknown variable"));
      case Op::kIf: {
        bool cond = false;
        if (!eval_bool(*expr.kids[0], cond)) return false;
        return eval(*expr.kids[cond ? 1 : 2], out);
      }
      case Op::kNeg: {
        Operand operand;
        if (!eval(*expr.kids[0], operand)) return false;
        if (!operand.is(ValueKind::kLong)) return fail(type_error("long", operand.kind()));
        int64_t value = operand.value().as_long();
        if (value == INT64_MIN) {
          return fail(invalid_argument("integer overflow while negating " + std::to_string(value)));
        }
        out.own(Value::long_value(-value));
        return true;
      }
      case Op::kAdd:
      case Op::kSub:
      case Op::kMul: {
        int64_t a = 0, b = 0;
        if (!eval_long(*expr.kids[0], *expr.kids[1], a, b)) return false;
        int64_t result = 0;
        bool overflow = expr.op == Op::kAdd   ? __builtin_add_overflow(a, b, &result)
                        : expr.op == Op::kSub ? __builtin_sub_overflow(a, b, &result)
                                              : __builtin_mul_overflow(a, b, &result);
        if (overflow) {
          std::string message = "integer overflow in " + std::to_string(a);
          message += expr.op == Op::kAdd ? " + " : expr.op == Op::kSub ? " - " : " * ";
          message += std::to_string(b);
          return fail(invalid_argument(std::move(message)));
        }
        out.own(Value::long_value(result));
        return true;
      }
      case Op::kGetAttr: {
        Operand object;
        if (!eval(*expr.kids[0], object)) return false;
        return get_attr(object, expr.name, out);
      }
      case Op::kSet: {
        std::vector<Value> elements;
        elements.reserve(expr.kids.size());
        for (const auto& kid : expr.kids) {
          Operand element;
          if (!eval(*kid, element)) return false;
          elements.push_back(value_of(element));
        }
        out.own(Value::set(std::move(elements)));
        return true;
      }
      case Op::kRecord: {
        RecordFields fields;
        fields.reserve(expr.kids.size());
        for (size_t i = 0; i < expr.kids.size(); ++i) {
          Operand field;
          if (!eval(*expr.kids[i], field)) return false;
          fields.emplace_back(expr.keys[i], value_of(field));
        }
        out.own(Value::record(std::move(fields)));
        return true;
      }
      case Op::kIpCall:
      case Op::kDecimalCall: {
        Operand arg;
        if (!eval(*expr.kids[0], arg)) return false;
        if (!arg.is(ValueKind::kString)) return fail(type_error("string", arg.kind()));
        if (expr.op == Op::kIpCall) {
          auto ip = IpAddr::parse(arg.value().as_string());
          if (!ip.is_ok()) return fail(ip.status());
          out.own(Value::ip(*ip));
          return true;
        }
        auto decimal = Decimal::parse(arg.value().as_string());
        if (!decimal.is_ok()) return fail(decimal.status());
        out.own(Value::decimal(*decimal));
        return true;
      }
      default: break;
    }
    return fail(internal_error("unknown expression"));
  }

  const Request& request_;
  const EntityStore& entities_;
  std::array<Value, 3> request_values_;
  std::array<bool, 3> request_values_made_{};
  std::array<const Entity*, 3> request_entries_{};
  std::array<bool, 3> request_entries_found_{};
  Status error_;
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
// `entities`: exactly the uids E for which Cedar's `uid in E` holds. `entry`
// is the store's entity for `uid` (nullptr when absent: then only `uid`).
void add_self_and_ancestors(const ScopeIndex& index, const EntityStore& entities,
                            const EntityUid& uid, const Entity* entry, CandidateSet& candidates) {
  candidates.add(index, uid);
  if (entry == nullptr) return;
  entities.for_each_ancestor(*entry,
                             [&](const EntityUid& ancestor) { candidates.add(index, ancestor); });
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
  if (!set.by_principal_in.empty()) {
    add_self_and_ancestors(set.by_principal_in, entities, request.principal,
                           evaluator.request_entry(Var::kPrincipal), candidates);
  }
  if (!set.by_resource_in.empty()) {
    add_self_and_ancestors(set.by_resource_in, entities, request.resource,
                           evaluator.request_entry(Var::kResource), candidates);
  }
  if (!set.by_action.empty()) {
    add_self_and_ancestors(set.by_action, entities, request.action,
                           evaluator.request_entry(Var::kAction), candidates);
  }
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
