#!/usr/bin/env bash
# Moves a live Redis's keys, every database, with their TTLs, into an
# Understudy cluster, and checks the result. Needs bash and redis-cli.
#
#   scripts/move-from-redis.sh copy  SRC_HOST:PORT DST_HOST:PORT
#       For every database the source's INFO keyspace lists, SCAN its keys
#       and have the source MIGRATE them (COPY REPLACE KEYS, $BATCH keys at
#       a time) into the same database of the cluster (any node: a follower
#       forwards the RESTOREs to the leader). The source keeps its keys and
#       keeps serving; REPLACE makes a second run overwrite what the first
#       copied, so run it again after the last writes to the source stopped.
#   scripts/move-from-redis.sh check SRC_HOST:PORT DST_HOST:PORT
#       For every database: DBSIZE on both sides, then for every source key
#       its TYPE, whether it has a TTL, and a digest of its value read the
#       same way on both sides (sets and hashes sorted, scores as %.17g).
#       Prints each difference; exits 1 if there is any. Run it once the
#       source no longer takes writes.
#
# Environment:
#   SRC_AUTH   the source's password (given to redis-cli as REDISCLI_AUTH)
#   DST_AUTH   the cluster's password: MIGRATE sends it with AUTH, and check
#              uses it to read
#   BATCH      keys per MIGRATE (default 100)
#   TIMEOUT    MIGRATE's timeout in ms (default 10000)
#   EVERY      check compares every Nth key only (default 1: all; check
#              runs about a dozen redis-cli calls per key)
#
# Keys containing a newline are not handled (redis-cli --scan prints one
# key per line).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# == 3)) || die "usage: $0 copy|check SRC_HOST:PORT DST_HOST:PORT"
MODE=$1
SRC_HOST=${2%:*} SRC_PORT=${2##*:}
DST_HOST=${3%:*} DST_PORT=${3##*:}
BATCH=${BATCH:-100}
TIMEOUT=${TIMEOUT:-10000}
command -v redis-cli >/dev/null || die "redis-cli is not on PATH"

# cli PASSWORD ARGS...: redis-cli, authenticating only if PASSWORD is set.
cli() {
  local pw=$1
  shift
  if [[ -n $pw ]]; then
    REDISCLI_AUTH=$pw redis-cli "$@"
  else
    env -u REDISCLI_AUTH redis-cli "$@"
  fi
}
src() { cli "${SRC_AUTH:-}" -h "$SRC_HOST" -p "$SRC_PORT" "$@"; }
dst() { cli "${DST_AUTH:-}" -h "$DST_HOST" -p "$DST_PORT" "$@"; }

# dbs: the databases that hold keys, on the source (and, for check, the cluster).
dbs() {
  {
    src INFO keyspace
    [[ $MODE == check ]] && dst INFO keyspace
  } | sed -n 's/^db\([0-9]*\):.*/\1/p' | sort -un
}

copy_db() {
  local db=$1 auth=() n=0 keys=() out
  [[ -n "${DST_AUTH:-}" ]] && auth=(AUTH "$DST_AUTH")
  flush() {
    ((${#keys[@]})) || return 0
    out=$(src -n "$db" MIGRATE "$DST_HOST" "$DST_PORT" "" "$db" "$TIMEOUT" COPY REPLACE "${auth[@]}" KEYS "${keys[@]}")
    [[ $out == OK || $out == NOKEY ]] || die "db $db: MIGRATE answered: $out"
    n=$((n + ${#keys[@]}))
    keys=()
  }
  while IFS= read -r key; do
    keys+=("$key")
    ((${#keys[@]} < BATCH)) || flush
  done < <(src -n "$db" --scan)
  flush
  say "db $db: $n keys copied"
}

# digest SIDE DB KEY: TYPE, TTL presence and a digest of the value.
digest() {
  local side=$1 db=$2 key=$3 t ttl
  t=$($side -n "$db" TYPE "$key")
  ttl=$($side -n "$db" PTTL "$key")
  [[ $ttl =~ ^[0-9]+$ ]] && ttl=ttl
  {
    case $t in
    string) $side -n "$db" GET "$key" ;;
    list) $side -n "$db" LRANGE "$key" 0 -1 ;;
    set) $side -n "$db" SMEMBERS "$key" | LC_ALL=C sort ;;
    hash) $side -n "$db" HGETALL "$key" | paste - - | LC_ALL=C sort ;;
    zset) $side -n "$db" ZRANGE "$key" 0 -1 WITHSCORES | awk 'NR % 2 == 0 { printf "%.17g\n", $0; next } { print }' ;;
    stream) $side -n "$db" XRANGE "$key" - + && $side -n "$db" XINFO GROUPS "$key" ;;
    esac
  } | sha1sum | { read -r sum _ && printf '%s %s %s\n' "$t" "$ttl" "$sum"; }
}

check_db() {
  local db=$1 a b bad=0 n=0 try
  a=$(src -n "$db" DBSIZE) b=$(dst -n "$db" DBSIZE)
  if [[ $a != "$b" ]]; then
    warn "db $db: DBSIZE $a in Redis, $b in the cluster"
    bad=1
  fi
  while IFS= read -r key; do
    n=$((n + 1))
    ((n % ${EVERY:-1} == 0)) || continue
    # A difference is read again (twice, a second apart) before it is
    # reported: a read can fail while the cluster elects a leader.
    for try in 1 2 3; do
      a=$(digest src "$db" "$key") b=$(digest dst "$db" "$key")
      [[ $a == "$b" ]] && break
      ((try == 3)) || sleep 1
    done
    if [[ $a != "$b" ]]; then
      warn "db $db: key $key: Redis has ($a), the cluster ($b)"
      bad=1
    fi
  done < <(src -n "$db" --scan)
  say "db $db: $n keys, every ${EVERY:-1} compared; DBSIZE $(dst -n "$db" DBSIZE)"
  return $bad
}

case $MODE in
copy)
  for db in $(dbs); do copy_db "$db"; done
  ;;
check)
  status=0
  for db in $(dbs); do check_db "$db" || status=1; done
  ((status == 0)) && say "every key matches" || die "differences found"
  ;;
*) die "unknown mode $MODE (copy or check)" ;;
esac
