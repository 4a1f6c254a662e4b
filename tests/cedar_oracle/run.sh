#!/usr/bin/env bash
# Differential test: custos's Cedar engine against @cedar-policy/cedar-wasm.
#   run.sh TOOL [COUNT] [SEED]
# TOOL is the policy_oracle_tool binary. Generates COUNT cases (default
# 12000) with a fixed SEED, answers them with cedar-wasm (node), and compares.
set -euo pipefail
tool=$(realpath "$1")
count=${2:-12000}
seed=${3:-20250611}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if [ ! -d node_modules/@cedar-policy/cedar-wasm ]; then
  npm ci --silent --no-audit --no-fund
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" generate --seed "$seed" --count "$count" --out "$work/cases.jsonl"
node oracle.js "$work/cases.jsonl" "$work/oracle.jsonl"
"$tool" compare --cases "$work/cases.jsonl" --oracle "$work/oracle.jsonl"
