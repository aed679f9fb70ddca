package fsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm"
)

func objectCases() []tc {
	return []tc{
		row("object encoding int", lines("SET k 123"), "OBJECT ENCODING k", `"int"`),
		row("object encoding negative int", lines("SET k -9223372036854775808"), "OBJECT ENCODING k", `"int"`),
		row("object encoding leading zero", lines("SET k 0123"), "OBJECT ENCODING k", `"embstr"`),
		row("object encoding embstr", lines("SET k "+strings.Repeat("x", 44)), "OBJECT ENCODING k", `"embstr"`),
		row("object encoding raw", lines("SET k "+strings.Repeat("x", 45)), "OBJECT ENCODING k", `"raw"`),
		row("object encoding hash", lines("HSET k a 1"), "OBJECT ENCODING k", `"listpack"`),
		row("object encoding hashtable", lines("HSET k a "+strings.Repeat("x", 65)), "OBJECT ENCODING k", `"hashtable"`),
		row("object encoding zset", lines("ZADD k 1 a"), "OBJECT ENCODING k", `"listpack"`),
		row("object encoding skiplist", lines("ZADD k 1 "+strings.Repeat("x", 65)), "OBJECT ENCODING k", `"skiplist"`),
		row("object encoding intset", lines("SADD k 1 2"), "OBJECT ENCODING k", `"intset"`),
		row("object encoding set hashtable", lines("SADD k "+strings.Repeat("x", 65)), "OBJECT ENCODING k", `"hashtable"`),
		row("object encoding small set", lines("SADD k a"), "OBJECT ENCODING k", `"hashtable"`),
		row("object encoding list", lines("RPUSH k a"), "OBJECT ENCODING k", `"quicklist"`),
		row("object encoding quicklist", lines("RPUSH k "+strings.Repeat("x", 9000)), "OBJECT ENCODING k", `"quicklist"`),
		row("object encoding missing", nil, "OBJECT ENCODING k", "(nil)"),
		row("object encoding case", lines("SET k v"), "object Encoding k", `"embstr"`),
		row("object refcount", lines("HSET k a 1"), "OBJECT REFCOUNT k", ":1"),
		row("object refcount shared integer", lines("SET k 42"), "OBJECT REFCOUNT k", ":2147483647"),
		row("object idletime lfu", lines("HSET k a 1", "CONFIG! maxmemory-policy allkeys-lfu"), "OBJECT IDLETIME k",
			"-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
		row("object freq lfu", lines("CONFIG! maxmemory-policy allkeys-lfu", "HSET k a 1"), "OBJECT FREQ k", ":5"),
		row("object refcount missing", nil, "OBJECT REFCOUNT k", "(nil)"),
		row("object idletime", lines("HSET k a 1"), "OBJECT IDLETIME k", ":0"),
		row("object freq", lines("HSET k a 1"), "OBJECT FREQ k", "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."),
		row("object freq missing", nil, "OBJECT FREQ k", "(nil)"),
		row("object help", nil, "OBJECT HELP", "[+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are: +ENCODING <key> +    Return the kind of internal representation used in order to store the value +    associated with a <key>. +FREQ <key> +    Return the access frequency index of the <key>. The returned integer is +    proportional to the logarithm of the recent access frequency of the key. +IDLETIME <key> +    Return the idle time of the <key>, that is the approximated number of +    seconds elapsed since the last access to the key. +REFCOUNT <key> +    Return the number of references of the value associated with the specified +    <key>. +HELP +    Prints this help.]"),
		row("object unknown", nil, "OBJECT foo", "-ERR unknown subcommand 'foo'. Try OBJECT HELP."),
		row("object encoding arity", nil, "OBJECT ENCODING", "-ERR wrong number of arguments for 'object|encoding' command"),
		row("object encoding too many", nil, "OBJECT encoding k x", "-ERR wrong number of arguments for 'object|encoding' command"),
		row("object help arity", nil, "OBJECT HELP x", "-ERR wrong number of arguments for 'object|help' command"),

		// TYPE, SCAN TYPE, RENAME and DEL across types.
		{name: "type of each", setup: lines("SET s v", "HSET h a 1", "RPUSH l a", "SADD t a", "ZADD z 1 a"), steps: []step{
			{"TYPE s", "+string"}, {"TYPE h", "+hash"}, {"TYPE l", "+list"}, {"TYPE t", "+set"}, {"TYPE z", "+zset"}}},
		{name: "scan type", setup: lines("SET s v", "HSET h a 1", "RPUSH l a", "SADD t a", "ZADD z 1 a"), steps: []step{
			{"SCAN 0 TYPE hash COUNT 100", `["0" ["h"]]`}, {"SCAN 0 TYPE list COUNT 100", `["0" ["l"]]`},
			{"SCAN 0 TYPE set COUNT 100", `["0" ["t"]]`}, {"SCAN 0 TYPE ZSET COUNT 100", `["0" ["z"]]`}}},
		{name: "rename keeps collection", setup: lines("RPUSH l a b", "EXPIRE l 100"), steps: []step{
			{"RENAME l m", "+OK"}, {"LRANGE m 0 -1", `["a" "b"]`}, {"TTL m", ":100"}, {"EXISTS l", ":0"}}},
		{name: "rename over other type", setup: lines("HSET h a 1", "SET s v"), steps: []step{
			{"RENAME h s", "+OK"}, {"HGETALL s", `%["a" "1"]`}, {"GET s", errWrongType}}},
		{name: "del collections", setup: lines("HSET h a 1", "RPUSH l a", "SADD t a", "ZADD z 1 a"), steps: []step{
			{"DEL h l t z", ":4"}, {"DBSIZE", ":0"}}},
		{name: "set overwrites collection", setup: lines("RPUSH l a"), steps: []step{{"SET l v", "+OK"}, {"GET l", `"v"`}}},
		{name: "expired collection", setup: lines("RPUSH l a", "PEXPIRE l 10", "@+11"), steps: []step{
			{"LLEN l", ":0"}, {"RPUSH l b", ":1"}, {"LRANGE l 0 -1", `["b"]`}}},
		row("getset on list", lines("RPUSH l a"), "GETSET l v", errWrongType),
		row("mget skips collections", lines("RPUSH l a", "SET s v"), "MGET l s", `[(nil) "v"]`),
		row("incr on hash", lines("HSET h a 1"), "INCR h", errWrongType),
		row("append on zset", lines("ZADD z 1 a"), "APPEND z x", errWrongType),
		row("strlen on set", lines("SADD t a"), "STRLEN t", errWrongType),
	}
}

func TestObjectCommands(t *testing.T) { runCases(t, objectCases()) }

// wrongTypeCases runs every collection command against a key of another
// type and expects WRONGTYPE.
func wrongTypeCases() []tc {
	type cmd struct{ line, holds string }
	var cmds []cmd
	for holds, lines := range map[string][]string{
		"hash": {"HSET k a 1", "HMSET k a 1", "HSETNX k a 1", "HGET k a", "HMGET k a", "HDEL k a", "HEXISTS k a", "HLEN k",
			"HSTRLEN k a", "HKEYS k", "HVALS k", "HGETALL k", "HINCRBY k a 1", "HINCRBYFLOAT k a 1", "HRANDFIELD k",
			"HRANDFIELD k 2", "HSCAN k 0"},
		"list": {"LPUSH k a", "RPUSH k a", "LPUSHX k a", "RPUSHX k a", "LPOP k", "RPOP k 2", "LLEN k", "LRANGE k 0 -1",
			"LINDEX k 0", "LSET k 0 a", "LINSERT k BEFORE a b", "LREM k 0 a", "LTRIM k 0 1", "LPOS k a", "LMOVE k x LEFT LEFT",
			"RPOPLPUSH k x"},
		"set": {"SADD k a", "SREM k a", "SMEMBERS k", "SISMEMBER k a", "SMISMEMBER k a", "SCARD k", "SPOP k", "SPOP k 2",
			"SRANDMEMBER k", "SRANDMEMBER k 2", "SMOVE k x a", "SINTER k", "SINTERSTORE x k", "SINTERCARD 1 k", "SUNION k",
			"SUNIONSTORE x k", "SDIFF k", "SDIFFSTORE x k", "SSCAN k 0"},
		"zset": {"ZADD k 1 a", "ZINCRBY k 1 a", "ZREM k a", "ZSCORE k a", "ZMSCORE k a", "ZCARD k", "ZCOUNT k 0 1",
			"ZLEXCOUNT k - +", "ZRANK k a", "ZREVRANK k a", "ZRANGE k 0 -1", "ZREVRANGE k 0 -1", "ZRANGEBYSCORE k 0 1",
			"ZREVRANGEBYSCORE k 1 0", "ZRANGEBYLEX k - +", "ZREVRANGEBYLEX k + -", "ZPOPMIN k", "ZPOPMAX k 2",
			"ZRANDMEMBER k", "ZRANDMEMBER k 2", "ZREMRANGEBYRANK k 0 1", "ZREMRANGEBYSCORE k 0 1", "ZREMRANGEBYLEX k - +",
			"ZUNIONSTORE x 1 k", "ZINTERSTORE x 1 k", "ZSCAN k 0"},
	} {
		for _, l := range lines {
			cmds = append(cmds, cmd{l, holds})
		}
	}
	others := map[string]string{"string": "SET k v", "hash": "HSET k f v", "list": "RPUSH k v", "set": "SADD k v", "zset": "ZADD k 1 v"}
	var cases []tc
	for _, c := range cmds {
		for typ, setup := range others {
			if typ == c.holds || (c.holds == "zset" && typ == "set" && strings.Contains(c.line, "STORE")) {
				continue // ZUNIONSTORE takes sets too
			}
			cases = append(cases, row(fmt.Sprintf("wrongtype %s on %s", c.line, typ), lines(setup), c.line, errWrongType))
		}
	}
	slices.SortFunc(cases, func(a, b tc) int { return strings.Compare(a.name, b.name) })
	return cases
}

func TestWrongType(t *testing.T) { runCases(t, wrongTypeCases()) }

// TestRandomCommands: SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER pick
// by the seed (so replicas agree and reads repeat), reach every element,
// and keep their shape.
func TestRandomCommands(t *testing.T) {
	h := newHarness()
	for i := range 20 {
		h.do(t, "HSET", "h", fmt.Sprint("f", i), fmt.Sprint(i))
		h.do(t, "SADD", "s", fmt.Sprint("m", i))
		h.do(t, "ZADD", "z", fmt.Sprint(i), fmt.Sprint("m", i))
	}
	for _, cmd := range [][]string{
		{"SRANDMEMBER", "s"}, {"SRANDMEMBER", "s", "5"}, {"SRANDMEMBER", "s", "-30"}, {"HRANDFIELD", "h"},
		{"HRANDFIELD", "h", "5", "WITHVALUES"}, {"HRANDFIELD", "h", "-30"}, {"ZRANDMEMBER", "z"},
		{"ZRANDMEMBER", "z", "15", "WITHSCORES"}, {"ZRANDMEMBER", "z", "-7"},
	} {
		seen := map[string]bool{}
		for seed := uint64(0); seed < 300; seed++ {
			v := h.f.Read(0, h.now, seed, bargs(cmd))
			if again := h.f.Read(0, h.now, seed, bargs(cmd)); fmtValue(again) != fmtValue(v) {
				t.Fatalf("%q seed %d: %s then %s", cmd, seed, fmtValue(v), fmtValue(again))
			}
			if v.Kind == fsm.KindBulk {
				seen[string(v.Str)] = true
				continue
			}
			want := 5
			switch cmd[len(cmd)-1] {
			case "-30":
				want = 30
			case "WITHVALUES":
				want = 10
			case "WITHSCORES":
				want = 30
			case "-7":
				want = 7
			}
			if len(v.Arr) != want {
				t.Fatalf("%q: %d elements, want %d", cmd, len(v.Arr), want)
			}
			distinct := map[string]bool{}
			step := 1
			if strings.HasPrefix(cmd[len(cmd)-1], "WITH") {
				step = 2
			}
			for i := 0; i < len(v.Arr); i += step {
				seen[string(v.Arr[i].Str)] = true
				distinct[string(v.Arr[i].Str)] = true
			}
			if cmd[2][0] != '-' && len(distinct) != want/step {
				t.Fatalf("%q: repeats in a positive count: %s", cmd, fmtValue(v))
			}
		}
		if len(seen) != 20 {
			t.Errorf("%q reached %d of 20 elements", cmd, len(seen))
		}
	}
	// SPOP is decided by the entry's seed: two FSMs fed the same entries pop alike.
	a, b := newHarness(), newHarness()
	for _, x := range []*harness{a, b} {
		for i := range 50 {
			x.do(t, "SADD", "s", fmt.Sprint(i))
		}
	}
	for range 10 {
		va, vb := fmtValue(a.do(t, "SPOP", "s", "3")), fmtValue(b.do(t, "SPOP", "s", "3"))
		if va != vb {
			t.Fatalf("SPOP differs: %s vs %s", va, vb)
		}
	}
	if a.f.Hash() != b.f.Hash() || fmtValue(a.do(t, "SCARD", "s")) != ":20" {
		t.Fatal("SPOP left different states")
	}
}
