package fsm_test

import (
	"fmt"
	"strings"
	"testing"
)

func setCases() []tc {
	s := lines("SADD s c a b")
	ints := lines("SADD i 3 1 2")
	st := lines("SADD s a b c d", "SADD t c d e", "SADD u d e f")
	const errPositive = "-ERR value is out of range, must be positive"
	return []tc{
		// SADD, SREM, SMEMBERS, SCARD
		{name: "sadd", steps: []step{{"SADD s a b a", ":2"}, {"SADD s b c", ":1"}, {"~SMEMBERS s", `~["a" "b" "c"]`}, {"TYPE s", "+set"}}},
		{name: "sadd strings", steps: []step{{"SADD s c a b", ":3"}, {"~SMEMBERS s", `~["a" "b" "c"]`}}},
		{name: "sadd intset sorted", steps: []step{{"SADD s 3 -1 20 1", ":4"}, {"SMEMBERS s", `~["-1" "1" "3" "20"]`}}},
		{name: "sadd int then string", steps: []step{{"SADD s 2 1", ":2"}, {"SADD s x 0", ":2"}, {"~SMEMBERS s", `~["0" "1" "2" "x"]`}}},
		{name: "sadd not canonical ints", steps: []step{{"SADD s 01 1 +1 -0 0", ":5"}, {"SCARD s", ":5"}, {"SISMEMBER s 01", ":1"}}},
		{name: "srem", setup: s, steps: []step{{"SREM s a z", ":1"}, {"~SMEMBERS s", `~["b" "c"]`}}},
		{name: "srem last deletes", setup: lines("SADD s a"), steps: []step{{"SREM s a", ":1"}, {"EXISTS s", ":0"}}},
		row("srem missing", nil, "SREM s a", ":0"),
		row("srem int from intset", ints, "SREM i 2 02", ":1"),
		row("smembers missing", nil, "SMEMBERS s", `~[]`),
		row("scard", s, "SCARD s", ":3"),
		row("scard missing", nil, "SCARD s", ":0"),

		// SISMEMBER, SMISMEMBER
		row("sismember", s, "SISMEMBER s a", ":1"),
		row("sismember no", s, "SISMEMBER s z", ":0"),
		row("sismember missing", nil, "SISMEMBER s a", ":0"),
		row("sismember intset string", ints, "SISMEMBER i x", ":0"),
		row("smismember", s, "SMISMEMBER s a z c", `[:1 :0 :1]`),
		row("smismember missing", nil, "SMISMEMBER s a b", `[:0 :0]`),

		// SPOP (random picks: TestRandomCommands)
		row("spop missing", nil, "SPOP s", "(nil)"),
		{name: "spop one", setup: lines("SADD s a"), steps: []step{{"SPOP s", `"a"`}, {"EXISTS s", ":0"}}},
		{name: "spop count all", setup: ints, steps: []step{{"SPOP i 5", `~["1" "2" "3"]`}, {"EXISTS i", ":0"}}},
		{name: "spop count all strings", setup: s, steps: []step{{"~SPOP s 3", `~["a" "b" "c"]`}, {"EXISTS s", ":0"}}},
		row("spop count 0", s, "SPOP s 0", `~[]`),
		row("spop count missing", nil, "SPOP s 2", `~[]`),
		row("spop negative count", s, "SPOP s -1", errPositive),
		row("spop bad count", s, "SPOP s x", errPositive),
		row("spop extra", s, "SPOP s 1 2", errSyntax),

		// SRANDMEMBER
		row("srandmember missing", nil, "SRANDMEMBER s", "(nil)"),
		row("srandmember one", lines("SADD s a"), "SRANDMEMBER s", `"a"`),
		row("srandmember count all", ints, "SRANDMEMBER i 10", `["1" "2" "3"]`),
		row("srandmember count 0", ints, "SRANDMEMBER i 0", `[]`),
		row("srandmember negative one", lines("SADD s a"), "SRANDMEMBER s -3", `["a" "a" "a"]`),
		row("srandmember count missing", nil, "SRANDMEMBER s 3", `[]`),
		row("srandmember negative missing", nil, "SRANDMEMBER s -3", `[]`),
		row("srandmember bad count", s, "SRANDMEMBER s x", errNotInt),
		row("srandmember min count", s, "SRANDMEMBER s -9223372036854775808",
			"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
		row("srandmember extra", s, "SRANDMEMBER s 1 2", errSyntax),

		// SMOVE
		{name: "smove", setup: st, steps: []step{{"SMOVE s t a", ":1"}, {"SISMEMBER s a", ":0"}, {"SISMEMBER t a", ":1"}}},
		{name: "smove to existing member", setup: st, steps: []step{{"SMOVE s t c", ":1"}, {"SISMEMBER s c", ":0"}, {"SCARD t", ":3"}}},
		{name: "smove new dest", setup: st, steps: []step{{"SMOVE s n a", ":1"}, {"SMEMBERS n", `~["a"]`}}},
		{name: "smove last deletes", setup: lines("SADD s a"), steps: []step{{"SMOVE s t a", ":1"}, {"EXISTS s", ":0"}}},
		row("smove not member", st, "SMOVE s t z", ":0"),
		row("smove missing source", nil, "SMOVE s t a", ":0"),
		row("smove missing source string dest", lines("SET t x"), "SMOVE s t a", ":0"),
		row("smove string dest", append(lines("SET t x"), s...), "SMOVE s t a", errWrongType),
		row("smove same", s, "SMOVE s s a", ":1"),
		row("smove same not member", s, "SMOVE s s z", ":0"),

		// SINTER, SINTERSTORE, SINTERCARD
		row("sinter", st, "~SINTER s t", `~["c" "d"]`),
		row("sinter three", st, "SINTER s t u", `~["d"]`),
		row("sinter missing", st, "SINTER s nope", `~[]`),
		row("sinter one", st, "~SINTER s", `~["a" "b" "c" "d"]`),
		row("sinter same", st, "~SINTER s s", `~["a" "b" "c" "d"]`),
		{name: "sinterstore", setup: st, steps: []step{{"SINTERSTORE d s t", ":2"}, {"~SMEMBERS d", `~["c" "d"]`}}},
		{name: "sinterstore empty deletes", setup: append(lines("SET d x"), st...), steps: []step{{"SINTERSTORE d s nope", ":0"}, {"EXISTS d", ":0"}}},
		{name: "sinterstore overwrites ttl", setup: append(lines("SET d x EX 100"), st...), steps: []step{{"SINTERSTORE d s t", ":2"}, {"TTL d", ":-1"}}},
		{name: "sinterstore onto source", setup: st, steps: []step{{"SINTERSTORE s s t", ":2"}, {"~SMEMBERS s", `~["c" "d"]`}}},
		row("sintercard", st, "SINTERCARD 2 s t", ":2"),
		row("sintercard limit", st, "SINTERCARD 2 s t LIMIT 1", ":1"),
		row("sintercard limit 0", st, "SINTERCARD 2 s t limit 0", ":2"),
		row("sintercard missing", st, "SINTERCARD 2 s nope", ":0"),
		row("sintercard numkeys 0", st, "SINTERCARD 0 s", "-ERR numkeys should be greater than 0"),
		row("sintercard numkeys bad", st, "SINTERCARD x s", "-ERR numkeys should be greater than 0"),
		row("sintercard numkeys too many", st, "SINTERCARD 3 s t", "-ERR Number of keys can't be greater than number of args"),
		row("sintercard negative limit", st, "SINTERCARD 2 s t LIMIT -1", "-ERR LIMIT can't be negative"),
		row("sintercard limit missing", st, "SINTERCARD 2 s t LIMIT", errSyntax),
		row("sintercard unknown option", st, "SINTERCARD 1 s t", errSyntax),

		// SUNION, SUNIONSTORE, SDIFF, SDIFFSTORE
		row("sunion", st, "~SUNION s t", `~["a" "b" "c" "d" "e"]`),
		row("sunion missing", st, "~SUNION nope t", `~["c" "d" "e"]`),
		row("sunion ints sorted", lines("SADD a 5 3", "SADD b 4 1"), "SUNION a b", `~["1" "3" "4" "5"]`),
		row("sunion order (7.2)", lines("SADD a x 2", "SADD b 1 y"), "SUNION a b", `~["x" "2" "1" "y"]`),
		{name: "sunionstore", setup: st, steps: []step{{"SUNIONSTORE d s u", ":6"}, {"SCARD d", ":6"}}},
		{name: "sunionstore empty deletes", setup: lines("SET d x"), steps: []step{{"SUNIONSTORE d nope", ":0"}, {"EXISTS d", ":0"}}},
		row("sdiff", st, "~SDIFF s t", `~["a" "b"]`),
		row("sdiff three", st, "~SDIFF s t u", `~["a" "b"]`),
		row("sdiff missing first", st, "SDIFF nope s", `~[]`),
		row("sdiff missing other", st, "~SDIFF s nope", `~["a" "b" "c" "d"]`),
		row("sdiff same", st, "SDIFF s t s", `~[]`),
		row("sdiff algorithm 2", lines("SADD a 1 2 3 4 5 6 7 8 9", "SADD b 2 4", "SADD c 6"), "SDIFF a b c", `~["1" "3" "5" "7" "8" "9"]`),
		{name: "sdiffstore", setup: st, steps: []step{{"SDIFFSTORE d s t", ":2"}, {"~SMEMBERS d", `~["a" "b"]`}}},
		{name: "sdiffstore empty deletes", setup: append(lines("SET d x"), st...), steps: []step{{"SDIFFSTORE d s s", ":0"}, {"EXISTS d", ":0"}}},

		// SSCAN
		row("sscan", ints, "SSCAN i 0", `["0" ["1" "2" "3"]]`),
		row("sscan match", lines("SADD s apple banana avocado"), "~SSCAN s 0 MATCH a*", `["0" ["apple" "avocado"]]`),
		row("sscan missing", nil, "SSCAN s 0", `["0" []]`),
		row("sscan bad cursor", s, "SSCAN s x", "-ERR invalid cursor"),
		row("sscan count 0", s, "SSCAN s 0 COUNT 0", errSyntax),
		row("sscan odd options", s, "SSCAN s 0 COUNT", errSyntax),
	}
}

func TestSetCommands(t *testing.T) { runCases(t, setCases()) }

// TestSetEncoding follows Redis 7.0's rules: an intset while every member
// is an integer and there are at most set-max-intset-entries, else a
// hashtable, set at run time.
func TestSetEncoding(t *testing.T) {
	h := newHarness()
	for i := range 512 {
		h.do(t, "SADD", "i", fmt.Sprint(i))
	}
	mustEncoding(t, h, "i", "intset")
	h.do(t, "SADD", "i", "512")
	mustEncoding(t, h, "i", "hashtable")
	h.do(t, "SADD", "j", "1", "2")
	h.do(t, "SADD", "j", "x")
	mustEncoding(t, h, "j", "hashtable")
	args := []string{"SADD", "l"}
	for range 600 {
		args = append(args, "1")
	}
	h.do(t, args...)
	mustEncoding(t, h, "l", "intset") // no conversion up front in 7.0
	h.do(t, "SADD", "p", "x", "1", "2")
	h.do(t, "SADD", "q", "2", "1", "y")
	h.do(t, "SINTERSTORE", "r", "p", "q")
	mustEncoding(t, h, "r", "intset")
	// The threshold is the replicated setting's, at the next change.
	h.configSet(t, "set-max-intset-entries", "3")
	h.do(t, "SADD", "small", "1", "2", "3")
	mustEncoding(t, h, "small", "intset")
	h.do(t, "SADD", "small", "4")
	mustEncoding(t, h, "small", "hashtable")
	// SPOP keeping few integers rebuilds an intset from the first kept.
	h.configSet(t, "set-max-intset-entries", "512")
	for i := range 200 {
		h.do(t, "SADD", "big", fmt.Sprint(i))
	}
	h.do(t, "SADD", "big", "x")
	h.do(t, "SREM", "big", "x")
	mustEncoding(t, h, "big", "hashtable")
	h.do(t, "SPOP", "big", "190")
	mustEncoding(t, h, "big", "intset")
}

// TestSetEncodingLegacy: below level 2 a cluster keeps the rules of the
// builds before it (Redis 7.2's listpack sets), so that every replica of a
// mixed cluster builds the same encoding.
func TestSetEncodingLegacy(t *testing.T) {
	h := newLevel1Harness()
	for i := range 512 {
		h.do(t, "SADD", "i", fmt.Sprint(i))
	}
	mustEncoding(t, h, "i", "intset")
	h.do(t, "SADD", "i", "512")
	mustEncoding(t, h, "i", "hashtable")
	h.do(t, "SADD", "j", "1", "2")
	h.do(t, "SADD", "j", "x")
	mustEncoding(t, h, "j", "listpack")
	for i := range 125 {
		h.do(t, "SADD", "j", fmt.Sprint("m", i))
	}
	mustEncoding(t, h, "j", "listpack") // 128 members
	h.do(t, "SADD", "j", "one more")
	mustEncoding(t, h, "j", "hashtable")
	h.do(t, "SADD", "k", strings.Repeat("x", 65))
	mustEncoding(t, h, "k", "hashtable")
	h.do(t, "SADD", "l", "a")
	args := []string{"SADD", "l"}
	for range 129 {
		args = append(args, "a")
	}
	h.do(t, args...)
	// More than 128 arguments convert up front, even though few are new.
	mustEncoding(t, h, "l", "hashtable")
	// SINTERSTORE of integers from a listpack ends as an intset.
	h.do(t, "SADD", "p", "x", "1", "2")
	h.do(t, "SADD", "q", "2", "1", "y")
	h.do(t, "SINTERSTORE", "r", "p", "q")
	mustEncoding(t, h, "r", "intset")
	// SPOP that keeps few members of a hashtable rebuilds a listpack.
	for i := range 200 {
		h.do(t, "SADD", "big", fmt.Sprint("m", i))
	}
	mustEncoding(t, h, "big", "hashtable")
	h.do(t, "SPOP", "big", "190")
	mustEncoding(t, h, "big", "listpack")
	if got := fmtValue(h.do(t, "SCARD", "big")); got != ":10" {
		t.Fatalf("SCARD after SPOP 190 of 200 = %s", got)
	}
}
