package fsm_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

const (
	incrScript = "return redis.call('INCRBY', KEYS[1], ARGV[1])"
	roScript   = "#!lua flags=no-writes\nreturn redis.call('GET', KEYS[1])"
	lib        = "#!lua name=lib\n" +
		"redis.register_function('bump', function(keys, args) return redis.call('INCR', keys[1]) end)\n" +
		"redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}"
)

func TestScripting_EvalAndCache(t *testing.T) {
	h := newHarness()
	runCases(t, []tc{
		row("eval writes", nil, "EVAL \""+incrScript+"\" 1 k 5", ":5"),
		row("evalsha unknown", nil, "EVALSHA 6a9fd1c6a58fca4b5e6a1a5fb7e5c0f0ce5e6f6b 1 k 1", "-NOSCRIPT No matching script. Please use EVAL."),
		row("numkeys", nil, "EVAL \"return 1\" x", "-ERR value is not an integer or out of range"),
		row("numkeys negative", nil, "EVAL \"return 1\" -1", "-ERR Number of keys can't be negative"),
		row("numkeys too many", nil, "EVAL \"return 1\" 2 a", "-ERR Number of keys can't be greater than number of args"),
		row("ro refuses write flag", nil, `EVAL_RO "#!lua\nreturn 1" 0`, "-ERR Can not execute a script with write flag using *_ro command."),
		row("ro write inside", nil, "EVAL_RO \"return redis.call('set','a',1)\" 0",
			"-ERR Write commands are not allowed from read-only scripts. script: 119b0beb461d5982ddacc6dda6829882d5e16b4d, on @user_script:1."),
		row("script flush option", nil, "SCRIPT FLUSH x", "-ERR SCRIPT FLUSH only support SYNC|ASYNC option"),
		row("not from script", nil, "EVAL \"return redis.call('multi')\" 0",
			"-ERR This Redis command is not allowed from script script: c329a1a294be6bf95b44144f7502610661ae925a, on @user_script:1."),
	})
	sha := h.do(t, "SCRIPT", "LOAD", incrScript)
	if sha.Kind != fsm.KindBulk || len(sha.Str) != 40 {
		t.Fatalf("SCRIPT LOAD = %s", fmtValue(sha))
	}
	if got := fmtValue(h.do(t, "EVALSHA", strings.ToUpper(string(sha.Str)), "1", "n", "7")); got != ":7" {
		t.Fatalf("EVALSHA = %s", got)
	}
	if got := fmtValue(h.do(t, "SCRIPT", "EXISTS", string(sha.Str), "nope")); got != "[:1 :0]" {
		t.Fatalf("SCRIPT EXISTS = %s", got)
	}
	h.do(t, "SCRIPT", "FLUSH")
	if got := fmtValue(h.do(t, "EVALSHA", string(sha.Str), "1", "n", "7")); !strings.HasPrefix(got, "-NOSCRIPT") {
		t.Fatalf("EVALSHA after FLUSH = %s", got)
	}
}

// TestScripting_SelectInsideScript: SELECT moves the script only (Redis 7).
func TestScripting_SelectInsideScript(t *testing.T) {
	h := newHarness()
	got := h.do(t, "EVAL", "redis.call('SELECT', 3); redis.call('SET', KEYS[1], 'x'); return redis.call('SELECT', 99)", "1", "k")
	if !bytes.Contains(got.Str, []byte("DB index is out of range")) {
		t.Fatalf("SELECT 99 = %s", fmtValue(got))
	}
	if v := fmtValue(h.do(t, "EXISTS", "k")); v != ":0" {
		t.Fatalf("db 0 EXISTS = %s", v)
	}
	h.db = 3
	if v := fmtValue(h.do(t, "GET", "k")); v != `"x"` {
		t.Fatalf("db 3 GET = %s", v)
	}
}

