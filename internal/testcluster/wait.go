package testcluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
)

// WaitFor polls cond every few milliseconds until it holds, failing the
// test with msg if it does not within timeout.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("after %v: %s", timeout, fmt.Sprintf(msg, args...))
	}
}

// Poll reports whether cond came to hold within timeout.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// Live returns the nodes that are up.
func Live(nodes []*Node) []*Node {
	var out []*Node
	for _, n := range nodes {
		if n.Alive() {
			out = append(out, n)
		}
	}
	return out
}

// Live returns the cluster's nodes that are up.
func (c *Cluster) Live() []*Node { return Live(c.Nodes) }

// Followers returns the live nodes other than l.
func Followers(nodes []*Node, l *Node) []*Node {
	var out []*Node
	for _, n := range Live(nodes) {
		if n != l {
			out = append(out, n)
		}
	}
	return out
}

// Followers returns the cluster's live members other than l.
func (c *Cluster) Followers(l *Node) []*Node {
	var out []*Node
	for _, n := range c.Members(l) {
		if n != l {
			out = append(out, n)
		}
	}
	return out
}

// Members returns the live nodes that belong to the Raft configuration as
// node by sees it (all live nodes if it cannot tell).
func Members(nodes []*Node, by *Node) []*Node {
	live := Live(nodes)
	s := by.Srv()
	if s == nil {
		return live
	}
	ms, err := s.Node.Members()
	if err != nil {
		return live
	}
	in := map[string]bool{}
	for _, m := range ms {
		in[m.ID] = true
	}
	var out []*Node
	for _, n := range live {
		if in[n.ID] {
			out = append(out, n)
		}
	}
	return out
}

// Members is Members over the cluster's nodes.
func (c *Cluster) Members(by *Node) []*Node { return Members(c.Nodes, by) }

// ReadyLeader returns the one live node that leads and may serve reads if
// every live member knows it with its client and admin addresses, else nil.
func ReadyLeader(nodes []*Node) *Node {
	var found *Node
	for _, n := range Live(nodes) {
		if s := n.Srv(); s != nil && s.Node.ReadReady() {
			if found != nil {
				return nil
			}
			found = n
		}
	}
	if found == nil {
		return nil
	}
	fs := found.Srv()
	if fs == nil {
		return nil
	}
	client, admin := fs.ClientAddr(), fs.AdminAddr()
	for _, n := range Members(nodes, found) {
		s := n.Srv()
		if s == nil {
			return nil
		}
		li, ok := s.Node.Leader()
		if !ok || li.ID != found.ID || li.ClientAddr != client || li.AdminAddr != admin {
			return nil
		}
	}
	return found
}

// Leader waits for exactly one live node that leads and may serve reads,
// known with its client and admin addresses to every live member (so
// followers can forward and redirect to it), and returns it.
func Leader(t testing.TB, nodes []*Node) *Node {
	t.Helper()
	var found *Node
	WaitFor(t, 15*time.Second, func() bool {
		found = ReadyLeader(nodes)
		return found != nil
	}, "no single read-ready leader known to all live members: %s", StateOf(nodes))
	return found
}

// Leader is Leader over the cluster's nodes.
func (c *Cluster) Leader(t testing.TB) *Node {
	t.Helper()
	return Leader(t, c.Nodes)
}

// MetaRecorded reports whether every live node's client and admin
// addresses are in every live node's replicated metadata: after that, no
// node proposes metadata writes of its own while the leader stays.
// Followers register about once a second.
func MetaRecorded(nodes []*Node) bool {
	live := Live(nodes)
	for _, holder := range live {
		hs := holder.Srv()
		if hs == nil {
			return false
		}
		for _, n := range live {
			ns := n.Srv()
			if ns == nil {
				return false
			}
			m, ok := hs.Node.FSM().Meta(n.ID)
			if !ok || m.ClientAddr != ns.ClientAddr() || m.AdminAddr != ns.AdminAddr() {
				return false
			}
		}
	}
	return true
}

