#!/usr/bin/env bash
# Rolling upgrade of a local three-node cluster under load, with a report of
# what the clients saw.
#
#   scripts/rolling-upgrade.sh [--from REF] [--compose] [--settle SECONDS] [--keep]
#
# Builds `understudy` from the git ref REF (git archive into a temporary
# directory, the working tree untouched; without --from, the working tree's
# build is both the old and the new binary) and from the working tree, starts
# n1..n3 on the old binary on free 127.0.0.1 ports in a temporary directory,
# writes the data set of server/upgradetest (every type, TTLs, deletions,
# transactions), then starts the load (bench/cmd/upgradeload load): writers
# through a go-redis FailoverClient (Sentinel discovery, default retries) and
# through plain go-redis clients of each node (default retries; a client
# whose node refuses a connection dials the next one, as behind a load
# balancer), each writing unique keys and recording the acknowledged ones.
#
# Then it replaces the nodes one at a time with the new binary: the followers
# first, then the leader after handing leadership to an upgraded node
# (`understudy transfer-leadership`). Each is stopped with SIGTERM (it drains
# its clients: TRYAGAIN and close, go-redis retries), restarted on the same
# data directory, and waited for until it serves and has applied what the
# leader had committed; the cluster runs mixed for --settle seconds (default
# 2) before the next node.
#
# Upgrading from cluster level 1 to 2, SETBIT (a level-2 command) is sent to
# the upgraded leader while the last old member remains, and must be refused
# with the cluster-version error; once the level has risen it must work.
#
# At the end it waits for the cluster level to rise to the new build's, stops
# the load and checks that every acknowledged write reads back from every
# node (READONLY), that the data set is intact, that every node reports the
# same DEBUG DIGEST at the same applied index, the new build's version and
# level. The last line is
#
#   errors=<n> lost=<n> max_pause=<duration>
#
# errors: commands that failed after go-redis's retries; lost: acknowledged
# writes missing or changed on some node (and data-set keys that differ);
# max_pause: the longest one command took, retries included. Exits non-zero
# unless both counts are 0 and every check passed.
#
# With --compose the cluster is cluster-compose.yml's in Docker instead
# (scripts/compose.sh: a project of its own, host ports on free prefixes,
# images FROM scratch of both binaries made by scripts/image.sh), and a node
# is replaced by recreating its container on the new image (`compose up
# --no-deps`: SIGTERM, then the same volume under the new image).
#
# Needs Go, git and bash (and Docker with --compose). Nothing is left running;
# the temporary directory is removed unless --keep or a failure (its path is
# printed then); with --compose the project's containers, volumes and images
# are removed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$UNDERSTUDY_ROOT
HOST=127.0.0.1
FROM=''
SETTLE=2
KEEP=0
COMPOSE_MODE=0
usage() { die "usage: scripts/rolling-upgrade.sh [--from REF] [--compose] [--settle SECONDS] [--keep]"; }
while (($#)); do
  case "$1" in
    --from) FROM=${2:-} && shift 2 || usage ;;
    --from=*) FROM=${1#--from=} && shift ;;
    --settle) SETTLE=${2:-} && shift 2 || usage ;;
    --keep) KEEP=1 && shift ;;
    --compose) COMPOSE_MODE=1 && shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" && exit 0 ;;
    *) usage ;;
  esac
