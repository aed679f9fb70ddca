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

type blockTarget struct{ name, addr string }

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

func TestCompat_Blocking(t *testing.T) {
	cl := shared(t)
	l := cl.leader(t)
	targets := []blockTarget{
		{name: "leader", addr: l.addr()},
		{name: "follower", addr: cl.followers(l)[0].addr()},
	}
	if redisAddr != "" {
		targets = append(targets, blockTarget{name: "redis-server", addr: redisAddr})
	}
	for _, proto := range []int{2, 3} {
		for _, tg := range targets {
			t.Run(fmt.Sprintf("%s/RESP%d", tg.name, proto), func(t *testing.T) {
				t.Parallel() // keys are unique per target and protocol
				testBlocking(t, tg.addr, proto, fmt.Sprintf("blk.%s.%d:", tg.name, proto))
			})
		}
	}
}

func testBlocking(t *testing.T, addr string, proto int, p string) {
	ctx := ctxT(t, 30*time.Second)
	pusher := newClient(t, addr, proto)

	// woken runs call on a client named name, waits until the server shows
	// it blocked in cmd, runs wake, and returns call's result.
	woken := func(t *testing.T, name, cmd string, call func(*redis.Client) (any, error), wake func()) (any, error) {
		t.Helper()
		rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: proto, MaxRetries: -1, PoolSize: 1,
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
			return blockedOn(addr, cmd)(t, name)
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
			t.Fatalf("%s still blocked 10s after the push that should wake it", cmd)
			return nil, nil
		}
	}

	t.Run("BLPOP woken by RPUSH", func(t *testing.T) {
		v, err := woken(t, "blpop-"+strings.Trim(p, ":."), "blpop", func(c *redis.Client) (any, error) {
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
		v, err := woken(t, "brpop-"+strings.Trim(p, ":."), "brpop", func(c *redis.Client) (any, error) {
			return c.BRPop(ctx, 0, p+"q2", p+"q3").Result()
		}, func() { pusher.RPush(ctx, p+"q3", "x", "y") })
		if fmt.Sprint(v) != fmt.Sprintf("[%sq3 y]", p) || err != nil {
			t.Errorf("BRPOP: %v %v, want [%sq3 y]", v, err, p)
		}
	})
	t.Run("BLMOVE woken by RPUSH", func(t *testing.T) {
		v, err := woken(t, "blmove-"+strings.Trim(p, ":."), "blmove", func(c *redis.Client) (any, error) {
			return c.BLMove(ctx, p+"src", p+"dst", "LEFT", "RIGHT", 0).Result()
		}, func() { pusher.RPush(ctx, p+"src", "m") })
		if v != "m" || err != nil {
			t.Errorf("BLMOVE: %v %v, want m", v, err)
		}
		if got, _ := pusher.LRange(ctx, p+"dst", 0, -1).Result(); fmt.Sprint(got) != "[m]" {
			t.Errorf("BLMOVE destination holds %v, want [m]", got)
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
	cl := shared(t)
	for _, via := range []string{"leader", "follower"} {
		t.Run("via "+via, func(t *testing.T) {
			l := cl.leader(t)
			fs := cl.followers(l)
			addr := l.addr()
			if via == "follower" {
				addr = fs[0].addr()
			}
			key := "blk.transfer." + via
			name := "blocked-" + via
			// No retries: a retry would block again on the new leader and
			// hide the error this test is about.
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, PoolSize: 1, ReadTimeout: 30 * time.Second, ClientName: name})
			defer rdb.Close()
			done := make(chan error, 1)
			var got []string
			var answered time.Time
			go func() {
				var err error
				got, err = rdb.BLPop(context.Background(), 0, key).Result()
				answered = time.Now()
				done <- err
			}()
			waitFor(t, 10*time.Second, func() bool { return blockedOn(addr, "blpop")(t, name) }, "client never blocked in BLPOP")
			if via == "follower" {
				// The follower's relay connection to the leader (unnamed)
				// carries the BLPOP there.
				waitFor(t, 10*time.Second, func() bool { return blockedOn(l.addr(), "blpop")(t, "") },
					"the leader never received the forwarded BLPOP")
			}
			to := fs[len(fs)-1] // the follower the client is not on
			start := time.Now()
			nl := cl.transfer(t, to)
			select {
			case err := <-done:
				el := answered.Sub(start)
				if err == nil || errors.Is(err, redis.Nil) {
					t.Fatalf("blocked BLPOP answered %v %v after the transfer, want an error", got, err)
				}
				t.Logf("blocked client (via %s) got %q %v after the transfer from %s to %s started", via, err, el.Round(time.Millisecond), l.id, nl.id)
			case <-time.After(5 * time.Second):
				t.Fatalf("blocked BLPOP (via %s) still hangs 5s after leadership moved from %s to %s", via, l.id, nl.id)
			}
			// Nothing was popped: a push now is there for the next client.
			c := newClient(t, nl.addr(), 2)
			ctx := ctxT(t, 10*time.Second)
			waitFor(t, 10*time.Second, func() bool { return c.RPush(ctx, key, "v").Err() == nil }, "RPUSH on the new leader")
			if v, err := c.LPop(ctx, key).Result(); v != "v" || err != nil {
				t.Errorf("after the transfer LPOP %s: %q %v, want v", key, v, err)
			}
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
	cl := shared(t)
	l := cl.leader(t)
	type target struct{ name, addr, blockedAt string }
	targets := []target{
		{"leader", l.addr(), l.addr()},
		{"follower", cl.followers(l)[0].addr(), l.addr()},
	}
	if redisAddr != "" {
		targets = append(targets, target{"redis-server", redisAddr, redisAddr})
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			ctx := ctxT(t, 60*time.Second)
			pusher := newClient(t, tg.addr, 2)
			clients := []*redis.Client{newClient(t, tg.addr, 2), newClient(t, tg.addr, 3)}
			base := blockedClients(t, tg.blockedAt)
			for round := range 50 {
				key := fmt.Sprintf("fifo.%s.%d", tg.name, round)
				dst := key + ".dst"
				type result struct {
					who int
					v   string
					err error
				}
				results := make(chan result, 2)
				for i := range 2 {
					who := (round + i) % 2 // alternate which client blocks first
					go func() {
						var v string
						var err error
						if round%3 == 2 {
							v, err = clients[who].BLMove(ctx, key, dst, "LEFT", "RIGHT", 20*time.Second).Result()
						} else {
							var kv []string
							kv, err = clients[who].BLPop(ctx, 20*time.Second, key).Result()
							v = strings.Join(kv, " ")
						}
						results <- result{who, v, err}
					}()
					waitFor(t, 10*time.Second, func() bool { return blockedClients(t, tg.blockedAt) == base+i+1 },
						"round %d: client %d never showed as blocked (%d blocked clients, want %d)", round, who, blockedClients(t, tg.blockedAt), base+i+1)
				}
				first, second := round%2, (round+1)%2
				want := func(elem string) string {
					if round%3 == 2 {
						return elem
					}
					return key + " " + elem
				}
				recv := func() result {
					select {
					case r := <-results:
						return r
					case <-time.After(10 * time.Second):
						t.Fatalf("round %d: a blocked client was not served within 10s", round)
						return result{}
					}
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
				waitFor(t, 10*time.Second, func() bool { return blockedClients(t, tg.blockedAt) == base },
					"round %d: clients still shown blocked", round)
			}
		})
	}
}
