package fsm_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/cmdtab"
	"github.com/understudy/understudy/fsm"
)

func keyCases() []tc {
	kv := lines("SET k v")
	ttl := lines("SET k v EX 100")
	// Keys for the glob tests.
	globKeys := lines("MSET hello 1 hallo 1 hxllo 1 hllo 1 heeeello 1 h*llo 1 h?llo 1 a 1 b 1 c 1 [ab] 1 A 1 ^ 1")
	const (
		errNoKey = "-ERR no such key"
		errCurs  = "-ERR invalid cursor"
	)
	return []tc{
		// DEL, UNLINK, EXISTS, TYPE
		row("del", lines("SET a 1", "SET b 2"), "DEL a b c", ":2"),
		row("del missing", nil, "DEL k", ":0"),
		row("del repeated", kv, "DEL k k", ":1"),
		row("del expired", lines("SET k v PX 10", "@+11"), "DEL k", ":0"),
		{name: "unlink", setup: lines("SET a 1", "SET b 2"), steps: []step{{"UNLINK a b c", ":2"}, {"EXISTS a b", ":0"}}},
		row("exists counts repeats", kv, "EXISTS k k x", ":2"),
		row("exists missing", nil, "EXISTS k", ":0"),
		// Redis's rule (keyIsExpired: now > when): a key lives through the
		// millisecond it expires at, with PTTL 0, and is gone the next.
		{name: "exists expiry boundary", setup: lines("SET k v PX 10"), steps: []step{
			{"@+10", ""}, {"EXISTS k", ":1"}, {"PTTL k", ":0"}, {"@+1", ""}, {"EXISTS k", ":0"}}},
		row("type string", kv, "TYPE k", "+string"),
		row("type none", nil, "TYPE k", "+none"),
		row("type expired", lines("SET k v PX 10", "@+11"), "TYPE k", "+none"),

		// EXPIRE family
		{name: "expire", setup: kv, steps: []step{{"EXPIRE k 10", ":1"}, {"TTL k", ":10"}}},
		row("expire missing", nil, "EXPIRE k 10", ":0"),
		{name: "expire 0 deletes", setup: kv, steps: []step{{"EXPIRE k 0", ":1"}, {"EXISTS k", ":0"}}},
		{name: "expire negative deletes", setup: kv, steps: []step{{"EXPIRE k -1", ":1"}, {"EXISTS k", ":0"}}},
		{name: "expire expired key", setup: lines("SET k v PX 10", "@+11"), steps: []step{{"EXPIRE k 10", ":0"}, {"EXISTS k", ":0"}}},
		{name: "pexpire", setup: kv, steps: []step{{"PEXPIRE k 1500", ":1"}, {"PTTL k", ":1500"}}},
		{name: "expireat", setup: kv, steps: []step{{"EXPIREAT k 1700000010", ":1"}, {"TTL k", ":10"}}},
		{name: "expireat past", setup: kv, steps: []step{{"EXPIREAT k 1699999999", ":1"}, {"EXISTS k", ":0"}}},
		{name: "pexpireat", setup: kv, steps: []step{{"PEXPIREAT k 1700000000750", ":1"}, {"PTTL k", ":750"}}},
		{name: "pexpireat now", setup: kv, steps: []step{{"PEXPIREAT k 1700000000000", ":1"}, {"EXISTS k", ":0"}}},
		{name: "pexpireat max", setup: kv, steps: []step{
			{"PEXPIREAT k 9223372036854775807", ":1"}, {"PEXPIRETIME k", ":9223372036854775807"}, {"EXPIRETIME k", ":9223372036854776"}}},
		{name: "expire nx no ttl", setup: kv, steps: []step{{"EXPIRE k 10 NX", ":1"}, {"TTL k", ":10"}}},
		{name: "expire nx with ttl", setup: ttl, steps: []step{{"EXPIRE k 10 nx", ":0"}, {"TTL k", ":100"}}},
		{name: "expire xx no ttl", setup: kv, steps: []step{{"EXPIRE k 10 XX", ":0"}, {"TTL k", ":-1"}}},
		{name: "expire xx with ttl", setup: ttl, steps: []step{{"EXPIRE k 10 XX", ":1"}, {"TTL k", ":10"}}},
		{name: "expire gt no ttl", setup: kv, steps: []step{{"EXPIRE k 10 GT", ":0"}, {"TTL k", ":-1"}}},
		{name: "expire gt greater", setup: ttl, steps: []step{{"EXPIRE k 200 GT", ":1"}, {"TTL k", ":200"}}},
		row("expire gt equal", ttl, "EXPIRE k 100 GT", ":0"),
		row("expire gt smaller", ttl, "EXPIRE k 50 GT", ":0"),
		{name: "expire gt past", setup: ttl, steps: []step{{"EXPIRE k -1 GT", ":0"}, {"EXISTS k", ":1"}}},
		{name: "expire lt no ttl", setup: kv, steps: []step{{"EXPIRE k 10 LT", ":1"}, {"TTL k", ":10"}}},
		{name: "expire lt smaller", setup: ttl, steps: []step{{"EXPIRE k 50 LT", ":1"}, {"TTL k", ":50"}}},
		row("expire lt equal", ttl, "EXPIRE k 100 LT", ":0"),
		row("expire lt greater", ttl, "EXPIRE k 200 LT", ":0"),
		{name: "expire lt past deletes", setup: ttl, steps: []step{{"EXPIRE k -1 LT", ":1"}, {"EXISTS k", ":0"}}},
		{name: "expire xx gt", setup: ttl, steps: []step{{"EXPIRE k 200 XX GT", ":1"}, {"TTL k", ":200"}}},
		row("expire nx xx", kv, "EXPIRE k 10 NX XX", "-ERR NX and XX, GT or LT options at the same time are not compatible"),
		row("expire nx gt", kv, "EXPIRE k 10 NX GT", "-ERR NX and XX, GT or LT options at the same time are not compatible"),
		row("expire lt nx", kv, "EXPIRE k 10 LT NX", "-ERR NX and XX, GT or LT options at the same time are not compatible"),
		row("expire gt lt", kv, "EXPIRE k 10 GT LT", "-ERR GT and LT options at the same time are not compatible"),
		row("expire unknown option", kv, "EXPIRE k 10 FOO", "-ERR Unsupported option FOO"),
		row("expire options before time", kv, "EXPIRE k abc foo", "-ERR Unsupported option foo"),
		row("expire conflict before time", kv, "EXPIRE k abc NX XX", "-ERR NX and XX, GT or LT options at the same time are not compatible"),
		row("expire option with newline", kv, `EXPIRE k 10 "a\r\nb"`, "-ERR Unsupported option a  b"),
		row("expire option with nul", kv, `EXPIRE k 10 "a\x00b"`, "-ERR Unsupported option a"),
		row("expire not integer", kv, "EXPIRE k abc", errNotInt),
		row("expire float", kv, "EXPIRE k 1.5", errNotInt),
		row("expire overflow", kv, "EXPIRE k 9223372036854775807", errExpire("expire")),
		row("expire underflow", kv, "EXPIRE k -9223372036854775808", errExpire("expire")),
		row("expire overflow missing key", nil, "EXPIRE k 9223372036854775807", errExpire("expire")),
		row("pexpire overflow", kv, "PEXPIRE k 9223372036854775807", errExpire("pexpire")),
		row("expireat overflow", kv, "EXPIREAT k 9223372036854776", errExpire("expireat")),

		// TTL, PTTL, EXPIRETIME, PEXPIRETIME
		row("ttl missing", nil, "TTL k", ":-2"),
		row("ttl no expiry", kv, "TTL k", ":-1"),
		row("pttl missing", nil, "PTTL k", ":-2"),
		row("pttl no expiry", kv, "PTTL k", ":-1"),
		row("ttl rounds 1499", lines("SET k v PX 1499"), "TTL k", ":1"),
		row("ttl rounds 1500", lines("SET k v PX 1500"), "TTL k", ":2"),
		row("ttl rounds 499", lines("SET k v PX 499"), "TTL k", ":0"),
		row("ttl rounds 500", lines("SET k v PX 500"), "TTL k", ":1"),
		{name: "ttl counts down", setup: lines("SET k v EX 10"), steps: []step{
			{"@+2400", ""}, {"TTL k", ":8"}, {"PTTL k", ":7600"}, {"@+7599", ""}, {"PTTL k", ":1"}, {"TTL k", ":0"},
			{"@+1", ""}, {"PTTL k", ":0"}, {"TTL k", ":0"}, {"@+1", ""}, {"TTL k", ":-2"}, {"PTTL k", ":-2"}}},
		row("expiretime missing", nil, "EXPIRETIME k", ":-2"),
		row("expiretime no expiry", kv, "EXPIRETIME k", ":-1"),
		row("pexpiretime no expiry", kv, "PEXPIRETIME k", ":-1"),
		row("expiretime rounds up", lines("SET k v PXAT 1700000010500"), "EXPIRETIME k", ":1700000011"),
		row("expiretime rounds down", lines("SET k v PXAT 1700000010499"), "EXPIRETIME k", ":1700000010"),
		row("pexpiretime", lines("SET k v PXAT 1700000010499"), "PEXPIRETIME k", ":1700000010499"),
		row("expiretime ex", lines("SET k v EX 10"), "EXPIRETIME k", ":1700000010"),

		// PERSIST
		row("persist missing", nil, "PERSIST k", ":0"),
		row("persist no ttl", kv, "PERSIST k", ":0"),
		{name: "persist", setup: ttl, steps: []step{{"PERSIST k", ":1"}, {"TTL k", ":-1"}, {"PERSIST k", ":0"}}},
		row("persist expired", lines("SET k v PX 10", "@+11"), "PERSIST k", ":0"),

		// RENAME, RENAMENX
		{name: "rename", setup: lines("SET a v"), steps: []step{{"RENAME a b", "+OK"}, {"GET b", `"v"`}, {"EXISTS a", ":0"}}},
		row("rename missing", nil, "RENAME a b", errNoKey),
		row("rename same missing", nil, "RENAME a a", errNoKey),
		{name: "rename same", setup: lines("SET a v EX 100"), steps: []step{{"RENAME a a", "+OK"}, {"GET a", `"v"`}, {"TTL a", ":100"}}},
		{name: "rename keeps ttl", setup: lines("SET a v EX 100"), steps: []step{{"RENAME a b", "+OK"}, {"TTL b", ":100"}}},
		{name: "rename overwrites ttl", setup: lines("SET a v", "SET b x EX 50"), steps: []step{{"RENAME a b", "+OK"}, {"TTL b", ":-1"}, {"GET b", `"v"`}}},
		row("rename expired", lines("SET a v PX 10", "@+11"), "RENAME a b", errNoKey),
		{name: "renamenx", setup: lines("SET a v PX 5000"), steps: []step{{"RENAMENX a b", ":1"}, {"PTTL b", ":5000"}, {"EXISTS a", ":0"}}},
		{name: "renamenx exists", setup: lines("SET a v", "SET b x"), steps: []step{{"RENAMENX a b", ":0"}, {"MGET a b", `["v" "x"]`}}},
		row("renamenx same", lines("SET a v"), "RENAMENX a a", ":0"),
		row("renamenx missing", nil, "RENAMENX a b", errNoKey),
		{name: "renamenx expired dest", setup: lines("SET a v", "SET b x PX 10", "@+11"), steps: []step{{"RENAMENX a b", ":1"}, {"GET b", `"v"`}}},

		// KEYS
		row("keys all", globKeys, "~KEYS *", `["A" "[ab]" "^" "a" "b" "c" "h*llo" "h?llo" "hallo" "heeeello" "hello" "hllo" "hxllo"]`),
		row("keys question", globKeys, "~KEYS h?llo", `["h*llo" "h?llo" "hallo" "hello" "hxllo"]`),
		row("keys star", globKeys, "~KEYS h*llo", `["h*llo" "h?llo" "hallo" "heeeello" "hello" "hllo" "hxllo"]`),
		row("keys double star", globKeys, "~KEYS h**o", `["h*llo" "h?llo" "hallo" "heeeello" "hello" "hllo" "hxllo"]`),
		row("keys class", globKeys, "~KEYS h[ae]llo", `["hallo" "hello"]`),
		row("keys negated class", globKeys, "~KEYS h[^e]llo", `["h*llo" "h?llo" "hallo" "hxllo"]`),
		row("keys range", globKeys, "~KEYS [a-c]", `["a" "b" "c"]`),
		row("keys reversed range", globKeys, "~KEYS [c-a]", `["a" "b" "c"]`),
		row("keys negated range", globKeys, "~KEYS [^a-c]", `["A" "^"]`),
		row("keys escaped star", globKeys, `~KEYS h\*llo`, `["h*llo"]`),
		row("keys escaped question", globKeys, `~KEYS h\?llo`, `["h?llo"]`),
		row("keys escaped brackets", globKeys, `~KEYS \[ab\]`, `["[ab]"]`),
		row("keys escape in class", globKeys, `~KEYS [\^]`, `["^"]`),
		row("keys unterminated class", globKeys, "~KEYS [ab", `["a" "b"]`),
		row("keys case sensitive", globKeys, "~KEYS A*", `["A"]`),
		row("keys star prefix", globKeys, "~KEYS *llo", `["h*llo" "h?llo" "hallo" "heeeello" "hello" "hllo" "hxllo"]`),
		row("keys star middle", globKeys, "~KEYS h*e*o", `["heeeello" "hello"]`),
		row("keys no match", globKeys, "KEYS nomatch*", `[]`),
		row("keys empty db", nil, "KEYS *", `[]`),
		row("keys hides expired", lines("SET a 1", "SET b 2 PX 10", "@+11"), "~KEYS *", `["a"]`),
		row("keys literal", globKeys, "KEYS hello", `["hello"]`),
		// An empty key matches only an empty pattern, or the lone "*" that
		// KEYS and SCAN take as "everything".
		{name: "keys empty key", setup: lines(`SET "" v`, "SET a v"), steps: []step{
			{"~KEYS *", `["" "a"]`}, {"KEYS **", `["a"]`}, {"~KEYS *?", `["a"]`}, {`KEYS ""`, `[""]`},
			{"~SCAN 0 MATCH * COUNT 100", `["0" ["" "a"]]`}, {"SCAN 0 MATCH ** COUNT 100", `["0" ["a"]]`}}},

		// SCAN (iteration is tested separately)
		row("scan all", lines("MSET a 1 b 2 c 3"), "~SCAN 0 COUNT 1000", `["0" ["a" "b" "c"]]`),
		row("scan empty", nil, "SCAN 0", `["0" []]`),
		row("scan match", globKeys, "~SCAN 0 MATCH h?llo COUNT 1000", `["0" ["h*llo" "h?llo" "hallo" "hello" "hxllo"]]`),
		row("scan type string", lines("MSET a 1 b 2"), "~SCAN 0 TYPE string COUNT 1000", `["0" ["a" "b"]]`),
		row("scan type case", lines("MSET a 1 b 2"), "~SCAN 0 type STRING count 1000", `["0" ["a" "b"]]`),
		row("scan type other", lines("MSET a 1 b 2"), "SCAN 0 TYPE hash COUNT 1000", `["0" []]`),
		row("scan hides expired", lines("SET a 1", "SET b 2 PX 10", "@+11"), "SCAN 0 COUNT 1000", `["0" ["a"]]`),
		row("scan empty cursor", lines("SET a 1"), `SCAN ""`, `["0" ["a"]]`),
		row("scan plus cursor", lines("SET a 1"), `SCAN +0`, `["0" ["a"]]`),
		row("scan cursor letters", nil, "SCAN abc", errCurs),
		row("scan cursor float", nil, "SCAN 1.5", errCurs),
		row("scan cursor space", nil, `SCAN " 0"`, errCurs),
		row("scan cursor trailing space", nil, `SCAN "0 "`, errCurs),
		row("scan cursor overflow", nil, "SCAN 18446744073709551616", errCurs),
		row("scan cursor sign only", nil, "SCAN -", errCurs),
		row("scan count 0", nil, "SCAN 0 COUNT 0", errSyntax),
		row("scan count negative", nil, "SCAN 0 COUNT -1", errSyntax),
		row("scan count not integer", nil, "SCAN 0 COUNT abc", errNotInt),
		row("scan count missing", nil, "SCAN 0 COUNT", errSyntax),
		row("scan match missing", nil, "SCAN 0 MATCH", errSyntax),
		row("scan unknown option", nil, "SCAN 0 FOO bar", errSyntax),

		// DBSIZE, FLUSHDB, FLUSHALL, RANDOMKEY
		row("dbsize empty", nil, "DBSIZE", ":0"),
		row("dbsize", lines("MSET a 1 b 2 c 3", "DEL b"), "DBSIZE", ":2"),
		{name: "flushdb", setup: lines("MSET a 1 b 2", "SET c 3 EX 10"), steps: []step{{"FLUSHDB", "+OK"}, {"DBSIZE", ":0"}, {"TTL c", ":-2"}}},
		{name: "flushdb async", setup: lines("MSET a 1 b 2"), steps: []step{{"FLUSHDB ASYNC", "+OK"}, {"DBSIZE", ":0"}}},
		{name: "flushdb sync", setup: lines("MSET a 1 b 2"), steps: []step{{"flushdb sync", "+OK"}, {"DBSIZE", ":0"}}},
		{name: "flushdb bad option", setup: lines("MSET a 1 b 2"), steps: []step{{"FLUSHDB foo", errSyntax}, {"DBSIZE", ":2"}}},
		row("flushdb extra", nil, "FLUSHDB SYNC ASYNC", errSyntax),
		{name: "flushall", setup: lines("MSET a 1 b 2"), steps: []step{{"FLUSHALL", "+OK"}, {"DBSIZE", ":0"}}},
		row("flushall async", nil, "FLUSHALL ASYNC", "+OK"),
		row("flushall bad option", nil, "FLUSHALL foo", errSyntax),
		row("randomkey empty", nil, "RANDOMKEY", "(nil)"),
		row("randomkey one", kv, "RANDOMKEY", `"k"`),

		// Unknown commands
		row("unknown", nil, "foo a b", "-ERR unknown command 'foo', with args beginning with: 'a' 'b' "),
		row("unknown no args", nil, "FOO", "-ERR unknown command 'FOO', with args beginning with: "),
		row("unknown empty arg", nil, `foo ""`, "-ERR unknown command 'foo', with args beginning with: '' "),
		row("unknown crlf", nil, `"fo\no" "a\r\nb" "c\nd"`, "-ERR unknown command 'fo o', with args beginning with: 'a  b' 'c d' "),
		row("unknown nul", nil, `foo "a\x00b" c`, "-ERR unknown command 'foo', with args beginning with: 'a' 'c' "),
		row("unknown long args", nil, "foo "+strings.Repeat("a", 103)+" "+strings.Repeat("b", 52)+" cccc",
			"-ERR unknown command 'foo', with args beginning with: '"+strings.Repeat("a", 103)+"' '"+strings.Repeat("b", 22)+"' "),
		row("unknown long name", nil, strings.Repeat("x", 200), "-ERR unknown command '"+strings.Repeat("x", 128)+"', with args beginning with: "),
		row("unknown args stop at 128", nil, "foo "+strings.Repeat("a", 126)+" b c",
			"-ERR unknown command 'foo', with args beginning with: '"+strings.Repeat("a", 126)+"' "),
		row("unknown one long arg", nil, "foo "+strings.Repeat("a", 300),
			"-ERR unknown command 'foo', with args beginning with: '"+strings.Repeat("a", 128)+"' "),
	}
}

