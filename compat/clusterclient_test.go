package compat

// go-redis's cluster client against Understudy, which describes itself as a
// Redis Cluster of one shard: the leader is the master of all 16384 slots,
// the followers its replicas.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/understudy/understudy/server"
)

func TestCompat_ClusterClient(t *testing.T) {
	t.Run("forward", func(t *testing.T) {
		testClusterClient(t, shared(t))
	})
	t.Run("redirect", func(t *testing.T) {
		cl, err := startCluster("r", func(c *server.Config) { c.FollowerMode = "redirect" })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		l := cl.SettledLeader(t)
		// A plain client on a follower is sent to the leader.
		c := newClient(t, cl.Followers(l)[0].ClientAddr(), 2)
		if err := c.Get(context.Background(), "k").Err(); err == nil || err.Error() != "MOVED 0 "+l.ClientAddr() {
			t.Errorf("GET on a follower in redirect mode: %v, want MOVED 0 %s", err, l.ClientAddr())
		}
		testClusterClient(t, cl)
	})
}

func nodeAddrs(cl *cluster) []string {
	var out []string
	for _, n := range cl.Live() {
		out = append(out, n.ClientAddr())
	}
	return out
}

func testClusterClient(t *testing.T, cl *cluster) {
	ctx := ctxT(t, 60*time.Second)
	l := cl.SettledLeader(t)

	t.Run("CLUSTER SLOTS describes one shard on every node", func(t *testing.T) {
		checkSlots(t, cl, l)
	})

	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodeAddrs(cl), ReadTimeout: 10 * time.Second})
	defer cc.Close()
	p := cl.Name + ".cc:"

	t.Run("SET GET INCR", func(t *testing.T) {
		if err := cc.Set(ctx, p+"a", "1", 0).Err(); err != nil {
			t.Fatalf("SET: %v", err)
		}
		if v, err := cc.Get(ctx, p+"a").Result(); v != "1" || err != nil {
			t.Errorf("GET: %q %v", v, err)
		}
		if v, err := cc.Incr(ctx, p+"a").Result(); v != 2 || err != nil {
			t.Errorf("INCR: %d %v", v, err)
		}
		if err := cc.Get(ctx, p+"missing").Err(); err != redis.Nil {
			t.Errorf("GET missing: %v, want redis.Nil", err)
		}
	})

	t.Run("pipelines and transactions", func(t *testing.T) {
		cmds, err := cc.Pipelined(ctx, func(pipe redis.Pipeliner) error {
			for i := range 20 {
				pipe.Set(ctx, fmt.Sprintf("%sp%d", p, i), i, 0) // keys in many slots
			}
			pipe.Incr(ctx, p+"p0")
			pipe.MGet(ctx, p+"p19")
			return nil
		})
		if err != nil {
			t.Fatalf("pipeline: %v", err)
		}
		if got := cmds[20].(*redis.IntCmd).Val(); got != 1 {
			t.Errorf("INCR in the pipeline: %d, want 1", got)
		}
		if got := cmds[21].(*redis.SliceCmd).Val(); fmt.Sprint(got) != "[19]" {
			t.Errorf("MGET in the pipeline: %v, want [19]", got)
		}
		// MULTI/EXEC needs its keys in one slot: a hash tag.
		tx, err := cc.TxPipelined(ctx, func(pipe redis.Pipeliner) error {
			pipe.Set(ctx, p+"{tx}a", "x", 0)
			pipe.Append(ctx, p+"{tx}a", "y")
			pipe.Get(ctx, p+"{tx}a")
			return nil
		})
		if err != nil || tx[2].(*redis.StringCmd).Val() != "xy" {
			t.Errorf("transaction: %v %v", tx, err)
		}
	})

	t.Run("reads from replicas with READONLY", func(t *testing.T) {
		ro := redis.NewClusterClient(&redis.ClusterOptions{Addrs: nodeAddrs(cl), ReadOnly: true, RouteRandomly: true,
			ReadTimeout: 10 * time.Second})
		defer ro.Close()
		if err := cc.Set(ctx, p+"ro", "replicated", 0).Err(); err != nil {
			t.Fatal(err)
		}
		// A replica may lag: wait with a deadline until every read sees it.
		waitFor(t, 10*time.Second, func() bool {
			for range 10 {
				if v, _ := ro.Get(ctx, p+"ro").Result(); v != "replicated" {
					return false
				}
			}
			return true
		}, "reads through the READONLY cluster client do not all see the write")
		// Some of those reads were served by the followers themselves:
		// their command count grows by more than what they forwarded.
		before := map[string][2]int64{}
		fs := cl.Followers(l)
		for _, f := range fs {
			before[f.ID] = commandStats(t, f.ClientAddr())
		}
		for range 60 {
			if v, err := ro.Get(ctx, p+"ro").Result(); v != "replicated" || err != nil {
				t.Fatalf("GET through the READONLY cluster client: %q %v", v, err)
			}
		}
		local := int64(0)
		for _, f := range fs {
			after := commandStats(t, f.ClientAddr())
			b := before[f.ID]
			// -1: the INFO of this second commandStats call.
			local += (after[0] - b[0] - 1) - (after[1] - b[1])
		}
		if local <= 0 {
			t.Errorf("no read of 60 was served by a follower (RouteRandomly picks among master and replicas)")
		}
		t.Logf("%d of 60 reads were served by followers without forwarding", local)
	})

	t.Run("ASKING and sharded pub/sub", func(t *testing.T) {
		// ASKING: OK on every node, as on a Redis Cluster node.
		for _, n := range cl.Live() {
			if v, err := newClient(t, n.ClientAddr(), 2).Do(ctx, "ASKING").Result(); v != "OK" || err != nil {
				t.Errorf("%s: ASKING = %v %v, want OK", n.ID, v, err)
			}
		}
		// The cluster client subscribes where the channel's slot lives (the
		// leader, or a replica) and publishes through the slot's master;
		// a plain subscriber on every node hears it too.
		ch := p + "shard"
		sub := cc.SSubscribe(ctx, ch)
		defer sub.Close()
		if _, err := sub.Receive(ctx); err != nil {
			t.Fatalf("SSUBSCRIBE through the cluster client: %v", err)
		}
		var plain []*redis.PubSub
		for _, n := range cl.Live() {
			ps := newClient(t, n.ClientAddr(), 2).SSubscribe(ctx, ch)
			defer ps.Close()
			if _, err := ps.Receive(ctx); err != nil {
				t.Fatalf("%s: SSUBSCRIBE: %v", n.ID, err)
			}
			plain = append(plain, ps)
		}
		if n, err := cc.SPublish(ctx, ch, "hello").Result(); err != nil || n < 1 {
			t.Fatalf("SPUBLISH through the cluster client: %d %v", n, err)
		}
		for i, ps := range append(plain, sub) {
			m, err := ps.ReceiveMessage(ctx)
			if err != nil || m.Channel != ch || m.Payload != "hello" {
				t.Errorf("subscriber %d: %v %v", i, m, err)
			}
		}
	})

	t.Run("follows a leadership transfer", func(t *testing.T) {
		nl := cl.Transfer(t, nil)
		waitFor(t, 10*time.Second, func() bool {
			return cc.Set(ctx, p+"after", "1", 0).Err() == nil
		}, "the cluster client cannot write after leadership moved to %s", nl.ID)
		checkSlots(t, cl, nl)
		waitFor(t, 10*time.Second, func() bool {
			slots, err := cc.ClusterSlots(ctx).Result()
			return err == nil && len(slots) == 1 && len(slots[0].Nodes) > 0 && slots[0].Nodes[0].Addr == nl.ClientAddr()
		}, "the cluster client's CLUSTER SLOTS never names the new leader %s", nl.ClientAddr())
		if v, err := cc.Get(ctx, p+"a").Result(); v != "2" || err != nil {
			t.Errorf("GET after the transfer: %q %v, want 2", v, err)
		}
	})
}

