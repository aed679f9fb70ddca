package node

import (
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// Observer receives measurements from the node's hot paths, for metrics.
// Calls come from many goroutines and must be cheap and non-blocking (a
// Prometheus histogram's Observe is a few atomic operations). A nil
// Config.Observer measures nothing.
type Observer interface {
	// ObserveApply reports one log entry of cmds client commands: the time
	// from handing it to Raft to its being committed and applied here.
	ObserveApply(cmds int, d time.Duration)
	// ObserveSnapshot reports one snapshot written by this node: its size in
	// bytes and how long Persist took; err is set if it failed.
	ObserveSnapshot(size int64, d time.Duration, err error)
	// ObserveRestore reports the state replaced from a snapshot (a
	// follower catching up by snapshot install, or a restore).
	ObserveRestore(d time.Duration, err error)
}

// observedFSM is the state machine as Raft sees it: fsm.FSM, with snapshot
// persist and restore timed for the Observer. Everything else is the
// embedded FSM's.
type observedFSM struct {
	*fsm.FSM
	obs Observer
}

// raftFSM returns what to hand to raft.NewRaft.
func (n *Node) raftFSM() raft.FSM {
	if n.cfg.Observer == nil {
		return n.fsm
	}
	return observedFSM{FSM: n.fsm, obs: n.cfg.Observer}
}

// refuseEntry is the FSM's hook for an entry that does not decode. The
// start-up check verifies the log on disk; this catches an entry damaged
// since (read back from a failing disk, or sent by a leader whose disk is
// failing). The node fails (the server exits naming the entry and the
// file) and the FSM goroutine waits here for shutdown, so nothing after the
// entry is applied and no snapshot can include it.
func (n *Node) refuseEntry(l *raft.Log, err error) {
	if n.guard == nil {
		panic(fmt.Sprintf("log entry %d (term %d) is damaged: %v", l.Index, l.Term, err))
	}
	file := n.guard.logPath
	if n.guard.locate != nil {
		file = n.guard.locate(l.Index)
	}
	n.guard.failAt("log store", file, fmt.Sprintf("applying entry %d (term %d)", l.Index, l.Term), err)
	<-n.stop
}

// Snapshot wraps the FSM's snapshot so that Persist is measured.
func (o observedFSM) Snapshot() (raft.FSMSnapshot, error) {
	s, err := o.FSM.Snapshot()
	if err != nil {
		return nil, err
	}
	return observedSnapshot{FSMSnapshot: s, obs: o.obs}, nil
}

// Restore times the FSM's Restore.
func (o observedFSM) Restore(r io.ReadCloser) error {
	start := time.Now()
	err := o.FSM.Restore(r)
	o.obs.ObserveRestore(time.Since(start), err)
	return err
}

type observedSnapshot struct {
	raft.FSMSnapshot
	obs Observer
}

// Persist counts the bytes written to the sink and times the whole stream.
func (s observedSnapshot) Persist(sink raft.SnapshotSink) error {
	start := time.Now()
	cs := &countingSink{SnapshotSink: sink}
	err := s.FSMSnapshot.Persist(cs)
	s.obs.ObserveSnapshot(cs.n, time.Since(start), err)
	return err
}

type countingSink struct {
	raft.SnapshotSink
	n int64
}

func (c *countingSink) Write(p []byte) (int, error) {
	n, err := c.SnapshotSink.Write(p)
	c.n += int64(n)
	return n, err
}
