package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/understudy/understudy/fsm"
)

// configOn reads one parameter straight from a node's state machine.
func configOn(n *testNode, name string) string {
	v, _ := n.S.Node.FSM().ConfigGet(name)
	return v
}

// waitConfig waits until every live node's state has name = want.
func waitConfig(t *testing.T, nodes []*testNode, name, want string) {
	t.Helper()
	waitFor(t, 15*time.Second, func() bool {
		for _, n := range liveNodes(nodes) {
			if configOn(n, name) != want {
				return false
			}
		}
		return true
	}, "%s is not %q on every node: %s", name, want, stateOf(nodes))
}

// A replicated CONFIG SET sent to a follower goes through the leader and
// the log: every node has it, it survives the leader's death, a full
// restart and a snapshot installed by a node that joins after the log was
// compacted, and OBJECT ENCODING follows it. A node-local one applies to
// the follower alone.
func TestConfig_ReplicatedThroughFollower(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores(), withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	f := followers(nodes, l)[0]
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, okReply(), "CONFIG", "SET", "hash-max-ziplist-entries", "2", "timeout", "77", "maxmemory-policy", "allkeys-lru")
	waitConfig(t, nodes, "hash-max-listpack-entries", "2")
	waitConfig(t, nodes, "maxmemory-policy", "allkeys-lru")
	fc.MustReply(t, intReply(2), "HSET", "h", "a", "1", "b", "2")
	fc.MustReply(t, bulkReply("listpack"), "OBJECT", "ENCODING", "h")
	fc.MustReply(t, intReply(1), "HSET", "h", "c", "3")
	fc.MustReply(t, bulkReply("hashtable"), "OBJECT", "ENCODING", "h")
	// timeout is the follower's own.
	for _, n := range nodes {
		want := "0"
		if n == f {
			want = "77"
		}
		got := mustClient(t, n.ClientAddr()).MustDo(t, "CONFIG", "GET", "timeout")
		if len(got.Arr) != 2 || got.Arr[1].Str != want {
			t.Errorf("%s: CONFIG GET timeout = %s, want %s", n.ID, got, want)
		}
		got = mustClient(t, n.ClientAddr()).MustDo(t, "CONFIG", "GET", "hash-max-*-entries")
		if got.String() != `["hash-max-listpack-entries", "2", "hash-max-ziplist-entries", "2"]` {
			t.Errorf("%s: CONFIG GET hash-max-*-entries = %s", n.ID, got)
		}
	}
	// Bad input: Redis's texts, nothing applied.
	fc.MustReply(t, errReply("ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"),
		"CONFIG", "SET", "set-max-intset-entries", "9", "maxmemory-samples", "0")
	fc.MustReply(t, errReply("ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"),
		"CONFIG", "SET", "set-max-intset-entries", "9", "daemonize", "yes")
	fc.MustReply(t, errReply("ERR Unknown option or number of arguments for CONFIG SET - 'nope'"), "CONFIG", "SET", "nope", "1")
	checkConvergence(t, nodes)
	if v := configOn(l, "set-max-intset-entries"); v != "512" {
		t.Fatalf("a refused CONFIG SET changed set-max-intset-entries to %s", v)
	}

	// The leader dies: the new one has the setting.
	l.Kill(t)
	l2 := leader(t, nodes)
	mustClient(t, l2.ClientAddr()).MustReply(t, okReply(), "CONFIG", "SET", "zset-max-listpack-entries", "3")
	waitConfig(t, nodes, "zset-max-listpack-entries", "3")
	l.Start(t)
	checkConvergence(t, nodes)
	waitConfig(t, nodes, "hash-max-listpack-entries", "2")

	// Every node stops and starts again on its files (a snapshot, then log).
	for _, n := range nodes {
		if err := n.S.Node.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("%s snapshot: %v", n.ID, err)
		}
	}
	mustClient(t, leader(t, nodes).ClientAddr()).MustReply(t, okReply(), "CONFIG", "SET", "notify-keyspace-events", "KEA")
	waitConfig(t, nodes, "notify-keyspace-events", "AKE")
	for _, n := range nodes {
		n.Kill(t)
	}
	for _, n := range nodes {
		n.Start(t)
	}
	l3 := leader(t, nodes)
	checkConvergence(t, nodes)
	for name, want := range map[string]string{"hash-max-listpack-entries": "2", "zset-max-listpack-entries": "3",
		"maxmemory-policy": "allkeys-lru", "notify-keyspace-events": "AKE"} {
		waitConfig(t, nodes, name, want)
	}

	// A fourth node joins after the log was compacted: it gets the
	// settings from the snapshot it installs.
	c := mustClient(t, l3.ClientAddr())
	c.MustReply(t, okReply(), "CONFIG", "SET", "list-max-ziplist-size", "7")
	writeKeys(t, c, "k", 20)
	if err := l3.S.Node.Raft().Snapshot().Error(); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	n4 := testConfig("n4")
	n4.DataDir, n4.RaftAddr, n4.ClientAddr, n4.AdminAddr = t.TempDir(), mustFreeAddr(t), mustFreeAddr(t), mustFreeAddr(t)
	n4.Join, n4.JoinNonVoter = l3.S.AdminAddr(), true
	n4.Logger = l3.Cfg.Logger.With("node", "n4")
	tn4 := &testNode{ID: "n4", Cfg: n4}
	tn4.Start(t)
	t.Cleanup(func() { closeWithin(t, tn4, 5*time.Second) })
	all := append(append([]*testNode{}, nodes...), tn4)
	checkConvergence(t, all)
	for name, want := range map[string]string{"hash-max-listpack-entries": "2", "list-max-listpack-size": "7", "notify-keyspace-events": "AKE"} {
		if got := configOn(tn4, name); got != want {
			t.Errorf("joined node: %s = %q, want %q", name, got, want)
		}
	}
}

