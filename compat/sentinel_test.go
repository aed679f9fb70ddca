package compat

// Every node answers the Sentinel discovery commands for the master name
// "understudy", consistently with ROLE, and publishes +switch-master when
// leadership moves, so Sentinel-aware clients given the nodes as sentinels
// find and follow the leader.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const masterName = "understudy" // server.Defaults().SentinelName

func TestCompat_SentinelCommands(t *testing.T) {
	cl := shared(t)
	ctx := ctxT(t, 60*time.Second)
	l := cl.SettledLeader(t)
	checkSentinelView(t, ctx, cl, l)

	t.Run("+switch-master reaches a subscriber on a follower", func(t *testing.T) {
		l := cl.SettledLeader(t)
		fs := cl.Followers(l)
		sub, to := fs[0], fs[1]
		type received struct {
			proto int
			msg   *redis.Message
		}
		got := make(chan received, 4)
		for _, proto := range []int{2, 3} {
			c := newClient(t, sub.ClientAddr(), proto)
			ps := c.Subscribe(ctx, "+switch-master")
			t.Cleanup(func() { ps.Close() })
			if _, err := ps.Receive(ctx); err != nil { // the subscription's confirmation
				t.Fatalf("SUBSCRIBE +switch-master on %s (RESP%d): %v", sub.ID, proto, err)
			}
			go func() {
				for m := range ps.Channel() {
					got <- received{proto, m}
				}
			}()
		}
		nl := cl.Transfer(t, to)
		oh, op := splitAddr(t, l.ClientAddr())
		nh, np := splitAddr(t, nl.ClientAddr())
		want := fmt.Sprintf("%s %s %d %s %d", masterName, oh, op, nh, np)
		seen := map[int]bool{}
		deadline := time.After(5 * time.Second)
		for len(seen) < 2 {
			select {
			case r := <-got:
				if r.msg.Channel != "+switch-master" || r.msg.Payload != want {
					t.Errorf("RESP%d subscriber on %s got %q on %q, want %q", r.proto, sub.ID, r.msg.Payload, r.msg.Channel, want)
				}
				seen[r.proto] = true
			case <-deadline:
				t.Fatalf("no +switch-master on %s within 5s of the transfer from %s to %s (received by RESP versions %v)", sub.ID, l.ID, nl.ID, seen)
			}
		}
		checkSentinelView(t, ctx, cl, nl)
	})
}

func splitAddr(t *testing.T, addr string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return h, n
}

