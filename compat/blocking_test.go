package compat

// Blocking list commands: woken by another client's push, timing out with
// a null, picking the first non-empty key, refusing a negative timeout, and
// answering with an error (never hanging) when leadership moves away while
// a client is blocked. The same checks run against redis-server, so the
// expectations are Redis's.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// blockTarget is one server the blocking tests run against. When addr is
// a follower, leader is the leader's address: the follower's relay carries
// the blocked command there, and that is where it waits.
type blockTarget struct{ name, addr, leader string }

// blockTargets are the shared cluster's leader, one of its followers, and
// redis-server when there is one.
func blockTargets(t *testing.T) []blockTarget {
	cl := shared(t)
	l := cl.SettledLeader(t)
	targets := []blockTarget{
		{name: "leader", addr: l.ClientAddr()},
		{name: "follower", addr: cl.Followers(l)[0].ClientAddr(), leader: l.ClientAddr()},
	}
	if redisAddr != "" {
		targets = append(targets, blockTarget{name: "redis-server", addr: redisAddr})
	}
	return targets
}

// holder is the address whose CLIENT LIST shows the blocked command: the
// leader's, where a follower relays it.
func (tg blockTarget) holder() string {
	if tg.leader != "" {
		return tg.leader
	}
	return tg.addr
}

// blockedOn polls CLIENT LIST on addr: the named client's last command is
// the blocking one (it sent nothing after it).
func blockedOn(addr string, cmds ...string) func(t *testing.T, name string) bool {
	return func(t *testing.T, name string) bool {
		for _, line := range strings.Split(clientList(t, addr), "\n") {
			if !strings.Contains(line, " name="+name+" ") {
				continue
			}
			for _, cmd := range cmds {
				if strings.Contains(line, " cmd="+cmd+" ") {
					return true
				}
			}
		}
		return false
	}
}

// heldBlocked reports whether CLIENT LIST on addr shows a client named name
// (speaking RESP proto, when proto > 0) held blocked in cmd: flags=b, which
// both Redis and Understudy set only once the command has looked at the
// keyspace and is waiting, so a write made after it is one the command
// must see.
func heldBlocked(t *testing.T, addr, name, cmd string, proto int) bool {
	for _, f := range clientLines(t, clientList(t, addr)) {
		if f["name"] == name && f["cmd"] == cmd && strings.Contains(f["flags"], "b") &&
			(proto == 0 || f["resp"] == fmt.Sprint(proto)) {
			return true
		}
	}
	return false
}

// woken runs call on a client named name at tg, waits until the server
// holds it blocked in cmd, runs wake, and returns call's result. Through a
// follower the wait is for the leader to hold the relayed command (the
// relay is unnamed; its protocol tells the parallel subtests' relays
// apart): until then a write could land before the command, and XREAD's
// "$" would rightly wait beyond it.
func woken(t *testing.T, tg blockTarget, proto int, name, cmd string, call func(*redis.Client) (any, error), wake func()) (any, error) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: tg.addr, Protocol: proto, MaxRetries: -1, PoolSize: 1,
		ReadTimeout: 20 * time.Second, ClientName: name})
	defer rdb.Close()
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() { v, err := call(rdb); done <- result{v, err} }()
	waitFor(t, 10*time.Second, func() bool {
		select {
		case r := <-done:
			done <- r
			return true // answered without blocking: checked below
		default:
		}
		if tg.leader == "" {
			return heldBlocked(t, tg.addr, name, cmd, 0)
		}
		return blockedOn(tg.addr, cmd)(t, name) && heldBlocked(t, tg.leader, "", cmd, proto)
	}, "client %s never showed as blocked in %s", name, cmd)
	select {
	case r := <-done:
		t.Fatalf("%s answered before it was woken: %v %v", cmd, r.v, r.err)
	default:
	}
	wake()
	select {
	case r := <-done:
		return r.v, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still blocked 10s after the write that should wake it", cmd)
		return nil, nil
	}
}

func TestCompat_Blocking(t *testing.T) {
	targets := blockTargets(t)
	for _, proto := range []int{2, 3} {
		for _, tg := range targets {
			t.Run(fmt.Sprintf("%s/RESP%d", tg.name, proto), func(t *testing.T) {
				t.Parallel() // keys are unique per target and protocol
				testBlocking(t, tg, proto, fmt.Sprintf("blk.%s.%d:", tg.name, proto))
			})
		}
	}
}

