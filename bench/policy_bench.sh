#!/usr/bin/env bash
# Cedar engine throughput, custos against @cedar-policy/cedar-wasm, on the
# same generated supply-chain workload: bench/policy_bench writes the
# policies, entities and requests (and its own answers) to a work directory
# and times our engine; bench/cedar_bench.js (node, from tests/cedar_oracle)
# times cedar-wasm on the same files and checks every answer against ours.
# Prints both JSON reports and the ratio; exits non-zero if an answer differs.
#
#   bench/policy_bench.sh [BUILD_DIR]     (default: build-pbench)
# Environment: SEED (20250611), REQUESTS (100000), ROUNDS (5),
#   FULL_SAMPLE (10: cedar-wasm calls given the whole entity store),
#   PERCALL_SAMPLE (1000: cedar-wasm calls re-parsing the policy text).
# Build: ninja -C BUILD_DIR policy_bench; node_modules: (cd tests/cedar_oracle && npm ci)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build-pbench}" && pwd)
bench="$build/bench/policy_bench"
oracle="$repo/tests/cedar_oracle"
[[ -x $bench ]] || { echo "missing $bench; build it: ninja -C $build policy_bench" >&2; exit 2; }
[[ -d $oracle/node_modules/@cedar-policy/cedar-wasm ]] || {
  echo "cedar-wasm is not installed; run: (cd $oracle && npm ci)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "policy_bench.sh: nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
ours=$("$bench" --seed "${SEED:-20250611}" --requests "${REQUESTS:-100000}" \
  --rounds "${ROUNDS:-5}" --out "$work" --json)
echo "custos:     $ours"
set +e
theirs=$(cd "$oracle" && node "$repo/bench/cedar_bench.js" "$work" \
  --full-sample "${FULL_SAMPLE:-10}" --percall-sample "${PERCALL_SAMPLE:-1000}")
status=$?
set -e
echo "cedar-wasm: $theirs"
[[ -n $theirs ]] || exit 2
node -e '
  const ours = JSON.parse(process.argv[1]), theirs = JSON.parse(process.argv[2]);
  const ratio = ours.decisions_per_second / theirs.decisions_per_second;
  const counts = ours.allow === theirs.allow && ours.deny === theirs.deny;
  console.log(`custos ${ours.decisions_per_second.toFixed(0)} decisions/s ` +
    `(p50 ${ours.latency_us.p50.toFixed(2)} us, p99 ${ours.latency_us.p99.toFixed(2)} us); ` +
    `cedar-wasm ${theirs.decisions_per_second.toFixed(0)} decisions/s ` +
    `(preparsed policy set, sliced entities; p50 ${theirs.latency_us.p50.toFixed(0)} us, ` +
    `p99 ${theirs.latency_us.p99.toFixed(0)} us)`);
  console.log(`ratio ${ratio.toFixed(1)}x (target 10x: ${ratio >= 10 ? "met" : "NOT met"}); ` +
    `allow/deny custos ${ours.allow}/${ours.deny}, cedar-wasm ${theirs.allow}/${theirs.deny} ` +
    `(${counts ? "equal" : "DIFFERENT"}); ${theirs.checked_against_custos} answers compared, ` +
    `${theirs.disagreements} disagree`);
' "$ours" "$theirs"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$status"
