#!/usr/bin/env bash
# Proof latency and server memory at scale: builds (or reuses) a log of
# ENTRIES entries in-process with bench/proof_at_scale and measures proofs on
# it, then starts `custos serve` on the same data directory, measures HTTP
# inclusion-proof latency with bench/http_proof_load on a keep-alive
# connection and reads the server's VmRSS/VmHWM from /proc/PID/status after
# the load. Prints one JSON object on stdout; progress goes to stderr.
#
#   bench/proof_at_scale.sh [BUILD_DIR]     (default: build)
# Environment: ENTRIES (10000000), SIZE (256), QUERIES (100000),
#   HTTP_REQUESTS (20000), HTTP_CONNECTIONS (1), THREADS (2),
#   DATA (BUILD_DIR/proof-at-scale; reused when it already holds a log),
#   KEEP_DATA=1 keeps DATA afterwards (default: deleted, it is several GB).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
entries=${ENTRIES:-10000000}
size=${SIZE:-256}
queries=${QUERIES:-100000}
http_requests=${HTTP_REQUESTS:-20000}
http_connections=${HTTP_CONNECTIONS:-1}
threads=${THREADS:-2}
data=${DATA:-$build/proof-at-scale}
custos="$build/src/cli/custos"
scale="$build/bench/proof_at_scale"
proof_load="$build/bench/http_proof_load"
for program in "$custos" "$scale" "$proof_load"; do
  [[ -x $program ]] || { echo "missing $program; build it: ninja -C $build custos proof_at_scale http_proof_load" >&2; exit 2; }
done

work=$(mktemp -d "$build/proof-at-scale-run.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  [[ ${KEEP_DATA:-0} == 1 ]] || rm -rf "$data"
}
trap cleanup EXIT

reuse=()
[[ -d $data/db ]] && reuse=(--reuse)
echo "proof_at_scale.sh: nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg); data $data" >&2
in_process=$("$scale" --data "$data" "${reuse[@]}" --entries "$entries" --size "$size" \
  --queries "$queries" --json)

"$custos" serve --data "$data" --listen 127.0.0.1:0 --ready-file "$work/ready" \
  --threads "$threads" --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
started=$(date +%s.%N)
for _ in $(seq 1 600); do
  [[ -s $work/ready ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 3; }
  sleep 0.1
done
[[ -s $work/ready ]] || { echo "server did not become ready" >&2; exit 3; }
ready_seconds=$(printf "%.3f" "$(echo "$(date +%s.%N) - $started" | bc)")
address=$(head -n1 "$work/ready")
rss_idle_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")

set +e
http=$("$proof_load" --url "http://$address" --requests "$http_requests" \
  --connections "$http_connections" --json)
status=$?
set -e
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
data_bytes=$(du -sb "$data" | cut -f1)

echo "{\"in_process\":$in_process,\"http_inclusion\":$http,\"server\":{\"threads\":$threads,\"ready_seconds\":$ready_seconds,\"vmrss_idle_kib\":$rss_idle_kib,\"vmrss_after_load_kib\":$rss_kib,\"vmhwm_kib\":$hwm_kib},\"data_bytes\":$data_bytes}"
exit "$status"
