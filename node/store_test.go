package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// diskCluster starts n nodes with their stores on disk under dir (node i in
// dir/n<i>) over the in-memory transport; store[i] is node i's log store.
type diskCluster struct {
	t      *testing.T
	dir    string
	trans  []*raft.InmemTransport
	peers  []Peer
	nodes  []*Node
	stores []string
	extra  func(*Config)
}

func newDiskCluster(t *testing.T, stores []string, extra func(*Config)) *diskCluster {
	t.Helper()
	c := &diskCluster{t: t, dir: t.TempDir(), stores: stores, extra: extra, nodes: make([]*Node, len(stores))}
	for i := range stores {
		addr, tr := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("n%d", i+1)))
		c.trans = append(c.trans, tr)
		c.peers = append(c.peers, Peer{ID: fmt.Sprintf("n%d", i+1), Addr: string(addr)})
	}
	for i := range c.trans {
		for j := range c.trans {
			if i != j {
				c.trans[i].Connect(c.trans[j].LocalAddr(), c.trans[j])
			}
		}
	}
	for i := range stores {
		if err := c.start(i); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			if n != nil {
				_ = n.Close()
			}
		}
	})
	return c
}

func (c *diskCluster) config(i int) Config {
	cfg := Config{
		ID: c.peers[i].ID, DataDir: filepath.Join(c.dir, c.peers[i].ID), ClientAddr: "client-" + c.peers[i].ID,
		Peers: c.peers, Transport: c.trans[i], LogStore: c.stores[i],
		HeartbeatTimeout: 300 * time.Millisecond, ElectionTimeout: 300 * time.Millisecond,
		LeaderLeaseTimeout: 250 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
		Logger: testLogger(),
	}
	if c.extra != nil {
		c.extra(&cfg)
	}
	return cfg
}

func (c *diskCluster) start(i int) error {
	// Close disconnected the node's transport from its peers: link it again.
	for j, tr := range c.trans {
		if j != i {
			c.trans[i].Connect(tr.LocalAddr(), tr)
			tr.Connect(c.trans[i].LocalAddr(), c.trans[i])
		}
	}
	n, err := New(c.config(i))
	if err != nil {
		return err
	}
	c.nodes[i] = n
	return nil
}

func (c *diskCluster) stop(i int) {
	c.t.Helper()
	if err := c.nodes[i].Close(); err != nil {
		c.t.Fatal(err)
	}
	c.nodes[i] = nil
}

// leader waits for a read-ready leader; generously, as a loaded machine
// can take seconds to elect one.
func (c *diskCluster) leader() *Node {
	c.t.Helper()
	var l *Node
	waitFor(c.t, 20*time.Second, func() bool {
		for _, n := range c.live() {
			if n.ReadReady() {
				l = n
				return true
			}
		}
		return false
	}, "a read-ready leader")
	return l
}

