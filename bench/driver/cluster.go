package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Cluster is what the failover and scale experiments need to know about a
// replicated system: who leads now, and whether a restarted node is back.
type Cluster interface {
	// Leader is the name of the node that leads (the master for Sentinel).
	Leader(ctx context.Context) (string, error)
	// Rejoined reports whether the restarted node name serves as a
	// replica that has caught up.
	Rejoined(ctx context.Context, name string) (bool, error)
}

// poll calls f every interval until it returns true, an error that is not
// transient, or the timeout. It returns how long it took.
func poll(ctx context.Context, timeout, interval time.Duration, f func(context.Context) (bool, error)) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		ok, err := f(ctx)
		if ok {
			return time.Since(start), nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return time.Since(start), fmt.Errorf("gave up after %v: %w", timeout, last)
			}
			return time.Since(start), fmt.Errorf("gave up after %v", timeout)
		case <-time.After(interval):
		}
	}
}

// UnderstudyCluster is a three-node Understudy cluster: every node answers
// SENTINEL get-master-addr-by-name, and `understudy status` reads a node's
// Raft indexes over the admin API.
type UnderstudyCluster struct {
	Nodes  []Node
	Bin    string // the understudy binary, for `status -o json`
	Master string // the Sentinel master name, "understudy"
}

// Status is the subset of `understudy status -o json` we use.
type Status struct {
	ID           string `json:"id"`
	Role         string `json:"role"`
	LeaderID     string `json:"leader_id"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	Keys         int64  `json:"keys"`
	Error        string `json:"error"`
}

// Status runs `understudy status --admin ADMIN -o json` for one node.
func (u UnderstudyCluster) Status(ctx context.Context, n Node) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, u.Bin, "status", "--admin", n.Admin, "--timeout", "2s", "-o", "json").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return Status{}, fmt.Errorf("understudy status --admin %s: %w: %s", n.Admin, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return Status{}, err
	}
	var s Status
	if err := json.Unmarshal(out, &s); err != nil {
		return Status{}, fmt.Errorf("understudy status --admin %s: %w: %q", n.Admin, err, out)
	}
	if s.Error != "" {
		return s, errors.New(s.Error)
	}
	return s, nil
}

// MasterAddr asks the nodes in turn for the leader's client address.
func MasterAddr(ctx context.Context, sentinels []string, master string) (string, error) {
	var last error
	for _, a := range sentinels {
		sc := redis.NewSentinelClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		v, err := sc.GetMasterAddrByName(ctx, master).Result()
		sc.Close()
		if err == nil && len(v) == 2 {
			return net.JoinHostPort(v[0], v[1]), nil
		}
		if err == nil {
			err = fmt.Errorf("%s: no master known", a)
		}
		last = err
	}
	return "", last
}

func (u UnderstudyCluster) Leader(ctx context.Context) (string, error) {
	addr, err := MasterAddr(ctx, Addrs(u.Nodes), u.Master)
	if err != nil {
		return "", err
	}
	n, ok := ByAddr(u.Nodes, addr)
	if !ok {
		return "", fmt.Errorf("leader address %s is none of our nodes", addr)
	}
	// The answer may come from a node that has not noticed the old leader
	// died: trust it only if the leader itself says so.
	st, err := u.Status(ctx, n)
	if err != nil {
		return "", err
	}
	if st.Role != "leader" {
		return "", fmt.Errorf("%s is named leader but reports role %q", n.Name, st.Role)
	}
	return n.Name, nil
}

func (u UnderstudyCluster) node(name string) (Node, error) {
	for _, n := range u.Nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return Node{}, fmt.Errorf("no node %q", name)
}

// Rejoined: name is a follower whose applied index has reached the
// leader's, read just before.
func (u UnderstudyCluster) Rejoined(ctx context.Context, name string) (bool, error) {
	n, err := u.node(name)
	if err != nil {
		return false, err
	}
	ln, err := u.Leader(ctx)
	if err != nil {
		return false, err
	}
	if ln == name {
		return true, nil // it won an election: it is back, and leads
	}
	l, _ := u.node(ln)
	ls, err := u.Status(ctx, l)
	if err != nil {
		return false, err
	}
	fs, err := u.Status(ctx, n)
	if err != nil {
		return false, err
	}
	return fs.Role == "follower" && fs.AppliedIndex >= ls.AppliedIndex, nil
}

// SentinelCluster is a Redis primary with replicas watched by Sentinels.
type SentinelCluster struct {
	Data      []Node // redis-server processes
	Sentinels []Node
	Master    string
}

func (s SentinelCluster) Leader(ctx context.Context) (string, error) {
	addr, err := MasterAddr(ctx, Addrs(s.Sentinels), s.Master)
	if err != nil {
		return "", err
	}
	n, ok := ByAddr(s.Data, addr)
	if !ok {
		return "", fmt.Errorf("master address %s is none of our nodes", addr)
	}
	return n.Name, nil
}

// InfoField returns field from an INFO reply.
func InfoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}

// Rejoined: the restarted server is a replica with its link to the master
// up (Sentinel reconfigures an old master it sees come back).
func (s SentinelCluster) Rejoined(ctx context.Context, name string) (bool, error) {
	for _, n := range s.Data {
		if n.Name != name {
			continue
		}
		c := redis.NewClient(&redis.Options{Addr: n.Addr, DialTimeout: time.Second, ReadTimeout: time.Second, MaxRetries: -1})
		defer c.Close()
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return false, err
		}
		if InfoField(info, "role") == "master" {
			// Sentinel may have chosen it again: that counts as back.
			l, err := s.Leader(ctx)
			return err == nil && l == name, nil
		}
		return InfoField(info, "role") == "slave" && InfoField(info, "master_link_status") == "up", nil
	}
	return false, fmt.Errorf("no node %q", name)
}

// EtcdCluster is a three-member etcd cluster.
type EtcdCluster struct{ Nodes []Node }

func (e EtcdCluster) status(ctx context.Context, n Node) (leader, self, applied uint64, err error) {
	c, err := NewEtcdClient([]string{n.Addr})
	if err != nil {
		return 0, 0, 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	st, err := c.Status(ctx, n.Addr)
	if err != nil {
		return 0, 0, 0, err
	}
	if len(st.Errors) > 0 {
		return 0, 0, 0, fmt.Errorf("%s: %s", n.Name, strings.Join(st.Errors, "; "))
	}
	return st.Leader, st.Header.MemberId, st.RaftAppliedIndex, nil
}

// Leader asks each member's Status (the maintenance API) who leads and
// returns the member that says it is that leader.
func (e EtcdCluster) Leader(ctx context.Context) (string, error) {
	var last error = errors.New("no member answered")
	for _, n := range e.Nodes {
		leader, self, _, err := e.status(ctx, n)
		if err != nil {
			last = err
			continue
		}
		if leader != 0 && leader == self {
			return n.Name, nil
		}
	}
	return "", last
}

func (e EtcdCluster) Rejoined(ctx context.Context, name string) (bool, error) {
	ln, err := e.Leader(ctx)
	if err != nil {
		return false, err
	}
	if ln == name {
		return true, nil
	}
	var ls, ns Node
	for _, n := range e.Nodes {
		if n.Name == ln {
			ls = n
		}
		if n.Name == name {
			ns = n
		}
	}
	_, _, la, err := e.status(ctx, ls)
	if err != nil {
		return false, err
	}
	leader, _, na, err := e.status(ctx, ns)
	if err != nil {
		return false, err
	}
	return leader != 0 && na >= la, nil
}
