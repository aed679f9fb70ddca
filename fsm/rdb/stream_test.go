package rdb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// streamCases are streams made in redis-server by commands on key K: every
// node shape (cut by entries and by bytes, deleted entries, trimmed heads,
// different fields), counters and consumer groups with pending entries.
func streamCases() map[string][][]any {
	add := func(n int, id func(i int) string, fv func(i int) []any) [][]any {
		var out [][]any
		for i := range n {
			out = append(out, append([]any{"XADD", "K", id(i)}, fv(i)...))
		}
		return out
	}
	seq := func(i int) string { return strconv.Itoa(i+1) + "-" + strconv.Itoa(i%3) }
	same := func(i int) []any { return []any{"field", i, "other", strings.Repeat("v", i%40)} }
	cs := map[string][][]any{
		"one":      {{"XADD", "K", "1-1", "a", "1"}},
		"ints":     {{"XADD", "K", "5-0", "7", "-4096", "123456789012", "-9223372036854775808", "007", ""}},
		"fields":   add(30, seq, func(i int) []any { return []any{"f" + strconv.Itoa(i%4), i, "g", "x"} }),
		"nodes":    add(350, seq, same),
		"bytes":    add(40, seq, func(i int) []any { return []any{"blob", strings.Repeat(string(rune('a'+i%26)), 200+i*37)} }),
		"big-ids":  add(5, func(i int) string { return "18446744073709551610-" + strconv.Itoa(i) }, same),
		"seq-wrap": {{"XADD", "K", "1-18446744073709551615", "a", "b"}, {"XADD", "K", "2-0", "a", "c"}, {"XADD", "K", "2-5", "x", "y"}},
		"empty":    {{"XADD", "K", "1-0", "a", "b"}, {"XDEL", "K", "1-0"}},
		"mkstream": {{"XGROUP", "CREATE", "K", "g", "$", "MKSTREAM"}},
	}
	cs["deleted"] = append(add(250, seq, same), []any{"XDEL", "K", "1-0", "50-1", "150-2", "151-0", "250-0"},
		[]any{"XTRIM", "K", "MINID", "40"})
	cs["trimmed"] = append(add(300, seq, same), []any{"XTRIM", "K", "MAXLEN", "~", "120"}, []any{"XTRIM", "K", "MAXLEN", "90"})
	cs["setid"] = append(add(3, seq, same), []any{"XSETID", "K", "99-9", "ENTRIESADDED", "50", "MAXDELETEDID", "7-7"})
	groups := append(add(120, seq, same),
		[]any{"XGROUP", "CREATE", "K", "g1", "0"},
		[]any{"XGROUP", "CREATE", "K", "g2", "$", "ENTRIESREAD", "3"},
		[]any{"XGROUP", "CREATE", "K", "a-group-name-longer-than-twenty-bytes", "10"},
		[]any{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "30", "STREAMS", "K", ">"},
		[]any{"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "K", ">"},
		[]any{"XREADGROUP", "GROUP", "g1", "", "NOACK", "COUNT", "5", "STREAMS", "K", ">"},
		[]any{"XREADGROUP", "GROUP", "a-group-name-longer-than-twenty-bytes", "carol", "STREAMS", "K", ">"},
		[]any{"XCLAIM", "K", "g1", "dave", "0", "3-2", "4-0", "RETRYCOUNT", "1000000"},
		[]any{"XACK", "K", "g1", "5-1", "6-2"},
		[]any{"XGROUP", "CREATECONSUMER", "K", "g2", "idle"},
		[]any{"XDEL", "K", "7-0"})
	cs["groups"] = groups
	return cs
}

// TestStreamGoldenAgainstRedis: for streams made in redis-server, Decode of
// the DUMP holds what XINFO STREAM FULL shows, Encode gives the DUMP's very
// bytes, and redis-server RESTOREs Encode's output into the same stream.
func TestStreamGoldenAgainstRedis(t *testing.T) {
	c := redisClient(t)
	run := strconv.FormatUint(rand.Uint64(), 36) // keys are never reused: see lzf.go
	for name, cmds := range streamCases() {
		t.Run(name, func(t *testing.T) {
			key := "stream:" + run + ":" + name
			for _, cmd := range cmds {
				do(t, c, slicesReplace(cmd, "K", key)...)
			}
			payload := []byte(do(t, c, "DUMP", key).(string))
			if payload[0] != typeStreamListpacks2 {
				t.Fatalf("DUMP type %d", payload[0])
			}
			v, err := Decode(payload, DefaultLimits())
			if err != nil {
				t.Fatalf("Decode: %v\npayload %x", err, clip(payload))
			}
			s := v.(*Stream)
			if got, want := describeStream(s), redisStream(t, c, key); got != want {
				t.Fatalf("Decode:\n got %s\nwant %s", got, want)
			}
			enc, err := Encode(s, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, payload) {
				t.Fatalf("Encode differs from DUMP\n ours %x\nredis %x", clip(enc), clip(payload))
			}
			do(t, c, "RESTORE", key+":ours", 0, string(enc))
			if got, want := redisStream(t, c, key+":ours"), redisStream(t, c, key); got != want {
				t.Fatalf("RESTORE of Encode's output:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// redisStream is what XINFO STREAM FULL and XLEN show of a stream, in
// describeStream's form.
func redisStream(t *testing.T, c *redis.Client, key string) string {
	t.Helper()
	info := do(t, c, "XINFO", "STREAM", key, "FULL", "COUNT", 0).([]any)
	m := map[string]any{}
	for i := 0; i+1 < len(info); i += 2 {
		m[info[i].(string)] = info[i+1]
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "len=%v nodes=%v last=%v first=%v maxdel=%v added=%v entries=", m["length"], m["radix-tree-keys"],
		m["last-generated-id"], m["recorded-first-entry-id"], m["max-deleted-entry-id"], m["entries-added"])
	for _, e := range m["entries"].([]any) {
		e := e.([]any)
		fmt.Fprintf(&sb, "%v%v;", e[0], e[1])
	}
	for _, g := range m["groups"].([]any) {
		gm := pairsMap(g.([]any))
		fmt.Fprintf(&sb, " group %q last=%v read=%v pending=", gm["name"], gm["last-delivered-id"], gm["entries-read"])
		for _, p := range gm["pending"].([]any) {
			fmt.Fprintf(&sb, "%v;", p)
		}
		for _, cs := range gm["consumers"].([]any) {
			cm := pairsMap(cs.([]any))
			fmt.Fprintf(&sb, " consumer %q seen=%v holds=", cm["name"], cm["seen-time"])
			for _, p := range cm["pending"].([]any) {
				fmt.Fprintf(&sb, "%v;", p.([]any)[0])
			}
		}
	}
	return sb.String()
}

func pairsMap(a []any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(a); i += 2 {
		m[a[i].(string)] = a[i+1]
	}
	return m
}

// describeStream renders a decoded stream as redisStream renders Redis's.
func describeStream(s *Stream) string {
	var sb strings.Builder
	read := func(g StreamGroup) any {
		if g.EntriesRead == -1 {
			return nil
		}
		return g.EntriesRead
	}
	fmt.Fprintf(&sb, "len=%d nodes=%d last=%s first=%s maxdel=%s added=%d entries=", s.Length, len(s.Nodes),
		s.LastID, s.FirstID, s.MaxDeletedID, s.EntriesAdded)
	for _, n := range s.Nodes {
		for _, e := range n.Entries {
			if e.Deleted {
				continue
			}
			fields := e.Fields
			if e.SameFields {
				fields = n.Fields
			}
			var fv []any
			for i, v := range e.Values {
				fv = append(fv, fields[i], v)
			}
			fmt.Fprintf(&sb, "%s%v;", e.ID, fv)
		}
	}
	for _, g := range s.Groups {
		fmt.Fprintf(&sb, " group %q last=%s read=%v pending=", g.Name, g.LastID, read(g))
		for _, p := range g.Pending {
			fmt.Fprintf(&sb, "%v;", []any{p.ID.String(), p.Consumer, p.DeliveryTime, int64(p.DeliveryCount)})
		}
		for _, c := range g.Consumers {
			fmt.Fprintf(&sb, " consumer %q seen=%d holds=", c.Name, c.SeenTime)
			for _, id := range c.Pending {
				fmt.Fprintf(&sb, "%s;", id)
			}
		}
	}
	return sb.String()
}

// TestStreamDecodeRefusesWhatRedisRefuses corrupts stream DUMPs at random
// (CRC fixed up) and requires that whatever RESTORE on redis-server refuses
// (sanitize-dump-payload yes), Decode refuses too, with RESTORE's error;
// Decode also refuses streams whose counters disagree with their entries,
// which Redis loads (DESIGN.md).
func TestStreamDecodeRefusesWhatRedisRefuses(t *testing.T) {
	c := redisClient(t)
	run := strconv.FormatUint(rand.Uint64(), 36)
	rng := rand.New(rand.NewPCG(19, 7))
	cases := streamCases()
	for _, name := range []string{"one", "fields", "deleted", "groups", "setid"} {
		key := "corrupt:" + run + ":" + name
		for _, cmd := range cases[name] {
			do(t, c, slicesReplace(cmd, "K", key)...)
		}
		payload := []byte(do(t, c, "DUMP", key).(string))
		refused, accepted := 0, 0
		for i := range 300 {
			p := bytes.Clone(payload[:len(payload)-8])
			for range 1 + rng.IntN(3) {
				p[1+rng.IntN(len(p)-3)] ^= byte(1 + rng.IntN(255))
			}
			p = binary.LittleEndian.AppendUint64(p, crc64Jones(p))
			_, derr := Decode(p, DefaultLimits())
			if derr != nil && !errors.Is(derr, ErrBadFormat) {
				t.Fatalf("%s #%d: Decode error %v does not wrap ErrBadFormat", name, i, derr)
			}
			rkey := fmt.Sprintf("%s:%d", key, i)
			rerr := c.Do(context.Background(), "RESTORE", rkey, 0, string(p)).Err()
			c.Do(context.Background(), "DEL", rkey)
			switch {
			case rerr != nil && derr == nil:
				t.Fatalf("%s #%d: RESTORE refused (%v) what Decode accepted\npayload %x", name, i, rerr, p)
			case rerr != nil:
				if rerr.Error() != ErrBadFormat.Error() {
					t.Fatalf("%s #%d: RESTORE answered %q", name, i, rerr)
				}
				refused++
			case derr == nil:
				accepted++
			}
		}
		t.Logf("%s: %d of 300 corruptions refused by both, %d accepted by both", name, refused, accepted)
	}
}

// FuzzDecodeStream: no panic; only Redis's errors; what decodes encodes
// and decodes again to the same stream.
func FuzzDecodeStream(f *testing.F) {
	for _, s := range []*Stream{
		{Nodes: []StreamNode{{Master: StreamID{1, 1}, Fields: []string{"a"}, Entries: []StreamEntry{
			{ID: StreamID{1, 1}, SameFields: true, Values: []string{"1"}},
			{ID: StreamID{2, 0}, Deleted: true, Fields: []string{"b", "c"}, Values: []string{"x", "12"}},
			{ID: StreamID{3, 7}, SameFields: true, Values: []string{"-5"}}}}},
			Length: 2, LastID: StreamID{3, 7}, FirstID: StreamID{1, 1}, MaxDeletedID: StreamID{2, 0}, EntriesAdded: 3,
			Groups: []StreamGroup{{Name: "g", LastID: StreamID{3, 7}, EntriesRead: 3,
				Pending:   []StreamNack{{ID: StreamID{1, 1}, Consumer: "c", DeliveryTime: 1700000000000, DeliveryCount: 2}},
				Consumers: []StreamConsumer{{Name: "c", SeenTime: 1700000000001, Pending: []StreamID{{1, 1}}}, {Name: "d"}}}}},
		{LastID: StreamID{5, 5}, EntriesAdded: 4},
	} {
		p, err := Encode(s, DefaultLimits())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		v, err := Decode(p, DefaultLimits())
		if err != nil {
			if !errors.Is(err, ErrBadFormat) && !errors.Is(err, ErrChecksum) {
				t.Fatalf("error %v is neither of Redis's", err)
			}
			return
		}
		s, ok := v.(*Stream)
		if !ok {
			return
		}
		enc, err := Encode(s, DefaultLimits())
		if err != nil {
			t.Fatalf("Encode of a decoded stream: %v", err)
		}
		again, err := Decode(enc, DefaultLimits())
		if err != nil || describeStream(again.(*Stream)) != describeStream(s) {
			t.Fatalf("decoded again: %v\n%s\n%s", err, describeStream(s), describeStream(again.(*Stream)))
		}
	})
}
