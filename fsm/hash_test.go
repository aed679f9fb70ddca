package fsm_test

import (
	"fmt"
	"strings"
	"testing"
)

const errWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value"

func hashCases() []tc {
	h := lines("HSET h a 1 b 2 c 3")
	long := strings.Repeat("x", 65)
	return []tc{
		// HSET, HMSET
		{name: "hset new", steps: []step{{"HSET h a 1 b 2", ":2"}, {"HGETALL h", `%["a" "1" "b" "2"]`}, {"TYPE h", "+hash"}}},
		{name: "hset update keeps place", setup: h, steps: []step{
			{"HSET h a 10 d 4", ":1"}, {"HGETALL h", `%["a" "10" "b" "2" "c" "3" "d" "4"]`}}},
		{name: "hset repeated field", steps: []step{{"HSET h a 1 a 2", ":1"}, {"HGET h a", `"2"`}}},
		row("hset odd", nil, "HSET h a 1 b", errArity("hset")),
		row("hset case", nil, "hSeT h a 1", ":1"),
		{name: "hset binary", steps: []step{{`HSET h "\x00" "\r\n"`, ":1"}, {`HGET h "\x00"`, `"\r\n"`}}},
		{name: "hset empty field and value", steps: []step{{`HSET h "" ""`, ":1"}, {`HGETALL h`, `%["" ""]`}, {"HLEN h", ":1"}}},
		{name: "hmset", steps: []step{{"HMSET h a 1 b 2", "+OK"}, {"HMSET h a 3", "+OK"}, {"HMGET h a b", `["3" "2"]`}}},
		row("hmset odd", nil, "HMSET h a 1 b", errArity("hmset")),
		{name: "hset on expired key", setup: lines("HSET h a 1", "PEXPIRE h 10", "@+11"), steps: []step{
			{"HSET h b 2", ":1"}, {"HGETALL h", `%["b" "2"]`}, {"TTL h", ":-1"}}},
		{name: "hset keeps ttl", setup: lines("HSET h a 1", "EXPIRE h 100"), steps: []step{{"HSET h b 2", ":1"}, {"TTL h", ":100"}}},

		// HSETNX
		{name: "hsetnx new", setup: h, steps: []step{{"HSETNX h d 4", ":1"}, {"HGET h d", `"4"`}}},
		{name: "hsetnx exists", setup: h, steps: []step{{"HSETNX h a 9", ":0"}, {"HGET h a", `"1"`}}},
		{name: "hsetnx new key", steps: []step{{"HSETNX h a 1", ":1"}, {"HLEN h", ":1"}}},

		// HGET, HMGET, HEXISTS, HLEN, HSTRLEN
		row("hget", h, "HGET h b", `"2"`),
		row("hget missing field", h, "HGET h z", "(nil)"),
		row("hget missing key", nil, "HGET h a", "(nil)"),
		row("hmget", h, "HMGET h a z c", `["1" (nil) "3"]`),
		row("hmget missing key", nil, "HMGET h a b", `[(nil) (nil)]`),
		row("hexists", h, "HEXISTS h a", ":1"),
		row("hexists no", h, "HEXISTS h z", ":0"),
		row("hexists missing key", nil, "HEXISTS h a", ":0"),
		row("hlen", h, "HLEN h", ":3"),
		row("hlen missing", nil, "HLEN h", ":0"),
		row("hstrlen", lines("HSET h a hello"), "HSTRLEN h a", ":5"),
		row("hstrlen missing field", h, "HSTRLEN h z", ":0"),
		row("hstrlen missing key", nil, "HSTRLEN h z", ":0"),
		row("hstrlen integer", lines("HSET h n -123"), "HSTRLEN h n", ":4"),

		// HDEL
		{name: "hdel", setup: h, steps: []step{{"HDEL h a z c", ":2"}, {"HGETALL h", `%["b" "2"]`}}},
		{name: "hdel repeated", setup: h, steps: []step{{"HDEL h a a", ":1"}, {"HLEN h", ":2"}}},
		{name: "hdel last deletes key", setup: lines("HSET h a 1"), steps: []step{{"HDEL h a", ":1"}, {"EXISTS h", ":0"}, {"TYPE h", "+none"}}},
		row("hdel missing key", nil, "HDEL h a", ":0"),
		{name: "hdel then hset appends", setup: h, steps: []step{{"HDEL h a", ":1"}, {"HSET h a 9", ":1"}, {"HKEYS h", `["b" "c" "a"]`}}},

		// HKEYS, HVALS, HGETALL
		row("hkeys", h, "HKEYS h", `["a" "b" "c"]`),
		row("hvals", h, "HVALS h", `["1" "2" "3"]`),
		row("hgetall", h, "HGETALL h", `%["a" "1" "b" "2" "c" "3"]`),
		row("hkeys missing", nil, "HKEYS h", `[]`),
		row("hvals missing", nil, "HVALS h", `[]`),
		row("hgetall missing", nil, "HGETALL h", `%[]`),
		row("hkeys hashtable", lines("HSET h a 1 b 2 c "+long), "~HKEYS h", `["a" "b" "c"]`),

		// HINCRBY
		{name: "hincrby new", steps: []step{{"HINCRBY h a 5", ":5"}, {"HINCRBY h a -7", ":-2"}, {"HGET h a", `"-2"`}}},
		row("hincrby not integer value", lines("HSET h a x"), "HINCRBY h a 1", "-ERR hash value is not an integer"),
		row("hincrby float value", lines("HSET h a 1.5"), "HINCRBY h a 1", "-ERR hash value is not an integer"),
		row("hincrby leading zero value", lines("HSET h a 01"), "HINCRBY h a 1", "-ERR hash value is not an integer"),
		row("hincrby bad increment", h, "HINCRBY h a x", errNotInt),
		row("hincrby bad increment missing key", nil, "HINCRBY h a x", errNotInt),
		row("hincrby overflow", lines("HSET h a 9223372036854775807"), "HINCRBY h a 1", errOverflow),
		row("hincrby underflow", lines("HSET h a -9223372036854775808"), "HINCRBY h a -1", errOverflow),
		row("hincrby to min", lines("HSET h a -9223372036854775807"), "HINCRBY h a -1", ":-9223372036854775808"),

		// HINCRBYFLOAT
		{name: "hincrbyfloat", steps: []step{{"HINCRBYFLOAT h a 0.1", `"0.1"`}, {"HINCRBYFLOAT h a 0.2", `"0.3"`}, {"HGET h a", `"0.3"`}}},
		row("hincrbyfloat integer value", lines("HSET h a 10"), "HINCRBYFLOAT h a 1.5", `"11.5"`),
		row("hincrbyfloat exponent", lines("HSET h a 5.0e3"), "HINCRBYFLOAT h a 2.0e2", `"5200"`),
		row("hincrbyfloat big integer", lines("HSET h a 9223372036854775807"), "HINCRBYFLOAT h a 1.5", `"9223372036854775808"`),
		row("hincrbyfloat not float value", lines("HSET h a x"), "HINCRBYFLOAT h a 1", "-ERR hash value is not a float"),
		row("hincrbyfloat space value", lines(`HSET h a " 1"`), "HINCRBYFLOAT h a 1", "-ERR hash value is not a float"),
		row("hincrbyfloat bad increment", h, "HINCRBYFLOAT h a x", errNotFloat),
		row("hincrbyfloat inf increment", h, "HINCRBYFLOAT h a inf", "-ERR value is NaN or Infinity"),
		{name: "hincrbyfloat inf increment missing key", steps: []step{{"HINCRBYFLOAT h a -inf", "-ERR value is NaN or Infinity"}, {"EXISTS h", ":0"}}},
		row("hincrbyfloat inf value", lines("HSET h a inf"), "HINCRBYFLOAT h a 1", errNaNInf),
		row("hincrbyfloat nan increment", h, "HINCRBYFLOAT h a nan", errNotFloat),

		// HRANDFIELD (random picks are tested in TestRandomCommands)
		row("hrandfield missing", nil, "HRANDFIELD h", "(nil)"),
		row("hrandfield one field", lines("HSET h a 1"), "HRANDFIELD h", `"a"`),
		row("hrandfield count all", h, "HRANDFIELD h 5", `["a" "b" "c"]`),
		row("hrandfield count all withvalues", h, "HRANDFIELD h 3 WITHVALUES", `["a" "1" "b" "2" "c" "3"]`),
		row("hrandfield count 0", h, "HRANDFIELD h 0", `[]`),
		row("hrandfield negative one field", lines("HSET h a 1"), "HRANDFIELD h -3 withvalues", `["a" "1" "a" "1" "a" "1"]`),
		row("hrandfield count missing key", nil, "HRANDFIELD h 3", `[]`),
		row("hrandfield count not integer", h, "HRANDFIELD h x", errNotInt),
		row("hrandfield count min", h, "HRANDFIELD h -9223372036854775808",
			"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
		row("hrandfield withvalues too negative", h, "HRANDFIELD h -4611686018427387904 WITHVALUES", "-ERR value is out of range"),
		row("hrandfield withvalues too big", h, "HRANDFIELD h 4611686018427387904 WITHVALUES", "-ERR value is out of range"),
		row("hrandfield bad option", h, "HRANDFIELD h 1 WITHSCORES", errSyntax),
		row("hrandfield extra", h, "HRANDFIELD h 1 WITHVALUES x", errSyntax),
		row("hrandfield bad option before count check", h, "HRANDFIELD h x WITHSCORES", errNotInt),

		// HSCAN (small hashes come back whole; iteration is tested below)
		row("hscan", h, "HSCAN h 0", `["0" ["a" "1" "b" "2" "c" "3"]]`),
		row("hscan match", h, "HSCAN h 0 MATCH [ab]", `["0" ["a" "1" "b" "2"]]`),
		row("hscan count ignored", h, "HSCAN h 0 COUNT 1", `["0" ["a" "1" "b" "2" "c" "3"]]`),
		row("hscan missing", nil, "HSCAN h 0", `["0" []]`),
		row("hscan missing bad options", nil, "HSCAN h 0 FOO", `["0" []]`),
		row("hscan bad cursor", nil, "HSCAN h x", "-ERR invalid cursor"),
		row("hscan count 0", h, "HSCAN h 0 COUNT 0", errSyntax),
		row("hscan count not integer", h, "HSCAN h 0 COUNT x", errNotInt),
		row("hscan type", h, "HSCAN h 0 TYPE string", errSyntax),
		row("hscan novalues", h, "HSCAN h 0 NOVALUES", errSyntax),
	}
}

func TestHashCommands(t *testing.T) { runCases(t, hashCases()) }

// TestHashEncoding: a hash turns into a hashtable past 512 fields
// (hash-max-listpack-entries) or a 64-byte field or value, and never back.
func TestHashEncoding(t *testing.T) {
	h := newHarness()
	for i := range 512 {
		h.do(t, "HSET", "h", fmt.Sprint("f", i), "v")
	}
	mustEncoding(t, h, "h", "listpack")
	h.do(t, "HSET", "h", "f512", "v")
	mustEncoding(t, h, "h", "hashtable")
	h.do(t, "HDEL", "h", "f512", "f511")
	mustEncoding(t, h, "h", "hashtable")
	h.do(t, "HSET", "v", "a", strings.Repeat("x", 64))
	mustEncoding(t, h, "v", "listpack")
	h.do(t, "HSET", "v", "b", strings.Repeat("x", 65))
	mustEncoding(t, h, "v", "hashtable")
	h.do(t, "HSETNX", "w", strings.Repeat("x", 65), "1")
	mustEncoding(t, h, "w", "hashtable")
	// HINCRBY does not check lengths, as in Redis.
	h.do(t, "HINCRBY", "n", strings.Repeat("x", 65), "1")
	mustEncoding(t, h, "n", "listpack")
}

func mustEncoding(t *testing.T, h *harness, key, want string) {
	t.Helper()
	if got := fmtValue(h.do(t, "OBJECT", "ENCODING", key)); got != fmt.Sprintf("%q", want) {
		t.Fatalf("OBJECT ENCODING %s = %s, want %q", key, got, want)
	}
}

// TestCollectionScan: HSCAN, SSCAN and ZSCAN over big collections return
// every element present for the whole iteration exactly once, whatever the
// COUNT, while other elements come and go.
func TestCollectionScan(t *testing.T) {
	type kind struct {
		add, del func(h *harness, i int)
		scan     string
		pairs    bool
	}
	kinds := map[string]kind{
		"hash": {func(h *harness, i int) { h.do(t, "HSET", "k", fmt.Sprint("m", i), "v") },
			func(h *harness, i int) { h.do(t, "HDEL", "k", fmt.Sprint("m", i)) }, "HSCAN", true},
		"set": {func(h *harness, i int) { h.do(t, "SADD", "k", fmt.Sprint("m", i)) },
			func(h *harness, i int) { h.do(t, "SREM", "k", fmt.Sprint("m", i)) }, "SSCAN", false},
		"zset": {func(h *harness, i int) { h.do(t, "ZADD", "k", fmt.Sprint(i%7), fmt.Sprint("m", i)) },
			func(h *harness, i int) { h.do(t, "ZREM", "k", fmt.Sprint("m", i)) }, "ZSCAN", true},
	}
	for name, k := range kinds {
		for _, count := range []int{1, 10, 1000} {
			t.Run(fmt.Sprint(name, " count ", count), func(t *testing.T) {
				h := newHarness()
				const n = 700 // above every listpack limit, so the ordered cursor is used
				for i := range n {
					k.add(h, i)
				}
				seen := map[string]int{}
				cursor, calls := "0", 0
				for {
					v := h.do(t, k.scan, "k", cursor, "COUNT", fmt.Sprint(count))
					cursor = string(v.Arr[0].Str)
					step := 1
					if k.pairs {
						step = 2
					}
					for i := 0; i < len(v.Arr[1].Arr); i += step {
						seen[string(v.Arr[1].Arr[i].Str)]++
					}
					// Churn: delete members from the upper half, add new ones.
					if calls < n/2 {
						k.del(h, n-1-calls)
					}
					k.add(h, n+calls)
					calls++
					if cursor == "0" || calls > 5*n {
						break
					}
				}
				for i := range n / 2 {
					if c := seen[fmt.Sprint("m", i)]; c != 1 {
						t.Errorf("m%d returned %d times", i, c)
					}
				}
				for m, c := range seen {
					if c > 1 {
						t.Errorf("%s returned %d times", m, c)
					}
				}
				if count == 1 && calls < n/2 {
					t.Errorf("%d calls at COUNT 1", calls)
				}
			})
		}
	}
}
