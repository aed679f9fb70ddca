package server_test

// The leader tells the truth about its replicas: ROLE, INFO replication,
// SENTINEL replicas/master and CLUSTER NODES/SLOTS/SHARDS stop listing a
// follower as connected within a bound once it dies or loses its Raft link,
// and list it again once it is back; offsets are the followers' applied
// indexes. Every node's view comes from its background status calls
// (rpc.Peers), never from a call on the request path.

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// replicaView is what one node tells clients about the followers, keyed by
// their advertised client address.
type replicaView struct {
	role            []string          // ROLE's replica list (on the leader)
	roleOffsets     map[string]uint64 // ROLE's offset of each
	connectedSlaves int               // INFO replication
	infoSlaves      []string          // INFO replication's slaveN lines
	sentinelFlags   map[string]string // SENTINEL replicas: flags
	sentinelLink    map[string]string // SENTINEL replicas: master-link-status
	numSlaves       string            // SENTINEL master: num-slaves
	nodesLine       map[string]string // CLUSTER NODES line of each node
	slots           []string          // CLUSTER SLOTS: every node listed, master first
	shardHealth     map[string]string // CLUSTER SHARDS: health of each node
}

func (v replicaView) String() string {
	return fmt.Sprintf("ROLE %v offsets %v; INFO connected_slaves:%d %v; SENTINEL flags %v link %v num-slaves %s; CLUSTER SLOTS %v SHARDS %v NODES %v",
		v.role, v.roleOffsets, v.connectedSlaves, v.infoSlaves, v.sentinelFlags, v.sentinelLink, v.numSlaves, v.slots, v.shardHealth, v.nodesLine)
}

// viewOf asks addr (over a fresh go-redis client) every command that
// describes the replicas.
func viewOf(ctx context.Context, addr string) (replicaView, error) {
	rdb := redis.NewClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 1})
	defer rdb.Close()
	v := replicaView{roleOffsets: map[string]uint64{}, sentinelFlags: map[string]string{}, sentinelLink: map[string]string{},
		nodesLine: map[string]string{}, shardHealth: map[string]string{}}
	role, err := rdb.Do(ctx, "ROLE").Slice()
	if err != nil {
		return v, fmt.Errorf("ROLE: %w", err)
	}
	if len(role) == 3 && role[0] == "master" {
		reps, _ := role[2].([]any)
		for _, r := range reps {
			e, _ := r.([]any)
			if len(e) != 3 {
				return v, fmt.Errorf("ROLE replica entry %v", e)
			}
			a := net.JoinHostPort(fmt.Sprint(e[0]), fmt.Sprint(e[1]))
			v.role = append(v.role, a)
			v.roleOffsets[a], _ = strconv.ParseUint(fmt.Sprint(e[2]), 10, 64)
		}
	}
	info, err := rdb.Info(ctx, "replication").Result()
	if err != nil {
		return v, fmt.Errorf("INFO: %w", err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if n, ok := strings.CutPrefix(line, "connected_slaves:"); ok {
			v.connectedSlaves, _ = strconv.Atoi(n)
		}
		if strings.HasPrefix(line, "slave") && strings.Contains(line, ":ip=") {
			var ip, port string
			for _, f := range strings.Split(line[strings.Index(line, ":")+1:], ",") {
				k, val, _ := strings.Cut(f, "=")
				switch k {
				case "ip":
					ip = val
				case "port":
					port = val
				}
			}
			v.infoSlaves = append(v.infoSlaves, net.JoinHostPort(ip, port))
		}
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, PoolSize: 1})
	defer sc.Close()
	reps, err := sc.Replicas(ctx, "understudy").Result()
	if err != nil {
		return v, fmt.Errorf("SENTINEL replicas: %w", err)
	}
	for _, r := range reps {
		a := net.JoinHostPort(r["ip"], r["port"])
		v.sentinelFlags[a], v.sentinelLink[a] = r["flags"], r["master-link-status"]
	}
	m, err := sc.Master(ctx, "understudy").Result()
	if err != nil {
		return v, fmt.Errorf("SENTINEL master: %w", err)
	}
	v.numSlaves = m["num-slaves"]
	nodes, err := rdb.ClusterNodes(ctx).Result()
	if err != nil {
		return v, fmt.Errorf("CLUSTER NODES: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(nodes), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			return v, fmt.Errorf("CLUSTER NODES line %q", line)
		}
		v.nodesLine[strings.Split(f[1], "@")[0]] = line
	}
	slots, err := rdb.ClusterSlots(ctx).Result()
	if err != nil {
		return v, fmt.Errorf("CLUSTER SLOTS: %w", err)
	}
	for _, s := range slots {
		for _, n := range s.Nodes {
			v.slots = append(v.slots, n.Addr)
		}
	}
	shards, err := rdb.ClusterShards(ctx).Result()
	if err != nil {
		return v, fmt.Errorf("CLUSTER SHARDS: %w", err)
	}
	for _, s := range shards {
		for _, n := range s.Nodes {
			v.shardHealth[net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))] = n.Health
		}
	}
	return v, nil
}

