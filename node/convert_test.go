package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func dbsize(t *testing.T, n *Node) int64 {
	t.Helper()
	v, err := n.Read(args("DBSIZE")).Wait(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v.Int
}

// One member of a running cluster moves from bolt to the WAL and back with
// convert-log, restarting each time with the other --log-store: it keeps
// everything (including entries from before its snapshot's compaction), and
// catches up with what it missed while stopped.
func TestConvertLog_MemberMovesBetweenStoresAndBack(t *testing.T) {
	c := newDiskCluster(t, []string{LogStoreBolt, LogStoreBolt, LogStoreBolt}, func(cfg *Config) {
		cfg.SnapshotThreshold, cfg.TrailingLogs, cfg.SnapshotInterval = 64, 16, 50*time.Millisecond
	})
	c.writeKeys("a", 150)
	l := c.leader()
	m := 0
	for c.nodes[m] == l {
		m++
	}
	dir := c.config(m).DataDir
	waitFor(t, 20*time.Second, func() bool { return c.nodes[m].LastSnapshotIndex() > 0 }, "a snapshot on the member")
	for _, to := range []string{LogStoreWAL, LogStoreBolt} {
		c.stop(m)
		c.writeKeys("while-"+to, 20)
		res, err := ConvertLog(dir, to, testLogger())
		if err != nil {
			t.Fatalf("convert to %s: %v", to, err)
		}
		t.Logf("convert-log: %+v", res)
		if !res.Done || res.To != to || res.First <= 1 || res.Last <= res.First {
			t.Fatalf("convert to %s: %+v", to, res)
		}
		if again, err := ConvertLog(dir, to, testLogger()); err != nil || again.Done {
			t.Fatalf("converting again to %s: %+v, %v; want nothing done", to, again, err)
		}
		c.stores[m] = to
		if err := c.start(m); err != nil {
			t.Fatalf("start with --log-store %s after convert-log: %v", to, err)
		}
		l := c.leader()
		// Raft's applied index moves when entries are handed to the FSM,
		// not when it has applied them: compare the FSMs.
		waitFor(t, 20*time.Second, func() bool {
			return c.nodes[m].FSM().AppliedIndex() >= l.FSM().AppliedIndex() && c.nodes[m].FSM().Hash() == l.FSM().Hash()
		}, fmt.Sprintf("the converted member (%s) catches up to the leader's state", to))
	}
	if got := dbsize(t, c.leader()); got != 190 {
		t.Fatalf("DBSIZE %d, want 190", got)
	}
}

// Every interrupted stage of a conversion leaves a data directory that
// starts with the store the switch had reached, and drops the rest.
func TestConvertLog_InterruptedConversionsRecover(t *testing.T) {
	c := newDiskCluster(t, []string{LogStoreBolt}, nil)
	c.writeKeys("k", 30)
	c.stop(0)
	dir := c.config(0).DataDir
	// Stage 1 of bolt -> wal: a half-built wal.convert/. The log is still bolt's.
	if err := os.MkdirAll(filepath.Join(dir, walTmpDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, walTmpDir, "junk.wal"), []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.start(0); err != nil {
		t.Fatalf("start on bolt beside a half-built wal.convert/: %v", err)
	}
	if got := dbsize(t, c.leader()); got != 30 {
		t.Fatalf("DBSIZE %d after restart, want 30", got)
	}
	if _, err := os.Stat(filepath.Join(dir, walTmpDir)); !os.IsNotExist(err) {
		t.Fatalf("wal.convert/ left in place: %v", err)
	}
	c.stop(0)
	// Stage 2: wal/ switched in, raft.db's log not yet dropped. The WAL is the log.
	if _, err := ConvertLog(dir, LogStoreWAL, testLogger()); err != nil {
		t.Fatal(err)
	}
	restoreBoltLog(t, dir)
	c.stores[0] = LogStoreWAL
	if err := c.start(0); err != nil {
		t.Fatalf("start on the WAL with a leftover log in raft.db: %v", err)
	}
	c.writeKeys("after", 5)
	if got := dbsize(t, c.leader()); got != 35 {
		t.Fatalf("DBSIZE %d, want 35", got)
	}
	c.stop(0)
	// Stage 2 of wal -> bolt: copied into raft.db, wal/ retired to wal.old/.
	if _, err := ConvertLog(dir, LogStoreBolt, testLogger()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, walOldDir), 0o755); err != nil {
		t.Fatal(err)
	}
	c.stores[0] = LogStoreBolt
	if err := c.start(0); err != nil {
		t.Fatalf("start on bolt beside a retired wal.old/: %v", err)
	}
	if got := dbsize(t, c.leader()); got != 35 {
		t.Fatalf("DBSIZE %d, want 35", got)
	}
}

// restoreBoltLog writes a stale log into raft.db beside a WAL, as a
// conversion interrupted before dropping it would leave.
func restoreBoltLog(t *testing.T, dir string) {
	t.Helper()
	b, err := openBolt(filepath.Join(dir, boltFile))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var logs []*raft.Log
	for i := uint64(1); i <= 3; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: sealedSet("stale", "x")})
	}
	if err := b.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
}
