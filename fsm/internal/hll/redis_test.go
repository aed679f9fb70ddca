package hll_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/fsm/internal/redistest"
)

// TestAgainstRedis grows HyperLogLogs past the sparse to dense promotion
// with random PFADDs, counting and merging them on the way, under several
// hll-sparse-max-bytes settings, and compares every reply and every value's
// bytes with a real redis-server 7.0.
func TestAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 2))
	for _, sparseMax := range []int{3000, 200, 0} {
		if err := rc.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rc.ConfigSet(ctx, "hll-sparse-max-bytes", strconv.Itoa(sparseMax)).Err(); err != nil {
			t.Fatal(err)
		}
		m := newModel()
		m.sparseMax = sparseMax
		setOther(ctx, t, rc, m)
		ops := 0
		for _, k := range []string{"h1", "h2", "h3"} {
			// One to three elements at a time while sparse, so that the
			// bytes are compared around each promotion and merge of
			// opcodes; then a few big additions to the dense value.
			for dense := 0; dense < 20; {
				argv := []string{"pfadd", k}
				n := 1 + rng.IntN(3)
				if len(m.strs[k]) > 3 && m.strs[k][4] == 0 {
					dense++
					n = rng.IntN(400)
				}
				for range n {
					argv = append(argv, element(rng))
				}
				compare(ctx, t, rc, m, argv)
				ops++
				switch rng.IntN(40) {
				case 0:
					compare(ctx, t, rc, m, []string{"pfcount", k})
				case 1:
					compare(ctx, t, rc, m, append([]string{"pfcount"}, someKeys(rng)...))
				case 2:
					compare(ctx, t, rc, m, append([]string{"pfmerge"}, someKeys(rng)...))
				}
			}
		}
		t.Logf("hll-sparse-max-bytes %d: %d PFADDs compared", sparseMax, ops)
	}
}

func setOther(ctx context.Context, t *testing.T, rc *redis.Client, m *model) {
	t.Helper()
	if err := rc.RPush(ctx, "L", "x").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Set(ctx, "s", "not an hll", 0).Err(); err != nil {
		t.Fatal(err)
	}
	m.other["L"] = true
	m.strs["s"] = []byte("not an hll")
}

// element draws from a pool small enough that elements repeat.
func element(r *rand.Rand) string {
	if r.IntN(50) == 0 {
		return string([]byte{byte(r.Uint32()), 0, byte(r.Uint32())})
	}
	return "e" + strconv.Itoa(r.IntN(200000))
}

func someKeys(r *rand.Rand) []string {
	all := []string{"h1", "h2", "h3", "h4", "missing", "h1", "h2"}
	if r.IntN(20) == 0 {
		all = append(all, "s", "L")
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all[:1+r.IntN(4)]
}

// compare runs argv on both and checks the replies and then the bytes of
// every key the command named.
func compare(ctx context.Context, t *testing.T, rc *redis.Client, m *model, argv []string) {
	t.Helper()
	args := make([]any, len(argv))
	bargv := make([][]byte, len(argv))
	for i, a := range argv {
		args[i], bargv[i] = a, []byte(a)
	}
	var want string
	switch v, err := rc.Do(ctx, args...).Result(); {
	case err != nil:
		want = "-" + err.Error()
	case v == "OK":
		want = "+OK"
	default:
		want = fmt.Sprintf(":%d", v)
	}
	r := m.do(bargv)
	got := fmt.Sprintf(":%d", r.v)
	if r.err != nil {
		got = "-" + errText(r.err)
	} else if r.ok {
		got = "+OK"
	}
	if got != want {
		t.Fatalf("%.80q:\n  redis: %s\n  model: %s", argv, want, got)
	}
	keys := argv[1:]
	if argv[0] == "pfadd" {
		keys = keys[:1]
	}
	for _, k := range keys {
		if m.other[k] {
			continue
		}
		v, err := rc.Get(ctx, k).Bytes()
		mv, ok := m.strs[k]
		if errors.Is(err, redis.Nil) && !ok {
			continue
		}
		if err != nil || !ok || string(v) != string(mv) {
			t.Fatalf("after %.80q, %s: %v, present in the model %v\n%s", argv, k, err, ok, diff(v, mv))
		}
	}
}

// diff describes where two values first differ.
func diff(redis, model []byte) string {
	i := 0
	for i < len(redis) && i < len(model) && redis[i] == model[i] {
		i++
	}
	show := func(b []byte) string {
		return fmt.Sprintf("%d bytes, from byte %d: %x", len(b), i, b[i:min(len(b), i+24)])
	}
	return "  redis: " + show(redis) + "\n  model: " + show(model)
}

// TestPromotionAgainstRedis adds one element at a time until the value is
// dense, under several hll-sparse-max-bytes, comparing the bytes after each.
func TestPromotionAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 3))
	for _, sparseMax := range []int{3000, 1000, 300, 21, 18, 17} {
		if err := rc.ConfigSet(ctx, "hll-sparse-max-bytes", strconv.Itoa(sparseMax)).Err(); err != nil {
			t.Fatal(err)
		}
		m := newModel()
		m.sparseMax = sparseMax
		k := "p" + strconv.Itoa(sparseMax)
		for i := 0; len(m.strs[k]) < 4 || m.strs[k][4] != 0; i++ {
			if i == 5000 {
				t.Fatalf("hll-sparse-max-bytes %d: still sparse after %d elements", sparseMax, i)
			}
			compare(ctx, t, rc, m, []string{"pfadd", k, element(rng)})
		}
	}
}

