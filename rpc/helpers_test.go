package rpc_test

// Test harness for the admin API: real TCP Raft clusters started in-process
// with server.Start (bolt stores in t.TempDir()), polling helpers, writers
// that record every acknowledged write, and a small RESP2 client.
//
// The RESP client is written here rather than taken from go-redis so that
// these tests do not depend on go.mod carrying go-redis, and so that every
// retry it makes is counted and can be asserted on. It retries as go-redis
// does with its defaults: a TRYAGAIN reply, or a connection that closed,
// broke or timed out, is retried up to three times with a short exponential
// back-off on a redialled connection.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/understudy/understudy/fsm"
	"github.com/understudy/understudy/rpc"
	"github.com/understudy/understudy/server"
)

// ---------------------------------------------------------------------------
// Nodes and clusters

// tnode is one running server of a test cluster; s is nil once stopped.
type tnode struct {
	id  string
	cfg server.Config
	s   *server.Server
}

func (n *tnode) alive() bool        { return n.s != nil }
func (n *tnode) adminAddr() string  { return n.s.AdminAddr() }
func (n *tnode) clientAddr() string { return n.s.ClientAddr() }

// tcluster is a set of nodes that share a log sink shown when the test fails.
type tcluster struct {
	t     *testing.T
	name  string
	nodes []*tnode
	logs  *logSink
	opts  []func(*server.Config)
}

var (
	portsMu   sync.Mutex
	portsUsed = map[string]bool{}
)

// freeAddr returns a 127.0.0.1 address that was free a moment ago and that
// this test binary has not handed out before.
func freeAddr(t testing.TB) string {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		a, err := server.FreeAddr()
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

// nodeConfig is the fast configuration every node starts from.
func (c *tcluster) nodeConfig(id string) server.Config {
	cfg := server.Defaults()
	cfg.ID = id
	cfg.DataDir = c.t.TempDir()
	cfg.RaftAddr = freeAddr(c.t)
	cfg.ClientAddr = "127.0.0.1:0"
	cfg.AdminAddr = "127.0.0.1:0"
	cfg.HeartbeatTimeout = 100 * time.Millisecond
	cfg.ElectionTimeout = 100 * time.Millisecond
	cfg.LeaderLeaseTimeout = 100 * time.Millisecond
	cfg.CommitTimeout = 5 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("cluster", c.name, "node", id)
	for _, fn := range c.opts {
		fn(&cfg)
	}
	return cfg
}

// newCluster prepares an empty cluster named name (it prefixes log lines);
// opts change every node's configuration. Nodes are stopped when the test ends.
func newCluster(t *testing.T, name string, opts ...func(*server.Config)) *tcluster {
	t.Helper()
	c := &tcluster{t: t, name: name, logs: newLogSink(400), opts: opts}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			c.stop(n)
		}
		if t.Failed() {
			t.Logf("cluster %s, last log lines:\n%s", name, c.logs.String())
		}
	})
	return c
}

// startCluster starts n nodes n1..nN bootstrapped as one cluster. It does not
// wait for a leader: see leader.
func startCluster(t *testing.T, name string, n int, opts ...func(*server.Config)) *tcluster {
	t.Helper()
	c := newCluster(t, name, opts...)
	var cfgs []server.Config
	var peers []string
	for i := 1; i <= n; i++ {
		cfg := c.nodeConfig(fmt.Sprintf("n%d", i))
		cfgs = append(cfgs, cfg)
		peers = append(peers, cfg.ID+"="+cfg.RaftAddr)
	}
	for _, cfg := range cfgs {
		cfg.Peers = strings.Join(peers, ",")
		c.start(cfg)
	}
	return c
}

// start starts one node with cfg and adds it to the cluster.
func (c *tcluster) start(cfg server.Config) *tnode {
	c.t.Helper()
	s, err := server.Start(cfg)
	if err != nil {
		c.t.Fatalf("start %s: %v", cfg.ID, err)
	}
	n := &tnode{id: cfg.ID, cfg: cfg, s: s}
	c.nodes = append(c.nodes, n)
	return n
}

// stop closes the node, reporting a Close that hangs.
func (c *tcluster) stop(n *tnode) {
	if !n.alive() {
		return
	}
	s := n.s
	n.s = nil
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			c.t.Logf("close %s: %v", n.id, err)
		}
	case <-time.After(5 * time.Second):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
		c.t.Errorf("close %s: still blocked after 5s; goroutines:\n%s", n.id, buf.String())
		go func() { _ = s.Node.Close() }()
	}
}

