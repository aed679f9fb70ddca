package fsm_test

import (
	"fmt"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// TestNotifications: keyspace events follow the replicated
// notify-keyspace-events, on both channel kinds, in the command's database.
func TestNotifications(t *testing.T) {
	h := newHarness()
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			got = append(got, m.Channel+" "+m.Payload)
		}
	})
	apply := func(db int, args ...string) fsm.Value {
		h.idx++
		return h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
			{Op: fsm.OpClient, DB: db, Argv: bargs(args)}}})).(*fsm.Result).Replies[0]
	}
	internal := func(args ...string) fsm.Value {
		h.idx++
		return h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
			{Op: fsm.OpInternal, Argv: bargs(args)}}})).(*fsm.Result).Replies[0]
	}
	apply(0, "SET", "a", "1")
	apply(0, "DEL", "a")
	if len(got) != 0 {
		t.Fatalf("events with notifications off: %q", got)
	}
	if v := internal("config-set", "notify-keyspace-events", "KEA"); fmtValue(v) != "+OK" {
		t.Fatalf("config-set: %s", fmtValue(v))
	}
	if v, _ := h.f.ConfigGet("notify-keyspace-events"); v != "AKE" {
		t.Fatalf("notify-keyspace-events reads %q, want AKE", v)
	}
	apply(3, "SET", "b", "1")
	apply(3, "DEL", "b", "nope")
	apply(3, "SET", "c", "1", "PX", "10")
	h.now += 100
	internal("config-set", "notify-keyspace-events", "Ex")
	h.idx++
	h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
		{Op: fsm.OpInternal, DB: 3, Argv: bargs([]string{"expired", "c"})}}}))
	want := []string{"__keyspace@3__:b set", "__keyevent@3__:set b", "__keyspace@3__:b del", "__keyevent@3__:del b",
		"__keyspace@3__:c set", "__keyevent@3__:set c", "__keyspace@3__:c expire", "__keyevent@3__:expire c",
		"__keyevent@3__:expired c"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	if v := internal("config-set", "notify-keyspace-events", "Kq"); fmtValue(v) !=
		"-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'." {
		t.Fatalf("a bad class: %s", fmtValue(v))
	}
	if v, _ := h.f.ConfigGet("notify-keyspace-events"); v != "xE" {
		t.Fatalf("after a refused change: %q", v)
	}
	// The setting is part of the state: a restored snapshot has it.
	r := fsm.New()
	if err := restore(r, persist(t, mustSnapshot(t, h.f))); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.ConfigGet("notify-keyspace-events"); v != "xE" || r.Hash() != h.f.Hash() {
		t.Fatalf("restored: %q, hash equal %v", v, r.Hash() == h.f.Hash())
	}
}

func mustSnapshot(t testing.TB, f *fsm.FSM) raft.FSMSnapshot {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestNotificationsNewKeys: "new" comes from the keyspace wherever a key is
// added, before the command's own event, and a write that finds a key
// expired reports it expired first, whichever way it looked the key up.
func TestNotificationsNewKeys(t *testing.T) {
	h := newHarness()
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			got = append(got, m.Payload+" "+m.Channel)
		}
	})
	apply := func(args ...string) {
		h.idx++
		h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
			{Op: fsm.OpClient, DB: 2, Argv: bargs(args)}}}))
	}
	h.idx++
	h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
		{Op: fsm.OpInternal, Argv: bargs([]string{"config-set", "notify-keyspace-events", "KA$n"})}}}))
	apply("SET", "a", "1", "PX", "10")
	apply("MSET", "b", "1", "a", "2") // a is live: overwritten
	apply("PEXPIRE", "b", "10")
	apply("PEXPIRE", "a", "10")
	h.now += 100
	apply("SET", "a", "3")        // looked up: expired, then new
	apply("MSET", "b", "2")       // not looked up: the same events
	apply("RPUSH", "l", "x", "y") // new
	apply("LMOVE", "l", "m", "LEFT", "LEFT")
	apply("LPOP", "l")
	want := []string{
		"new __keyspace@2__:a", "set __keyspace@2__:a", "expire __keyspace@2__:a",
		"new __keyspace@2__:b", "set __keyspace@2__:b", "set __keyspace@2__:a",
		"expire __keyspace@2__:b", "expire __keyspace@2__:a",
		"expired __keyspace@2__:a", "new __keyspace@2__:a", "set __keyspace@2__:a",
		"expired __keyspace@2__:b", "new __keyspace@2__:b", "set __keyspace@2__:b",
		"new __keyspace@2__:l", "rpush __keyspace@2__:l",
		"new __keyspace@2__:m", "lpush __keyspace@2__:m", "lpop __keyspace@2__:l",
		"lpop __keyspace@2__:l", "del __keyspace@2__:l",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n%q\nwant\n%q", got, want)
	}
}
