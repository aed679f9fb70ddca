package compat

// WAIT numreplicas timeout counts the followers whose log holds the
// connection's last write: all of them on a healthy cluster, and the timeout
// bounds the wait when one is missing.

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestCompat_WAIT(t *testing.T) {
	// Its own cluster: a follower is stopped.
	cl, err := startCluster("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	l := cl.SettledLeader(t)
	fs := cl.Followers(l)
	ctx := ctxT(t, 30*time.Second)

	// WAIT asks about this connection's last write: one connection each.
	wait := func(c *redis.Conn, n, timeoutMs int) (int64, time.Duration) {
		t.Helper()
		start := time.Now()
		got, err := c.Do(ctx, "WAIT", n, timeoutMs).Int64()
		if err != nil {
			t.Fatalf("WAIT %d %d: %v", n, timeoutMs, err)
		}
		return got, time.Since(start)
	}

	for _, via := range []struct {
		name string
		addr string
	}{{"leader", l.ClientAddr()}, {"follower", fs[0].ClientAddr()}} {
		c := singleConn(t, via.addr)
		if err := c.Set(ctx, "wait."+via.name, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got, el := wait(c, 2, 1000); got != 2 {
			t.Errorf("healthy cluster, via the %s: WAIT 2 1000 after a SET = %d (after %v), want 2", via.name, got, el)
		}
		if got, _ := wait(c, 0, 0); got != 2 {
			t.Errorf("via the %s: WAIT 0 0 = %d, want 2 (every follower already holds the write)", via.name, got)
		}
	}

	c := singleConn(t, l.ClientAddr())
	fs[1].Kill(t)
	waitFor(t, 10*time.Second, func() bool { return c.Set(ctx, "wait.degraded", "v", 0).Err() == nil },
		"SET with one follower down")
	got, el := wait(c, 2, 300)
	if got != 1 {
		t.Errorf("one follower down: WAIT 2 300 = %d, want 1", got)
	}
	if el < 300*time.Millisecond || el > 300*time.Millisecond+time.Second {
		t.Errorf("one follower down: WAIT 2 300 answered after %v, want about 300ms", el)
	}
	t.Logf("one follower down: WAIT 2 300 = %d after %v", got, el.Round(time.Millisecond))
	if got, el := wait(c, 1, 5000); got != 1 || el > time.Second {
		t.Errorf("one follower down: WAIT 1 5000 = %d after %v, want 1 at once", got, el)
	}
	if err := c.Do(ctx, "WAIT", 1, -1).Err(); err == nil || err.Error() != "ERR timeout is negative" {
		t.Errorf("WAIT 1 -1: %v, want ERR timeout is negative", err)
	}
	if err := c.Do(ctx, "WAIT", "x", 0).Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
		t.Errorf("WAIT x 0: %v", err)
	}
}

// TestCompat_WAITAfterBlockingPop: a blocking pop that is served is the
// connection's last write, so WAIT asks about it (and not about the write
// before it). One follower is cut off from Raft but still answers on its
// admin port: it holds the earlier SET but not the pop.
func TestCompat_WAITAfterBlockingPop(t *testing.T) {
	cl, err := startCluster("wb", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	l := cl.SettledLeader(t)
	fs := cl.Followers(l)
	ctx := ctxT(t, 30*time.Second)
	pops := []struct {
		name string
		c    *redis.Conn
		pop  func(c *redis.Conn, key string) error
	}{
		{"BLPOP via the leader", singleConn(t, l.ClientAddr()), func(c *redis.Conn, key string) error {
			return c.BLPop(ctx, 5*time.Second, key).Err()
		}},
		{"BLMOVE via the leader", singleConn(t, l.ClientAddr()), func(c *redis.Conn, key string) error {
			return c.BLMove(ctx, key, key+".dst", "LEFT", "LEFT", 5*time.Second).Err()
		}},
		{"BRPOP via a follower", singleConn(t, fs[0].ClientAddr()), func(c *redis.Conn, key string) error {
			return c.BRPop(ctx, 5*time.Second, key).Err()
		}},
	}
	for _, p := range pops {
		if err := p.c.Set(ctx, "wb.before."+p.name, "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got, err := p.c.Do(ctx, "WAIT", 2, 5000).Int64(); got != 2 || err != nil {
			t.Fatalf("%s: WAIT 2 5000 after a SET on a healthy cluster = %d %v, want 2", p.name, got, err)
		}
	}
	// Cut fs[1] off from Raft, both ways (its admin port still answers).
	lagging := fs[1]
	for _, o := range cl.Nodes {
		if o != lagging {
			o.Trans.Disconnect(lagging.Trans.LocalAddr())
			lagging.Trans.Disconnect(o.Trans.LocalAddr())
		}
	}
	t.Cleanup(func() {
		for _, o := range cl.Nodes {
			if o != lagging {
				o.Trans.Connect(lagging.Trans.LocalAddr(), lagging.Trans)
				lagging.Trans.Connect(o.Trans.LocalAddr(), o.Trans)
			}
		}
	})
	pusher := singleConn(t, l.ClientAddr())
	for _, p := range pops {
		key := "wb.pop." + p.name
		if err := pusher.RPush(ctx, key, "e").Err(); err != nil {
			t.Fatal(err)
		}
		if err := p.pop(p.c, key); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		if got, err := p.c.Do(ctx, "WAIT", 2, 300).Int64(); got != 1 || err != nil {
			t.Errorf("%s served, one follower cut off: WAIT 2 300 = %d %v, want 1 (the pop is the connection's last write)",
				p.name, got, err)
		}
	}
}

// singleConn is one dedicated connection to addr (WAIT asks about the last
// write of the connection it is sent on), closed when the test ends.
func singleConn(t *testing.T, addr string) *redis.Conn {
	c := newClient(t, addr, 2).Conn()
	t.Cleanup(func() { c.Close() })
	return c
}
