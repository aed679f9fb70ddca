package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/server"
	"github.com/understudy/understudy/tlsconf/tlstest"
)

// WAIT asks the followers over the admin API with the node's own TLS
// certificate and token, so it counts them when every port is TLS with
// client certificates required (it used to dial in plaintext and always
// answer 0), through the leader and through a follower (which relays WAIT).
func TestWAIT_TLSAdminPort(t *testing.T) {
	ca := tlstest.NewCA(t, "wait")
	nodes := startCluster(t, 3, withRealStores(), withStableTiming(), withTLS(t, ca, ""),
		withConfig(func(c *server.Config) { c.AdminToken = "wait-token" }))
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 15*time.Second)
	cli := clientTLS(t, ca, ca.Issue(t, "app"))
	fs := followers(nodes, l)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	wait := func(c *redis.Conn, n, ms int) (int64, time.Duration) {
		t.Helper()
		start := time.Now()
		got, err := c.Do(ctx, "WAIT", n, ms).Int64()
		if err != nil {
			t.Fatalf("WAIT %d %d: %v", n, ms, err)
		}
		return got, time.Since(start)
	}
	for _, via := range []*testNode{l, fs[0]} {
		c := tlsRedis(t, via.ClientAddr(), cli).Conn()
		defer c.Close()
		for i := range 3 {
			if err := c.Incr(ctx, "wait.tls").Err(); err != nil {
				t.Fatalf("INCR via %s: %v", via.ID, err)
			}
			if got, el := wait(c, 2, 5000); got != 2 {
				t.Fatalf("WAIT 2 5000 via %s (round %d) = %d after %v, want 2", via.ID, i, got, el)
			}
		}
	}

	c := tlsRedis(t, l.ClientAddr(), cli).Conn()
	defer c.Close()
	fs[1].Kill(t)
	if err := c.Set(ctx, "wait.degraded", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	got, el := wait(c, 2, 300)
	if got != 1 || el < 300*time.Millisecond || el > 2*time.Second {
		t.Errorf("one follower down: WAIT 2 300 = %d after %v, want 1 after about 300ms", got, el)
	}
	if got, el := wait(c, 1, 5000); got != 1 || el > time.Second {
		t.Errorf("one follower down: WAIT 1 5000 = %d after %v, want 1 at once", got, el)
	}
}
