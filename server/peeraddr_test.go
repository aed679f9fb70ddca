package server_test

// Advertised versus peer addresses: each node is told to clients at an
// address that reaches it only through a proxy (as 127.0.0.1:638i reaches a
// container only through Docker's published port), and tells its peers its
// real one (as ni:638i on the container network). Clients get the advertised
// addresses everywhere (ROLE, INFO, SENTINEL, CLUSTER, MOVED, members,
// status); the nodes forward, register and poll each other at the peer
// addresses, and keep working when the advertised ones are unreachable.

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// tcpProxy relays every connection it accepts to target and counts them.
type tcpProxy struct {
	ln       net.Listener
	target   string
	accepted atomic.Int64
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &tcpProxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// close stops accepting and cuts every relayed connection: the advertised
// address is then unreachable.
func (p *tcpProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// splitAddrs is one node's listen (= peer) and advertised addresses.
type splitAddrs struct {
	client, admin           string // listen, and what peers dial
	clientProxy, adminProxy *tcpProxy
}

func (a splitAddrs) meta() fsm.NodeMeta {
	return fsm.NodeMeta{ClientAddr: a.clientProxy.addr(), AdminAddr: a.adminProxy.addr(), PeerClientAddr: a.client, PeerAdminAddr: a.admin}
}

// startSplitCluster starts three in-memory nodes whose advertised client and
// admin addresses are proxies, with their listen addresses as the peer ones.
func startSplitCluster(t *testing.T, mode string) ([]*testNode, map[string]splitAddrs) {
	t.Helper()
	addrs := map[string]splitAddrs{}
	for i := 1; i <= 3; i++ {
		a := splitAddrs{client: mustFreeAddr(t), admin: mustFreeAddr(t)}
		a.clientProxy, a.adminProxy = newProxy(t, a.client), newProxy(t, a.admin)
		addrs["n"+strconv.Itoa(i)] = a
	}
	nodes := startCluster(t, 3, withStableTiming(), withConfig(func(c *server.Config) {
		a := addrs[c.ID]
		c.ClientAddr, c.AdminAddr = a.client, a.admin
		c.AdvertiseClientAddr, c.AdvertiseAdminAddr = a.clientProxy.addr(), a.adminProxy.addr()
		c.PeerClientAddr, c.PeerAdminAddr = a.client, a.admin
		c.FollowerMode = mode
	}))
	// Every node knows every node's four addresses, and who leads.
	waitFor(t, 15*time.Second, func() bool {
		var l *testNode
		for _, n := range nodes {
			if n.S.Node.ReadReady() {
				l = n
			}
		}
		if l == nil {
			return false
		}
		for _, holder := range nodes {
			if li, ok := holder.S.Node.Leader(); !ok || li.ID != l.ID || li.ClientAddr != addrs[l.ID].clientProxy.addr() ||
				li.PeerClientAddr != addrs[l.ID].client {
				return false
			}
			for _, n := range nodes {
				if m, ok := holder.S.Node.FSM().Meta(n.ID); !ok || m != addrs[n.ID].meta() {
					return false
				}
			}
		}
		return true
	}, "addresses not recorded everywhere: %s", stateOf(nodes))
	return nodes, addrs
}

func splitLeader(t *testing.T, nodes []*testNode) *testNode {
	t.Helper()
	var l *testNode
	waitFor(t, 15*time.Second, func() bool {
		l = nil
		for _, n := range nodes {
			if n.S.Node.ReadReady() {
				l = n
			}
		}
		if l == nil {
			return false
		}
		for _, n := range nodes {
			if li, ok := n.S.Node.Leader(); !ok || li.ID != l.ID {
				return false
			}
		}
		return true
	}, "no leader known to all: %s", stateOf(nodes))
	return l
}

func TestPeerAddrs_ClientsGetAdvertisedPeersDialPeerAddrs(t *testing.T) {
	nodes, addrs := startSplitCluster(t, "forward")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := splitLeader(t, nodes)
	adv := func(n *testNode) string { return addrs[n.ID].clientProxy.addr() }
	var followerAdv []string
	for _, f := range followers(nodes, l) {
		followerAdv = append(followerAdv, adv(f))
	}
	slices.Sort(followerAdv)

	// The discovery commands hand out advertised addresses, and the
	// leader's background polls (at the peer admin addresses) find both
	// followers connected.
	waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout(followerAdv, nil, true)
	}, "leader's view with advertised addresses")
	for _, n := range nodes {
		sc := redis.NewSentinelClient(&redis.Options{Addr: n.ClientAddr(), MaxRetries: -1})
		got, err := sc.GetMasterAddrByName(ctx, "understudy").Result()
		sc.Close()
		if err != nil || net.JoinHostPort(got[0], got[1]) != adv(l) {
			t.Fatalf("%s: SENTINEL get-master-addr-by-name = %v, %v; want the advertised %s", n.ID, got, err, adv(l))
		}
		info, err := redis.NewClient(&redis.Options{Addr: n.ClientAddr(), MaxRetries: -1}).Info(ctx, "replication").Result()
		if err != nil {
			t.Fatal(err)
		}
		h, p, _ := net.SplitHostPort(adv(l))
		if n != l && !strings.Contains(info, "master_host:"+h+"\r\nmaster_port:"+p+"\r\n") {
			t.Fatalf("%s: INFO replication does not name the advertised leader %s:\n%s", n.ID, adv(l), info)
		}
	}

	// The admin API hands out advertised addresses too, and lists the peer
	// ones; `status --cluster` reaches every member through them.
	admin := rpc.NewClient(addrs[l.ID].admin, "")
	ms, err := admin.Members(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms.Members {
		a := addrs[m.Id]
		if m.ClientAddr != a.clientProxy.addr() || m.AdminAddr != a.adminProxy.addr() || m.PeerClientAddr != a.client || m.PeerAdminAddr != a.admin {
			t.Fatalf("member %s: client %s admin %s peer %s/%s; want %s %s peer %s/%s", m.Id, m.ClientAddr, m.AdminAddr,
				m.PeerClientAddr, m.PeerAdminAddr, a.clientProxy.addr(), a.adminProxy.addr(), a.client, a.admin)
		}
	}
	cs, err := admin.ClusterStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Err != nil {
			t.Fatalf("cluster status of %s through its advertised admin address: %v", c.Member.Id, c.Err)
		}
	}
	if st, err := admin.Status(ctx); err != nil || st.LeaderClientAddr != adv(l) || st.LeaderAdminAddr != addrs[l.ID].adminProxy.addr() {
		t.Fatalf("status names the leader at %v, %v (%v); want the advertised addresses", st.GetLeaderClientAddr(), st.GetLeaderAdminAddr(), err)
	}

	// A Sentinel-aware client given the nodes as sentinels reaches the
	// leader at its advertised address and follows a leadership transfer.
	var sentinels []string
	for _, n := range nodes {
		sentinels = append(sentinels, n.ClientAddr())
	}
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "understudy", SentinelAddrs: sentinels,
		MaxRetries: 20, MinRetryBackoff: 20 * time.Millisecond, MaxRetryBackoff: 200 * time.Millisecond})
	if err := fc.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatalf("failover client SET: %v", err)
	}
	if addrs[l.ID].clientProxy.accepted.Load() == 0 {
		t.Fatal("the failover client did not connect through the leader's advertised address")
	}
	to := followers(nodes, l)[0]
	tctx, tcancel := context.WithTimeout(ctx, 10*time.Second)
	if _, _, err := l.S.Node.TransferLeadership(tctx, to.ID); err != nil {
		t.Fatalf("transfer leadership to %s: %v", to.ID, err)
	}
	tcancel()
	waitFor(t, 15*time.Second, func() bool {
		return fc.Set(ctx, "after", "1", 0).Err() == nil && to.S.Node.IsLeader()
	}, "failover client does not write to the new leader %s", to.ID)
	if addrs[to.ID].clientProxy.accepted.Load() == 0 {
		t.Fatalf("the failover client did not follow to %s's advertised address", to.ID)
	}
	fc.Close()

	// Followers forward at the leader's peer address: no connection goes
	// through an advertised address, and closing them all changes nothing.
	l = splitLeader(t, nodes)
	f := followers(nodes, l)[0]
	before := map[string]int64{}
	for id, a := range addrs {
		before[id] = a.clientProxy.accepted.Load()
	}
	fr := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), MaxRetries: -1, PoolSize: 4})
	defer fr.Close()
	for i := range 20 {
		if err := fr.Incr(ctx, "forwarded").Err(); err != nil {
			t.Fatalf("INCR %d through follower %s: %v", i, f.ID, err)
		}
	}
	for id, a := range addrs {
		if got := a.clientProxy.accepted.Load(); got != before[id] {
			t.Fatalf("%s's advertised client address took %d connections while a follower forwarded", id, got-before[id])
		}
	}
	for _, a := range addrs {
		a.clientProxy.close()
		a.adminProxy.close()
	}
	if got, err := fr.Incr(ctx, "forwarded").Result(); err != nil || got != 21 {
		t.Fatalf("INCR through follower %s with the advertised addresses unreachable: %d, %v", f.ID, got, err)
	}
	lc := redis.NewClient(&redis.Options{Addr: l.ClientAddr(), MaxRetries: -1, PoolSize: 1})
	defer lc.Close()
	c := lc.Conn()
	defer c.Close()
	if err := c.Set(ctx, "waited", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Do(ctx, "WAIT", 2, 5000).Int64(); err != nil || got != 2 {
		t.Fatalf("WAIT 2 5000 with the advertised admin addresses unreachable: %d, %v (followers are asked at their peer addresses)", got, err)
	}
}

