package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/understudy/understudy/internal/testcluster"
)

// binPath is the understudy binary built once by TestMain, stamped with
// stampedVersion as scripts/cluster.sh stamps its builds.
var binPath string

const stampedVersion = "v9.9.9-stamped-by-test"

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "understudy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "understudy")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/understudy/understudy/server.Version="+stampedVersion, "-o", binPath, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./cmd/understudy: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// freeAddr returns a 127.0.0.1 address from the one port allocator.
func freeAddr(t testing.TB) string { return testcluster.FreeAddr(t) }

// hermeticEnv is the test's environment without any UNDERSTUDY_* variable,
// plus extra.
func hermeticEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "UNDERSTUDY_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// proc is one `understudy serve` process. Its stdout and stderr go to logPath,
// appended across restarts.
type proc struct {
	t          testing.TB
	id         string
	dataDir    string
	raftAddr   string
	clientAddr string
	adminAddr  string
	args       []string
	env        []string
	logPath    string

	mu       sync.Mutex
	cmd      *exec.Cmd
	done     chan struct{} // closed when the current process has exited
	exitCode int
	starts   int
}

func (p *proc) String() string { return p.id }

// start runs the process; it does not wait for it to serve.
func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		p.t.Fatalf("%s: start while running (pid %d)", p.id, p.cmd.Process.Pid)
	}
	f, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		p.t.Fatalf("%s: log file: %v", p.id, err)
	}
	p.starts++
	fmt.Fprintf(f, "=== test harness: start #%d of %s at %s: %s %s\n", p.starts, p.id,
		time.Now().Format(time.RFC3339Nano), binPath, strings.Join(p.args, " "))
	cmd := exec.Command(binPath, p.args...)
	cmd.Env = hermeticEnv(p.env)
	cmd.Stdout, cmd.Stderr = f, f
	// If the test binary dies, the node dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("%s: start: %v", p.id, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		code := 0
		if err != nil {
			code = -1
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode() // -1 when killed by a signal
			}
		}
		p.mu.Lock()
		p.exitCode = code
		p.mu.Unlock()
		close(done)
	}()
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return
	}
	_ = cmd.Process.Signal(sig) // by PID
}

