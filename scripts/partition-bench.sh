#!/usr/bin/env bash
# Cuts the primary's network namespace off from the other two, under writes,
# and counts acknowledged writes lost: Redis + Sentinel side by side with
# Understudy, in one run.
#
#   scripts/partition-bench.sh             3 rounds (about 2-3 minutes)
#   scripts/partition-bench.sh --quick     1 round (about a minute)
#   scripts/partition-bench.sh --rounds N  N rounds
#   scripts/partition-bench.sh --keep      also keep the temp dir (logs, data)
#
# Needs root and iproute2 (`ip`): without them it prints "skipped: ..." and
# exits 0. Installs redis-server and redis-tools from Debian if missing,
# builds bin/understudy and the driver (bench/cmd/partition), then creates
# three network namespaces, each with a veth into one bridge in the root
# namespace, on a free private 10.213.N.0/24. Namespace i runs Understudy
# node ni, a redis-server (the first is the primary, the others replicate
# it; appendonly yes, appendfsync always), a second redis-server of the same
# kind with min-replicas-to-write 1, and a Sentinel watching both. The driver
# runs in the root namespace; see docs/partition-bench.md for what a round
# does. Every process is started here and stopped by PID at the end, and the
# namespaces, veths, bridge (and the one firewall rule that lets the bridge
# forward, if bridged traffic goes through iptables) are removed, also on
# failure or Ctrl-C.
#
# Report: bench/results/partition-<UTC timestamp>.md and a copy at
# bench/results/partition-latest.md; the table is printed too.
#
# Environment:
#   BENCH_RESULTS   results root (default: <repo>/bench/results)
#   UNDERSTUDY_BIN  use this understudy binary instead of building bin/understudy
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$UNDERSTUDY_ROOT

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

