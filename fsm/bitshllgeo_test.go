package fsm_test

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/understudy/understudy/fsm"
)

// TestBitsHLLGeoWatch: the bitmap, HyperLogLog and geo writes stamp a key's
// version (so EXEC aborts) exactly when Redis signals the key, checked
// against Redis 7.0.15 by hand; the one difference is PFCOUNT, which here
// never writes its cached count (hll.go).
func TestBitsHLLGeoWatch(t *testing.T) {
	const ran, aborted = `[+OK]`, `(nil-array)`
	cases := []struct {
		script []string
		want   string
	}{
		{[]string{"SET k a", "WATCH k", "SETBIT k 0 0", "EXEC"}, ran},
		{[]string{"SET k a", "WATCH k", "SETBIT k 0 1", "EXEC"}, aborted},
		{[]string{"WATCH k", "SETBIT k 0 0", "EXEC"}, aborted},
		{[]string{"SET k a", "WATCH k", "BITFIELD k SET u8 0 97", "EXEC"}, ran},
		{[]string{"SET k a", "WATCH k", "BITFIELD k INCRBY u8 0 1", "EXEC"}, aborted},
		{[]string{"SET k a", "WATCH k", "BITFIELD k GET u8 0", "EXEC"}, ran},
		{[]string{"SET k a", "WATCH k", "BITFIELD k SET u8 100 0", "EXEC"}, aborted},
		{[]string{"SET k a", "WATCH k", "BITFIELD k OVERFLOW FAIL INCRBY u8 200 300", "EXEC"}, ran},
		{[]string{"WATCH k", "BITFIELD k OVERFLOW FAIL INCRBY u8 0 300", "EXEC"}, aborted}, // Redis: ran
		{[]string{"SET k a", "WATCH k", "BITOP OR k k", "EXEC"}, aborted},
		{[]string{"PFADD k a", "WATCH k", "PFADD k a", "EXEC"}, ran},
		{[]string{"PFADD k a", "WATCH k", "PFADD k b", "EXEC"}, aborted},
		{[]string{"PFADD k a", "WATCH k", "PFCOUNT k", "EXEC"}, ran}, // Redis: aborted (it caches the count)
		{[]string{"PFADD k a", "WATCH k", "PFDEBUG TODENSE k", "EXEC"}, ran},
		{[]string{"PFADD k a", "WATCH k", "PFDEBUG GETREG k", "EXEC"}, ran},
		{[]string{"PFADD k a", "WATCH k", "PFMERGE k", "EXEC"}, aborted},
		{[]string{"GEOADD k 1 1 a", "WATCH k", "GEOADD k 1 1 a", "EXEC"}, ran},
		{[]string{"GEOADD k 1 1 a", "WATCH k", "GEOADD k 1 2 a", "EXEC"}, aborted},
		{[]string{"GEOADD g 1 1 a", "SET k x", "WATCH k", "GEORADIUS g 1 1 1 km STORE k", "EXEC"}, aborted},
		{[]string{"GEOADD g 1 1 a", "WATCH k", "GEOSEARCHSTORE k g FROMLONLAT 50 50 BYRADIUS 1 km", "EXEC"}, ran},
		{[]string{"GEOADD g 1 1 a", "SET k x", "WATCH k", "GEOSEARCHSTORE k g FROMLONLAT 50 50 BYRADIUS 1 km", "EXEC"}, aborted},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.script, "; "), func(t *testing.T) {
			w := &watchHarness{harness: newHarness()}
			if got := runWatch(t, w, c.script); got != c.want {
				t.Fatalf("EXEC = %s, want %s", got, c.want)
			}
		})
	}
}

