// Package node wires hashicorp/raft to Understudy's state machine: stores,
// transport, bootstrap, the leadership watcher, the one place writes are
// proposed (apply.go) and the linearizable-read barrier (read.go).
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/understudy/understudy/fsm"
)

// Node is one Raft member. Lifecycle: New → (Bootstrap is automatic from
// Config.Peers) → WaitForLeader → Close.
type Node struct {
	cfg    Config
	log    *slog.Logger
	fsm    *fsm.FSM
	raft   *raft.Raft
	trans  raft.Transport
	stores *logStores   // nil in memory (store.go)
	closer func() error // closes the transport
	// stable is the stable store (term, vote; the relay secret: relay.go).
	stable raft.StableStore
	// relay is the relay secret as last persisted in the stable store, so
	// a restarted node can relay (or check relays) before its log replays.
	relay relayKnown
	// guard fences the stores after a failed write (diskguard.go).
	guard *diskGuard

	// readyTerm is the term in which this node, as leader, has applied an
	// entry of its own (its Barrier returned). Reads are served only while
	// it equals the current term.
	readyTerm atomic.Uint64
	raftRef   raftRef // n.raft, for goroutines started before New returns
	// leaderGone is the term whose dead leader this node is acting on
	// (leadergone.go), 0 when none.
	leaderGone atomic.Uint64
	clock      clock
	// readRounds counts leadership confirmations made for reads (read.go).
	readRounds atomic.Uint64

	queue    writeQueue // writes waiting for the batcher (apply.go)
	reads    chan *readReq
	stop     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
	mu       sync.Mutex
	watchers []func(isLeader bool)
}

// New opens the stores, starts Raft and, if Config.Peers is set and the node
// has no state yet, bootstraps the initial configuration. Every node given the
// same peers bootstraps the same configuration, so this is idempotent.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("node config: %w", err)
	}
	n := &Node{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "node", "id", cfg.ID),
		fsm:   fsm.New(),
		queue: writeQueue{wake: make(chan struct{}, 1)},
		reads: make(chan *readReq, 4096),
		stop:  make(chan struct{}),
	}
	n.fsm.SetUndecodableHook(n.refuseEntry)
	if err := n.open(); err != nil {
		n.closeStores()
		return nil, err
	}
	n.wg.Add(5)
	go n.runBatcher()
	go n.runReader()
	go n.runLeadership()
	go n.runExpiry()
	go n.runRelaySync()
	return n, nil
}

