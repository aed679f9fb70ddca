package fsm

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy/understudy/fsm/internal/redistest"
	"github.com/understudy/understudy/fsm/rdb"
)

// TestStreamDumpAgainstRedis: a stream built by the same commands here and
// in redis-server 7.0.15 encodes to the bytes of Redis's DUMP (delivery
// and seen times, which are each server's clock, taken from Redis's), and
// Redis's DUMP loads into a stream that encodes back to it.
func TestStreamDumpAgainstRedis(t *testing.T) {
	c := redistest.Start(t)
	ctx := context.Background()
	fields := func(i int) []string { return []string{"field", strconv.Itoa(i), "other", strings.Repeat("v", i%50)} }
	var many [][]string
	for i := 1; i <= 260; i++ {
		f := fields(i)
		if i%17 == 0 {
			f = []string{"different", strconv.Itoa(i)}
		}
		if i%23 == 0 {
			f = []string{"big", strings.Repeat("x", 900+i)}
		}
		many = append(many, append([]string{"XADD", "K", fmt.Sprintf("%d-%d", i, i%4)}, f...))
	}
	cases := map[string][][]string{
		"small":  {{"XADD", "K", "1-1", "a", "1", "b", "-4096"}, {"XADD", "K", "2-0", "a", "2", "b", "x"}},
		"many":   many,
		"delete": append(append([][]string{}, many...), []string{"XDEL", "K", "1-1", "2-2", "150-2", "260-0"}, []string{"XTRIM", "K", "MINID", "30"}),
		"trim":   append(append([][]string{}, many...), []string{"XTRIM", "K", "MAXLEN", "~", "100"}, []string{"XTRIM", "K", "MAXLEN", "77"}),
		"groups": append(append([][]string{}, many[:120]...),
			[]string{"XGROUP", "CREATE", "K", "g1", "0"}, []string{"XGROUP", "CREATE", "K", "g2", "$", "ENTRIESREAD", "9"},
			[]string{"XREADGROUP", "GROUP", "g1", "alice", "COUNT", "30", "STREAMS", "K", ">"},
			[]string{"XREADGROUP", "GROUP", "g1", "bob", "COUNT", "5", "STREAMS", "K", ">"},
			[]string{"XREADGROUP", "GROUP", "g1", "", "NOACK", "COUNT", "5", "STREAMS", "K", ">"},
			[]string{"XCLAIM", "K", "g1", "dave", "0", "3-3", "4-0", "RETRYCOUNT", "70000"},
			[]string{"XACK", "K", "g1", "5-1", "6-2"}, []string{"XGROUP", "CREATECONSUMER", "K", "g2", "idle"},
			[]string{"XDEL", "K", "7-3"}, []string{"XSETID", "K", "500-0", "ENTRIESADDED", "300", "MAXDELETEDID", "400-0"}),
	}
	for name, cmds := range cases {
		t.Run(name, func(t *testing.T) {
			f := New()
			f.ApplyEntry(1, &Entry{Type: EntryBatch, Time: 1, Cmds: []Cmd{{Op: OpInternal, Argv: [][]byte{[]byte("level"), []byte("2"), []byte("16")}}}})
			key := "dump:" + name
			for i, cmd := range cmds {
				argv := make([][]byte, len(cmd))
				args := make([]any, len(cmd))
				for j, a := range cmd {
					if a == "K" {
						a = key
					}
					argv[j], args[j] = []byte(a), a
				}
				r := f.ApplyEntry(uint64(i+2), &Entry{Type: EntryBatch, Time: 1_700_000_000_000, Cmds: []Cmd{{Argv: argv}}})
				if r[0].IsError() {
					t.Fatalf("%q: %s", cmd, r[0].Str)
				}
				if err := c.Do(ctx, args...).Err(); err != nil && err.Error() != "redis: nil" {
					t.Fatalf("redis-server %q: %v", cmd, err)
				}
			}
			payload, err := c.Do(ctx, "DUMP", key).Text()
			if err != nil {
				t.Fatal(err)
			}
			rv, err := rdb.Decode([]byte(payload), rdb.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			redisStream := rv.(*rdb.Stream)
			it, ok := f.dbs[0].raw(key)
			if !ok {
				t.Fatal("no stream here")
			}
			ours := streamToRDB(it.val.(*streamObj))
			takeTimes(ours, redisStream)
			enc, err := rdb.Encode(ours, rdb.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(enc, []byte(payload)) {
				t.Fatalf("our DUMP differs from redis-server's\n ours %x\nredis %x", enc[:min(len(enc), 400)], payload[:min(len(payload), 400)])
			}
			loaded, err := streamFromRDB(redisStream, 0)
			if err != nil {
				t.Fatal(err)
			}
			again, err := rdb.Encode(streamToRDB(loaded), rdb.DefaultLimits())
			if err != nil || !bytes.Equal(again, []byte(payload)) {
				t.Fatalf("a loaded DUMP does not encode back to it: %v", err)
			}
			// A loaded stream cuts its next node where Redis would.
			for _, s := range []*streamObj{loaded, it.val.(*streamObj)} {
				s.gen = 7
				s.appendEntry(streamID{1000, 0}, [][]byte{[]byte("field"), []byte("1")})
			}
			a, _ := rdb.Encode(streamToRDB(loaded), rdb.DefaultLimits())
			ours = streamToRDB(it.val.(*streamObj))
			takeTimes(ours, streamToRDB(loaded))
			b, _ := rdb.Encode(ours, rdb.DefaultLimits())
			if !bytes.Equal(a, b) {
				t.Fatal("a loaded stream and ours differ after one more entry")
			}
		})
	}
}

// takeTimes copies Redis's delivery and seen times into v, whose groups
// are otherwise the same.
func takeTimes(v, from *rdb.Stream) {
	for i := range v.Groups {
		if i >= len(from.Groups) {
			return
		}
		g, fg := &v.Groups[i], &from.Groups[i]
		for j := range g.Pending {
			if j < len(fg.Pending) {
				g.Pending[j].DeliveryTime = fg.Pending[j].DeliveryTime
			}
		}
		for j := range g.Consumers {
			if j < len(fg.Consumers) {
				g.Consumers[j].SeenTime = fg.Consumers[j].SeenTime
			}
		}
	}
}
