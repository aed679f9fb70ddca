#!/usr/bin/env bash
# Durable SET side by side: a local three-node Understudy cluster against
# redis-server with appendfsync always, under the same redis-benchmark load
# (50 clients, 100-byte values), alternating ROUNDS times; prints each figure
# and the ratio. A developer's probe for the commit path; scripts/bench.sh is
# the full report.
# Usage: [B=bin/understudy] [EXTRA="--max-inflight 1"] [ROUNDS=3] [N=100000] scripts/perf-set.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-bin/understudy}
ROUNDS=${ROUNDS:-3}
N=${N:-100000}
D=$(mktemp -d "${TMPDIR:-/tmp}/perf-set.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
P="n1=127.0.0.1:17381,n2=127.0.0.1:17382,n3=127.0.0.1:17383"
for i in 1 2 3; do
  # shellcheck disable=SC2086
  "$B" serve --id "n$i" --data-dir "$D/n$i" --raft-addr "127.0.0.1:1738$i" --client-addr "127.0.0.1:1638$i" \
    --admin-addr "127.0.0.1:1918$i" --peers "$P" ${EXTRA:-} >"$D/n$i.log" 2>&1 &
  pids+=($!)
done
mkdir -p "$D/redis"
redis-server --port 16399 --bind 127.0.0.1 --dir "$D/redis" --save '' --appendonly yes --appendfsync always \
  --daemonize no >"$D/redis.log" 2>&1 &
pids+=($!)
L=""
for _ in $(seq 1 100); do
  for i in 1 2 3; do
    if timeout 1 redis-cli -p "1638$i" ROLE 2>/dev/null | head -1 | grep -q master; then L=$i; fi
  done
  [ -n "$L" ] && break
  sleep 0.1
done
[ -n "$L" ] || { echo "no leader" >&2; exit 1; }
rps() {
  timeout 120 redis-benchmark -p "$1" -t set -n "$N" -c 50 -d 100 -r 1000000 -q 2>&1 | tr '\r' '\n' |
    awk '/requests per second/ {v=$2} END {print v+0}'
}
for r in $(seq 1 "$ROUNDS"); do
  u=$(rps "1638$L"); x=$(rps 16399)
  awk -v r="$r" -v u="$u" -v x="$x" 'BEGIN {printf "round %d: understudy %.0f  redis-aof-always %.0f  ratio %.2fx\n", r, u, x, u/x}'
done
