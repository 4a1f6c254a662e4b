// cedar_bench.js: times @cedar-policy/cedar-wasm on the workload written by
// `policy_bench --out DIR` and checks its answers against ours.
//
//   node cedar_bench.js DIR [--module PATH] [--full-sample N] [--percall-sample N]
//
// Run it from tests/cedar_oracle (so require finds its node_modules) or pass
// --module (a path to @cedar-policy/cedar-wasm/nodejs). Prints one JSON object.
//
// cedar-wasm can cache a parsed policy set (preparsePolicySet +
// statefulIsAuthorized), but it has no way to keep an entity store: entities
// are converted from JS on every call. So three modes are timed:
//   - "preparsed_sliced" (headline, all requests): preparsed policy set, and
//     per request only the entities its evaluation can reach (principal,
//     action and resource, their ancestors, and entities referenced from
//     their attributes or the context, transitively). This is Cedar's
//     recommended per-request entity slicing and its fastest idiomatic use;
//     the slices are built before the clock starts.
//   - "per_call_sliced" (sample): isAuthorized with the policy set passed as
//     text on every call, same slices.
//   - "preparsed_full_store" (sample): the whole entity array on every call,
//     the same inputs our engine sees.
// Every answer (decision, determining policies, erroring policies) is compared
// with DIR/decisions.jsonl; the exit status is 1 if any differs.
"use strict";
const fs = require("fs");
const path = require("path");