func testBlocking(t *testing.T, tg blockTarget, proto int, p string) {
	addr := tg.addr
	ctx := ctxT(t, 30*time.Second)
	pusher := newClient(t, addr, proto)

	t.Run("BLPOP woken by RPUSH", func(t *testing.T) {
		v, err := woken(t, tg, proto, "blpop-"+strings.Trim(p, ":."), "blpop", func(c *redis.Client) (any, error) {
			return c.BLPop(ctx, 0, p+"q1").Result()
		}, func() { pusher.RPush(ctx, p+"q1", "a", "b") })
		if fmt.Sprint(v) != fmt.Sprintf("[%sq1 a]", p) || err != nil {
			t.Errorf("BLPOP: %v %v, want [%sq1 a]", v, err, p)
		}
		if rest, _ := pusher.LRange(ctx, p+"q1", 0, -1).Result(); fmt.Sprint(rest) != "[b]" {
			t.Errorf("after BLPOP the list holds %v, want [b]", rest)
		}
	})
	t.Run("BRPOP woken by RPUSH to its second key", func(t *testing.T) {
		v, err := woken(t, tg, proto, "brpop-"+strings.Trim(p, ":."), "brpop", func(c *redis.Client) (any, error) {
			return c.BRPop(ctx, 0, p+"q2", p+"q3").Result()
		}, func() { pusher.RPush(ctx, p+"q3", "x", "y") })
		if fmt.Sprint(v) != fmt.Sprintf("[%sq3 y]", p) || err != nil {
			t.Errorf("BRPOP: %v %v, want [%sq3 y]", v, err, p)
		}
	})
	t.Run("BLMOVE woken by RPUSH", func(t *testing.T) {
		v, err := woken(t, tg, proto, "blmove-"+strings.Trim(p, ":."), "blmove", func(c *redis.Client) (any, error) {
			return c.BLMove(ctx, p+"src", p+"dst", "LEFT", "RIGHT", 0).Result()
		}, func() { pusher.RPush(ctx, p+"src", "m") })
		if v != "m" || err != nil {
			t.Errorf("BLMOVE: %v %v, want m", v, err)
		}
		if got, _ := pusher.LRange(ctx, p+"dst", 0, -1).Result(); fmt.Sprint(got) != "[m]" {
			t.Errorf("BLMOVE destination holds %v, want [m]", got)
		}
	})
	t.Run("BLMPOP woken by RPUSH to its second key", func(t *testing.T) {
		v, err := woken(t, tg, proto, "blmpop-"+strings.Trim(p, ":."), "blmpop", func(c *redis.Client) (any, error) {
			k, vals, err := c.BLMPop(ctx, 0, "left", 2, p+"m1", p+"m2").Result()
			return fmt.Sprintf("%s %v", k, vals), err // go-redis sends COUNT 2
		}, func() { pusher.RPush(ctx, p+"m2", "x", "y", "z") })
		if v != fmt.Sprintf("%sm2 [x y]", p) || err != nil {
			t.Errorf("BLMPOP: %v %v, want %sm2 [x y]", v, err, p)
		}
		v, err = woken(t, tg, proto, "blmpopc-"+strings.Trim(p, ":."), "blmpop", func(c *redis.Client) (any, error) {
			return c.Do(ctx, "BLMPOP", "0", "1", p+"m3", "RIGHT", "COUNT", "5").Result()
		}, func() { pusher.RPush(ctx, p+"m3", "a", "b", "c") })
		if fmt.Sprint(v) != fmt.Sprintf("[%sm3 [c b a]]", p) || err != nil {
			t.Errorf("BLMPOP COUNT 5: %v %v, want [%sm3 [c b a]]", v, err, p)
		}
	})
	t.Run("BZPOPMIN and BZPOPMAX woken by ZADD", func(t *testing.T) {
		v, err := woken(t, tg, proto, "bzpopmin-"+strings.Trim(p, ":."), "bzpopmin", func(c *redis.Client) (any, error) {
			z, err := c.BZPopMin(ctx, 0, p+"z1", p+"z2").Result()
			return fmt.Sprintf("%s %v %v", z.Key, z.Member, z.Score), err
		}, func() { pusher.ZAdd(ctx, p+"z2", redis.Z{Score: 2.5, Member: "b"}, redis.Z{Score: 1, Member: "a"}) })
		if v != fmt.Sprintf("%sz2 a 1", p) || err != nil {
			t.Errorf("BZPOPMIN: %v %v, want %sz2 a 1", v, err, p)
		}
		v, err = woken(t, tg, proto, "bzpopmax-"+strings.Trim(p, ":."), "bzpopmax", func(c *redis.Client) (any, error) {
			z, err := c.BZPopMax(ctx, 0, p+"z3").Result()
			return fmt.Sprintf("%s %v %v", z.Key, z.Member, z.Score), err
		}, func() { pusher.ZAdd(ctx, p+"z3", redis.Z{Score: 2.5, Member: "b"}, redis.Z{Score: 1, Member: "a"}) })
		if v != fmt.Sprintf("%sz3 b 2.5", p) || err != nil {
			t.Errorf("BZPOPMAX: %v %v, want %sz3 b 2.5", v, err, p)
		}
	})
	t.Run("BZMPOP woken by ZADD", func(t *testing.T) {
		v, err := woken(t, tg, proto, "bzmpop-"+strings.Trim(p, ":."), "bzmpop", func(c *redis.Client) (any, error) {
			k, zs, err := c.BZMPop(ctx, 0, "max", 2, p+"zm1", p+"zm2").Result() // COUNT 2
			return fmt.Sprintf("%s %v", k, zs), err
		}, func() {
			pusher.ZAdd(ctx, p+"zm2", redis.Z{Score: 1, Member: "a"}, redis.Z{Score: 2, Member: "b"}, redis.Z{Score: 3, Member: "c"})
		})
		if v != fmt.Sprintf("%szm2 [{3 c} {2 b}]", p) || err != nil {
			t.Errorf("BZMPOP: %v %v, want %szm2 [{3 c} {2 b}]", v, err, p)
		}
	})
	t.Run("timeouts return nil", func(t *testing.T) {
		c := newClient(t, addr, proto)
		// Through Do: go-redis rounds the typed commands' timeouts up to 1s.
		for _, args := range [][]any{
			{"BLPOP", p + "none", "0.2"},
			{"BRPOP", p + "none", p + "none2", "0.2"},
			{"BLMOVE", p + "none", p + "d", "LEFT", "LEFT", "0.2"},
			{"BRPOPLPUSH", p + "none", p + "d", "0.2"},
			{"BLMPOP", "0.2", "2", p + "none", p + "none2", "LEFT"},
			{"BZPOPMIN", p + "none", "0.2"},
			{"BZPOPMAX", p + "none", p + "none2", "0.2"},
			{"BZMPOP", "0.2", "1", p + "none", "MIN", "COUNT", "3"},
		} {
			tc := struct {
				name string
				call func() error
			}{args[0].(string), func() error { return c.Do(ctx, args...).Err() }}
			start := time.Now()
			err := tc.call()
			el := time.Since(start)
			if !errors.Is(err, redis.Nil) {
				t.Errorf("%s on empty lists with a 0.2s timeout: %v, want nil", tc.name, err)
			}
			if el < 180*time.Millisecond || el > 3*time.Second {
				t.Errorf("%s with a 0.2s timeout answered after %v", tc.name, el)
			}
		}
	})
	t.Run("several keys pick the first non-empty", func(t *testing.T) {
		c := newClient(t, addr, proto)
		c.RPush(ctx, p+"k2", "two")
		c.RPush(ctx, p+"k3", "three")
		v, err := c.BLPop(ctx, 0, p+"k1", p+"k2", p+"k3").Result()
		if fmt.Sprint(v) != fmt.Sprintf("[%sk2 two]", p) || err != nil {
			t.Errorf("BLPOP k1 k2 k3: %v %v, want [%sk2 two]", v, err, p)
		}
	})
	t.Run("negative timeout", func(t *testing.T) {
		c := newClient(t, addr, proto)
		for _, args := range [][]any{{"BLPOP", p + "k", "-1"}, {"BRPOP", p + "k", "-0.5"},
			{"BLMOVE", p + "k", p + "d", "LEFT", "LEFT", "-1"}, {"BRPOPLPUSH", p + "k", p + "d", "-1"}} {
			if err := c.Do(ctx, args...).Err(); err == nil || err.Error() != "ERR timeout is negative" {
				t.Errorf("%v: %v, want ERR timeout is negative", args, err)
			}
		}
	})
}

