package fsm_test

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// The differential suite (compat/testdata/script.txt, group "streams")
// holds every stream command to redis-server 7.0.15's replies; these tests
// cover what it cannot see: entry time, replication, snapshots and
// copy-on-write.

// TestStreamIDsFromEntryTime: "*" IDs are the entry's time, the same on
// every replica; a leader whose clock is behind (an entry with an older
// time) never makes an ID go back, nor does a last ID in the future.
func TestStreamIDsFromEntryTime(t *testing.T) {
	h := newHarness()
	steps := []struct {
		now  int64
		cmd  string
		want string
	}{
		{t0, "XADD s * a 1", fmt.Sprintf(`"%d-0"`, t0)},
		{t0, "XADD s * a 2", fmt.Sprintf(`"%d-1"`, t0)},
		{t0 + 5, "XADD s * a 3", fmt.Sprintf(`"%d-0"`, t0+5)},
		// A new leader 1 s behind: the replicated clock stays, and with it IDs.
		{t0 - 1000, "XADD s * a 4", fmt.Sprintf(`"%d-1"`, t0+5)},
		{t0 + 6, fmt.Sprintf("XADD s %d-7 a 5", t0+100), fmt.Sprintf(`"%d-7"`, t0+100)},
		// The last ID is ahead of the clock: its time, the next sequence.
		{t0 + 7, "XADD s * a 6", fmt.Sprintf(`"%d-8"`, t0+100)},
		{t0 + 8, fmt.Sprintf("XADD s %d-* a 7", t0+100), fmt.Sprintf(`"%d-9"`, t0+100)},
		{t0 + 101, "XADD s * a 8", fmt.Sprintf(`"%d-0"`, t0+101)},
		{t0 + 101, "XSETID s 18446744073709551615-18446744073709551614", "+OK"},
		{t0 + 102, "XADD s * a 9", `"18446744073709551615-18446744073709551615"`},
		{t0 + 103, "XADD s * a 10", "-ERR The stream has exhausted the last possible ID, unable to add more items"},
	}
	for _, s := range steps {
		h.now = s.now
		if got := h.run(t, s.cmd); got != s.want {
			t.Fatalf("at %d, %s = %s, want %s", s.now, s.cmd, got, s.want)
		}
	}
	// Replaying the same entries elsewhere gives the same stream.
	g := newHarness()
	for _, s := range steps {
		g.now = s.now
		g.run(t, s.cmd)
	}
	if a, b := h.run(t, "XRANGE s - +"), g.run(t, "XRANGE s - +"); a != b {
		t.Fatalf("replicas differ:\n%s\n%s", a, b)
	}
}

// TestStreamIdleInEntryTime: pending entries' idle times and what XCLAIM
// and XAUTOCLAIM may take are judged by the replicated clock.
func TestStreamIdleInEntryTime(t *testing.T) {
	h := newHarness()
	for _, l := range []string{"XADD s 1 a 1", "XADD s 2 a 2", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c1 STREAMS s >"} {
		h.run(t, l)
	}
	h.now += 1500
	for _, s := range []step{
		{"XPENDING s g - + 10", `[["1-0" "c1" :1500 :1] ["2-0" "c1" :1500 :1]]`},
		{"XINFO CONSUMERS s g", `[%["name" "c1" "pending" :2 "idle" :1500]]`},
		{"XCLAIM s g c2 2000 1 JUSTID", `[]`},
		{"XCLAIM s g c2 1000 1 JUSTID", `["1-0"]`},
		{"XAUTOCLAIM s g c3 1400 0 JUSTID", `["0-0" ["2-0"] []]`},
		{"XPENDING s g IDLE 1 - + 10", `[]`},
		{"XINFO STREAM s FULL", fmt.Sprintf(`%%["length" :2 "radix-tree-keys" :1 "radix-tree-nodes" :2 "last-generated-id" "2-0" `+
			`"max-deleted-entry-id" "0-0" "entries-added" :2 "recorded-first-entry-id" "1-0" "entries" [["1-0" ["a" "1"]] ["2-0" ["a" "2"]]] `+
			`"groups" [%%["name" "g" "last-delivered-id" "2-0" "entries-read" :2 "lag" :0 "pel-count" :2 "pending" [["1-0" "c2" :%[1]d :1] ["2-0" "c3" :%[1]d :1]] `+
			`"consumers" [%%["name" "c1" "seen-time" :%[2]d "pel-count" :0 "pending" []] %%["name" "c2" "seen-time" :%[1]d "pel-count" :1 "pending" [["1-0" :%[1]d :1]]] `+
			`%%["name" "c3" "seen-time" :%[1]d "pel-count" :1 "pending" [["2-0" :%[1]d :1]]]]]]]`, h.now, t0)},
	} {
		if got := h.run(t, s.cmd); got != s.want {
			t.Errorf("%s\n got: %s\nwant: %s", s.cmd, got, s.want)
		}
	}
}

