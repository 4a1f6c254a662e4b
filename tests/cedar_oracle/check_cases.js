// Checks the expected answers of tests/data/policy/*.json against cedar-wasm:
//   node check_cases.js ../data/policy
// Prints one line per request that disagrees; exit status 1 if any does.
"use strict";
const fs = require("fs");
const path = require("path");
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

const dir = process.argv[2] || path.join(__dirname, "..", "data", "policy");
let bad = 0, total = 0;
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const spec = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
  // cedar-wasm ignores @id annotations; pass policies keyed by their @id.
  const parts = cedar.policySetTextToParts(spec.policies);
  if (parts.type !== "success") { console.log(`${file}: ${JSON.stringify(parts.errors)}`); bad++; continue; }
  const staticPolicies = {};
  parts.policies.forEach((text, i) => {
    const m = text.match(/@id\("([^"]*)"\)/);
    staticPolicies[m ? m[1] : `policy${i}`] = text;
  });
  spec.requests.forEach((r, i) => {
    total++;
    const a = cedar.isAuthorized({ principal: r.principal, action: r.action, resource: r.resource,
      context: r.context, entities: spec.entities, policies: { staticPolicies } });
    const want = JSON.stringify([r.decision, [...r.reasons].sort(), [...r.errors].sort()]);
    const got = a.type === "success"
      ? JSON.stringify([a.response.decision, [...a.response.diagnostics.reason].sort(),
          a.response.diagnostics.errors.map((e) => e.policyId).sort()])
      : "failure " + JSON.stringify(a.errors);
    if (want !== got) { bad++; console.log(`${file} request ${i}: expected ${want} cedar ${got}`); }
  });
}
console.log(`${total} requests checked, ${bad} disagree`);
process.exit(bad ? 1 : 0);