// maxmemory with allkeys-lru, set through a follower, evicts the same keys
// on every node, and a subscriber on the follower hears "evicted".
func TestConfig_EvictionSameOnEveryNode(t *testing.T) {
	nodes := startCluster(t, 3, withStableTiming())
	l := leader(t, nodes)
	waitLevel(t, nodes, fsm.Level2)
	f := followers(nodes, l)[0]
	ctx := context.Background()
	fc := redis.NewClient(&redis.Options{Addr: f.ClientAddr(), MaxRetries: 20})
	defer fc.Close()
	sub := fc.Subscribe(ctx, "__keyevent@0__:evicted")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fc.ConfigSet(ctx, "notify-keyspace-events", "Ee").Err(); err != nil {
		t.Fatal(err)
	}
	val := strings.Repeat("x", 4096)
	for i := range 2000 {
		if err := fc.Set(ctx, fmt.Sprint("key:", i), val, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	used := l.S.Node.FSM().Stats().Keys
	if used != 2000 {
		t.Fatalf("%d keys before eviction", used)
	}
	// A limit the heap is surely above: the leader evicts until under it
	// or out of keys, through the log.
	if err := fc.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := fc.ConfigSet(ctx, "maxmemory", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil || !strings.HasPrefix(msg.Payload, "key:") {
		t.Fatalf("evicted event: %v %v", msg, err)
	}
	waitFor(t, 20*time.Second, func() bool { return l.S.Node.FSM().EvictedKeys() > 100 }, "nothing evicted: %s", stateOf(nodes))
	if err := fc.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	// Same applied index and same state hash (DEBUG DIGEST) everywhere:
	// the same keys went on every node.
	checkConvergence(t, nodes)
	if n := l.S.Node.FSM().Stats().Keys; n >= 2000 {
		t.Fatalf("%d keys left", n)
	}
	info, err := fc.Info(ctx, "stats").Result()
	if err != nil || !strings.Contains(info, "evicted_keys:") {
		t.Fatalf("INFO stats: %v %q", err, info)
	}
}
