package fault

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/understudy/understudy/internal/freeport"
)

// Local runs the nodes as processes of the given binary, with their data in
// Dir. With Netns (and root, and iproute2) each node runs in a network
// namespace of its own behind one bridge (see netLab) and partitions are
// blackhole routes inside the namespaces; otherwise the nodes listen on free
// 127.0.0.1 ports and there is no network to cut (PartitionSupport says why).
type Local struct {
	Bin    string   // the understudy binary
	Dir    string   // data root; each node gets Dir/nX
	LogDir string   // where nX.log goes
	Flags  []string // extra `serve` flags for every node
	Netns  bool     // try network namespaces, for partitions
	Log    *slog.Logger

	mu      sync.Mutex
	nodes   []*localNode
	lab     *netLab
	partErr error
	cutter  cutter
}

type localNode struct {
	Node
	index       int // 0-based
	raftAddr    string
	dataDir     string
	logPath     string
	cmd         *exec.Cmd
	done        chan struct{} // closed when cmd exits
	paused      bool
	join        bool // start with --join (after a wipe) instead of --peers
	incarnation int
	epoch       int
}

// Name implements Cluster.
func (l *Local) Name() string { return "local" }

// Nodes implements Cluster.
func (l *Local) Nodes() []Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Node, len(l.nodes))
	for i, n := range l.nodes {
		out[i] = n.Node
	}
	return out
}

func (l *Local) node(id string) (*localNode, error) {
	for _, n := range l.nodes {
		if n.ID == id {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no node %q", id)
}

// freeAddrs returns n distinct 127.0.0.1 addresses from freeport, the one
// port allocator (ports below the ephemeral range, which no ":0" listener or
// outgoing connection takes in the meantime).
func freeAddrs(n int) ([]string, error) { return freeport.Addrs(n) }

// Up implements Cluster: three nodes, fresh data, one static configuration.
func (l *Local) Up(ctx context.Context) error {
	var addrs []string
	l.partErr = errors.New("network namespaces disabled (--netns=false)")
	if l.Netns {
		lab, err := newNetLab(ctx, 3, l.Log)
		if err != nil {
			l.partErr = fmt.Errorf("network namespaces unavailable: %w", err)
		} else {
			l.lab, l.partErr = lab, nil
			for i := range 3 {
				ip := lab.addr(i)
				addrs = append(addrs, ip+":6381", ip+":7381", ip+":9181")
			}
			l.cutter = cutter{
				ip: func(_ context.Context, id string) ([]string, bool, error) {
					n, err := l.node(id)
					if err != nil {
						return nil, false, err
					}
					return []string{"ip", "-n", lab.ns[n.index]}, false, nil
				},
				addr: func(_ context.Context, id string) (string, error) {
					n, err := l.node(id)
					if err != nil {
						return "", err
					}
					return lab.addr(n.index), nil
				},
			}
			l.Log.Info("local nodes in network namespaces", "bridge", lab.bridge, "subnet", lab.subnet+".0/24", "namespaces", strings.Join(lab.ns, ","))
		}
	}
	if addrs == nil {
		var err error
		if addrs, err = freeAddrs(9); err != nil {
			return fmt.Errorf("free ports: %w", err)
		}
	}
	l.mu.Lock()
	for i := range 3 {
		id := fmt.Sprintf("n%d", i+1)
		n := &localNode{
			Node:     Node{ID: id, ClientAddr: addrs[3*i], AdminAddr: addrs[3*i+2]},
			index:    i,
			raftAddr: addrs[3*i+1],
			dataDir:  filepath.Join(l.Dir, id),
			logPath:  filepath.Join(l.LogDir, id+".log"),
		}
		l.nodes = append(l.nodes, n)
	}
	l.mu.Unlock()
	for _, n := range l.nodes {
		if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
			return err
		}
		if err := l.start(n); err != nil {
			return err
		}
	}
	return poll(ctx, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) error { return Whole(ctx, l.Nodes()) })
}

func (l *Local) peers() string {
	var p []string
	for _, n := range l.nodes {
		p = append(p, n.ID+"="+n.raftAddr)
	}
	return strings.Join(p, ",")
}

func (l *Local) others(self string) string {
	var p []string
	for _, n := range l.nodes {
		if n.ID != self {
			p = append(p, n.AdminAddr)
		}
	}
	return strings.Join(p, ",")
}

