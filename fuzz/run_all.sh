#!/usr/bin/env bash
# Runs every libFuzzer target built in DIR for SECONDS each; exits non-zero
# if any of them finds a crash, leak or sanitizer report (or fails to run).
# Usage: fuzz/run_all.sh <build>/fuzz 20
set -uo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 DIR SECONDS" >&2
  exit 2
fi
dir=$1
seconds=$2
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "$0: SECONDS must be a positive integer, got '$seconds'" >&2
  exit 2
fi

shopt -s nullglob
fuzzers=()
for path in "$dir"/*_fuzz; do
  [[ -f $path && -x $path ]] && fuzzers+=("$path")
done
if [[ ${#fuzzers[@]} -eq 0 ]]; then
  echo "$0: no *_fuzz executables in $dir (configure with clang and -DCUSTOS_FUZZ=ON)" >&2
  exit 2
fi

work=$(mktemp -d)
failed=()
for fuzzer in "${fuzzers[@]}"; do
  name=$(basename "$fuzzer")
  corpus="$work/$name-corpus"
  artifacts="$work/$name-artifacts"
  mkdir -p "$corpus" "$artifacts"
  # Checked-in seeds (fuzz/seeds/<name>/) start the search from valid inputs.
  seeds="$(dirname "$0")/seeds/$name"
  if [[ -d $seeds ]]; then cp "$seeds"/* "$corpus"/ 2>/dev/null || true; fi
  echo "== $name: ${seconds}s"
  if "$fuzzer" -max_total_time="$seconds" -artifact_prefix="$artifacts/" "$corpus" \
      >"$work/$name.log" 2>&1; then
    tail -n 1 "$work/$name.log"
  else
    echo "!! $name failed; log and reproducer kept in $work" >&2
    tail -n 30 "$work/$name.log" >&2
    ls "$artifacts" >&2
    failed+=("$name")
  fi
done

if [[ ${#failed[@]} -ne 0 ]]; then
  echo "fuzzers with findings: ${failed[*]} (details in $work)" >&2
  exit 1
fi
rm -rf "$work"
echo "all ${#fuzzers[@]} fuzzers ran ${seconds}s without findings"