// TestScripting_Determinism: two state machines applying the same entries
// (scripts using the clock, math.random and redis.call) agree on every
// reply and on the state, including the script cache.
func TestScripting_Determinism(t *testing.T) {
	a, b := newHarness(), newHarness()
	cmds := [][]string{
		{"EVAL", "redis.call('SET', KEYS[1], math.random(1000000)); return redis.call('TIME')", "1", "r"},
		{"EVAL", "for i=1,50 do redis.call('RPUSH', KEYS[1], math.random()) end return redis.call('LLEN', KEYS[1])", "1", "l"},
		{"FUNCTION", "LOAD", lib},
		{"FCALL", "bump", "1", "c"},
		{"EVAL", "local t = {} for i=1,20 do t[#t+1] = redis.call('SRANDMEMBER', 's') end return #t", "0"},
		{"SCRIPT", "LOAD", incrScript},
	}
	for _, c := range cmds {
		ra, rb := fmtValue(a.do(t, c...)), fmtValue(b.do(t, c...))
		if ra != rb {
			t.Fatalf("%q: %s vs %s", c, ra, rb)
		}
	}
	if a.f.Hash() != b.f.Hash() {
		t.Fatal("state hashes differ")
	}
}

// TestScripting_BudgetStopUndoes: a script stopped by the instruction
// budget stops at the same point on every node, with the same error, and
// leaves nothing of what it wrote.
func TestScripting_BudgetStopUndoes(t *testing.T) {
	a, b := newHarness(), newHarness()
	for _, h := range []*harness{a, b} {
		h.configSet(t, "lua-instruction-limit", "10000")
		h.do(t, "SET", "keep", "1")
		h.do(t, "RPUSH", "list", "a", "b")
	}
	body := "redis.call('SET', 'keep', 'changed'); redis.call('RPUSH', 'list', 'c'); redis.call('SET', 'new', 1); redis.call('SELECT', 5); redis.call('SET', 'other', 1); while true do end"
	ra, rb := a.do(t, "EVAL", body, "0"), b.do(t, "EVAL", body, "0")
	if fmtValue(ra) != fmtValue(rb) || !bytes.Contains(ra.Str, []byte("exceeded the instruction limit of 10000")) {
		t.Fatalf("replies: %s / %s", fmtValue(ra), fmtValue(rb))
	}
	for _, h := range []*harness{a, b} {
		for line, want := range map[string]string{"GET keep": `"1"`, "LRANGE list 0 -1": `["a" "b"]`, "EXISTS new": ":0"} {
			if got := h.run(t, line); got != want {
				t.Errorf("%s = %s, want %s", line, got, want)
			}
		}
		h.db = 5
		if got := h.run(t, "EXISTS other"); got != ":0" {
			t.Errorf("db 5 EXISTS other = %s", got)
		}
		h.db = 0
	}
	if a.f.Hash() != b.f.Hash() {
		t.Fatal("state hashes differ")
	}
	// The next write script starts from the restored state.
	if got := fmtValue(a.do(t, "EVAL", "return redis.call('RPUSH', 'list', 'z')", "0")); got != ":3" {
		t.Fatalf("RPUSH after the stop = %s", got)
	}
}

// TestScripting_SnapshotKeepsScripts: the cache and the libraries survive a
// snapshot and restore; the state hashes equal.
func TestScripting_SnapshotKeepsScripts(t *testing.T) {
	h := newHarness()
	sha := string(h.do(t, "SCRIPT", "LOAD", roScript).Str)
	h.do(t, "EVAL", incrScript, "1", "k", "2")
	if v := h.do(t, "FUNCTION", "LOAD", lib); v.Kind == fsm.KindError {
		t.Fatal(fmtValue(v))
	}
	var buf bytes.Buffer
	if _, err := h.f.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	g := newHarness()
	if err := g.f.Restore(&readCloser{Reader: bytes.NewReader(buf.Bytes())}); err != nil {
		t.Fatal(err)
	}
	if g.f.Hash() != h.f.Hash() {
		t.Fatal("hash differs after restore")
	}
	g.now, g.idx = h.now, h.idx
	if got := fmtValue(g.do(t, "EVALSHA", sha, "1", "k")); got != `"2"` {
		t.Fatalf("EVALSHA after restore = %s", got)
	}
	if got := fmtValue(g.do(t, "FCALL", "bump", "1", "k")); got != ":3" {
		t.Fatalf("FCALL after restore = %s", got)
	}
	if got := fmtValue(g.do(t, "FCALL_RO", "peek", "1", "k")); got != `"3"` {
		t.Fatalf("FCALL_RO after restore = %s", got)
	}
	if !g.f.ReadOnlyScript(bargs([]string{"EVALSHA", sha, "1", "k"})) || g.f.ReadOnlyScript(bargs([]string{"FCALL", "bump", "1", "k"})) {
		t.Fatal("ReadOnlyScript misjudges the restored scripts")
	}
}

