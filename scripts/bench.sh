#!/usr/bin/env bash
# Benchmarks Understudy against Redis and etcd on this machine, side by side in
# one run, and writes a markdown report with the Understudy/peer ratios.
#
#   scripts/bench.sh            full run (about 10-15 minutes): 10 s per workload,
#                               5 failovers per system, 1 million keys
#   scripts/bench.sh --quick    short run (about 2.5 minutes): shorter workloads,
#                               2 failovers per system, 100k keys for the scale part
#   scripts/bench.sh --keep     also keep the temp dir (logs, data) afterwards
#   scripts/bench.sh --ref REF  benchmark the server as committed at REF (built
#                               from `git archive`, ignoring uncommitted edits)
#
# It installs what is missing from Debian's packages (redis-server,
# redis-tools, etcd-server, etcd-client), builds bin/understudy and the load
# generator (bench/cmd/loadgen), and starts in a temp dir, on 127.0.0.1 only,
# on free ports: a three-node Understudy cluster; a three-node etcd cluster;
# Redis with appendonly yes + appendfsync always; Redis without persistence;
# a Redis primary with two replicas and three Sentinels. Every process it
# starts is stopped at the end by PID, on success, failure or Ctrl-C.
#
# Phases: throughput and latency (SET, GET, pipelined SET, 1 KiB and 16 KiB
# values, 80/20 mixed, EVALSHA of a small write script; 50 clients; CPU time per operation of every server
# process), the throughput curve (SET at 1, 10, 50, 200 and 1000 clients),
# redis-benchmark, failover (SIGKILL the
# leader under writes, restart it, count lost acknowledged writes), scale
# (bulk load into a fresh Understudy cluster and a fresh Redis: time, RSS,
# disk per key, follower catch-up).
#
# Results: bench/results/<UTC timestamp>/ (report.md, results.json, the raw
# JSON and redis-benchmark output, chart.png) and bench/results/latest.md.
#
# Environment:
#   BENCH_RESULTS   results root (default: <repo>/bench/results)
#   BENCH_CLIENTS   concurrent clients for the throughput phase (default 50)
#   BENCH_STORE     the --log-store of the Understudy cluster the targets judge (default wal);
#                   a second cluster with the other store runs the throughput phase beside it
#   UNDERSTUDY_BIN  use this understudy binary instead of building bin/understudy
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$UNDERSTUDY_ROOT
SELF="$ROOT/scripts/bench.sh"
HOST=127.0.0.1

# --- process bookkeeping -------------------------------------------------
# Every process has a NAME. STATE/argv/NAME holds its command line (NUL-
# separated), STATE/pids/NAME.pid its PID, STATE/logs/NAME.log its output,
# STATE/data/NAME its data; STATE/all.pids lists every PID ever started, which
# is what the exit trap stops. `bench.sh --launch NAME` (with BENCH_STATE set)
# starts NAME again; the load generator calls it after killing a leader.

# define NAME ARG...: records how to start NAME.
define() {
  local name=$1
  shift
  mkdir -p -- "$STATE/argv" "$STATE/data/$name"
  printf '%s\0' "$@" >"$STATE/argv/$name"
}

# launch NAME: starts NAME in the background and records its PID.
launch() {
  local name=$1 pid
  local -a argv
  [[ -f "$STATE/argv/$name" ]] || die "no process named $name in $STATE"
  mapfile -d '' -t argv <"$STATE/argv/$name"
  mkdir -p -- "$STATE/pids" "$STATE/logs"
  printf '=== %s launch %s\n' "$(date '+%H:%M:%S')" "$name" >>"$STATE/logs/$name.log"
  (cd "$STATE/data/$name" && exec nohup "${argv[@]}" </dev/null >>"$STATE/logs/$name.log" 2>&1) &
  pid=$!
  disown "$pid" 2>/dev/null || true # no "Killed" notice when a leader is killed
  printf '%s\n' "$pid" >"$STATE/pids/$name.pid"
  printf '%s %s\n' "$pid" "$name" >>"$STATE/all.pids"
}

if [[ "${1:-}" == --launch ]]; then
  [[ -n "${BENCH_STATE:-}" && -d "$BENCH_STATE" ]] || die "--launch needs BENCH_STATE"
  STATE=$BENCH_STATE
  launch "${2:?--launch NAME}"
  exit 0
fi