// TestCompat_BlockedClientLeadershipTransfer: a client blocked on the leader
// (directly, or through a follower) gets an error within a few seconds when
// leadership is transferred away, instead of hanging, and the element pushed
// afterwards is still there for the next popper.
func TestCompat_BlockedClientLeadershipTransfer(t *testing.T) {
	testBlockedThroughTransfer(t, blockedTransfer{
		cmd: "blpop", key: "blk.transfer.", name: "blocked-",
		block: func(c *redis.Client, key string) (any, error) {
			return c.BLPop(context.Background(), 0, key).Result()
		},
		after: func(t *testing.T, ctx context.Context, c *redis.Client, key string) {
			// Nothing was popped: a push now is there for the next client.
			waitFor(t, 10*time.Second, func() bool { return c.RPush(ctx, key, "v").Err() == nil }, "RPUSH on the new leader")
			if v, err := c.LPop(ctx, key).Result(); v != "v" || err != nil {
				t.Errorf("after the transfer LPOP %s: %q %v, want v", key, v, err)
			}
		},
	})
}

// blockedTransfer is one command the leadership-transfer test blocks in.
type blockedTransfer struct {
	cmd       string // as CLIENT LIST names it
	key, name string // prefixes of the key and the client's name ("leader" or "follower" follows)
	// setup, when not nil, prepares key on the leader before the client blocks.
	setup func(ctx context.Context, c *redis.Client, key string) error
	// block runs the blocking command on key; it must never return on its own.
	block func(c *redis.Client, key string) (any, error)
	// after checks, on the new leader, that the blocked command took nothing.
	after func(t *testing.T, ctx context.Context, c *redis.Client, key string)
}

