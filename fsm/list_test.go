package fsm_test

import (
	"fmt"
	"strings"
	"testing"
)

func listCases() []tc {
	l := lines("RPUSH l a b c d e")
	dup := lines("RPUSH l a b c a b c")
	const errPositive = "-ERR value is out of range, must be positive"
	return []tc{
		// LPUSH, RPUSH, LPUSHX, RPUSHX
		{name: "lpush", steps: []step{{"LPUSH l a b c", ":3"}, {"LRANGE l 0 -1", `["c" "b" "a"]`}, {"TYPE l", "+list"}}},
		{name: "rpush", steps: []step{{"RPUSH l a b c", ":3"}, {"RPUSH l d", ":4"}, {"LRANGE l 0 -1", `["a" "b" "c" "d"]`}}},
		{name: "lpushx missing", steps: []step{{"LPUSHX l a", ":0"}, {"EXISTS l", ":0"}}},
		{name: "rpushx missing", steps: []step{{"RPUSHX l a", ":0"}, {"EXISTS l", ":0"}}},
		{name: "lpushx", setup: l, steps: []step{{"LPUSHX l x y", ":7"}, {"LRANGE l 0 1", `["y" "x"]`}}},
		{name: "rpushx", setup: l, steps: []step{{"RPUSHX l x", ":6"}, {"LINDEX l -1", `"x"`}}},
		{name: "push binary", steps: []step{{`RPUSH l "" "\x00\r\n"`, ":2"}, {"LRANGE l 0 -1", `["" "\x00\r\n"]`}}},

		// LPOP, RPOP
		{name: "lpop", setup: l, steps: []step{{"LPOP l", `"a"`}, {"RPOP l", `"e"`}, {"LLEN l", ":3"}}},
		row("lpop missing", nil, "LPOP l", "(nil)"),
		row("lpop count missing", nil, "LPOP l 2", "(nil-array)"),
		row("lpop count 0 missing", nil, "LPOP l 0", "(nil-array)"),
		row("lpop count", l, "LPOP l 2", `["a" "b"]`),
		row("rpop count", l, "RPOP l 2", `["e" "d"]`),
		{name: "lpop count more", setup: l, steps: []step{{"LPOP l 10", `["a" "b" "c" "d" "e"]`}, {"EXISTS l", ":0"}}},
		{name: "lpop count 0", setup: l, steps: []step{{"LPOP l 0", `[]`}, {"LLEN l", ":5"}}},
		row("lpop negative count", l, "LPOP l -1", errPositive),
		row("lpop bad count", l, "LPOP l x", errPositive),
		row("lpop negative count missing", nil, "RPOP l -1", errPositive),
		row("lpop extra", l, "LPOP l 1 2", errArity("lpop")),
		{name: "lpop last deletes", setup: lines("RPUSH l a"), steps: []step{{"LPOP l", `"a"`}, {"EXISTS l", ":0"}}},
		{name: "pop keeps ttl", setup: lines("RPUSH l a b", "EXPIRE l 100"), steps: []step{{"LPOP l", `"a"`}, {"TTL l", ":100"}}},

		// LLEN, LINDEX, LRANGE
		row("llen", l, "LLEN l", ":5"),
		row("llen missing", nil, "LLEN l", ":0"),
		row("lindex", l, "LINDEX l 1", `"b"`),
		row("lindex negative", l, "LINDEX l -1", `"e"`),
		row("lindex out of range", l, "LINDEX l 5", "(nil)"),
		row("lindex out of range negative", l, "LINDEX l -6", "(nil)"),
		row("lindex missing", nil, "LINDEX l 0", "(nil)"),
		row("lindex missing bad index", nil, "LINDEX l x", "(nil)"),
		row("lindex bad index", l, "LINDEX l x", errNotInt),
		row("lrange all", l, "LRANGE l 0 -1", `["a" "b" "c" "d" "e"]`),
		row("lrange middle", l, "LRANGE l 1 3", `["b" "c" "d"]`),
		row("lrange negative", l, "LRANGE l -2 -1", `["d" "e"]`),
		row("lrange clamp", l, "LRANGE l -100 100", `["a" "b" "c" "d" "e"]`),
		row("lrange start past end", l, "LRANGE l 5 10", `[]`),
		row("lrange reversed", l, "LRANGE l 3 1", `[]`),
		row("lrange extreme", l, "LRANGE l -9223372036854775808 9223372036854775807", `["a" "b" "c" "d" "e"]`),
		row("lrange missing", nil, "LRANGE l 0 -1", `[]`),
		row("lrange bad index", nil, "LRANGE l x 1", errNotInt),

		// LSET
		{name: "lset", setup: l, steps: []step{{"LSET l 1 x", "+OK"}, {"LSET l -1 y", "+OK"}, {"LRANGE l 0 -1", `["a" "x" "c" "d" "y"]`}}},
		row("lset out of range", l, "LSET l 5 x", "-ERR index out of range"),
		row("lset missing", nil, "LSET l 0 x", "-ERR no such key"),
		row("lset missing bad index", nil, "LSET l x x", "-ERR no such key"),
		row("lset bad index", l, "LSET l x x", errNotInt),

		// LINSERT
		{name: "linsert before", setup: l, steps: []step{{"LINSERT l BEFORE c x", ":6"}, {"LRANGE l 0 -1", `["a" "b" "x" "c" "d" "e"]`}}},
		{name: "linsert after", setup: l, steps: []step{{"LINSERT l after e x", ":6"}, {"LRANGE l 0 -1", `["a" "b" "c" "d" "e" "x"]`}}},
		{name: "linsert first pivot", setup: dup, steps: []step{{"LINSERT l AFTER b x", ":7"}, {"LRANGE l 0 -1", `["a" "b" "x" "c" "a" "b" "c"]`}}},
		row("linsert no pivot", l, "LINSERT l BEFORE z x", ":-1"),
		row("linsert missing", nil, "LINSERT l BEFORE a x", ":0"),
		row("linsert bad where", l, "LINSERT l AROUND a x", errSyntax),
		row("linsert bad where missing", nil, "LINSERT l AROUND a x", errSyntax),

		// LREM
		{name: "lrem all", setup: dup, steps: []step{{"LREM l 0 a", ":2"}, {"LRANGE l 0 -1", `["b" "c" "b" "c"]`}}},
		{name: "lrem from head", setup: dup, steps: []step{{"LREM l 1 b", ":1"}, {"LRANGE l 0 -1", `["a" "c" "a" "b" "c"]`}}},
		{name: "lrem from tail", setup: dup, steps: []step{{"LREM l -1 b", ":1"}, {"LRANGE l 0 -1", `["a" "b" "c" "a" "c"]`}}},
		{name: "lrem more than there", setup: dup, steps: []step{{"LREM l -5 c", ":2"}, {"LLEN l", ":4"}}},
		{name: "lrem min count", setup: dup, steps: []step{{"LREM l -9223372036854775808 c", ":2"}, {"LLEN l", ":4"}}},
		{name: "lrem everything", setup: lines("RPUSH l a a"), steps: []step{{"LREM l 0 a", ":2"}, {"EXISTS l", ":0"}}},
		row("lrem none", dup, "LREM l 0 z", ":0"),
		row("lrem missing", nil, "LREM l 0 a", ":0"),
		row("lrem bad count", dup, "LREM l x a", errNotInt),

		// LTRIM
		{name: "ltrim", setup: l, steps: []step{{"LTRIM l 1 -2", "+OK"}, {"LRANGE l 0 -1", `["b" "c" "d"]`}}},
		{name: "ltrim clamp", setup: l, steps: []step{{"LTRIM l -100 100", "+OK"}, {"LLEN l", ":5"}}},
		{name: "ltrim empty deletes", setup: l, steps: []step{{"LTRIM l 3 1", "+OK"}, {"EXISTS l", ":0"}}},
		{name: "ltrim past end deletes", setup: l, steps: []step{{"LTRIM l 5 10", "+OK"}, {"EXISTS l", ":0"}}},
		row("ltrim missing", nil, "LTRIM l 0 1", "+OK"),
		row("ltrim bad index", l, "LTRIM l 0 x", errNotInt),

		// LPOS
		row("lpos", dup, "LPOS l b", ":1"),
		row("lpos none", dup, "LPOS l z", "(nil)"),
		row("lpos rank", dup, "LPOS l b RANK 2", ":4"),
		row("lpos rank too far", dup, "LPOS l b RANK 3", "(nil)"),
		row("lpos negative rank", dup, "LPOS l b RANK -1", ":4"),
		row("lpos negative rank 2", dup, "LPOS l b RANK -2", ":1"),
		row("lpos count", dup, "LPOS l a COUNT 0", `[:0 :3]`),
		row("lpos count 1", dup, "LPOS l a COUNT 1", `[:0]`),
		row("lpos count rank", dup, "LPOS l c COUNT 0 RANK -1", `[:5 :2]`),
		row("lpos count none", dup, "LPOS l z COUNT 2", `[]`),
		row("lpos maxlen", dup, "LPOS l c MAXLEN 3", ":2"),
		row("lpos maxlen short", dup, "LPOS l c MAXLEN 2", "(nil)"),
		row("lpos maxlen count", dup, "LPOS l a COUNT 0 MAXLEN 3", `[:0]`),
		row("lpos maxlen from tail", dup, "LPOS l a RANK -1 MAXLEN 2", "(nil)"),
		row("lpos maxlen 0", dup, "LPOS l c MAXLEN 0", ":2"),
		row("lpos rank min", dup, "LPOS l a RANK -9223372036854775808", ":3"),
		row("lpos missing", nil, "LPOS l a", "(nil)"),
		row("lpos missing count", nil, "LPOS l a COUNT 1", `[]`),
		row("lpos rank 0", dup, "LPOS l a RANK 0",
			"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),
		row("lpos bad rank", dup, "LPOS l a RANK x", errNotInt),
		row("lpos negative count", dup, "LPOS l a COUNT -1", "-ERR COUNT can't be negative"),
		row("lpos bad count", dup, "LPOS l a COUNT x", "-ERR COUNT can't be negative"),
		row("lpos negative maxlen", dup, "LPOS l a MAXLEN -1", "-ERR MAXLEN can't be negative"),
		row("lpos option without value", dup, "LPOS l a RANK", errSyntax),
		row("lpos unknown option", dup, "LPOS l a FOO 1", errSyntax),
		row("lpos options before key", nil, "LPOS l a RANK 0", "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"),

		// LMOVE, RPOPLPUSH
		{name: "lmove", setup: l, steps: []step{{"LMOVE l m LEFT RIGHT", `"a"`}, {"LMOVE l m right left", `"e"`},
			{"LRANGE l 0 -1", `["b" "c" "d"]`}, {"LRANGE m 0 -1", `["e" "a"]`}}},
		{name: "lmove same list rotates", setup: l, steps: []step{{"LMOVE l l LEFT RIGHT", `"a"`}, {"LRANGE l 0 -1", `["b" "c" "d" "e" "a"]`}}},
		{name: "lmove same list one element", setup: lines("RPUSH l a"), steps: []step{{"LMOVE l l RIGHT LEFT", `"a"`}, {"LRANGE l 0 -1", `["a"]`}}},
		{name: "lmove last deletes source", setup: lines("RPUSH l a"), steps: []step{{"LMOVE l m LEFT LEFT", `"a"`}, {"EXISTS l", ":0"}, {"LRANGE m 0 -1", `["a"]`}}},
		row("lmove missing", nil, "LMOVE l m LEFT LEFT", "(nil)"),
		row("lmove missing source string dest", lines("SET m x"), "LMOVE l m LEFT LEFT", "(nil)"),
		{name: "lmove string dest", setup: append(lines("SET m x"), l...), steps: []step{{"LMOVE l m LEFT LEFT", errWrongType}, {"LLEN l", ":5"}}},
		row("lmove bad side", l, "LMOVE l m UP LEFT", errSyntax),
		row("lmove bad side missing", nil, "LMOVE l m LEFT DOWN", errSyntax),
		{name: "rpoplpush", setup: l, steps: []step{{"RPOPLPUSH l m", `"e"`}, {"RPOPLPUSH l m", `"d"`}, {"LRANGE m 0 -1", `["d" "e"]`}}},
		{name: "rpoplpush same", setup: l, steps: []step{{"RPOPLPUSH l l", `"e"`}, {"LRANGE l 0 -1", `["e" "a" "b" "c" "d"]`}}},
		row("rpoplpush missing", nil, "RPOPLPUSH l m", "(nil)"),
	}
}

func TestListCommands(t *testing.T) { runCases(t, listCases()) }

// TestListEncoding: Redis 7.0 shows every list as a quicklist.
func TestListEncoding(t *testing.T) {
	h := newHarness()
	h.do(t, "RPUSH", "l", "a")
	mustEncoding(t, h, "l", "quicklist")
	h.configSet(t, "list-max-listpack-size", "1")
	h.do(t, "RPUSH", "l", "b", "c")
	mustEncoding(t, h, "l", "quicklist")
}

// TestListQuickFlag: the quicklist flag the snapshot keeps (Redis 7.2's
// rule: past 8 KiB of listpack bytes, counted exactly, back at half that).
func TestListQuickFlag(t *testing.T) {
	h := newHarness()
	mustEncoding := func(t *testing.T, h *harness, key, want string) {
		t.Helper()
		if got := h.f.ListQuick(key); got != (want == "quicklist") {
			t.Fatalf("%s quick = %v, want %s", key, got, want)
		}
	}
	// An empty listpack is 7 bytes; a 60-byte string takes 1+60+1 = 62.
	// 7 + 62*131 = 8129; the check adds the raw length: 8129 + 60 = 8189.
	for range 132 {
		h.do(t, "RPUSH", "l", strings.Repeat("x", 60))
	}
	mustEncoding(t, h, "l", "listpack") // 7 + 62*132 = 8191
	h.do(t, "RPUSH", "l", "12")         // 8191 + 2 > 8192
	mustEncoding(t, h, "l", "quicklist")
	h.do(t, "LTRIM", "l", "0", "64") // 7 + 62*65 = 4037 <= 4096
	mustEncoding(t, h, "l", "listpack")
	h.do(t, "RPUSH", "big", strings.Repeat("x", 8185)) // 7 + 8185 = 8192
	mustEncoding(t, h, "big", "listpack")
	h.do(t, "RPUSH", "big2", strings.Repeat("x", 8185), "")
	mustEncoding(t, h, "big2", "listpack")
	h.do(t, "RPUSH", "big3", strings.Repeat("x", 8186), "a")
	mustEncoding(t, h, "big3", "quicklist")
	// Integers take their integer encoding: 1 byte plus backlen for 0..127.
	for i := range 1000 {
		h.do(t, "RPUSH", "ints", fmt.Sprint(i%100))
	}
	mustEncoding(t, h, "ints", "listpack") // 7 + 2000 bytes
}