# stop_names NAME...: stops the current processes of NAMEs.
stop_names() {
  local name pids=()
  for name in "$@"; do
    [[ -f "$STATE/pids/$name.pid" ]] && pids+=("$(<"$STATE/pids/$name.pid")")
  done
  ((${#pids[@]} == 0)) || stop_pids "${pids[@]}"
}

LG_PID=''
OK=0
KEEP=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$LG_PID" ]] && kill -0 "$LG_PID" 2>/dev/null; then
    kill -TERM "$LG_PID" 2>/dev/null || true
    wait "$LG_PID" 2>/dev/null || true
  fi
  if [[ -n "${STATE:-}" && -f "$STATE/all.pids" ]]; then
    say "stopping every server started (by PID)"
    local -a pids
    mapfile -t pids < <(cut -d' ' -f1 "$STATE/all.pids")
    stop_pids "${pids[@]}"
  fi
  if [[ -n "${STATE:-}" && -d "$STATE" ]]; then
    if ((OK && !KEEP)); then
      rm -rf -- "$STATE"
    else
      printf 'logs and data kept in %s\n' "$STATE" >&2
    fi
  fi
  exit "$rc"
}

# run_loadgen ARG...: runs the load generator in the background and waits, so
# that Ctrl-C reaches the trap at once.
run_loadgen() {
  "$LOADGEN" "$@" &
  LG_PID=$!
  local rc=0
  wait "$LG_PID" || rc=$?
  LG_PID=''
  return "$rc"
}

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

MODE=full
REF=''
while (($# > 0)); do
  arg=$1
  shift
  case "$arg" in
    --quick) MODE=quick ;;
    --full) MODE=full ;;
    --keep) KEEP=1 ;;
    --ref)
      (($# > 0)) || die "--ref needs a commit"
      REF=$1
      shift
      ;;
    --ref=*) REF=${arg#--ref=} ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done

if [[ $MODE == quick ]]; then
  DURATION=2s WARMUP=300ms KEYSPACE=10000 ROUNDS=2 SETTLE=1s SCALE_KEYS=100000 RB_N=20000 CATCHUP=60s CURVE=2s
else
  DURATION=10s WARMUP=1s KEYSPACE=100000 ROUNDS=5 SETTLE=2s SCALE_KEYS=1000000 RB_N=200000 CATCHUP=300s CURVE=5s
fi
CLIENTS=${BENCH_CLIENTS:-50}
STORE=${BENCH_STORE:-wal}
case "$STORE" in
  wal) ALT=bolt ;;
  bolt) ALT=wal ;;
  *) die "BENCH_STORE=$STORE: want wal or bolt" ;;
esac

# --- dependencies ----------------------------------------------------------
apt_need redis-server:redis-server redis-cli:redis-tools redis-benchmark:redis-tools etcd:etcd-server etcdctl:etcd-client
command -v go >/dev/null 2>&1 || die "go is not installed"

STAMP=$(date -u '+%Y%m%dT%H%M%SZ')
RESULTS_ROOT=$(abspath "${BENCH_RESULTS:-$ROOT/bench/results}")
RES=$RESULTS_ROOT/$STAMP
mkdir -p -- "$RES"

