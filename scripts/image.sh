#!/usr/bin/env bash
# Builds the static binary and the Docker image understudy:dev.
#
#   scripts/image.sh              build bin/understudy (CGO_ENABLED=0) and the image
#   scripts/image.sh --no-build   reuse bin/understudy as it is
#
# No registry is needed: the image is FROM scratch and holds only the binary.
# The docker build context is a temporary directory with the Dockerfile, the
# binary and the empty /data and /tmp directories, so it is tiny whatever lies
# in the working tree.
#
# Environment:
#   UNDERSTUDY_IMAGE   image name and tag (default understudy:dev)
#   UNDERSTUDY_BIN     put this (static) binary in the image and skip the build
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

IMAGE=${UNDERSTUDY_IMAGE:-understudy:dev}
BUILD=1
BIN=bin/understudy
if [[ -n "${UNDERSTUDY_BIN:-}" ]]; then
  BIN=$UNDERSTUDY_BIN
  BUILD=0
fi
case "${1:-}" in
  --no-build) BUILD=0 ;;
  '') ;;
  -h | --help)
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
  *) die "unknown argument: $1 (try --help)" ;;
esac

command -v docker >/dev/null 2>&1 || die "docker is not on PATH"

if ((BUILD)); then
  command -v go >/dev/null 2>&1 || die "go is not on PATH"
  VERSION=$(build_version)
  say "building bin/understudy $VERSION (static, CGO_ENABLED=0)"
  CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $(version_ldflag "$VERSION")" -o bin/understudy ./cmd/understudy ||
    die "go build failed"
fi
[[ -x "$BIN" ]] || die "$BIN is missing or not executable"
if command -v file >/dev/null 2>&1 && ! file -L "$BIN" | grep -q 'statically linked'; then
  die "$BIN is not statically linked; an image FROM scratch cannot run it (build with CGO_ENABLED=0)"
fi

CTX=$(mktemp -d "${TMPDIR:-/tmp}/understudy-image.XXXXXX")
trap 'rm -rf -- "$CTX" "$CTX.stderr"' EXIT
cp Dockerfile "$CTX/Dockerfile"
cp "$BIN" "$CTX/understudy"
mkdir -p "$CTX/rootfs/data" "$CTX/rootfs/tmp"
chmod 0755 "$CTX/rootfs/data"
chmod 1777 "$CTX/rootfs/tmp"

say "building image $IMAGE (context: $(du -sh "$CTX" | cut -f1))"
# The legacy builder needs nothing beyond the engine; BuildKit needs the buildx
# plugin, which may be missing. Use BuildKit only when buildx is there.
if docker buildx version >/dev/null 2>&1; then
  docker build --tag "$IMAGE" "$CTX"
else
  # (Its deprecation notice on stderr is kept back unless the build fails.)
  if ! DOCKER_BUILDKIT=0 docker build --tag "$IMAGE" "$CTX" 2>"$CTX.stderr"; then
    cat "$CTX.stderr" >&2
    rm -f -- "$CTX.stderr"
    die "docker build failed"
  fi
  rm -f -- "$CTX.stderr"
fi
say "built $IMAGE ($(docker image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.1f MB", $1/1e6}'))"