func (c *tcluster) node(id string) *tnode {
	c.t.Helper()
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("cluster %s has no node %s", c.name, id)
	return nil
}

func (c *tcluster) live() []*tnode {
	var out []*tnode
	for _, n := range c.nodes {
		if n.alive() {
			out = append(out, n)
		}
	}
	return out
}

// members returns the live nodes that belong to the Raft configuration as
// the given node sees it.
func (c *tcluster) members(by *tnode) []*tnode {
	ms, err := by.s.Node.Members()
	if err != nil {
		return nil
	}
	in := map[string]bool{}
	for _, m := range ms {
		in[m.ID] = true
	}
	var out []*tnode
	for _, n := range c.live() {
		if in[n.id] {
			out = append(out, n)
		}
	}
	return out
}

// adminAddrs lists the admin addresses of the given nodes, comma-separated.
func adminAddrs(nodes []*tnode) string {
	var as []string
	for _, n := range nodes {
		as = append(as, n.adminAddr())
	}
	return strings.Join(as, ",")
}

// leader waits for exactly one read-ready leader among the live members,
// known with its client and admin addresses to every live member, and
// returns it.
func (c *tcluster) leader() *tnode {
	c.t.Helper()
	var found *tnode
	waitFor(c.t, 10*time.Second, func() bool {
		found = nil
		for _, n := range c.live() {
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
		for _, n := range c.members(found) {
			li, ok := n.s.Node.Leader()
			if !ok || li.ID != found.id || li.ClientAddr != found.clientAddr() || li.AdminAddr != found.adminAddr() {
				return false
			}
		}
		return true
	}, "cluster %s: no single read-ready leader known to every member: %s", c.name, c.describe())
	return found
}

// followers returns the live members other than l.
func (c *tcluster) followers(l *tnode) []*tnode {
	var out []*tnode
	for _, n := range c.members(l) {
		if n != l {
			out = append(out, n)
		}
	}
	return out
}

// waitAddrsKnown waits until the replicated metadata on every live member
// holds every member's own client and admin address (followers register
// theirs with the leader about once a second).
func (c *tcluster) waitAddrsKnown() {
	c.t.Helper()
	waitFor(c.t, 10*time.Second, func() bool {
		l := c.leaderOrNil()
		if l == nil {
			return false
		}
		ms := c.members(l)
		for _, n := range ms {
			for _, m := range ms {
				meta, ok := n.s.Node.FSM().Meta(m.id)
				if !ok || meta.ClientAddr != m.clientAddr() || meta.AdminAddr != m.adminAddr() {
					return false
				}
			}
		}
		return true
	}, "cluster %s: members' addresses not recorded everywhere: %s", c.name, c.describe())
}

func (c *tcluster) leaderOrNil() *tnode {
	for _, n := range c.live() {
		if n.s.Node.ReadReady() {
			return n
		}
	}
	return nil
}

// describe summarises each node's Raft and FSM state for failure messages.
func (c *tcluster) describe() string {
	var sb strings.Builder
	for _, n := range c.nodes {
		if !n.alive() {
			fmt.Fprintf(&sb, "\n  %s: down", n.id)
			continue
		}
		st := n.s.Node.Status()
		f := n.s.Node.FSM()
		fmt.Fprintf(&sb, "\n  %s: %s term=%d leader=%q (client %q admin %q) ready=%v commit=%d applied=%d fsm_applied=%d keys=%d hash=%x",
			n.id, st.State, st.Term, st.Leader.ID, st.Leader.ClientAddr, st.Leader.AdminAddr, st.ReadReady,
			st.CommitIndex, st.AppliedIndex, f.AppliedIndex(), f.Stats().Keys, f.Hash())
	}
	return sb.String()
}

// converge waits until the given nodes have applied the same index and hold
// the same state hash.
func (c *tcluster) converge(nodes []*tnode) {
	c.t.Helper()
	if len(nodes) == 0 {
		c.t.Fatal("converge: no node")
	}
	waitFor(c.t, 10*time.Second, func() bool {
		f0 := nodes[0].s.Node.FSM()
		idx, h := f0.AppliedIndex(), f0.Hash()
		if idx == 0 {
			return false
		}
		for _, n := range nodes[1:] {
			f := n.s.Node.FSM()
			if f.AppliedIndex() != idx || f.Hash() != h {
				return false
			}
		}
		return true
	}, "cluster %s: nodes did not converge (same applied index and hash): %s", c.name, c.describe())
}

// waitFor polls cond every few milliseconds until it holds, failing the test
// with msg if it does not within timeout.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("after %v: %s", timeout, fmt.Sprintf(msg, args...))
	}
}

