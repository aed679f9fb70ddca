#!/usr/bin/env bash
# Resident memory per key: Understudy leader vs redis-server after the same redis-benchmark load.
# Usage: B=bin/understudy scripts/perf-mem.sh
set -e
cd "$(dirname "$0")/.."
D=/tmp/memt; rm -rf $D; mkdir -p $D
B=${B:-bin/understudy}
P="n1=127.0.0.1:27381,n2=127.0.0.1:27382,n3=127.0.0.1:27383"
for i in 1 2 3; do
  $B serve --id n$i --data-dir $D/n$i --raft-addr 127.0.0.1:2738$i --client-addr 127.0.0.1:2638$i --admin-addr 127.0.0.1:2918$i --peers $P --metrics-addr 127.0.0.1:2908$i $EXTRA > $D/n$i.log 2>&1 &
  echo $! > $D/n$i.pid
done
redis-server --port 26399 --save '' --appendonly no --daemonize no > $D/redis.log 2>&1 &
echo $! > $D/redis.pid
trap 'for f in $D/*.pid; do kill $(cat $f) 2>/dev/null || true; done' EXIT
L=""
for t in $(seq 1 50); do
  for i in 1 2 3; do timeout 1 redis-cli -p 2638$i ROLE 2>/dev/null | head -1 | grep -q master && L=$i; done
  [ -n "$L" ] && break; sleep 0.2
done
for port in 2638$L 26399; do
  timeout 120 redis-benchmark -p $port -t set -r 200000 -n 600000 -d 100 -P 16 -c 20 -q 2>&1 | tr "\r" "\n" | grep "per second" | tail -1
done
sleep 2
k1=$(redis-cli -p 2638$L DBSIZE); k2=$(redis-cli -p 26399 DBSIZE)
r1=$(grep VmRSS /proc/$(cat $D/n$L.pid)/status | awk '{print $2}'); a1=$(grep RssAnon /proc/$(cat $D/n$L.pid)/status | awk '{print $2}')
r2=$(grep VmRSS /proc/$(cat $D/redis.pid)/status | awk '{print $2}')
echo "understudy keys=$k1 rss=${r1}kB anon=${a1}kB B/key=$((r1*1024/k1)) anonB/key=$((a1*1024/k1))"
echo "redis keys=$k2 rss=${r2}kB B/key=$((r2*1024/k2))"
curl -s "http://127.0.0.1:2908$L/debug/pprof/heap" > $D/heap.prof
