package bitops_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/fsm/internal/bitops"
	"github.com/understudy/understudy/fsm/internal/redistest"
)

// TestAgainstRedis runs random bit commands, well-formed and not, on the
// model and on a real redis-server 7.0, comparing every reply (values and
// error texts) and, after each command, every key's bytes.
func TestAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 1))
	m := newModel()
	g := gen{rng}
	for i := range 4000 {
		if !m.other["L"] || rng.IntN(50) == 0 { // keep a key of another type, and one missing
			if err := rc.Del(ctx, "L", "missing").Err(); err != nil {
				t.Fatal(err)
			}
			if err := rc.RPush(ctx, "L", "x").Err(); err != nil {
				t.Fatal(err)
			}
			delete(m.strs, "L")
			delete(m.strs, "missing")
			m.other["L"] = true
		}
		argv := g.command()
		want := redisReply(ctx, rc, argv)
		var got string
		if string(argv[0]) == "set" {
			key := string(argv[1])
			m.strs[key] = append([]byte{}, argv[2]...)
			delete(m.other, key)
			got = "+OK"
		} else {
			got = modelReply(m.do(argv))
		}
		if got != want {
			t.Fatalf("command %d %q:\n  redis: %s\n  model: %s", i, argv, want, got)
		}
		for _, k := range keys {
			v, err := rc.Get(ctx, k).Bytes()
			if errors.Is(err, redis.Nil) {
				if _, ok := m.strs[k]; ok {
					t.Fatalf("after %q: %s missing in redis, model has %q", argv, k, m.strs[k])
				}
				continue
			}
			if err != nil {
				if m.other[k] {
					continue
				}
				t.Fatalf("GET %s: %v", k, err)
			}
			if mv, ok := m.strs[k]; !ok || string(mv) != string(v) {
				t.Fatalf("after %q: %s is %q in redis, %q (present %v) in model", argv, k, v, mv, ok)
			}
		}
	}
}

var keys = []string{"a", "b", "c", "L", "missing"}

func redisReply(ctx context.Context, rc *redis.Client, argv [][]byte) string {
	args := make([]any, len(argv))
	for i, a := range argv {
		args[i] = string(a)
	}
	v, err := rc.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return "nil"
	}
	if err != nil {
		return "-" + err.Error()
	}
	return format(v)
}