// checkSlots asks every node for CLUSTER SLOTS: one range, 0-16383, master
// l, replicas the other live nodes.
func checkSlots(t *testing.T, cl *cluster, l *cnode) {
	t.Helper()
	var replicas []string
	for _, f := range cl.Followers(l) {
		replicas = append(replicas, f.ClientAddr())
	}
	slices.Sort(replicas)
	for _, n := range cl.Live() {
		c := newClient(t, n.ClientAddr(), 3)
		var slots []redis.ClusterSlot
		waitFor(t, 10*time.Second, func() bool {
			var err error
			slots, err = c.ClusterSlots(context.Background()).Result()
			return err == nil && len(slots) == 1 && len(slots[0].Nodes) == 3 && slots[0].Nodes[0].Addr == l.ClientAddr()
		}, "%s: CLUSTER SLOTS %v, want one shard led by %s", n.ID, slots, l.ClientAddr())
		s := slots[0]
		if s.Start != 0 || s.End != 16383 {
			t.Errorf("%s: CLUSTER SLOTS range %d-%d, want 0-16383", n.ID, s.Start, s.End)
		}
		var got []string
		for _, r := range s.Nodes[1:] {
			got = append(got, r.Addr)
		}
		slices.Sort(got)
		if !slices.Equal(got, replicas) {
			t.Errorf("%s: CLUSTER SLOTS replicas %v, want %v", n.ID, got, replicas)
		}
		for _, nd := range s.Nodes {
			if len(nd.ID) != 40 {
				t.Errorf("%s: CLUSTER SLOTS node id %q is not 40 hex digits", n.ID, nd.ID)
			}
		}
	}
}

// commandStats returns a node's total_commands_processed and
// forwarded_commands from INFO stats (the INFO itself is counted).
func commandStats(t *testing.T, addr string) [2]int64 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(nc, "*2\r\n$4\r\nINFO\r\n$5\r\nstats\r\n")
	v, err := readVal(bufio.NewReader(nc))
	if err != nil {
		t.Fatal(err)
	}
	var out [2]int64
	for _, line := range strings.Split(v.s, "\r\n") {
		k, val, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(val, 10, 64)
		switch k {
		case "total_commands_processed":
			out[0] = n
		case "forwarded_commands":
			out[1] = n
		}
	}
	return out
}
