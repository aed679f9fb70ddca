#!/usr/bin/env bash
# Runs the three-node cluster of cluster-compose.yml in Docker.
#
#   scripts/compose.sh up          build the binary and the image, start n1..n3, wait until healthy
#   scripts/compose.sh scale       also start n4, which joins the running cluster (profile "scale")
#   scripts/compose.sh ps          the containers and their health
#   scripts/compose.sh logs [ARG]  the nodes' logs (ARGs go to `compose logs`, e.g. -f n2)
#   scripts/compose.sh down [-v]   stop and remove the containers (-v: and the volumes, i.e. the data)
#
# Node i serves RESP on 127.0.0.1:638i and the admin API on 127.0.0.1:918i, e.g.
#   redis-cli -p 6382 SET k v
#   bin/understudy status --admin 127.0.0.1:9181
# See cluster-compose.yml for how the addresses work inside and outside Docker.
#
# Works with the compose plugin (`docker compose`) and with the standalone
# `docker-compose` (v1.28 or newer, for profiles).
#
# Environment:
#   UNDERSTUDY_COMPOSE_PROJECT  compose project name (default understudy-cluster):
#                               containers, network and volumes are named after it
#   UNDERSTUDY_BIN              image this binary instead of building bin/understudy
#   UNDERSTUDY_IMAGE            image name (default understudy:dev)
#   UNDERSTUDY_RESP_PORT_PREFIX, UNDERSTUDY_ADMIN_PORT_PREFIX
#                               host ports are <prefix><i> (defaults 638 and 918)
#   UNDERSTUDY_HEALTH_TIMEOUT   seconds `up` waits for the nodes to be healthy (default 60)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

PROJECT=${UNDERSTUDY_COMPOSE_PROJECT:-understudy-cluster}
FILE=$UNDERSTUDY_ROOT/cluster-compose.yml
HEALTH_TIMEOUT=${UNDERSTUDY_HEALTH_TIMEOUT:-60}

# COMPOSE holds the compose command: the plugin if present, else docker-compose.
COMPOSE=()
find_compose() {
  if docker compose version >/dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose >/dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    die "neither 'docker compose' nor 'docker-compose' is available"
  fi
}

compose() {
  "${COMPOSE[@]}" --project-name "$PROJECT" --file "$FILE" "$@"
}

# wait_healthy SERVICE...: waits until every service's container reports
# healthy; fails at HEALTH_TIMEOUT seconds, showing the unhealthy ones' logs.
wait_healthy() {
  local deadline svc id state pending
  deadline=$(($(now_ms) + HEALTH_TIMEOUT * 1000))
  while :; do
    pending=()
    for svc in "$@"; do
      id=$(compose ps -q "$svc" 2>/dev/null || true)
      state=none
      if [[ -n "$id" ]]; then
        state=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$id" 2>/dev/null || echo gone)
      fi
      [[ "$state" == healthy ]] || pending+=("$svc:$state")
    done
    if ((${#pending[@]} == 0)); then
      say "healthy: $*"
      return 0
    fi
    if (($(now_ms) >= deadline)); then
      printf 'error: not healthy within %ss: %s\n' "$HEALTH_TIMEOUT" "${pending[*]}" >&2
      for svc in "${pending[@]}"; do
        compose logs --no-color --tail 30 "${svc%%:*}" >&2 || true
      done
      return 1
    fi
    sleep 1
  done
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    -h | --help | help)
      usage
      return 0
      ;;
    '')
      usage >&2
      exit 2
      ;;
  esac
  command -v docker >/dev/null 2>&1 || die "docker is not on PATH"
  find_compose
  case "$cmd" in
    up)
      "$UNDERSTUDY_ROOT/scripts/image.sh"
      say "starting n1 n2 n3 (project $PROJECT, ${COMPOSE[*]})"
      compose up --detach "$@" n1 n2 n3
      wait_healthy n1 n2 n3
      compose ps
      echo
      local p=${UNDERSTUDY_RESP_PORT_PREFIX:-638}
      echo "connect: redis-cli -p ${p}1    (any node: ${p}1, ${p}2, ${p}3)"
      echo "status:  bin/understudy status --cluster --admin 127.0.0.1:${UNDERSTUDY_ADMIN_PORT_PREFIX:-918}1"
      ;;
    scale)
      say "starting n4, which joins through n1..n3's admin API"
      compose --profile scale up --detach --no-deps "$@" n4
      wait_healthy n4
      ;;
    down) compose --profile scale down "$@" ;;
    ps) compose --profile scale ps "$@" ;;
    logs) compose --profile scale logs --no-color "$@" ;;
    *)
      printf 'unknown command: %s\n\n' "$cmd" >&2
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