// testBlockedThroughTransfer blocks a client in bt.cmd on the shared
// cluster's leader, directly and through a follower, transfers leadership to
// the other follower, and fails unless the client gets an error (not a
// reply, not a hang) within 5s; then it runs bt.after on the new leader.
func testBlockedThroughTransfer(t *testing.T, bt blockedTransfer) {
	cl := shared(t)
	what := strings.ToUpper(bt.cmd)
	for _, via := range []string{"leader", "follower"} {
		t.Run("via "+via, func(t *testing.T) {
			l := cl.SettledLeader(t)
			fs := cl.Followers(l)
			addr := l.ClientAddr()
			if via == "follower" {
				addr = fs[0].ClientAddr()
			}
			key := bt.key + via
			name := bt.name + via
			if bt.setup != nil {
				if err := bt.setup(ctxT(t, 10*time.Second), newClient(t, l.ClientAddr(), 2), key); err != nil {
					t.Fatal(err)
				}
			}
			// No retries: a retry would block again on the new leader and
			// hide the error this test is about.
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1, ReadTimeout: 30 * time.Second, ClientName: name})
			defer rdb.Close()
			done := make(chan error, 1)
			var got any
			var answered time.Time
			go func() {
				var err error
				got, err = bt.block(rdb, key)
				answered = time.Now()
				done <- err
			}()
			waitFor(t, 10*time.Second, func() bool { return blockedOn(addr, bt.cmd)(t, name) }, "client never blocked in %s", what)
			if via == "follower" {
				// The follower's relay connection to the leader (unnamed)
				// carries the command there.
				waitFor(t, 10*time.Second, func() bool { return blockedOn(l.ClientAddr(), bt.cmd)(t, "") },
					"the leader never received the forwarded %s", what)
			}
			to := fs[len(fs)-1] // the follower the client is not on
			start := time.Now()
			nl := cl.Transfer(t, to)
			select {
			case err := <-done:
				el := answered.Sub(start)
				if err == nil || errors.Is(err, redis.Nil) {
					t.Fatalf("blocked %s answered %v %v after the transfer, want an error", what, got, err)
				}
				t.Logf("blocked %s (via %s) got %q %v after the transfer from %s to %s started", what, via, err, el.Round(time.Millisecond), l.ID, nl.ID)
			case <-time.After(5 * time.Second):
				t.Fatalf("blocked %s (via %s) still hangs 5s after leadership moved from %s to %s", what, via, l.ID, nl.ID)
			}
			bt.after(t, ctxT(t, 10*time.Second), newClient(t, nl.ClientAddr(), 2), key)
		})
	}
}

// blockedClients counts the clients CLIENT LIST on addr shows blocked
// (flags=b, as Redis shows them) in a command on key.
func blockedClients(t *testing.T, addr string) int {
	return strings.Count(clientList(t, addr), " flags=b ")
}

