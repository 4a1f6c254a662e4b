// Fuzzes the Cedar policy parser and, through it, the evaluator: arbitrary
// bytes are parsed as a policy set; a rejected input must carry a 1-based
// error position, and an accepted one is evaluated against a small fixed
// entity store for a few requests. Evaluation must not crash and its answer
// must be self-consistent: an Allow is determined by permit policies only, a
// Deny by forbid policies only (or none), every reported id names a policy of
// the set, and the reusing overload agrees with the allocating one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "custos/policy/authorizer.h"
#include "custos/policy/entities.h"
#include "custos/policy/parser.h"

namespace {

using custos::policy::Decision;
using custos::policy::Effect;
using custos::policy::EntityStore;
using custos::policy::EntityUid;
using custos::policy::PolicySet;
using custos::policy::Request;

// Entities with one attribute of every kind, a parent hierarchy (user ->
// group -> group, device -> zone -> site) and an action group, so fuzzed
// policies that name these uids and attributes reach the evaluator's paths.
constexpr std::string_view kEntitiesJson = R"([
  {"uid": {"type": "User", "id": "alice"},
   "attrs": {"level": 3, "name": "alice", "active": true, "tags": ["a", "b"],
             "owner": {"__entity": {"type": "User", "id": "bob"}},
             "addr": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}},
             "score": {"__extn": {"fn": "decimal", "arg": "1.5"}},
             "info": {"depth": 1, "nested": {"depth": 2}}},
   "parents": [{"type": "Group", "id": "ops"}]},
  {"uid": {"type": "User", "id": "bob"}, "attrs": {"level": 9223372036854775807},
   "parents": [{"type": "Group", "id": "admins"}]},
  {"uid": {"type": "Group", "id": "ops"}, "attrs": {},
   "parents": [{"type": "Group", "id": "all"}]},
  {"uid": {"type": "Group", "id": "admins"}, "attrs": {},
   "parents": [{"type": "Group", "id": "all"}]},
  {"uid": {"type": "Custos::Device", "id": "d1"},
   "attrs": {"status": "active", "zone": {"__entity": {"type": "Zone", "id": "z1"}},
             "ports": [22, 443], "addr": {"__extn": {"fn": "ip", "arg": "192.168.0.0/16"}}},
   "parents": [{"type": "Zone", "id": "z1"}]},
  {"uid": {"type": "Zone", "id": "z1"}, "attrs": {"name": "cold"},
   "parents": [{"type": "Site", "id": "north"}]},
  {"uid": {"type": "Site", "id": "north"}, "attrs": {}, "parents": []},
  {"uid": {"type": "Action", "id": "read"}, "attrs": {},
   "parents": [{"type": "Action", "id": "any"}]},
  {"uid": {"type": "Action", "id": "write"}, "attrs": {},
   "parents": [{"type": "Action", "id": "any"}]},
  {"uid": {"type": "Action", "id": "any"}, "attrs": {}, "parents": []}
])";

constexpr std::string_view kContextJson = R"({
  "ip": {"__extn": {"fn": "ip", "arg": "10.1.2.3"}}, "amount": 7, "flag": true,
  "str": "hello", "roles": ["ops", "audit"], "rec": {"depth": 1, "who": {"__entity":
  {"type": "User", "id": "alice"}}}, "dec": {"__extn": {"fn": "decimal", "arg": "0.25"}},
  "n": -9223372036854775808})";

struct Fixture {
  EntityStore entities;
  std::vector<Request> requests;
};

const Fixture& fixture() {
  static const Fixture built = [] {
    Fixture f;
    auto store = EntityStore::from_json(kEntitiesJson);
    auto context = custos::policy::parse_context_json(kContextJson);
    if (!store.is_ok() || !context.is_ok()) std::abort();
    f.entities = std::move(store).value();
    f.requests = {
        {{"User", "alice"}, {"Action", "read"}, {"Custos::Device", "d1"}, context.value()},
        {{"User", "bob"}, {"Action", "write"}, {"Site", "north"}, context.value()},
        {{"User", "ghost"}, {"Action", "delete"}, {"Doc", "missing"}},
    };
    return f;
  }();
  return built;
}

void check_decision(const Decision& decision, const std::unordered_set<std::string>& permits,
                    const std::unordered_set<std::string>& forbids) {
  if (decision.allowed && decision.reasons.empty()) std::abort();
  for (const std::string& id : decision.reasons) {
    if (!(decision.allowed ? permits : forbids).contains(id)) std::abort();
  }
  for (const auto& error : decision.errors) {
    if (!permits.contains(error.policy_id) && !forbids.contains(error.policy_id)) std::abort();
  }
}

bool same_decision(const Decision& a, const Decision& b) {
  if (a.allowed != b.allowed || a.reasons != b.reasons || a.errors.size() != b.errors.size())
    return false;
  for (size_t i = 0; i < a.errors.size(); ++i) {
    if (a.errors[i].policy_id != b.errors[i].policy_id) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  custos::policy::ParseError error;
  auto policies = custos::policy::parse_policies_detailed(text, &error);
  if (!policies.is_ok()) {
    if (error.line < 1 || error.column < 1) std::abort();
    return 0;
  }
  const PolicySet& set = policies.value();
  std::unordered_set<std::string> permits, forbids;
  for (size_t i = 0; i < set.size(); ++i) {
    (set.effect(i) == Effect::kPermit ? permits : forbids).insert(set.id(i));
  }
  const Fixture& f = fixture();
  Decision reused;
  for (const Request& request : f.requests) {
    Decision fresh = custos::policy::is_authorized(request, set, f.entities);
    check_decision(fresh, permits, forbids);
    custos::policy::is_authorized(request, set, f.entities, reused);
    if (!same_decision(fresh, reused)) std::abort();
  }
  return 0;
}
