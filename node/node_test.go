package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mustInmemCluster starts n nodes on hashicorp's in-memory transport.
func mustInmemCluster(t *testing.T, n int) []*Node {
	t.Helper()
	return mustInmemClusterWith(t, n, nil)
}

// mustInmemClusterWith is mustInmemCluster with mutate changing each node's
// Config before it starts.
func mustInmemClusterWith(t *testing.T, n int, mutate func(*Config)) []*Node {
	t.Helper()
	trans := make([]*raft.InmemTransport, n)
	var peers []Peer
	for i := range trans {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("n%d", i+1)))
		trans[i] = tr
		peers = append(peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: string(addr)})
	}
	for i := range trans {
		for j := range trans {
			if i != j {
				trans[i].Connect(trans[j].LocalAddr(), trans[j])
			}
		}
	}
	nodes := make([]*Node, n)
	for i := range nodes {
		cfg := Config{
			ID:                 peers[i].ID,
			ClientAddr:         fmt.Sprintf("client-%d", i+1),
			Peers:              peers,
			Transport:          trans[i],
			InMemory:           true,
			HeartbeatTimeout:   50 * time.Millisecond,
			ElectionTimeout:    50 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond,
			CommitTimeout:      5 * time.Millisecond,
			Logger:             slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		if mutate != nil {
			mutate(&cfg)
		}
		nd, err := New(cfg)
		if err != nil {
			t.Fatalf("start node %d: %v", i+1, err)
		}
		nodes[i] = nd
		t.Cleanup(func() { _ = nd.Close() })
	}
	return nodes
}

func mustLeader(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	var l *Node
	waitFor(t, 5*time.Second, func() bool {
		for _, n := range nodes {
			if n.ReadReady() {
				l = n
				return true
			}
		}
		return false
	}, "a read-ready leader")
	return l
}

func args(s ...string) [][]byte {
	out := make([][]byte, len(s))
	for i, a := range s {
		out[i] = []byte(a)
	}
	return out
}

func TestNode_ConcurrentWritesAreGroupedIntoFewEntries(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	before := l.Raft().LastIndex()
	const writers = 200
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := l.Write(args("SET", fmt.Sprintf("k%d", i), "v")).Wait(context.Background())
			if err == nil && v.Kind != fsm.KindSimple {
				err = fmt.Errorf("reply %+v", v)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	entries := l.Raft().LastIndex() - before
	t.Logf("%d concurrent writes took %d log entries", writers, entries)
	if entries >= writers/2 {
		t.Fatalf("%d writes took %d entries: writes are not being grouped", writers, entries)
	}
	v, err := l.Read(args("DBSIZE")).Wait(context.Background())
	if err != nil || v.Int != writers {
		t.Fatalf("DBSIZE = %+v, %v; want %d", v, err, writers)
	}
}

func TestNode_FollowerRefusesWritesAndReadsDefinitely(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	for _, n := range nodes {
		if n == l {
			continue
		}
		_, err := n.Write(args("SET", "k", "v")).Wait(context.Background())
		if !errors.Is(err, ErrNotLeader) || !IsDefinite(err) {
			t.Fatalf("follower write: err = %v, want definite ErrNotLeader", err)
		}
		_, err = n.Read(args("GET", "k")).Wait(context.Background())
		if !errors.Is(err, ErrNotLeader) {
			t.Fatalf("follower read: err = %v, want ErrNotLeader", err)
		}
		li, ok := n.Leader()
		if !ok || li.ID != l.ID() {
			t.Fatalf("follower thinks leader is %+v (ok=%v), want %s", li, ok, l.ID())
		}
	}
}

func TestNode_LeaderRecordsClientAddrForFollowers(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	for _, n := range nodes {
		waitFor(t, 5*time.Second, func() bool {
			li, ok := n.Leader()
			return ok && li.ClientAddr == l.Config().ClientAddr
		}, "followers learn the leader's client address")
	}
}

func TestNode_ExpiredKeysAreDeletedByLeaderEntries(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	if _, err := l.Write(args("SET", "gone", "v", "PX", "30")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Write(args("SET", "kept", "v")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitFor(t, 5*time.Second, func() bool { return n.FSM().Stats().Keys == 1 }, "expired key removed on "+n.ID())
	}
	h := l.FSM().Hash()
	for _, n := range nodes {
		waitFor(t, 5*time.Second, func() bool { return n.FSM().Hash() == h }, "convergence on "+n.ID())
	}
}

func TestNode_ClockNeverGoesBackwards(t *testing.T) {
	nodes := mustInmemCluster(t, 3)
	l := mustLeader(t, nodes)
	if _, err := l.Write(args("SET", "a", "1")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	before := l.FSM().Clock()
	l.SetClockOffset(-time.Hour)
	if _, err := l.Write(args("SET", "b", "1")).Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if after := l.FSM().Clock(); after < before {
		t.Fatalf("replicated clock went back from %d to %d", before, after)
	}
}

func TestNode_WriteAfterCloseFailsDefinitely(t *testing.T) {
	nodes := mustInmemCluster(t, 1)
	l := mustLeader(t, nodes)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := l.Write(args("SET", "k", "v")).Wait(context.Background())
	if !errors.Is(err, ErrShutdown) {
		t.Fatalf("err = %v, want ErrShutdown", err)
	}
}

// SAVE from several clients at once, with writes between: each answers with
// a snapshot at least as new as its own, never with an error because a
// later one replaced its snapshot before it could be read (the in-memory
// store keeps one; the file store two).
func TestNode_ConcurrentSnapshotsAllAnswer(t *testing.T) {
	l := mustLeader(t, mustInmemCluster(t, 1))
	var wg sync.WaitGroup
	errs := make(chan error, 8*20)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				if _, err := l.Write(args("SET", fmt.Sprintf("k%d-%d", g, i), "v")).Wait(context.Background()); err != nil {
					errs <- err
					return
				}
				at := l.Raft().AppliedIndex()
				idx, _, err := l.Snapshot()
				if err != nil {
					errs <- err
					return
				}
				if idx < at {
					errs <- fmt.Errorf("snapshot at %d, below the applied index %d before the call", idx, at)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
