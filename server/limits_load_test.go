package server_test

import (
	"context"
	"fmt"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// Limits under load: the memory limit and the write queue's bound.

const replyOOM = "OOM command not allowed when used memory > 'maxmemory'."

// heapObjects is the measure maxmemory is checked against.
func heapObjects() int64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	rtmetrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// The nodes of this test share one process, hence one heap: the limit is set
// relative to the heap at the start, and every node sees the same usage, so
// the follower's forwarded writes are refused by the leader's check.
func TestLimits_MaxMemoryRefusesGrowingWritesButNotDeletes(t *testing.T) {
	runtime.GC()
	limit := heapObjects() + 64<<20
	nodes := startCluster(t, 3, withRealStores(), withStableTiming(), withConfig(func(c *server.Config) { c.MaxMemory = server.ByteSize(limit) }))
	l := leader(t, nodes)
	c := mustClient(t, l.ClientAddr())
	fc := mustClient(t, followers(nodes, l)[0].ClientAddr())
	c.MustReply(t, okReply(), "SET", "keep", "v")
	if got := infoFields(t, c, "memory"); got["maxmemory"] != fmt.Sprint(limit) || got["maxmemory_policy"] != "noeviction" || got["used_memory"] == "" {
		t.Fatalf("INFO memory: %v", got)
	}
	oom := "-" + replyOOM

	// Data alone reaches the limit: writes are refused.
	val := strings.Repeat("m", 4096)
	const most = (128 << 20) / 4096
	for written, refused := 0, false; !refused; written += 100 {
		if written > most {
			t.Fatalf("writes still accepted after %d MiB of values (limit %d, INFO %v)", written*len(val)>>20, limit, infoFields(t, c, "memory"))
		}
		cmds := make([][]string, 100)
		for i := range cmds {
			cmds[i] = []string{"SET", fmt.Sprintf("fill:%d", written+i), val}
		}
		rs, err := c.Pipeline(cmds)
		if err != nil {
			t.Fatalf("fill: %v", err)
		}
		for _, r := range rs {
			refused = refused || r.String() == oom
			if r.String() != "OK" && r.String() != oom {
				t.Fatalf("SET while filling: %s", r)
			}
		}
	}
	// Deleting it lets writes in again, after the gauge's next forced
	// collection and once later entries (deletes here) have pushed the
	// values out of Raft's log cache (the last 256 entries, node.go).
	c.MustReply(t, okReply(), "FLUSHALL")
	deletes := 0
	waitFor(t, 60*time.Second, func() bool {
		deletes++
		c.MustReply(t, intReply(0), "DEL", fmt.Sprintf("absent:%d", deletes))
		return c.MustDo(t, "SET", "after", "flush").String() == "OK"
	}, "writes still refused after FLUSHALL and %d deletes", deletes)
	t.Logf("writes accepted again after FLUSHALL and %d deletes", deletes)

	// Memory held elsewhere in the process counts too. With it held, and
	// so steadily over the limit (the data alone hovers around it), every
	// growing write is refused: on the leader, forwarded by a follower and
	// queued in a transaction; reads and deletes still work.
	ballast := make([]byte, limit)
	waitFor(t, 10*time.Second, func() bool { return c.MustDo(t, "SET", "probe", "x").String() == oom },
		"writes accepted with %d bytes of ballast over a limit of %d", len(ballast), limit)
	oomR := errReply(replyOOM)
	c.MustReply(t, oomR, "SET", "new", "x")
	c.MustReply(t, oomR, "RPUSH", "list", "x")
	fc.MustReply(t, oomR, "SET", "new", "x")
	c.MustReply(t, bulkReply("flush"), "GET", "after")
	fc.MustReply(t, bulkReply("flush"), "GET", "after")
	c.MustReply(t, okReply(), "MULTI")
	c.MustReply(t, oomR, "SET", "new", "x")
	c.MustReply(t, errReply("EXECABORT Transaction discarded because of previous errors."), "EXEC")
	fc.MustReply(t, intReply(1), "DEL", "after")
	c.MustReply(t, intReply(0), "DEL", "after")
	fc.MustReply(t, intReply(0), "EXPIRE", "absent", "10")
	if used := infoInt(t, c, "memory", "used_memory"); used <= limit {
		t.Errorf("INFO used_memory %d, want above maxmemory %d", used, limit)
	}
	runtime.KeepAlive(ballast)
	ballast = nil

	waitFor(t, 30*time.Second, func() bool { return c.MustDo(t, "SET", "new", "x").String() == "OK" },
		"writes still refused after the ballast was dropped")
	fc.MustReply(t, okReply(), "SET", "new-follower", "x")
	checkConvergence(t, nodes)
}

// Overload: with a tiny write queue, many pipelining writers get some
// writes refused at once with TRYAGAIN, none of those is applied, every
// acknowledged one is, and the admin API answers promptly throughout.
func TestLimits_WriteQueueOverloadFailsFast(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) { c.MaxQueue = 4 }))
	l := leader(t, nodes)
	const writers, rounds, depth = 16, 10, 50

	stop := make(chan struct{})
	probeDone := make(chan struct{})
	var probes int
	var slowest time.Duration
	var probeErr error
	go func() {
		defer close(probeDone)
		admin := rpc.NewClient(l.S.AdminAddr(), "")
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			start := time.Now()
			_, err := admin.StatusOf(ctx, l.S.AdminAddr())
			cancel()
			if err != nil {
				probeErr = err
				return
			}
			probes++
			slowest = max(slowest, time.Since(start))
		}
	}()

	type outcome struct{ acked, refused, other []string }
	results := make([]outcome, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := dialClient(l.ClientAddr())
			if err != nil {
				t.Errorf("writer %d: %v", w, err)
				return
			}
			defer c.Close()
			res := &results[w]
			for r := range rounds {
				cmds := make([][]string, depth)
				for i := range cmds {
					cmds[i] = []string{"SET", fmt.Sprintf("w%d:%d:%d", w, r, i), "v"}
				}
				rs, err := c.Pipeline(cmds)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				for i, rep := range rs {
					switch {
					case rep.String() == "OK":
						res.acked = append(res.acked, cmds[i][1])
					case rep.String() == "-TRYAGAIN write queue full":
						res.refused = append(res.refused, cmds[i][1])
					default:
						res.other = append(res.other, cmds[i][1]+": "+rep.String())
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-probeDone

	var acked, refused, other []string
	for _, r := range results {
		acked, refused, other = append(acked, r.acked...), append(refused, r.refused...), append(other, r.other...)
	}
	t.Logf("%d acknowledged, %d refused; %d admin calls during the overload, slowest %v", len(acked), len(refused), probes, slowest)
	if len(other) > 0 {
		t.Fatalf("unexpected replies: %v", other[:min(len(other), 5)])
	}
	if len(refused) == 0 || len(acked) == 0 {
		t.Fatalf("want some writes acknowledged and some refused, got %d and %d", len(acked), len(refused))
	}
	if probeErr != nil || probes < 3 || slowest > 2*time.Second {
		t.Errorf("admin API during overload: %d calls, slowest %v, err %v", probes, slowest, probeErr)
	}

	c := mustClient(t, l.ClientAddr())
	check := func(keys []string, want string) {
		for len(keys) > 0 {
			n := min(len(keys), 500)
			args := append([]string{"MGET"}, keys[:n]...)
			r := c.MustDo(t, args...)
			for i, e := range r.Arr {
				if e.String() != want {
					t.Fatalf("%s = %s, want %s", keys[i], e, want)
				}
			}
			keys = keys[n:]
		}
	}
	check(acked, `"v"`)     // acknowledged: applied
	check(refused, "(nil)") // refused: never applied
	checkConvergence(t, nodes)
}
