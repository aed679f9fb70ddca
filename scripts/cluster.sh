#!/usr/bin/env bash
# Runs a local three-node Understudy cluster on 127.0.0.1.
#
#   scripts/cluster.sh up          build, then start every node that is not running, and wait until
#                                  each one started can serve (a data command gets a reply, not TRYAGAIN)
#   scripts/cluster.sh down        stop every node (SIGTERM, then SIGKILL after a deadline)
#   scripts/cluster.sh status      up/down, PID and role of each node, then the leader
#   scripts/cluster.sh start N     start node N (1..3) if it is not running, and wait until it can serve
#   scripts/cluster.sh stop N      stop node N cleanly
#   scripts/cluster.sh restart N   stop node N, then start it again with its data
#   scripts/cluster.sh kill N      SIGKILL node N (a crash; `up` or `start N` brings it back)
#   scripts/cluster.sh leader      print the leader's id (n1..n3), fail if there is none
#   scripts/cluster.sh clean       `down`, then delete the nodes' data, logs and PID files
#
# Node i listens for RESP on 127.0.0.1:638i, Raft on 127.0.0.1:738i and admin
# gRPC on 127.0.0.1:918i, keeps its data in $DATA/n<i>, logs to $DATA/n<i>.log
# and records its PID in $DATA/n<i>.pid, where $DATA is ./data at the
# repository root unless UNDERSTUDY_DATA says otherwise.
#
# Environment:
#   UNDERSTUDY_DATA            data root (default: <repo>/data)
#   UNDERSTUDY_BIN             use this binary and skip the build (default: build <repo>/bin/understudy)
#   UNDERSTUDY_SERVE_FLAGS     extra flags for `understudy serve`, split on whitespace
#   UNDERSTUDY_START_TIMEOUT   seconds to wait for a node to serve (default 15)
#   UNDERSTUDY_STOP_TIMEOUT    seconds to wait after SIGTERM before SIGKILL (default 15)
#   UNDERSTUDY_LEADER_TIMEOUT  seconds `up` waits to report a leader, never failing (default 10; 0 skips)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$UNDERSTUDY_ROOT
NODES=(1 2 3)
HOST=127.0.0.1
DATA=$(abspath "${UNDERSTUDY_DATA:-$ROOT/data}")
if [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
  BIN=$(abspath "$UNDERSTUDY_BIN")
  BUILD=0
else
  BIN=$ROOT/bin/understudy
  BUILD=1
fi
START_TIMEOUT=${UNDERSTUDY_START_TIMEOUT:-15}
STOP_TIMEOUT=${UNDERSTUDY_STOP_TIMEOUT:-15}
LEADER_TIMEOUT=${UNDERSTUDY_LEADER_TIMEOUT:-10}
POLL=0.1

client_port() { printf '%s\n' "$((6380 + $1))"; }
raft_port() { printf '%s\n' "$((7380 + $1))"; }
admin_port() { printf '%s\n' "$((9180 + $1))"; }
node_dir() { printf '%s\n' "$DATA/n$1"; }
log_file() { printf '%s\n' "$DATA/n$1.log"; }
pid_file() { printf '%s\n' "$DATA/n$1.pid"; }

peers() {
  local i out=''
  for i in "${NODES[@]}"; do
    out+="${out:+,}n$i=$HOST:$(raft_port "$i")"
  done
  printf '%s\n' "$out"
}

check_node_arg() {
  [[ "${1:-}" =~ ^[1-3]$ ]] || die "expected a node number 1, 2 or 3, got '${1:-}'"
}

# recorded_pid N: the PID in node N's PID file, or nothing.
recorded_pid() {
  local f pid=''
  f=$(pid_file "$1")
  if [[ -f "$f" ]]; then
    IFS= read -r pid <"$f" || true
  fi
  [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  return 0
}

# process_args PID: the process's command line, arguments NUL-separated.
process_args() {
  if [[ -r "/proc/$1/cmdline" ]]; then
    cat "/proc/$1/cmdline" 2>/dev/null
  else
    # No /proc (macOS): ps gives the command line space-separated; turn the
    # spaces into NULs so the same matching works for our space-free args.
    ps -p "$1" -o command= 2>/dev/null | tr ' ' '\0'
  fi
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  local state=''
  if [[ -r "/proc/$1/stat" ]]; then
    state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$1/stat" 2>/dev/null) || true
  else
    state=$(ps -o stat= -p "$1" 2>/dev/null) || true
  fi
  [[ "$state" != Z* ]]
}

# is_ours N PID: PID is alive and is an `understudy serve` for node N, judged by
# its command line (`serve`, --id nN and --data-dir naming N's directory). That
# rules out an unrelated process that reused the PID, and still holds across a
# rebuild of the binary or a different UNDERSTUDY_BIN (unlike /proc/PID/exe).
is_ours() {
  local n=$1 pid=$2 args want_dir i id_ok=0 dir_ok=0
  kill -0 "$pid" 2>/dev/null || return 1
  args=$(process_args "$pid" | tr '\0' '\n') || return 1
  want_dir=$(node_dir "$n")
  local -a a
  mapfile -t a <<<"$args"
  ((${#a[@]} >= 2)) || return 1 # a zombie has an empty command line
  [[ "${a[1]}" == serve ]] || return 1
  for ((i = 2; i < ${#a[@]}; i++)); do
    case "${a[i]}" in
      --id) [[ "${a[i + 1]:-}" == "n$n" ]] && id_ok=1 ;;
      "--id=n$n") id_ok=1 ;;
      --data-dir) [[ "${a[i + 1]:-}" == "$want_dir" ]] && dir_ok=1 ;;
      "--data-dir=$want_dir") dir_ok=1 ;;
    esac
  done
  ((id_ok && dir_ok))
}

# running_pid N: the PID of node N if it runs (per its PID file), else fails.
running_pid() {
  local pid
  pid=$(recorded_pid "$1")
  [[ -n "$pid" ]] && is_ours "$1" "$pid" && printf '%s\n' "$pid"
}

build() {
  if ((BUILD)); then
    local version
    version=$(build_version)
    say "building bin/understudy ($version)"
    (cd "$ROOT" && go build -ldflags "$(version_ldflag "$version")" -o bin/understudy ./cmd/understudy) || die "build failed"
  else
    [[ -x "$BIN" ]] || die "UNDERSTUDY_BIN=$UNDERSTUDY_BIN is not an executable file"
    say "using $BIN (UNDERSTUDY_BIN set, not building)"
  fi
}

# start_node N: launches node N in the background unless it runs, and sets
# STARTED_PID to its PID (empty if it was already running). Does not wait.
STARTED_PID=''
start_node() {
  local n=$1 pid f port log extra=()
  STARTED_PID=''
  if pid=$(running_pid "$n"); then
    say "n$n already running (pid $pid)"
    return 0
  fi
  f=$(pid_file "$n")
  if [[ -f "$f" ]]; then
    rm -f -- "$f" # stale: its process is gone or is not ours
  fi
  mkdir -p -- "$(node_dir "$n")"
  log=$(log_file "$n")
  read -r -a extra <<<"${UNDERSTUDY_SERVE_FLAGS:-}"
  printf '=== %s cluster.sh: starting n%s\n' "$(date '+%Y-%m-%dT%H:%M:%S%z')" "$n" >>"$log"
  nohup "$BIN" serve \
    --id "n$n" \
    --data-dir "$(node_dir "$n")" \
    --raft-addr "$HOST:$(raft_port "$n")" \
    --client-addr "$HOST:$(client_port "$n")" \
    --admin-addr "$HOST:$(admin_port "$n")" \
    --peers "$(peers)" \
    "${extra[@]}" \
    </dev/null >>"$log" 2>&1 &
  pid=$!
  printf '%s\n' "$pid" >"$f"
  say "n$n starting (pid $pid, log $log)"
  STARTED_PID=$pid
}

show_log_tail() {
  local log
  log=$(log_file "$1")
  if [[ -f "$log" ]]; then
    printf -- '--- last 30 lines of %s ---\n' "$log" >&2
    tail -n 30 -- "$log" >&2
    printf -- '---\n' >&2
  fi
}

# serving N: node N answers a data command: a read that a follower forwards
# to the leader and a leader serves once it may (EXISTS of a key nobody
# uses). TRYAGAIN (no leader yet, leader not ready, cannot reach it) or no
# reply is not serving; any other reply is (with --requirepass that is
# NOAUTH: the node is up, its clients must authenticate). Sets LAST_REPLY.
LAST_REPLY=''
serving() {
  LAST_REPLY=$(RESP_TIMEOUT=2 resp_command "$HOST" "$(client_port "$1")" EXISTS cluster.sh:probe) || {
    LAST_REPLY='(no reply)'
    return 1
  }
  [[ "$LAST_REPLY" != -TRYAGAIN* && -n "$LAST_REPLY" ]]
}

# wait_ready N PID DEADLINE_MS: waits until node N can serve clients: it
# accepts connections on its client port and answers a data command (see
# serving); fails early if the process exits, or at DEADLINE_MS.
wait_ready() {
  local n=$1 pid=$2 deadline=$3 port
  port=$(client_port "$n")
  while :; do
    # Not is_ours: until nohup has exec'd the binary, the child's command line
    # is still this script's; and an exited child of ours lingers as a zombie.
    if ! pid_alive "$pid"; then
      printf 'error: n%s (pid %s) exited before accepting connections on %s:%s\n' "$n" "$pid" "$HOST" "$port" >&2
      rm -f -- "$(pid_file "$n")"
      show_log_tail "$n"
      return 1
    fi
    if tcp_open "$HOST" "$port" && serving "$n"; then
      return 0
    fi
    if (($(now_ms) >= deadline)); then
      if [[ -n "$LAST_REPLY" ]]; then
        printf 'error: n%s (pid %s) accepts connections on %s:%s but cannot serve after %ss: %s\n' "$n" "$pid" "$HOST" "$port" "$START_TIMEOUT" "$LAST_REPLY" >&2
      else
        printf 'error: n%s (pid %s) did not accept connections on %s:%s within %ss\n' "$n" "$pid" "$HOST" "$port" "$START_TIMEOUT" >&2
      fi
      show_log_tail "$n"
      return 1
    fi
    sleep "$POLL"
  done
}

# PENDING maps node number -> PID of nodes we signalled and wait to exit.
declare -A PENDING=()

# prune_exited VERB: drops from PENDING the nodes whose process has exited and
# removes their PID files.
prune_exited() {
  local n
  for n in "${!PENDING[@]}"; do
    if ! is_ours "$n" "${PENDING[$n]}"; then
      say "n$n $1"
      rm -f -- "$(pid_file "$n")"
      unset "PENDING[$n]"
    fi
  done
}

# wait_pending SECONDS VERB: waits up to SECONDS for every PENDING node to exit.
wait_pending() {
  local deadline
  deadline=$(($(now_ms) + $1 * 1000))
  while :; do
    prune_exited "$2"
    ((${#PENDING[@]} == 0)) && return 0
    (($(now_ms) >= deadline)) && return 1
    sleep "$POLL"
  done
}

# stop_nodes N...: SIGTERMs each running node, waits up to STOP_TIMEOUT seconds
# for them to exit, SIGKILLs the rest, and removes the PID files. Only PIDs
# from our PID files that are still our nodes (see is_ours) are signalled.
stop_nodes() {
  local n pid
  PENDING=()
  for n in "$@"; do
    if pid=$(running_pid "$n"); then
      say "n$n: sending SIGTERM to pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      PENDING[$n]=$pid
    elif [[ -f "$(pid_file "$n")" ]]; then
      say "n$n not running (removing stale PID file)"
      rm -f -- "$(pid_file "$n")"
    else
      say "n$n not running"
    fi
  done
  wait_pending "$STOP_TIMEOUT" stopped && return 0
  for n in "${!PENDING[@]}"; do
    warn "n$n (pid ${PENDING[$n]}) still running ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
    kill -KILL "${PENDING[$n]}" 2>/dev/null || true
  done
  wait_pending 5 killed && return 0
  for n in "${!PENDING[@]}"; do
    warn "n$n (pid ${PENDING[$n]}) survived SIGKILL; leaving its PID file"
  done
  return 1
}

# kill_node N: SIGKILLs node N (a crash) and waits for it to be gone. Its PID
# file stays, stale, as after a real crash; `up` ignores it.
kill_node() {
  local n=$1 pid deadline
  if ! pid=$(running_pid "$n"); then
    say "n$n not running"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  deadline=$(($(now_ms) + 5000))
  while is_ours "$n" "$pid"; do
    (($(now_ms) >= deadline)) && die "n$n (pid $pid) survived SIGKILL"
    sleep "$POLL"
  done
  say "n$n killed (pid $pid, SIGKILL)"
}

# role_of N: leader, follower or unknown, from INFO replication on N's client port.
role_of() {
  local reply role
  if ! reply=$(RESP_TIMEOUT=2 resp_command "$HOST" "$(client_port "$1")" INFO replication); then
    printf 'unknown\n'
    return 0
  fi
  role=$(printf '%s\n' "$reply" | tr -d '\r' | sed -n 's/^role:[[:space:]]*//p' | head -n 1)
  case "$role" in
    master) printf 'leader\n' ;;
    slave) printf 'follower\n' ;;
    *) printf 'unknown\n' ;;
  esac
}

# find_leader: prints the id (n1..n3) of the node that reports role:master, or
# fails. If several do (a stale leader), prints the first and warns.
find_leader() {
  local n found=()
  for n in "${NODES[@]}"; do
    if [[ "$(role_of "$n")" == leader ]]; then
      found+=("n$n")
    fi
  done
  ((${#found[@]} > 0)) || return 1
  if ((${#found[@]} > 1)); then
    warn "several nodes report role:master: ${found[*]}"
  fi
  printf '%s\n' "${found[0]}"
}

cmd_status() {
  local n pid state role port leaders=()
  printf '%-4s %-5s %-8s %-9s %-16s %s\n' NODE STATE PID ROLE CLIENT LOG
  for n in "${NODES[@]}"; do
    port=$(client_port "$n")
    if pid=$(running_pid "$n"); then
      state=up
    else
      state=down
      pid=-
    fi
    role=-
    if [[ $state == up ]] || tcp_open "$HOST" "$port"; then
      role=$(role_of "$n")
    fi
    [[ $role == leader ]] && leaders+=("n$n")
    printf '%-4s %-5s %-8s %-9s %-16s %s\n' "n$n" "$state" "$pid" "$role" "$HOST:$port" "$(log_file "$n")"
    if [[ $state == down && $role != - ]]; then
      warn "n$n has no running process in $(pid_file "$n") but $HOST:$port answers: a process not started by this script?"
    fi
  done
  if ((${#leaders[@]} > 1)); then
    warn "several nodes report role:master: ${leaders[*]}"
  fi
  if ((${#leaders[@]} > 0)); then
    printf 'leader: %s (%s:%s)\n' "${leaders[0]}" "$HOST" "$(client_port "${leaders[0]#n}")"
  else
    printf 'leader: none\n'
  fi
}

# start_and_wait N...: starts the given nodes that are not running, then waits
# for each one started to serve (wait_ready); exits 1 if any does not.
start_and_wait() {
  local n failed=0
  local -A started=()
  # Check every port first, so that a conflict starts nothing at all, and so
  # that a foreign listener on a client port is not mistaken for our node.
  local port busy=0
  for n in "$@"; do
    running_pid "$n" >/dev/null && continue
    for port in "$(client_port "$n")" "$(raft_port "$n")" "$(admin_port "$n")"; do
      if tcp_open "$HOST" "$port"; then
        printf 'error: n%s: port %s:%s is in use by a process not in our PID files; stop it first\n' "$n" "$HOST" "$port" >&2
        busy=1
      fi
    done
  done
  ((busy == 0)) || exit 1
  for n in "$@"; do
    start_node "$n"
    [[ -n "$STARTED_PID" ]] && started[$n]=$STARTED_PID
  done
  local deadline
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  for n in "$@"; do
    [[ -n "${started[$n]:-}" ]] || continue
    if wait_ready "$n" "${started[$n]}" "$deadline"; then
      say "n$n serving on $HOST:$(client_port "$n")"
    else
      failed=1
    fi
  done
  ((failed == 0)) || exit 1
}

print_summary() {
  local n leader
  echo
  printf '%-4s %-16s %-16s %-16s %s\n' NODE CLIENT RAFT ADMIN DATA
  for n in "${NODES[@]}"; do
    printf '%-4s %-16s %-16s %-16s %s\n' "n$n" \
      "$HOST:$(client_port "$n")" "$HOST:$(raft_port "$n")" "$HOST:$(admin_port "$n")" "$(node_dir "$n")"
  done
  echo "logs: $DATA/n{1,2,3}.log   PID files: $DATA/n{1,2,3}.pid"
  if ((LEADER_TIMEOUT > 0)); then
    local deadline
    deadline=$(($(now_ms) + LEADER_TIMEOUT * 1000))
    until leader=$(find_leader 2>/dev/null); do
      if (($(now_ms) >= deadline)); then
        leader=''
        break
      fi
      sleep 0.2
    done
    if [[ -n "$leader" ]]; then
      echo "leader: $leader ($HOST:$(client_port "${leader#n}"))"
    else
      echo "leader: none yet (scripts/cluster.sh status shows it once elected)"
    fi
  fi
  echo
  echo "connect: redis-cli -p 6381    (any node: 6381, 6382, 6383)"
  echo "status:  scripts/cluster.sh status    stop: scripts/cluster.sh down"
}

cmd_clean() {
  stop_nodes "${NODES[@]}"
  local n
  for n in "${NODES[@]}"; do
    rm -rf -- "$(node_dir "$n")"
    rm -f -- "$(log_file "$n")" "$(pid_file "$n")"
  done
  rmdir -- "$DATA" 2>/dev/null || true
  say "removed the data, logs and PID files under $DATA"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    up)
      build
      mkdir -p -- "$DATA"
      start_and_wait "${NODES[@]}"
      print_summary
      ;;
    down) stop_nodes "${NODES[@]}" ;;
    status) cmd_status ;;
    start)
      check_node_arg "${1:-}"
      build
      mkdir -p -- "$DATA"
      start_and_wait "$1"
      ;;
    stop)
      check_node_arg "${1:-}"
      stop_nodes "$1"
      ;;
    restart)
      check_node_arg "${1:-}"
      build
      stop_nodes "$1"
      mkdir -p -- "$DATA"
      start_and_wait "$1"
      ;;
    kill)
      check_node_arg "${1:-}"
      kill_node "$1"
      ;;
    leader) find_leader ;;
    clean) cmd_clean ;;
    -h | --help | help) usage ;;
    '')
      usage >&2
      exit 2
      ;;
    *)
      printf 'unknown command: %s\n\n' "$cmd" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