// WaitMetaRecorded waits until MetaRecorded holds.
func WaitMetaRecorded(t testing.TB, nodes []*Node, timeout time.Duration) {
	t.Helper()
	WaitFor(t, timeout, func() bool { return MetaRecorded(nodes) },
		"node addresses not recorded everywhere: %s", StateOf(nodes))
}

// Settled reports a ready leader, every live node at this build's highest
// level (databases and the rest of its commands), and every live node's
// addresses in every live node's metadata (followers forward to them, WAIT
// and Sentinel read them).
func (c *Cluster) Settled() bool {
	if ReadyLeader(c.Nodes) == nil {
		return false
	}
	for _, n := range c.Live() {
		s := n.Srv()
		if s == nil || s.Node.FSM().Level() < fsm.MaxLevel {
			return false
		}
	}
	return MetaRecorded(c.Nodes)
}

// SettledLeader waits until the cluster Settled and returns its leader.
func (c *Cluster) SettledLeader(t testing.TB) *Node {
	t.Helper()
	WaitFor(t, 20*time.Second, c.Settled, "cluster %s has not settled: %s", c.Name, StateOf(c.Nodes))
	return ReadyLeader(c.Nodes)
}

// Transfer hands leadership from the current leader to another node (any
// voter when to is nil) and waits until the cluster has settled on it.
func (c *Cluster) Transfer(t testing.TB, to *Node) *Node {
	t.Helper()
	l := c.SettledLeader(t)
	id := ""
	if to != nil {
		id = to.ID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, _, err := l.Srv().Node.TransferLeadership(ctx, id); err != nil {
		t.Fatalf("transfer leadership from %s to %q: %v", l.ID, id, err)
	}
	nl := c.SettledLeader(t)
	if nl == l {
		t.Fatalf("leadership transfer from %s: %s still leads", l.ID, l.ID)
	}
	return nl
}

// Converge waits until every given node is up, has applied the same index
// and holds the same state hash.
func Converge(t testing.TB, nodes []*Node) {
	t.Helper()
	if len(nodes) == 0 {
		t.Fatal("Converge: no node")
	}
	WaitFor(t, 15*time.Second, func() bool {
		var idx, h uint64
		for i, n := range nodes {
			s := n.Srv()
			if s == nil {
				return false
			}
			nh, ni := s.Node.FSM().HashAt()
			if i == 0 {
				idx, h = ni, nh
				if idx == 0 {
					return false
				}
				continue
			}
			if ni != idx || nh != h {
				return false
			}
		}
		return true
	}, "nodes did not converge (same applied index and hash): %s", StateOf(nodes))
}

// StateOf formats as Describe(nodes) at the moment it is printed, so a
// WaitFor message shows the state at the failure, not at the start.
func StateOf(nodes []*Node) fmt.Stringer { return lazyState(nodes) }

type lazyState []*Node

func (l lazyState) String() string { return Describe(l) }

// Describe summarises every node's Raft and FSM state for failure messages.
func Describe(nodes []*Node) string {
	var sb strings.Builder
	for _, n := range nodes {
		s := n.Srv()
		if s == nil {
			fmt.Fprintf(&sb, "\n  %s: down", n.ID)
			continue
		}
		st := s.Node.Status()
		f := s.Node.FSM()
		fmt.Fprintf(&sb, "\n  %s: %s term=%d leader=%q (client %q admin %q) ready=%v commit=%d raft_applied=%d last=%d fsm_applied=%d keys=%d hash=%x client=%s",
			n.ID, st.State, st.Term, st.Leader.ID, st.Leader.ClientAddr, st.Leader.AdminAddr, st.ReadReady,
			st.CommitIndex, st.AppliedIndex, st.LastIndex, f.AppliedIndex(), f.Stats().Keys, f.Hash(), s.ClientAddr())
	}
	return sb.String()
}

// Describe is Describe over the cluster's nodes.
func (c *Cluster) Describe() string { return Describe(c.Nodes) }
