package fsm_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// A plain SET replaces the key in one traversal of the tree (reclaim)
// rather than looking it up and then storing it. It must leave exactly the
// state (snapshot bytes: items, versions, expiry index, WATCH tombstones),
// the keyspace events and the keys reported to the apply hook that the
// lookup-then-store path leaves; SET ... GET and SET ... XX still take that
// path, so each case runs both and compares.
func TestSet_OneTraversalMatchesLookupThenStore(t *testing.T) {
	cases := []struct {
		name  string
		setup [][]string
		slow  []string // options that force the lookup path, same effect
	}{
		{"absent", nil, []string{"GET"}},
		{"live string", [][]string{{"SET", "k", "old"}}, []string{"GET"}},
		{"string with ttl", [][]string{{"SET", "k", "old", "PX", "500"}}, []string{"GET"}},
		{"expired string", [][]string{{"SET", "k", "old", "PX", "5"}}, []string{"GET"}},
		{"expired hash", [][]string{{"HSET", "k", "f", "v"}, {"PEXPIRE", "k", "5"}}, []string{"GET"}},
		{"live hash", [][]string{{"HSET", "k", "f", "v"}}, []string{"XX"}},
		{"deleted", [][]string{{"SET", "k", "old"}, {"DEL", "k"}}, []string{"GET"}},
	}
	for _, tc := range cases {
		for _, ttl := range [][]string{nil, {"EX", "100"}} {
			t.Run(fmt.Sprint(tc.name, ttl), func(t *testing.T) {
				fast := setRun(t, tc.setup, append([]string{"SET", "k", "new"}, ttl...))
				slow := setRun(t, tc.setup, append(append([]string{"SET", "k", "new"}, tc.slow...), ttl...))
				if !slices.Equal(fast.events, slow.events) {
					t.Errorf("events: one traversal %q, lookup path %q", fast.events, slow.events)
				}
				if !slices.Equal(fast.touched, slow.touched) {
					t.Errorf("apply hook keys: one traversal %v, lookup path %v", fast.touched, slow.touched)
				}
				if !bytes.Equal(fast.snap, slow.snap) {
					t.Error("snapshots differ between the one-traversal SET and the lookup path")
				}
				if fast.get != "new" {
					t.Errorf("GET k after SET = %q", fast.get)
				}
			})
		}
	}
}

type setOutcome struct {
	events  []string
	touched []fsm.DBKey
	snap    []byte
	get     string
}

// setRun applies setup, lets 10 ms pass (so PX 5 keys expire), then applies
// set through Apply with keyspace events on, and records what it did.
func setRun(t *testing.T, setup [][]string, set []string) setOutcome {
	t.Helper()
	h := newHarness()
	h.configSet(t, "notify-keyspace-events", "KEA")
	for _, c := range setup {
		h.do(t, c...)
	}
	h.now += 10
	var out setOutcome
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			out.events = append(out.events, m.Channel+" "+m.Payload)
		}
	})
	h.f.SetApplyHook(func(_ uint64, keys []fsm.DBKey) { out.touched = append(out.touched, keys...) })
	h.idx++
	r := h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Seed: 7,
		Cmds: []fsm.Cmd{{Op: fsm.OpClient, Argv: bargs(set)}}})).(*fsm.Result)
	if v := r.Replies[0]; v.Kind == fsm.KindError {
		t.Fatalf("%q: %s", set, fmtValue(v))
	}
	out.snap = snapshotBytes(t, h.f)
	out.get = string(h.f.Read(0, h.now, 0, bargs([]string{"GET", "k"})).Str)
	return out
}
