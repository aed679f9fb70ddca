package compat

// Blocking XREAD and XREADGROUP: woken by another client's XADD, timing out
// with a null, serving a group's blocked consumers in the order they
// blocked, ending the wait with Redis's errors when the key or group goes,
// and with an error (never a hang) when leadership moves. The same checks
// run against redis-server, so the expectations are Redis's.

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestCompat_StreamBlocking(t *testing.T) {
	targets := blockTargets(t)
	for _, proto := range []int{2, 3} {
		for _, tg := range targets {
			t.Run(fmt.Sprintf("%s/RESP%d", tg.name, proto), func(t *testing.T) {
				t.Parallel()
				testStreamBlocking(t, tg, proto, fmt.Sprintf("xblk.%s.%d:", tg.name, proto))
			})
		}
	}
}

func testStreamBlocking(t *testing.T, tg blockTarget, proto int, p string) {
	addr := tg.addr
	ctx := ctxT(t, 60*time.Second)
	w := newClient(t, addr, proto)
	name := func(s string) string { return s + "-" + strings.Trim(strings.ReplaceAll(p, ":", ""), ".") }
	xread := func(streams ...string) func(*redis.Client) (any, error) {
		return func(c *redis.Client) (any, error) {
			return c.XRead(ctx, &redis.XReadArgs{Streams: streams, Block: 0}).Result()
		}
	}
	group := func(g, consumer string, noack bool, streams ...string) func(*redis.Client) (any, error) {
		return func(c *redis.Client) (any, error) {
			return c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: g, Consumer: consumer, Streams: streams, Block: 0, NoAck: noack}).Result()
		}
	}
	check := func(what string, v any, err error, want string) {
		t.Helper()
		got := fmt.Sprint(v)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != want {
			t.Errorf("%s:\n got %s\nwant %s", what, got, want)
		}
	}

	t.Run("XREAD $ woken by XADD", func(t *testing.T) {
		k := p + "r1"
		w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "1-1", Values: []string{"old", "x"}})
		v, err := woken(t, tg, proto, name("xread1"), "xread", xread(k, "$"), func() {
			w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "2-1", Values: []string{"f", "v"}})
		})
		check("XREAD BLOCK 0 STREAMS k $", v, err, fmt.Sprintf("[{%s [{2-1 map[f:v] 0 0}]}]", k))
	})
	t.Run("XREAD on two keys is served from the one written", func(t *testing.T) {
		a, b := p+"r2a", p+"r2b"
		w.XAdd(ctx, &redis.XAddArgs{Stream: a, ID: "5-0", Values: []string{"f", "v"}})
		v, err := woken(t, tg, proto, name("xread2"), "xread", xread(a, b, "5-0", "0"), func() {
			w.XAdd(ctx, &redis.XAddArgs{Stream: b, ID: "1-0", Values: []string{"g", "w"}})
		})
		check("XREAD two keys", v, err, fmt.Sprintf("[{%s [{1-0 map[g:w] 0 0}]}]", b))
	})
	t.Run("XREAD stays blocked through DEL and a smaller ID", func(t *testing.T) {
		k := p + "r3"
		w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "10-0", Values: []string{"f", "v"}})
		v, err := woken(t, tg, proto, name("xread3"), "xread", xread(k, "$"), func() {
			w.Del(ctx, k)
			w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "3-0", Values: []string{"small", "1"}})
			w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "11-0", Values: []string{"big", "2"}})
		})
		check("XREAD after DEL", v, err, fmt.Sprintf("[{%s [{11-0 map[big:2] 0 0}]}]", k))
	})
	t.Run("XREADGROUP woken by XADD, pending for the consumer", func(t *testing.T) {
		k := p + "g1"
		w.XGroupCreateMkStream(ctx, k, "g", "$")
		v, err := woken(t, tg, proto, name("xrg1"), "xreadgroup", group("g", "alice", false, k, ">"), func() {
			w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "1-0", Values: []string{"f", "v"}})
		})
		check("XREADGROUP", v, err, fmt.Sprintf("[{%s [{1-0 map[f:v] 0 0}]}]", k))
		pe, err := w.XPending(ctx, k, "g").Result()
		check("XPENDING after the blocked read", pe, err, "&{1 1-0 1-0 map[alice:1]}")
	})
	t.Run("XREADGROUP NOACK leaves nothing pending", func(t *testing.T) {
		k := p + "g2"
		w.XGroupCreateMkStream(ctx, k, "g", "$")
		v, err := woken(t, tg, proto, name("xrg2"), "xreadgroup", group("g", "bob", true, k, ">"), func() {
			w.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: "1-0", Values: []string{"f", "v"}})
		})
		check("XREADGROUP NOACK", v, err, fmt.Sprintf("[{%s [{1-0 map[f:v] 0 0}]}]", k))
		n, err := w.XInfoGroups(ctx, k).Result()
		check("XINFO GROUPS", n, err, "[{g 1 0 1-0 1 0}]")
	})
	t.Run("XREADGROUP ends with NOGROUP when its group is destroyed", func(t *testing.T) {
		k := p + "g3"
		w.XGroupCreateMkStream(ctx, k, "g", "$")
		v, err := woken(t, tg, proto, name("xrg3"), "xreadgroup", group("g", "c", false, k, ">"), func() {
			w.XGroupDestroy(ctx, k, "g")
		})
		check("XREADGROUP after XGROUP DESTROY", v, err, "error: NOGROUP the consumer group this client was blocked on no longer exists")
	})
	t.Run("XREADGROUP ends with UNBLOCKED when its key is deleted", func(t *testing.T) {
		k := p + "g4"
		w.XGroupCreateMkStream(ctx, k, "g", "$")
		v, err := woken(t, tg, proto, name("xrg4"), "xreadgroup", group("g", "c", false, k, ">"), func() {
			w.Del(ctx, k)
		})
		check("XREADGROUP after DEL", v, err, "error: UNBLOCKED the stream key no longer exists")
	})
	t.Run("timeouts return nil", func(t *testing.T) {
		c := newClient(t, addr, proto)
		k := p + "none"
		c.XGroupCreateMkStream(ctx, k, "g", "$")
		for _, args := range [][]any{
			{"XREAD", "BLOCK", "200", "STREAMS", k, "$"},
			{"XREAD", "BLOCK", "200", "STREAMS", p + "missing", "0"},
			{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "200", "STREAMS", k, ">"},
		} {
			start := time.Now()
			err := c.Do(ctx, args...).Err()
			el := time.Since(start)
			if !errors.Is(err, redis.Nil) {
				t.Errorf("%v: %v, want nil", args, err)
			}
			if el < 180*time.Millisecond || el > 3*time.Second {
				t.Errorf("%v with a 200 ms timeout answered after %v", args, el)
			}
		}
		for _, args := range [][]any{
			{"XREAD", "BLOCK", "-1", "STREAMS", k, "$"},
			{"XREADGROUP", "GROUP", "g", "c", "BLOCK", "0.5", "STREAMS", k, ">"},
		} {
			want := "ERR timeout is negative"
			if args[2] == "0.5" || args[5] == "0.5" {
				want = "ERR timeout is not an integer or out of range"
			}
			if err := c.Do(ctx, args...).Err(); err == nil || err.Error() != want {
				t.Errorf("%v: %v, want %s", args, err, want)
			}
		}
	})
}

