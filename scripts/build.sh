#!/usr/bin/env bash
# Configures and builds custos. Usage: scripts/build.sh [release|sanitize|fuzz]
#   release   Release build into build/          (default)
#   sanitize  ASan+UBSan build into build-sanitize/
#   fuzz      clang libFuzzer targets into build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."

flavour=${1:-release}
jobs=$(nproc)
# ccache (when installed, CMake uses it) keyed by paths relative to the
# checkout, so a fresh clone elsewhere (CI) reuses objects compiled in another
# clone: the three builds are most of CI's time. Debug info then names files
# relative to the checkout.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
case "$flavour" in
  release)
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C build -j "$jobs" ;;
  sanitize)
    cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCUSTOS_SANITIZE=ON \
      -DCUSTOS_BUILD_BENCH=OFF >/dev/null
    ninja -C build-sanitize -j "$jobs" ;;
  fuzz)
    CXX=clang++ CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCUSTOS_FUZZ=ON -DCUSTOS_BUILD_TESTS=OFF >/dev/null
    ninja -C build-fuzz -j "$jobs" fuzzers ;;
  *)
    echo "usage: scripts/build.sh [release|sanitize|fuzz]" >&2
    exit 2 ;;
esac
