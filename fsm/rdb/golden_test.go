package rdb

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/dump from redis-server")

// goldenCase is a value made in redis-server by commands on key K, and the
// encoding Decode should report for it (Redis 7.2's where 7.0 differs:
// small lists and sets of strings are listpacks).
type goldenCase struct {
	name string
	cmds [][]any
	enc  Encoding // "" for strings
}

func goldenCases() []goldenCase {
	rng := rand.New(rand.NewPCG(7, 15))
	randBytes := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return string(b)
	}
	text := func(n int) string { // compressible, like real text
		words := []string{"redis", "raft", "leader", "follower", "entry", "snapshot", "key", "value"}
		var sb strings.Builder
		for sb.Len() < n {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		return sb.String()[:n]
	}
	set := func(v string) [][]any { return [][]any{{"SET", "K", v}} }
	cmd := func(name string, args ...any) [][]any { return [][]any{append([]any{name, "K"}, args...)} }
	nums := func(n int, f func(i int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	cs := []goldenCase{
		{name: "string-empty", cmds: set("")},
		{name: "string-short", cmds: set("hello")},
		{name: "string-int8", cmds: set("-100")},
		{name: "string-int16", cmds: set("30000")},
		{name: "string-int32", cmds: set("-2000000000")},
		{name: "string-int64", cmds: set("9223372036854775807")},
		{name: "string-int-leading-zero", cmds: set("007")},
		{name: "string-21-bytes", cmds: set(strings.Repeat("ab", 10) + "a")},
		{name: "string-lzf", cmds: set(strings.Repeat("a", 100))},
		{name: "string-lzf-text", cmds: set(text(3000))},
		{name: "string-lzf-big", cmds: set(text(70000))},
		{name: "string-incompressible", cmds: set(randBytes(200))},
		{name: "string-binary-big", cmds: set(randBytes(17000))},
		{name: "string-append", cmds: [][]any{{"SET", "K", "12"}, {"APPEND", "K", "34"}}},

		{name: "list-small", cmds: cmd("RPUSH", "a", "1", "-1", "1000", "-4096", "40000", "-8000000",
			"2000000000", "9223372036854775807", "-9223372036854775808", "007", "x"), enc: EncListpack},
		{name: "list-long-elements", cmds: cmd("RPUSH", strings.Repeat("x", 100), text(5000), "y"), enc: EncListpack},
		{name: "list-lpush", cmds: cmd("LPUSH", "a", "b", "c"), enc: EncListpack},
		{name: "list-quicklist", cmds: cmd("RPUSH", nums(3000, func(i int) any { return "element-" + strconv.Itoa(i) })...), enc: EncQuicklist},
		{name: "list-quicklist-ints", cmds: cmd("RPUSH", nums(5000, func(i int) any { return i * 7919 })...), enc: EncQuicklist},
		{name: "list-quicklist-sizes", cmds: cmd("RPUSH", nums(600, func(int) any { return text(rng.IntN(300)) })...), enc: EncQuicklist},
		{name: "list-quicklist-big-elements", cmds: cmd("RPUSH", nums(8, func(int) any { return randBytes(1000 + rng.IntN(4000)) })...), enc: EncQuicklist},

		{name: "set-intset16", cmds: cmd("SADD", 5, -3, 100, 32767, -32768), enc: EncIntset},
		{name: "set-intset32", cmds: cmd("SADD", 1, 70000, -2147483648), enc: EncIntset},
		{name: "set-intset64", cmds: cmd("SADD", 1, "9223372036854775807", "-9223372036854775808"), enc: EncIntset},
		{name: "set-intset-big", cmds: cmd("SADD", nums(400, func(i int) any { return i*i - 5000 })...), enc: EncIntset},
		{name: "set-strings", cmds: cmd("SADD", "a", "b", "c", "1"), enc: EncListpack},
		{name: "set-over-intset", cmds: cmd("SADD", nums(600, func(i int) any { return i })...), enc: EncHashtable},
		{name: "set-many-strings", cmds: cmd("SADD", nums(300, func(i int) any { return fmt.Sprintf("m%d", i) })...), enc: EncHashtable},
		{name: "set-long-member", cmds: cmd("SADD", "a", text(100)), enc: EncHashtable},

		{name: "hash-small", cmds: cmd("HSET", "f", "v", "n", "12", "neg", "-7", "big", "123456789012", "empty", ""), enc: EncListpack},
		{name: "hash-updated", cmds: [][]any{{"HSET", "K", "a", "1", "b", "2", "c", "3"}, {"HSET", "K", "a", "changed"}, {"HDEL", "K", "b"}}, enc: EncListpack},
		{name: "hash-long-value", cmds: cmd("HSET", "f", text(100), "g", "h"), enc: EncHashtable},
		{name: "hash-many-fields", cmds: cmd("HSET", nums(1200, func(i int) any { return fmt.Sprintf("f%d", i/2) })...), enc: EncHashtable},
		{name: "hash-compressible", cmds: cmd("HSET", nums(100, func(i int) any { return "field-name-" + strconv.Itoa(i%50) })...), enc: EncListpack},

		{name: "zset-small", cmds: cmd("ZADD", 1, "one", 1.5, "frac", 0.1, "tenth", -2, "neg", "inf", "pinf", "-inf", "ninf",
			1e20, "huge", 4611686018427387904.0, "2^62", 9e18, "9e18", "-0", "negzero", 123456789, "int", 1e-300, "tiny"), enc: EncListpack},
		{name: "zset-skiplist", cmds: cmd("ZADD", nums(400, func(i int) any {
			if i%2 == 0 {
				return float64(i/2) / 3
			}
			return "member-" + strconv.Itoa(i/2)
		})...), enc: EncSkiplist},
		{name: "zset-skiplist-ties", cmds: cmd("ZADD", nums(300, func(i int) any {
			if i%2 == 0 {
				return i % 6
			}
			return strconv.Itoa(i * 7919 % 1000)
		})...), enc: EncSkiplist},
		{name: "zset-long-member", cmds: cmd("ZADD", 1, text(80), 2, "b", "-0", "z"), enc: EncSkiplist},
	}
	return cs
}

// TestGoldenAgainstRedis makes every value of goldenCases in redis-server
// and checks, for each, that Decode of its DUMP gives the value Redis holds,
// that Encode of that value gives the very bytes of the DUMP, and that Redis
// RESTOREs Encode's output into the same value and encoding. With -update
// it saves the DUMPs in testdata/dump, the fuzz corpus.
func TestGoldenAgainstRedis(t *testing.T) {
	c := redisClient(t)
	lim := DefaultLimits()
	run := strconv.FormatUint(rand.Uint64(), 36) // keys are never reused: see lzf.go
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			key := "golden:" + run + ":" + gc.name
			for _, cmd := range gc.cmds {
				args := slicesReplace(cmd, "K", key)
				do(t, c, args...)
			}
			payload := []byte(do(t, c, "DUMP", key).(string))
			want := redisValue(t, c, key)
			redisEnc := encodingOf(want)
			setEncoding(want, gc.enc)

			got, err := Decode(payload, lim)
			if err != nil {
				t.Fatalf("Decode: %v\npayload %x", err, payload)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Decode:\n got %s\nwant %s\n%s", describe(got), describe(want), firstDifference(got, want))
			}
			enc, err := Encode(want, lim)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(enc, payload) {
				t.Fatalf("Encode differs from DUMP\n ours %x\nredis %x", clip(enc), clip(payload))
			}
			// Redis reads Encode's output back into the same value.
			do(t, c, "RESTORE", key+":ours", 0, string(enc))
			back := redisValue(t, c, key+":ours")
			if e := encodingOf(back); e != redisEnc || !sameContent(back, want) {
				t.Fatalf("RESTORE of Encode's output: %s (%s), want %s", describe(back), e, redisEnc)
			}
			if *update {
				writeSeed(t, gc.name, payload)
			}
		})
	}
}