// TestStreamNotifications: the events Redis 7.0.15 sends for the same
// commands (recorded from redis-server with notify-keyspace-events KEA).
func TestStreamNotifications(t *testing.T) {
	h := newHarness()
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			if strings.HasPrefix(m.Channel, "__keyevent@0__:") {
				got = append(got, strings.TrimPrefix(m.Channel, "__keyevent@0__:")+" "+m.Payload)
			}
		}
	})
	apply := func(argv [][]byte) {
		h.idx++
		h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{{Argv: argv}}}))
	}
	h.internal(t, "config-set", "notify-keyspace-events", "KEA")
	for _, l := range []string{
		"XADD s 1-0 a 1", "XADD s MAXLEN 1 2-0 a 2", "XGROUP CREATE s g 0", "XREADGROUP GROUP g c1 STREAMS s >",
		"XCLAIM s g c2 0 2-0", "XAUTOCLAIM s g c3 0 0", "XACK s g 2-0", "XGROUP CREATECONSUMER s g c4",
		"XGROUP DELCONSUMER s g c4", "XGROUP SETID s g 0", "XSETID s 5-0", "XDEL s 2-0", "XTRIM s MAXLEN 0",
		"XADD s 6-0 a 1", "XTRIM s MAXLEN 0", "XGROUP DESTROY s g", "XGROUP CREATE s2 g2 $ MKSTREAM",
		"XREADGROUP GROUP g2 c9 NOACK STREAMS s2 >", "XADD s2 NOMKSTREAM 1-0 a b", "XADD s3 NOMKSTREAM 1-0 a b",
	} {
		apply(bargs(splitArgs(t, l)))
	}
	want := []string{"xadd s", "xadd s", "xtrim s", "xgroup-create s", "xgroup-createconsumer s",
		"xgroup-createconsumer s", "xgroup-createconsumer s", "xgroup-createconsumer s", "xgroup-delconsumer s",
		"xgroup-setid s", "xsetid s", "xdel s", "xadd s", "xtrim s", "xgroup-destroy s", "xgroup-create s2", "xadd s2"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}

// TestStreamWatch: as in Redis, WATCH sees XADD, XDEL, XTRIM and the key
// XGROUP CREATE MKSTREAM makes, but not a group's bookkeeping.
func TestStreamWatch(t *testing.T) {
	for _, c := range []struct {
		cmd     string
		aborted bool
	}{
		{"XADD s 10 a 1", true}, {"XDEL s 1", true}, {"XTRIM s MAXLEN 0", true},
		{"XGROUP CREATE s g2 0", false}, {"XREADGROUP GROUP g c STREAMS s >", false},
		{"XACK s g 1", false}, {"XCLAIM s g c 0 1 FORCE", false}, {"XSETID s 5", false},
		{"XGROUP SETID s g 0", false}, {"XGROUP DESTROY s g", false}, {"XDEL s 9", false},
	} {
		h := newHarness()
		h.run(t, "XADD s 1 a 1")
		h.run(t, "XGROUP CREATE s g 0")
		version := func() string { return fmtValue(h.do(t, "understudy.keyversions", "s").Arr[0]) }
		before := version()
		if got := h.run(t, c.cmd); strings.HasPrefix(got, "-") {
			t.Fatalf("%s: %s", c.cmd, got)
		}
		if changed := version() != before; changed != c.aborted {
			t.Errorf("%s: version changed %v, want %v", c.cmd, changed, c.aborted)
		}
	}
}

