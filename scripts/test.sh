#!/usr/bin/env bash
# Runs every check the project has; README and CI (.ci/run) use it.
#
#   scripts/test.sh                        all checks, go test over ./...
#   scripts/test.sh -run TestX ./fsm/      all checks, but go test gets these args instead of ./...
#
# Installs what the tests need when it is missing: redis-cli (Debian package
# redis-tools, via apt-get; a failed install only warns) and staticcheck
# (pinned, via go install). Then runs, in order and all of them even if one
# fails: gofmt -l, go vet, staticcheck, go build, every fuzz target for a short
# time (full runs only), the Helm chart's tests in tools/helm (full runs only),
# go test -race. Exits non-zero if any step failed.
#
# Under CI (CI=true) UNDERSTUDY_REQUIRE_REDIS_CLI=1 and
# UNDERSTUDY_REQUIRE_REDIS_SERVER=1 are exported so that tests needing
# redis-cli or redis-server fail rather than skip when it is missing, and a
# test that skips for any reason not listed in scripts/skip-allowed.txt fails
# the run (go test -json, read by scripts/testsummary).
#
# Environment:
#   UNDERSTUDY_SKIP_INSTALL=1   do not try to install redis-cli or staticcheck
#   UNDERSTUDY_FUZZTIME=50000x  how long each fuzz target runs, as go test's
#                               -fuzztime: a count of executions (Nx) or a
#                               duration (0: skip fuzzing)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

# The staticcheck release to use; the fallback is tried only if the pinned one
# cannot be installed (say, if it stops building with a newer Go).
STATICCHECK_VERSION=v0.7.0
STATICCHECK_FALLBACK=v0.8.2

if [[ "${CI:-}" == true ]]; then
  export UNDERSTUDY_REQUIRE_REDIS_CLI=${UNDERSTUDY_REQUIRE_REDIS_CLI:-1}
  export UNDERSTUDY_REQUIRE_REDIS_SERVER=${UNDERSTUDY_REQUIRE_REDIS_SERVER:-1}
fi

command -v go >/dev/null 2>&1 || die "go is not on PATH"

