package server

// Cluster test harness: starting, killing and restarting nodes, waiting for a
// leader and for convergence, and a small RESP2 client that shows raw replies.
//
// Most tests use this client rather than go-redis because they need every
// reply exactly as sent (Do and Pipeline: errors included, no retries, no
// MOVED handling, no connection-setup commands) from code that shares nothing
// with the server it checks (resp.Reader/Writer). go-redis is used where a
// real client's behaviour is the point (pipelines in RESP2 and RESP3, a
// connection pool under concurrent reads).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// ---------------------------------------------------------------------------
// Cluster

// testNode is one member of a test cluster. s is nil while the node is down.
type testNode struct {
	id    string
	cfg   Config
	s     *Server
	trans *raft.InmemTransport // in-memory clusters only
	gate  *gatedTransport      // clusters started withGates only
}

func (n *testNode) alive() bool { return n.s != nil }

// clientAddr is where the node serves RESP (while it is up).
func (n *testNode) clientAddr() string { return n.s.ClientAddr() }

type clusterOptions struct {
	realStores bool // TCP transport and bolt stores in t.TempDir()
	noRaftAddr bool // in-memory: leave Config.RaftAddr empty, as Validate allows with a Transport
	gates      bool // wrap the in-memory transports in gatedTransport
	mutate     []func(*Config)
}

type clusterOption func(*clusterOptions)

// withRealStores runs the cluster over the TCP Raft transport with bolt
// stores and file snapshots under t.TempDir(), on fixed 127.0.0.1 ports, so
// nodes can be stopped and started again with their data.
func withRealStores() clusterOption { return func(o *clusterOptions) { o.realStores = true } }

// withoutRaftAddr leaves Config.RaftAddr empty on in-memory clusters, which
// Config.Validate allows when a Transport is given.
func withoutRaftAddr() clusterOption { return func(o *clusterOptions) { o.noRaftAddr = true } }

// withGates puts a gatedTransport in front of each in-memory transport.
func withGates() clusterOption { return func(o *clusterOptions) { o.gates = true } }

// withConfig changes every node's Config before it starts.
func withConfig(fn func(*Config)) clusterOption {
	return func(o *clusterOptions) { o.mutate = append(o.mutate, fn) }
}

// testConfig is the fast configuration every cluster test starts from: a
// dead leader is replaced in well under a second, yet a stall of about 100ms
// (the race detector on two busy cores) does not depose a healthy one.
func testConfig(id string) Config {
	c := Defaults()
	c.ID = id
	c.AdminAddr = ""
	c.ClientAddr = "127.0.0.1:0"
	c.HeartbeatTimeout = 200 * time.Millisecond
	c.ElectionTimeout = 200 * time.Millisecond
	c.LeaderLeaseTimeout = 100 * time.Millisecond
	c.CommitTimeout = 5 * time.Millisecond
	return c
}

// withStableTiming gives tests that do not change leaders on purpose longer
// Raft timeouts, so a scheduling stall under -race on a loaded two-core
// machine does not cost the leader its lease in the middle of the test.
func withStableTiming() clusterOption {
	return withConfig(func(c *Config) {
		c.HeartbeatTimeout = 500 * time.Millisecond
		c.ElectionTimeout = 500 * time.Millisecond
		c.LeaderLeaseTimeout = 400 * time.Millisecond
	})
}