// healthyAbout reports whether the view shows exactly up as connected
// replicas and down as disconnected ones (leader's view when onLeader).
func (v replicaView) healthyAbout(up, down []string, onLeader bool) bool {
	if onLeader {
		got := slices.Clone(v.role)
		slices.Sort(got)
		info := slices.Clone(v.infoSlaves)
		slices.Sort(info)
		if !slices.Equal(got, up) || !slices.Equal(info, up) || v.connectedSlaves != len(up) {
			return false
		}
	}
	if v.numSlaves != strconv.Itoa(len(up)+len(down)) {
		return false // a Sentinel counts every replica it knows
	}
	for _, a := range up {
		if v.sentinelFlags[a] != "slave" || v.sentinelLink[a] != "ok" || v.shardHealth[a] != "online" ||
			!slices.Contains(v.slots, a) || !strings.HasSuffix(v.nodesLine[a], " connected") || strings.Contains(v.nodesLine[a], "fail") {
			return false
		}
	}
	for _, a := range down {
		if v.sentinelFlags[a] != "s_down,slave,disconnected" || v.sentinelLink[a] != "err" || v.shardHealth[a] != "failed" ||
			slices.Contains(v.slots, a) || !strings.Contains(v.nodesLine[a], ",fail ") || !strings.HasSuffix(v.nodesLine[a], " disconnected") {
			return false
		}
		if onLeader && slices.Contains(v.role, a) {
			return false
		}
	}
	return true
}

// waitView waits until addr's view satisfies ok, returning how long it took.
func waitView(t *testing.T, addr string, timeout time.Duration, ok func(replicaView) bool, what string) time.Duration {
	t.Helper()
	start := time.Now()
	var last replicaView
	var lastErr error
	waitFor(t, timeout, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		last, lastErr = viewOf(ctx, addr)
		return lastErr == nil && ok(last)
	}, "%s: %s sees %v", what, addr, lazyText(func() string {
		if lastErr != nil {
			return "error: " + lastErr.Error()
		}
		return last.String()
	}))
	return time.Since(start)
}

// lazyText formats as its function's result at the moment it is printed.
type lazyText func() string

func (l lazyText) String() string { return l() }

func addrsOf(nodes []*testNode) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, n.ClientAddr())
	}
	slices.Sort(out)
	return out
}

func TestReplicaHealth_FollowerStopsAndReturns(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores(), withStableTiming())
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 15*time.Second)
	fs := followers(nodes, l)
	gone, stays := fs[0], fs[1]
	goneAddr := gone.ClientAddr()

	took := waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout(addrsOf(fs), nil, true)
	}, "healthy cluster")
	t.Logf("leader lists both replicas as connected %v after the cluster settled", took.Round(time.Millisecond))

	// ROLE's offsets are the followers' applied indexes: after a write they
	// reach the index it was applied at.
	rdb := redis.NewClient(&redis.Options{Addr: l.ClientAddr(), MaxRetries: -1})
	defer rdb.Close()
	if err := rdb.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	idx := l.S.Node.Raft().AppliedIndex()
	waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		for _, a := range addrsOf(fs) {
			if v.roleOffsets[a] < idx {
				return false
			}
		}
		return true
	}, fmt.Sprintf("replica offsets reach %d", idx))

	gone.Kill(t)
	took = waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout([]string{stays.ClientAddr()}, []string{goneAddr}, true)
	}, "after a follower stopped")
	t.Logf("leader reports the stopped follower down after %v", took.Round(time.Millisecond))
	waitView(t, stays.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout([]string{stays.ClientAddr()}, []string{goneAddr}, false)
	}, "the other follower's view")

	gone.Start(t)
	took = waitView(t, l.ClientAddr(), 15*time.Second, func(v replicaView) bool {
		return v.healthyAbout(addrsOf(fs), nil, true)
	}, "after the follower came back")
	t.Logf("leader lists the returned follower again after %v", took.Round(time.Millisecond))
}

// A follower whose Raft traffic is cut but whose admin API still answers
// says it no longer hears from the leader: the leader reports it down.
func TestReplicaHealth_FollowerLosesRaftLink(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitMetaRecorded(t, nodes, 15*time.Second)
	fs := followers(nodes, l)
	cut := fs[0]
	waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout(addrsOf(fs), nil, true)
	}, "healthy cluster")

	for _, o := range nodes {
		if o != cut {
			o.Trans.Disconnect(cut.Trans.LocalAddr())
			cut.Trans.Disconnect(o.Trans.LocalAddr())
		}
	}
	took := waitView(t, l.ClientAddr(), 10*time.Second, func(v replicaView) bool {
		return v.healthyAbout([]string{fs[1].ClientAddr()}, []string{cut.ClientAddr()}, true)
	}, "after the follower's Raft link was cut")
	t.Logf("leader reports the cut-off follower down after %v", took.Round(time.Millisecond))

	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.Trans.Connect(b.Trans.LocalAddr(), b.Trans)
			}
		}
	}
	// The returning node may disturb the term; whoever leads then must list
	// both others as connected.
	waitFor(t, 20*time.Second, func() bool {
		nl := leader(t, nodes)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		v, err := viewOf(ctx, nl.ClientAddr())
		return err == nil && v.healthyAbout(addrsOf(followers(nodes, nl)), nil, true)
	}, "after the link came back no leader lists both replicas: %s", stateOf(nodes))
}