func (n *Node) open() error {
	cfg := n.cfg
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = cfg.HeartbeatTimeout
	rc.ElectionTimeout = cfg.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.CommitTimeout
	rc.SnapshotThreshold = cfg.SnapshotThreshold
	rc.SnapshotInterval = cfg.SnapshotInterval
	rc.TrailingLogs = cfg.TrailingLogs
	rc.MaxAppendEntries = cfg.MaxAppendEntries
	rc.BatchApplyCh = true
	rc.Logger = newRaftLogger(cfg.Logger, "raft")

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if cfg.InMemory {
		mem := raft.NewInmemStore()
		snaps = raft.NewInmemSnapshotStore()
		logs, stable = newLogCache(mem, snaps), mem
	} else {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
		}
		snapDir := filepath.Join(cfg.DataDir, "snapshots")
		if err := checkSnapshotMetas(cfg.DataDir); err != nil {
			return err
		}
		fss, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, newRaftLogger(cfg.Logger, "snapshot"))
		if err != nil {
			return fmt.Errorf("open snapshot store %s: %w", snapDir, err)
		}
		snapIndex, err := checkNewestSnapshot(cfg.DataDir, fss)
		if err != nil {
			return err
		}
		st, err := openStores(cfg, snapIndex)
		if err != nil {
			return err
		}
		n.stores = st
		n.guard = newDiskGuard(st.logStore(), st.logPath, st.bolt, filepath.Join(cfg.DataDir, boltFile), n.log)
		if st.wal != nil {
			n.guard.locate = func(i uint64) string { return segmentFor(st.logPath, i) }
		}
		snaps = snapshotGuard{SnapshotStore: fss, guard: n.guard, dir: snapDir}
		logs, stable = newLogCache(n.guard, snaps), n.guard
	}

	if cfg.Transport != nil {
		n.trans = cfg.Transport
		n.closer = func() error { return nil }
	} else {
		adv, err := net.ResolveTCPAddr("tcp", cfg.AdvertiseRaftAddr)
		if err != nil {
			return fmt.Errorf("resolve raft address %s: %w", cfg.AdvertiseRaftAddr, err)
		}
		var stream raft.StreamLayer
		if cfg.TLS != nil {
			stream, err = newTLSStream(cfg.RaftAddr, adv, cfg.TLS)
		} else {
			stream, err = newTCPStream(cfg.RaftAddr, adv)
		}
		if err != nil {
			return fmt.Errorf("listen raft %s: %w", cfg.RaftAddr, err)
		}
		ft := newFastTransport(stream, n, 10*time.Second, cfg.Logger)
		n.trans, n.closer = ft, ft.Close
	}

	n.stable = stable
	n.loadRelaySecret()
	r, err := raft.NewRaft(rc, n.raftFSM(), logs, stable, snaps, n.trans)
	if lc, ok := logs.(*logCache); ok && err == nil {
		lc.running.Store(r)
	}
	if err != nil {
		if n.closer != nil {
			_ = n.closer()
		}
		return fmt.Errorf("start raft (data dir %s): %w", cfg.DataDir, err)
	}
	n.raft = r
	n.raftRef.p.Store(r)
	if len(cfg.Peers) > 0 {
		servers := make([]raft.Server, len(cfg.Peers))
		for i, p := range cfg.Peers {
			servers[i] = raft.Server{ID: raft.ServerID(p.ID), Address: raft.ServerAddress(p.Addr), Suffrage: raft.Voter}
		}
		err := r.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
		switch {
		case err == nil:
			n.log.Info("bootstrapped cluster", "peers", len(servers))
		case errors.Is(err, raft.ErrCantBootstrap):
			// Existing state: a restart. The stored configuration wins.
		default:
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	return nil
}

// openBolt opens the bolt stable (and, in bolt mode, log) store, saying which file failed and why;
// bolt blocks forever on a locked file, so a second process on the same data
// directory is refused by a timeout instead.
func openBolt(path string) (*raftboltdb.BoltStore, error) {
	type result struct {
		s   *raftboltdb.BoltStore
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := raftboltdb.New(raftboltdb.Options{Path: path})
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("open %s: %w", path, r.err)
		}
		return r.s, nil
	case <-time.After(10 * time.Second):
		return nil, fmt.Errorf("open %s: file is locked (is another node running on this data directory?)", path)
	}
}

func (n *Node) closeStores() {
	if n.stores != nil {
		if err := n.stores.close(); err != nil {
			n.log.Warn("close stores", "err", err)
		}
	}
}

// Close stops Raft and closes the stores. Writes still queued fail with
// ErrShutdown; writes already proposed get ErrUncertain.
func (n *Node) Close() error {
	if !n.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(n.stop)
	ok, err := n.shutdownRaft()
	if !ok {
		return err // Raft is parked behind a failed disk write (diskguard.go)
	}
	if n.closer != nil {
		if cerr := n.closer(); cerr != nil && err == nil {
			err = cerr
		}
	}
	n.closeStores()
	if err != nil {
		return fmt.Errorf("shutdown raft: %w", err)
	}
	return nil
}

// ID returns this node's id.
func (n *Node) ID() string { return n.cfg.ID }

// FSM returns the state machine (read-only use: status, tests).
func (n *Node) FSM() *fsm.FSM { return n.fsm }

// Raft returns the underlying Raft instance, for the admin API.
func (n *Node) Raft() *raft.Raft { return n.raft }

// Term is the Raft term this node is in.
func (n *Node) Term() uint64 { return n.raft.CurrentTerm() }

// LastContact is when this node last heard from the leader (zero if never;
// a leader reports the current time).
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }

// AppliedIndex is the index of the last log entry Raft has applied.
func (n *Node) AppliedIndex() uint64 { return n.raft.AppliedIndex() }