// TestScripting_FunctionDumpRestore: DUMP's payload restores, with Redis's
// policies and errors; a payload redis-server 7.0.15 wrote (LZF-compressed)
// restores too.
func TestScripting_FunctionDumpRestore(t *testing.T) {
	h := newHarness()
	h.do(t, "FUNCTION", "LOAD", lib)
	dump := h.do(t, "FUNCTION", "DUMP")
	h.do(t, "FUNCTION", "FLUSH")
	if got := fmtValue(h.do(t, "FUNCTION", "RESTORE", string(dump.Str))); got != "+OK" {
		t.Fatalf("RESTORE = %s", got)
	}
	if got := fmtValue(h.do(t, "FUNCTION", "RESTORE", string(dump.Str))); got != "-ERR Library lib already exists" {
		t.Fatalf("RESTORE again = %s", got)
	}
	if got := fmtValue(h.do(t, "FUNCTION", "RESTORE", string(dump.Str), "REPLACE")); got != "+OK" {
		t.Fatalf("RESTORE REPLACE = %s", got)
	}
	if got := fmtValue(h.do(t, "FUNCTION", "RESTORE", "xx")); got != "-ERR DUMP payload version or checksum are wrong" {
		t.Fatalf("RESTORE garbage = %s", got)
	}
	// FUNCTION DUMP of redis-server 7.0.15 after loading mylib (see
	// functions.go), LZF-compressed.
	redisDump := "\xf5\xc3@\x91@\x9b\x1f#!lua name=mylib\nredis.register_\bfunction{\xc0\b\x00_`+\x0e'f1', callback=\xc0\x1c\x1f(keys, args) return 1 end, flags\x0e={'no-writes',' >\x10ow-oom'}, descrip@l\x05='hi'}\n\x00:\xcb\x9cO\x16XN\x15"
	if got := fmtValue(h.do(t, "FUNCTION", "RESTORE", redisDump)); got != "+OK" {
		t.Fatalf("RESTORE of redis-server's dump = %s", got)
	}
	if got := fmtValue(h.do(t, "FCALL_RO", "f1", "0")); got != ":1" {
		t.Fatalf("FCALL_RO f1 = %s", got)
	}
}

// TestScripting_NotificationsAndUndo: commands inside a script send their
// keyspace events, in the database the script selected; a script stopped
// by its budget sends none of its events.
func TestScripting_NotificationsAndUndo(t *testing.T) {
	h := newHarness()
	h.configSet(t, "notify-keyspace-events", "KA", "lua-instruction-limit", "5000")
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			got = append(got, m.Channel+" "+m.Payload)
		}
	})
	apply := func(args ...string) fsm.Value {
		h.idx++
		return h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
			{Op: fsm.OpClient, DB: 0, Argv: bargs(args)}}})).(*fsm.Result).Replies[0]
	}
	apply("EVAL", "redis.call('SET', KEYS[1], 1); redis.call('SELECT', 2); return redis.call('LPUSH', KEYS[1], 'x')", "1", "k")
	want := []string{"__keyspace@0__:k set", "__keyspace@2__:k lpush"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	got = nil
	if v := apply("EVAL", "redis.call('SET', KEYS[1], 2); while true do end", "1", "k"); v.Kind != fsm.KindError {
		t.Fatalf("runaway script: %s", fmtValue(v))
	}
	if len(got) != 0 {
		t.Fatalf("an undone script sent events: %q", got)
	}
}

// BenchmarkScripting_EvalshaApply: one EVALSHA of a small write script per
// entry, applied; /list10k writes to a 10,000-element list, which the undo
// saving copies once per script (undo.go).
func BenchmarkScripting_EvalshaApply(b *testing.B) {
	for _, size := range []int{0, 10000} {
		b.Run(fmt.Sprintf("list%d", size), func(b *testing.B) {
			h := newHarness()
			for i := 0; i < size; i += 1000 {
				args := []string{"RPUSH", "l"}
				for j := 0; j < 1000; j++ {
					args = append(args, "x")
				}
				h.do(b, args...)
			}
			sha := string(h.do(b, "SCRIPT", "LOAD", "redis.call('INCR', KEYS[1]) return redis.call('LPUSH', KEYS[2], ARGV[1])").Str)
			argv := bargs([]string{"EVALSHA", sha, "2", "n", "l", "v"})
			b.ResetTimer()
			for range b.N {
				h.apply(b, fsm.Cmd{Op: fsm.OpClient, Argv: argv})
			}
		})
	}
}