func (c *diskCluster) live() []*Node {
	var out []*Node
	for _, n := range c.nodes {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// writeKeys writes n keys through the leader, following leadership if it
// moves (a loaded machine can miss a heartbeat); a write that failed, or
// whose outcome is unknown, is written again (SET is idempotent).
func (c *diskCluster) writeKeys(prefix string, n int) {
	c.t.Helper()
	l := c.leader()
	for i, tries := 0, 0; i < n; tries++ {
		if tries > 10*n+100 {
			c.t.Fatalf("write %s%d: gave up after %d tries", prefix, i, tries)
		}
		_, err := l.Write(args("SET", fmt.Sprintf("%s%d", prefix, i), "v")).Wait(context.Background())
		if err == nil {
			i++
			continue
		}
		l = c.leader()
	}
}

// A node never starts on a data directory whose log is in the other kind
// of store: it would find an empty log beside a term and vote, and could
// vote for or acknowledge against entries it had lost.
func TestStores_NodeRefusesTheOtherKindOfLog(t *testing.T) {
	for _, from := range []string{LogStoreBolt, LogStoreWAL} {
		to := LogStoreWAL
		if from == LogStoreWAL {
			to = LogStoreBolt
		}
		t.Run(from+" to "+to, func(t *testing.T) {
			c := newDiskCluster(t, []string{from}, nil)
			c.writeKeys("k", 10)
			c.stop(0)
			c.stores[0] = to
			err := c.start(0)
			if err == nil {
				t.Fatalf("a node started with --log-store %s on a %s data directory", to, from)
			}
			for _, want := range []string{c.config(0).DataDir, "--log-store " + to, "convert-log"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			c.stores[0] = from
			if err := c.start(0); err != nil {
				t.Fatalf("restart with its own store: %v", err)
			}
			l := c.leader()
			if v, err := l.Read(args("DBSIZE")).Wait(context.Background()); err != nil || v.Int != 10 {
				t.Fatalf("DBSIZE after restart = %+v, %v; want 10", v, err)
			}
		})
	}
}

// The WAL only appends in sequence, so after a follower installs a
// snapshot Raft must empty it (raft.MonotonicLogStore). Every wrapper of the
// store must say so; if one hides it, the follower refuses the next append
// for good and never catches up (the bug Consul 1.15 shipped).
func TestStores_WALFollowerInstallsSnapshotThenAppends(t *testing.T) {
	c := newDiskCluster(t, []string{LogStoreWAL, LogStoreWAL, LogStoreWAL}, func(cfg *Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 16, 4, 50*time.Millisecond
		cfg.walSegmentBytes = 8 << 10 // compaction deletes whole segments only
	})
	l := c.leader()
	var lag int
	for i, n := range c.nodes {
		if n != l {
			lag = i
		}
	}
	c.writeKeys("a", 20)
	// The follower misses a stretch of the log that the leader compacts.
	c.trans[lag].DisconnectAll()
	for _, tr := range c.trans {
		tr.Disconnect(c.trans[lag].LocalAddr())
	}
	c.writeKeys("b", 100)
	l = c.leader()
	if l == c.nodes[lag] {
		t.Fatal("the disconnected follower leads")
	}
	if _, _, err := l.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// raft-wal keeps serving entries below its first index until their
	// segment is deleted: the next one the follower needs must be gone.
	var e raft.Log
	if err := l.stores.logStore().GetLog(c.nodes[lag].Raft().LastIndex()+1, &e); err != raft.ErrLogNotFound {
		t.Fatalf("the leader still has entry %d (%v): no snapshot needed", c.nodes[lag].Raft().LastIndex()+1, err)
	}
	for i, tr := range c.trans {
		if i != lag {
			tr.Connect(c.trans[lag].LocalAddr(), c.trans[lag])
			c.trans[lag].Connect(tr.LocalAddr(), tr)
		}
	}
	// Writes after the snapshot must reach it too.
	c.writeKeys("c", 20)
	l = c.leader()
	f := c.nodes[lag]
	// Raft's applied index moves when entries are handed to the FSM, not
	// when it has applied them: compare the FSMs.
	waitFor(t, 10*time.Second, func() bool {
		return f.FSM().AppliedIndex() >= l.FSM().AppliedIndex() && f.FSM().Hash() == l.FSM().Hash()
	}, "the follower catches up past the snapshot it installed")
	for _, n := range c.nodes {
		if err := n.Failure(); err != nil {
			t.Fatalf("%s failed: %v", n.ID(), err)
		}
	}
	if f.LastSnapshotIndex() <= 20 {
		t.Fatalf("the follower caught up without installing the leader's snapshot (its newest is %d)", f.LastSnapshotIndex())
	}
	if got, want := f.FSM().Stats().Keys, 140; got != want {
		t.Fatalf("follower has %d keys, want %d", got, want)
	}
}

// testLogger discards logs unless NODE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("NODE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// With no log store named, a node uses the one its data directory holds,
// and the WAL for a new node: an upgrade keeps an old bolt node starting.
func TestStores_UnnamedStoreIsTheDataDirectorysOrTheWAL(t *testing.T) {
	c := newDiskCluster(t, []string{LogStoreBolt, ""}, nil)
	c.writeKeys("k", 5)
	for i := range c.nodes {
		c.stop(i)
	}
	c.stores[0] = "" // was bolt
	for i := range c.nodes {
		if err := c.start(i); err != nil {
			t.Fatalf("restart n%d with no --log-store: %v", i+1, err)
		}
	}
	if got := dbsize(t, c.leader()); got != 5 {
		t.Fatalf("DBSIZE %d, want 5", got)
	}
	for i, want := range []string{LogStoreBolt, LogStoreWAL} {
		if got := c.nodes[i].stores.wal != nil; got != (want == LogStoreWAL) {
			t.Errorf("n%d runs the WAL: %v, want the %s store", i+1, got, want)
		}
	}
}