// TestCorruptAgainstRedis stores damaged values (bad headers, wrong dense
// lengths, sparse runs that miss or overflow the registers, random byte
// flips, stale and fresh cached counts) and compares what PFADD, PFCOUNT and
// PFMERGE answer and leave behind.
//
// After a PFADD that fails on corruption Redis keeps, on the master only,
// the registers it updated before it met the corruption; the model keeps
// nothing (see hll.Add), so that case takes Redis's bytes and goes on.
func TestCorruptAgainstRedis(t *testing.T) {
	rc := redistest.Start(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(redistest.Seed(t), 4))
	m := newModel()
	setOther(ctx, t, rc, m)
	hdr := func(enc byte, stale bool) string {
		h := []byte("HYLL\x00\x00\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00")
		h[4] = enc
		if stale {
			h[15] = 0x80
		}
		return string(h)
	}
	fixed := []string{
		"", "HYLL", "HYLL\x01\x00\x00", hdr(2, true) + "\x7f\xff", hdr(0, true) + strings.Repeat("\x00", 12287),
		hdr(0, true) + strings.Repeat("\x00", 12289), hdr(0, false) + strings.Repeat("\xff", 12288),
		hdr(0, true) + strings.Repeat("\xff", 12288), hdr(0, true) + strings.Repeat("\x41", 12288),
		hdr(1, true), hdr(1, false), hdr(1, true) + "\x7f", hdr(1, true) + "\x7f\xfe", hdr(1, true) + "\x7f\xfe\x00",
		hdr(1, true) + "\x7f\xfe\x80", hdr(1, true) + "\x7f\xfe\xfc", hdr(1, true) + "\x7f\xff\x80",
		hdr(1, true) + "\x40\x00\x7f\xff", hdr(1, false) + "\x7f\x00", hdr(1, true) + "\x7f\xfe\x83",
		hdr(1, true) + "\x3f\x7f\xbe", hdr(1, true) + strings.Repeat("\x3f", 256), hdr(1, true) + strings.Repeat("\xff", 4096),
		hdr(1, true) + "\x3f\x3f\x3f\x3e\x7f", hdr(1, false) + "\x3f\x3f\x3f\x3e\x7f", // valid, last XZERO cut
	}
	cases := len(fixed)
	for i := range cases + 400 {
		var v []byte
		if i < len(fixed) {
			v = []byte(fixed[i])
		} else {
			v = damaged(rng)
		}
		for _, k := range []string{"c", "d"} {
			if err := rc.Set(ctx, k, v, 0).Err(); err != nil {
				t.Fatal(err)
			}
			m.strs[k] = append([]byte{}, v...)
		}
		for _, argv := range [][]string{
			{"pfcount", "c"}, {"pfcount", "c", "missing"}, {"pfmerge", "e", "c"}, {"pfmerge", "d", "h1"},
			{"pfadd", "c", element(rng), element(rng), element(rng)}, {"pfcount", "c"},
		} {
			if argv[0] == "pfadd" {
				saved, had := m.strs["c"]
				if r := m.do(toArgv(argv)); r.err != nil {
					// Redis keeps a partial update: check the reply, take its bytes.
					want, err := rc.Do(ctx, toAny(argv)...).Result()
					if err == nil || err.Error() != errText(r.err) {
						t.Fatalf("case %d %q: redis answered %v, %v; the model %v", i, argv, want, err, r.err)
					}
					b, err := rc.Get(ctx, "c").Bytes()
					if err != nil {
						t.Fatal(err)
					}
					m.strs["c"] = b
					continue
				}
				if m.strs["c"] = saved; !had {
					delete(m.strs, "c")
				}
				if cutXZero(saved) {
					// Past this PFADD, Redis may keep a byte past the end of
					// c that a later command would read (see cutXZero).
					compare(ctx, t, rc, m, argv)
					break
				}
			}
			compare(ctx, t, rc, m, argv)
		}
	}
}

// cutXZero reports whether a sparse value ends with an XZERO cut short:
// Redis reads its second byte from past the end of the string, a byte that
// a PFADD splitting it may set and that stays in memory for later commands
// (the package follows it within one command, starting from 0).
func cutXZero(v []byte) bool {
	if len(v) < 16 || v[4] != 1 {
		return false
	}
	p := 16
	for p < len(v) {
		if v[p]&0xc0 == 0x40 {
			p += 2
		} else {
			p++
		}
	}
	return p > len(v)
}

// damaged is a random sparse value with a few bytes changed, cut or added.
func damaged(r *rand.Rand) []byte {
	m := newModel()
	for range r.IntN(60) {
		m.do(toArgv([]string{"pfadd", "x", element(r)}))
	}
	v := append([]byte{}, m.strs["x"]...)
	if len(v) == 0 {
		v = []byte(hllNew())
	}
	switch r.IntN(4) {
	case 0:
		v = v[:16+r.IntN(len(v)-15)]
	case 1:
		v = append(v, byte(r.Uint32()))
	}
	for range r.IntN(3) + 1 {
		if len(v) > 16 {
			v[16+r.IntN(len(v)-16)] = byte(r.Uint32())
		}
	}
	if r.IntN(2) == 0 {
		v[15] &^= 0x80 // a fresh cached count over damaged registers
	}
	return v
}

func hllNew() string { return "HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x7f\xff" }

func toArgv(a []string) [][]byte {
	out := make([][]byte, len(a))
	for i, s := range a {
		out[i] = []byte(s)
	}
	return out
}

func toAny(a []string) []any {
	out := make([]any, len(a))
	for i, s := range a {
		out[i] = s
	}
	return out
}