// startCluster starts n nodes bootstrapped as one cluster and stops them when
// the test ends. It does not wait for a leader: see leader.
func startCluster(t *testing.T, n int, opts ...clusterOption) []*testNode {
	t.Helper()
	var o clusterOptions
	for _, fn := range opts {
		fn(&o)
	}
	logs := newLogSink(1500)
	nodes := make([]*testNode, n)
	var peers []string
	for i := range nodes {
		id := fmt.Sprintf("n%d", i+1)
		cfg := testConfig(id)
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})).With("node", id)
		tn := &testNode{id: id}
		if o.realStores {
			cfg.DataDir = t.TempDir()
			cfg.RaftAddr = mustFreeAddr(t)
			cfg.ClientAddr = mustFreeAddr(t)
			cfg.AdminAddr = mustFreeAddr(t)
		} else {
			cfg.InMemory = true
			cfg.DataDir = ""
			// A host:port form, so the address also passes as RaftAddr.
			addr, trans := raft.NewInmemTransport(raft.ServerAddress(id + ".inmem:7000"))
			cfg.RaftAddr = string(addr)
			tn.trans = trans
			cfg.Transport = trans
			if o.gates {
				tn.gate = &gatedTransport{InmemTransport: trans}
				cfg.Transport = tn.gate
			}
		}
		if o.noRaftAddr && tn.trans != nil {
			cfg.RaftAddr = ""
		}
		for _, fn := range o.mutate {
			fn(&cfg)
		}
		tn.cfg = cfg
		nodes[i] = tn
		raftAddr := cfg.RaftAddr
		if tn.trans != nil {
			raftAddr = string(tn.trans.LocalAddr())
		}
		peers = append(peers, id+"="+raftAddr)
	}
	for _, a := range nodes {
		a.cfg.Peers = strings.Join(peers, ",")
		for _, b := range nodes {
			if a != b && a.trans != nil {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
	t.Cleanup(func() {
		for _, tn := range nodes {
			if tn.gate != nil {
				tn.gate.open()
			}
			if tn.alive() {
				closeWithin(t, tn, 5*time.Second)
			}
		}
		if t.Failed() {
			t.Logf("last node log lines:\n%s", logs.String())
		}
	})
	for _, tn := range nodes {
		tn.start(t)
	}
	return nodes
}

// start starts (or restarts, with the same data and addresses) the node.
func (n *testNode) start(t *testing.T) {
	t.Helper()
	if n.alive() {
		t.Fatalf("start %s: already running", n.id)
	}
	s, err := Start(n.cfg)
	if err != nil {
		t.Fatalf("start %s: %v", n.id, err)
	}
	n.s = s
}

// kill stops the node at once with Close (no leadership hand-over) and, for
// in-memory clusters, cuts every route to and from it so peers see it gone
// immediately instead of timing out on its unread RPC queue.
func (n *testNode) kill(t *testing.T, all []*testNode) {
	t.Helper()
	if n.trans != nil {
		for _, o := range all {
			if o.trans != nil && o != n {
				o.trans.Disconnect(n.trans.LocalAddr())
			}
		}
	}
	closeWithin(t, n, 5*time.Second)
}

// closeWithin calls Close and reports a Close that hangs as a failure.
func closeWithin(t *testing.T, n *testNode, d time.Duration) {
	t.Helper()
	s := n.s
	n.s = nil
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Logf("close %s: %v", n.id, err)
		}
	case <-time.After(d):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		t.Errorf("close %s: still blocked after %v; goroutines:\n%s", n.id, d, buf.String())
		// Stop Raft at least, so the stuck node does not keep running
		// elections next to later tests (Node.Close is idempotent).
		go func() { _ = s.Node.Close() }()
	}
}

func liveNodes(nodes []*testNode) []*testNode {
	var out []*testNode
	for _, n := range nodes {
		if n.alive() {
			out = append(out, n)
		}
	}
	return out
}

var (
	portsMu   sync.Mutex
	portsUsed = map[string]bool{}
)

// mustFreeAddr returns a 127.0.0.1 address that was free a moment ago and
// that this test binary has not handed out before (addresses are drawn at
// random and several are taken before any is listened on).
func mustFreeAddr(t *testing.T) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		a, err := FreeAddr()
		if err != nil {
			t.Fatalf("free address: %v", err)
		}
		if !portsUsed[a] {
			portsUsed[a] = true
			return a
		}
	}
	t.Fatal("no free address")
	return ""
}

// waitFor polls cond every few milliseconds until it holds, failing the test
// with msg if it does not within timeout.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(3 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", timeout, fmt.Sprintf(msg, args...))
		}
		<-tick.C
	}
}

// leader waits for exactly one live node that leads and may serve reads, and
// for every other live node to know its client address (so followers can
// forward to it and redirect to it). It returns that node.
func leader(t *testing.T, nodes []*testNode) *testNode {
	t.Helper()
	var found *testNode
	waitFor(t, 15*time.Second, func() bool {
		found = nil
		live := liveNodes(nodes)
		for _, n := range live {
			if n.s.Node.ReadReady() {
				if found != nil {
					return false
				}
				found = n
			}
		}
		if found == nil {
			return false
		}
		want := found.clientAddr()
		for _, n := range live {
			li, ok := n.s.Node.Leader()
			if !ok || li.ID != found.id || li.ClientAddr != want {
				return false
			}
		}
		return true
	}, "no single read-ready leader known to all live nodes: %s", stateOf(nodes))
	return found
}

