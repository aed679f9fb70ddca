package driver

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/understudy/understudy/bench"
)

// Spec is one throughput workload.
type Spec struct {
	Workload  string
	Clients   int
	Pipeline  int // commands per round trip; 1 = none
	ValueSize int
	ReadPct   int  // percentage of GETs (the rest are SETs)
	Script    bool // every operation is Scripter.EvalSet (systems without scripts sit it out)
	Keys      int  // size of the key space
	Duration  time.Duration
	Warmup    time.Duration // run, not recorded, before Duration
	OpTimeout time.Duration
	// Procs are the system's server processes, whose CPU time over the
	// measured window is reported per operation.
	Procs []Proc
}

// Workloads returns the standard workloads for a run of the given length.
func Workloads(clients, keys int, d, warm time.Duration) []Spec {
	base := Spec{Clients: clients, Pipeline: 1, ValueSize: 100, Keys: keys, Duration: d, Warmup: warm, OpTimeout: 5 * time.Second}
	mk := func(name string, f func(*Spec)) Spec {
		s := base
		s.Workload = name
		f(&s)
		return s
	}
	return []Spec{
		mk(bench.WlSet, func(*Spec) {}),
		mk(bench.WlGet, func(s *Spec) { s.ReadPct = 100 }),
		mk(bench.WlPipeSet, func(s *Spec) { s.Pipeline = 16 }),
		mk(bench.WlSet1K, func(s *Spec) { s.ValueSize = 1024 }),
		mk(bench.WlSet16K, func(s *Spec) { s.ValueSize = 16 * 1024 }),
		mk(bench.WlMixed, func(s *Spec) { s.ReadPct = 80 }),
		mk(bench.WlEvalSha, func(s *Spec) { s.Script = true }),
	}
}

// Supports reports whether kv can run spec (a script workload needs a
// Scripter).
func Supports(kv KV, spec Spec) bool {
	_, ok := kv.(Scripter)
	return !spec.Script || ok
}

// Key is the i-th key of the benchmark key space.
func Key(i int) string { return "bench:" + strconv.Itoa(i) }

// Value returns n bytes of filler.
func Value(n int) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = 'a' + byte(i%26)
	}
	return v
}

// Preload writes every key of the key space once (100-byte values), in
// batches, so that GETs find data. Bounded by ctx.
func Preload(ctx context.Context, kvFor func(int) KV, keys, conns int) error {
	val := Value(100)
	var next atomic.Int64
	errc := make(chan error, conns)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(kv KV) {
			defer wg.Done()
			batch := make([]string, 0, 64)
			for {
				start := int(next.Add(64)) - 64
				if start >= keys || ctx.Err() != nil {
					return
				}
				batch = batch[:0]
				for i := start; i < min(start+64, keys); i++ {
					batch = append(batch, Key(i))
				}
				if err := kv.SetBatch(ctx, batch, val); err != nil {
					errc <- fmt.Errorf("preload: %w", err)
					return
				}
			}
		}(kvFor(w))
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	return ctx.Err()
}

// Run drives kvFor(i) (worker i's client) with spec and returns the result.
// Every worker stops at the deadline; an operation in flight is bounded by
// spec.OpTimeout.
func Run(ctx context.Context, system string, kvFor func(int) KV, spec Spec, seed uint64) bench.Throughput {
	hists := make([]bench.Histogram, spec.Clients)
	counts := make([]int64, spec.Clients)
	var errs bench.ErrorLog
	val := Value(spec.ValueSize)
	start := time.Now()
	measureFrom := start.Add(spec.Warmup)
	end := measureFrom.Add(spec.Duration)
	var cpu0, cpu1 []time.Duration
	cpuDone := make(chan struct{})
	go func() { // CPU time over exactly the measured window
		defer close(cpuDone)
		time.Sleep(time.Until(measureFrom))
		cpu0 = cpuSample(spec.Procs)
		time.Sleep(time.Until(end))
		cpu1 = cpuSample(spec.Procs)
	}()
	var wg sync.WaitGroup
	for w := 0; w < spec.Clients; w++ {
		wg.Add(1)
		go func(w int, kv KV) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, uint64(w)))
			keys := make([]string, spec.Pipeline)
			for {
				now := time.Now()
				if !now.Before(end) || ctx.Err() != nil {
					return
				}
				octx, cancel := context.WithTimeout(ctx, spec.OpTimeout)
				var err error
				n := 1
				switch {
				case spec.Script:
					err = kv.(Scripter).EvalSet(octx, Key(r.IntN(spec.Keys)), val)
				case spec.Pipeline > 1:
					// Consecutive keys from a random start: distinct within
					// the batch (etcd refuses a Txn that puts a key twice).
					base := r.IntN(spec.Keys)
					for i := range keys {
						keys[i] = Key((base + i) % spec.Keys)
					}
					err = kv.SetBatch(octx, keys, val)
					n = spec.Pipeline
				case r.IntN(100) < spec.ReadPct:
					err = kv.Get(octx, Key(r.IntN(spec.Keys)))
				default:
					err = kv.Set(octx, Key(r.IntN(spec.Keys)), val)
				}
				cancel()
				done := time.Now()
				if err != nil {
					if ctx.Err() == nil && !now.Before(measureFrom) {
						errs.Add(err)
					}
					time.Sleep(time.Millisecond) // do not spin on a dead server
					continue
				}
				if !now.Before(measureFrom) && !done.After(end.Add(spec.OpTimeout)) {
					hists[w].Record(done.Sub(now))
					counts[w] += int64(n)
				}
			}
		}(w, kvFor(w))
	}
	wg.Wait()
	<-cpuDone
	elapsed := time.Since(measureFrom)
	var h bench.Histogram
	var ops int64
	for i := range hists {
		h.Merge(&hists[i])
		ops += counts[i]
	}
	return bench.Throughput{
		System:       system,
		Workload:     spec.Workload,
		Clients:      spec.Clients,
		Pipeline:     spec.Pipeline,
		ValueSize:    spec.ValueSize,
		Seconds:      elapsed.Seconds(),
		Ops:          ops,
		Errors:       errs.Total(),
		OpsPerSec:    float64(ops) / elapsed.Seconds(),
		P50:          bench.ToMs(h.Percentile(0.50)),
		P99:          bench.ToMs(h.Percentile(0.99)),
		P999:         bench.ToMs(h.Percentile(0.999)),
		Max:          bench.ToMs(h.Max()),
		ErrorSamples: errs.Samples(),
		CPU:          cpuPerOp(spec.Procs, cpu0, cpu1, ops),
	}
}

// CurveClients are the client counts of the throughput curve.
var CurveClients = []int{1, 10, 50, 200, 1000}

// CurveSpec is the SET workload (100-byte values) at clients clients.
func CurveSpec(clients, keys int, d, warm time.Duration) Spec {
	return Spec{Workload: bench.WlSet, Clients: clients, Pipeline: 1, ValueSize: 100, Keys: keys,
		Duration: d, Warmup: warm, OpTimeout: 5 * time.Second}
}
