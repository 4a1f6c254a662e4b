#!/usr/bin/env bash
# Sets up, builds (Release, into build/) and runs every test through ctest:
# unit tests, integration tests, the bounded crash test and short fuzz runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh release
(cd build && ctest --output-on-failure -j "$(nproc)" --timeout 600)

# Each libFuzzer target for a short, bounded time (CUSTOS_FUZZ_SECONDS, default 15).
scripts/build.sh fuzz
fuzz/run_all.sh build-fuzz/fuzz "${CUSTOS_FUZZ_SECONDS:-15}"
