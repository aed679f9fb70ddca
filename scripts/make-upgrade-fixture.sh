#!/usr/bin/env bash
# Makes an upgrade fixture: the data directories of a three-node cluster run
# by an older build, a backup taken from it, and the manifest of what it holds.
#
#   scripts/make-upgrade-fixture.sh REF OUTDIR
#   e.g. scripts/make-upgrade-fixture.sh ae470a0 server/testdata/upgrade/ae470a0
#
# Builds `understudy` from the git ref REF (git archive, so the working tree is
# untouched), starts n1..n3 on free 127.0.0.1 ports in a temporary directory,
# and has bench/cmd/upgradeload (built from the working tree) write the data
# set of server/upgradetest: a scratch state wiped by FLUSHALL, then every type
# and encoding, TTLs in 2100, a key expired and reclaimed, deleted keys,
# watched transactions committed and aborted, pub/sub, blocking pops; then a
# snapshot on every node (`understudy snapshot`); then a second such phase and
# changes to the first phase's keys, so each node holds a snapshot and log
# entries after it. Takes `understudy backup`, stops the nodes with SIGTERM,
# and writes to OUTDIR (replacing what is there):
#
#   n1/ n2/ n3/           each node's --data-dir (raft.db, snapshots/)
#   backup.snap(.sha256)  the backup and its checksum
#   manifest.json         every key: type, encoding, value, PEXPIRETIME; the
#                         absent keys; the nodes' Raft addresses; the build
#
# Needs Go, git and bash. Nothing is left running.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$UNDERSTUDY_ROOT
HOST=127.0.0.1
[[ $# -eq 2 ]] || die "usage: scripts/make-upgrade-fixture.sh REF OUTDIR"
REF=$1
OUT=$(abspath "$2")
git -C "$ROOT" rev-parse --verify --quiet "$REF^{commit}" >/dev/null || die "unknown git ref: $REF"
MADE_WITH=$(git -C "$ROOT" describe --always "$REF")

STATE=$(mktemp -d "${TMPDIR:-/tmp}/understudy-fixture.XXXXXX")
PIDS=()
cleanup() {
  ((${#PIDS[@]} == 0)) || stop_pids "${PIDS[@]}"
  rm -rf -- "$STATE"
}
trap cleanup EXIT

say "building understudy at $REF ($MADE_WITH)"
mkdir -p "$STATE/src"
git -C "$ROOT" archive --format=tar "$REF" | tar -x -C "$STATE/src"
(cd "$STATE/src" && CGO_ENABLED=0 go build -o "$STATE/understudy" ./cmd/understudy) || die "build of $REF failed"
say "building bench/cmd/upgradeload from the working tree"
(cd "$ROOT" && go build -o "$STATE/upgradeload" ./bench/cmd/upgradeload) || die "build of upgradeload failed"
BIN=$STATE/understudy

read -r -a PORTS <<<"$("$STATE/upgradeload" freeports 9)"
((${#PORTS[@]} == 9)) || die "could not reserve free ports"
CLIENT=() RAFT=() ADMIN=() PEERS=''
for i in 1 2 3; do
  CLIENT[i]=$HOST:${PORTS[i - 1]}
  RAFT[i]=$HOST:${PORTS[i + 2]}
  ADMIN[i]=$HOST:${PORTS[i + 5]}
  PEERS+="${PEERS:+,}n$i=${RAFT[i]}"
done

# The nodes run in $STATE/run (stop_pids signals only processes whose working
# directory is under $STATE). No automatic snapshot: the threshold is above the
# few hundred entries written, and the one snapshot per node is taken
# explicitly between the phases; few trailing logs, so the log really is
# compacted at the snapshot.
mkdir -p "$STATE/run"
for i in 1 2 3; do
  (cd "$STATE/run" && exec "$BIN" serve --id "n$i" --data-dir "$STATE/n$i" \
    --raft-addr "${RAFT[i]}" --client-addr "${CLIENT[i]}" --admin-addr "${ADMIN[i]}" \
    --peers "$PEERS" --snapshot-threshold 100000 --trailing-logs 16 \
    </dev/null >"$STATE/n$i.log" 2>&1) &
  PIDS+=("$!")
done
say "n1..n3 started (clients ${CLIENT[*]})"

"$STATE/upgradeload" fixture --nodes "${CLIENT[1]},${CLIENT[2]},${CLIENT[3]}" \
  --admin "${ADMIN[1]},${ADMIN[2]},${ADMIN[3]}" --raft "$PEERS" \
  --made-with "$MADE_WITH" --manifest "$STATE/manifest.json" ||
  { tail -n 20 "$STATE"/n*.log >&2; die "writing the data set failed"; }

say "backup"
(cd "$STATE" && "$BIN" backup --admin "${ADMIN[1]},${ADMIN[2]},${ADMIN[3]}" backup.snap) || die "backup failed"

say "stopping the nodes (SIGTERM)"
stop_pids "${PIDS[@]}"
PIDS=()
for i in 1 2 3; do
  grep -q '"stopped"\|msg=stopped' "$STATE/n$i.log" || { tail -n 20 "$STATE/n$i.log" >&2; die "n$i did not stop cleanly"; }
done

rm -rf -- "$OUT"
mkdir -p -- "$OUT"
for i in 1 2 3; do
  cp -R -- "$STATE/n$i" "$OUT/n$i"
done
cp -- "$STATE/backup.snap" "$STATE/backup.snap.sha256" "$STATE/manifest.json" "$OUT/"
say "fixture of $MADE_WITH in $OUT ($(du -sh "$OUT" | cut -f1))"
