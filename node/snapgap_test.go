package node

import (
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
)

// countFSM applies by counting; its snapshots are empty.
type countFSM struct{ applied atomic.Uint64 }

func (f *countFSM) Apply(*raft.Log) any { f.applied.Add(1); return nil }
func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) {
	return countSnap{}, nil
}
func (f *countFSM) Restore(rc io.ReadCloser) error {
	_, err := io.Copy(io.Discard, rc)
	return err
}

type countSnap struct{}

func (countSnap) Persist(s raft.SnapshotSink) error { return s.Close() }
func (countSnap) Release()                          {}

// snapGapFollower is a real hashicorp/raft follower on a real WAL and file
// snapshot store behind the log cache, driven by hand-made leader RPCs over
// the in-memory transport: the order of messages that livelocked followers
// (TestGoRedis_FollowerCatchesUpThroughSnapshot found it under load) is
// replayed exactly.
type snapGapFollower struct {
	t      *testing.T
	r      *raft.Raft
	cache  *logCache
	leader *raft.InmemTransport
	conf   raft.Configuration
}

const snapGapTerm = 2

// setup runs before Raft starts, with the log store and a way to write a
// snapshot ending at an index.
func newSnapGapFollower(t *testing.T, setup func(c *logCache, snapshotAt func(index uint64))) *snapGapFollower {
	t.Helper()
	dir := t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := wal.Open(dir, wal.WithLogger(newRaftLogger(quiet, "wal")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, newRaftLogger(quiet, "snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	cache := newLogCache(w, snaps)
	if !cache.monotonic {
		t.Fatal("raft-wal should declare itself monotonic")
	}
	if _, ok := any(cache).(raft.MonotonicLogStore); ok {
		t.Fatal("the log cache must not declare itself monotonic to Raft (snapgap.go)")
	}
	fAddr, ft := raft.NewInmemTransport("f")
	lAddr, lt := raft.NewInmemTransport("l")
	conf := raft.Configuration{Servers: []raft.Server{
		{ID: "l", Address: lAddr}, {ID: "f", Address: fAddr}, {ID: "x", Address: "x"},
	}}
	setup(cache, func(index uint64) {
		sink, err := snaps.Create(1, index, snapGapTerm, conf, 1, ft)
		if err != nil {
			t.Fatal(err)
		}
		if err := sink.Close(); err != nil {
			t.Fatal(err)
		}
	})

	stable := raft.NewInmemStore()
	if err := stable.SetUint64([]byte("CurrentTerm"), snapGapTerm); err != nil {
		t.Fatal(err)
	}
	ft.Connect(lAddr, lt)
	lt.Connect(fAddr, ft)
	rc := raft.DefaultConfig()
	rc.LocalID = "f"
	rc.HeartbeatTimeout = time.Minute // it must stay a follower: the test is its leader
	rc.ElectionTimeout = time.Minute
	rc.LeaderLeaseTimeout = time.Second
	rc.SnapshotThreshold = 1 << 20
	rc.TrailingLogs = 4
	rc.Logger = newRaftLogger(quiet, "raft")
	r, err := raft.NewRaft(rc, &countFSM{}, cache, stable, snaps, ft)
	if err != nil {
		t.Fatal(err)
	}
	cache.running.Store(r)
	t.Cleanup(func() { _ = r.Shutdown().Error() })
	return &snapGapFollower{t: t, r: r, cache: cache, leader: lt, conf: conf}
}

func entries(from, to uint64) []*raft.Log {
	var out []*raft.Log
	for i := from; i <= to; i++ {
		out = append(out, &raft.Log{Index: i, Term: snapGapTerm, Type: raft.LogCommand, Data: []byte("x")})
	}
	return out
}

// append sends AppendEntries after prev with entries from..to and reports
// whether the follower took them.
func (f *snapGapFollower) append(prev, from, to uint64) bool {
	f.t.Helper()
	return f.send(prev, entries(from, to))
}

// send sends AppendEntries after prev carrying logs, committing up to the
// last of them, and reports whether the follower took them.
func (f *snapGapFollower) send(prev uint64, logs []*raft.Log) bool {
	f.t.Helper()
	req := &raft.AppendEntriesRequest{
		RPCHeader: f.header(),
		Term:      snapGapTerm, PrevLogEntry: prev, PrevLogTerm: snapGapTerm,
		Entries: logs, LeaderCommitIndex: logs[len(logs)-1].Index,
	}
	var resp raft.AppendEntriesResponse
	if err := f.leader.AppendEntries("f", f.conf.Servers[1].Address, req, &resp); err != nil {
		f.t.Fatal(err)
	}
	return resp.Success
}

// header is the test leader's RPC header.
func (f *snapGapFollower) header() raft.RPCHeader {
	return raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("l"), Addr: []byte(f.leader.LocalAddr())}
}

// installSnapshot sends the follower a snapshot ending at index.
func (f *snapGapFollower) installSnapshot(index uint64) {
	f.t.Helper()
	req := &raft.InstallSnapshotRequest{
		RPCHeader:       f.header(),
		SnapshotVersion: 1, Term: snapGapTerm,
		LastLogIndex: index, LastLogTerm: snapGapTerm,
		Configuration: raft.EncodeConfiguration(f.conf), ConfigurationIndex: 1,
	}
	var resp raft.InstallSnapshotResponse
	if err := f.leader.InstallSnapshot("f", f.conf.Servers[1].Address, req, &resp, strings.NewReader("")); err != nil || !resp.Success {
		f.t.Fatalf("install snapshot at %d: success %v, %v", index, resp.Success, err)
	}
}

func (f *snapGapFollower) wantLast(want uint64) {
	f.t.Helper()
	if got := f.r.LastIndex(); got != want {
		f.t.Fatalf("follower's last index %d, want %d", got, want)
	}
	var l raft.Log
	if err := f.cache.GetLog(want, &l); err != nil {
		f.t.Fatalf("follower's log store lacks its last entry %d: %v", want, err)
	}
}

// A follower that restarts holding a snapshot at 10 and, in its log, only
// entry 11 (it emptied its log for the snapshot, then appended) accepts a
// leader's "previous entry 10": the snapshot says its term. hashicorp/raft
// looked only in the log, refused, and was sent the snapshot again, for
// ever.
func TestSnapGap_PreviousEntryAtTheSnapshotIsKnown(t *testing.T) {
	f := newSnapGapFollower(t, func(c *logCache, snapshotAt func(uint64)) {
		// What the follower held before: old entries 1-3.
		if err := c.StoreLogs(entries(1, 3)); err != nil {
			t.Fatal(err)
		}
		snapshotAt(10)
		// Entry 11 does not follow 3: the WAL is emptied first.
		if err := c.StoreLogs(entries(11, 11)); err != nil {
			t.Fatalf("append after a snapshot overtook the log: %v", err)
		}
		if first, _ := c.FirstIndex(); first != 11 {
			t.Fatalf("log starts at %d after the gap, want 11", first)
		}
	})
	f.wantLast(11)
	if !f.append(10, 11, 13) {
		t.Fatal("follower refused AppendEntries after its snapshot's last entry")
	}
	f.wantLast(13)
	// The stand-in answers only for the snapshot's own index.
	var l raft.Log
	if err := f.cache.GetLog(9, &l); err == nil {
		t.Fatalf("entry 9, below the snapshot, read back: %+v", l)
	}
}

// A stand-in is never stored: a deposed leader's replication that read one
// (its store emptied between two reads) must not make a follower keep a
// no-op where a command belongs; the follower refuses the append and the
// leader falls back to the snapshot. And only a follower is given one.
func TestSnapGap_StandInIsNeverStoredNorGivenToALeader(t *testing.T) {
	f := newSnapGapFollower(t, func(c *logCache, snapshotAt func(uint64)) {
		snapshotAt(10)
		if err := c.StoreLogs(entries(11, 11)); err != nil {
			t.Fatal(err)
		}
	})
	var l raft.Log
	if err := f.cache.GetLog(10, &l); err != nil || l.Term != snapGapTerm {
		t.Fatalf("the follower's stand-in for 10: %+v %v", l, err)
	}
	if err := f.cache.StoreLogs([]*raft.Log{&l}); err == nil {
		t.Fatal("a stand-in was stored")
	}
	if f.send(9, []*raft.Log{&l}) {
		t.Fatal("the follower took a stand-in sent as entry 10")
	}
	f.wantLast(11)

	// The same store, but its node is not a follower: no stand-in.
	c := &logCache{LogStore: f.cache.LogStore, monotonic: true, snaps: f.cache.snaps}
	if err := c.GetLog(10, &l); err == nil {
		t.Fatalf("a node that does not run as a follower was given a stand-in: %+v", l)
	}
}

// A follower that already holds entries past a snapshot it is sent again
// keeps them, as Raft's memory of its last index says: hashicorp/raft
// emptied a monotonic store (raft-wal) but went on counting them, and every
// append that overlapped them was refused.
func TestSnapGap_SnapshotAgainKeepsTheEntriesAfterIt(t *testing.T) {
	f := newSnapGapFollower(t, func(*logCache, func(uint64)) {})
	if !f.append(0, 1, 3) {
		t.Fatal("fresh follower refused entries 1-3")
	}
	f.installSnapshot(20) // past its log: the next append leaves a gap
	if !f.append(20, 21, 22) {
		t.Fatal("follower refused entries after the snapshot it installed")
	}
	f.wantLast(22)
	f.installSnapshot(20) // again, as a leader that missed the reply does
	f.wantLast(22)
	if !f.append(20, 21, 24) {
		t.Fatal("follower refused entries 21-24 after the snapshot at 20 came again")
	}
	f.wantLast(24)
}
