package fsm_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/understudy/understudy/fsm"
)

func raftLog(idx uint64, e *fsm.Entry) *raft.Log {
	return &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: fsm.AppendEntry(nil, e)}
}

// dumpKey renders everything a read can see of key: type, encoding, TTL
// and the whole value, in the value's own order.
func dumpKey(f *fsm.FSM, now int64, key string) string {
	read := func(args ...string) string { return fmtValue(f.Read(0, now, 0, bargs(args))) }
	typ := read("TYPE", key)
	var val string
	switch typ {
	case "+string":
		val = read("GET", key)
	case "+hash":
		val = read("HGETALL", key)
	case "+list":
		val = read("LRANGE", key, "0", "-1")
	case "+set":
		val = read("SMEMBERS", key)
	case "+zset":
		val = read("ZRANGE", key, "0", "-1", "WITHSCORES")
	}
	return fmt.Sprintf("%s %s %s %s", typ, read("OBJECT", "ENCODING", key), read("PTTL", key), val)
}

// collections fills h with one small and one big collection of each type.
func collections(t testing.TB, h *harness) []string {
	for i := range 200 {
		h.do(t, "HSET", "hbig", fmt.Sprint("f", i), fmt.Sprint(i))
		h.do(t, "RPUSH", "lbig", fmt.Sprint("e", i, "-", string(bytes.Repeat([]byte{'x'}, 60))))
		h.do(t, "SADD", "sbig", fmt.Sprint("m", i))
		h.do(t, "ZADD", "zbig", fmt.Sprint(i), fmt.Sprint("m", i))
	}
	h.do(t, "HSET", "h", "a", "1", "b", "2")
	h.do(t, "RPUSH", "l", "a", "b", "c")
	h.do(t, "SADD", "s", "x", "y")
	h.do(t, "SADD", "i", "3", "1", "2")
	h.do(t, "ZADD", "z", "1", "a", "2", "b")
	h.do(t, "EXPIRE", "z", "100")
	return []string{"hbig", "lbig", "sbig", "zbig", "h", "l", "s", "i", "z"}
}

// mutateAll changes every collection in place, in as many ways as it can.
func mutateAll(t testing.TB, h *harness, round int) {
	r := fmt.Sprint(round)
	for _, cmd := range [][]string{
		{"HSET", "hbig", "f1", "changed" + r}, {"HDEL", "hbig", "f2"}, {"HINCRBY", "h", "a", "1"}, {"HSET", "h", "new" + r, "v"},
		{"LPUSH", "lbig", "front" + r}, {"RPOP", "lbig"}, {"LSET", "l", "1", "B" + r}, {"LINSERT", "l", "BEFORE", "a", "z" + r},
		{"LTRIM", "lbig", "0", "150"}, {"LREM", "l", "0", "c"}, {"LMOVE", "l", "l", "LEFT", "RIGHT"},
		{"SADD", "sbig", "new" + r}, {"SREM", "sbig", "m3"}, {"SPOP", "s"}, {"SADD", "i", "4" + r}, {"SMOVE", "sbig", "s", "m4"},
		{"ZADD", "zbig", "1000", "m5"}, {"ZREM", "zbig", "m6"}, {"ZINCRBY", "z", "5", "a"}, {"ZPOPMIN", "zbig"},
		{"ZREMRANGEBYRANK", "zbig", "0", "2"}, {"ZADD", "z", "3", "c" + r},
	} {
		if v := h.do(t, cmd...); v.IsError() {
			t.Fatalf("%q: %s", cmd, fmtValue(v))
		}
	}
}

// TestCopyOnWriteCollections: a snapshot keeps the collections as they were
// when it was taken however they change afterwards, and the live state has
// the changes.
func TestCopyOnWriteCollections(t *testing.T) {
	h := newHarness()
	keys := collections(t, h)
	before := map[string]string{}
	for _, k := range keys {
		before[k] = dumpKey(h.f, h.now, k)
	}
	want := snapshotBytes(t, h.f)
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		mutateAll(t, h, round)
		if round == 1 { // a second snapshot in between must not disturb the first
			_ = snapshotBytes(t, h.f)
		}
	}
	h.do(t, "SINTERSTORE", "s", "s", "sbig")
	h.do(t, "ZUNIONSTORE", "z", "2", "z", "zbig")
	h.do(t, "RENAME", "hbig", "h2")
	h.do(t, "DEL", "l")
	got := persist(t, snap)
	if !bytes.Equal(got, want) {
		t.Fatal("snapshot persisted after changes differs from one persisted before them")
	}
	g := fsm.New()
	if err := restore(g, got); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if d := dumpKey(g, h.now, k); d != before[k] {
			t.Errorf("snapshot %s:\n got %s\nwant %s", k, d, before[k])
		}
		if d := dumpKey(h.f, h.now, k); d == before[k] {
			t.Errorf("live %s did not change: %s", k, d)
		}
	}
	// And the live state is what replaying the same commands from empty gives.
	replay := newHarness()
	collections(t, replay)
	for round := range 3 {
		mutateAll(t, replay, round)
	}
	replay.do(t, "SINTERSTORE", "s", "s", "sbig")
	replay.do(t, "ZUNIONSTORE", "z", "2", "z", "zbig")
	replay.do(t, "RENAME", "hbig", "h2")
	replay.do(t, "DEL", "l")
	for _, k := range append(keys, "h2") {
		if a, b := dumpKey(h.f, h.now, k), dumpKey(replay.f, h.now, k); a != b {
			t.Errorf("live %s:\n got %s\nwant %s", k, a, b)
		}
	}
}