// RaftStats is Raft's own counters by name (raft.Raft.Stats).
func (n *Node) RaftStats() map[string]string { return n.raft.Stats() }

// Config returns the node's configuration with defaults applied.
func (n *Node) Config() Config { return n.cfg }

// IsLeader reports whether this node currently believes it leads. Not a
// linearizable check: use Read for that.
func (n *Node) IsLeader() bool { return n.raft.State() == raft.Leader }

// LeaderInfo says who leads, as this node knows it.
type LeaderInfo struct {
	ID         string
	RaftAddr   string
	ClientAddr string // told to clients; empty until the leader has recorded it
	AdminAddr  string // told to operators
	// PeerClientAddr and PeerAdminAddr are where this node reaches the
	// leader (forwarding, admin calls): the recorded peer addresses, or
	// ClientAddr and AdminAddr when the leader recorded none.
	PeerClientAddr string
	PeerAdminAddr  string
	Self           bool
}

// Leader returns the current leader; ok=false when none is known.
func (n *Node) Leader() (LeaderInfo, bool) {
	addr, id := n.raft.LeaderWithID()
	if id == "" {
		return LeaderInfo{}, false
	}
	li := LeaderInfo{ID: string(id), RaftAddr: string(addr), Self: string(id) == n.cfg.ID}
	m, ok := n.fsm.Meta(li.ID)
	if li.Self {
		m, ok = n.selfMeta(), true
	}
	if ok {
		li.ClientAddr, li.AdminAddr = m.ClientAddr, m.AdminAddr
		li.PeerClientAddr, li.PeerAdminAddr = m.PeerClient(), m.PeerAdmin()
	}
	return li, true
}