// streams fills h with streams that use everything a snapshot keeps.
func streams(t testing.TB, h *harness) []string {
	for i := 1; i <= 230; i++ {
		h.do(t, "XADD", "big", fmt.Sprint(i), "f", fmt.Sprint(i), "g", strings.Repeat("x", i%7))
	}
	h.do(t, "XADD", "big", "231", "other", "fields")
	h.do(t, "XDEL", "big", "3", "150", "231")
	h.do(t, "XTRIM", "big", "MINID", "2")
	h.do(t, "XGROUP", "CREATE", "big", "g1", "0")
	h.do(t, "XGROUP", "CREATE", "big", "g2", "$", "ENTRIESREAD", "5")
	h.do(t, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "20", "STREAMS", "big", ">")
	h.do(t, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", "20", "STREAMS", "big", ">")
	h.do(t, "XREADGROUP", "GROUP", "g1", "", "NOACK", "COUNT", "5", "STREAMS", "big", ">")
	h.now += 10
	h.do(t, "XCLAIM", "big", "g1", "carol", "0", "5", "6", "RETRYCOUNT", "4")
	h.do(t, "XACK", "big", "g1", "7", "8")
	h.do(t, "XGROUP", "CREATECONSUMER", "big", "g2", "idle")
	h.do(t, "XADD", "small", "1-1", "a", "1")
	h.do(t, "XGROUP", "CREATE", "empty", "g", "$", "MKSTREAM")
	h.do(t, "XSETID", "empty", "9-9", "ENTRIESADDED", "7", "MAXDELETEDID", "9-1")
	return []string{"big", "small", "empty"}
}

// mutateStreams changes every part of the streams.
func mutateStreams(t testing.TB, h *harness, round int) {
	r := fmt.Sprint(round)
	for _, cmd := range [][]string{
		{"XADD", "big", "*", "f", r}, {"XDEL", "big", "10"}, {"XTRIM", "big", "MAXLEN", "~", "150"},
		{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "big", ">"}, {"XACK", "big", "g1", "30"},
		{"XCLAIM", "big", "g1", "dave" + r, "0", "31"}, {"XAUTOCLAIM", "big", "g1", "eve", "0", "0", "COUNT", "2"},
		{"XGROUP", "DELCONSUMER", "big", "g1", "bob"}, {"XGROUP", "SETID", "big", "g2", "100"},
		{"XGROUP", "CREATECONSUMER", "big", "g2", "new" + r}, {"XADD", "small", "*", "b", r},
		{"XGROUP", "CREATE", "small", "g" + r, "0"}, {"XREADGROUP", "GROUP", "g" + r, "c", "STREAMS", "small", ">"},
		{"XSETID", "empty", "10-" + r}, {"XGROUP", "DESTROY", "empty", "g"},
	} {
		if v := h.do(t, cmd...); v.IsError() {
			t.Fatalf("%q: %s", cmd, fmtValue(v))
		}
	}
}

func dumpStream(f *fsm.FSM, now int64, key string) string {
	read := func(args ...string) string { return fmtValue(f.Read(0, now, 0, bargs(args))) }
	return read("XINFO", "STREAM", key, "FULL", "COUNT", "0") + read("XINFO", "GROUPS", key)
}

// TestStreamCopyOnWrite: a snapshot keeps streams as they were when it was
// taken however they change afterwards (nodes, groups, consumers and their
// pending entries), concurrently too, for the race detector.
func TestStreamCopyOnWrite(t *testing.T) {
	h := newHarness()
	keys := streams(t, h)
	before := map[string]string{}
	for _, k := range keys {
		before[k] = dumpStream(h.f, h.now, k)
	}
	want := snapshotBytes(t, h.f)
	wantHash := h.f.Hash()
	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var got []byte
	wg.Add(1)
	go func() {
		defer wg.Done()
		sink := &memSink{}
		if err := snap.Persist(sink); err != nil {
			t.Error(err)
		}
		got = sink.Bytes()
	}()
	for round := range 4 {
		mutateStreams(t, h, round)
		if round == 1 {
			_ = snapshotBytes(t, h.f)
		}
	}
	h.do(t, "COPY", "big", "big2")
	h.do(t, "XADD", "big2", "*", "copy", "only")
	h.do(t, "XACK", "big2", "g1", "11", "12")
	wg.Wait()
	if !bytes.Equal(got, want) {
		t.Fatal("snapshot persisted during changes differs from one persisted before them")
	}
	g := fsm.New()
	if err := restore(g, got); err != nil {
		t.Fatal(err)
	}
	if g.Hash() != wantHash {
		t.Fatal("restored snapshot hashes differently")
	}
	for _, k := range keys {
		if d := dumpStream(g, h.now, k); d != before[k] {
			t.Errorf("snapshot %s:\n got %s\nwant %s", k, d, before[k])
		}
		if d := dumpStream(h.f, h.now, k); d == before[k] {
			t.Errorf("live %s did not change", k)
		}
	}
	if a, b := dumpStream(h.f, h.now, "big"), dumpStream(h.f, h.now, "big2"); a == b {
		t.Error("COPY's stream shares changes with the original")
	}
	// The live state is what replaying the same commands from empty gives.
	replay := newHarness()
	streams(t, replay)
	for round := range 4 {
		mutateStreams(t, replay, round)
	}
	replay.do(t, "COPY", "big", "big2")
	replay.do(t, "XADD", "big2", "*", "copy", "only")
	replay.do(t, "XACK", "big2", "g1", "11", "12")
	if replay.f.Hash() != h.f.Hash() {
		t.Fatal("live state differs from a replay")
	}
}

// TestStreamSnapshotRoundTrip: a restored stream reads the same, writes the
// same bytes, and goes on the same way (node cutting included).
func TestStreamSnapshotRoundTrip(t *testing.T) {
	h := newHarness()
	keys := streams(t, h)
	mutateStreams(t, h, 0)
	data := snapshotBytes(t, h.f)
	g := fsm.New()
	if err := restore(g, data); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if a, b := dumpStream(h.f, h.now, k), dumpStream(g, h.now, k); a != b {
			t.Errorf("%s:\n got %s\nwant %s", k, b, a)
		}
	}
	if g.Hash() != h.f.Hash() || !bytes.Equal(snapshotBytes(t, g), data) {
		t.Fatal("restored state differs")
	}
	for _, f := range []*fsm.FSM{h.f, g} {
		e := &fsm.Entry{Type: fsm.EntryBatch, Time: h.now + 5, Seed: 1}
		for i := range 120 {
			e.Cmds = append(e.Cmds, fsm.Cmd{Argv: bargs([]string{"XADD", "big", "*", "n", fmt.Sprint(i)})})
		}
		e.Cmds = append(e.Cmds, fsm.Cmd{Argv: bargs([]string{"XTRIM", "big", "MAXLEN", "~", "100"})},
			fsm.Cmd{Argv: bargs([]string{"XREADGROUP", "GROUP", "g1", "alice", "STREAMS", "big", ">"})})
		f.ApplyEntry(10_000, e)
	}
	if g.Hash() != h.f.Hash() {
		t.Fatal("restored FSM diverged after more writes")
	}
}

// TestStreamSnapshotCorrupt: a stream that this build could not have
// written is refused, naming what is wrong.
func TestStreamSnapshotCorrupt(t *testing.T) {
	h := newHarness()
	h.do(t, "XADD", "s", "1", "a", "1")
	h.do(t, "XGROUP", "CREATE", "s", "g", "0")
	h.do(t, "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">")
	good := snapshotBytes(t, h.f)
	if err := restore(fsm.New(), good); err != nil {
		t.Fatal(err)
	}
	// Every truncation and every single-byte change is refused or, if it
	// still parses and checks out, is a different but sound state.
	for i := 0; i < len(good)-4; i++ {
		if err := restore(fsm.New(), good[:i]); err == nil {
			t.Fatalf("truncated at %d: accepted", i)
		}
	}
}