// TestBitsHLLGeoNotifications: keyspace events with Redis 7.0.15's names
// and classes, at the points Redis sends them (checked against a live
// server with notify-keyspace-events KEA).
func TestBitsHLLGeoNotifications(t *testing.T) {
	h := newHarness()
	h.do(t, "GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania")
	var got []string
	h.f.SetPublishHook(func(ms []fsm.Message) {
		for _, m := range ms {
			got = append(got, strings.TrimPrefix(m.Channel, "__keyevent@0__:")+" "+m.Payload)
		}
	})
	h.idx++
	h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{
		{Op: fsm.OpInternal, Argv: bargs([]string{"config-set", "notify-keyspace-events", "EA"})}}}))
	script := []struct {
		cmd    string
		events string
	}{
		{"SETBIT b 7 1", "setbit b"}, {"SETBIT b 7 1", ""}, {"SETBIT b 100 0", "setbit b"},
		{"BITFIELD bf SET u8 0 1", "setbit bf"}, {"BITFIELD bf GET u8 0", ""}, {"BITFIELD bf SET u8 0 1", ""},
		{"BITFIELD bf INCRBY u8 0 1", "setbit bf"}, {"BITFIELD bf OVERFLOW FAIL INCRBY u8 0 300", ""},
		{"BITFIELD bf OVERFLOW FAIL INCRBY u8 200 300", ""}, {"BITFIELD bf SET u8 300 0", "setbit bf"},
		{"BITFIELD bg OVERFLOW FAIL INCRBY u8 0 300", ""},
		{"GEOADD g2 1 1 a", "zadd g2"}, {"GEOADD g2 1 1 a", ""}, {"GEOADD g2 CH 1 2 a", "zadd g2"},
		{"BITOP AND dst b bf", "set dst"}, {"BITOP AND dst2 nokey1 nokey2", ""}, {"BITOP AND dst nokey", "del dst"},
		{"PFADD h a b c", "pfadd h"}, {"PFADD h a", ""}, {"PFADD h2", "pfadd h2"}, {"PFCOUNT h", ""},
		{"PFMERGE h3 h h2", "pfadd h3"}, {"PFMERGE h3", "pfadd h3"}, {"PFDEBUG TODENSE h", ""}, {"PFDEBUG GETREG h2", ""},
		{"GEORADIUS g 15 37 200 km STORE gs", "georadiusstore gs"},
		{"GEOSEARCHSTORE gs2 g FROMMEMBER Palermo BYRADIUS 300 km", "geosearchstore gs2"},
		{"GEORADIUS g 15 37 1 km STOREDIST gs", "del gs"},
		{"GEOSEARCHSTORE gs3 nosuch FROMMEMBER Palermo BYRADIUS 1 km", ""},
		{"GEOSEARCHSTORE gs2 nosuch FROMMEMBER Palermo BYRADIUS 1 km", "del gs2"},
		{"GEORADIUS_RO g 15 37 200 km", ""}, {"GEOSEARCH g FROMLONLAT 15 37 BYRADIUS 200 km", ""},
	}
	for _, s := range script {
		got = nil
		argv := bargs(splitArgs(t, s.cmd))
		if c := fsm.Lookup(argv[0]); c != nil && c.IsWrite() {
			h.idx++
			res := h.f.Apply(raftLog(h.idx, &fsm.Entry{Type: fsm.EntryBatch, Time: h.now, Cmds: []fsm.Cmd{{Op: fsm.OpClient, Argv: argv}}}))
			if v := res.(*fsm.Result).Replies[0]; v.IsError() {
				t.Fatalf("%s: %s", s.cmd, fmtValue(v))
			}
		} else if v := h.run(t, s.cmd); strings.HasPrefix(v, "-") {
			t.Fatalf("%s: %s", s.cmd, v)
		}
		if strings.Join(got, ", ") != s.events {
			t.Errorf("%s: events %q, want %q", s.cmd, got, s.events)
		}
	}
}

// TestRawStringsInSnapshots: the raw mark survives a snapshot and is part
// of the state's hash, so every node reports the same OBJECT ENCODING.
func TestRawStringsInSnapshots(t *testing.T) {
	h := newHarness()
	h.do(t, "SET", "plain", "a")
	h.do(t, "SETBIT", "bits", "1", "1")
	h.do(t, "PFADD", "hll", "x")
	r := fsm.New()
	if err := restore(r, persist(t, mustSnapshot(t, h.f))); err != nil {
		t.Fatal(err)
	}
	if r.Hash() != h.f.Hash() {
		t.Fatal("restored state hashes differently")
	}
	for key, want := range map[string]string{"plain": `"embstr"`, "bits": `"raw"`, "hll": `"raw"`} {
		if got := fmtValue(r.Read(0, t0, 1, bargs([]string{"OBJECT", "ENCODING", key}))); got != want {
			t.Errorf("OBJECT ENCODING %s after restore = %s, want %s", key, got, want)
		}
	}
	// The same bytes unmarked hash differently: the mark is state.
	g := newHarness()
	g.do(t, "SET", "plain", "a")
	g.do(t, "SET", "bits", "@")
	g.do(t, "SET", "hll", fmtRaw(h, "hll"))
	if g.f.Hash() == h.f.Hash() {
		t.Fatal("raw and embstr strings hash equal")
	}
}

func fmtRaw(h *harness, key string) string {
	return string(h.f.Read(0, h.now, 1, bargs([]string{"GET", key})).Str)
}