// checkSentinelView asks every node the Sentinel commands and ROLE and
// checks they all describe l as the master and the others as its replicas.
func checkSentinelView(t *testing.T, ctx context.Context, cl *cluster, l *cnode) {
	t.Helper()
	lh, lp := splitAddr(t, l.ClientAddr())
	var replicas []string
	for _, f := range cl.Followers(l) {
		replicas = append(replicas, f.ClientAddr())
	}
	slices.Sort(replicas)
	for _, n := range cl.Live() {
		sc := redis.NewSentinelClient(&redis.Options{Addr: n.ClientAddr(), Protocol: 2, MaxRetries: -1})
		defer sc.Close()
		// Every node must have caught up with the new leader.
		waitFor(t, 10*time.Second, func() bool {
			a, err := sc.GetMasterAddrByName(ctx, masterName).Result()
			return err == nil && len(a) == 2 && a[0] == lh && a[1] == strconv.Itoa(lp)
		}, "%s: SENTINEL get-master-addr-by-name does not name %s", n.ID, l.ClientAddr())
		if err := sc.GetMasterAddrByName(ctx, "nosuch").Err(); err != redis.Nil {
			t.Errorf("%s: SENTINEL get-master-addr-by-name nosuch: %v, want a null reply", n.ID, err)
		}

		m, err := sc.Master(ctx, masterName).Result()
		if err != nil {
			t.Fatalf("%s: SENTINEL master: %v", n.ID, err)
		}
		if m["name"] != masterName || m["ip"] != lh || m["port"] != strconv.Itoa(lp) || m["flags"] != "master" ||
			m["num-slaves"] != "2" || m["num-other-sentinels"] != "2" || len(m["runid"]) != 40 {
			t.Errorf("%s: SENTINEL master %s = %v", n.ID, masterName, m)
		}
		if err := sc.Master(ctx, "nosuch").Err(); err == nil || err.Error() != "ERR No such master with that name" {
			t.Errorf("%s: SENTINEL master nosuch: %v", n.ID, err)
		}

		ms, err := sc.Masters(ctx).Result()
		if err != nil || len(ms) != 1 {
			t.Fatalf("%s: SENTINEL masters: %v %v, want one master", n.ID, ms, err)
		}
		flat, _ := ms[0].([]any)
		fields := map[string]string{}
		for i := 0; i+1 < len(flat); i += 2 {
			fields[fmt.Sprint(flat[i])] = fmt.Sprint(flat[i+1])
		}
		if fields["name"] != masterName || fields["ip"] != lh || fields["port"] != strconv.Itoa(lp) {
			t.Errorf("%s: SENTINEL masters = %v", n.ID, ms)
		}

		reps, err := sc.Replicas(ctx, masterName).Result()
		if err != nil {
			t.Fatalf("%s: SENTINEL replicas: %v", n.ID, err)
		}
		var got []string
		for _, r := range reps {
			got = append(got, net.JoinHostPort(r["ip"], r["port"]))
			if r["flags"] != "slave" || r["master-host"] != lh || r["master-port"] != strconv.Itoa(lp) ||
				r["master-link-status"] != "ok" {
				t.Errorf("%s: SENTINEL replicas entry %v", n.ID, r)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, replicas) {
			t.Errorf("%s: SENTINEL replicas are %v, want %v", n.ID, got, replicas)
		}

		sents, err := sc.Sentinels(ctx, masterName).Result()
		if err != nil {
			t.Fatalf("%s: SENTINEL sentinels: %v", n.ID, err)
		}
		got = got[:0]
		for _, s := range sents {
			got = append(got, net.JoinHostPort(s["ip"], s["port"]))
		}
		var others []string
		for _, o := range cl.Live() {
			if o != n {
				others = append(others, o.ClientAddr())
			}
		}
		slices.Sort(got)
		slices.Sort(others)
		if !slices.Equal(got, others) {
			t.Errorf("%s: SENTINEL sentinels are %v, want the other nodes %v", n.ID, got, others)
		}

		checkRole(t, ctx, n, l, lh, lp, replicas)
	}
}

// checkRole: the leader's ROLE lists the replicas, a follower's names the
// leader; INFO replication agrees.
func checkRole(t *testing.T, ctx context.Context, n, l *cnode, lh string, lp int, replicas []string) {
	t.Helper()
	c := newClient(t, n.ClientAddr(), 2)
	role, err := c.Do(ctx, "ROLE").Slice()
	if err != nil || len(role) == 0 {
		t.Fatalf("%s: ROLE: %v %v", n.ID, role, err)
	}
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatal(err)
	}
	if n == l {
		reps, _ := role[2].([]any)
		var got []string
		for _, r := range reps {
			e, _ := r.([]any)
			if len(e) == 3 {
				got = append(got, net.JoinHostPort(fmt.Sprint(e[0]), fmt.Sprint(e[1])))
			}
		}
		slices.Sort(got)
		if role[0] != "master" || !slices.Equal(got, replicas) {
			t.Errorf("%s (leader): ROLE = %v, want master with replicas %v", n.ID, role, replicas)
		}
		if !strings.Contains(info, "role:master\r\n") || !strings.Contains(info, "connected_slaves:2\r\n") {
			t.Errorf("%s (leader): INFO replication:\n%s", n.ID, info)
		}
		return
	}
	if len(role) != 5 || role[0] != "slave" || role[1] != lh || role[2] != int64(lp) || role[3] != "connected" {
		t.Errorf("%s (follower): ROLE = %v, want [slave %s %d connected <offset>]", n.ID, role, lh, lp)
	}
	if !strings.Contains(info, "role:slave\r\n") || !strings.Contains(info, fmt.Sprintf("master_host:%s\r\nmaster_port:%d\r\n", lh, lp)) ||
		!strings.Contains(info, "master_link_status:up\r\n") {
		t.Errorf("%s (follower): INFO replication:\n%s", n.ID, info)
	}
}
