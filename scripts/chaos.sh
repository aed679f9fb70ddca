#!/usr/bin/env bash
# Runs the chaos suite (RELIABILITY.md): a three-node cluster under a seeded
# random schedule of faults while clients record histories, then checks them.
#
#   scripts/chaos.sh                          docker if `docker info` works, else local; 2 minutes
#   scripts/chaos.sh --local --duration 60s   processes on 127.0.0.1 (the CI-sized run)
#   scripts/chaos.sh --docker --duration 10m  containers of cluster-compose.yml, with partitions
#   scripts/chaos.sh --seed 42 --out DIR      replay a schedule; put the report in DIR
#   scripts/chaos.sh --local -- --faults kill-leader,pause-leader --keep
#                                             anything after -- goes to the chaos binary
#                                             (go run ./chaos/cmd/chaos -help lists it all)
#
# Builds bin/understudy (static) and bin/chaos, and for --docker the image
# understudy:dev (scripts/image.sh). Writes report.md, report.json, the nodes'
# logs and, should a history not be linearizable, register-linearizability.html
# to the output directory (default: a new directory under $TMPDIR, printed at
# the end). Exits 0 if every invariant held, 1 on a violation, 2 if the run
# could not be carried out.
#
# Docker mode uses the compose project understudy-chaos (containers, network and
# volumes are named understudy-chaos_*) with host ports 127.0.0.1:1638i (RESP)
# and 127.0.0.1:1918i (admin), and removes it all at the end unless --keep.
#
# Environment:
#   UNDERSTUDY_BIN   use this (static) binary instead of building bin/understudy
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

MODE=''
ARGS=()
while (($# > 0)); do
  case "$1" in
    --local | --docker) MODE=${1#--} ;;
    --duration | --seed | --out)
      (($# >= 2)) || die "$1 needs a value"
      ARGS+=("$1" "$2")
      shift
      ;;
    --duration=* | --seed=* | --out=*) ARGS+=("$1") ;;
    --)
      shift
      ARGS+=("$@")
      break
      ;;
    -h | --help)
      sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *) die "unknown argument: $1 (try --help)" ;;
  esac
  shift
done

if [[ -z "$MODE" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    MODE=docker
  else
    MODE=local
  fi
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"
if [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
  BIN=$(abspath "$UNDERSTUDY_BIN")
  [[ -x "$BIN" ]] || die "UNDERSTUDY_BIN=$UNDERSTUDY_BIN is not an executable file"
  say "using $BIN (UNDERSTUDY_BIN set, not building)"
else
  BIN=$UNDERSTUDY_ROOT/bin/understudy
  say "building bin/understudy (static)"
  CGO_ENABLED=0 go build -trimpath -o "$BIN" ./cmd/understudy || die "go build ./cmd/understudy failed"
fi
say "building bin/chaos"
go build -o bin/chaos ./chaos/cmd/chaos || die "go build ./chaos/cmd/chaos failed"

if [[ "$MODE" == docker ]]; then
  UNDERSTUDY_BIN=$BIN "$UNDERSTUDY_ROOT/scripts/image.sh"
fi

say "running the chaos suite ($MODE)"
exec bin/chaos "--$MODE" --bin "$BIN" ${ARGS[@]+"${ARGS[@]}"}
