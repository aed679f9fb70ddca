package testcluster

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/internal/freeport"
	"github.com/understudy/understudy/server"
)

// Node is one member of a test cluster. S is nil while the node is down.
type Node struct {
	ID    string
	Cfg   server.Config
	S     *server.Server
	Trans *raft.InmemTransport // in-memory clusters only
	Gate  *Gate                // clusters started WithGates only

	c  *Cluster
	mu sync.Mutex // guards S for Srv, against a concurrent Kill
}

// Alive reports whether the node is running.
func (n *Node) Alive() bool { return n.Srv() != nil }

// Srv is S read under the node's lock, for tests that stop nodes while
// other goroutines talk to them.
func (n *Node) Srv() *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.S
}

func (n *Node) setSrv(s *server.Server) *server.Server {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.S
	n.S = s
	return old
}

// ClientAddr is where the node serves RESP (while it is up).
func (n *Node) ClientAddr() string { return n.Srv().ClientAddr() }

// AdminAddr is where the node serves the admin API (while it is up).
func (n *Node) AdminAddr() string { return n.Srv().AdminAddr() }

// RaftAddr is the node's address in its peers' Raft configuration.
func (n *Node) RaftAddr() raft.ServerAddress {
	if n.Trans != nil {
		return n.Trans.LocalAddr()
	}
	return raft.ServerAddress(n.Cfg.RaftAddr)
}

func (n *Node) String() string { return n.ID }

// Start starts (or restarts, with the same data and addresses) the node.
func (n *Node) Start(t testing.TB) {
	t.Helper()
	if err := n.start(); err != nil {
		t.Fatal(err)
	}
}

func (n *Node) start() error {
	if n.Alive() {
		return fmt.Errorf("start %s: already running", n.ID)
	}
	s, err := server.Start(n.Cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.ID, err)
	}
	n.setSrv(s)
	return nil
}

// Kill stops the node at once with Close (no leadership hand-over) and, on
// the in-memory transport, cuts every route to and from it so its peers see
// it gone at once instead of timing out on its unread RPC queue.
func (n *Node) Kill(t testing.TB) {
	t.Helper()
	n.disconnect()
	CloseWithin(t, n, 5*time.Second)
}

func (n *Node) disconnect() {
	if n.Trans == nil || n.c == nil {
		return
	}
	for _, o := range n.c.Nodes {
		if o != n && o.Trans != nil {
			o.Trans.Disconnect(n.Trans.LocalAddr())
		}
	}
}

// CloseWithin closes the node and reports a Close that hangs longer than d
// as a test failure, with every goroutine's stack.
func CloseWithin(t testing.TB, n *Node, d time.Duration) {
	t.Helper()
	s := n.setSrv(nil)
	if s == nil {
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("close %s: %v", n.ID, err)
		}
	case <-time.After(d):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Errorf("close %s: still blocked after %v; goroutines:\n%s", n.ID, d, buf.String())
		// Stop Raft at least, so the stuck node does not keep running
		// elections next to later tests (Node.Close is idempotent).
		go func() { _ = s.Node.Close() }()
	}
}

// Cluster is a set of nodes sharing one log sink, shown when the test fails.
type Cluster struct {
	Name  string
	Nodes []*Node
	Logs  *LogSink
	opts  options
	t     testing.TB // nil for clusters started by Launch
}

type options struct {
	name       string
	prefix     string
	realStores bool
	noRaftAddr bool
	gates      bool
	raftAddrs  map[string]string
	mutate     []func(*server.Config)
}

// Option changes how a cluster is started.
type Option func(*options)

// RealStores runs the cluster over the TCP Raft transport with bolt stores
// and file snapshots in temporary directories, on fixed 127.0.0.1 ports from
// freeport, so nodes can be stopped and started again with their data.
func RealStores() Option { return func(o *options) { o.realStores = true } }

// WithoutRaftAddr leaves Config.RaftAddr empty on in-memory clusters, which
// Config.Validate allows when a Transport is given.
func WithoutRaftAddr() Option { return func(o *options) { o.noRaftAddr = true } }

