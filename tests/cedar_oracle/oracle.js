// Reference answers for generated Cedar cases, from @cedar-policy/cedar-wasm
// (version pinned in package.json / package-lock.json).
//
//   node oracle.js cases.jsonl answers.jsonl
//
// Reads one case per line ({policies, entities, principal, action, resource,
// context}), calls isAuthorized, and writes one line per case:
//   {"id", "decision": "allow"|"deny", "reasons": [...], "errors": [...], "messages": [...]}
// or {"id", "failure": "..."} when cedar rejects the inputs.
"use strict";
const fs = require("fs");
const readline = require("readline");
const cedar = require("@cedar-policy/cedar-wasm/nodejs");

async function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error("usage: node oracle.js cases.jsonl answers.jsonl");
    process.exit(2);
  }
  const out = fs.createWriteStream(output);
  const lines = readline.createInterface({ input: fs.createReadStream(input), crlfDelay: Infinity });
  let count = 0;
  for await (const line of lines) {
    if (!line) continue;
    const c = JSON.parse(line);
    const answer = cedar.isAuthorized({
      principal: c.principal,
      action: c.action,
      resource: c.resource,
      context: c.context,
      entities: c.entities,
      policies: { staticPolicies: c.policies },
    });
    let result;
    if (answer.type === "success") {
      const d = answer.response.diagnostics;
      result = {
        id: c.id,
        decision: answer.response.decision,
        reasons: [...d.reason].sort(),
        errors: d.errors.map((e) => e.policyId).sort(),
        messages: d.errors.map((e) => `${e.policyId}: ${e.error.message}`),
      };
    } else {
      result = { id: c.id, failure: answer.errors.map((e) => e.message).join("; ") };
    }
    if (!out.write(JSON.stringify(result) + "\n")) await new Promise((r) => out.once("drain", r));
    count++;
  }
  await new Promise((r) => out.end(r));
  console.error(`oracle: ${count} cases evaluated with cedar-wasm ${cedar.getCedarVersion()}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