// poll reports whether cond came to hold within timeout.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// adminClient returns a client for addrs with the given token and short deadlines.
func adminClient(addrs, token string) *rpc.Client {
	c := rpc.NewClient(addrs, token)
	c.Timeout = 10 * time.Second
	c.StreamTimeout = 20 * time.Second
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// logSink keeps the last lines the nodes logged.
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
	if len(l.lines) > l.max {
		l.lines = append(l.lines[:0:0], l.lines[len(l.lines)-l.max:]...)
	}
	return len(p), nil
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// ---------------------------------------------------------------------------
// Data

// valueFor is the value every test writes under key, so any copy of the data
// can be checked without remembering what was written.
func valueFor(key string) string { return "v:" + key }

// fsmGet reads key straight from a node's state machine: (value, present).
func fsmGet(n *tnode, key string) (string, bool) {
	v := n.s.Node.FSM().Read(time.Now().UnixMilli(), 0, [][]byte{[]byte("GET"), []byte(key)})
	if v.Kind != fsm.KindBulk {
		return "", false
	}
	return string(v.Str), true
}

// loadKeys writes keys prefix-0..prefix-(count-1) through addr in pipelines;
// every ttlEvery-th key gets an expiry a day ahead. It returns the keys (all
// acknowledged) and the subset with a TTL.
func loadKeys(t testing.TB, addr, prefix string, count, ttlEvery int) (keys, withTTL []string) {
	t.Helper()
	c := dialRESP(addr)
	defer c.Close()
	for start := 0; start < count; start += 100 {
		var cmds [][]string
		var batch []string
		for i := start; i < min(start+100, count); i++ {
			k := fmt.Sprintf("%s-%05d", prefix, i)
			cmd := []string{"SET", k, valueFor(k)}
			if ttlEvery > 0 && i%ttlEvery == 0 {
				cmd = append(cmd, "EX", "86400")
				withTTL = append(withTTL, k)
			}
			cmds = append(cmds, cmd)
			batch = append(batch, k)
		}
		rs, err := c.pipeline(cmds)
		if err != nil {
			t.Fatalf("load %s: %v", addr, err)
		}
		for i, r := range rs {
			if !r.ok() { // retry one by one (TRYAGAIN)
				r2, err := c.Do(cmds[i]...)
				if err != nil || !r2.ok() {
					t.Fatalf("load %s: SET %s: %v %v", addr, batch[i], r, err)
				}
			}
		}
		keys = append(keys, batch...)
	}
	return keys, withTTL
}

// checkValues reads keys through addr with MGET and fails the test for any
// key missing or holding another value than valueFor(key).
func checkValues(t testing.TB, addr string, keys []string) {
	t.Helper()
	c := dialRESP(addr)
	defer c.Close()
	var missing []string
	for start := 0; start < len(keys); start += 200 {
		batch := keys[start:min(start+200, len(keys))]
		r, err := c.Do(append([]string{"MGET"}, batch...)...)
		if err != nil || r.kind != '*' || len(r.arr) != len(batch) {
			t.Fatalf("MGET through %s: %v %v", addr, r, err)
		}
		for i, v := range r.arr {
			if v.null || v.str != valueFor(batch[i]) {
				missing = append(missing, fmt.Sprintf("%s=%s", batch[i], v))
			}
		}
	}
	if len(missing) > 0 {
		t.Fatalf("through %s: %d of %d keys missing or wrong, e.g. %v", addr, len(missing), len(keys), missing[:min(10, len(missing))])
	}
}

// writers run concurrent SETs of unique keys and remember which were
// acknowledged (+OK), and when.
type writers struct {
	t      testing.TB
	prefix string
	stop   chan struct{}
	wg     sync.WaitGroup

	mu    sync.Mutex
	acked []string // in acknowledgement order

	attempts, tryagain, uncertain, other atomic.Int64
	// relayLost counts UNCERTAIN replies a follower gave because its
	// connection to the leader closed under a forwarded write.
	relayLost atomic.Int64
	firstErrs sync.Map // kind -> first message
	retries   sync.Map // reason -> *atomic.Int64
}

// retried counts the retries made for reason.
func (w *writers) retried(reason string) int64 {
	v, ok := w.retries.Load(reason)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// startWriters starts one writer per address (addresses may repeat).
func startWriters(t testing.TB, prefix string, addrs []string) *writers {
	w := &writers{t: t, prefix: prefix, stop: make(chan struct{})}
	for i, addr := range addrs {
		w.wg.Add(1)
		go w.run(i, addr)
	}
	t.Cleanup(w.halt)
	return w
}

func (w *writers) run(i int, addr string) {
	defer w.wg.Done()
	c := dialRESP(addr)
	c.onRetry = func(reason string) {
		v, _ := w.retries.LoadOrStore(reason, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	defer c.Close()
	for seq := 0; ; seq++ {
		select {
		case <-w.stop:
			return
		default:
		}
		k := fmt.Sprintf("%s-%d-%07d", w.prefix, i, seq)
		w.attempts.Add(1)
		r, err := c.Do("SET", k, valueFor(k))
		switch {
		case err == nil && r.ok():
			w.mu.Lock()
			w.acked = append(w.acked, k)
			w.mu.Unlock()
		case err != nil:
			w.other.Add(1)
			w.firstErrs.LoadOrStore("transport", fmt.Sprintf("writer %d on %s: %v", i, addr, err))
		case r.errPrefix("TRYAGAIN"):
			w.tryagain.Add(1)
			w.firstErrs.LoadOrStore("TRYAGAIN", fmt.Sprintf("writer %d on %s: %s", i, addr, r.str))
		case r.errPrefix("UNCERTAIN"):
			w.uncertain.Add(1)
			if strings.Contains(r.str, "leader connection lost") {
				w.relayLost.Add(1)
			}
			w.firstErrs.LoadOrStore("UNCERTAIN", fmt.Sprintf("writer %d on %s: %s", i, addr, r.str))
		default:
			w.other.Add(1)
			w.firstErrs.LoadOrStore("other", r.String())
		}
	}
}

// ackedCount is how many writes have been acknowledged so far.
func (w *writers) ackedCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.acked)
}

// ackedKeys returns a copy of the keys acknowledged so far.
func (w *writers) ackedKeys() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.acked...)
}