// WithGates puts a Gate in front of each in-memory transport.
func WithGates() Option { return func(o *options) { o.gates = true } }

// WithRaftAddrs gives in-memory transports these addresses (node id →
// address) instead of "<id>.inmem:7000": those a data directory's Raft
// configuration records, for nodes started on existing data.
func WithRaftAddrs(addrs map[string]string) Option {
	return func(o *options) { o.raftAddrs = addrs }
}

// WithConfig changes every node's Config before it starts (after the
// harness has filled in ids, addresses, peers and the logger).
func WithConfig(fn func(*server.Config)) Option {
	return func(o *options) { o.mutate = append(o.mutate, fn) }
}

// Named names the cluster in its nodes' log lines (default: the test's name).
func Named(name string) Option { return func(o *options) { o.name = name } }

// Prefix names the nodes <prefix>1..<prefix>N (default "n").
func Prefix(p string) Option { return func(o *options) { o.prefix = p } }

// StableTiming gives tests that do not change leaders on purpose longer Raft
// timeouts, so a scheduling stall under -race on a loaded two-core machine
// does not cost the leader its lease in the middle of the test.
func StableTiming() Option {
	return WithConfig(func(c *server.Config) {
		c.HeartbeatTimeout = 500 * time.Millisecond
		c.ElectionTimeout = 500 * time.Millisecond
		c.LeaderLeaseTimeout = 400 * time.Millisecond
	})
}

// TestConfig is the fast configuration every test node starts from: a dead
// leader is replaced in well under a second, yet a stall of about 100ms (the
// race detector on two busy cores) does not depose a healthy one.
func TestConfig(id string) server.Config {
	c := server.Defaults()
	c.ID = id
	c.AdminAddr = ""
	c.ClientAddr = "127.0.0.1:0"
	c.HeartbeatTimeout = 200 * time.Millisecond
	c.ElectionTimeout = 200 * time.Millisecond
	c.LeaderLeaseTimeout = 100 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	return c
}

// New returns an empty cluster named name (it prefixes log lines) whose
// nodes are stopped when the test ends; add nodes with Add.
func New(t testing.TB, name string, opts ...Option) *Cluster {
	t.Helper()
	c := newCluster(name, opts)
	c.t = t
	t.Cleanup(func() {
		for _, n := range c.Nodes {
			if n.Gate != nil {
				n.Gate.Open()
			}
			CloseWithin(t, n, 5*time.Second)
		}
		if t.Failed() {
			t.Logf("cluster %s, last node log lines:\n%s", name, c.Logs.String())
		}
	})
	return c
}

func newCluster(name string, opts []Option) *Cluster {
	o := options{prefix: "n"}
	for _, fn := range opts {
		fn(&o)
	}
	return &Cluster{Name: name, Logs: NewLogSink(1500), opts: o}
}

// Start starts n nodes bootstrapped as one cluster and stops them when the
// test ends. It does not wait for a leader: see Leader.
func Start(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	c := Plan(t, n, opts...)
	c.StartAll(t)
	return c
}

// Plan is Start without starting the nodes: their configurations can still
// be changed before StartAll.
func Plan(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	var o options
	for _, fn := range opts {
		fn(&o)
	}
	c := New(t, cmp.Or(o.name, t.Name()), opts...)
	c.plan(n)
	return c
}

// StartAll starts every node that is down.
func (c *Cluster) StartAll(t testing.TB) {
	t.Helper()
	for _, n := range c.Nodes {
		if !n.Alive() {
			n.Start(t)
		}
	}
}