// waitMetaRecorded waits until every live node's client and admin addresses
// are in every live node's replicated metadata: after that, no node proposes
// metadata writes of its own (server.registerSelf, node.recordMeta) while the
// leader stays. Followers register about once a second.
func waitMetaRecorded(t *testing.T, nodes []*testNode, timeout time.Duration) {
	t.Helper()
	live := liveNodes(nodes)
	waitFor(t, timeout, func() bool {
		for _, holder := range live {
			for _, n := range live {
				m, ok := holder.s.Node.FSM().Meta(n.id)
				if !ok || m.ClientAddr != n.clientAddr() || m.AdminAddr != n.s.AdminAddr() {
					return false
				}
			}
		}
		return true
	}, "node addresses not recorded everywhere: %s", stateOf(nodes))
}

// pipelineOnLeader sends cmds in one pipeline to the current leader and
// returns the replies, starting over (with whoever leads then) if any reply is
// TRYAGAIN or the connection breaks because leadership moved meanwhile. Only
// for commands that may safely run twice.
func pipelineOnLeader(t *testing.T, nodes []*testNode, cmds [][]string) []reply {
	t.Helper()
	var rs []reply
	waitFor(t, 20*time.Second, func() bool {
		l := leader(t, nodes)
		c, err := dialClient(l.clientAddr())
		if err != nil {
			return false
		}
		defer c.Close()
		if rs, err = c.Pipeline(cmds); err != nil {
			t.Logf("pipeline of %d on %s: %v; retrying", len(cmds), l.id, err)
			return false
		}
		for _, r := range rs {
			if r.errPrefix("TRYAGAIN") {
				t.Logf("pipeline on %s: %s; retrying", l.id, r)
				return false
			}
		}
		return true
	}, "could not run %d commands on a stable leader: %s", len(cmds), stateOf(nodes))
	return rs
}

func followers(nodes []*testNode, l *testNode) []*testNode {
	var out []*testNode
	for _, n := range liveNodes(nodes) {
		if n != l {
			out = append(out, n)
		}
	}
	return out
}

// stateOf formats as describe(nodes) at the moment it is printed, so a
// waitFor message shows the state at the failure, not at the start.
func stateOf(nodes []*testNode) fmt.Stringer { return lazyState(nodes) }

type lazyState []*testNode

func (l lazyState) String() string { return describe(l) }

// describe summarises every node's Raft and FSM state for failure messages.
func describe(nodes []*testNode) string {
	var sb strings.Builder
	for _, n := range nodes {
		if !n.alive() {
			fmt.Fprintf(&sb, "\n  %s: down", n.id)
			continue
		}
		st := n.s.Node.Status()
		f := n.s.Node.FSM()
		fmt.Fprintf(&sb, "\n  %s: %s term=%d leader=%q ready=%v commit=%d raft_applied=%d last=%d fsm_applied=%d hash=%x",
			n.id, st.State, st.Term, st.Leader.ID, st.ReadReady, st.CommitIndex, st.AppliedIndex, st.LastIndex, f.AppliedIndex(), f.Hash())
	}
	return sb.String()
}

// checkConvergence waits until every live node has applied the same index
// and holds the same state hash.
func checkConvergence(t *testing.T, nodes []*testNode) {
	t.Helper()
	live := liveNodes(nodes)
	if len(live) == 0 {
		t.Fatal("checkConvergence: no live node")
	}
	waitFor(t, 15*time.Second, func() bool {
		f0 := live[0].s.Node.FSM()
		idx, h := f0.AppliedIndex(), f0.Hash()
		if idx == 0 {
			return false
		}
		for _, n := range live[1:] {
			f := n.s.Node.FSM()
			if f.AppliedIndex() != idx || f.Hash() != h {
				return false
			}
		}
		return true
	}, "live nodes did not converge (same applied index and hash): %s", stateOf(nodes))
}

// raftStat returns one numeric field of raft.Stats.
func raftStat(t *testing.T, n *testNode, key string) uint64 {
	t.Helper()
	v, ok := n.s.Node.Raft().Stats()[key]
	if !ok {
		t.Fatalf("%s: raft stats have no %q", n.id, key)
	}
	u, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		t.Fatalf("%s: raft stat %s=%q: %v", n.id, key, v, err)
	}
	return u
}

