#!/usr/bin/env bash
# Sets up, builds (Release, into build/) and runs the main job: a custos
# server on embedded storage plus a demo against it.
#   scripts/demo.sh            leaves the server running until Ctrl-C
#   scripts/demo.sh --no-wait  stops the server when the demo is done
# Environment: CUSTOS_DEMO_DATA (default build/demo-data, recreated each run),
#              CUSTOS_DEMO_LISTEN (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."

wait_for_ctrl_c=1
for arg in "$@"; do
  case "$arg" in
    --no-wait) wait_for_ctrl_c=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg (try --help)" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
echo "demo: building (Release) ..."
scripts/build.sh release

custos=build/src/cli/custos
data=${CUSTOS_DEMO_DATA:-build/demo-data}
listen=${CUSTOS_DEMO_LISTEN:-127.0.0.1:8080}
rm -rf "$data"

echo
echo "== custos init: a data directory with a log key and an admin token"
"$custos" init --data "$data" --origin demo.custos.local/log

ready="$data/ready"
"$custos" serve --data "$data" --listen "$listen" --ready-file "$ready" &
server_pid=$!
stop_server() {
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
}
trap stop_server EXIT
for _ in $(seq 1 100); do
  [ -s "$ready" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "demo: the server did not start" >&2; exit 1; }
  sleep 0.1
done
url="http://$(cat "$ready")"
echo "demo: server ready at $url"

echo
echo "== appending custody entries (each acknowledged after a synced group commit)"
for payload in \
  'dock-door 4 opened by badge 1187 at DC-Rotterdam' \
  'pallet urn:epc:id:sscc:0614141.1234567890 loaded on trailer NL-42-XK' \
  'seal 88213 applied to trailer NL-42-XK' \
  'trailer NL-42-XK departed DC-Rotterdam'; do
  "$custos" log append --url "$url" --token-file "$data/admin.token" \
    --vkey "$(cat "$data/log.vkey")" "$payload"
done

echo
echo "== a verified inclusion proof for entry 1 against the latest checkpoint"
"$custos" log proof 1 --url "$url" --vkey "$(cat "$data/log.vkey")"

echo
echo "== the signed checkpoint (C2SP tlog-checkpoint)"
curl -fsS "$url/checkpoint"

echo
echo "== remote audit (a witness's core): verify signature and consistency with the last run"
"$custos" audit --url "$url" --state "$data/audit.state" --vkey "$(cat "$data/log.vkey")"

echo
echo "== offline audit of the data directory (read-only, beside the running server)"
"$custos" verify --data "$data" --quiet

if [ "$wait_for_ctrl_c" = 1 ]; then
  echo
  echo "demo: the server keeps running at $url; press Ctrl-C to stop it."
  wait "$server_pid"
fi