STATE=$(mktemp -d "${TMPDIR:-/tmp}/understudy-bench.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "mode $MODE; state in $STATE; results in $RES"

if [[ -n "$REF" ]]; then
  rev=$(git -C "$ROOT" rev-parse --short "$REF^{commit}") || die "--ref $REF: not a commit"
  say "building understudy from commit $rev (git archive, ignoring uncommitted changes)"
  mkdir -p -- "$STATE/src"
  git -C "$ROOT" archive "$rev" | tar -x -C "$STATE/src" || die "git archive $rev failed"
  (cd "$STATE/src" && go build -o "$STATE/understudy" ./cmd/understudy) || die "build of $rev failed"
  BIN=$STATE/understudy
  US_LABEL="Understudy $rev"
elif [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
  BIN=$(abspath "$UNDERSTUDY_BIN")
  [[ -x "$BIN" ]] || die "UNDERSTUDY_BIN=$UNDERSTUDY_BIN is not an executable file"
  say "using $BIN (UNDERSTUDY_BIN set, not building it)"
  US_LABEL="Understudy binary $BIN"
else
  say "building bin/understudy"
  (cd "$ROOT" && go build -o bin/understudy ./cmd/understudy) || die "build of bin/understudy failed"
  BIN=$ROOT/bin/understudy
  US_LABEL="Understudy $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || US_LABEL+=" plus uncommitted changes"
fi
say "building the load generator"
(cd "$ROOT" && go build -o "$STATE/loadgen" ./bench/cmd/loadgen) || die "build of bench/cmd/loadgen failed"
LOADGEN=$STATE/loadgen

# --- servers ---------------------------------------------------------------
read -r -a PORTS <<<"$("$LOADGEN" freeports 50)"
((${#PORTS[@]} == 50)) || die "could not reserve free ports"
P=0
port() { PORT=${PORTS[P]}; P=$((P + 1)); }

# understudy_cluster PREFIX STORE: defines PREFIX1..3 with --log-store STORE
# and sets US_NODES (for loadgen).
understudy_cluster() {
  local prefix=$1 store=$2 i peers='' c r a
  local -a cp rp ap
  for i in 1 2 3; do
    port; cp[i]=$PORT
    port; rp[i]=$PORT
    port; ap[i]=$PORT
    peers+="${peers:+,}n$i=$HOST:${rp[i]}"
  done
  US_NODES=''
  for i in 1 2 3; do
    c=$HOST:${cp[i]} r=$HOST:${rp[i]} a=$HOST:${ap[i]}
    define "$prefix$i" "$BIN" serve --id "n$i" --data-dir "$STATE/data/$prefix$i" \
      --raft-addr "$r" --client-addr "$c" --admin-addr "$a" --peers "$peers" --log-store "$store" --log-level warn
    US_NODES+="${US_NODES:+,}$prefix$i=$c@$a"
  done
}

# redis_conf NAME PORT LINE...: a redis.conf for NAME (a file, so that
# Sentinel's CONFIG REWRITE works), then defines NAME.
redis_conf() {
  local name=$1 p=$2 conf
  shift 2
  mkdir -p -- "$STATE/conf" "$STATE/data/$name"
  conf=$STATE/conf/$name.conf
  {
    printf 'bind %s\nport %s\ndir %s\ndaemonize no\nprotected-mode yes\nlogfile ""\n' "$HOST" "$p" "$STATE/data/$name"
    printf 'save ""\n'
    printf '%s\n' "$@"
  } >"$conf"
  define "$name" redis-server "$conf"
}

understudy_cluster us "$STORE"
US_A=$US_NODES
understudy_cluster usa "$ALT"
US_ALT=$US_NODES

ETCD_NODES='' ETCD_CLUSTER=''
declare -a EC EP
for i in 1 2 3; do
  port; EC[i]=$PORT
  port; EP[i]=$PORT
  ETCD_CLUSTER+="${ETCD_CLUSTER:+,}e$i=http://$HOST:${EP[i]}"
done
for i in 1 2 3; do
  define "etcd$i" etcd --name "e$i" --data-dir "$STATE/data/etcd$i" \
    --listen-client-urls "http://$HOST:${EC[i]}" --advertise-client-urls "http://$HOST:${EC[i]}" \
    --listen-peer-urls "http://$HOST:${EP[i]}" --initial-advertise-peer-urls "http://$HOST:${EP[i]}" \
    --initial-cluster "$ETCD_CLUSTER" --initial-cluster-state new --initial-cluster-token understudy-bench \
    --quota-backend-bytes 8589934592 --auto-compaction-mode revision --auto-compaction-retention 1000 \
    --logger zap --log-level warn
  ETCD_NODES+="${ETCD_NODES:+,}etcd$i=http://$HOST:${EC[i]}"
done

port; redis_conf raof "$PORT" 'appendonly yes' 'appendfsync always'
RAOF=raof=$HOST:$PORT
port; redis_conf rmem "$PORT" 'appendonly no'
RMEM=rmem=$HOST:$PORT

port; RS1=$PORT
port; RS2=$PORT
port; RS3=$PORT
redis_conf rs1 "$RS1" 'appendonly yes' 'appendfsync always'
redis_conf rs2 "$RS2" 'appendonly yes' 'appendfsync always' "replicaof $HOST $RS1"
redis_conf rs3 "$RS3" 'appendonly yes' 'appendfsync always' "replicaof $HOST $RS1"
RS_NODES="rs1=$HOST:$RS1,rs2=$HOST:$RS2,rs3=$HOST:$RS3"
SEN_NODES=''
for i in 1 2 3; do
  port
  mkdir -p -- "$STATE/conf" "$STATE/data/sen$i"
  cat >"$STATE/conf/sen$i.conf" <<EOF
bind $HOST
port $PORT
dir $STATE/data/sen$i
daemonize no
logfile ""
sentinel resolve-hostnames no
sentinel monitor mymaster $HOST $RS1 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 2000
sentinel parallel-syncs mymaster 1
EOF
  define "sen$i" redis-server "$STATE/conf/sen$i.conf" --sentinel
  SEN_NODES+="${SEN_NODES:+,}sen$i=$HOST:$PORT"
done

PHASE1=(us1 us2 us3 usa1 usa2 usa3 etcd1 etcd2 etcd3 raof rmem rs1 rs2 rs3 sen1 sen2 sen3)
say "starting ${PHASE1[*]}"
for name in "${PHASE1[@]}"; do
  launch "$name"
done

COMMON=(--state "$STATE" --hook "$SELF" --bin "$BIN")
run_loadgen wait --understudy "$US_A" --understudy-alt "$US_ALT" --etcd "$ETCD_NODES" --redis-aof "$RAOF" --redis-mem "$RMEM" \
  --sentinels "$SEN_NODES" --sentinel-redis "$RS_NODES" --timeout 60s "${COMMON[@]}" ||
  die "the servers did not come up (logs in $STATE/logs)"

redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
etcd_version=$(etcd --version 2>/dev/null | sed -n 's/^etcd Version: //p')
HOSTLINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $US_LABEL, Redis $redis_version, etcd $etcd_version, $(go version | cut -d' ' -f3)"
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# --- throughput and latency --------------------------------------------------
say "throughput: ${DURATION} per workload and system, $CLIENTS clients, $KEYSPACE keys; then SET at 1-1000 clients, $CURVE each"
run_loadgen throughput --understudy "$US_A" --understudy-alt "$US_ALT" --redis-aof "$RAOF" --redis-mem "$RMEM" --etcd "$ETCD_NODES" \
  --out "$RES/throughput.json" --duration "$DURATION" --warmup "$WARMUP" --clients "$CLIENTS" --keys "$KEYSPACE" \
  --curve-out "$RES/curve.json" --curve-duration "$CURVE" "${COMMON[@]}" || die "throughput phase failed"
stop_names usa1 usa2 usa3 # the second log store is measured in the throughput phase only

# --- redis-benchmark -----------------------------------------------------------
say "redis-benchmark: -n $RB_N -c 50 -t set,get, with and without -P 16"
LEADER_ADDR=$(run_loadgen leader --understudy "$US_A" "${COMMON[@]}") || die "no Understudy leader"
for t in "understudy=$LEADER_ADDR" "redis-aof=${RAOF#*=}" "redis-mem=${RMEM#*=}"; do
  name=${t%%=*} addr=${t#*=}
  for pipe in 1 16; do
    out=$RES/redis-benchmark_${name}_P$pipe.txt
    rc=0
    timeout 180 redis-benchmark -h "${addr%:*}" -p "${addr##*:}" -q -n "$RB_N" -c 50 -t set,get -P "$pipe" \
      </dev/null >"$out" 2>&1 || rc=$?
    ((rc == 0)) || printf 'error: redis-benchmark exited with status %s\n' "$rc" >>"$out"
    printf '  %-10s -P %-2s %s\n' "$name" "$pipe" "$(tr '\r' '\n' <"$out" | grep -E 'requests per second|rror' | tr '\n' ' ')"
  done
done

# --- failover ------------------------------------------------------------------
say "failover: $ROUNDS leader kills per system under writes"
run_loadgen failover --understudy "$US_A" --sentinels "$SEN_NODES" --sentinel-redis "$RS_NODES" --etcd "$ETCD_NODES" \
  --out "$RES/failover.json" --rounds "$ROUNDS" --settle "$SETTLE" "${COMMON[@]}" || warn "failover phase failed"

# --- scale -------------------------------------------------------------------
say "scale: stopping the first set of servers; fresh Understudy cluster and Redis (AOF always) for $SCALE_KEYS keys"
stop_names "${PHASE1[@]}"
understudy_cluster usb "$STORE"
US_B=$US_NODES
port; redis_conf rscale "$PORT" 'appendonly yes' 'appendfsync always'
RSCALE=rscale=$HOST:$PORT
for name in usb1 usb2 usb3 rscale; do
  launch "$name"
done
run_loadgen wait --understudy "$US_B" --redis-aof "$RSCALE" --timeout 60s "${COMMON[@]}" ||
  die "the scale servers did not come up (logs in $STATE/logs)"
run_loadgen scale --understudy "$US_B" --redis "$RSCALE" --keys "$SCALE_KEYS" --catch-up-timeout "$CATCHUP" \
  --out "$RES/scale.json" "${COMMON[@]}" || warn "scale phase failed"

# --- report --------------------------------------------------------------------
run_loadgen report --dir "$RES" --started "$STARTED" --mode "$MODE" --host "$HOSTLINE" \
  --stores "understudy=$STORE,understudy-alt=$ALT" >/dev/null ||
  die "report failed"
sed -e "s#(chart.png)#($STAMP/chart.png)#" -e "s#(curve.png)#($STAMP/curve.png)#" "$RES/report.md" >"$RESULTS_ROOT/latest.md"
cat "$RES/report.md"
echo
say "report: $RES/report.md (also $RESULTS_ROOT/latest.md)"
OK=1
