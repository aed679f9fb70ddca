package fsm_test

import (
	"fmt"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// BenchmarkApplySet applies entries of 64 SETs over 10,000 keys; one op is
// one SET.
func BenchmarkApplySet(b *testing.B) {
	const batch, nkeys = 64, 10_000
	keys := make([][]byte, nkeys)
	for i := range keys {
		keys[i] = []byte(fmt.Sprint("key:", i))
	}
	set, val := []byte("SET"), []byte("some value of moderate length")
	entries := make([]*fsm.Entry, 64)
	for i := range entries {
		e := &fsm.Entry{Type: fsm.EntryBatch, Time: t0, Seed: uint64(i)}
		for j := range batch {
			e.Cmds = append(e.Cmds, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{set, keys[(i*batch+j*157)%nkeys], val}})
		}
		entries[i] = e
	}
	f := fsm.New()
	b.ReportAllocs()
	b.ResetTimer()
	idx := uint64(0)
	for done := 0; done < b.N; done += batch {
		idx++
		e := entries[idx%uint64(len(entries))]
		e.Time = t0 + int64(idx)
		f.ApplyEntry(idx, e)
	}
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
		if v := h.f.Read(h.now, 0, argvs[i%nkeys]); v.Kind != fsm.KindBulk {
			b.Fatal(fmtValue(v))
		}
	}
}
