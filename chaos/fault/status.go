package fault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/understudy/understudy/chaos/checker"
	"github.com/understudy/understudy/chaos/respclient"
	adminpb "github.com/understudy/understudy/proto/understudy/v1"
)

// statuses asks every node at once; missing entries did not answer.
func statuses(ctx context.Context, nodes []Node, timeout time.Duration) map[string]*adminpb.StatusResponse {
	var mu sync.Mutex
	out := map[string]*adminpb.StatusResponse{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := statusOf(ctx, n, timeout); err == nil {
				mu.Lock()
				out[n.ID] = st
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return out
}

// Leader finds the node that reports being leader (the highest term wins
// if a deposed one still thinks it is).
func Leader(ctx context.Context, nodes []Node) (string, error) {
	var best *adminpb.StatusResponse
	for _, st := range statuses(ctx, nodes, time.Second) {
		if st.Role == "leader" && (best == nil || st.Term > best.Term) {
			best = st
		}
	}
	if best == nil {
		return "", errors.New("no node reports being leader")
	}
	return best.Id, nil
}

// Whole checks that every node answers, exactly one leads, and every other
// follows it.
func Whole(ctx context.Context, nodes []Node) error {
	sts := statuses(ctx, nodes, time.Second)
	var leaders []string
	for _, n := range nodes {
		st, ok := sts[n.ID]
		if !ok {
			return fmt.Errorf("%s does not answer", n.ID)
		}
		if st.Role == "leader" {
			leaders = append(leaders, n.ID)
		}
	}
	if len(leaders) != 1 {
		return fmt.Errorf("%d leaders (%v)", len(leaders), leaders)
	}
	for _, n := range nodes {
		if st := sts[n.ID]; st.Role != "leader" && st.LeaderId != leaders[0] {
			return fmt.Errorf("%s follows %q, not %s", n.ID, st.LeaderId, leaders[0])
		}
	}
	return nil
}

// Monitor polls every node's status until stopped and keeps the samples for
// the I6 and I8 checks.
type Monitor struct {
	Cluster  Cluster
	Base     time.Time
	Interval time.Duration

	mu      sync.Mutex
	samples []checker.StatusSample
	polls   int
	wg      sync.WaitGroup
	cancel  context.CancelFunc
}

// Start begins polling, one goroutine per node, one request at a time.
func (m *Monitor) Start(ctx context.Context) {
	ctx, m.cancel = context.WithCancel(ctx)
	for _, n := range m.Cluster.Nodes() {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.poll(ctx, n)
		}()
	}
}

func (m *Monitor) poll(ctx context.Context, n Node) {
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		inc, ep := m.Cluster.Generation(n.ID)
		st, err := statusOf(ctx, n, m.Interval*2)
		inc2, ep2 := m.Cluster.Generation(n.ID)
		m.mu.Lock()
		m.polls++
		if err == nil && inc == inc2 && ep == ep2 {
			m.samples = append(m.samples, checker.StatusSample{
				T: int64(time.Since(m.Base)), Node: n.ID, Incarnation: inc, Epoch: ep,
				Role: st.Role, Term: st.Term, Applied: st.AppliedIndex, Commit: st.CommitIndex, Leader: st.LeaderId,
			})
		}
		m.mu.Unlock()
	}
}

// Stop ends polling and returns the samples and the number of polls.
func (m *Monitor) Stop() ([]checker.StatusSample, int) {
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]checker.StatusSample(nil), m.samples...), m.polls
}

// cliStatus is the part of `understudy status -o json` the check reads.
type cliStatus struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Term    uint64 `json:"term"`
	Applied uint64 `json:"applied_index"`
}