func slicesReplace(args []any, from, to string) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok && s == from {
			a = to
		}
		out[i] = a
	}
	return out
}

func encodingOf(v Value) Encoding {
	switch v := v.(type) {
	case *List:
		return v.Encoding
	case *Set:
		return v.Encoding
	case *Hash:
		return v.Encoding
	case *ZSet:
		return v.Encoding
	}
	return ""
}

func setEncoding(v Value, e Encoding) {
	switch v := v.(type) {
	case *List:
		v.Encoding = e
	case *Set:
		v.Encoding = e
	case *Hash:
		v.Encoding = e
	case *ZSet:
		v.Encoding = e
	}
}

func clip(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

// writeSeed saves a payload in the fuzz corpus, testdata/dump/<name>.bin.
func writeSeed(t *testing.T, name string, payload []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join("testdata", "dump"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "dump", name+".bin"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDifference describes where two values of the same kind first differ.
func firstDifference(a, b Value) string {
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	if av.Kind() != reflect.Pointer || bv.Kind() != reflect.Pointer || av.Type() != bv.Type() {
		return fmt.Sprintf("%T vs %T", a, b)
	}
	av, bv = av.Elem(), bv.Elem()
	for i := range av.NumField() {
		x, y := av.Field(i), bv.Field(i)
		if x.Kind() != reflect.Slice {
			if !reflect.DeepEqual(x.Interface(), y.Interface()) {
				return fmt.Sprintf("%s: %v vs %v", av.Type().Field(i).Name, x.Interface(), y.Interface())
			}
			continue
		}
		if x.Len() != y.Len() {
			return fmt.Sprintf("%s: %d vs %d elements", av.Type().Field(i).Name, x.Len(), y.Len())
		}
		for j := range x.Len() {
			if !reflect.DeepEqual(x.Index(j).Interface(), y.Index(j).Interface()) {
				return fmt.Sprintf("%s[%d]: %#v vs %#v", av.Type().Field(i).Name, j, x.Index(j).Interface(), y.Index(j).Interface())
			}
		}
	}
	return "equal"
}

// TestQuicklistFillAgainstRedis checks that Encode cuts lists into the
// nodes Redis makes under other list-max-listpack-size settings, including
// ones Redis clamps.
func TestQuicklistFillAgainstRedis(t *testing.T) {
	c := redisClient(t)
	defer do(t, c, "CONFIG", "SET", "list-max-listpack-size", "-2")
	rng := rand.New(rand.NewPCG(11, 12))
	run := strconv.FormatUint(rand.Uint64(), 36)
	for _, fill := range []int64{-1, -3, -4, -5, -9, 0, 1, 5, 128, 40000} {
		t.Run(strconv.FormatInt(fill, 10), func(t *testing.T) {
			do(t, c, "CONFIG", "SET", "list-max-listpack-size", fill)
			key := "fill:" + run + ":" + strconv.FormatInt(fill, 10)
			elems := make([]string, 1500)
			args := []any{"RPUSH", key}
			for i := range elems {
				if rng.IntN(3) == 0 {
					elems[i] = strconv.Itoa(rng.IntN(1 << 20))
				} else {
					elems[i] = strings.Repeat(string(rune('a'+i%26)), rng.IntN(400))
				}
				args = append(args, elems[i])
			}
			do(t, c, args...)
			payload := []byte(do(t, c, "DUMP", key).(string))
			lim := DefaultLimits()
			lim.ListMaxListpackSize = fill
			enc, err := Encode(&List{Elements: elems, Encoding: EncQuicklist}, lim)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, payload) {
				t.Fatalf("Encode differs from DUMP\n ours %x\nredis %x", clip(enc), clip(payload))
			}
		})
	}
}
