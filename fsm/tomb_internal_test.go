package fsm

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

// TestTombsPrune: tombstones go oldest deletion first (ties by key), when
// more than maxTombs exist or older than tombWindow, and the floor rises to
// the latest change they recorded.
func TestTombsPrune(t *testing.T) {
	ks := newKeyspace()
	ks.clock = 1_000_000
	// Two deletions per index, keys in reverse order within an index, so
	// the order is (del, key) and not insertion order.
	n := maxTombs + 10
	for i := 0; i < n; i += 2 {
		ks.index = uint64(i/2 + 1)
		for _, k := range []string{"k" + strconv.Itoa(i+1), "k" + strconv.Itoa(i)} {
			ks.put(item{key: k, val: "v"})
			ks.del(k)
		}
	}
	if got := ks.tombs.len(); got != n {
		t.Fatalf("%d tombstones, want %d", got, n)
	}
	ks.tombs.prune(ks.clock)
	if got := ks.tombs.len(); got != maxTombs {
		t.Fatalf("after pruning: %d tombstones, want %d", got, maxTombs)
	}
	if ks.tombs.floor != 5 {
		t.Fatalf("floor %d, want 5 (the fifth index held the tenth oldest deletion)", ks.tombs.floor)
	}
	for i := range 10 {
		if _, ok := ks.tombs.get("k" + strconv.Itoa(i)); ok {
			t.Fatalf("k%d survived; the ten oldest must go", i)
		}
	}
	if tb, ok := ks.tombs.get("k10"); !ok || tb.mod != 6 {
		t.Fatalf("k10: %+v %v", tb, ok)
	}
	// By age: everything deleted more than tombWindow ago goes.
	ks.tombs.prune(ks.clock + tombWindow)
	if got := ks.tombs.len(); got != maxTombs {
		t.Fatalf("at the window's edge: %d tombstones, want %d", got, maxTombs)
	}
	ks.tombs.prune(ks.clock + tombWindow + 1)
	if got := ks.tombs.len(); got != 0 || ks.tombs.floor != uint64(n/2) {
		t.Fatalf("past the window: %d tombstones, floor %d", got, ks.tombs.floor)
	}
}

// TestTombsFlushBig: FLUSHALL of a keyspace too big to walk raises the
// floor instead of leaving a tombstone per key.
func TestTombsFlushBig(t *testing.T) {
	ks := newKeyspace()
	ks.index = 7
	for i := range maxTombs + 1 {
		ks.put(item{key: strconv.Itoa(i), val: "v"})
	}
	ks.index = 9
	ks.clear()
	if ks.tombs.len() != 0 || ks.tombs.floor != 9 || ks.len() != 0 {
		t.Fatalf("after a big FLUSHALL: %d tombstones, floor %d, %d keys", ks.tombs.len(), ks.tombs.floor, ks.len())
	}
}

// TestTombsSnapshot: tombstones and the floor survive a snapshot (version
// 3), a snapshot without them is still written as before, and a repeated
// tombstone is refused.
func TestTombsSnapshot(t *testing.T) {
	f := New()
	e := func(cmds ...[]string) *Entry {
		en := &Entry{Type: EntryBatch, Time: 1_700_000_000_000}
		for _, c := range cmds {
			argv := make([][]byte, len(c))
			for i, a := range c {
				argv[i] = []byte(a)
			}
			en.Cmds = append(en.Cmds, Cmd{Op: OpClient, Argv: argv})
		}
		return en
	}
	f.ApplyEntry(1, e([]string{"SET", "a", "1"}))
	var plain bytes.Buffer
	if _, err := f.WriteSnapshot(&plain); err != nil {
		t.Fatal(err)
	}
	if v := plain.Bytes()[8]; v != snapVersionNoPeers {
		t.Fatalf("a snapshot without tombstones has version %d", v)
	}
	f.ApplyEntry(2, e([]string{"SET", "b", "1"}, []string{"DEL", "a", "b"}))
	f.dbs[0].tombs.floor = 1
	var buf bytes.Buffer
	if _, err := f.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if v := buf.Bytes()[8]; v != snapVersionTombs {
		t.Fatalf("version %d, want %d", v, snapVersionTombs)
	}
	s, err := readSnapshot(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if s.dbs[0].tombs.len() != 2 || s.dbs[0].tombs.floor != 1 {
		t.Fatalf("restored %d tombstones, floor %d", s.dbs[0].tombs.len(), s.dbs[0].tombs.floor)
	}
	for _, k := range []string{"a", "b"} {
		got, ok1 := s.dbs[0].tombs.get(k)
		want, ok2 := f.dbs[0].tombs.get(k)
		if !ok1 || !ok2 || *got != *want {
			t.Fatalf("tombstone %s: restored %+v, want %+v", k, got, want)
		}
	}
	// A tombstone repeated (as a broken writer could) is refused.
	f.dbs[0].tombs.byAge.Set(&tomb{key: "a", mod: 9, del: 9})
	buf.Reset()
	if _, err := f.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := readSnapshot(bytes.NewReader(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "appears twice") {
		t.Fatalf("a repeated tombstone: %v", err)
	}
}

// TestTombDoesNotKeepValue: a deleted string's tombstone holds a key of its
// own, not one that shares the allocation of the deleted value.
func TestTombDoesNotKeepValue(t *testing.T) {
	ks := newKeyspace()
	ks.index = 1
	ks.put(kvItem([]byte("k"), bytes.Repeat([]byte("v"), 1<<20), 0))
	it, _ := ks.raw("k")
	if !sharesKey(it) {
		t.Fatal("the test needs a key stored with its value")
	}
	ks.index = 2
	ks.del("k")
	tb, ok := ks.tombs.get("k")
	if !ok || tb.key != "k" || sharesKey(item{key: tb.key, val: it.val}) {
		t.Fatalf("tombstone %+v shares the deleted value's allocation", tb)
	}
}