// Launch starts n in-memory nodes bootstrapped as one cluster outside any
// test (a suite's shared cluster) and waits until it Settled. The caller
// Closes it.
func Launch(name string, n int, opts ...Option) (*Cluster, error) {
	c := newCluster(name, opts)
	if c.opts.realStores {
		return nil, fmt.Errorf("cluster %s: Launch runs in-memory clusters only", name)
	}
	c.plan(n)
	for _, tn := range c.Nodes {
		if err := tn.start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	if !Poll(20*time.Second, c.Settled) {
		c.Close()
		return nil, fmt.Errorf("cluster %s did not settle within 20s:%s", name, c.Describe())
	}
	return c, nil
}

// Close stops every node still running, all at once.
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		if n.Gate != nil {
			n.Gate.Open()
		}
		if s := n.setSrv(nil); s != nil {
			wg.Add(1)
			go func() { defer wg.Done(); _ = s.Close() }()
		}
	}
	wg.Wait()
}

// Config returns the configuration a new node id of this cluster starts
// with: TestConfig, a data directory and addresses of its own, the cluster's
// logger and options. Peers and Join are left to the caller.
func (c *Cluster) Config(id string) server.Config {
	cfg := TestConfig(id)
	cfg.Logger = slog.New(slog.NewTextHandler(c.Logs, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("cluster", c.Name, "node", id)
	if c.opts.realStores {
		cfg.DataDir = c.t.TempDir()
		cfg.RaftAddr = FreeAddr(c.t)
		cfg.ClientAddr = FreeAddr(c.t)
		cfg.AdminAddr = FreeAddr(c.t)
	}
	return cfg
}

// inMemory reports whether Start and Launch use the in-memory transport.
func (o options) inMemory() bool { return !o.realStores }

// Add starts one more node with cfg (see Config) and adds it to the cluster.
func (c *Cluster) Add(t testing.TB, cfg server.Config) *Node {
	t.Helper()
	n := &Node{ID: cfg.ID, Cfg: cfg, c: c}
	c.Nodes = append(c.Nodes, n)
	n.Start(t)
	return n
}

// plan fills c.Nodes with n configured nodes, none started yet.
func (c *Cluster) plan(n int) {
	var peers []string
	for i := range n {
		id := fmt.Sprintf("%s%d", c.opts.prefix, i+1)
		tn := &Node{ID: id, c: c}
		cfg := c.Config(id)
		if c.opts.inMemory() {
			cfg.InMemory = true
			cfg.DataDir = ""
			// A host:port form, so the address also passes as RaftAddr.
			a := id + ".inmem:7000"
			if ra, ok := c.opts.raftAddrs[id]; ok {
				a = ra
			}
			addr, trans := raft.NewInmemTransport(raft.ServerAddress(a))
			cfg.RaftAddr = string(addr)
			tn.Trans = trans
			cfg.Transport = trans
			if c.opts.gates {
				tn.Gate = &Gate{InmemTransport: trans}
				cfg.Transport = tn.Gate
			}
			if c.opts.noRaftAddr {
				cfg.RaftAddr = ""
			}
		}
		peers = append(peers, id+"="+string(tn.raftAddrOf(cfg)))
		tn.Cfg = cfg
		c.Nodes = append(c.Nodes, tn)
	}
	for _, a := range c.Nodes {
		a.Cfg.Peers = strings.Join(peers, ",")
		for _, fn := range c.opts.mutate {
			fn(&a.Cfg)
		}
		for _, b := range c.Nodes {
			if a != b && a.Trans != nil {
				a.Trans.Connect(b.Trans.LocalAddr(), b.Trans)
			}
		}
	}
}

func (n *Node) raftAddrOf(cfg server.Config) raft.ServerAddress {
	if n.Trans != nil {
		return n.Trans.LocalAddr()
	}
	return raft.ServerAddress(cfg.RaftAddr)
}

// Node returns the node named id.
func (c *Cluster) Node(t testing.TB, id string) *Node {
	t.Helper()
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	t.Fatalf("cluster %s has no node %s", c.Name, id)
	return nil
}

// FreeAddr returns a 127.0.0.1 address from freeport, the one port
// allocator, failing the test if there is none.
func FreeAddr(t testing.TB) string {
	t.Helper()
	a, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return a
}
