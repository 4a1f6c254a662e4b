#!/usr/bin/env bash
# Installs every Debian package custos needs to build, test and run.
# Idempotent and quiet when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git curl
  clang libclang-rt-14-dev
  libssl-dev libsodium-dev librocksdb-dev libboost-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev libsimdjson-dev libxml2-dev
  libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# node and npm run the Cedar reference implementation (tests/cedar_oracle);
# a machine that already has them (e.g. from NodeSource) keeps its own.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
