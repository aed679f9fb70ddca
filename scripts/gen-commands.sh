#!/usr/bin/env bash
# Captures the command reference (COMMAND INFO and COMMAND DOCS of every
# command) from redis-server 7.0.15 into cmdtab/reference.resp, the facts the
# command table is derived from (cmdtab/spec.go). Run it when the reference
# Redis version changes; the result is checked in.
#
#   scripts/gen-commands.sh            needs redis-server on PATH (Debian's 7.0.15)
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$UNDERSTUDY_ROOT"

command -v redis-server >/dev/null 2>&1 || die "redis-server is not on PATH (apt-get install redis-server)"
version=$(redis-server --version | sed -n 's/.* v=\([0-9.]*\).*/\1/p')
[[ "$version" == 7.0.15 ]] || warn "redis-server is $version, the reference is 7.0.15"

port=$((20000 + RANDOM % 10000)) # a dev tool: a clash just fails the capture
dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" --daemonize no >"$dir/log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf -- "$dir"' EXIT
for _ in $(seq 100); do
  redis-cli -p "$port" PING >/dev/null 2>&1 && break
  sleep 0.1
done
go run ./cmdtab/gen -addr "127.0.0.1:$port" -o cmdtab/reference.resp
say "cmdtab/reference.resp: $(wc -c <cmdtab/reference.resp) bytes from redis-server $version"
