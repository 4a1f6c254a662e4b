#!/usr/bin/env bash
# Measures HTTP append throughput and latency end to end: inits a fresh data
# directory, starts `custos serve` on a free port, runs bench/http_append_load
# against it, stops the server and prints the load generator's JSON (plus the
# server's memory, CPU time and group-commit metrics from /metrics, read with
# curl) on stdout. Progress goes to stderr.
#
#   bench/http_append.sh [BUILD_DIR]      (default: build)
# Environment: ENTRIES (200000), SIZE (256), CONNECTIONS (64), THREADS (2),
#              KEEP_DATA=1 keeps the data directory.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
entries=${ENTRIES:-200000}
size=${SIZE:-256}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
custos="$build/src/cli/custos"
load="$build/bench/http_append_load"
for program in "$custos" "$load"; do
  [[ -x $program ]] || { echo "missing $program; build it: ninja -C $build custos http_append_load" >&2; exit 2; }
done

work=$(mktemp -d "$build/http-append.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  [[ ${KEEP_DATA:-0} == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

"$custos" init --data "$work/data" --origin bench.custos.local/http-append \
  --credentials-out "$work/admin.credentials" >/dev/null
# The load generator writes as a service with the log_writer role and an API
# token scoped to log.append, made offline before the server starts.
"$custos" principal add loadgen --kind service --role log_writer --data "$work/data" >/dev/null
"$custos" token create --data "$work/data" --principal loadgen --scope log.append \
  --out "$work/loadgen.token" >/dev/null
"$custos" serve --data "$work/data" --listen 127.0.0.1:0 --ready-file "$work/ready" \
  --threads "$threads" --log-level warn >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  [[ -s $work/ready ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 3; }
  sleep 0.1
done
[[ -s $work/ready ]] || { echo "server did not become ready" >&2; exit 3; }
address=$(head -n1 "$work/ready")
echo "http_append.sh: server pid $server_pid at $address; nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

set +e
result=$("$load" --url "http://$address" --token-file "$work/loadgen.token" \
  --connections "$connections" --entries "$entries" --size "$size" --json)
status=$?
set -e
metric() { awk -v name="$1" '$1 == name {print $2}' "$work/metrics.txt"; }
curl -sf "http://$address/metrics" >"$work/metrics.txt" || : >"$work/metrics.txt"
batches=$(metric custos_log_batches_total)
commit_sum=$(metric custos_log_commit_seconds_sum)
# utime + stime of the server, in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_seconds=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$server_pid/stat")
rss_kib=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
hwm_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status")
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
echo "${result%\}},\"server_threads\":$threads,\"server_vmrss_kib\":$rss_kib,\"server_vmhwm_kib\":$hwm_kib,\"server_cpu_seconds\":$cpu_seconds,\"group_commits\":${batches:-0},\"commit_seconds_sum\":${commit_sum:-0},\"disk_bytes\":$(du -sb "$work/data" | cut -f1)}"
exit "$status"