// In redirect mode a follower answers MOVED with the leader's advertised
// address, not the one it would forward to.
func TestPeerAddrs_MovedNamesTheAdvertisedLeader(t *testing.T) {
	nodes, addrs := startSplitCluster(t, "redirect")
	l := splitLeader(t, nodes)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := "MOVED 0 " + addrs[l.ID].clientProxy.addr()
	for _, f := range followers(nodes, l) {
		rdb := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), MaxRetries: -1})
		err := rdb.Set(ctx, "k", "v", 0).Err()
		rdb.Close()
		var re redis.Error
		if !errors.As(err, &re) || err.Error() != want {
			t.Fatalf("SET on follower %s: %v, want -%s", f.ID, err, want)
		}
	}
}

// Addresses others are told to dial must be dialable.
func TestConfig_AdvertisedAndPeerAddrsMustBeDialable(t *testing.T) {
	for _, tc := range []struct{ flag, addr string }{
		{"--peer-client-addr", "0.0.0.0:6381"},
		{"--peer-admin-addr", "n1"},
		{"--advertise-client-addr", "[::]:6381"},
		{"--advertise-admin-addr", "127.0.0.1:0"},
	} {
		c := server.Defaults()
		switch tc.flag {
		case "--peer-client-addr":
			c.PeerClientAddr = tc.addr
		case "--peer-admin-addr":
			c.PeerAdminAddr = tc.addr
		case "--advertise-client-addr":
			c.AdvertiseClientAddr = tc.addr
		case "--advertise-admin-addr":
			c.AdvertiseAdminAddr = tc.addr
		}
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.flag+" "+strconv.Quote(tc.addr)) {
			t.Errorf("%s %s: Validate = %v, want it refused", tc.flag, tc.addr, err)
		}
	}
	c := server.Defaults()
	c.AdvertiseClientAddr, c.PeerClientAddr, c.AdvertiseAdminAddr, c.PeerAdminAddr = "127.0.0.1:6381", "n1:6381", "127.0.0.1:9181", "n1:9181"
	if err := c.Validate(); err != nil {
		t.Errorf("valid addresses refused: %v", err)
	}
}
