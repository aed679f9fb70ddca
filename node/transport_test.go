package node

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// tcpConfigs returns configs for n nodes on free 127.0.0.1 ports with data
// under dir.
func tcpConfigs(t *testing.T, n int, dir string) []Config {
	t.Helper()
	var peers []Peer
	for i := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: ln.Addr().String()})
		ln.Close()
	}
	cfgs := make([]Config, n)
	for i := range cfgs {
		cfgs[i] = Config{ID: peers[i].ID, DataDir: filepath.Join(dir, peers[i].ID), RaftAddr: peers[i].Addr,
			ClientAddr: "client-" + peers[i].ID, Peers: peers, LogStore: LogStoreWAL, Logger: testLogger().With("id", peers[i].ID)}
	}
	return cfgs
}

// A follower that comes back after being down for seconds is replicated to
// at once, not after raft's backoff (10 ms doubled per failed attempt while
// it was down, up to 10 s): until then it applies nothing and cannot tell
// clients where the leader is. Its heartbeat-taught leader id alone is not
// enough: the leader's client address is replicated state.
func TestTransport_RestartedFollowerIsReplicatedPromptly(t *testing.T) {
	cfgs := tcpConfigs(t, 3, t.TempDir())
	nodes, l := startTCPNodes(t, cfgs)
	f := 0
	for nodes[f] == l {
		f++
	}
	if err := nodes[f].Close(); err != nil {
		t.Fatal(err)
	}
	nodes[f] = nil
	// Down long enough for raft's backoff to reach seconds: its tenth
	// failure comes about 5 s in and the next attempt 5 s after that.
	down := time.Now()
	for time.Since(down) < 6*time.Second {
		if _, err := l.Write(args("SET", "k", time.Now().String())).Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond) // the write rate, not synchronisation
	}
	commit := l.Raft().CommitIndex()
	start := time.Now()
	n, err := New(cfgs[f])
	if err != nil {
		t.Fatal(err)
	}
	nodes[f] = n
	waitFor(t, 15*time.Second, func() bool {
		li, ok := n.Leader()
		return ok && li.ClientAddr == l.Config().ClientAddr && n.Raft().AppliedIndex() >= commit
	}, "the restarted follower applies what the leader had committed and knows its client address")
	took := time.Since(start)
	t.Logf("restarted follower caught up %v after New returned (down %v)", took.Round(time.Millisecond), start.Sub(down).Round(time.Millisecond))
	if took > 2*time.Second {
		t.Fatalf("the restarted follower took %v to be replicated to: the leader was backing off", took)
	}
}

// When the leader's process goes away (here: Close, which stops Raft and
// closes its listener and connections without handing leadership over),
// its followers see its connections end and its port refuse, and one of
// them stands for election at once: a new leader long before the heartbeat
// timeout (2 s here) would let any follower notice.
func TestTransport_DeadLeaderIsReplacedBeforeTheHeartbeatTimeout(t *testing.T) {
	cfgs := tcpConfigs(t, 3, t.TempDir())
	nodes := make([]*Node, 3)
	for i := range cfgs {
		cfgs[i].HeartbeatTimeout, cfgs[i].ElectionTimeout = 2*time.Second, 2*time.Second
		n, err := New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
	}
	defer func() {
		for _, n := range nodes {
			if n != nil {
				_ = n.Close()
			}
		}
	}()
	leader := func() *Node {
		for _, n := range nodes {
			if n != nil && n.ReadReady() {
				return n
			}
		}
		return nil
	}
	waitFor(t, 20*time.Second, func() bool { return leader() != nil }, "a leader")
	l := leader()
	if _, err := l.Write(args("SET", "k", "v")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	term := l.Raft().CurrentTerm()
	gone := time.Now()
	for i, n := range nodes {
		if n == l {
			_ = n.Close()
			nodes[i] = nil
		}
	}
	waitFor(t, 10*time.Second, func() bool { return leader() != nil }, "a new leader")
	took := time.Since(gone)
	nl := leader()
	t.Logf("new leader %s in term %d (was %d) %v after the old one went", nl.ID(), nl.Raft().CurrentTerm(), term, took.Round(time.Millisecond))
	if took > time.Second {
		t.Fatalf("a new leader took %v: the followers waited for their heartbeat timeout", took)
	}
	if v, err := nl.Read(args("GET", "k")).Wait(context.Background()); err != nil || string(v.Str) != "v" {
		t.Fatalf("GET k on the new leader: %+v, %v", v, err)
	}
}

// A connection from the leader that ends while the leader still listens is
// not a dead leader: nobody stands for election.
func TestTransport_LeaderConnectionLossAloneChangesNothing(t *testing.T) {
	cfgs := tcpConfigs(t, 3, t.TempDir())
	nodes := make([]*Node, 3)
	for i := range cfgs {
		n, err := New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
		defer n.Close()
	}
	var l *Node
	waitFor(t, 20*time.Second, func() bool {
		for _, n := range nodes {
			if n.ReadReady() {
				l = n
				return true
			}
		}
		return false
	}, "a leader")
	term := l.Raft().CurrentTerm()
	for _, n := range nodes {
		if n != l {
			n.peerConnLost(l.ID(), l.Config().RaftAddr)
		}
	}
	time.Sleep(500 * time.Millisecond) // the stagger and more: time for a mistaken election to start
	for _, n := range nodes {
		if got := n.Raft().CurrentTerm(); got != term {
			t.Fatalf("%s moved from term %d to %d on a lost connection of a live leader", n.ID(), term, got)
		}
	}
}

// Leadership can be handed at once to a follower that has just restarted
// (a rolling upgrade's last step): the leader's idle NetworkTransport
// connections to it, left from the election, are dead, and the hand-over's
// TimeoutNow must not fail on them.
func TestTransport_LeadershipGoesToARestartedFollower(t *testing.T) {
	cfgs := tcpConfigs(t, 3, t.TempDir())
	nodes, l := startTCPNodes(t, cfgs)
	f := 0
	for nodes[f] == l {
		f++
	}
	if err := nodes[f].Close(); err != nil {
		t.Fatal(err)
	}
	n, err := New(cfgs[f])
	if err != nil {
		t.Fatal(err)
	}
	nodes[f] = n
	if _, err := l.Write(args("SET", "k", "v")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	commit := l.Raft().CommitIndex()
	waitFor(t, 15*time.Second, func() bool { return n.Raft().AppliedIndex() >= commit }, "the restarted follower catches up")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	li, _, err := l.TransferLeadership(ctx, cfgs[f].ID)
	if err != nil {
		t.Fatalf("hand leadership to the restarted %s: %v", cfgs[f].ID, err)
	}
	if li.ID != cfgs[f].ID {
		t.Fatalf("leadership went to %s, want %s", li.ID, cfgs[f].ID)
	}
}

// startTCPNodes starts a node of each config and waits for a leader; the
// nodes still in the slice when the test ends (a test sets an entry to nil
// once it closed that node itself) are closed then.
func startTCPNodes(t *testing.T, cfgs []Config) (nodes []*Node, leader *Node) {
	t.Helper()
	nodes = make([]*Node, len(cfgs))
	t.Cleanup(func() {
		for _, n := range nodes {
			if n != nil {
				_ = n.Close()
			}
		}
	})
	for i := range nodes {
		n, err := New(cfgs[i])
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = n
	}
	waitFor(t, 20*time.Second, func() bool {
		for _, n := range nodes {
			if n.ReadReady() {
				leader = n
				return true
			}
		}
		return false
	}, "a leader")
	return nodes, leader
}
