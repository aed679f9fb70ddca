package node

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// logCacheBytes bounds the entries the log cache holds. The leader reads
// recent entries back to replicate them, and a follower to apply them; a
// follower that has fallen further behind reads them from the log store.
const logCacheBytes = 2 << 20

// logCacheMin is how many of the newest entries are kept whatever their
// size. Replication reads the entry before the next one it sends (for its
// term), and a follower applies an entry once the next message says it is
// committed: with MaxInflight entries outstanding, both are among the
// newest few. A large entry evicted early would be read back from the store
// on every message that follows it; from bolt, that means decoding it with
// raft-boltdb's msgpack, which copies a byte string 256 KiB at a time
// (quadratic: about a second of CPU for a 30 MB entry).
const logCacheMin = 4

// logCache keeps the newest log entries in memory, bounded by their size
// rather than their number (raft.LogCache counts entries): an entry carries
// a whole batch of writes, up to MaxBatchBytes, so 64 cached entries held
// 11.5 MB after a 100k-key bulk load, more than a hundred bytes a key. The
// newest logCacheMin entries stay whatever their size.
//
// It also stands between Raft and two gaps hashicorp/raft v1.8.0 leaves
// after installing a snapshot (snapgap.go says how).
type logCache struct {
	raft.LogStore
	// monotonic: the store refuses an append that does not follow its
	// last entry (raft-wal).
	monotonic bool
	// snaps lists the snapshots, newest first.
	snaps raft.SnapshotStore
	// running is the node's Raft, once it runs (snapgap.go asks its state).
	running atomic.Pointer[raft.Raft]

	mu   sync.RWMutex
	logs []*raft.Log // consecutive indexes, oldest first
	size int         // bytes of Data held
}

// newLogCache wraps store; snaps is the snapshot store Raft is given. The
// wrapper does not implement raft.MonotonicLogStore, whatever the store
// does: see restartAfterGap.
func newLogCache(store raft.LogStore, snaps raft.SnapshotStore) *logCache {
	m, ok := store.(raft.MonotonicLogStore)
	return &logCache{LogStore: store, monotonic: ok && m.IsMonotonic(), snaps: snaps}
}

// GetLog serves idx from memory when it is cached, else from the store,
// else, for the newest snapshot's last entry only, from the snapshot.
func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	if n := len(c.logs); n > 0 && idx >= c.logs[0].Index && idx <= c.logs[n-1].Index {
		*log = *c.logs[idx-c.logs[0].Index]
		c.mu.RUnlock()
		return nil
	}
	c.mu.RUnlock()
	err := c.LogStore.GetLog(idx, log)
	if errors.Is(err, raft.ErrLogNotFound) && c.snapshotEntry(idx, log) {
		return nil
	}
	return err
}

// StoreLog stores one entry and caches it.
func (c *logCache) StoreLog(log *raft.Log) error { return c.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores entries and caches them once they are durable.
func (c *logCache) StoreLogs(logs []*raft.Log) error {
	if err := refuseStandIns(logs); err != nil {
		return err
	}
	if c.monotonic && len(logs) > 0 {
		if err := c.restartAfterGap(logs[0].Index); err != nil {
			return err
		}
	}
	if err := c.LogStore.StoreLogs(logs); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range logs {
		if n := len(c.logs); n > 0 && l.Index != c.logs[n-1].Index+1 {
			c.reset() // a gap or an overwrite: start again from here
		}
		c.logs = append(c.logs, l)
		c.size += len(l.Data)
	}
	for len(c.logs) > logCacheMin && c.size > logCacheBytes {
		c.size -= len(c.logs[0].Data)
		c.logs[0] = nil // let the entry go before append reallocates
		c.logs = c.logs[1:]
	}
	return nil
}

// DeleteRange drops the cache (compaction or a conflicting suffix) and then
// the entries.
func (c *logCache) DeleteRange(lo, hi uint64) error {
	c.mu.Lock()
	c.reset()
	c.mu.Unlock()
	return c.LogStore.DeleteRange(lo, hi)
}

func (c *logCache) reset() {
	c.logs, c.size = nil, 0
}