# as_root CMD...: runs CMD as root, through sudo when we are not root.
as_root() {
  if [[ "$(id -u)" == 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then
      sudo "$@"
    else
      sudo -n "$@" # no terminal to ask for a password on: fail instead of hanging
    fi
  else
    echo "not root and no sudo" >&2
    return 1
  fi
}

# python3_redis reports whether Debian's python3-redis is importable by the
# system python (the application-view tests run it as redis-py).
python3_redis() { [[ -x /usr/bin/python3 ]] && /usr/bin/python3 -c 'import redis' >/dev/null 2>&1; }

ensure_redis_cli() {
  # redis-server too: the differential suites compare replies with it; and
  # python3-redis, the redis-py applications' view.
  if command -v redis-cli >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 && python3_redis; then
    say "redis-cli: $(command -v redis-cli), redis-server: $(command -v redis-server), python3-redis: yes"
    return 0
  fi
  if [[ "${UNDERSTUDY_SKIP_INSTALL:-}" == 1 ]]; then
    warn "redis-cli not found and UNDERSTUDY_SKIP_INSTALL=1; tests that need it will skip (or fail under CI)"
    return 0
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    warn "redis-cli not found and there is no apt-get to install it with; install redis-cli (redis-tools) yourself. Tests that need it will skip (or fail under CI)"
    return 0
  fi
  say "installing redis-cli and redis-server (apt-get install redis-tools redis-server)"
  local log
  log=$(mktemp)
  if as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1 &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-tools redis-server python3-redis >>"$log" 2>&1 &&
    command -v redis-cli >/dev/null 2>&1; then
    say "redis-cli: $(command -v redis-cli) ($(redis-cli --version 2>/dev/null || true))"
  else
    tail -n 15 "$log" >&2 || true
    warn "could not install redis-tools, so redis-cli is missing: tests that need it will skip (or fail under CI)"
  fi
  rm -f -- "$log"
}

# staticcheck_version BIN: prints the release BIN reports, e.g. v0.7.0.
staticcheck_version() {
  "$1" -version 2>/dev/null | sed -n 's/.*(\(v[0-9][^)]*\)).*/\1/p' | head -n 1
}

# ensure_staticcheck: sets STATICCHECK to a staticcheck binary of the pinned
# release, installing it with go install when needed.
STATICCHECK=''
ensure_staticcheck() {
  local gobin candidate v
  gobin=$(go env GOBIN)
  [[ -n "$gobin" ]] || gobin="$(go env GOPATH | cut -d: -f1)/bin"
  for v in "$STATICCHECK_VERSION" "$STATICCHECK_FALLBACK"; do
    for candidate in "$gobin/staticcheck" "$(command -v staticcheck 2>/dev/null || true)"; do
      if [[ -n "$candidate" && -x "$candidate" && "$(staticcheck_version "$candidate")" == "$v" ]]; then
        STATICCHECK=$candidate
        say "staticcheck $v: $STATICCHECK"
        return 0
      fi
    done
    if [[ "${UNDERSTUDY_SKIP_INSTALL:-}" == 1 ]]; then
      continue
    fi
    say "installing staticcheck $v (go install honnef.co/go/tools/cmd/staticcheck@$v)"
    # Outside the module, so the project's go.mod is neither read nor changed.
    if (cd / && GOFLAGS='' GOBIN="$gobin" go install "honnef.co/go/tools/cmd/staticcheck@$v"); then
      STATICCHECK=$gobin/staticcheck
      say "staticcheck $v: $STATICCHECK"
      return 0
    fi
    warn "could not install staticcheck $v"
  done
  return 1
}

FAILED=()
# step NAME CMD...: runs CMD, recording NAME as failed if it fails.
step() {
  local name=$1
  shift
  say "$name"
  if "$@"; then
    return 0
  fi
  printf '%sFAILED:%s %s\n' "$_c_red" "$_c_reset" "$name" >&2
  FAILED+=("$name")
}

check_gofmt() {
  local out
  out=$(gofmt -l .) || return 1
  if [[ -n "$out" ]]; then
    echo "these files need gofmt -w:" >&2
    printf '  %s\n' "$out" >&2
    return 1
  fi
}

run_staticcheck() {
  [[ -n "$STATICCHECK" ]] || {
    echo "staticcheck is not installed" >&2
    return 1
  }
  "$STATICCHECK" ./...
}

say "go: $(go version)"
if [[ "${UNDERSTUDY_REQUIRE_REDIS_CLI:-}" == 1 ]]; then
  say "UNDERSTUDY_REQUIRE_REDIS_CLI=1: tests fail rather than skip without redis-cli"
fi
ensure_redis_cli
ensure_staticcheck || warn "staticcheck is unavailable; its step will fail"

test_args=("$@")
if ((${#test_args[@]} == 0)); then
  test_args=(./...)
fi

step "gofmt -l ." check_gofmt
step "go vet ./..." go vet ./...
step "staticcheck ./..." run_staticcheck
step "go build ./..." go build ./...

# fuzz_targets prints "DIR FuzzName" for every fuzz target in the module.
fuzz_targets() {
  grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+' . |
    sed -E 's#^(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]+)$#\1 \2#' | sort -u
}

# run_fuzz runs each target for FUZZTIME beyond its seed corpus (f.Add and
# testdata/fuzz/<FuzzName>/). go test -fuzz takes one package and one target
# per run. A crash is saved under testdata/fuzz/<FuzzName>/ to check in.
# The budget is a count of executions, not a duration: with a duration, Go
# 1.26's fuzz coordinator can report "context deadline exceeded" as a failure
# when the time runs out while a worker is busy (golang/go#75804, fixed in
# Go 1.27), which a loaded machine makes likely. Minimizing a new input is
# bounded by a count too, so a slow one cannot stall the run.
run_fuzz() {
  local dir name rc=0
  while read -r dir name; do
    echo "fuzz $name in $dir for $FUZZTIME"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 200x "$dir" || rc=1
  done < <(fuzz_targets)
  return "$rc"
}

# The Helm chart's tests live in their own module (tools/helm: helm and the
# k8s.io/api types stay out of the project's go.mod): render the chart with
# scripts/helm.sh, decode every object strictly, check its invariants
# against the understudy binary. Full runs only.
chart_tests() {
  (cd tools/helm && go vet ./... && go test -count=1 ./...)
}
if (($# == 0)); then
  step "chart tests (tools/helm: scripts/helm.sh template, strict decode, invariants)" chart_tests
fi

FUZZTIME=${UNDERSTUDY_FUZZTIME:-50000x}
if (($# == 0)) && [[ "$FUZZTIME" != 0 ]]; then
  step "fuzz every target for $FUZZTIME" run_fuzz
fi
# go test -json, summarised as plain go test prints it, with skips checked
# against scripts/skip-allowed.txt (a failure under CI=true).
run_go_test() {
  go build -o "$TESTSUMMARY" ./scripts/testsummary || return 1
  go test -race -count=1 -timeout 25m -json "$@" | "$TESTSUMMARY" -allow scripts/skip-allowed.txt
}
TESTSUMMARY=$(mktemp -d)/testsummary
step "go test -race -count=1 -timeout 25m ${test_args[*]}" run_go_test "${test_args[@]}"

if ((${#FAILED[@]} > 0)); then
  printf '%sFAILED steps:%s\n' "$_c_red" "$_c_reset" >&2
  printf '  %s\n' "${FAILED[@]}" >&2
  exit 1
fi
# Nothing is printed after go test's own summary on success, so that its
# closing lines stay the last thing in the output.