function option(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const dir = process.argv[2];
if (!dir || dir.startsWith("--")) {
  console.error("usage: node cedar_bench.js DIR [--module PATH] [--full-sample N] [--percall-sample N]");
  process.exit(2);
}
const modulePath = option("--module", "@cedar-policy/cedar-wasm/nodejs");
const cedar = require(modulePath.startsWith(".") || modulePath.startsWith("/")
  ? path.resolve(modulePath) : require.resolve(modulePath, { paths: [process.cwd()] }));
const fullSample = Number(option("--full-sample", "10"));
const perCallSample = Number(option("--percall-sample", "1000"));

const key = (uid) => uid.type + "::" + JSON.stringify(uid.id);

// --- load the workload ---
const policyText = fs.readFileSync(path.join(dir, "policies.cedar"), "utf8");
const parts = cedar.policySetTextToParts(policyText);
if (parts.type !== "success") {
  console.error("cedar rejects policies.cedar: " + JSON.stringify(parts.errors));
  process.exit(2);
}
// cedar-wasm ignores @id annotations; key every policy by its @id.
const staticPolicies = {};
for (const text of parts.policies) {
  const m = text.match(/@id\("([^"]*)"\)/);
  if (!m) { console.error("policy without @id: " + text); process.exit(2); }
  staticPolicies[m[1]] = text;
}
const policies = { staticPolicies };
const preparsed = cedar.preparsePolicySet("bench", policies);
if (preparsed.type !== "success") {
  console.error("preparsePolicySet failed: " + JSON.stringify(preparsed.errors));
  process.exit(2);
}

const entities = JSON.parse(fs.readFileSync(path.join(dir, "entities.json"), "utf8"));
const byUid = new Map(entities.map((e) => [key(e.uid), e]));
const requests = fs.readFileSync(path.join(dir, "requests.jsonl"), "utf8")
  .split("\n").filter((l) => l).map((l) => JSON.parse(l));
const expected = fs.readFileSync(path.join(dir, "decisions.jsonl"), "utf8")
  .split("\n").filter((l) => l);
if (expected.length !== requests.length) {
  console.error(`decisions.jsonl has ${expected.length} lines, requests.jsonl ${requests.length}`);
  process.exit(2);
}

// Entity uids referenced inside an attribute or context value.
function collectRefs(value, out) {
  if (Array.isArray(value)) { for (const v of value) collectRefs(v, out); return; }
  if (value === null || typeof value !== "object") return;
  if (value.__entity) { out.push(value.__entity); return; }
  if (value.__extn) return;
  for (const v of Object.values(value)) collectRefs(v, out);
}

// Everything evaluation of this request can reach (see the header comment).
function slice(request) {
  const seen = new Set();
  const out = [];
  const pending = [request.principal, request.action, request.resource];
  collectRefs(request.context, pending);
  while (pending.length) {
    const uid = pending.pop();
    const k = key(uid);
    if (seen.has(k)) continue;
    seen.add(k);
    const entity = byUid.get(k);
    if (!entity) continue;
    out.push(entity);
    for (const parent of entity.parents) pending.push(parent);
    collectRefs(entity.attrs, pending);
  }
  return out;
}

function answerOf(result) {
  if (result.type !== "success") return "failure " + JSON.stringify(result.errors);
  const d = result.response.diagnostics;
  return JSON.stringify({
    decision: result.response.decision,
    reasons: [...d.reason].sort(),
    errors: d.errors.map((e) => e.policyId).sort(),
  });
}

function percentile(sortedNs, p) {
  if (!sortedNs.length) return 0;
  const at = Math.min(sortedNs.length - 1, Math.round(p * (sortedNs.length - 1)));
  return Number(sortedNs[at]) / 1000;
}

// Times `call(i)` over `indices`; returns stats and the disagreements.
function run(mode, indices, call) {
  const warm = Math.min(500, indices.length);
  for (let j = 0; j < warm; j++) call(indices[j]);
  const latencies = new Float64Array(indices.length);
  const answers = new Array(indices.length);
  let allow = 0;
  const started = process.hrtime.bigint();
  for (let j = 0; j < indices.length; j++) {
    const t0 = process.hrtime.bigint();
    const result = call(indices[j]);
    latencies[j] = Number(process.hrtime.bigint() - t0);
    answers[j] = result;
    if (result.type === "success" && result.response.decision === "allow") allow++;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let disagree = 0;
  const examples = [];
  for (let j = 0; j < indices.length; j++) {
    const got = answerOf(answers[j]);
    if (got !== expected[indices[j]]) {
      disagree++;
      if (examples.length < 3) {
        examples.push({ request: indices[j], custos: JSON.parse(expected[indices[j]]), cedar: got });
      }
    }
  }
  latencies.sort();
  let sum = 0;
  for (const l of latencies) sum += l;
  return {
    mode,
    requests: indices.length,
    decisions_per_second: indices.length / seconds,
    latency_us: {
      mean: sum / latencies.length / 1000,
      p50: percentile(latencies, 0.5),
      p90: percentile(latencies, 0.9),
      p99: percentile(latencies, 0.99),
      max: percentile(latencies, 1),
    },
    allow,
    deny: indices.length - allow,
    disagreements: disagree,
    examples,
  };
}

// Every k-th request, so samples span the whole stream.
function sample(count) {
  const n = Math.min(count, requests.length);
  const step = requests.length / n;
  return Array.from({ length: n }, (_, j) => Math.floor(j * step));
}

const slices = requests.map(slice);
let sliceEntities = 0;
for (const s of slices) sliceEntities += s.length;

const all = requests.map((_, i) => i);
const headline = run("preparsed_sliced", all, (i) => {
  const r = requests[i];
  return cedar.statefulIsAuthorized({ principal: r.principal, action: r.action,
    resource: r.resource, context: r.context, preparsedPolicySetId: "bench", entities: slices[i] });
});
const perCall = run("per_call_sliced", sample(perCallSample), (i) => {
  const r = requests[i];
  return cedar.isAuthorized({ principal: r.principal, action: r.action, resource: r.resource,
    context: r.context, policies, entities: slices[i] });
});
const full = run("preparsed_full_store", sample(fullSample), (i) => {
  const r = requests[i];
  return cedar.statefulIsAuthorized({ principal: r.principal, action: r.action,
    resource: r.resource, context: r.context, preparsedPolicySetId: "bench", entities });
});

const report = {
  engine: "cedar-wasm",
  cedar_version: cedar.getCedarVersion(),
  node: process.version,
  policies: Object.keys(staticPolicies).length,
  entities: entities.length,
  requests: requests.length,
  mean_slice_entities: sliceEntities / requests.length,
  decisions_per_second: headline.decisions_per_second,
  latency_us: headline.latency_us,
  allow: headline.allow,
  deny: headline.deny,
  checked_against_custos: headline.requests + perCall.requests + full.requests,
  disagreements: headline.disagreements + perCall.disagreements + full.disagreements,
  modes: [headline, perCall, full],
};
console.log(JSON.stringify(report));
process.exit(report.disagreements ? 1 : 0);
