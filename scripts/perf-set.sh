#!/usr/bin/env bash
# SET throughput of a local three-node cluster under redis-benchmark (50 clients).
# Usage: B=bin/understudy EXTRA="--max-inflight 2" scripts/perf-set.sh
set -e
cd "$(dirname "$0")/.."
D=/tmp/prof; rm -rf $D; mkdir -p $D
B=${B:-bin/understudy}
P="n1=127.0.0.1:17381,n2=127.0.0.1:17382,n3=127.0.0.1:17383"
for i in 1 2 3; do
  $B serve --id n$i --data-dir $D/n$i --raft-addr 127.0.0.1:1738$i --client-addr 127.0.0.1:1638$i --admin-addr 127.0.0.1:1918$i --metrics-addr 127.0.0.1:1908$i --peers $P $EXTRA > $D/n$i.log 2>&1 &
  echo $! > $D/n$i.pid
done
trap 'for i in 1 2 3; do kill $(cat $D/n$i.pid) 2>/dev/null || true; done' EXIT
L=""
for t in $(seq 1 50); do
  for i in 1 2 3; do timeout 1 redis-cli -p 1638$i ROLE 2>/dev/null | head -1 | grep -q master && L=$i; done
  [ -n "$L" ] && break; sleep 0.2
done
echo "leader n$L"
[ -n "$L" ] || exit 1

timeout 30 redis-benchmark -p 1638$L -t set -n 60000 -c 50 -q 2>&1 | tr "\r" "\n" | grep "requests per second" | tail -1
wait