// TestCopyOnWriteConcurrentPersist persists snapshots while writes change
// every collection, for the race detector: nothing a snapshot can reach may
// be written after it was taken.
func TestCopyOnWriteConcurrentPersist(t *testing.T) {
	h := newHarness()
	keys := collections(t, h)
	for round := range 5 {
		wantHash := h.f.Hash()
		snap, _ := h.f.Snapshot()
		var wg sync.WaitGroup
		var got []byte
		wg.Add(2)
		go func() {
			defer wg.Done()
			sink := &memSink{}
			if err := snap.Persist(sink); err != nil {
				t.Error(err)
			}
			got = sink.Bytes()
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				for _, k := range keys {
					_ = dumpKey(h.f, h.now, k)
				}
				h.f.Read(0, h.now, 1, bargs([]string{"HSCAN", "hbig", "0", "COUNT", "5"}))
			}
		}()
		for i := range 30 {
			mutateAll(t, h, round*100+i)
		}
		wg.Wait()
		g := fsm.New()
		if err := restore(g, got); err != nil {
			t.Fatal(err)
		}
		if g.Hash() != wantHash {
			t.Fatalf("round %d: snapshot taken under concurrent writes restored to a different state", round)
		}
	}
}

// TestSnapshotRoundTripCollections: every type and encoding survives a
// snapshot, and equal states write equal bytes.
func TestSnapshotRoundTripCollections(t *testing.T) {
	h := newHarness()
	keys := collections(t, h)
	mutateAll(t, h, 0)
	data := snapshotBytes(t, h.f)
	g := fsm.New()
	if err := restore(g, data); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if a, b := dumpKey(h.f, h.now, k), dumpKey(g, h.now, k); a != b {
			t.Errorf("%s:\n got %s\nwant %s", k, b, a)
		}
	}
	if g.Hash() != h.f.Hash() || !bytes.Equal(snapshotBytes(t, g), data) {
		t.Fatal("restored state differs")
	}
	// The restored state goes on the same way.
	for _, f := range []*fsm.FSM{h.f, g} {
		f.ApplyEntry(1000, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Seed: 9, Cmds: []fsm.Cmd{
			{Argv: bargs([]string{"SPOP", "sbig", "7"})}, {Argv: bargs([]string{"HSET", "h", "c", "3"})},
			{Argv: bargs([]string{"RPUSH", "l", "tail"})}, {Argv: bargs([]string{"ZADD", "z", "0", "zero"})}}})
	}
	if g.Hash() != h.f.Hash() {
		t.Fatal("restored FSM diverged after more writes")
	}
}

// TestApplyHookKeys: the hook gets every key an entry wrote, once.
func TestApplyHookKeys(t *testing.T) {
	f := fsm.New()
	var got [][]string
	f.SetApplyHook(func(_ uint64, keys []fsm.DBKey) {
		var names []string
		for _, k := range keys {
			names = append(names, fmt.Sprintf("%d:%s", k.DB, k.Key))
		}
		got = append(got, names)
	})
	apply := func(idx uint64, cmds ...[]string) {
		e := &fsm.Entry{Type: fsm.EntryBatch, Time: t0}
		for _, c := range cmds {
			e.Cmds = append(e.Cmds, fsm.Cmd{Argv: bargs(c)})
		}
		f.Apply(raftLog(idx, e))
	}
	apply(1, []string{"RPUSH", "a", "1"}, []string{"LPUSH", "b", "1"}, []string{"RPUSH", "a", "2"}, []string{"GET", "x"})
	apply(2, []string{"LMOVE", "a", "c", "LEFT", "LEFT"}, []string{"LLEN", "a"})
	apply(3, []string{"SADD", "s", "x"}, []string{"SADD", "s", "x"})
	apply(4, []string{"LPOP", "nope"})
	want := fmt.Sprint([][]string{{"0:a", "0:b"}, {"0:c", "0:a"}, {"0:s"}, nil})
	if fmt.Sprint(got) != want {
		t.Fatalf("hook keys %q, want %s", got, want)
	}
}
