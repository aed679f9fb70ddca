package fsm_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/understudy/understudy/fsm"
)

func readAt(h *harness, now int64, args ...string) string {
	return fmtValue(h.f.Read(0, now, 1, bargs(args)))
}

// TestExpiryReads: a read judges a TTL by the time it is given (never older
// than the replicated clock), and never deletes anything.
func TestExpiryReads(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "k", "v", "PX", "1000")
	before := h.f.Hash()
	for _, c := range []struct {
		at   int64
		want string
	}{{0, `"v"`}, {999, `"v"`}, {1000, `"v"`}, {1001, "(nil)"}, {50_000, "(nil)"}, {1000, `"v"`}} {
		if got := readAt(h, t0+c.at, "GET", "k"); got != c.want {
			t.Errorf("GET at t0+%d = %s, want %s", c.at, got, c.want)
		}
	}
	if got := readAt(h, t0+1001, "EXISTS", "k"); got != ":0" {
		t.Errorf("EXISTS after expiry = %s", got)
	}
	if got := readAt(h, t0+1001, "DBSIZE"); got != ":1" {
		t.Errorf("DBSIZE counts keys not yet reclaimed, like Redis: got %s", got)
	}
	if st := h.f.Stats(); st.Keys != 1 || st.Expires != 1 || h.f.Hash() != before {
		t.Fatalf("reads changed state: %+v", st)
	}
	// A write moves the replicated clock; reads with an older clock are
	// judged at the replicated one.
	h.now = t0 + 5000
	h.do(t, "SET", "other", "x")
	if got := readAt(h, t0, "GET", "k"); got != "(nil)" {
		t.Errorf("GET with a clock older than the FSM's = %s, want (nil)", got)
	}
	if got := h.f.Clock(); got != t0+5000 {
		t.Errorf("Clock = %d, want %d", got, t0+5000)
	}
}

// TestExpiryWrites: a write that touches an expired key reclaims it, and
// sees it as absent.
func TestExpiryWrites(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "k", "old", "PX", "1000")
	h.now += 1000
	if got := fmtValue(h.do(t, "APPEND", "k", "+")); got != ":4" {
		t.Fatalf("APPEND at the expiry millisecond = %s, want :4", got)
	}
	h.now++
	if got := fmtValue(h.do(t, "APPEND", "k", "new")); got != ":3" {
		t.Fatalf("APPEND after expiry = %s, want :3", got)
	}
	if st := h.f.Stats(); st.Keys != 1 || st.Expires != 0 {
		t.Fatalf("stats after reclaiming write: %+v", st)
	}
	if got := fmtValue(h.do(t, "TTL", "k")); got != ":-1" {
		t.Fatalf("TTL = %s", got)
	}
	// A DEL of an expired key reclaims it but counts nothing.
	h.do(t, "SET", "d", "v", "PX", "5")
	h.now += 6
	if got := fmtValue(h.do(t, "DEL", "d")); got != ":0" {
		t.Fatalf("DEL expired = %s", got)
	}
	if st := h.f.Stats(); st.Keys != 1 || st.Expires != 0 {
		t.Fatalf("stats after DEL of expired key: %+v", st)
	}
}

// TestClockNeverGoesBack: an entry stamped earlier than the clock is
// applied at the clock, so TTLs never count from the past.
func TestClockNeverGoesBack(t *testing.T) {
	h := newHarness()
	h.now = t0 + 5000
	h.do(t, "SET", "a", "1")
	h.now = t0
	h.do(t, "SET", "k", "v", "EX", "1")
	if got := fmtValue(h.do(t, "PEXPIRETIME", "k")); got != fmt.Sprintf(":%d", t0+6000) {
		t.Fatalf("PEXPIRETIME = %s, want :%d", got, t0+6000)
	}
	if h.f.Clock() != t0+5000 {
		t.Fatalf("Clock = %d", h.f.Clock())
	}
}

func TestInternalExpired(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "a", "1", "PX", "100")
	h.do(t, "SET", "b", "2", "PX", "200")
	h.do(t, "SET", "c", "3")
	h.do(t, "SET", "r", "4", "PX", "50")
	// ExpiredKeys judges by the time it is given, in expiry order.
	if got := h.f.ExpiredKeys(t0+1000, 10); !slices.Equal(dbKeyNames(got), []string{"r", "a", "b"}) {
		t.Fatalf("ExpiredKeys(t0+1000) = %v, want [r a b]", got)
	}
	if got := h.f.ExpiredKeys(t0+150, 10); !slices.Equal(dbKeyNames(got), []string{"r", "a"}) {
		t.Fatalf("ExpiredKeys(t0+150) = %v", got)
	}
	if got := h.f.ExpiredKeys(t0+150, 1); !slices.Equal(dbKeyNames(got), []string{"r"}) {
		t.Fatalf("ExpiredKeys(t0+150, 1) = %v", got)
	}
	if got := h.f.ExpiredKeys(t0+100, 10); !slices.Equal(dbKeyNames(got), []string{"r"}) {
		t.Fatalf("ExpiredKeys(t0+100) = %v: a key is not expired during its last millisecond", got)
	}
	if got := h.f.ExpiredKeys(t0, 10); len(got) != 0 {
		t.Fatalf("ExpiredKeys(t0) = %v", got)
	}

	// r was re-set without a TTL after the leader listed it: the stale
	// expiry proposal must not delete it.
	h.do(t, "SET", "r", "fresh")
	h.now = t0 + 150
	if got := fmtValue(h.internal(t, "expired", "a", "b", "c", "r", "missing")); got != ":1" {
		t.Fatalf("expired a b c r missing = %s, want :1", got)
	}
	if got := fmtValue(h.do(t, "MGET", "a", "b", "c", "r")); got != `[(nil) "2" "3" "fresh"]` {
		t.Fatalf("after expired: %s", got)
	}
	if st := h.f.Stats(); st.Keys != 3 || st.Expires != 1 {
		t.Fatalf("stats: %+v", st)
	}
	h.now = t0 + 200
	if got := fmtValue(h.internal(t, "EXPIRED", "b")); got != ":0" {
		t.Fatalf("expired b at its expiry millisecond = %s, want :0", got)
	}
	h.now = t0 + 201
	if got := fmtValue(h.internal(t, "expired", "b")); got != ":1" {
		t.Fatalf("expired b after its expiry = %s, want :1", got)
	}
	if got := h.f.ExpiredKeys(t0+1_000_000, 10); len(got) != 0 {
		t.Fatalf("ExpiredKeys after deletion = %v", got)
	}
}

