#!/usr/bin/env bash
# Runs the chaos suite (docs/chaos.md, against the invariants and faults of
# docs/reliability.md): a three-node cluster under a seeded schedule of
# faults (each kind alone first, then mixed at random) while clients record
# histories, then checks them.
#
#   scripts/chaos.sh                          docker if `docker info` and compose work, else local; 2 minutes
#   scripts/chaos.sh --local --duration 60s   processes (in network namespaces when root)
#   scripts/chaos.sh --docker --duration 10m  containers of cluster-compose.yml (the long run)
#   scripts/chaos.sh --seed 42 --out DIR      replay a schedule; put the report in DIR
#   scripts/chaos.sh --log-store bolt         the nodes' --log-store (default: the server's; CI runs that)
#   scripts/chaos.sh --local -- --faults kill-leader,pause-leader --keep
#                                             anything after -- goes to the chaos binary
#                                             (go run ./chaos/cmd/chaos -help lists it all)
#
# Builds bin/understudy (static) and bin/chaos, and for --docker the image
# $UNDERSTUDY_IMAGE (scripts/image.sh). Writes report.md, report.json, the
# nodes' logs and, should a history not be linearizable,
# register-linearizability.html to the output directory (default: a new
# directory under $TMPDIR, printed at the end).
#
# Exit codes:
#   0  PASS: every invariant checked and held
#   1  FAIL: an invariant was violated (the report says which)
#   2  the run could not be carried out (bad arguments, build, image or
#      cluster setup failed): nothing was checked; or INTERRUPTED by a signal
#   3  NOT PROVEN: no violation found, but linearizability could not be
#      shown in time (porcupine hit --check-timeout); not a pass
#
# Docker mode uses the compose project understudy-chaos (containers, network
# and volumes are named understudy-chaos_*; another with -- --project NAME),
# host ports 127.0.0.1:1638i (RESP) and 127.0.0.1:1918i (admin), or the next
# free prefixes if those are taken, and removes it all at the end unless --keep.
#
# Environment:
#   UNDERSTUDY_BIN    use this (static) binary instead of building bin/understudy
#   UNDERSTUDY_IMAGE  image to build and run in docker mode (default understudy:dev)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

# cannot_run MSG...: the run could not be carried out (exit 2, never 1,
# which means a violation was found).
cannot_run() {
  printf '%serror:%s %s\n' "$_c_red" "$_c_reset" "$*" >&2
  exit 2
}

MODE=''
ARGS=()
while (($# > 0)); do
  case "$1" in
    --local | --docker) MODE=${1#--} ;;
    --duration | --seed | --out | --log-store)
      (($# >= 2)) || cannot_run "$1 needs a value"
      ARGS+=("$1" "$2")
      shift
      ;;
    --duration=* | --seed=* | --out=* | --log-store=*) ARGS+=("$1") ;;
    --)
      shift
      ARGS+=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) cannot_run "unknown argument: $1 (try --help)" ;;
  esac
  shift
done

have_compose() {
  docker compose version >/dev/null 2>&1 || docker-compose version >/dev/null 2>&1
}

if [[ -z "$MODE" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    if have_compose; then
      MODE=docker
    else
      warn "docker works but neither 'docker compose' nor 'docker-compose' does: running local processes instead"
      MODE=local
    fi
  else
    MODE=local
  fi
elif [[ "$MODE" == docker ]]; then
  command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 || cannot_run "--docker: 'docker info' fails"
  have_compose || cannot_run "--docker: neither 'docker compose' nor 'docker-compose' works"
fi

command -v go >/dev/null 2>&1 || cannot_run "go is not on PATH"
if [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
  BIN=$(abspath "$UNDERSTUDY_BIN")
  [[ -x "$BIN" ]] || cannot_run "UNDERSTUDY_BIN=$UNDERSTUDY_BIN is not an executable file"
  say "using $BIN (UNDERSTUDY_BIN set, not building)"
else
  BIN=$UNDERSTUDY_ROOT/bin/understudy
  say "building bin/understudy (static)"
  CGO_ENABLED=0 go build -trimpath -o "$BIN" ./cmd/understudy || cannot_run "go build ./cmd/understudy failed"
fi
say "building bin/chaos"
go build -o bin/chaos ./chaos/cmd/chaos || cannot_run "go build ./chaos/cmd/chaos failed"

MODE_ARGS=()
if [[ "$MODE" == docker ]]; then
  IMAGE=${UNDERSTUDY_IMAGE:-understudy:dev}
  UNDERSTUDY_IMAGE=$IMAGE UNDERSTUDY_BIN=$BIN "$UNDERSTUDY_ROOT/scripts/image.sh" || cannot_run "building the image $IMAGE failed"
  MODE_ARGS=(--image "$IMAGE")
fi

say "running the chaos suite ($MODE)"
exec bin/chaos "--$MODE" --bin "$BIN" ${MODE_ARGS[@]+"${MODE_ARGS[@]}"} ${ARGS[@]+"${ARGS[@]}"}
