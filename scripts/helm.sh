#!/usr/bin/env bash
# Helm, built from the Go module proxy in its own module (tools/helm, so the
# project's go.mod stays small), run on the chart in deploy/helm/understudy.
#
#   scripts/helm.sh template [helm args]   print the rendered manifests, e.g.
#                                          scripts/helm.sh template --set replicas=5
#   scripts/helm.sh lint [helm args]       helm lint the chart
#   scripts/helm.sh ARGS...                any other helm command, as given
#
# The binary is bin/helm, rebuilt when tools/helm/go.sum changes (go build's
# cache makes later builds a link). Release name for template: $UNDERSTUDY_RELEASE
# (default understudy); namespace: helm's --namespace/-n (default "default").
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

case "${1:-}" in
  -h | --help | '')
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
    exit 0
    ;;
esac

HELM=bin/helm
if [[ ! -x "$HELM" || tools/helm/go.sum -nt "$HELM" || tools/helm/go.mod -nt "$HELM" ]]; then
  command -v go >/dev/null 2>&1 || die "go is not on PATH"
  say "building $HELM from tools/helm (helm.sh/helm/v4, $(grep -m1 'helm.sh/helm/v4 ' tools/helm/go.mod | awk '{print $2}'))" >&2
  mkdir -p bin
  (cd tools/helm && go build -o ../../bin/helm helm.sh/helm/v4/cmd/helm) || die "building helm failed"
fi

CHART=deploy/helm/understudy
cmd=$1
shift
case "$cmd" in
  template) exec "$HELM" template "${UNDERSTUDY_RELEASE:-understudy}" "$CHART" "$@" ;;
  lint) exec "$HELM" lint "$CHART" "$@" ;;
  *) exec "$HELM" "$cmd" "$@" ;;
esac