// wait waits up to timeout for the process to exit and returns its exit code
// (-1 if killed by a signal); ok is false if it is still running.
func (p *proc) wait(timeout time.Duration) (code int, ok bool) {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return 0, true
	}
	select {
	case <-done:
	default:
		if timeout <= 0 {
			return 0, false
		}
		select {
		case <-done:
		case <-time.After(timeout):
			return 0, false
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitCode, true
}

// kill crashes the process (SIGKILL) and waits until it is gone.
func (p *proc) kill() {
	p.t.Helper()
	p.signal(syscall.SIGKILL)
	if _, ok := p.wait(10 * time.Second); !ok {
		p.t.Fatalf("%s: still running 10s after SIGKILL", p.id)
	}
}

// term stops the process gracefully (SIGTERM) and returns its exit code.
func (p *proc) term() int {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	code, ok := p.wait(15 * time.Second)
	if !ok {
		p.t.Fatalf("%s: still running 15s after SIGTERM", p.id)
	}
	return code
}

// restartAll stops every node at once with SIGTERM, as `cluster.sh down`
// does, requires each to exit 0 within 15 s, and starts them all again on
// their data.
func (c *cluster) restartAll(t *testing.T) {
	t.Helper()
	for _, p := range c.procs {
		p.signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		code, ok := p.wait(15 * time.Second)
		if !ok {
			t.Fatalf("%s still running 15s after SIGTERM", p.id)
		}
		if code != 0 {
			t.Errorf("%s exited with %d after SIGTERM, want 0", p.id, code)
		}
	}
	for _, p := range c.procs {
		p.restart()
	}
}

// restart starts the process again with the same flags and data directory.
func (p *proc) restart() {
	p.t.Helper()
	if p.running() {
		p.t.Fatalf("%s: restart while running", p.id)
	}
	p.start()
}

func (p *proc) client() *respClient { return newRESPClient(p.clientAddr) }

// log returns everything the process wrote to stdout and stderr.
func (p *proc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cluster is a set of processes started with the same --peers.
type cluster struct {
	t     testing.TB
	procs []*proc
}

type clusterOpt func(*clusterCfg)

type clusterCfg struct {
	nodes int
	args  []string         // extra flags for every node
	env   []string         // extra environment for every node
	per   map[int][]string // extra flags for node i (0-based)
}

func withNodes(n int) clusterOpt { return func(c *clusterCfg) { c.nodes = n } }
func withArgs(args ...string) clusterOpt {
	return func(c *clusterCfg) { c.args = append(c.args, args...) }
}
func withEnv(kv ...string) clusterOpt { return func(c *clusterCfg) { c.env = append(c.env, kv...) } }
func withNodeArgs(i int, args ...string) clusterOpt {
	return func(c *clusterCfg) { c.per[i] = append(c.per[i], args...) }
}

// startProcCluster starts a cluster of processes (three by default) on free
// 127.0.0.1 ports with data in t.TempDir(). Every process is killed (SIGKILL,
// by PID) when the test ends, and on failure the tail of each node's log is
// printed.
func startProcCluster(t *testing.T, opts ...clusterOpt) *cluster {
	t.Helper()
	cfg := clusterCfg{nodes: 3, per: map[int][]string{}}
	for _, o := range opts {
		o(&cfg)
	}
	dir := t.TempDir()
	c := &cluster{t: t}
	var peers []string
	for i := range cfg.nodes {
		id := fmt.Sprintf("n%d", i+1)
		p := &proc{
			t:          t,
			id:         id,
			dataDir:    filepath.Join(dir, id),
			raftAddr:   freeAddr(t),
			clientAddr: freeAddr(t),
			adminAddr:  freeAddr(t),
			env:        cfg.env,
			logPath:    filepath.Join(dir, id+".log"),
		}
		peers = append(peers, id+"="+p.raftAddr)
		c.procs = append(c.procs, p)
	}
	for i, p := range c.procs {
		p.args = append([]string{"serve",
			"--id", p.id,
			"--data-dir", p.dataDir,
			"--raft-addr", p.raftAddr,
			"--client-addr", p.clientAddr,
			"--admin-addr", p.adminAddr,
			"--peers", strings.Join(peers, ","),
		}, cfg.args...)
		p.args = append(p.args, cfg.per[i]...)
	}
	t.Cleanup(func() {
		for _, p := range c.procs {
			p.signal(syscall.SIGKILL)
		}
		for _, p := range c.procs {
			p.wait(10 * time.Second)
		}
		if t.Failed() {
			for _, p := range c.procs {
				t.Logf("----- %s (%s) log tail -----\n%s", p.id, p.logPath, tail(p.log(), 40))
			}
		}
	})
	for _, p := range c.procs {
		p.start()
	}
	return c
}

func (c *cluster) proc(id string) *proc {
	for _, p := range c.procs {
		if p.id == id {
			return p
		}
	}
	c.t.Fatalf("no node %s", id)
	return nil
}

// waitFor polls cond until it holds or timeout passes, then fails the test
// with msg. No sleeping and hoping: the condition is what we wait for.
func waitFor(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: "+msg, append([]any{timeout}, deref(args)...)...)
		}
		<-tick.C
	}
}

// deref replaces pointers to strings and ints among args by what they point
// to now: callers pass &last so the message shows the last value seen.
func deref(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch p := a.(type) {
		case *string:
			out[i] = *p
		case *int:
			out[i] = *p
		default:
			out[i] = a
		}
	}
	return out
}

