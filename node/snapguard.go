package node

import (
	"errors"
	"syscall"

	"github.com/hashicorp/raft"
)

// snapshotGuard stops the node, like a failed log write, when a snapshot
// cannot be written because the disk is full (or a file size limit is hit):
// a follower would otherwise refuse the leader's snapshot and be sent it
// again and again, logging each time, while the log writes that come next
// fail too. Other snapshot errors are Raft's to handle (it retries).
type snapshotGuard struct {
	raft.SnapshotStore
	guard *diskGuard
	dir   string
}

// Create opens a snapshot for writing.
func (s snapshotGuard) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.SnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		return nil, s.check("create snapshot", err)
	}
	return guardedSink{SnapshotSink: sink, s: s}, nil
}

func (s snapshotGuard) check(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
		return s.guard.failAt("snapshot store", s.dir, op, err)
	}
	return err
}

type guardedSink struct {
	raft.SnapshotSink
	s snapshotGuard
}

// Write writes snapshot data.
func (g guardedSink) Write(p []byte) (int, error) {
	n, err := g.SnapshotSink.Write(p)
	if err != nil {
		err = g.s.check("write snapshot", err)
	}
	return n, err
}

// Close finishes the snapshot (flush, fsync, rename into place).
func (g guardedSink) Close() error {
	if err := g.SnapshotSink.Close(); err != nil {
		return g.s.check("finish snapshot", err)
	}
	return nil
}