MODE=full
ROUNDS=''
KEEP=0
ARGS=("$@")
while (($# > 0)); do
  arg=$1
  shift
  case "$arg" in
    --quick) MODE=quick ;;
    --keep) KEEP=1 ;;
    --rounds)
      (($# > 0)) || die "--rounds needs a number"
      ROUNDS=$1
      shift
      ;;
    --rounds=*) ROUNDS=${arg#--rounds=} ;;
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
  : "${ROUNDS:=1}"
  SETTLE=2s HOLD=8s
else
  : "${ROUNDS:=3}"
  SETTLE=3s HOLD=10s
fi
[[ $ROUNDS =~ ^[1-9][0-9]?$ ]] || die "--rounds: want a number from 1 to 99, got '$ROUNDS'"
DRIVER_TIMEOUT=$((120 + ROUNDS * 150)) # seconds; every wait inside is bounded too

if ((EUID != 0)); then
  echo "skipped: scripts/partition-bench.sh needs root (it creates network namespaces)"
  exit 0
fi
if ! command -v ip >/dev/null 2>&1; then
  echo "skipped: scripts/partition-bench.sh needs iproute2's ip command"
  exit 0
fi

# --- dependencies ----------------------------------------------------------
apt_need redis-server:redis-server redis-cli:redis-tools
command -v go >/dev/null 2>&1 || die "go is not installed"

# --- process bookkeeping -------------------------------------------------
# Every process has a NAME; STATE/pids/NAME.pid holds its PID,
# STATE/logs/NAME.log its output, STATE/data/NAME its data (and its working
# directory); STATE/all.pids lists every PID started, which the exit trap
# stops.

# launch NAME NETNS ARG...: starts ARG... inside NETNS (`ip netns exec` execs
# it, so the PID is the server's).
launch() {
  local name=$1 netns=$2 pid
  shift 2
  mkdir -p -- "$STATE/pids" "$STATE/logs" "$STATE/data/$name"
  (cd "$STATE/data/$name" && exec ip netns exec "$netns" "$@" </dev/null >>"$STATE/logs/$name.log" 2>&1) &
  pid=$!
  printf '%s\n' "$pid" >"$STATE/pids/$name.pid"
  printf '%s %s\n' "$pid" "$name" >>"$STATE/all.pids"
}

# --- the network -----------------------------------------------------------
TAG=$$
BR=uspb$TAG # interface names: at most 15 characters (PIDs have at most 7 digits)
NS=('' "usp$TAG-1" "usp$TAG-2" "usp$TAG-3")
VETH_HOST=('' "uspv${TAG}h1" "uspv${TAG}h2" "uspv${TAG}h3")
VETH_NS=('' "uspv${TAG}n1" "uspv${TAG}n2" "uspv${TAG}n3")
FWD_RULE=(FORWARD -i "$BR" -o "$BR" -j ACCEPT)
NET_MADE=0
FWD_ADDED=0

teardown_net() {
  local i deadline
  if ((FWD_ADDED)); then
    iptables -D "${FWD_RULE[@]}" 2>/dev/null || warn "could not remove the iptables rule ${FWD_RULE[*]}"
    FWD_ADDED=0
  fi
  ((NET_MADE)) || return 0
  for i in 1 2 3; do
    ip link del "${VETH_HOST[i]}" 2>/dev/null || true
    ip netns del "${NS[i]}" 2>/dev/null || true
  done
  ip link del "$BR" 2>/dev/null || true
  # Interfaces of a deleted namespace go away asynchronously.
  deadline=$(($(now_ms) + 10000))
  while ip -o link show | grep -q "uspv$TAG\|uspb$TAG" || ip netns list | grep -q "^usp$TAG-"; do
    if (($(now_ms) >= deadline)); then
      warn "namespaces or interfaces of this run are still present: $(ip netns list | grep "^usp$TAG-" | tr '\n' ' ')"
      break
    fi
    sleep 0.1
  done
  NET_MADE=0
}

ip2int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  printf '%s\n' $(((a << 24) | (b << 16) | (c << 8) | d))
}

# overlaps A/LEN B/LEN: the two prefixes share an address.
overlaps() {
  local n1 n2 l1 l2 m mask
  n1=$(ip2int "${1%/*}") l1=${1#*/}
  n2=$(ip2int "${2%/*}") l2=${2#*/}
  [[ $1 == */* ]] || l1=32
  [[ $2 == */* ]] || l2=32
  m=$((l1 < l2 ? l1 : l2))
  ((m == 0)) && return 0
  mask=$(((0xffffffff << (32 - m)) & 0xffffffff))
  (((n1 & mask) == (n2 & mask)))
}

# subnet_free N: no route (but the default) and no address overlaps 10.213.N.0/24.
subnet_free() {
  local want=10.213.$1.0/24 p
  while read -r p; do
    [[ -n "$p" ]] || continue
    overlaps "$want" "$p" && return 1
  done < <(
    ip -4 -o route show table all | awk '{d=$1; if (d ~ /^(local|broadcast|unicast|unreachable|blackhole|prohibit|throw|multicast|anycast|nat)$/) d=$2; if (d != "default" && d ~ /^[0-9.]+(\/[0-9]+)?$/) print d}'
    ip -4 -o addr show | awk '{print $4}'
  )
  return 0
}

setup_net() {
  local n i tries=0
  n=$((TAG % 200 + 20))
  until subnet_free "$n"; do
    tries=$((tries + 1))
    ((tries < 200)) || die "no free 10.213.N.0/24 subnet"
    n=$(((n + 1) % 250 + 1))
  done
  NET=10.213.$n
  BR_IP=$NET.254
  IPS=('' "$NET.1" "$NET.2" "$NET.3")
  NET_MADE=1
  ip link add "$BR" type bridge || die "ip link add $BR type bridge failed"
  ip addr add "$BR_IP/24" dev "$BR"
  ip link set "$BR" up
  for i in 1 2 3; do
    ip netns add "${NS[i]}" || die "ip netns add ${NS[i]} failed"
    ip link add "${VETH_HOST[i]}" type veth peer name "${VETH_NS[i]}"
    ip link set "${VETH_HOST[i]}" master "$BR" up
    ip link set "${VETH_NS[i]}" netns "${NS[i]}"
    ip -n "${NS[i]}" addr add "${IPS[i]}/24" dev "${VETH_NS[i]}"
    ip -n "${NS[i]}" link set "${VETH_NS[i]}" up
    ip -n "${NS[i]}" link set lo up
  done
  # Where bridged frames go through iptables (br_netfilter, as Docker sets
  # up) and FORWARD drops by default, namespace-to-namespace traffic over
  # the bridge needs this one rule; the exit trap removes it.
  if [[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0)" == 1 ]] && command -v iptables >/dev/null 2>&1; then
    iptables -I "${FWD_RULE[@]}" || die "iptables -I ${FWD_RULE[*]} failed"
    FWD_ADDED=1
  fi
}

DRIVER_PID=''
OK=0
STATE=''
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$DRIVER_PID" ]] && kill -0 "$DRIVER_PID" 2>/dev/null; then
    kill -TERM "$DRIVER_PID" 2>/dev/null || true
    wait "$DRIVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$STATE" && -f "$STATE/all.pids" ]]; then
    say "stopping every server started (by PID)"
    local -a pids
    mapfile -t pids < <(cut -d' ' -f1 "$STATE/all.pids")
    stop_pids "${pids[@]}"
  fi
  say "removing the namespaces, veths and bridge of this run"
  teardown_net
  if [[ -n "$STATE" && -d "$STATE" ]]; then
    if ((OK && !KEEP)); then
      rm -rf -- "$STATE"
    else
      printf 'logs and data kept in %s\n' "$STATE" >&2
    fi
  fi
  exit "$rc"
}

STAMP=$(date -u '+%Y%m%dT%H%M%SZ')
RESULTS_ROOT=$(abspath "${BENCH_RESULTS:-$ROOT/bench/results}")
mkdir -p -- "$RESULTS_ROOT"
STATE=$(mktemp -d "${TMPDIR:-/tmp}/understudy-partition.XXXXXX")
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
say "mode $MODE, $ROUNDS round(s); state in $STATE"

if [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
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
say "building the driver (bench/cmd/partition)"
(cd "$ROOT" && go build -o "$STATE/partition" ./bench/cmd/partition) || die "build of bench/cmd/partition failed"

setup_net
say "namespaces ${NS[*]:1} on $NET.0/24 (bridge $BR, $BR_IP)"

# --- servers -----------------------------------------------------------------
US_CLIENT=6400 US_RAFT=7400 US_ADMIN=9400 REDIS_PORT=6379 MINREP_PORT=6380 SENTINEL_PORT=26379
SENTINEL_CONF="quorum 2, down-after-milliseconds 1000, failover-timeout 2000, parallel-syncs 1"
MINREP_LINES=('min-replicas-to-write 1' 'min-replicas-max-lag 2')
MINREP_CONF="${MINREP_LINES[0]}, ${MINREP_LINES[1]}"

PEERS=''
for i in 1 2 3; do
  PEERS+="${PEERS:+,}n$i=${IPS[i]}:$US_RAFT"
done

# redis_conf NAME IP PORT LINE...: a redis.conf in a file (Sentinel's CONFIG
# REWRITE needs one), printed.
redis_conf() {
  local name=$1 ip=$2 p=$3 conf
  shift 3
  mkdir -p -- "$STATE/conf" "$STATE/data/$name"
  conf=$STATE/conf/$name.conf
  {
    printf 'bind %s\nport %s\ndir %s\ndaemonize no\nprotected-mode no\nlogfile ""\nsave ""\n' "$ip" "$p" "$STATE/data/$name"
    printf 'appendonly yes\nappendfsync always\n'
    printf '%s\n' "$@"
  } >"$conf"
  printf '%s\n' "$conf"
}

US_NODES='' REDIS_NODES='' MINREP_NODES='' SEN_NODES='' NETNS_LIST=''
for i in 1 2 3; do
  ip=${IPS[i]}
  launch "us$i" "${NS[i]}" "$BIN" serve --id "n$i" --data-dir "$STATE/data/us$i" \
    --raft-addr "$ip:$US_RAFT" --client-addr "$ip:$US_CLIENT" --admin-addr "$ip:$US_ADMIN" \
    --peers "$PEERS" --log-level warn
  rep=() mrep=()
  if ((i > 1)); then
    rep=("replicaof ${IPS[1]} $REDIS_PORT")
    mrep=("replicaof ${IPS[1]} $MINREP_PORT")
  fi
  launch "redis$i" "${NS[i]}" redis-server "$(redis_conf "redis$i" "$ip" "$REDIS_PORT" "${rep[@]}")"
  launch "minrep$i" "${NS[i]}" redis-server "$(redis_conf "minrep$i" "$ip" "$MINREP_PORT" "${mrep[@]}" "${MINREP_LINES[@]}")"
  mkdir -p -- "$STATE/data/sentinel$i"
  cat >"$STATE/conf/sentinel$i.conf" <<EOF
bind $ip
port $SENTINEL_PORT
dir $STATE/data/sentinel$i
daemonize no
protected-mode no
logfile ""
sentinel resolve-hostnames no
sentinel announce-ip $ip
sentinel announce-port $SENTINEL_PORT
sentinel monitor mymaster ${IPS[1]} $REDIS_PORT 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 2000
sentinel parallel-syncs mymaster 1
sentinel monitor minrep ${IPS[1]} $MINREP_PORT 2
sentinel down-after-milliseconds minrep 1000
sentinel failover-timeout minrep 2000
sentinel parallel-syncs minrep 1
EOF
  launch "sentinel$i" "${NS[i]}" redis-server "$STATE/conf/sentinel$i.conf" --sentinel
  US_NODES+="${US_NODES:+,}n$i=$ip:$US_CLIENT@$ip:$US_ADMIN"
  REDIS_NODES+="${REDIS_NODES:+,}redis$i=$ip:$REDIS_PORT"
  MINREP_NODES+="${MINREP_NODES:+,}minrep$i=$ip:$MINREP_PORT"
  SEN_NODES+="${SEN_NODES:+,}sentinel$i=$ip:$SENTINEL_PORT"
  NETNS_LIST+="${NETNS_LIST:+,}${NS[i]}=$ip"
done
say "started Understudy n1..n3, redis1..3, minrep1..3 and sentinel1..3, one of each per namespace"

# The namespaces must reach each other over the bridge (a firewall on
# bridged traffic would stop them): ns1 -> ns2's Understudy port, bounded.
deadline=$(($(now_ms) + 30000))
until ip netns exec "${NS[1]}" timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "${IPS[2]}" "$US_CLIENT" 2>/dev/null; do
  (($(now_ms) < deadline)) || die "${NS[1]} cannot reach ${IPS[2]}:$US_CLIENT over the bridge (a firewall on bridged traffic?); logs in $STATE/logs"
  sleep 0.2
done

redis_version=$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')
HOSTLINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), $US_LABEL, Redis $redis_version, $(go version | cut -d' ' -f3)"
printf -v COMMAND '%q ' scripts/partition-bench.sh "${ARGS[@]}"
OUT=$RESULTS_ROOT/partition-$STAMP.md

say "running $ROUNDS round(s) (driver bounded to ${DRIVER_TIMEOUT}s)"
timeout --signal=TERM --kill-after=15 "$DRIVER_TIMEOUT" "$STATE/partition" \
  --netns "$NETNS_LIST" --understudy "$US_NODES" --bin "$BIN" \
  --sentinels "$SEN_NODES" --redis "$REDIS_NODES" --redis-master mymaster \
  --redis-minrep "$MINREP_NODES" --redis-minrep-master minrep \
  --rounds "$ROUNDS" --settle "$SETTLE" --hold "$HOLD" \
  --out "$OUT" --latest "$RESULTS_ROOT/partition-latest.md" --mode "$MODE" \
  --command "${COMMAND% }" --host "$HOSTLINE" --sentinel-conf "$SENTINEL_CONF" --minrep-conf "$MINREP_CONF" &
DRIVER_PID=$!
rc=0
wait "$DRIVER_PID" || rc=$?
DRIVER_PID=''
((rc == 0)) || die "the partition driver failed (exit $rc); logs in $STATE/logs"
echo
say "report: $OUT (also $RESULTS_ROOT/partition-latest.md)"
OK=1