// role asks p for ROLE: "master", or "slave" with the leader's port as p sees it.
func role(p *proc) (name string, leaderPort int64, err error) {
	c := p.client()
	defer c.Close()
	c.Timeout = time.Second
	v, err := c.Do("ROLE")
	if err != nil {
		return "", 0, err
	}
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return "", 0, fmt.Errorf("ROLE: unexpected reply %#v", v)
	}
	name, _ = arr[0].(string)
	if name == "slave" && len(arr) >= 3 {
		leaderPort, _ = arr[2].(int64)
	}
	return name, leaderPort, nil
}

func portOf(addr string) int64 {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.ParseInt(p, 10, 64)
	return n
}

// info returns field from INFO section as p answers it itself.
func info(p *proc, section, field string) (string, error) {
	c := p.client()
	defer c.Close()
	c.Timeout = time.Second
	v, err := c.Do("INFO", section)
	if err != nil {
		return "", err
	}
	s, _ := v.(string)
	for _, line := range strings.Split(s, "\r\n") {
		if k, val, ok := strings.Cut(line, ":"); ok && k == field {
			return val, nil
		}
	}
	return "", nil // absent (e.g. db0 with no keys)
}

func infoUint(p *proc, section, field string) (uint64, error) {
	s, err := info(p, section, field)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(s, 10, 64)
}

// keyCount is db0's keys= from INFO keyspace, answered locally by any node.
func keyCount(p *proc) (int, error) {
	s, err := info(p, "keyspace", "db0")
	if err != nil || s == "" {
		return 0, err
	}
	for _, kv := range strings.Split(s, ",") {
		if v, ok := strings.CutPrefix(kv, "keys="); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, fmt.Errorf("db0 without keys=: %q", s)
}

// findLeader waits until exactly one running node calls itself master, is
// ready to serve reads, and every other running node names it as leader.
func findLeader(t testing.TB, c *cluster, timeout time.Duration) *proc {
	t.Helper()
	var leader *proc
	var last string
	waitFor(t, timeout, func() bool {
		leader = nil
		var masters []*proc
		var followers []*proc
		for _, p := range c.procs {
			if !p.running() {
				continue
			}
			r, _, err := role(p)
			if err != nil {
				last = fmt.Sprintf("%s: %v", p.id, err)
				return false
			}
			switch r {
			case "master":
				masters = append(masters, p)
			case "slave":
				followers = append(followers, p)
			}
		}
		if len(masters) != 1 {
			last = fmt.Sprintf("%d masters", len(masters))
			return false
		}
		m := masters[0]
		if ready, err := info(m, "replication", "raft_read_ready"); err != nil || ready != "1" {
			last = fmt.Sprintf("%s: raft_read_ready=%q err=%v", m.id, ready, err)
			return false
		}
		for _, f := range followers {
			if _, port, err := role(f); err != nil || port != portOf(m.clientAddr) {
				last = fmt.Sprintf("%s follows port %d, leader %s is on %s (err %v)", f.id, port, m.id, m.clientAddr, err)
				return false
			}
		}
		leader = m
		return true
	}, "no single ready leader known to every running node (last: %s)", &last)
	return leader
}

// mustDo runs one command and fails the test on any error.
func mustDo(t testing.TB, c *respClient, args ...string) any {
	t.Helper()
	v, err := c.Do(args...)
	if err != nil {
		t.Fatalf("%s %v: %v", c.Addr, args, err)
	}
	return v
}

// getAll reads keys through c in pipelined chunks.
func getAll(t testing.TB, c *respClient, keys []string) []any {
	t.Helper()
	out := make([]any, 0, len(keys))
	for start := 0; start < len(keys); start += 500 {
		end := min(start+500, len(keys))
		cmds := make([][]string, 0, end-start)
		for _, k := range keys[start:end] {
			cmds = append(cmds, []string{"GET", k})
		}
		vals, err := c.Pipeline(cmds)
		if err != nil {
			t.Fatalf("GET pipeline via %s: %v", c.Addr, err)
		}
		out = append(out, vals...)
	}
	return out
}