// waitMore waits until n more writes have been acknowledged than now.
func (w *writers) waitMore(n int) {
	w.t.Helper()
	base := w.ackedCount()
	waitFor(w.t, 10*time.Second, func() bool { return w.ackedCount() >= base+n },
		"writers %s: fewer than %d more writes acknowledged (%s)", w.prefix, n, w.summary())
}

func (w *writers) halt() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
}

func (w *writers) summary() string {
	s := fmt.Sprintf("attempts=%d acked=%d tryagain_after_retries=%d uncertain=%d other=%d",
		w.attempts.Load(), w.ackedCount(), w.tryagain.Load(), w.uncertain.Load(), w.other.Load())
	var retries []string
	w.retries.Range(func(k, v any) bool {
		retries = append(retries, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(retries)
	if len(retries) > 0 {
		s += "; retried after " + strings.Join(retries, ", ")
	}
	var kinds []string
	w.firstErrs.Range(func(k, v any) bool {
		kinds = append(kinds, fmt.Sprintf("%s: %q", k, v))
		return true
	})
	sort.Strings(kinds)
	if len(kinds) > 0 {
		s += "; first errors: " + strings.Join(kinds, "; ")
	}
	return s
}

// ---------------------------------------------------------------------------
// RESP2 client

// reply is one RESP2 reply as sent.
type reply struct {
	kind byte // '+', '-', ':', '$' or '*'
	str  string
	n    int64
	arr  []reply
	null bool
}

func (r reply) ok() bool { return r.kind == '+' && r.str == "OK" }
func (r reply) errPrefix(p string) bool {
	return r.kind == '-' && strings.HasPrefix(r.str, p)
}

func (r reply) String() string {
	switch {
	case r.null:
		return "(nil)"
	case r.kind == '+':
		return r.str
	case r.kind == '-':
		return "-" + r.str
	case r.kind == ':':
		return "(integer) " + strconv.FormatInt(r.n, 10)
	case r.kind == '$':
		return strconv.Quote(r.str)
	case r.kind == '*':
		parts := make([]string, len(r.arr))
		for i, e := range r.arr {
			parts[i] = e.String()
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprintf("?%q", r.kind)
}

// respTimeout bounds every RESP call, like go-redis's default read and write
// timeouts: a reply that never comes is an error, not a hung test.
const respTimeout = 3 * time.Second

// respConn is one lazily (re)dialled RESP2 connection with a deadline on
// every call.
type respConn struct {
	addr       string
	nc         net.Conn
	br         *bufio.Reader
	maxRetries int // as go-redis's default MaxRetries
	onRetry    func(reason string)
}

func dialRESP(addr string) *respConn { return &respConn{addr: addr, maxRetries: 3} }

func (c *respConn) Close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}

// Do runs one command and retries it the way go-redis does by default: up
// to maxRetries more times, backing off 8ms, 16ms, 32ms... (at most 512ms),
// after a TRYAGAIN reply or a connection that broke, closed or timed out (it
// is redialled). Each retry is reported to onRetry with its reason. The error
// is the last transport error; error replies come back as replies of kind '-'.
func (c *respConn) Do(args ...string) (reply, error) {
	backoff := 8 * time.Millisecond
	for attempt := 0; ; attempt++ {
		rs, err := c.pipeline([][]string{args})
		reason := ""
		switch {
		case err != nil:
			reason = transportReason(err)
		case rs[0].errPrefix("TRYAGAIN"):
			reason = "TRYAGAIN"
		}
		if reason == "" || attempt >= c.maxRetries {
			if err != nil {
				return reply{}, err
			}
			return rs[0], nil
		}
		if c.onRetry != nil {
			c.onRetry(reason)
		}
		time.Sleep(backoff) // client retry back-off, not synchronisation
		backoff = min(2*backoff, 512*time.Millisecond)
	}
}

// transportReason classifies a transport error as go-redis's retry rules see it.
func transportReason(err error) string {
	var ne net.Error
	var op *net.OpError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by server"
	case errors.As(err, &ne) && ne.Timeout():
		return "no reply in time"
	case errors.As(err, &op) && op.Op == "dial":
		return "dial"
	}
	return "broken connection"
}

// pipeline sends every command at once, then reads one reply for each.
func (c *respConn) pipeline(cmds [][]string) ([]reply, error) {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 2*time.Second)
		if err != nil {
			return nil, err
		}
		c.nc, c.br = nc, bufio.NewReader(nc)
	}
	var buf []byte
	for _, args := range cmds {
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
	}
	fail := func(err error) ([]reply, error) {
		c.Close()
		return nil, fmt.Errorf("%s: %w", c.addr, err)
	}
	if err := c.nc.SetDeadline(time.Now().Add(respTimeout)); err != nil {
		return fail(err)
	}
	if _, err := c.nc.Write(buf); err != nil {
		return fail(err)
	}
	out := make([]reply, 0, len(cmds))
	for range cmds {
		r, err := readReply(c.br)
		if err != nil {
			return fail(err)
		}
		out = append(out, r)
	}
	return out, nil
}

func readReply(br *bufio.Reader) (reply, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return reply{}, err
	}
	if !strings.HasSuffix(line, "\r\n") || len(line) < 3 {
		return reply{}, fmt.Errorf("bad reply line %q", line)
	}
	r := reply{kind: line[0]}
	body := line[1 : len(line)-2]
	switch r.kind {
	case '+', '-':
		r.str = body
	case ':':
		if r.n, err = strconv.ParseInt(body, 10, 64); err != nil {
			return reply{}, fmt.Errorf("bad integer reply %q", line)
		}
	case '$', '*':
		n, err := strconv.Atoi(body)
		if err != nil || n < -1 {
			return reply{}, fmt.Errorf("bad length in %q", line)
		}
		if n == -1 {
			r.null = true
			break
		}
		if r.kind == '$' {
			data := make([]byte, n+2)
			if _, err := io.ReadFull(br, data); err != nil {
				return reply{}, err
			}
			if !bytes.HasSuffix(data, []byte("\r\n")) {
				return reply{}, errors.New("bulk not followed by CRLF")
			}
			r.str = string(data[:n])
			break
		}
		r.arr = make([]reply, n)
		for i := range r.arr {
			if r.arr[i], err = readReply(br); err != nil {
				return reply{}, err
			}
		}
	default:
		return reply{}, fmt.Errorf("unexpected reply %q", line)
	}
	return r, nil
}