func format(v any) string {
	switch v := v.(type) {
	case int64:
		return ":" + strconv.FormatInt(v, 10)
	case string:
		return "+" + v
	case nil:
		return "nil"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = format(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("?%T", v)
}

func modelReply(r reply) string {
	if r.err != nil {
		return "-" + errText(r.err)
	}
	switch v := r.v.(type) {
	case int64:
		return format(v)
	case []bitops.FieldResult:
		parts := make([]string, len(v))
		for i, f := range v {
			parts[i] = ":" + strconv.FormatInt(f.Value, 10)
			if f.Nil {
				parts[i] = "nil"
			}
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprintf("?%T", r.v)
}

// gen draws commands: mostly well-formed, with small strings full of runs of
// 0x00 and 0xff bytes, and now and then a malformed argument.
type gen struct{ r *rand.Rand }

func (g gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g gen) key() string { return g.pick("a", "b", "c", "a", "b", "L", "missing") }

func (g gen) value() string {
	b := make([]byte, g.r.IntN(12))
	for i := range b {
		switch g.r.IntN(4) {
		case 0:
			b[i] = 0
		case 1:
			b[i] = 0xff
		default:
			b[i] = byte(g.r.Uint32())
		}
	}
	return string(b)
}

// index is a BITCOUNT/BITPOS index: small, negative, huge or malformed.
func (g gen) index() string {
	switch g.r.IntN(20) {
	case 0:
		return g.pick("x", "01", "-0", "+1", "", " 1", "9223372036854775807", "-9223372036854775808", "99999999999999999999")
	case 1:
		return strconv.FormatInt(g.r.Int64()-1<<62, 10)
	}
	return strconv.Itoa(g.r.IntN(140) - 70)
}

func (g gen) unit() string {
	if g.r.IntN(15) == 0 {
		return g.pick("bits", "", "b", "bit\x00x")
	}
	return g.pick("bit", "BIT", "byte", "Byte")
}

func (g gen) command() [][]byte {
	var a []string
	switch g.r.IntN(9) {
	case 0:
		a = []string{"set", g.pick("a", "b", "c"), g.value()}
	case 1:
		off := strconv.Itoa(g.r.IntN(200))
		if g.r.IntN(10) == 0 {
			off = g.pick("-1", "x", "4294967296", "01", strconv.Itoa(g.r.IntN(5000)))
		}
		val := g.pick("0", "1", "1", "0")
		if g.r.IntN(15) == 0 {
			val = g.pick("2", "-1", "x", "01")
		}
		a = []string{"setbit", g.key(), off, val}
	case 2:
		a = []string{"getbit", g.key(), strconv.Itoa(g.r.IntN(120))}
	case 3, 4:
		a = []string{"bitcount", g.key()}
		for range g.r.IntN(5) {
			a = append(a, g.index())
		}
		if len(a) == 4 && g.r.IntN(2) == 0 {
			a = append(a, g.unit())
		}
	case 5, 6:
		a = []string{"bitpos", g.key(), g.pick("0", "1", "0", "1", "2", "x")}
		for range g.r.IntN(4) {
			a = append(a, g.index())
		}
		if len(a) == 5 && g.r.IntN(2) == 0 {
			a = append(a, g.unit())
		} else if len(a) == 6 && g.r.IntN(4) != 0 {
			a[5] = g.unit()
		}
	case 7:
		a = []string{"bitop", g.pick("and", "or", "xor", "not", "AND", "Not", "nand", "diff"), g.key()}
		for range 1 + g.r.IntN(3) {
			a = append(a, g.key())
		}
	case 8:
		a = g.bitfield()
	}
	argv := make([][]byte, len(a))
	for i, s := range a {
		argv[i] = []byte(s)
	}
	return argv
}

func (g gen) bitfield() []string {
	name := "bitfield"
	if g.r.IntN(5) == 0 {
		name = "bitfield_ro"
	}
	a := []string{name, g.key()}
	for range 1 + g.r.IntN(4) {
		signed := g.r.IntN(2) == 0
		width := 1 + g.r.IntN(64)
		if !signed {
			width = 1 + g.r.IntN(63)
		}
		if g.r.IntN(3) == 0 {
			width = []int{1, 7, 8, 16, 63, 64}[g.r.IntN(6)]
			if !signed && width == 64 {
				width = 63
			}
		}
		typ := fmt.Sprintf("i%d", width)
		if !signed {
			typ = fmt.Sprintf("u%d", width)
		}
		if g.r.IntN(25) == 0 {
			typ = g.pick("u64", "i65", "i0", "x8", "I8", "u08", "u", "")
		}
		off := strconv.Itoa(g.r.IntN(100))
		if g.r.IntN(4) == 0 {
			off = "#" + strconv.Itoa(g.r.IntN(6))
		}
		if g.r.IntN(25) == 0 {
			off = g.pick("-1", "x", "#-1", "#", "4294967296", "#2305843009213693952")
		}
		switch g.r.IntN(7) {
		case 0, 1:
			a = append(a, g.pick("get", "GET"), typ, off)
		case 2, 3:
			a = append(a, g.pick("set", "SET"), typ, off, g.fieldValue(signed, width))
		case 4, 5:
			a = append(a, g.pick("incrby", "INCRBY"), typ, off, g.fieldValue(signed, width))
		case 6:
			a = append(a, "overflow", g.pick("wrap", "sat", "fail", "SAT", "Fail", "bogus"))
		}
	}
	if g.r.IntN(20) == 0 {
		a = a[:len(a)-1] // a subcommand missing an argument
	}
	return a
}

// fieldValue is a SET value or INCRBY increment near the interesting limits
// of the field's width and of int64.
func (g gen) fieldValue(signed bool, width int) string {
	lim := uint64(1)<<(width-1) - 1
	if !signed {
		lim = uint64(1)<<width - 1
	}
	if width == 64 {
		lim = 1<<63 - 1
	}
	switch g.r.IntN(8) {
	case 0:
		return strconv.FormatUint(lim, 10)
	case 1:
		return "-" + strconv.FormatUint(lim, 10)
	case 2:
		return strconv.FormatInt(int64(lim)+int64(g.r.IntN(5))-2, 10)
	case 3:
		return g.pick("9223372036854775807", "-9223372036854775808", "0", "-1", "1")
	case 4:
		return strconv.FormatInt(int64(g.r.Uint64()), 10)
	case 5:
		if g.r.IntN(4) == 0 {
			return g.pick("x", "1.5", "")
		}
	}
	return strconv.Itoa(g.r.IntN(600) - 300)
}

// TestBitfieldLimitsAgainstRedis runs SET then INCRBY at the limits of each
// width against Redis: every pair of interesting values and increments,
// signed and unsigned, under each OVERFLOW behaviour.
func TestBitfieldLimitsAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	m := newModel()
	vals := []string{"-9223372036854775808", "-9223372036854775807", "-4611686018427387905", "-129", "-128",
		"-2", "-1", "0", "1", "2", "127", "128", "255", "256", "4611686018427387904",
		"9223372036854775806", "9223372036854775807"}
	for _, typ := range []string{"i1", "u1", "i2", "u2", "i8", "u8", "i32", "u32", "i63", "u63", "i64"} {
		for _, v := range vals {
			for _, incr := range vals {
				for _, ow := range []string{"wrap", "sat", "fail"} {
					argv := [][]byte{[]byte("bitfield"), []byte("k"), []byte("overflow"), []byte(ow),
						[]byte("set"), []byte(typ), []byte("3"), []byte(v),
						[]byte("incrby"), []byte(typ), []byte("3"), []byte(incr), []byte("get"), []byte(typ), []byte("3")}
					want := redisReply(ctx, rc, argv)
					if got := modelReply(m.do(argv)); got != want {
						t.Fatalf("%q:\n  redis: %s\n  model: %s", argv, want, got)
					}
				}
			}
		}
	}
	got, err := rc.Get(ctx, "k").Bytes()
	if err != nil || string(got) != string(m.strs["k"]) {
		t.Fatalf("k is %q (%v) in redis, %q in the model", got, err, m.strs["k"])
	}
}
