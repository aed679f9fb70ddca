#!/usr/bin/env bash
# Captures Redis's configuration parameters (CONFIG GET * of a fresh
# redis-server 7.0.15, each parameter's kind, bounds, aliases and whether
# CONFIG SET may change it) into conftab/reference.tsv, the facts CONFIG is
# built from (conftab/conftab.go). Run it when the reference Redis version
# changes; the result is checked in.
#
#   scripts/gen-config.sh            needs redis-server on PATH (Debian's 7.0.15)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

command -v redis-server >/dev/null 2>&1 || die "redis-server is not on PATH (apt-get install redis-server)"
version=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
[[ "$version" == 7.0.15 ]] || warn "redis-server is $version, the reference is 7.0.15"

port=$((20000 + RANDOM % 10000)) # a dev tool: a clash just fails the capture
dir=$(mktemp -d)
# No configuration file and no options beyond where to listen: every other
# value is Redis's compiled-in default.
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" >"$dir/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf -- "$dir"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done
go run ./conftab/gen -addr "127.0.0.1:$port" -o conftab/reference.tsv
say "conftab/reference.tsv: $(grep -vc '^#' conftab/reference.tsv) parameters from redis-server $version"