// TestCompat_StreamGroupFIFO: consumers of one group blocked on a stream
// are served in the order they blocked, whichever connection blocked
// first: one XADD feeds the first, the next XADD the second. Through a
// follower too, and against redis-server.
func TestCompat_StreamGroupFIFO(t *testing.T) {
	testBlockingFIFO(t, 20, func(f *fifo, round int) {
		t, ctx, w := f.t, f.ctx, f.w
		key := fmt.Sprintf("xfifo.%s.%d", f.tg.name, round)
		if err := w.XGroupCreateMkStream(ctx, key, "g", "$").Err(); err != nil {
			t.Fatal(err)
		}
		recv := f.blockInTurn(round, func(c *redis.Client, who int) (string, error) {
			s, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: fmt.Sprint("c", who),
				Streams: []string{key, ">"}, Block: 20 * time.Second}).Result()
			id := ""
			if err == nil && len(s) == 1 && len(s[0].Messages) == 1 {
				id = s[0].Messages[0].ID
			}
			return id, err
		})
		first, second := round%2, (round+1)%2
		w.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: "1-0", Values: []string{"n", "1"}})
		if r := recv(); r.who != first || r.v != "1-0" || r.err != nil {
			t.Fatalf("round %d: after one XADD client %d got %q %v; want client %d (blocked first) to get 1-0", round, r.who, r.v, r.err, first)
		}
		w.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: "2-0", Values: []string{"n", "2"}})
		if r := recv(); r.who != second || r.v != "2-0" || r.err != nil {
			t.Fatalf("round %d: after the second XADD client %d got %q %v; want client %d to get 2-0", round, r.who, r.v, r.err, second)
		}
	})
}

