package fsm_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
)

// BenchmarkApplySet applies entries of 64 SETs over 10,000 keys; one op is
// one SET.
func BenchmarkApplySet(b *testing.B) { benchApplySet(b, 10_000, "SET") }

// BenchmarkApplySet1M is BenchmarkApplySet over a million keys, all present
// first (redis-benchmark -r 1000000's key space, scripts/perf-set.sh): a
// tree far bigger than the CPU caches.
func BenchmarkApplySet1M(b *testing.B) { benchApplySet(b, 1_000_000, "SET") }

// BenchmarkApplyIncr1M is INCR over a million keys that hold numbers: a
// write that reads the key first, then stores it.
func BenchmarkApplyIncr1M(b *testing.B) { benchApplySet(b, 1_000_000, "INCR") }

// benchApplySet applies cmd (SET key value, or INCR key) over nkeys keys;
// more than 10,000 are all set first.
func benchApplySet(b *testing.B, nkeys int, cmd string) {
	const batch = 64
	keys := make([][]byte, nkeys)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("key:", i))
	}
	set, val := []byte("SET"), []byte("some value of moderate length")
	argv := func(k []byte) [][]byte { return [][]byte{set, k, val} }
	if cmd == "INCR" {
		val = []byte("12345")
		argv = func(k []byte) [][]byte { return [][]byte{[]byte(cmd), k} }
	}
	entries := make([]*fsm.Entry, max(64, nkeys/1000))
	for i := range entries {
		e := &fsm.Entry{Type: fsm.EntryBatch, Time: t0, Seed: uint64(i)}
		for j := range batch {
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, Argv: argv(keys[(i*batch+j*157)%nkeys])})
		}
		entries[i] = e
	}
	f := fsm.New()
	idx := uint64(0)
	var heapPerKey float64 // after the fill: the live heap per key
	if nkeys > 10_000 {
		fill := &fsm.Entry{Type: fsm.EntryBatch, Time: t0}
		for i, k := range keys {
			fill.Cmds = append(fill.Cmds, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{set, k, val}})
			if len(fill.Cmds) == 1024 || i == len(keys)-1 {
				idx++
				f.ApplyEntry(idx, fill)
				fill.Cmds = fill.Cmds[:0]
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heapPerKey = float64(ms.HeapAlloc) / float64(nkeys)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for done := 0; done < b.N; done += batch {
		idx++
		e := entries[idx%uint64(len(entries))]
		e.Time = t0 + int64(idx)
		f.ApplyEntry(idx, e)
	}
	// The process's CPU time (the collector's included) per SET: ns/op is
	// wall time, which on a shared machine says more about the neighbours.
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if heapPerKey > 0 {
		b.ReportMetric(heapPerKey, "heap-B/key")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReadGet reads existing keys through Read.
func BenchmarkReadGet(b *testing.B) {
	const nkeys = 10_000
	h := newHarness()
	argvs := make([][][]byte, nkeys)
	for i := range argvs {
		k := fmt.Sprint("key:", i)
		h.do(b, "SET", k, "some value of moderate length")
		argvs[i] = [][]byte{[]byte("GET"), []byte(k)}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if v := h.f.Read(0, h.now, 0, argvs[i%nkeys]); v.Kind != fsm.KindBulk {
			b.Fatal(fmtValue(v))
		}
	}
}

// BenchmarkDecodeEntry decodes an entry of 64 SETs of 100-byte values, as
// every node does for every entry it applies; one op is one SET.
func BenchmarkDecodeEntry(b *testing.B) {
	e := &fsm.Entry{Type: fsm.EntryBatch, Time: t0}
	val := make([]byte, 100)
	for i := range 64 {
		e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{[]byte("SET"), fmt.Appendf(nil, "key:%d", i), val}})
	}
	data := fsm.AppendEntry(nil, e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := fsm.DecodeEntry(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*64), "ns/set")
}
