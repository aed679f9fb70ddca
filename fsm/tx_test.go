package fsm_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// watchHarness adds WATCH and EXEC to the harness as the RESP layer does
// them: WATCH reads the keys' versions (and the index they were read at),
// EXEC is one understudy.exec entry carrying the watch records.
type watchHarness struct {
	*harness
	watches []byte
}

func (w *watchHarness) watch(t *testing.T, keys ...string) {
	t.Helper()
	v := w.do(t, append([]string{fsm.VersionsCommand}, keys...)...)
	if v.Kind != fsm.KindArray || len(v.Arr) != len(keys)+1 {
		t.Fatalf("keyversions %q = %s", keys, fmtValue(v))
	}
	at, err := strconv.ParseUint(string(v.Arr[len(keys)].Str), 10, 64)
	if err != nil || at != w.idx {
		t.Fatalf("keyversions read index %q, want %d", v.Arr[len(keys)].Str, w.idx)
	}
	for i, k := range keys {
		ver, err := strconv.ParseUint(string(v.Arr[i].Str), 10, 64)
		if err != nil {
			t.Fatalf("keyversions %q: version %q", k, v.Arr[i].Str)
		}
		w.watches = fsm.AppendWatch(w.watches, 0, []byte(k), ver, at)
	}
}

func (w *watchHarness) exec(t *testing.T, cmds ...[]string) fsm.Value {
	t.Helper()
	var enc []byte
	for _, c := range cmds {
		enc = fsm.AppendCmd(enc, fsm.Cmd{Op: fsm.OpClient, Argv: bargs(c)})
	}
	watches := w.watches
	w.watches = nil
	if watches == nil {
		watches = []byte{}
	}
	if enc == nil {
		enc = []byte{}
	}
	return w.apply(t, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{[]byte(fsm.ExecCommand), watches, enc}})[0]
}

// runWatch runs a script: "WATCH k ..." records versions, "EXEC" runs
// SET <first watched key> x in a transaction and returns its reply,
// "!expired k" applies the leader's expiry entry, "@+N" moves the clock,
// anything else is a command from another client.
func runWatch(t *testing.T, w *watchHarness, script []string) string {
	t.Helper()
	var last string
	var first string
	for _, line := range script {
		switch {
		case strings.HasPrefix(line, "WATCH "):
			keys := strings.Fields(line)[1:]
			if first == "" {
				first = keys[0]
			}
			w.watch(t, keys...)
		case line == "EXEC":
			last = fmtValue(w.exec(t, []string{"SET", first, "x"}))
		case strings.HasPrefix(line, "!"):
			w.internal(t, strings.Fields(line[1:])...)
		default:
			if got := w.run(t, line); strings.HasPrefix(got, "-") {
				t.Fatalf("%q: %s", line, got)
			}
		}
	}
	return last
}