// clientList is CLIENT LIST on addr, asked over a connection of its own.
func clientList(t *testing.T, addr string) string {
	c, err := dialRaw(addr, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.do("CLIENT", "LIST")
	if err != nil {
		t.Fatal(err)
	}
	return v.s
}

// TestCompat_BlockingFIFO: clients blocked on a key are served in the order
// they blocked, as in Redis: one push wakes the first, two pushed elements
// go to the first and the second, whichever client blocked first. Repeated,
// alternating which client blocks first, so that it is not luck. Through a
// follower too (the leader orders the relayed commands), and against
// redis-server, so the expectations are Redis's.
func TestCompat_BlockingFIFO(t *testing.T) {
	testBlockingFIFO(t, 50, func(f *fifo, round int) {
		t, ctx, pusher := f.t, f.ctx, f.w
		key := fmt.Sprintf("fifo.%s.%d", f.tg.name, round)
		dst := key + ".dst"
		recv := f.blockInTurn(round, func(c *redis.Client, _ int) (string, error) {
			switch round % 3 {
			case 2:
				return c.BLMove(ctx, key, dst, "LEFT", "RIGHT", 20*time.Second).Result()
			case 1:
				k, vals, err := c.BLMPop(ctx, 20*time.Second, "left", 1, key+".none", key).Result()
				return fmt.Sprintf("%s %v", k, vals), err
			default:
				kv, err := c.BLPop(ctx, 20*time.Second, key).Result()
				return strings.Join(kv, " "), err
			}
		})
		first, second := round%2, (round+1)%2
		want := func(elem string) string {
			switch round % 3 {
			case 2:
				return elem
			case 1:
				return key + " [" + elem + "]"
			}
			return key + " " + elem
		}
		if round%2 == 0 {
			// One element: the first client gets it, the second waits.
			pusher.RPush(ctx, key, "a")
			if r := recv(); r.who != first || r.v != want("a") || r.err != nil {
				t.Fatalf("round %d: after one RPUSH client %d got %q %v; want client %d (blocked first) to get %q",
					round, r.who, r.v, r.err, first, want("a"))
			}
			pusher.RPush(ctx, key, "b")
			if r := recv(); r.who != second || r.v != want("b") || r.err != nil {
				t.Fatalf("round %d: after the second RPUSH client %d got %q %v; want client %d to get %q",
					round, r.who, r.v, r.err, second, want("b"))
			}
		} else {
			// Two elements at once: in order, one each.
			pusher.RPush(ctx, key, "a", "b")
			got := map[int]string{}
			for range 2 {
				r := recv()
				if r.err != nil {
					t.Fatalf("round %d: client %d: %v", round, r.who, r.err)
				}
				got[r.who] = r.v
			}
			if got[first] != want("a") || got[second] != want("b") {
				t.Fatalf("round %d: RPUSH a b gave the first blocked client %q and the second %q; want %q and %q",
					round, got[first], got[second], want("a"), want("b"))
			}
		}
		if n, _ := pusher.LLen(ctx, key).Result(); n != 0 {
			t.Fatalf("round %d: %d elements left in %s", round, n, key)
		}
		waitFor(t, 10*time.Second, func() bool { return blockedClients(t, f.tg.holder()) == f.base },
			"round %d: clients still shown blocked", round)
	})
}

// fifo is one target of a blocking-order test: a writer, two clients (one
// speaking RESP2, one RESP3) that take turns to block first, and how many
// clients the server held blocked before the test began.
type fifo struct {
	t       *testing.T
	ctx     context.Context
	tg      blockTarget
	w       *redis.Client
	clients []*redis.Client
	base    int
}

// fifoResult is what a blocked client got: who is its index in clients.
type fifoResult struct {
	who int
	v   string
	err error
}

// testBlockingFIFO runs round for rounds rounds at every block target (a
// subtest each), within 60s per target.
func testBlockingFIFO(t *testing.T, rounds int, round func(f *fifo, round int)) {
	for _, tg := range blockTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			f := &fifo{t: t, ctx: ctxT(t, 60*time.Second), tg: tg, w: newClient(t, tg.addr, 2),
				clients: []*redis.Client{newClient(t, tg.addr, 2), newClient(t, tg.addr, 3)}}
			f.base = blockedClients(t, tg.holder())
			for r := range rounds {
				round(f, r)
			}
		})
	}
}

// blockInTurn blocks both clients in block, clients[round%2] first (so
// rounds alternate which client blocks first), each only once the server
// shows the one before it blocked. recv returns the next answer, failing
// the test when none comes within 10s.
func (f *fifo) blockInTurn(round int, block func(c *redis.Client, who int) (string, error)) (recv func() fifoResult) {
	t := f.t
	results := make(chan fifoResult, 2)
	for i := range 2 {
		who := (round + i) % 2 // alternate which client blocks first
		go func() {
			v, err := block(f.clients[who], who)
			results <- fifoResult{who, v, err}
		}()
		waitFor(t, 10*time.Second, func() bool { return blockedClients(t, f.tg.holder()) == f.base+i+1 },
			"round %d: client %d never showed as blocked (%d blocked clients, want %d)", round, who, blockedClients(t, f.tg.holder()), f.base+i+1)
	}
	return func() fifoResult {
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a blocked client was not served within 10s", round)
			return fifoResult{}
		}
	}
}
