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
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/bench/driver"
)

type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func main() {
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	log.SetPrefix("loadgen: ")
	// go-redis logs every failed dial and Sentinel lookup; the experiments
	// count those errors themselves.
	redis.SetLogger(quietLogger{})
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen freeports|wait|leader|throughput|failover|scale|report [flags]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "freeports":
		err = freePorts(args)
	case "wait":
		err = wait(ctx, args)
	case "leader":
		err = leader(ctx, args)
	case "throughput":
		err = throughput(ctx, args)
	case "failover":
		err = failover(ctx, args)
	case "scale":
		err = scale(ctx, args)
	case "report":
		err = report(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		log.Printf("%s: %v", cmd, err)
		os.Exit(1)
	}
}

// systems are the flags naming the servers under test.
type systems struct {
	understudy, etcd, redisAOF, redisMem, sentinels, sentinelData string
	master, usMaster                                              string
	state, hook, bin                                              string
}

func (s *systems) register(fs *flag.FlagSet) {
	fs.StringVar(&s.understudy, "understudy", "", "Understudy nodes: name=client@admin,...")
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

func freePorts(args []string) error {
	n := 1
	if len(args) > 0 {
		var err error
		if n, err = strconv.Atoi(args[0]); err != nil {
			return err
		}
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}

// wait returns once every named system answers a write: Understudy and etcd
// have a leader, the Redis servers answer, the Sentinels know the master.
func wait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ExitOnError)
	var s systems
	s.register(fs)
	timeout := fs.Duration("timeout", 60*time.Second, "give up after")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	try := func(what string, f func(context.Context) error) error {
		var last error
		for {
			octx, c := context.WithTimeout(ctx, 3*time.Second)
			err := f(octx)
			c()
			if err == nil {
				log.Printf("%s ready", what)
				return nil
			}
			last = err
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s not ready after %v: %w", what, *timeout, last)
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	val := []byte("ready")
	if s.understudy != "" {
		u := s.us()
		if err := try("understudy", func(ctx context.Context) error {
			if _, err := u.Leader(ctx); err != nil {
				return err
			}
			addr, err := driver.MasterAddr(ctx, driver.Addrs(u.Nodes), u.Master)
			if err != nil {
				return err
			}
			kv := driver.NewRedisKV(addr, 1)
			defer kv.Close()
			return kv.Set(ctx, "bench:ready", val)
		}); err != nil {
			return err
		}
	}
	for _, spec := range []string{s.redisAOF, s.redisMem, s.sentinelData} {
		for _, n := range mustNodes(spec) {
			if err := try("redis "+n.Name, func(ctx context.Context) error {
				kv := driver.NewRedisKV(n.Addr, 1)
				defer kv.Close()
				return kv.C.Ping(ctx).Err()
			}); err != nil {
				return err
			}
		}
	}
	if s.sentinels != "" {
		if err := try("sentinel", func(ctx context.Context) error {
			kv := driver.NewFailoverKV(s.master, driver.Addrs(mustNodes(s.sentinels)), 1)
			defer kv.Close()
			return kv.Set(ctx, "bench:ready", val)
		}); err != nil {
			return err
		}
	}
	if s.etcd != "" {
		if err := try("etcd", func(ctx context.Context) error {
			c, err := driver.NewEtcdClient(driver.Addrs(mustNodes(s.etcd)))
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Put(ctx, "bench:ready", "ready")
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

func leader(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("leader", flag.ExitOnError)
	var s systems
	s.register(fs)
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		addr, err := driver.MasterAddr(ctx, driver.Addrs(mustNodes(s.understudy)), s.usMaster)
		if err == nil {
			fmt.Println(addr)
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type target struct {
	system string
	kvFor  func(int) driver.KV
	close  func()
	notes  map[string]string
}

func throughput(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("throughput", flag.ExitOnError)
	var s systems
	s.register(fs)
	out := fs.String("out", "", "write the results (JSON) here")
	dur := fs.Duration("duration", 3*time.Second, "measured time per workload and system")
	warm := fs.Duration("warmup", 500*time.Millisecond, "unmeasured time before each run")
	clients := fs.Int("clients", 50, "concurrent clients")
	keys := fs.Int("keys", 10000, "key space")
	only := fs.String("workloads", "", "comma-separated subset of workloads")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	fs.Parse(args)
	log.Printf("throughput: seed %d", *seed)

	var targets []target
	if s.understudy != "" {
		u := s.us()
		addr, err := driver.MasterAddr(ctx, driver.Addrs(u.Nodes), u.Master)
		if err != nil {
			return fmt.Errorf("understudy leader: %w", err)
		}
		kv := driver.NewRedisKV(addr, *clients)
		log.Printf("understudy: driving the leader at %s", addr)
		targets = append(targets, target{system: bench.SysUnderstudy, kvFor: func(int) driver.KV { return kv }, close: func() { kv.Close() }})
	}
	for _, r := range []struct{ sys, spec string }{{bench.SysRedisAOF, s.redisAOF}, {bench.SysRedisMem, s.redisMem}} {
		if ns := mustNodes(r.spec); len(ns) > 0 {
			kv := driver.NewRedisKV(ns[0].Addr, *clients)
			targets = append(targets, target{system: r.sys, kvFor: func(int) driver.KV { return kv }, close: func() { kv.Close() }})
		}
	}
	if s.etcd != "" {
		ekv, err := driver.NewEtcdKV(driver.Addrs(mustNodes(s.etcd)), (*clients+9)/10)
		if err != nil {
			return err
		}
		targets = append(targets, target{system: bench.SysEtcd, kvFor: ekv.For, close: func() { ekv.Close() },
			notes: map[string]string{bench.WlPipeSet: "16 puts per Txn"}})
	}
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, t := range targets {
		pctx, cancel := context.WithTimeout(ctx, 120*time.Second)
		err := driver.Preload(pctx, t.kvFor, *keys, 8)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", t.system, err)
		}
		log.Printf("%s: preloaded %d keys", t.system, *keys)
	}
	var results []bench.Throughput
	want := map[string]bool{}
	for _, w := range strings.Split(*only, ",") {
		if w != "" {
			want[w] = true
		}
	}
	for i, spec := range driver.Workloads(*clients, *keys, *dur, *warm) {
		if len(want) > 0 && !want[spec.Workload] {
			continue
		}
		// Rotate the order so no system always runs right after another.
		for j := range targets {
			t := targets[(i+j)%len(targets)]
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r := driver.Run(ctx, t.system, t.kvFor, spec, *seed)
			r.Notes = t.notes[spec.Workload]
			log.Printf("%-9s %-10s %9.0f ops/s  p50 %6.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  errors %d",
				spec.Workload, t.system, r.OpsPerSec, r.P50, r.P99, r.P999, r.Errors)
			for _, e := range r.ErrorSamples {
				log.Printf("    %dx %s", e.Count, e.Text)
			}
			results = append(results, r)
			if err := bench.WriteJSON(*out, results); err != nil {
				return err
			}
		}
	}
	return nil
}

func failover(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("failover", flag.ExitOnError)
	var s systems
	s.register(fs)
	out := fs.String("out", "", "write the results (JSON) here")
	rounds := fs.Int("rounds", 5, "leader kills per system")
	writers := fs.Int("writers", 8, "concurrent writers")
	settle := fs.Duration("settle", 2*time.Second, "load before each kill")
	clientsFlag := fs.String("understudy-clients", "sentinel,plain", "how Understudy clients follow the leader: sentinel, plain")
	fs.Parse(args)
	procs := s.procs()
	base := driver.FailoverSpec{Rounds: *rounds, Writers: *writers, Settle: *settle, RecoverTimeout: 20 * time.Second,
		RejoinTimeout: 40 * time.Second, OpTimeout: 2 * time.Second}
	run := fmt.Sprintf("%d", time.Now().Unix())
	var results []bench.Failover
	save := func(r bench.Failover) error {
		results = append(results, r)
		return bench.WriteJSON(*out, results)
	}
	if s.understudy != "" {
		u := s.us()
		addrs := driver.Addrs(u.Nodes)
		verify := func(context.Context) (driver.KV, error) {
			return driver.NewFailoverKV(u.Master, addrs, 4), nil
		}
		for _, cl := range strings.Split(*clientsFlag, ",") {
			spec := base
			spec.System, spec.Client, spec.Prefix = bench.SysUnderstudy, cl, "fo:"+cl+":"+run+":"
			var nw func(int) driver.Writer
			switch cl {
			case "sentinel":
				spec.Client = "go-redis FailoverClient"
				nw = func(int) driver.Writer { return driver.NewFailoverKV(u.Master, addrs, 2) }
			case "plain":
				spec.Client = "plain clients to all nodes"
				nw = func(i int) driver.Writer { return driver.NewPlainRotator(addrs, i) }
			default:
				return fmt.Errorf("unknown --understudy-clients %q", cl)
			}
			if err := save(driver.RunFailover(ctx, spec, u, procs, nw, verify)); err != nil {
				return err
			}
		}
	}
	if s.sentinels != "" {
		sc := driver.SentinelCluster{Data: mustNodes(s.sentinelData), Sentinels: mustNodes(s.sentinels), Master: s.master}
		saddrs := driver.Addrs(sc.Sentinels)
		spec := base
		spec.System, spec.Client, spec.Prefix = bench.SysSentinel, "go-redis FailoverClient", "fo:sentinel:"+run+":"
		nw := func(int) driver.Writer { return driver.NewFailoverKV(s.master, saddrs, 2) }
		verify := func(context.Context) (driver.KV, error) { return driver.NewFailoverKV(s.master, saddrs, 4), nil }
		if err := save(driver.RunFailover(ctx, spec, sc, procs, nw, verify)); err != nil {
			return err
		}
	}
	if s.etcd != "" {
		ec := driver.EtcdCluster{Nodes: mustNodes(s.etcd)}
		eps := driver.Addrs(ec.Nodes)
		spec := base
		spec.System, spec.Client, spec.Prefix = bench.SysEtcd, "etcd clientv3 (all endpoints)", "fo:etcd:"+run+":"
		nw := func(int) driver.Writer {
			kv, err := driver.NewEtcdKV(eps, 1)
			if err != nil {
				log.Fatal(err)
			}
			return kv
		}
		verify := func(context.Context) (driver.KV, error) { return driver.NewEtcdKV(eps, 1) }
		if err := save(driver.RunFailover(ctx, spec, ec, procs, nw, verify)); err != nil {
			return err
		}
	}
	return nil
}

func scale(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("scale", flag.ExitOnError)
	var s systems
	s.register(fs)
	out := fs.String("out", "", "write the results (JSON) here")
	redisNode := fs.String("redis", "", "the Redis server (AOF) to compare with: name=addr")
	keys := fs.Int("keys", 1000000, "keys to load")
	catch := fs.Duration("catch-up-timeout", 5*time.Minute, "how long the restarted follower may take")
	fs.Parse(args)
	spec := driver.ScaleSpec{Keys: *keys, ValueSize: 100, Batch: 100, Depth: 10, Conns: 4, CatchUpTimeout: *catch}
	var results []bench.Scale
	if ns := mustNodes(*redisNode); len(ns) > 0 {
		results = append(results, driver.ScaleRedis(ctx, bench.SysRedisAOF, ns[0], s.procs(), spec))
		if err := bench.WriteJSON(*out, results); err != nil {
			return err
		}
	}
	if s.understudy != "" {
		results = append(results, driver.ScaleUnderstudy(ctx, s.us(), s.procs(), spec))
	}
	return bench.WriteJSON(*out, results)
}

var rbFile = regexp.MustCompile(`^redis-benchmark_([a-z-]+)_P([0-9]+)\.txt$`)

func report(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	dir := fs.String("dir", "", "results directory")
	started := fs.String("started", time.Now().UTC().Format(time.RFC3339), "when the run started")
	mode := fs.String("mode", "full", "quick or full")
	host := fs.String("host", "", "a line about the machine")
	chart := fs.Bool("chart", true, "also draw chart.png")
	fs.Parse(args)
	r := bench.Results{Started: *started, Mode: *mode, Host: *host}
	for name, v := range map[string]any{"throughput.json": &r.Throughput, "failover.json": &r.Failover, "scale.json": &r.Scale} {
		if err := bench.ReadJSON(filepath.Join(*dir, name), v); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(*dir)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	for _, name := range names {
		m := rbFile.FindStringSubmatch(name)
		if m == nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(*dir, name))
		if err != nil {
			return err
		}
		p, _ := strconv.Atoi(m[2])
		lines, errs := bench.ParseRedisBenchmark(string(b))
		r.RedisBench = append(r.RedisBench, bench.RedisBench{Target: m[1], Pipeline: p, Lines: lines, Errors: errs})
	}
	if err := bench.WriteJSON(filepath.Join(*dir, "results.json"), r); err != nil {
		return err
	}
	md := bench.Markdown(r)
	if *chart {
		if err := drawChart(r, filepath.Join(*dir, "chart.png")); err != nil {
			log.Printf("chart: %v (skipped)", err)
		} else {
			md += "\n![throughput by workload](chart.png)\n"
		}
	}
	if err := os.WriteFile(filepath.Join(*dir, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}
