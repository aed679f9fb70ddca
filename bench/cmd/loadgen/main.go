// Command loadgen is the load generator of scripts/bench.sh: it drives
// Understudy, Redis and etcd with the same client code and writes JSON
// results, then renders them as a markdown report.
//
//	loadgen freeports N
//	loadgen wait       [systems] [--timeout 60s]
//	loadgen leader     --understudy NODES
//	loadgen throughput [systems] --out FILE [--duration 3s --clients 50 --keys 10000]
//	loadgen failover   [systems] --out FILE --state DIR --hook SCRIPT --bin UNDERSTUDY [--rounds 5]
//	loadgen scale      --understudy NODES --redis NODE --out FILE --state DIR --hook SCRIPT --bin UNDERSTUDY [--keys N]
//	loadgen report     --dir RESULTS_DIR [--started TIME --mode quick|full --host TEXT]
//
// NODES is name=addr[@admin],... with names as in the script's state dir.
package main

import (
	"context"
	"flag"
	"log"

	"github.com/understudy/understudy/bench/driver"
	"github.com/understudy/understudy/bench/internal/cli"
)

func main() {
	cli.Setup("loadgen")
	cli.Main("loadgen", []cli.Command{
		{Name: "freeports", Run: cli.FreePorts},
		{Name: "wait", Run: wait},
		{Name: "leader", Run: leader},
		{Name: "throughput", Run: throughput},
		{Name: "failover", Run: failover},
		{Name: "scale", Run: scale},
		{Name: "report", Run: func(_ context.Context, args []string) error { return report(args) }},
	})
}

// systems are the flags naming the servers under test.
type systems struct {
	understudy, etcd, redisAOF, redisMem, sentinels, sentinelData string
	understudyAlt                                                 string
	master, usMaster                                              string
	state, hook, bin                                              string
}

func (s *systems) register(fs *flag.FlagSet) {
	fs.StringVar(&s.understudy, "understudy", "", "Understudy nodes: name=client@admin,...")
	fs.StringVar(&s.understudyAlt, "understudy-alt", "", "a second Understudy cluster (the other --log-store): name=client@admin,...")
	fs.StringVar(&s.etcd, "etcd", "", "etcd members: name=http://host:port,...")
	fs.StringVar(&s.redisAOF, "redis-aof", "", "Redis with appendfsync always: name=addr")
	fs.StringVar(&s.redisMem, "redis-mem", "", "Redis without persistence: name=addr")
	fs.StringVar(&s.sentinels, "sentinels", "", "Redis Sentinels: name=addr,...")
	fs.StringVar(&s.sentinelData, "sentinel-redis", "", "the Redis servers the Sentinels watch: name=addr,...")
	fs.StringVar(&s.master, "sentinel-master", "mymaster", "the master name the Sentinels monitor")
	fs.StringVar(&s.usMaster, "understudy-master", "understudy", "the master name Understudy answers to")
	fs.StringVar(&s.state, "state", "", "scripts/bench.sh state dir (PID files, data dirs)")
	fs.StringVar(&s.hook, "hook", "", "script that restarts a process: HOOK --launch NAME")
	fs.StringVar(&s.bin, "bin", "bin/understudy", "the understudy binary (for status)")
}

func mustNodes(s string) []driver.Node {
	ns, err := driver.ParseNodes(s)
	if err != nil {
		log.Fatal(err)
	}
	return ns
}

func (s *systems) procs() driver.Procs { return driver.Procs{State: s.state, Hook: s.hook} }

func (s *systems) us() driver.UnderstudyCluster {
	return driver.UnderstudyCluster{Nodes: mustNodes(s.understudy), Bin: s.bin, Master: s.usMaster}
}