func TestKeyCommands(t *testing.T) { runCases(t, keyCases()) }

// redisCommands is the command table less Understudy's own internal
// commands (named "understudy.*"), which Redis does not have.
func redisCommands() []*fsm.Command {
	var cmds []*fsm.Command
	for _, c := range fsm.Commands() {
		if !strings.HasPrefix(c.Name, "understudy.") {
			cmds = append(cmds, c)
		}
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return cmds
}

// arityCases gives every command one argument too few (and one too many
// when its arity is exact).
func arityCases() []tc {
	var cases []tc
	for _, c := range redisCommands() {
		n := c.Arity
		if n < 0 {
			n = -n
		}
		args := []string{c.Name}
		for i := 1; i < n-1; i++ {
			args = append(args, "k")
		}
		if n > 1 {
			cases = append(cases, row("arity few "+c.Name, nil, strings.Join(args, " "), errArity(c.Name)))
		}
		if c.Arity > 0 {
			args = append(args, "k", "k")
			cases = append(cases, row("arity many "+c.Name, nil, strings.ToUpper(strings.Join(args, " ")), errArity(c.Name)))
		}
	}
	return cases
}

func TestArity(t *testing.T) { runCases(t, arityCases()) }

// TestCommandTable checks that a command is a write exactly when Redis
// flags it write (or it is declared to go through the log, like PUBLISH),
// and that some table case runs every command.
func TestCommandTable(t *testing.T) {
	used := map[string]bool{}
	for _, c := range allCases() {
		for _, s := range c.steps {
			used[strings.ToLower(strings.Fields(strings.TrimPrefix(s.cmd, "~"))[0])] = true
		}
	}
	for _, c := range redisCommands() {
		// PUBLISH, SPUBLISH, EVAL, EVALSHA and FCALL go through the log although Redis
		// does not flag them write (scripts: unless no-writes, see
		// FSM.ReadOnlyScript).
		if want := c.Has(cmdtab.Write) || c.Name == "publish" || c.Name == "spublish" || c.RunsScript(); c.IsWrite() != want {
			t.Errorf("%s: IsWrite() = %v, want %v", c.Name, c.IsWrite(), want)
		}
		if !used[c.Name] {
			t.Errorf("no table case runs %s", c.Name)
		}
		if l := fsm.Lookup([]byte(strings.ToUpper(c.Name))); l != c {
			t.Errorf("Lookup(%q) = %v", strings.ToUpper(c.Name), l)
		}
	}
	if fsm.Lookup([]byte("nosuchcommand")) != nil || fsm.Lookup([]byte(strings.Repeat("g", 40))) != nil {
		t.Error("Lookup found a command that does not exist")
	}
}

// TestReadRejectsWrites: a write command through Read is refused and
// changes nothing.
func TestReadRejectsWrites(t *testing.T) {
	h := newHarness()
	for _, c := range fsm.Commands() {
		if !c.IsWrite() || c.RunsScript() { // scripts: scripting_test.go
			continue
		}
		argv := [][]byte{[]byte(c.Name), []byte("k"), []byte("1"), []byte("1"), []byte("1")}
		if c.Arity > 0 {
			argv = argv[:c.Arity]
		}
		for len(argv) < -c.Arity {
			argv = append(argv, []byte("1"))
		}
		if got := fmtValue(h.f.Read(0, h.now, 1, argv)); got != "-ERR write command in a read-only context" {
			t.Errorf("Read %s: %s", c.Name, got)
		}
	}
	if got := h.f.Stats().Keys; got != 0 {
		t.Errorf("reads created %d keys", got)
	}
}

// TestRandomKey: RANDOMKEY is a function of the seed, returns only live
// keys, and reaches every key.
func TestRandomKey(t *testing.T) {
	h := newHarness()
	for i := range 20 {
		h.do(t, "SET", fmt.Sprint("k", i), "v")
	}
	h.do(t, "SET", "dead", "v", "PX", "10")
	h.now += 11
	seen := map[string]int{}
	for seed := uint64(0); seed < 2000; seed++ {
		v := h.f.Read(0, h.now, seed, bargs([]string{"RANDOMKEY"}))
		if again := h.f.Read(0, h.now, seed, bargs([]string{"RANDOMKEY"})); fmtValue(again) != fmtValue(v) {
			t.Fatalf("seed %d: %s then %s", seed, fmtValue(v), fmtValue(again))
		}
		seen[string(v.Str)]++
	}
	if seen["dead"] > 0 || len(seen) != 20 {
		t.Fatalf("RANDOMKEY reached %d keys (dead %d), want 20 live keys: %v", len(seen), seen["dead"], seen)
	}
	// Only expired keys left: nil, as Redis gives once it has reclaimed them.
	h.do(t, "FLUSHDB")
	h.do(t, "SET", "dead", "v", "PX", "10")
	h.now += 11
	if got := fmtValue(h.do(t, "RANDOMKEY")); got != "(nil)" {
		t.Fatalf("RANDOMKEY over expired keys = %s", got)
	}
}

// TestKeysPathologicalPattern: a pattern like "*a*a*...*b" must not take
// exponential time (Redis cuts the search short; so must we, since a read
// holds the FSM's lock).
func TestKeysPathologicalPattern(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", strings.Repeat("a", 60), "v")
	done := make(chan string, 1)
	go func() {
		done <- fmtValue(h.f.Read(0, h.now, 0, bargs([]string{"KEYS", strings.Repeat("*a", 30) + "*b"})))
	}()
	select {
	case got := <-done:
		if got != "[]" {
			t.Fatalf("KEYS = %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("KEYS with a pathological pattern did not finish in 10s")
	}
}