// TestPFCountWritesNothing: PFCOUNT is a read that leaves the value as it
// was (stale cache and all), so nodes that answered it and nodes that did
// not hold the same state.
func TestPFCountWritesNothing(t *testing.T) {
	h := newHarness()
	h.do(t, "PFADD", "h", "a", "b", "c")
	before, hash := fmtRaw(h, "h"), h.f.Hash()
	if got := fmtValue(h.do(t, "PFCOUNT", "h")); got != ":3" {
		t.Fatalf("PFCOUNT = %s", got)
	}
	if fmtRaw(h, "h") != before || h.f.Hash() != hash {
		t.Fatal("PFCOUNT changed the state")
	}
	if cmd := fsm.Lookup([]byte("pfcount")); cmd.IsWrite() {
		t.Fatal("PFCOUNT goes through the log")
	}
}

// TestPFDebugGetreg: GETREG answers every register (after converting a
// sparse value to dense, which changes the bytes but not the version).
func TestPFDebugGetreg(t *testing.T) {
	h := newHarness()
	h.do(t, "PFADD", "h", "a", "b", "c")
	v := h.do(t, "PFDEBUG", "GETREG", "h")
	if v.Kind != fsm.KindArray || len(v.Arr) != 16384 {
		t.Fatalf("GETREG: %s", fmtValue(v)[:min(100, len(fmtValue(v)))])
	}
	set := map[int]int64{}
	for i, r := range v.Arr {
		if r.Int != 0 {
			set[i] = r.Int
		}
	}
	// PFDEBUG DECODE of this value in Redis: Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603.
	if want := map[int]int64{8436: 1, 12711: 2, 15780: 1}; fmt.Sprint(set) != fmt.Sprint(want) {
		t.Fatalf("registers %v, want %v", set, want)
	}
	if got := fmtValue(h.do(t, "PFDEBUG", "ENCODING", "h")); got != "+dense" {
		t.Fatalf("after GETREG: %s", got)
	}
}

// bitsHLLGeo is a random bitmap, HyperLogLog or geo command for cmdGen
// (TestReplicationProperty, and TestRandomAgainstRedis against a live
// server). PFCOUNT, whose cached count Redis writes and Understudy does not,
// only reads keys p1 and p2, which no other generated command reads back
// (GET, BITOP and the rest use propKeys), so a live comparison stays exact.
func (g *cmdGen) bitsHLLGeo() []string {
	k := g.key()
	off := func() string {
		if g.rng.IntN(20) == 0 {
			return g.pick("-1", "x", "4000", "4294967296")
		}
		return strconv.Itoa(g.rng.IntN(200))
	}
	typ := func() string { return g.pick("u1", "u8", "i8", "i16", "u63", "i64", "u64", "x3") }
	pkey := func() string { return g.pick("p1", "p2", "p1", "p2", k) }
	elems := func() []string {
		out := make([]string, g.rng.IntN(6))
		for i := range out {
			out[i] = "e" + strconv.Itoa(g.rng.IntN(400))
		}
		return out
	}
	lonlat := func() []string {
		if g.rng.IntN(15) == 0 {
			return []string{g.pick("200", "x", "1"), g.pick("91", "1")}
		}
		return []string{strconv.FormatFloat(12+g.rng.Float64()*6, 'f', 6, 64), strconv.FormatFloat(36+g.rng.Float64()*4, 'f', 6, 64)}
	}
	switch g.rng.IntN(16) {
	case 0, 1:
		return []string{"SETBIT", k, off(), g.pick("0", "1", "1", "2")}
	case 2:
		return []string{"GETBIT", k, off()}
	case 3:
		return append([]string{"BITCOUNT", k}, [][]string{nil, {"0", "-1"}, {"1", "3", "BIT"}, {"-5", "-1", "BYTE"}, {"1"}}[g.rng.IntN(5)]...)
	case 4:
		return append([]string{"BITPOS", k, g.pick("0", "1", "2")}, [][]string{nil, {"1"}, {"0", "-1"}, {"2", "90", "BIT"}}[g.rng.IntN(4)]...)
	case 5:
		return []string{"BITOP", g.pick("AND", "OR", "XOR", "NOT"), k, g.key(), g.key()}[:4+g.rng.IntN(2)]
	case 6, 7:
		args := []string{g.pick("BITFIELD", "BITFIELD", "BITFIELD_RO"), k}
		for range 1 + g.rng.IntN(3) {
			switch g.rng.IntN(4) {
			case 0:
				args = append(args, "GET", typ(), g.pick("#1", off()))
			case 1:
				args = append(args, "SET", typ(), g.pick("#2", off()), g.num())
			case 2:
				args = append(args, "INCRBY", typ(), off(), g.num())
			default:
				args = append(args, "OVERFLOW", g.pick("WRAP", "SAT", "FAIL", "x"))
			}
		}
		return args
	case 8, 9:
		return append([]string{"PFADD", pkey()}, elems()...)
	case 10:
		return []string{"PFCOUNT", g.pick("p1", "p2"), g.pick("p1", "p2", "p3")}[:2+g.rng.IntN(2)]
	case 11:
		return []string{"PFMERGE", pkey(), g.pick("p1", "p2", "p3"), g.pick("p1", "p2")}[:2+g.rng.IntN(2)]
	case 12:
		return []string{"PFDEBUG", g.pick("TODENSE", "ENCODING", "DECODE", "GETREG", "x"), pkey()}
	case 13:
		args := []string{"GEOADD", k}
		if g.rng.IntN(3) == 0 {
			args = append(args, g.pick("NX", "XX", "CH"))
		}
		for range 1 + g.rng.IntN(3) {
			args = append(append(args, lonlat()...), g.pick("m1", "m2", "m3", "m4", "m5"))
		}
		return args
	case 14:
		from := append([]string{"FROMLONLAT"}, lonlat()...)
		if g.rng.IntN(2) == 0 {
			from = []string{"FROMMEMBER", g.pick("m1", "m2", "m6")}
		}
		by := []string{"BYRADIUS", g.pick("50", "200", "0", "-1"), g.pick("km", "mi", "m")}
		if g.rng.IntN(2) == 0 {
			by = []string{"BYBOX", g.pick("100", "400"), g.pick("100", "300"), "km"}
		}
		opts := []string{g.pick("ASC", "DESC", "", "ANY"), g.pick("COUNT", ""), g.pick("1", "3")}
		if g.rng.IntN(2) == 0 {
			return append(append(append([]string{"GEOSEARCHSTORE", g.key(), k}, from...), by...), append(opts, g.pick("STOREDIST", ""))...)
		}
		return append(append(append([]string{"GEOSEARCH", k}, from...), by...), append(opts, g.pick("WITHDIST", "WITHCOORD", "WITHHASH", ""))...)
	}
	switch g.rng.IntN(4) {
	case 0:
		return append([]string{"GEORADIUS", k}, append(lonlat(), g.pick("100", "300"), "km", g.pick("STORE", "STOREDIST", "ASC"), g.key())...)
	case 1:
		return []string{"GEORADIUSBYMEMBER_RO", k, g.pick("m1", "m2"), "150", "km", g.pick("WITHDIST", "DESC", "COUNT"), "2"}
	case 2:
		return []string{"GEODIST", k, g.pick("m1", "m2"), g.pick("m3", "m4"), g.pick("km", "m", "x")}
	}
	return []string{g.pick("GEOPOS", "GEOHASH"), k, g.pick("m1", "m2"), g.pick("m3", "m6")}
}