done
[[ "$SETTLE" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--settle wants seconds, got '$SETTLE'"
if [[ -n "$FROM" ]]; then
  git -C "$ROOT" rev-parse --verify --quiet "$FROM^{commit}" >/dev/null || die "unknown git ref: $FROM"
fi

STATE=$(mktemp -d "${TMPDIR:-/tmp}/understudy-rolling.XXXXXX")
PIDS=()
LOADPID=''
OK=0
# compose ARG...: compose on this run's project (its images, host ports).
compose() {
  "${COMPOSE[@]}" --project-name "$PROJECT" --file "$ROOT/cluster-compose.yml" "$@"
}

cleanup() {
  local all=("${PIDS[@]}")
  [[ -n "$LOADPID" ]] && all+=("$LOADPID")
  all=("${all[@]/#-/}")
  ((${#all[@]} == 0)) || stop_pids "${all[@]}"
  if ((COMPOSE_MODE)) && [[ -n "${PROJECT:-}" ]]; then
    ((OK)) || compose logs --no-color >"$STATE/compose.log" 2>&1 || true
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    docker image rm "$IMG_OLD" "$IMG_NEW" >/dev/null 2>&1 || true
  fi
  if ((OK && !KEEP)); then
    rm -rf -- "$STATE"
  else
    printf 'state, logs and binaries kept in %s\n' "$STATE" >&2
  fi
}
trap cleanup EXIT

NEW_VERSION=$(build_version)
say "building understudy from the working tree ($NEW_VERSION)"
mkdir -p "$STATE/new" "$STATE/old" "$STATE/run"
(cd "$ROOT" && CGO_ENABLED=0 go build -ldflags "$(version_ldflag "$NEW_VERSION")" -o "$STATE/new/understudy" ./cmd/understudy) ||
  die "build of the working tree failed"
if [[ -n "$FROM" ]]; then
  OLD_VERSION=$(git -C "$ROOT" describe --always "$FROM")
  say "building understudy at $FROM ($OLD_VERSION)"
  mkdir -p "$STATE/src"
  git -C "$ROOT" archive --format=tar "$FROM" | tar -x -C "$STATE/src"
  (cd "$STATE/src" && CGO_ENABLED=0 go build -ldflags "$(version_ldflag "$OLD_VERSION")" -o "$STATE/old/understudy" ./cmd/understudy) ||
    die "build of $FROM failed"
else
  OLD_VERSION=$NEW_VERSION
  cp -- "$STATE/new/understudy" "$STATE/old/understudy"
fi
say "building bench/cmd/upgradeload from the working tree"
(cd "$ROOT" && go build -o "$STATE/upgradeload" ./bench/cmd/upgradeload) || die "build of upgradeload failed"
UL=$STATE/upgradeload
NEW=$STATE/new/understudy
OLD=$STATE/old/understudy
NEW_LEVEL=$("$UL" max-level)

CLIENT=() RAFT=() ADMIN=() PEERS=''
if ((COMPOSE_MODE)); then
  command -v docker >/dev/null 2>&1 || die "--compose needs docker"
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "--compose needs 'docker compose' or 'docker-compose'"
  fi
  PROJECT=understudy-rolling-$$
  IMG_OLD=understudy:rolling-old-$$ IMG_NEW=understudy:rolling-new-$$
  # Host ports <prefix>1..3 (cluster-compose.yml), prefixes drawn until none
  # of their ports answers; below the ephemeral range.
  free_prefix() {
    local p i try
    for try in {1..50}; do
      p=$((2000 + RANDOM % 1200))
      for i in 1 2 3; do tcp_open "$HOST" "$p$i" && continue 2; done
      printf '%s\n' "$p"
      return 0
    done
    die "no free host port prefix"
  }
  export UNDERSTUDY_COMPOSE_PROJECT=$PROJECT
  UNDERSTUDY_RESP_PORT_PREFIX=$(free_prefix)
  until UNDERSTUDY_ADMIN_PORT_PREFIX=$(free_prefix) && [[ "$UNDERSTUDY_ADMIN_PORT_PREFIX" != "$UNDERSTUDY_RESP_PORT_PREFIX" ]]; do :; done
  export UNDERSTUDY_RESP_PORT_PREFIX UNDERSTUDY_ADMIN_PORT_PREFIX
  for i in 1 2 3; do
    CLIENT[i]=$HOST:$UNDERSTUDY_RESP_PORT_PREFIX$i
    ADMIN[i]=$HOST:$UNDERSTUDY_ADMIN_PORT_PREFIX$i
  done
else
  read -r -a PORTS <<<"$("$UL" freeports 9)"
  ((${#PORTS[@]} == 9)) || die "could not reserve free ports"
  for i in 1 2 3; do
    CLIENT[i]=$HOST:${PORTS[i - 1]}
    RAFT[i]=$HOST:${PORTS[i + 2]}
    ADMIN[i]=$HOST:${PORTS[i + 5]}
    PEERS+="${PEERS:+,}n$i=${RAFT[i]}"
  done
fi
NODES="${CLIENT[1]},${CLIENT[2]},${CLIENT[3]}"
ADMINS="${ADMIN[1]},${ADMIN[2]},${ADMIN[3]}"

# start_node N BIN: node N on BIN, in $STATE/run (stop_pids signals only
# processes whose working directory is under $STATE), its log appended to
# $STATE/nN.log.
start_node() {
  local n=$1 bin=$2
  printf '=== %s rolling-upgrade.sh: starting n%s on %s\n' "$(date '+%H:%M:%S')" "$n" "$bin" >>"$STATE/n$n.log"
  (cd "$STATE/run" && exec "$bin" serve --id "n$n" --data-dir "$STATE/n$n" \
    --raft-addr "${RAFT[n]}" --client-addr "${CLIENT[n]}" --admin-addr "${ADMIN[n]}" \
    --peers "$PEERS" </dev/null >>"$STATE/n$n.log" 2>&1) &
  PIDS[n]=$!
}

# stop_node N: SIGTERM node N and wait for it to exit (30 s, then SIGKILL
# and fail): a graceful stop is part of what is tested.
stop_node() {
  local n=$1 pid=${PIDS[$1]} deadline
  kill -TERM "$pid" 2>/dev/null || die "n$n (pid $pid) is not running"
  deadline=$(($(now_ms) + 30000))
  while kill -0 "$pid" 2>/dev/null && [[ "$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null)" != Z ]]; do
    if (($(now_ms) >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      tail -n 20 "$STATE/n$n.log" >&2
      die "n$n did not stop within 30 s of SIGTERM"
    fi
    sleep 0.05
  done
  wait "$pid" 2>/dev/null || true
  PIDS[n]=-$pid # stopped; kept so the array keeps its indices
}

# status: sets ROLE[i], LEADER (index of the leader, or empty) and LEVEL[i].
ROLE=() LEVEL=() LEADER=''
status() {
  local n id role leader level version
  LEADER=''
  while read -r n id role leader level version; do
    ROLE[n]=$role LEVEL[n]=${level:-0}
    [[ "$role" == leader ]] && LEADER=$n
  done < <("$UL" status --admin "$ADMINS")
  return 0
}

node_log() {
  if ((COMPOSE_MODE)); then
    compose logs --no-color --tail 30 "n$1" >&2 || true
  else
    tail -n 30 "$STATE/n$1.log" >&2
  fi
}

caught_up() {
  "$UL" caught-up --nodes "$NODES" --admin "$ADMINS" --index "$1" --timeout 60s ||
    { node_log "$1"; die "n$1 did not catch up"; }
}

# replace_node N: node N stopped with SIGTERM and started again on the new
# build, same data.
replace_node() {
  if ((COMPOSE_MODE)); then
    compose logs --no-color "n$1" >>"$STATE/n$1.log" 2>&1 || true # the container goes
    UNDERSTUDY_IMAGE=$IMG_NEW compose up --detach --no-deps "n$1" >>"$STATE/compose-up.log" 2>&1 ||
      { cat "$STATE/compose-up.log" >&2; die "recreating n$1 on $IMG_NEW failed"; }
  else
    stop_node "$1"
    start_node "$1" "$NEW"
  fi
}

if ((COMPOSE_MODE)); then
  say "images $IMG_OLD and $IMG_NEW"
  UNDERSTUDY_BIN=$NEW UNDERSTUDY_IMAGE=$IMG_NEW "$ROOT/scripts/image.sh" >/dev/null || die "image of the new build failed"
  UNDERSTUDY_BIN=$OLD UNDERSTUDY_IMAGE=$IMG_OLD "$ROOT/scripts/compose.sh" up || die "the compose cluster did not come up"
else
  for i in 1 2 3; do start_node "$i" "$OLD"; done
fi
say "n1..n3 started on $OLD_VERSION (clients $NODES)"
for i in 1 2 3; do caught_up "$i"; done

say "writing the data set"
"$UL" seed --nodes "$NODES" --made-with "$OLD_VERSION" --manifest "$STATE/seed.json" ||
  { tail -n 20 "$STATE"/n*.log >&2; die "writing the data set failed"; }
status
say "cluster level before: ${LEVEL[1]} ${LEVEL[2]} ${LEVEL[3]} (n1 n2 n3); leader n$LEADER"
OLD_LEVEL=${LEVEL[${LEADER:-1}]}

# level2_probe N: SETBIT, a command of cluster level 2, sent to node N; prints
# the reply. While a member of an older build remains, an upgraded leader
# refuses it; once the level has risen it works. (Only checked for an
# upgrade from level 1 to 2: the key is the load's, left out of the checks.)
level2_probe() {
  RESP_TIMEOUT=5 resp_command "$HOST" "${CLIENT[$1]##*:}" SETBIT roll:level2-probe 0 1 || printf '(no reply)\n'
}
PROBE_LEVEL=0
((OLD_LEVEL == 1 && NEW_LEVEL == 2)) && PROBE_LEVEL=1

say "starting the load"
(cd "$STATE/run" && exec "$UL" load --nodes "$NODES" --acked "$STATE/acked.txt" \
  --result "$STATE/load.json" --ready "$STATE/load.ready" </dev/null >>"$STATE/load.log" 2>&1) &
LOADPID=$!
deadline=$(($(now_ms) + 30000))
until [[ -e "$STATE/load.ready" ]]; do
  kill -0 "$LOADPID" 2>/dev/null || { cat "$STATE/load.log" >&2; die "the load exited"; }
  (($(now_ms) < deadline)) || die "the load's writers got no write acknowledged within 30 s"
  sleep 0.1
done
sleep "$SETTLE"

UPGRADED=()
transfers=0
while ((${#UPGRADED[@]} < 3)); do
  # A leader first: on a loaded machine one can lose its lease and an
  # election be under way.
  deadline=$(($(now_ms) + 30000))
  until status && [[ -n "$LEADER" ]]; do
    (($(now_ms) < deadline)) || die "no leader for 30 s"
    sleep 0.1
  done
  next=''
  for i in 1 2 3; do
    if [[ -z "${UPGRADED[i]:-}" && "$i" != "$LEADER" ]]; then
      next=$i
      break
    fi
  done
  if [[ -z "$next" ]]; then
    next=$LEADER to=''
    for i in 1 2 3; do [[ -n "${UPGRADED[i]:-}" ]] && to=$i; done
    say "n$next leads: handing leadership to n$to"
    if ! "$NEW" transfer-leadership --admin "${ADMIN[next]}" --to "n$to"; then
      ((++transfers < 5)) || die "transfer-leadership failed 5 times"
      warn "transfer-leadership failed; looking again"
      sleep 1
      continue
    fi
    deadline=$(($(now_ms) + 15000))
    until status && [[ "$LEADER" == "$to" && "${ROLE[next]}" == follower ]]; do
      (($(now_ms) < deadline)) || die "leadership did not move to n$to"
      sleep 0.1
    done
  fi
  if ((PROBE_LEVEL && ${#UPGRADED[@]} == 2)); then
    reply=$(level2_probe "$LEADER")
    [[ "$reply" == "-ERR 'setbit' needs cluster version 2"* ]] ||
      die "SETBIT on the upgraded leader n$LEADER with n$next still old answered '$reply', want the cluster version error"
    say "SETBIT while n$next is old: $reply"
  fi
  say "upgrading n$next (${ROLE[next]})"
  t0=$(now_ms)
  replace_node "$next"
  caught_up "$next"
  UPGRADED[next]=1
  say "n$next runs $NEW_VERSION, caught up $(($(now_ms) - t0)) ms after SIGTERM"
  sleep "$SETTLE"
done

say "waiting for cluster level $NEW_LEVEL"
"$UL" wait-level --admin "$ADMINS" --level "$NEW_LEVEL" --timeout 30s || die "the cluster level did not rise"
if ((PROBE_LEVEL)); then
  status
  reply=$(level2_probe "$LEADER")
  [[ "$reply" =~ ^[01]$ ]] || die "SETBIT at cluster level 2 answered '$reply'"
  say "SETBIT at cluster level 2: $reply"
fi
sleep "$SETTLE"

say "stopping the load"
kill -INT "$LOADPID"
wait "$LOADPID" || { cat "$STATE/load.log" >&2; die "the load failed"; }
LOADPID=''
tail -n 1 "$STATE/load.log"

say "checking"
if "$UL" verify --nodes "$NODES" --admin "$ADMINS" --acked "$STATE/acked.txt" --result "$STATE/load.json" \
  --manifest "$STATE/seed.json" --version "$NEW_VERSION" --level "$NEW_LEVEL"; then
  OK=1
else
  exit 1
fi
