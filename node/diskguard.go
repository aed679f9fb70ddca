package node

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
	"github.com/understudy/understudy/fsm"
)

// A failed write to the log or stable store (disk full, a file size limit,
// an I/O error) stops the node: fail-stop rather than limp on.
// hashicorp/raft copes with a failed log append (the leader steps down, a
// follower refuses the entries) but panics when it cannot store a new term,
// and after a failed append it may keep a log suffix in memory that is not
// on disk. So the first failed write fences the stores: later log writes
// fail at once without touching the disk, and a term or vote write never
// returns (Raft's loop stops there instead of panicking or voting without a
// durable record). A log entry that cannot be read back (an I/O error, a
// damaged WAL frame) fences them too: Raft would panic applying it. The
// server sees Failed and exits with the error, which names the file.
// Nothing acknowledged is lost: an entry is acknowledged only once a
// majority has stored it, and the others carry on. After space is freed the
// node restarts and catches up from the leader.

// diskGuard wraps the log store (bolt or WAL) and the stable store (bolt).
type diskGuard struct {
	raft.LogStore
	stable     raft.StableStore
	logPath    string // raft.db, or the WAL's directory
	stablePath string
	// locate names the file holding a log entry (a WAL segment), for
	// messages; nil means logPath.
	locate func(uint64) string
	log    *slog.Logger

	once   sync.Once
	err    error         // set once, before failed is closed
	failed chan struct{} // closed on the first failed write
}

func newDiskGuard(logs raft.LogStore, logPath string, stable raft.StableStore, stablePath string, log *slog.Logger) *diskGuard {
	return &diskGuard{LogStore: logs, logPath: logPath, stable: stable, stablePath: stablePath, log: log, failed: make(chan struct{})}
}

// fail records the first log write error and returns the error to report.
func (g *diskGuard) fail(op string, err error) error {
	return g.failAt("log store", g.logPath, op, err)
}

// failAt is fail for a write to any of the node's files: store names what
// path is ("log store", "snapshot store").
func (g *diskGuard) failAt(store, path, op string, err error) error {
	g.once.Do(func() {
		hint := "this node stops; once the cause is fixed, restart it: it catches up from the others"
		switch {
		case errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG):
			hint = "the disk is full (or a file size limit was hit); this node stops. Free space, then restart it: it catches up from the others"
		case errors.Is(err, fsm.ErrEntryChecksum):
			hint = "this node stops; " + recoveryHint
		}
		g.err = fmt.Errorf("%s %s: %s failed: %w; %s", store, path, op, err, hint)
		g.log.Error("storage write failed, stopping the node", "file", path, "op", op, "err", err)
		close(g.failed)
	})
	return g.err
}

// fenced returns the recorded error once a write has failed.
func (g *diskGuard) fenced() error {
	select {
	case <-g.failed:
		return g.err
	default:
		return nil
	}
}

// IsMonotonic makes Raft clear the whole log after installing a snapshot
// (raft.MonotonicLogStore), whichever store holds it. The WAL requires it:
// it accepts appends only in sequence. bolt needs it too: otherwise Raft
// keeps the entries above the compaction point, and a follower that had
// stored the entry just past the snapshot before installing it keeps that
// entry beside a gap; asked for the snapshot's index as the previous
// entry, it looks it up in the log (hashicorp/raft does not consult the
// snapshot), refuses, and is sent the snapshot again, forever.
func (g *diskGuard) IsMonotonic() bool { return true }