// logSink keeps the last lines the nodes logged, shown when a test fails.
type logSink struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func newLogSink(max int) *logSink { return &logSink{max: max} }

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimRight(string(p), "\n"))
	if len(l.lines) > 2*l.max { // trim now and then, not on every line
		l.lines = append(l.lines[:0:0], l.lines[len(l.lines)-l.max:]...)
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines[max(0, len(l.lines)-l.max):], "\n")
}

// doResult is what one respClient.Do returned.
type doResult struct {
	r   reply
	err error
}

// proposeHeld holds l's outgoing replication, sends args on c in the
// background and returns once the command is in l's log: proposed, but
// unable to commit until l.gate opens. The channel gets the reply.
func proposeHeld(t *testing.T, l *testNode, c *respClient, args ...string) <-chan doResult {
	t.Helper()
	lastBefore := l.s.Node.Raft().LastIndex()
	term := l.s.Node.Raft().CurrentTerm()
	l.gate.hold()
	got := make(chan doResult, 1)
	go func() {
		r, err := c.Do(args...)
		got <- doResult{r, err}
	}()
	waitFor(t, 5*time.Second, func() bool { return l.s.Node.Raft().LastIndex() > lastBefore },
		"%q never reached the log of leader %s (term %d when sent)", args, l.id, term)
	return got
}

// gatedTransport is an in-memory transport whose outgoing log replication
// can be held: while held, AppendEntries RPCs that carry entries block (and
// then fail), but heartbeats still pass, so a leader keeps its lease and its
// leadership while nothing it proposes can commit. Pipelining is refused so
// every entry goes through AppendEntries.
type gatedTransport struct {
	*raft.InmemTransport
	mu   sync.Mutex
	held chan struct{}      // non-nil while held; closed to release
	only raft.ServerAddress // if set, only replication to this peer is held
}

// hold blocks replication of entries from now on.
func (g *gatedTransport) hold() { g.holdTo("") }

// holdTo blocks replication of entries to target only ("" for every peer).
func (g *gatedTransport) holdTo(target raft.ServerAddress) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(chan struct{})
	}
	g.only = target
}

// open lets replication through again; RPCs blocked while held fail.
func (g *gatedTransport) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held != nil {
		close(g.held)
		g.held = nil
	}
}

func (g *gatedTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

func (g *gatedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if len(args.Entries) > 0 {
		g.mu.Lock()
		held := g.held
		if g.only != "" && g.only != target {
			held = nil
		}
		g.mu.Unlock()
		if held != nil {
			<-held
			return errors.New("test gate: entries dropped")
		}
	}
	return g.InmemTransport.AppendEntries(id, target, args, resp)
}

// ---------------------------------------------------------------------------
// RESP2 client

// reply is one RESP2 reply as the server sent it.
type reply struct {
	Kind byte // '+', '-', ':', '$' or '*'
	Str  string
	Int  int64
	Arr  []reply
	Null bool // $-1 or *-1
}

func (r reply) isErr() bool { return r.Kind == '-' }
func (r reply) errPrefix(prefix string) bool {
	return r.Kind == '-' && strings.HasPrefix(r.Str, prefix)
}

// String renders the reply compactly for messages and comparisons.
func (r reply) String() string {
	switch {
	case r.Null:
		return "(nil)"
	case r.Kind == '+':
		return r.Str
	case r.Kind == '-':
		return "-" + r.Str
	case r.Kind == ':':
		return "(integer) " + strconv.FormatInt(r.Int, 10)
	case r.Kind == '$':
		return strconv.Quote(r.Str)
	case r.Kind == '*':
		parts := make([]string, len(r.Arr))
		for i, e := range r.Arr {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("?%q", r.Kind)
}

func okReply() reply            { return reply{Kind: '+', Str: "OK"} }
func intReply(n int64) reply    { return reply{Kind: ':', Int: n} }
func bulkReply(s string) reply  { return reply{Kind: '$', Str: s} }
func nilReply() reply           { return reply{Kind: '$', Null: true} }
func errReply(msg string) reply { return reply{Kind: '-', Str: msg} }

// respClient is one connection speaking RESP2. Every call has a deadline, so
// a server that never answers fails the call instead of hanging the test.
type respClient struct {
	addr    string
	nc      net.Conn
	br      *bufio.Reader
	timeout time.Duration
}

func dialClient(addr string) (*respClient, error) {
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	return &respClient{addr: addr, nc: nc, br: bufio.NewReader(nc), timeout: 10 * time.Second}, nil
}

// mustClient connects to addr, closing the connection when the test ends.
func mustClient(t *testing.T, addr string) *respClient {
	t.Helper()
	c, err := dialClient(addr)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(c.Close)
	return c
}

func (c *respClient) Close() { _ = c.nc.Close() }

func appendCommand(buf []byte, args []string) []byte {
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, '\r', '\n')
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, '\r', '\n')
		buf = append(buf, a...)
		buf = append(buf, '\r', '\n')
	}
	return buf
}