// TestPFCountConcurrent: PFCOUNT reads run concurrently with each other and
// with PFADD (the node's count cache is shared by reads), and each answers
// the count of the value it read: what a node restored from a snapshot,
// whose values are new strings, computes afresh.
func TestPFCountConcurrent(t *testing.T) {
	h := newHarness()
	for _, k := range []string{"h1", "h2"} {
		h.do(t, "PFADD", k, "seed")
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			argv := bargs([]string{"PFCOUNT", []string{"h1", "h2"}[r%2]})
			for {
				select {
				case <-stop:
					return
				default:
				}
				if v := h.f.Read(0, t0, 1, argv); v.Kind != fsm.KindInt {
					t.Errorf("PFCOUNT %s = %s", argv[1], fmtValue(v))
					return
				}
			}
		}()
	}
	for i := range 3000 {
		h.do(t, "PFADD", []string{"h1", "h2"}[i%2], "e"+strconv.Itoa(i))
	}
	close(stop)
	wg.Wait()
	r := fsm.New()
	if err := restore(r, persist(t, mustSnapshot(t, h.f))); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"h1", "h2"} {
		argv := bargs([]string{"PFCOUNT", k})
		got, fresh := fmtValue(h.f.Read(0, t0, 1, argv)), fmtValue(r.Read(0, t0, 1, argv))
		if got != fresh {
			t.Errorf("PFCOUNT %s = %s, computed afresh %s", k, got, fresh)
		}
	}
}

// TestHLLSparseMaxBytes: the replicated hll-sparse-max-bytes decides when a
// HyperLogLog turns dense (as checked against redis-server).
func TestHLLSparseMaxBytes(t *testing.T) {
	h := newHarness()
	if v := h.internal(t, "config-set", "hll-sparse-max-bytes", "30"); v.IsError() {
		t.Fatal(fmtValue(v))
	}
	steps := []step{{"PFADD j a b c d e f g h", ":1"}, {"PFDEBUG ENCODING j", "+dense"},
		{"PFADD i a b c", ":1"}, {"PFDEBUG ENCODING i", "+sparse"}, {"STRLEN i", ":27"}}
	for _, s := range steps {
		if got := h.run(t, s.cmd); got != s.want {
			t.Errorf("%s = %s, want %s", s.cmd, got, s.want)
		}
	}
}