// GetLog reads an entry. One that exists but cannot be read fences the
// node (and parks the caller): Raft panics when the entry it must apply
// cannot be read, and would replicate around a hole.
//
// An entry below the first index is not found, whatever the store still
// holds: raft-wal deletes only whole segments, and would otherwise keep
// serving entries compaction removed, so that Raft would send a follower far
// behind hundreds of old entries where bolt's log sends it the snapshot.
func (g *diskGuard) GetLog(idx uint64, l *raft.Log) error {
	if first, err := g.LogStore.FirstIndex(); err == nil && idx < first {
		return raft.ErrLogNotFound
	}
	err := g.LogStore.GetLog(idx, l)
	if err == nil || errors.Is(err, raft.ErrLogNotFound) {
		return err
	}
	if ferr := g.fenced(); ferr != nil {
		return ferr
	}
	file := g.logPath
	if g.locate != nil {
		file = g.locate(idx)
	}
	g.failAt("log store", file, fmt.Sprintf("reading entry %d", idx), err)
	g.blockIfFenced()
	return err
}

// StoreLog stores one entry, unless the store is fenced.
func (g *diskGuard) StoreLog(l *raft.Log) error { return g.StoreLogs([]*raft.Log{l}) }

// StoreLogs stores entries, unless the store is fenced.
func (g *diskGuard) StoreLogs(logs []*raft.Log) error {
	if err := g.fenced(); err != nil {
		return err
	}
	if err := g.LogStore.StoreLogs(logs); err != nil {
		return g.fail("append", err)
	}
	return nil
}

// DeleteRange removes entries (compaction, a conflicting suffix), unless
// the store is fenced.
func (g *diskGuard) DeleteRange(lo, hi uint64) error {
	if err := g.fenced(); err != nil {
		return err
	}
	if err := g.LogStore.DeleteRange(lo, hi); err != nil {
		return g.fail("delete range", err)
	}
	return nil
}

// Get reads a stable value.
func (g *diskGuard) Get(k []byte) ([]byte, error) { return g.stable.Get(k) }

// GetUint64 reads a stable number.
func (g *diskGuard) GetUint64(k []byte) (uint64, error) { return g.stable.GetUint64(k) }

// Set stores a stable value (the vote); once the store has failed it never
// returns (see the comment at the top of this file).
func (g *diskGuard) Set(k, v []byte) error {
	g.blockIfFenced()
	if err := g.stable.Set(k, v); err != nil {
		g.failAt("stable store", g.stablePath, "store vote", err)
		g.blockIfFenced()
	}
	return nil
}

// SetUint64 stores a stable number (the term, the vote's term); once the
// store has failed it never returns.
func (g *diskGuard) SetUint64(k []byte, v uint64) error {
	g.blockIfFenced()
	if err := g.stable.SetUint64(k, v); err != nil {
		g.failAt("stable store", g.stablePath, "store term", err)
		g.blockIfFenced()
	}
	return nil
}

// blockIfFenced parks the calling goroutine (Raft's main loop) for good once
// the store has failed: returning an error would make Raft panic, and
// returning success would be a lie about the term or vote.
func (g *diskGuard) blockIfFenced() {
	if g.fenced() != nil {
		select {}
	}
}

// Failed is closed when a write to the log or stable store has failed; the node is fenced
// and the process should stop (Failure says why). Never closed for a node
// with in-memory stores.
func (n *Node) Failed() <-chan struct{} {
	if n.guard == nil {
		return nil
	}
	return n.guard.failed
}

// Failure is the error that fenced the node, or nil.
func (n *Node) Failure() error {
	if n.guard == nil {
		return nil
	}
	return n.guard.fenced()
}

// shutdownRaft stops Raft and the node's goroutines. If the store failed,
// Raft's loop may be parked in the guard for good, so the wait is bounded
// and ok is false when it was cut short (the stores stay open: the process
// is about to exit).
func (n *Node) shutdownRaft() (ok bool, err error) {
	done := make(chan error, 1)
	go func() {
		err := n.raft.Shutdown().Error()
		n.wg.Wait()
		done <- err
	}()
	select {
	case err := <-done:
		return true, err
	case <-n.Failed():
	}
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case err := <-done:
		return true, err
	case <-t.C:
		return false, fmt.Errorf("raft did not stop after the store failed: %w", n.guard.err)
	}
}
