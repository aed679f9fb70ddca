package node

import (
	"sync"

	"github.com/hashicorp/raft"
)

// logCacheBytes bounds the entries the log cache holds. The leader reads
// recent entries back to replicate them, and a follower to apply them; a
// follower that has fallen further behind reads them from raft.db.
const logCacheBytes = 2 << 20

// logCache keeps the newest log entries in memory, bounded by their size
// rather than their number (raft.LogCache counts entries): an entry carries
// a whole batch of writes, up to MaxBatchBytes, so 64 cached entries held
// 11.5 MB after a 100k-key bulk load, more than a hundred bytes a key.
type logCache struct {
	raft.LogStore

	mu   sync.RWMutex
	logs []*raft.Log // consecutive indexes, oldest first
	size int         // bytes of Data held
}

func newLogCache(store raft.LogStore) *logCache { return &logCache{LogStore: store} }

// GetLog serves idx from memory when it is cached.
func (c *logCache) GetLog(idx uint64, log *raft.Log) error {
	c.mu.RLock()
	if n := len(c.logs); n > 0 && idx >= c.logs[0].Index && idx <= c.logs[n-1].Index {
		*log = *c.logs[idx-c.logs[0].Index]
		c.mu.RUnlock()
		return nil
	}
	c.mu.RUnlock()
	return c.LogStore.GetLog(idx, log)
}

// StoreLog stores one entry and caches it.
func (c *logCache) StoreLog(log *raft.Log) error { return c.StoreLogs([]*raft.Log{log}) }

// StoreLogs stores entries and caches them once they are durable.
func (c *logCache) StoreLogs(logs []*raft.Log) error {
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
	for len(c.logs) > 1 && c.size > logCacheBytes {
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
