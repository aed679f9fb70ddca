#!/usr/bin/env bash
# Durable SET side by side: a local three-node Understudy cluster per log
# store (STORES, default "wal bolt") against redis-server with appendfsync
# always, under the same redis-benchmark load (CLIENTS clients, 100-byte
# values), taken in turn ROUNDS times. Prints each figure, the ratio to Redis,
# and the CPU time per acknowledged SET (user+system from /proc/PID/stat
# before and after): the leader's, each follower's, the cluster's, Redis's.
# A developer's probe for the commit path; scripts/bench.sh is the full report.
# With PROFILE=DIR it also saves 10 s CPU profiles of the leader and one
# follower of the first cluster, taken during an extra round.
# Usage: [B=bin/understudy] [STORES="wal bolt"] [EXTRA="--max-inflight 1"] [ROUNDS=3]
#        [N=100000] [CLIENTS=50] [PROFILE=DIR] scripts/perf-set.sh
set -euo pipefail
cd "$(dirname "$0")/.."
B=${B:-bin/understudy}
ROUNDS=${ROUNDS:-3}
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
read -r -a STORES <<<"${STORES:-wal bolt}"
[[ -x "$B" ]] || { echo "no executable $B (go build -o bin/understudy ./cmd/understudy)" >&2; exit 1; }
D=$(mktemp -d "${TMPDIR:-/tmp}/perf-set.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

declare -A NODEPID LEADER
c=0
for s in "${STORES[@]}"; do
  c=$((c + 1))
  P="n1=127.0.0.1:1${c}381,n2=127.0.0.1:1${c}382,n3=127.0.0.1:1${c}383"
  for i in 1 2 3; do
    # shellcheck disable=SC2086
    "$B" serve --id "n$i" --data-dir "$D/$s/n$i" --raft-addr "127.0.0.1:1${c}38$i" --client-addr "127.0.0.1:2${c}38$i" \
      --admin-addr "127.0.0.1:3${c}38$i" --metrics-addr "127.0.0.1:4${c}38$i" --peers "$P" --log-store "$s" \
      --log-level warn ${EXTRA:-} >"$D/$s-n$i.log" 2>&1 &
    pids+=($!)
    NODEPID[$s$i]=$!
  done
done
mkdir -p "$D/redis"
redis-server --port 16399 --bind 127.0.0.1 --dir "$D/redis" --save '' --appendonly yes --appendfsync always \
  --daemonize no >"$D/redis.log" 2>&1 &
pids+=($!)
RPID=$!
c=0
for s in "${STORES[@]}"; do
  c=$((c + 1))
  for _ in $(seq 1 100); do
    for i in 1 2 3; do
      if timeout 1 redis-cli -p "2${c}38$i" ROLE 2>/dev/null | head -1 | grep -q master; then LEADER[$s]=$i; fi
    done
    [[ -n "${LEADER[$s]:-}" ]] && break
    sleep 0.1
  done
  [[ -n "${LEADER[$s]:-}" ]] || { echo "no leader for the $s cluster" >&2; exit 1; }
done
rps() {
  timeout 300 redis-benchmark -p "$1" -t set -n "$N" -c "$CLIENTS" -d 100 -r 1000000 -q 2>&1 | tr '\r' '\n' |
    awk '/requests per second/ {v=$2} END {print v+0}'
}
# run NAME PORT PID...: one benchmark; prints ops/s and CPU µs per SET of each PID and their sum.
run() {
  local name=$1 port=$2
  shift 2
  local before=() after=() p i tot=0 per=()
  for p in "$@"; do before+=("$(cpu_ticks "$p")"); done
  local r
  r=$(rps "$port")
  for p in "$@"; do after+=("$(cpu_ticks "$p")"); done
  for i in "${!before[@]}"; do
    local us=$(((after[i] - before[i]) * 1000000 / HZ))
    tot=$((tot + us))
    per+=("$(awk -v u="$us" -v n="$N" 'BEGIN {printf "%.0f", u/n}')")
  done
  printf '%s %s %s %s\n' "$name" "$r" "$(awk -v u="$tot" -v n="$N" 'BEGIN {printf "%.0f", u/n}')" "${per[*]}"
}
c=0
declare -A PORT
for s in "${STORES[@]}"; do
  c=$((c + 1))
  PORT[$s]=2${c}38${LEADER[$s]}
done
echo "CPU µs per acknowledged SET (user+system), $CLIENTS clients, $N SETs per run; leader first, then followers"
for r in $(seq 1 "$ROUNDS"); do
  x=$(run redis 16399 "$RPID")
  xr=$(awk '{print $2}' <<<"$x")
  printf 'round %d: redis-aof-always %8.0f ops/s  cpu %s µs/SET\n' "$r" "$xr" "$(awk '{print $3}' <<<"$x")"
  for s in "${STORES[@]}"; do
    l=${LEADER[$s]}
    order=("${NODEPID[$s$l]}")
    for i in 1 2 3; do [[ $i == "$l" ]] || order+=("${NODEPID[$s$i]}"); done
    u=$(run "$s" "${PORT[$s]}" "${order[@]}")
    awk -v s="$s" -v x="$xr" '{printf "         understudy-%-4s %8.0f ops/s  ratio %.2fx  cpu cluster %s µs/SET (leader %s, followers %s %s)\n", s, $2, $2/x, $3, $4, $5, $6}' <<<"$u"
  done
done
if [[ -n "${PROFILE:-}" ]]; then
  mkdir -p "$PROFILE"
  s=${STORES[0]}
  c=1
  l=${LEADER[$s]}
  f=$((l % 3 + 1))
  echo "profiling the $s cluster: leader n$l, follower n$f -> $PROFILE"
  curl -s -o "$PROFILE/leader.pprof" "http://127.0.0.1:4${c}38$l/debug/pprof/profile?seconds=10" &
  c1=$!
  curl -s -o "$PROFILE/follower.pprof" "http://127.0.0.1:4${c}38$f/debug/pprof/profile?seconds=10" &
  c2=$!
  N=$((N * 3)) rps "${PORT[$s]}" >/dev/null
  wait "$c1" "$c2"
fi
