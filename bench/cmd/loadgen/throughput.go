package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/understudy/understudy/bench"
	"github.com/understudy/understudy/bench/driver"
)

// loadgen throughput: the systems under test as targets, each workload run
// against each, and the SET curve by number of clients.

type target struct {
	system string
	procs  []driver.Proc
	kvFor  func(int) driver.KV
	close  func()
	notes  map[string]string
	// forClients makes a target's client for n concurrent clients (the curve).
	forClients func(n int) (func(int) driver.KV, func(), error)
}

// procsOf are the server processes named in nodes, with role as given or,
// for an Understudy cluster, leader/follower by the client address of its
// leader.
func (s *systems) procsOf(nodes []driver.Node, leaderAddr, role string) []driver.Proc {
	var out []driver.Proc
	for _, n := range nodes {
		pid, err := s.procs().PID(n.Name)
		if err != nil {
			log.Printf("no PID for %s (CPU not measured): %v", n.Name, err)
			return nil
		}
		r := role
		if leaderAddr != "" {
			r = "follower"
			if n.Addr == leaderAddr {
				r = "leader"
			}
		}
		p := driver.Proc{Name: n.Name, Role: r, PID: pid}
		if r == "leader" {
			out = append([]driver.Proc{p}, out...)
		} else {
			out = append(out, p)
		}
	}
	return out
}

// targets connects to every system named, for clients concurrent clients.
func (s *systems) targets(ctx context.Context, clients int) ([]target, error) {
	var targets []target
	redisTarget := func(sys, addr string, procs []driver.Proc) target {
		kv := driver.NewRedisKV(addr, clients)
		return target{system: sys, procs: procs, kvFor: func(int) driver.KV { return kv }, close: func() { kv.Close() },
			forClients: func(n int) (func(int) driver.KV, func(), error) {
				kv := driver.NewRedisKV(addr, n)
				return func(int) driver.KV { return kv }, func() { kv.Close() }, nil
			}}
	}
	for _, u := range []struct{ sys, spec string }{{bench.SysUnderstudy, s.understudy}, {bench.SysUnderstudyAlt, s.understudyAlt}} {
		if u.spec == "" {
			continue
		}
		nodes := mustNodes(u.spec)
		addr, err := driver.MasterAddr(ctx, driver.Addrs(nodes), s.usMaster)
		if err != nil {
			return nil, fmt.Errorf("%s leader: %w", u.sys, err)
		}
		log.Printf("%s: driving the leader at %s", u.sys, addr)
		targets = append(targets, redisTarget(u.sys, addr, s.procsOf(nodes, addr, "")))
	}
	for _, r := range []struct{ sys, spec string }{{bench.SysRedisAOF, s.redisAOF}, {bench.SysRedisMem, s.redisMem}} {
		if ns := mustNodes(r.spec); len(ns) > 0 {
			targets = append(targets, redisTarget(r.sys, ns[0].Addr, s.procsOf(ns[:1], "", "single")))
		}
	}
	if s.etcd != "" {
		eps := driver.Addrs(mustNodes(s.etcd))
		ekv, err := driver.NewEtcdKV(eps, (clients+9)/10)
		if err != nil {
			return nil, err
		}
		targets = append(targets, target{system: bench.SysEtcd, procs: s.procsOf(mustNodes(s.etcd), "", "member"),
			kvFor: ekv.For, close: func() { ekv.Close() },
			notes: map[string]string{bench.WlPipeSet: "16 puts per Txn"},
			forClients: func(n int) (func(int) driver.KV, func(), error) {
				ekv, err := driver.NewEtcdKV(eps, (n+9)/10)
				if err != nil {
					return nil, nil, err
				}
				return ekv.For, func() { ekv.Close() }, nil
			}})
	}
	return targets, nil
}

func logResult(r bench.Throughput) {
	cpu := ""
	if c := r.CPUPerOp(); c > 0 {
		cpu = fmt.Sprintf("  cpu %.0f µs/op", c)
	}
	log.Printf("%-9s %-14s c=%-4d %9.0f ops/s  p50 %6.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  errors %d%s",
		r.Workload, r.System, r.Clients, r.OpsPerSec, r.P50, r.P99, r.P999, r.Errors, cpu)
	for _, e := range r.ErrorSamples {
		log.Printf("    %dx %s", e.Count, e.Text)
	}
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
	only := fs.String("workloads", "", "comma-separated subset of workloads (\"none\": only the curve)")
	curveOut := fs.String("curve-out", "", "also run SET at 1, 10, 50, 200 and 1000 clients per system; results (JSON) here")
	curveDur := fs.Duration("curve-duration", 0, "measured time per point of the curve (default: --duration)")
	seed := fs.Uint64("seed", uint64(time.Now().UnixNano()), "random seed")
	fs.Parse(args)
	log.Printf("throughput: seed %d", *seed)

	targets, err := s.targets(ctx, *clients)
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	if err != nil {
		return err
	}
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
			if !driver.Supports(t.kvFor(0), spec) {
				continue // etcd has no scripts
			}
			spec.Procs = t.procs
			r := driver.Run(ctx, t.system, t.kvFor, spec, *seed)
			r.Notes = t.notes[spec.Workload]
			logResult(r)
			results = append(results, r)
			if err := bench.WriteJSON(*out, results); err != nil {
				return err
			}
		}
	}
	if *curveOut == "" {
		return nil
	}
	if *curveDur == 0 {
		*curveDur = *dur
	}
	var curve []bench.Throughput
	for i, n := range driver.CurveClients {
		for j := range targets {
			t := targets[(i+j)%len(targets)]
			if ctx.Err() != nil {
				return ctx.Err()
			}
			kvFor, closeKV, err := t.forClients(n)
			if err != nil {
				return fmt.Errorf("%s at %d clients: %w", t.system, n, err)
			}
			spec := driver.CurveSpec(n, *keys, *curveDur, *warm)
			spec.Procs = t.procs
			r := driver.Run(ctx, t.system, kvFor, spec, *seed)
			closeKV()
			logResult(r)
			curve = append(curve, r)
			if err := bench.WriteJSON(*curveOut, curve); err != nil {
				return err
			}
		}
	}
	return nil
}