// Do sends one command and reads its reply. The error is a transport or
// framing error only; error replies come back as a reply of Kind '-'.
func (c *respClient) Do(args ...string) (reply, error) {
	rs, err := c.Pipeline([][]string{args})
	if err != nil {
		return reply{}, err
	}
	return rs[0], nil
}

// Pipeline sends every command at once, then reads one reply for each.
func (c *respClient) Pipeline(cmds [][]string) ([]reply, error) {
	var buf []byte
	for _, args := range cmds {
		buf = appendCommand(buf, args)
	}
	if err := c.nc.SetDeadline(time.Now().Add(c.timeout)); err != nil {
		return nil, err
	}
	if _, err := c.nc.Write(buf); err != nil {
		return nil, err
	}
	out := make([]reply, 0, len(cmds))
	for range cmds {
		r, err := readReply(c.br)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// mustDo runs one command and fails the test on a transport error.
func (c *respClient) mustDo(t *testing.T, args ...string) reply {
	t.Helper()
	r, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %q: %v", c.addr, args, err)
	}
	return r
}

// mustReply runs one command and fails the test unless the reply is want.
// Unless want is itself an error, a TRYAGAIN reply is retried for a while, as
// clients do: TRYAGAIN guarantees the command had no effect, and a leader
// election can happen at any time on a loaded machine.
func (c *respClient) mustReply(t *testing.T, want reply, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.mustDo(t, args...)
		if got.errPrefix("TRYAGAIN") && !want.isErr() && time.Now().Before(deadline) {
			<-time.After(10 * time.Millisecond) // client back-off before retrying
			continue
		}
		if got.String() != want.String() {
			t.Fatalf("%s %q: got %s, want %s", c.addr, args, got, want)
		}
		return
	}
}

func readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(line, "\r\n") {
		return "", fmt.Errorf("reply line %q does not end in CRLF", line)
	}
	return line[:len(line)-2], nil
}

func readReply(br *bufio.Reader) (reply, error) {
	line, err := readLine(br)
	if err != nil {
		return reply{}, err
	}
	if line == "" {
		return reply{}, errors.New("empty reply line")
	}
	r := reply{Kind: line[0]}
	body := line[1:]
	switch r.Kind {
	case '+', '-':
		r.Str = body
	case ':':
		if r.Int, err = strconv.ParseInt(body, 10, 64); err != nil {
			return reply{}, fmt.Errorf("bad integer reply %q", line)
		}
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return reply{}, fmt.Errorf("bad bulk length %q", line)
		}
		if n == -1 {
			r.Null = true
			break
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(br, data); err != nil {
			return reply{}, err
		}
		if !bytes.HasSuffix(data, []byte("\r\n")) {
			return reply{}, fmt.Errorf("bulk of %d bytes not followed by CRLF", n)
		}
		r.Str = string(data[:n])
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return reply{}, fmt.Errorf("bad array length %q", line)
		}
		if n == -1 {
			r.Null = true
			break
		}
		r.Arr = make([]reply, n)
		for i := range r.Arr {
			if r.Arr[i], err = readReply(br); err != nil {
				return reply{}, err
			}
		}
	default:
		return reply{}, fmt.Errorf("unexpected reply type in %q", line)
	}
	return r, nil
}

// raftID and raftAddr name the node as its peers' Raft configuration does.
func raftID(n *testNode) raft.ServerID { return raft.ServerID(n.id) }

func raftAddr(n *testNode) raft.ServerAddress {
	if n.trans != nil {
		return n.trans.LocalAddr()
	}
	return raft.ServerAddress(n.cfg.RaftAddr)
}