// nodeState reads one node's state the way an operator would: `understudy
// status --admin ADDR -o json` for the Raft side, INFO keyspace on its RESP
// port (answered locally, never forwarded) for the key count.
func nodeState(ctx context.Context, bin string, n Node) checker.NodeState {
	ns := checker.NodeState{ID: n.ID}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, bin, "status", "--admin", n.AdminAddr, "-o", "json", "--timeout", "2s").Output()
	if err != nil {
		ns.Err = fmt.Sprintf("status: %v", err)
		return ns
	}
	var st cliStatus
	if err := json.Unmarshal(out, &st); err != nil {
		ns.Err = fmt.Sprintf("status output: %v", err)
		return ns
	}
	ns.Role, ns.Term, ns.Applied = st.Role, st.Term, st.Applied
	keys, err := infoKeys(n.ClientAddr)
	if err != nil {
		ns.Err = fmt.Sprintf("INFO keyspace: %v", err)
	}
	ns.Keys = keys
	if ns.Digest, ns.DigestApplied, err = digest(n.ClientAddr); err != nil && ns.Err == "" {
		ns.Err = fmt.Sprintf("DEBUG DIGEST: %v", err)
	}
	return ns
}

// digest is DEBUG DIGEST APPLIED: a digest of the node's whole state and
// the applied index it reflects (answered locally, never forwarded).
func digest(addr string) (string, uint64, error) {
	c, err := respclient.Dial(addr, 2*time.Second)
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	r, err := c.Do(2*time.Second, "DEBUG", "DIGEST", "APPLIED")
	if err != nil {
		return "", 0, err
	}
	if r.IsError() {
		return "", 0, errors.New(r.Str)
	}
	if len(r.Elems) != 2 || r.Elems[1].Int < 0 {
		return "", 0, fmt.Errorf("unexpected reply %s", r)
	}
	return r.Elems[0].Str, uint64(r.Elems[1].Int), nil
}

// infoKeys is the sum of every database's keys= in INFO keyspace (0 when
// the section is empty).
func infoKeys(addr string) (int64, error) {
	c, err := respclient.Dial(addr, 2*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	r, err := c.Do(2*time.Second, "INFO", "keyspace")
	if err != nil {
		return 0, err
	}
	if r.IsError() {
		return 0, errors.New(r.Str)
	}
	var total int64
	for _, line := range strings.Split(r.Str, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "db") {
			continue
		}
		_, rest, ok := strings.Cut(line, ":keys=")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ",")
		var n int64
		if _, err := fmt.Sscanf(num, "%d", &n); err != nil {
			return 0, fmt.Errorf("parse %q: %w", line, err)
		}
		total += n
	}
	return total, nil
}

// Converge waits (up to timeout) until every node reports the same applied
// index and the same number of keys.
func Converge(ctx context.Context, bin string, nodes []Node, timeout time.Duration) checker.Convergence {
	start := time.Now()
	var last []checker.NodeState
	var why string
	for {
		last = make([]checker.NodeState, len(nodes))
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				last[i] = nodeState(ctx, bin, n)
			}()
		}
		wg.Wait()
		sort.Slice(last, func(i, j int) bool { return last[i].ID < last[j].ID })
		why = divergence(last)
		if why == "" || time.Since(start) > timeout || ctx.Err() != nil {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	c := checker.Convergence{Converged: why == "", Waited: time.Since(start).Round(100 * time.Millisecond).String(), Nodes: last}
	if why != "" {
		c.Detail = "not converged: " + why
	} else {
		c.Detail = fmt.Sprintf("every node at applied index %d with %d keys and state digest %s", last[0].Applied, last[0].Keys, last[0].Digest)
	}
	return c
}

func divergence(ns []checker.NodeState) string {
	for _, n := range ns {
		if n.Err != "" {
			return n.ID + ": " + n.Err
		}
	}
	for _, n := range ns[1:] {
		if n.Applied != ns[0].Applied {
			return fmt.Sprintf("applied index %s=%d, %s=%d", ns[0].ID, ns[0].Applied, n.ID, n.Applied)
		}
		if n.Keys != ns[0].Keys {
			return fmt.Sprintf("keys %s=%d, %s=%d", ns[0].ID, ns[0].Keys, n.ID, n.Keys)
		}
		if n.DigestApplied != ns[0].DigestApplied {
			return fmt.Sprintf("digests taken at applied index %s=%d, %s=%d", ns[0].ID, ns[0].DigestApplied, n.ID, n.DigestApplied)
		}
		if n.Digest != ns[0].Digest {
			return fmt.Sprintf("state digest at applied index %d: %s=%s, %s=%s", n.DigestApplied, ns[0].ID, ns[0].Digest, n.ID, n.Digest)
		}
	}
	return ""
}
