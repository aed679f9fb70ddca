package compat

// In-process three-node clusters on the in-memory Raft transport, with the
// RESP and admin servers on 127.0.0.1:0, as server/helpers_test.go starts
// them (that harness lives in package server and cannot be imported).

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/server"
)

type cnode struct {
	id    string
	cfg   server.Config
	trans *raft.InmemTransport
	mu    sync.Mutex
	s     *server.Server // nil once stopped
}

func (n *cnode) srv() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.s
}

func (n *cnode) addr() string { return n.srv().ClientAddr() }

type cluster struct {
	name  string
	nodes []*cnode
}

// startCluster starts three nodes bootstrapped as one cluster (ids
// <name>1..3), with the timings the suite was specified with, and waits for
// a leader known to all and for every node's addresses to be recorded
// everywhere (followers forward to them, WAIT and Sentinel read them).
func startCluster(name string, mutate func(*server.Config)) (*cluster, error) {
	c := &cluster{name: name}
	var peers []string
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("%s%d", name, i)
		addr, trans := raft.NewInmemTransport(raft.ServerAddress(id + ".inmem:7000"))
		cfg := server.Defaults()
		cfg.ID = id
		cfg.InMemory = true
		cfg.DataDir = ""
		cfg.Transport = trans
		cfg.RaftAddr = string(addr)
		cfg.ClientAddr = "127.0.0.1:0"
		cfg.AdminAddr = "127.0.0.1:0"
		cfg.HeartbeatTimeout = 300 * time.Millisecond
		cfg.ElectionTimeout = 300 * time.Millisecond
		cfg.LeaderLeaseTimeout = 250 * time.Millisecond
		cfg.Logger = nodeLogger(id)
		if mutate != nil {
			mutate(&cfg)
		}
		c.nodes = append(c.nodes, &cnode{id: id, cfg: cfg, trans: trans})
		peers = append(peers, id+"="+string(addr))
	}
	for _, a := range c.nodes {
		a.cfg.Peers = strings.Join(peers, ",")
		for _, b := range c.nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	for _, n := range c.nodes {
		s, err := server.Start(n.cfg)
		if err != nil {
			c.close()
			return nil, fmt.Errorf("start %s: %w", n.id, err)
		}
		n.s = s
	}
	if err := poll(20*time.Second, c.settled); err != nil {
		c.close()
		return nil, fmt.Errorf("cluster %s did not settle: %w:%s", name, err, c.describe())
	}
	return c, nil
}

// close stops every node still running.
func (c *cluster) close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		n.mu.Lock()
		s := n.s
		n.s = nil
		n.mu.Unlock()
		if s != nil {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Close() }()
		}
	}
	wg.Wait()
}

// stop closes one node at once and cuts the in-memory routes to it, so its
// peers see it gone instead of timing out on its unread RPC queue.
func (c *cluster) stop(n *cnode) {
	for _, o := range c.nodes {
		if o != n {
			o.trans.Disconnect(n.trans.LocalAddr())
		}
	}
	n.mu.Lock()
	s := n.s
	n.s = nil
	n.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

func (c *cluster) live() []*cnode {
	var out []*cnode
	for _, n := range c.nodes {
		if n.srv() != nil {
			out = append(out, n)
		}
	}
	return out
}

// readyLeader returns the one live node that leads and may serve reads, if
// every other live node knows it and its client address.
func (c *cluster) readyLeader() *cnode {
	var found *cnode
	live := c.live()
	for _, n := range live {
		if n.srv().Node.ReadReady() {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	if found == nil {
		return nil
	}
	for _, n := range live {
		li, ok := n.srv().Node.Leader()
		if !ok || li.ID != found.id || li.ClientAddr != found.addr() {
			return nil
		}
	}
	return found
}

// settled: a ready leader, and every live node's client and admin addresses
// in every live node's replicated metadata.
func (c *cluster) settled() bool {
	if c.readyLeader() == nil {
		return false
	}
	live := c.live()
	for _, holder := range live {
		for _, n := range live {
			m, ok := holder.srv().Node.FSM().Meta(n.id)
			if !ok || m.ClientAddr != n.addr() || m.AdminAddr != n.srv().AdminAddr() {
				return false
			}
		}
	}
	return true
}

// leader waits for a settled cluster and returns its leader.
func (c *cluster) leader(t *testing.T) *cnode {
	t.Helper()
	waitFor(t, 20*time.Second, c.settled, "cluster %s has no settled leader:%s", c.name, stateOf(c))
	return c.readyLeader()
}

// followers are the live nodes other than l.
func (c *cluster) followers(l *cnode) []*cnode {
	var out []*cnode
	for _, n := range c.live() {
		if n != l {
			out = append(out, n)
		}
	}
	return out
}

// transfer hands leadership from the current leader to another node (any
// voter when to is nil) and waits until the cluster has settled on it.
func (c *cluster) transfer(t *testing.T, to *cnode) *cnode {
	t.Helper()
	l := c.leader(t)
	id := ""
	if to != nil {
		id = to.id
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := l.srv().Node.TransferLeadership(ctx, id); err != nil {
		t.Fatalf("transfer leadership from %s to %q: %v", l.id, id, err)
	}
	nl := c.leader(t)
	if nl == l {
		t.Fatalf("leadership transfer from %s: %s still leads", l.id, l.id)
	}
	return nl
}

// stateOf formats the cluster's state when printed (so a waitFor message
// shows the state at the failure).
func stateOf(c *cluster) fmt.Stringer { return lazy(c.describe) }

type lazy func() string

func (l lazy) String() string { return l() }

func (c *cluster) describe() string {
	var sb strings.Builder
	for _, n := range c.nodes {
		s := n.srv()
		if s == nil {
			fmt.Fprintf(&sb, "\n  %s: down", n.id)
			continue
		}
		st := s.Node.Status()
		fmt.Fprintf(&sb, "\n  %s: %s term=%d leader=%q ready=%v commit=%d applied=%d client=%s",
			n.id, st.State, st.Term, st.Leader.ID, st.ReadReady, st.CommitIndex, st.AppliedIndex, s.ClientAddr())
	}
	return sb.String()
}
