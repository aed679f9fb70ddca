package server_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/understudy/understudy/server"
)

// writeKeys sets prefix-0 .. prefix-(n-1) through c, one command at a time
// (so each write is its own log entry), and fails on any reply but OK.
func writeKeys(t *testing.T, c *respClient, prefix string, n int) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("%s-%d", prefix, i)
		c.MustReply(t, okReply(), "SET", key, "v-"+key)
	}
}

// A follower that was down while the leader compacted its log past the
// follower's last entry comes back from its own files, installs a snapshot
// and converges.
func TestCluster_FollowerCatchesUpFromSnapshot(t *testing.T) {
	const trailing = 16
	nodes := startCluster(t, 3, withRealStores(), withStableTiming(), withConfig(func(c *server.Config) {
		c.SnapshotThreshold = 64
		c.TrailingLogs = trailing
	}))
	l := leader(t, nodes)
	c := mustClient(t, l.ClientAddr())
	writeKeys(t, c, "before", 20)
	checkConvergence(t, nodes)

	f := followers(nodes, l)[0]
	fLast := f.S.Node.Raft().LastIndex()
	fSnapBefore := raftStat(t, f, "last_snapshot_index")
	f.Kill(t)
	t.Logf("stopped follower %s at last index %d (its last snapshot: %d)", f.ID, fLast, fSnapBefore)

	// Several rounds of writes, each followed by a forced snapshot, so the
	// leader compacts its log more than once.
	for round := range 4 {
		writeKeys(t, c, fmt.Sprintf("down%d", round), 60)
		if err := l.S.Node.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("round %d: leader snapshot: %v", round, err)
		}
	}
	snapIdx := raftStat(t, l, "last_snapshot_index")
	lastIdx := raftStat(t, l, "last_log_index")
	// hashicorp/raft keeps entries after min(snapshot index, last - TrailingLogs).
	if kept := min(snapIdx, lastIdx-trailing) + 1; kept <= fLast+1 {
		t.Fatalf("leader still holds entry %d the follower needs (first kept %d): nothing forces a snapshot install", fLast+1, kept)
	}
	t.Logf("leader: last snapshot %d, last index %d; follower needs %d", snapIdx, lastIdx, fLast+1)

	f.Start(t)
	checkConvergence(t, nodes)
	// Raft records the installed snapshot just after the FSM has restored it.
	waitFor(t, 5*time.Second, func() bool { return raftStat(t, f, "last_snapshot_index") > fLast },
		"follower %s recorded no snapshot past its last index %d when stopped: it did not install the leader's snapshot", f.ID, fLast)
	// The follower serves again (forwarding) and sees everything.
	fc := mustClient(t, f.ClientAddr())
	fc.MustReply(t, bulkReply("v-down3-59"), "GET", "down3-59")
	fc.MustReply(t, intReply(20+4*60), "DBSIZE")
	writeKeys(t, fc, "after", 5)
	checkConvergence(t, nodes)
}

// Stopping all three nodes and starting them again on the same files keeps
// every key, its value and its expiry time, from both a snapshot and the log.
func TestCluster_FullRestartKeepsData(t *testing.T) {
	nodes := startCluster(t, 3, withRealStores(), withStableTiming())
	l := leader(t, nodes)
	c := mustClient(t, l.ClientAddr())

	const total = 1000
	keyCmd := func(i int) []string {
		key := fmt.Sprintf("key-%04d", i)
		if i%4 == 0 { // a TTL far in the future
			return []string{"SET", key, "v-" + key, "EX", fmt.Sprint(86400 + i)}
		}
		return []string{"SET", key, "v-" + key}
	}
	write := func(from, to int) {
		t.Helper()
		var cmds [][]string
		for i := from; i < to; i++ {
			cmds = append(cmds, keyCmd(i))
		}
		for len(cmds) > 0 {
			n := min(100, len(cmds))
			rs, err := c.Pipeline(cmds[:n])
			if err != nil {
				t.Fatalf("pipeline: %v", err)
			}
			for i, r := range rs {
				if r.String() != "OK" {
					t.Fatalf("%q: %s", cmds[i], r)
				}
			}
			cmds = cmds[n:]
		}
	}
	// Half the keys end up in a snapshot on every node, half only in the log.
	write(0, total/2)
	checkConvergence(t, nodes)
	for _, n := range nodes {
		if err := n.S.Node.Raft().Snapshot().Error(); err != nil {
			t.Fatalf("%s snapshot: %v", n.ID, err)
		}
	}
	write(total/2, total)
	checkConvergence(t, nodes)

	state := func() []reply {
		t.Helper()
		var cmds [][]string
		for i := range total {
			key := keyCmd(i)[1]
			cmds = append(cmds, []string{"GET", key}, []string{"PEXPIRETIME", key})
		}
		return pipelineOnLeader(t, nodes, cmds)
	}
	before := state()
	for i := range total {
		key := keyCmd(i)[1]
		if got := before[2*i]; got.String() != fmt.Sprintf("%q", "v-"+key) {
			t.Fatalf("before restart: GET %s = %s", key, got)
		}
		if exp := before[2*i+1]; (i%4 == 0) != (exp.Kind == ':' && exp.Int > 0) {
			t.Fatalf("before restart: PEXPIRETIME %s = %s", key, exp)
		}
	}

	for _, n := range nodes {
		n.Kill(t)
	}
	for _, n := range nodes {
		n.Start(t)
	}
	after := state()
	for i := range before {
		if after[i].String() != before[i].String() {
			t.Fatalf("after restart, reply %d (key %s): got %s, want %s", i, keyCmd(i / 2)[1], after[i], before[i])
		}
	}
	ttls := [][]string{{"DBSIZE"}}
	for i := 0; i < total; i += 4 {
		ttls = append(ttls, []string{"TTL", keyCmd(i)[1]})
	}
	rs := pipelineOnLeader(t, nodes, ttls)
	if rs[0].String() != intReply(total).String() {
		t.Fatalf("DBSIZE after restart: %s, want %d", rs[0], total)
	}
	for i, r := range rs[1:] {
		if r.Kind != ':' || r.Int <= 86000 {
			t.Fatalf("TTL %s after restart: %s", ttls[i+1][1], r)
		}
	}
	checkConvergence(t, nodes)
}