func (l *Local) start(n *localNode) error {
	if n.cmd != nil {
		select {
		case <-n.done:
		default:
			return fmt.Errorf("%s is already running", n.ID)
		}
	}
	args := []string{"serve", "--id", n.ID, "--data-dir", n.dataDir,
		"--raft-addr", n.raftAddr, "--client-addr", n.ClientAddr, "--admin-addr", n.AdminAddr}
	if n.join {
		args = append(args, "--join", l.others(n.ID))
	} else {
		args = append(args, "--peers", l.peers())
	}
	args = append(args, l.Flags...)
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(logf, "=== chaos: starting %s: %s %s\n", n.ID, l.Bin, strings.Join(args, " "))
	cmd := exec.Command(l.Bin, args...)
	if l.lab != nil {
		cmd = l.lab.command(n.index, l.Bin, args...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// A process group of its own: a ^C at the terminal reaches the chaos
	// runner, which stops the nodes itself.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", n.ID, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	l.mu.Lock()
	n.cmd, n.done, n.paused = cmd, done, false
	n.incarnation++
	l.mu.Unlock()
	return nil
}

func (n *localNode) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill implements Cluster.
func (l *Local) Kill(ctx context.Context, id string) error {
	n, err := l.node(id)
	if err != nil {
		return err
	}
	if !n.running() {
		return nil
	}
	if err := n.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) survived SIGKILL", id, n.cmd.Process.Pid)
	}
}

// Start implements Cluster.
func (l *Local) Start(_ context.Context, id string) error {
	n, err := l.node(id)
	if err != nil {
		return err
	}
	if n.running() {
		return nil
	}
	return l.start(n)
}

// Pause implements Cluster.
func (l *Local) Pause(_ context.Context, id string) error {
	return l.signal(id, syscall.SIGSTOP, true)
}

// Resume implements Cluster.
func (l *Local) Resume(_ context.Context, id string) error {
	return l.signal(id, syscall.SIGCONT, false)
}

func (l *Local) signal(id string, sig syscall.Signal, paused bool) error {
	n, err := l.node(id)
	if err != nil {
		return err
	}
	if !n.running() {
		return fmt.Errorf("%s is not running", id)
	}
	if err := n.cmd.Process.Signal(sig); err != nil {
		return err
	}
	l.mu.Lock()
	n.paused = paused
	l.mu.Unlock()
	return nil
}

// PartitionSupport implements Cluster.
func (l *Local) PartitionSupport() error { return l.partErr }

// Cut implements Cluster: blackhole routes in the nodes' namespaces.
func (l *Local) Cut(ctx context.Context, pairs [][2]string) error {
	if l.lab == nil {
		return ErrUnsupported
	}
	return l.cutter.cut(ctx, pairs)
}

// Heal implements Cluster.
func (l *Local) Heal(ctx context.Context) error {
	if l.lab == nil {
		return nil
	}
	var ids []string
	for _, n := range l.Nodes() {
		ids = append(ids, n.ID)
	}
	return l.cutter.heal(ctx, ids)
}

// Wipe implements Cluster.
func (l *Local) Wipe(_ context.Context, id string) error {
	n, err := l.node(id)
	if err != nil {
		return err
	}
	if n.running() {
		return fmt.Errorf("%s is running; kill it first", id)
	}
	if err := os.RemoveAll(n.dataDir); err != nil {
		return err
	}
	if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
		return err
	}
	l.mu.Lock()
	n.join = true
	n.epoch++
	l.mu.Unlock()
	return nil
}

// Generation implements Cluster.
func (l *Local) Generation(id string) (int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.nodes {
		if n.ID == id {
			return n.incarnation, n.epoch
		}
	}
	return 0, 0
}

// Down implements Cluster: SIGCONT and SIGTERM every node it started, SIGKILL
// those still running after 10 seconds, remove the network namespaces, and
// delete the data, unless keep: then the nodes stay up, partitions healed
// (and the next run removes namespaces whose runner is gone, nodes included).
func (l *Local) Down(ctx context.Context, keep bool) error {
	if keep {
		if err := l.Heal(ctx); err != nil {
			l.Log.Warn("heal before leaving the nodes running", "err", err)
		}
		if l.lab != nil {
			l.Log.Info("the nodes stay in their network namespaces; the next chaos run removes them (or: ip netns pids NS, kill, ip netns del NS; ip link del BRIDGE)",
				"namespaces", strings.Join(l.lab.ns, ","), "bridge", l.lab.bridge)
		}
		for _, n := range l.nodes {
			if n.running() && n.paused {
				_ = n.cmd.Process.Signal(syscall.SIGCONT)
			}
		}
		l.Log.Info("leaving the nodes running (--keep)", "data", l.Dir)
		for _, n := range l.nodes {
			if n.running() {
				l.Log.Info("node", "id", n.ID, "pid", n.cmd.Process.Pid, "client", n.ClientAddr, "admin", n.AdminAddr)
			}
		}
		return nil
	}
	var errs []error
	for _, n := range l.nodes {
		if n.running() {
			_ = n.cmd.Process.Signal(syscall.SIGCONT)
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	grace, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for _, n := range l.nodes {
		if n.cmd == nil {
			continue
		}
		select {
		case <-n.done:
		case <-grace.Done():
			_ = n.cmd.Process.Signal(syscall.SIGKILL)
			<-n.done
		}
	}
	if err := l.lab.close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("remove network namespaces: %w", err))
	}
	if err := os.RemoveAll(l.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