// TestCompat_StreamBlockedLeadershipTransfer: a client blocked in
// XREADGROUP (directly on the leader or through a follower) gets an error
// when leadership moves, nothing was delivered to it, and the entry added
// afterwards goes to the next reader.
func TestCompat_StreamBlockedLeadershipTransfer(t *testing.T) {
	testBlockedThroughTransfer(t, blockedTransfer{
		cmd: "xreadgroup", key: "xblk.transfer.", name: "xblocked-",
		setup: func(ctx context.Context, c *redis.Client, key string) error {
			return c.XGroupCreateMkStream(ctx, key, "g", "$").Err()
		},
		block: func(c *redis.Client, key string) (any, error) {
			return c.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: "g", Consumer: "c",
				Streams: []string{key, ">"}, Block: 0}).Result()
		},
		after: func(t *testing.T, ctx context.Context, c *redis.Client, key string) {
			waitFor(t, 10*time.Second, func() bool {
				return c.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: "1-0", Values: []string{"f", "v"}}).Err() == nil
			}, "XADD on the new leader")
			if n, err := c.XPending(ctx, key, "g").Result(); err != nil || n.Count != 0 {
				t.Errorf("after the transfer XPENDING: %+v %v, want nothing pending", n, err)
			}
			s, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "d", Streams: []string{key, ">"}}).Result()
			if err != nil || fmt.Sprint(s) != fmt.Sprintf("[{%s [{1-0 map[f:v] 0 0}]}]", key) {
				t.Errorf("the next reader got %v %v, want the entry", s, err)
			}
		},
	})
}

// redisPyStreams is an application as teams write one with Debian's
// python3-redis: a producer adds jobs, a worker in a consumer group takes
// them (one blocked until the producer adds more), acknowledges them, and
// checks nothing is left pending. Everything goes through a follower.
const redisPyStreams = `
import sys, threading, redis
r = redis.Redis(host=sys.argv[1], port=int(sys.argv[2]), decode_responses=True)
key = "py:jobs"
r.delete(key)
r.xgroup_create(key, "workers", id="$", mkstream=True)
ids = [r.xadd(key, {"job": str(i)}) for i in range(3)]
got = r.xreadgroup("workers", "w1", {key: ">"}, count=10)
assert [m[0] for m in got[0][1]] == ids, got
assert [m[1]["job"] for m in got[0][1]] == ["0", "1", "2"], got
assert r.xpending(key, "workers")["pending"] == 3
assert r.xack(key, "workers", *ids) == 3
def later():
    threading.Event().wait(0.3)
    redis.Redis(host=sys.argv[1], port=int(sys.argv[2])).xadd(key, {"job": "late"})
threading.Thread(target=later).start()
got = r.xreadgroup("workers", "w1", {key: ">"}, count=1, block=10000)
assert got and got[0][1][0][1] == {"job": "late"}, got
assert r.xack(key, "workers", got[0][1][0][0]) == 1
p = r.xpending(key, "workers")
assert p["pending"] == 0, p
info = r.xinfo_groups(key)[0]
assert info["name"] == "workers" and info["pending"] == 0 and info["last-delivered-id"] == got[0][1][0][0], info
print("ok", r.xlen(key))
`

// TestCompat_StreamsRedisPy: redis-py's xadd, xreadgroup (blocking too)
// and xack through a follower.
func TestCompat_StreamsRedisPy(t *testing.T) {
	py := needRedisPy(t, "import redis")
	cl := shared(t)
	l := cl.SettledLeader(t)
	host, port := splitAddr(t, cl.Followers(l)[0].ClientAddr())
	out, err := exec.CommandContext(ctxT(t, 60*time.Second), py, "-c", redisPyStreams, host, strconv.Itoa(port)).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "ok 4" {
		t.Fatalf("redis-py: %q", got)
	}
}