// WaitForLeader blocks until some leader is known or ctx ends.
func (n *Node) WaitForLeader(ctx context.Context) (LeaderInfo, error) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		if li, ok := n.Leader(); ok {
			return li, nil
		}
		select {
		case <-ctx.Done():
			return LeaderInfo{}, fmt.Errorf("wait for leader: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// ReadReady reports whether this node may serve linearizable reads now.
func (n *Node) ReadReady() bool {
	return n.raft.State() == raft.Leader && n.readyTerm.Load() == n.raft.CurrentTerm()
}

// OnLeadershipChange registers fn, called from the watcher goroutine when this
// node gains (after its first entry of the term is applied) or loses leadership.
func (n *Node) OnLeadershipChange(fn func(isLeader bool)) {
	n.mu.Lock()
	n.watchers = append(n.watchers, fn)
	n.mu.Unlock()
}

func (n *Node) notify(isLeader bool) {
	n.mu.Lock()
	ws := append([]func(bool){}, n.watchers...)
	n.mu.Unlock()
	for _, fn := range ws {
		fn(isLeader)
	}
}

// runLeadership makes a new leader safe to read from: it waits for a Barrier
// (an entry of its own term applied), then records the leader's client and
// admin addresses in the replicated metadata.
func (n *Node) runLeadership() {
	defer n.wg.Done()
	ch := n.raft.LeaderCh()
	for {
		select {
		case <-n.stop:
			return
		case isLeader := <-ch:
			if !isLeader {
				n.readyTerm.Store(0)
				n.log.Info("lost leadership")
				n.notify(false)
				continue
			}
			term := n.raft.CurrentTerm()
			start := time.Now()
			if err := n.raft.Barrier(5 * time.Second).Error(); err != nil {
				n.log.Warn("barrier after election failed", "term", term, "err", err)
				continue
			}
			if n.raft.State() != raft.Leader || n.raft.CurrentTerm() != term {
				continue
			}
			n.readyTerm.Store(term)
			n.log.Info("leading", "term", term, "barrier", time.Since(start).Round(time.Millisecond))
			n.notify(true)
			n.recordMeta()
		}
	}
}

// recordMeta proposes this node's addresses if the replicated copy differs.
func (n *Node) recordMeta() {
	want := n.selfMeta()
	if m, ok := n.fsm.Meta(n.cfg.ID); ok && m == want {
		return
	}
	f := n.WriteInternal(metaArgv(n.cfg.ID, want))
	go func() {
		if _, err := f.Wait(context.Background()); err != nil {
			n.log.Warn("record node addresses", "err", err)
		}
	}()
}

// selfMeta is this node's own metadata as it records it.
func (n *Node) selfMeta() fsm.NodeMeta {
	return NewMeta(n.cfg.ClientAddr, n.cfg.AdminAddr, n.cfg.PeerClientAddr, n.cfg.PeerAdminAddr)
}

// NewMeta is a member's metadata in the form it is recorded: a peer address
// equal to the advertised one is left empty, so a node that does not
// separate them records what older versions did.
func NewMeta(client, admin, peerClient, peerAdmin string) fsm.NodeMeta {
	m := fsm.NodeMeta{ClientAddr: client, AdminAddr: admin, PeerClientAddr: peerClient, PeerAdminAddr: peerAdmin}
	if m.PeerClientAddr == m.ClientAddr {
		m.PeerClientAddr = ""
	}
	if m.PeerAdminAddr == m.AdminAddr {
		m.PeerAdminAddr = ""
	}
	return m
}

// metaArgv is the internal command recording id's addresses; the peer pair
// is sent only when there is one.
func metaArgv(id string, m fsm.NodeMeta) [][]byte {
	argv := [][]byte{[]byte("meta"), []byte(id), []byte(m.ClientAddr), []byte(m.AdminAddr)}
	if m.PeerClientAddr != "" || m.PeerAdminAddr != "" {
		argv = append(argv, []byte(m.PeerClientAddr), []byte(m.PeerAdminAddr))
	}
	return argv
}

// runExpiry has the leader propose the deletion of expired keys, so that
// replicas never delete on their own and all agree on when a key went.
func (n *Node) runExpiry() {
	defer n.wg.Done()
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		if !n.ReadReady() {
			continue
		}
		keys := n.fsm.ExpiredKeys(n.clock.now(n.fsm.Clock()), 256)
		if len(keys) == 0 {
			continue
		}
		// One command per database, all in one entry if they fit together.
		var futs []*Future
		for len(keys) > 0 {
			db, argv := keys[0].DB, [][]byte{[]byte("expired")}
			rest := keys[:0:0]
			for _, k := range keys {
				if k.DB == db {
					argv = append(argv, []byte(k.Key))
				} else {
					rest = append(rest, k)
				}
			}
			keys = rest
			futs = append(futs, n.WriteCmd(fsm.Cmd{Op: fsm.OpInternal, DB: db, Argv: argv}))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		for _, f := range futs {
			_, _ = f.Wait(ctx)
		}
		cancel()
	}
}

// Status is a snapshot of this node's Raft state for INFO and the admin API.
type Status struct {
	ID           string
	State        string
	Term         uint64
	CommitIndex  uint64
	AppliedIndex uint64
	LastIndex    uint64
	LastContact  time.Time
	Leader       LeaderInfo
	HasLeader    bool
	ReadReady    bool
}

// Status reports this node's Raft state.
func (n *Node) Status() Status {
	li, ok := n.Leader()
	return Status{
		ID:           n.cfg.ID,
		State:        n.raft.State().String(),
		Term:         n.raft.CurrentTerm(),
		CommitIndex:  n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(),
		LastIndex:    n.raft.LastIndex(),
		LastContact:  n.raft.LastContact(),
		Leader:       li,
		HasLeader:    ok,
		ReadReady:    n.ReadReady(),
	}
}

// clock stamps entries: Unix ms, never behind the last stamp or the
// replicated clock, so time seen by the FSM never goes backwards (even across
// leaders whose wall clocks disagree).
type clock struct {
	mu   sync.Mutex
	last int64
	// offset shifts the wall clock; tests use it to jump a leader's clock.
	offset atomic.Int64
}

func (c *clock) now(floor int64) int64 {
	t := time.Now().UnixMilli() + c.offset.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	t = max(t, c.last, floor)
	c.last = t
	return t
}

// SetClockOffset shifts this node's timestamp source (chaos tests: clock jumps).
func (n *Node) SetClockOffset(d time.Duration) { n.clock.offset.Store(d.Milliseconds()) }