func TestInternalMeta(t *testing.T) {
	h := newHarness()
	empty := h.f.Hash()
	if got := fmtValue(h.internal(t, "meta", "n1", "127.0.0.1:6379", "127.0.0.1:7000")); got != "+OK" {
		t.Fatal(got)
	}
	if m, ok := h.f.Meta("n1"); !ok || m.ClientAddr != "127.0.0.1:6379" || m.AdminAddr != "127.0.0.1:7000" {
		t.Fatalf("Meta(n1) = %+v %v", m, ok)
	}
	if h.f.Hash() == empty {
		t.Fatal("Hash ignores metadata")
	}
	all := h.f.AllMeta()
	all["n2"] = fsm.NodeMeta{}
	if _, ok := h.f.Meta("n2"); ok {
		t.Fatal("AllMeta returned the FSM's own map")
	}
	if got := fmtValue(h.internal(t, "forget", "n1")); got != "+OK" {
		t.Fatal(got)
	}
	if _, ok := h.f.Meta("n1"); ok {
		t.Fatal("forget kept n1")
	}
	for _, bad := range [][]string{{"nosuch"}, {"meta", "n1"}, {"forget"}} {
		want := "-ERR unknown internal command '" + bad[0] + "'"
		if got := fmtValue(h.internal(t, bad...)); got != want {
			t.Errorf("internal %q = %s, want %s", bad, got, want)
		}
	}
	// A client cannot reach internal commands.
	if got := fmtValue(h.do(t, "expired", "k")); !strings.HasPrefix(got, "-ERR unknown command 'expired'") {
		t.Errorf("client expired = %s", got)
	}
}

// TestApplyRaftLog drives the raft.FSM interface itself.
func TestApplyRaftLog(t *testing.T) {
	f := fsm.New()
	var hooked []uint64
	var hookKeys [][]string
	f.SetApplyHook(func(i uint64, keys []fsm.DBKey) {
		hooked = append(hooked, i)
		hookKeys = append(hookKeys, dbKeyNames(keys))
	})
	e := &fsm.Entry{Type: fsm.EntryBatch, Time: t0, Seed: 7, Cmds: []fsm.Cmd{
		{Op: fsm.OpClient, Argv: bargs([]string{"SET", "k", "v"})},
		{Op: fsm.OpClient, Argv: bargs([]string{"GET", "k"})},
		{Op: fsm.OpClient, Argv: bargs([]string{"INCR", "k"})},
	}}
	res, ok := f.Apply(&raft.Log{Index: 5, Term: 1, Type: raft.LogCommand, Data: fsm.AppendEntry(nil, e)}).(*fsm.Result)
	if !ok || len(res.Replies) != 3 {
		t.Fatalf("Apply returned %#v", res)
	}
	var got []string
	for _, v := range res.Replies {
		got = append(got, fmtValue(v))
	}
	if want := []string{"+OK", `"v"`, "-ERR value is not an integer or out of range"}; !slices.Equal(got, want) {
		t.Fatalf("replies %q, want %q", got, want)
	}
	if f.AppliedIndex() != 5 || f.Clock() != t0 || !slices.Equal(hooked, []uint64{5}) {
		t.Fatalf("applied %d clock %d hook %v", f.AppliedIndex(), f.Clock(), hooked)
	}
	// SET wrote k; GET and the failed INCR did not write again.
	if len(hookKeys) != 1 || !slices.Equal(hookKeys[0], []string{"k"}) {
		t.Fatalf("hook keys %q, want [[k]]", hookKeys)
	}
	if r := f.Apply(&raft.Log{Index: 6, Type: raft.LogNoop}); r != nil {
		t.Fatalf("Apply(noop) = %#v", r)
	}
	if st := f.Stats(); st.Keys != 1 || st.Applied != 5 || st.Clock != t0 {
		t.Fatalf("Stats = %+v", st)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("Apply of an undecodable entry did not stop the node")
		}
	}()
	f.Apply(&raft.Log{Index: 7, Type: raft.LogCommand, Data: []byte{9, 9, 9}})
}

// dbKeyNames is the keys' names (of database 0; others as "db:key").
func dbKeyNames(keys []fsm.DBKey) []string {
	var out []string
	for _, k := range keys {
		if k.DB != 0 {
			out = append(out, strconv.Itoa(k.DB)+":"+k.Key)
			continue
		}
		out = append(out, k.Key)
	}
	return out
}
