package node

import (
	"bytes"
	"fmt"

	"github.com/hashicorp/raft"
)

// Two gaps hashicorp/raft v1.8.0 leaves in a follower's log after it
// installs a snapshot at index s, both of which used to livelock the
// follower: the leader's next AppendEntries was refused, the leader walked
// back below its own first entry, sent the snapshot again, and so on for
// ever (upstream hashicorp/raft#697 is a relative).
//
//   - Raft checks AppendEntries' previous entry against its last entry or
//     the log store, never against the snapshot. A follower whose store holds
//     entries after s but not s itself (it emptied its log for the snapshot,
//     appended s+1, then restarted, or was sent s+1 again) refuses "previous
//     entry s" though the snapshot says s's term. snapshotEntry answers
//     for s from the newest snapshot's metadata.
//   - For a store that declares itself monotonic (raft-wal), Raft empties the
//     whole store after the install but keeps its in-memory last index: when
//     the follower already held entries past s they are gone from the disk
//     yet still counted, and every later append that overlaps them fails.
//     The log cache therefore does not declare itself monotonic: Raft
//     compacts as it does for bolt (entries after s stay, as Raft's memory
//     says), and restartAfterGap empties the store only when the next append
//     would leave a gap, which the WAL would refuse.

// standInData marks a stand-in entry, so that one can never be stored.
var standInData = []byte("understudy: stand-in for a snapshot's last entry, never stored")

// snapshotEntry fills log with a stand-in for the entry at idx when idx is
// the newest snapshot's last index, the store holds neither it nor the entry
// before it, and this node follows. Raft reads the stand-in only for its
// term, in the check of AppendEntries' previous entry; the snapshot has
// applied the entry itself.
//
// A stand-in must never be replicated as the entry. Only a leader replicates,
// and a leader gets none. A deposed leader's replication may still be
// running for a moment after it follows, and a store emptied between its
// read of idx-1 and of idx (restartAfterGap on a user restore did exactly
// that) would hand it one: so StoreLogs refuses a stand-in, and the sender
// falls back to the snapshot.
func (c *logCache) snapshotEntry(idx uint64, log *raft.Log) bool {
	if c.snaps == nil || idx < 2 {
		return false
	}
	if r := c.running.Load(); r == nil || r.State() != raft.Follower {
		return false
	}
	metas, err := c.snaps.List()
	if err != nil || len(metas) == 0 || metas[0].Index != idx {
		return false
	}
	var before raft.Log
	if err := c.LogStore.GetLog(idx-1, &before); err == nil {
		return false
	}
	*log = raft.Log{Index: idx, Term: metas[0].Term, Type: raft.LogNoop, Data: standInData}
	return true
}

// refuseStandIns fails an append that carries a stand-in.
func refuseStandIns(logs []*raft.Log) error {
	for _, l := range logs {
		if l.Type == raft.LogNoop && bytes.Equal(l.Data, standInData) {
			return fmt.Errorf("entry %d is a stand-in for a snapshot's last entry, sent as the entry: refused", l.Index)
		}
	}
	return nil
}

// restartAfterGap empties a monotonic store when the entry about to be
// appended, next, does not follow its last one. Raft appends after the
// larger of its last entry and its snapshot, so a gap means a snapshot (a
// received one, or an operator's restore) has overtaken the whole store:
// every entry in it is covered by the snapshot.
func (c *logCache) restartAfterGap(next uint64) error {
	c.mu.RLock()
	n := len(c.logs)
	follows := n > 0 && c.logs[n-1].Index+1 == next
	c.mu.RUnlock()
	if follows {
		return nil
	}
	last, err := c.LogStore.LastIndex()
	if err != nil {
		return fmt.Errorf("log store last index: %w", err)
	}
	if last == 0 || next <= last+1 {
		return nil // empty, in sequence, or an overwrite the store judges
	}
	first, err := c.LogStore.FirstIndex()
	if err != nil {
		return fmt.Errorf("log store first index: %w", err)
	}
	if err := c.DeleteRange(first, last); err != nil {
		return fmt.Errorf("empty the log store (entries %d-%d) before entry %d, after a snapshot: %w", first, last, next, err)
	}
	return nil
}
