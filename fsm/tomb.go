package fsm

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tidwall/btree"
)

// Tombstones let WATCH see changes to keys that do not exist when EXEC runs.
// A key that exists carries the index of its last write (item.ver), but a
// key that was created and deleted again after WATCH, or deleted and
// re-created and deleted, leaves nothing in the tree. So every deletion
// leaves a tombstone: the key and the index of its last logical change.
//
// A key deleted because it had expired was already logically gone, so its
// tombstone keeps the index of its last write, not of its removal: as in
// Redis, WATCH of a key that had already expired is not disturbed when the
// expired key is reclaimed, while a key that expires after WATCH aborts the
// transaction (it was live then and is not now).
//
// Tombstones are pruned, oldest deletion first, once they are older than
// tombWindow (replicated clock) or more than maxTombs of them exist. The
// largest change index pruned is kept as the floor: an absent key without a
// tombstone may have changed as late as the floor, so a transaction that
// watched it at an older index aborts (conservatively). Pruning depends only
// on the entries applied, and tombstones and floor are part of the snapshot,
// so every replica decides every EXEC alike.
const (
	tombWindow = 60_000 // ms
	maxTombs   = 100_000
)

type tomb struct {
	key string
	mod uint64 // index of the key's last logical change
	del uint64 // index of the entry that deleted it (pruning order)
	at  int64  // replicated clock when deleted, Unix ms
}

func lessTombKey(a, b *tomb) bool { return a.key < b.key }

func lessTombAge(a, b *tomb) bool {
	if a.del != b.del {
		return a.del < b.del
	}
	return a.key < b.key
}

// tombs is the keyspace's record of deleted keys: by key for lookups, by
// deletion for pruning. Both trees copy in O(1) for snapshots.
type tombs struct {
	byKey *btree.BTreeG[*tomb]
	byAge *btree.BTreeG[*tomb]
	floor uint64
}

func newTombs() tombs {
	return tombs{
		byKey: btree.NewBTreeGOptions(lessTombKey, btree.Options{NoLocks: true}),
		byAge: btree.NewBTreeGOptions(lessTombAge, btree.Options{NoLocks: true}),
	}
}

func (t *tombs) copy() tombs {
	return tombs{byKey: t.byKey.Copy(), byAge: t.byAge.Copy(), floor: t.floor}
}

func (t *tombs) len() int { return t.byKey.Len() }

// set records a tombstone, replacing the key's previous one. Records are
// never changed once in a tree (a snapshot may share them).
func (t *tombs) set(tb *tomb) {
	if old, ok := t.byKey.Set(tb); ok {
		t.byAge.Delete(old)
	}
	t.byAge.Set(tb)
}

func (t *tombs) get(key string) (*tomb, bool) {
	return t.byKey.Get(&tomb{key: key})
}

// prune drops tombstones older than tombWindow at clock now, and the oldest
// beyond maxTombs, raising the floor to the changes they recorded.
func (t *tombs) prune(now int64) {
	for t.byAge.Len() > 0 {
		old, _ := t.byAge.Min()
		if t.byAge.Len() <= maxTombs && old.at >= now-tombWindow {
			return
		}
		t.drop(old)
	}
}

func (t *tombs) drop(old *tomb) {
	t.byAge.Delete(old)
	t.byKey.Delete(old)
	t.floor = max(t.floor, old.mod)
}

// clear forgets every tombstone; an absent key may then have changed as
// late as index.
func (t *tombs) clear(index uint64) {
	t.byKey.Clear()
	t.byAge.Clear()
	t.floor = max(t.floor, index)
}

// buried records the deletion of prev at the index being applied.
func (ks *keyspace) buried(prev item) {
	mod := ks.index
	if isExpired(prev.exp, ks.clock) {
		mod = prev.ver // gone already: its removal is no change
	}
	key := prev.key
	if sharesKey(prev) {
		key = strings.Clone(key) // do not keep the deleted value alive
	}
	ks.tombs.set(&tomb{key: key, mod: mod, del: ks.index, at: ks.clock})
}

// changedAbsent records a change to a key that leaves it absent without
// it having existed (SET with a time already past), which Redis counts as
// a modification of the key.
func (ks *keyspace) changedAbsent(key string) {
	ks.tombs.set(&tomb{key: key, mod: ks.index, del: ks.index, at: ks.clock})
}

// buryAll runs before the keyspace is emptied (FLUSHALL). It leaves a
// tombstone for every key that a transaction watching it as absent could
// have seen created: one written after the floor. A keyspace too big to
// walk cheaply raises the floor instead, so such transactions abort
// conservatively.
func (ks *keyspace) buryAll() {
	if ks.tree.Len() > maxTombs {
		ks.tombs.clear(ks.index)
	} else {
		ks.tree.Scan(func(s slot) bool {
			if s.it.ver > ks.tombs.floor {
				ks.buried(*s.it)
			}
			return true
		})
	}
}

// changedSince reports whether key, which WATCH found absent (missing or
// expired) at index r, may have changed after r: it exists now, or it was
// written, deleted or created after r.
func (c *ctx) changedSince(key []byte, r uint64) bool {
	if it, ok := c.ks.raw(string(key)); ok {
		return !isExpired(it.exp, c.now) || it.ver > r
	}
	if tb, ok := c.ks.tombs.get(string(key)); ok {
		return tb.mod > r
	}
	return c.ks.tombs.floor > r
}

// writeTombs appends the tombstones to a snapshot, oldest deletion first.
func writeTombs(w *snapWriter, t *tombs) {
	w.buf = binary.AppendUvarint(w.buf, t.floor)
	w.buf = binary.AppendUvarint(w.buf, uint64(t.byAge.Len()))
	t.byAge.Scan(func(tb *tomb) bool {
		w.str(tb.key)
		w.buf = binary.AppendUvarint(w.buf, tb.mod)
		w.buf = binary.AppendUvarint(w.buf, tb.del)
		w.buf = binary.AppendVarint(w.buf, tb.at)
		return w.err == nil
	})
}

// readTombs reads what writeTombs wrote.
func readTombs(r *snapReader, ks *keyspace) error {
	floor, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	ks.tombs.floor = floor
	var prev *tomb
	for i := uint64(0); i < n; i++ {
		tb := &tomb{}
		if tb.key, err = r.str(); err != nil {
			return err
		}
		if tb.mod, err = binary.ReadUvarint(r); err != nil {
			return err
		}
		if tb.del, err = binary.ReadUvarint(r); err != nil {
			return err
		}
		if tb.at, err = binary.ReadVarint(r); err != nil {
			return err
		}
		if prev != nil && !lessTombAge(prev, tb) {
			return fmt.Errorf("tombstone %q out of order", tb.key)
		}
		if _, dup := ks.tombs.get(tb.key); dup {
			return fmt.Errorf("tombstone %q appears twice", tb.key)
		}
		ks.tombs.set(tb)
		prev = tb
	}
	return nil
}