// TestWatch: EXEC aborts (null array) on any change to a watched key after
// WATCH, including one undone before EXEC, and a key that expires; it runs
// when nothing changed, when the key was already expired at WATCH and is
// only reclaimed, and after no-op commands. Expectations checked against
// Redis 7.0 (see compat/testdata/script.txt for the ones a real server can
// replay).
func TestWatch(t *testing.T) {
	const ran, aborted = `[+OK]`, `(nil-array)`
	cases := []struct {
		name   string
		script []string
		want   string
	}{
		{"absent, untouched", []string{"WATCH k", "SET other 1", "EXEC"}, ran},
		{"absent, created", []string{"WATCH k", "SET k 1", "EXEC"}, aborted},
		{"absent, created and deleted (ABA)", []string{"WATCH k", "SET k 1", "DEL k", "EXEC"}, aborted},
		{"absent, created and deleted in one entry", []string{"WATCH k", "MSET k 1 j 2", "GETDEL k", "EXEC"}, aborted},
		{"absent, list pushed and popped empty", []string{"WATCH k", "RPUSH k a", "LPOP k", "EXEC"}, aborted},
		{"absent, renamed in and out", []string{"WATCH k", "SET a 1", "RENAME a k", "RENAME k b", "EXEC"}, aborted},
		{"absent, SET with a time already past", []string{"WATCH k", "SET k 1 PXAT 1000", "EXEC"}, aborted},
		{"absent, DEL of nothing", []string{"WATCH k", "DEL k", "EXEC"}, ran},
		{"absent, EXPIRE of nothing", []string{"WATCH k", "EXPIRE k 0", "EXEC"}, ran},
		{"absent, deleted before WATCH", []string{"SET k 1", "DEL k", "WATCH k", "EXEC"}, ran},
		{"absent, FLUSHALL of other keys", []string{"SET o 1", "WATCH k", "FLUSHALL", "EXEC"}, ran},
		{"absent, created then FLUSHALL", []string{"WATCH k", "SET k 1", "FLUSHALL", "EXEC"}, aborted},
		{"present, untouched", []string{"SET k 1", "WATCH k", "SET other 1", "EXEC"}, ran},
		{"present, same value rewritten", []string{"SET k 1", "WATCH k", "SET k 1", "EXEC"}, aborted},
		{"present, deleted", []string{"SET k 1", "WATCH k", "DEL k", "EXEC"}, aborted},
		{"present, deleted and restored", []string{"SET k 1", "WATCH k", "DEL k", "SET k 1", "EXEC"}, aborted},
		{"present, FLUSHALL", []string{"SET k 1", "WATCH k", "FLUSHALL", "EXEC"}, aborted},
		{"present, TTL set", []string{"SET k 1", "WATCH k", "EXPIRE k 100", "EXEC"}, aborted},
		{"live, expires before EXEC", []string{"SET k 1 PX 100", "WATCH k", "@+200", "EXEC"}, aborted},
		{"live, expires and is reclaimed", []string{"SET k 1 PX 100", "WATCH k", "@+200", "!expired k", "EXEC"}, aborted},
		{"live, expires and a write reclaims it", []string{"SET k 1 PX 100", "WATCH k", "@+200", "DEL k", "EXEC"}, aborted},
		{"expired at WATCH, untouched", []string{"SET k 1 PX 100", "@+200", "WATCH k", "EXEC"}, ran},
		{"expired at WATCH, reclaimed", []string{"SET k 1 PX 100", "@+200", "WATCH k", "!expired k", "EXEC"}, ran},
		{"expired at WATCH, a write reclaims it", []string{"SET k 1 PX 100", "@+200", "WATCH k", "DEL k", "EXEC"}, ran},
		{"expired at WATCH, FLUSHALL", []string{"SET k 1 PX 100", "@+200", "WATCH k", "FLUSHALL", "EXEC"}, ran},
		{"expired at WATCH, rewritten", []string{"SET k 1 PX 100", "@+200", "WATCH k", "SET k 2", "EXEC"}, aborted},
		{"expired at WATCH, rewritten and deleted", []string{"SET k 1 PX 100", "@+200", "WATCH k", "SET k 2", "DEL k", "EXEC"}, aborted},
		{"expired at WATCH, rewritten to expire again", []string{"SET k 1 PX 100", "@+200", "WATCH k", "SET k 2 PX 10", "@+50", "EXEC"}, aborted},
		{"several keys, one changed", []string{"SET a 1", "WATCH a b", "SET b 1", "DEL b", "EXEC"}, aborted},
		{"several keys, none changed", []string{"SET a 1", "WATCH a b", "SET c 1", "DEL c", "EXEC"}, ran},
		// Tombstones older than a minute are forgotten; an absent key
		// watched before then may have changed, so EXEC aborts even though
		// the deletion was of another key (the documented conservative case).
		{"absent, tombstones pruned since", []string{"WATCH k", "SET o 1", "DEL o", "@+61000", "SET p 1", "EXEC"}, aborted},
		{"absent, ABA pruned since", []string{"WATCH k", "SET k 1", "DEL k", "@+61000", "SET p 1", "EXEC"}, aborted},
		{"absent, tombstones pruned before WATCH", []string{"SET o 1", "DEL o", "@+61000", "SET p 1", "WATCH k", "EXEC"}, ran},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := &watchHarness{harness: newHarness()}
			if got := runWatch(t, w, c.script); got != c.want {
				t.Fatalf("%q: EXEC = %s, want %s", c.script, got, c.want)
			}
		})
	}
}

// TestWatchRecords: records written before tombstones existed (key,
// version) still compare as then, and malformed ones are refused.
func TestWatchRecords(t *testing.T) {
	rec := func(argv ...string) []byte { return fsm.AppendCmd(nil, fsm.Cmd{Op: fsm.OpClient, Argv: bargs(argv)}) }
	set := rec("SET", "k", "x")
	cases := []struct {
		name    string
		setup   []string
		watches []byte
		want    string
	}{
		{"old absent record, still absent", []string{"SET k 1", "DEL k"}, rec("k", "0"), `[+OK]`},
		{"old absent record, now present", []string{"SET k 1"}, rec("k", "0"), `(nil-array)`},
		{"version record, same", []string{"SET k 1"}, rec("k", "1"), `[+OK]`},
		{"version record, other", []string{"SET k 1"}, rec("k", "7"), `(nil-array)`},
		{"absent record, later index", []string{"SET k 1", "DEL k"}, rec("k", "0", "2"), `[+OK]`},
		{"absent record, earlier index", []string{"SET k 1", "DEL k"}, rec("k", "0", "1"), `(nil-array)`},
		{"one field", nil, rec("k"), `-ERR malformed transaction`},
		{"four fields", nil, rec("k", "0", "1", "2"), `-ERR malformed transaction`},
		{"bad version", nil, rec("k", "x"), `-ERR malformed transaction`},
		{"bad index", nil, rec("k", "0", "-1"), `-ERR malformed transaction`},
		{"index with a version", nil, rec("k", "3", "1"), `-ERR malformed transaction`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness()
			for _, s := range c.setup {
				h.run(t, s)
			}
			v := h.apply(t, fsm.Cmd{Op: fsm.OpClient, Argv: [][]byte{[]byte(fsm.ExecCommand), c.watches, set}})[0]
			if got := fmtValue(v); got != c.want {
				t.Fatalf("EXEC = %s, want %s", got, c.want)
			}
		})
	}
}
