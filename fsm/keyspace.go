package fsm

import (
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// item is one key. The tree holds pointers to items (a slot: the key's
// hash and a pointer, 16 bytes rather than the whole item, as B-tree nodes
// run half empty) and an item is never changed once in the tree: every
// change stores a new one. A string value is immutable; a collection (hash, list, set,
// sorted set) is mutated in place only while no snapshot can share it, which
// its generation tells (see object.go): that is what lets a snapshot share
// the tree with the live keyspace.
type item struct {
	key string
	exp int64  // expiry, Unix ms; 0 = none
	ver uint64 // log index of the entry that last wrote the key (WATCH)
	val any    // string, *hashObj, *listObj, *setObj, *zsetObj or *streamObj
	// raw marks a string that OBJECT ENCODING reports "raw" whatever its
	// value, as Redis does for a string a command changed in place (SETBIT,
	// BITFIELD, PFADD, APPEND ...: dbUnshareStringValue) or built as an sds
	// (BITOP, PFMERGE) and never re-encodes. Moves, renames, copies and TTL
	// changes keep it; a new value clears it.
	raw bool
	// acc is the key's access word (access.go), shared by every version of
	// its item and updated atomically by reads: never part of the state.
	acc *atomic.Uint32
}

// expItem indexes keys that carry a TTL, ordered by expiry.
type expItem struct {
	exp int64
	key string
}

// slot is one entry of the key tree, ordered by (h, key) so SCAN cursors
// are hashes. The hash sits in the tree's node beside the pointer so that
// a lookup's comparisons read the node's own array: only hashes that tie
// dereference an item for its key. With items behind pointers in a tree of
// a million keys, each comparison was a cache miss.
type slot struct {
	h  uint64 // xxhash of it.key
	it *item
}

func lessSlot(a, b slot) bool {
	if a.h != b.h {
		return a.h < b.h
	}
	return a.it.key < b.it.key
}

func lessExp(a, b expItem) bool {
	if a.exp != b.exp {
		return a.exp < b.exp
	}
	return a.key < b.key
}

// keyspace is the whole database: the keys and an index of their expiries.
// It has no lock of its own: the FSM's lock guards it.
type keyspace struct {
	tree *btree.BTreeG[slot]
	exps *btree.BTreeG[expItem]
	// index is the log index being applied; every write stamps it on the item.
	index uint64
	// clock is the replicated clock of the entry being applied (Unix ms).
	clock int64
	// tombs remembers deleted keys for WATCH (tomb.go).
	tombs tombs
	// gen is bumped by every clone: a collection whose gen is older may be
	// shared with a snapshot and must be copied before it is changed.
	gen uint64
	// touched, when non-nil, collects every key put or deleted (the keys an
	// entry wrote, for the apply hook).
	touched *[]DBKey
	// num is this keyspace's database number (SWAPDB changes it).
	num int
	// swapped is the index of the last SWAPDB that moved this keyspace: a
	// WATCH older than it sees every key as changed (tx.go).
	swapped uint64
	// f, while an entry is applied (stamp), is where the keyspace reports
	// the keys it creates (notify.go): never set on a read or a clone.
	f *FSM
	// lfu tells put how to start a new key's access word (access.go): set
	// from the maxmemory-policy in force by stamp.
	lfu bool
	// probes recycles the search keys of lookups: a probe handed to the
	// tree escapes, and reads may run concurrently under the FSM's read lock.
	probes sync.Pool
}

// probe returns a search key for key; give it back with unprobe.
func (ks *keyspace) probe(key string) slot {
	p, _ := ks.probes.Get().(*item)
	if p == nil {
		p = new(item)
	}
	p.key = key
	return slot{hashKey(key), p}
}

func (ks *keyspace) unprobe(q slot) {
	q.it.key = ""
	ks.probes.Put(q.it)
}

// lookup returns the item stored under key, expired or not.
func (ks *keyspace) lookup(key string) (*item, bool) {
	q := ks.probe(key)
	s, ok := ks.tree.Get(q)
	ks.unprobe(q)
	return s.it, ok
}

func newKeyspace() *keyspace {
	return &keyspace{
		tree:  btree.NewBTreeGOptions(lessSlot, btree.Options{NoLocks: true}),
		exps:  btree.NewBTreeGOptions(lessExp, btree.Options{NoLocks: true}),
		tombs: newTombs(),
	}
}

// clone returns a copy-on-write copy, O(1). The live keyspace moves to
// generation gen (the FSM's, shared by every database so that a collection
// can move between them: MOVE, SWAPDB), so every collection it holds now is
// copied before its next change (the clone, read only by a snapshot, never
// changes).
func (ks *keyspace) clone(gen uint64) *keyspace {
	ks.gen = gen
	return &keyspace{tree: ks.tree.Copy(), exps: ks.exps.Copy(), tombs: ks.tombs.copy(),
		index: ks.index, clock: ks.clock, gen: ks.gen, num: ks.num, swapped: ks.swapped, lfu: ks.lfu}
}

func hashKey(k string) uint64 { return xxhash.Sum64String(k) }

// raw returns the item whether expired or not.
func (ks *keyspace) raw(key string) (item, bool) {
	p, ok := ks.lookup(key)
	if !ok {
		return item{}, false
	}
	return *p, true
}

// kvItem is a string item whose key and value share one allocation: one
// object instead of two for the allocator and the collector, and no size
// class rounding up twice.
func kvItem(key, val []byte, exp int64) item {
	buf := make([]byte, 0, len(key)+len(val))
	buf = append(append(buf, key...), val...)
	s := unsafe.String(unsafe.SliceData(buf), len(buf))
	return item{key: s[:len(key)], val: s[len(key):], exp: exp}
}

// sharesKey reports whether it is a kvItem: its string value starts where
// its key ends.
func sharesKey(it item) bool {
	v, ok := it.val.(string)
	return ok && len(v) > 0 && len(it.key) > 0 &&
		uintptr(unsafe.Pointer(unsafe.StringData(v))) == uintptr(unsafe.Pointer(unsafe.StringData(it.key)))+uintptr(len(it.key))
}

// put stores it, keeping the expiry index in step. A key it replaces that
// had expired is reported as reclaimed then created (created); no tombstone
// is left for it (see reclaim for the one that is).
func (ks *keyspace) put(it item) { ks.set(it, false) }

// reclaim is put for a write that would look the key up first (Redis's
// lookupKeyWrite, then setKey: plain SET), done in one traversal of the
// tree instead of get's and put's two: a replaced key that had expired is
// buried first as get's reclaiming del would (its tombstone, then
// "expired" and "new"), so the state and the events are those of get then
// put. It returns the live item it replaced, if any, for the caller to
// record the access get would have (touch).
func (ks *keyspace) reclaim(it item) (prev item, live bool) {
	return ks.set(it, true)
}

func (ks *keyspace) set(it item, bury bool) (prev item, live bool) {
	it.ver = ks.index
	if ks.touched != nil {
		*ks.touched = append(*ks.touched, DBKey{ks.num, it.key})
	}
	old, replaced := ks.tree.Set(slot{hashKey(it.key), &it})
	expired := false
	if replaced {
		prev = *old.it
		expired = isExpired(prev.exp, ks.clock)
		if unsafe.StringData(it.key) == unsafe.StringData(prev.key) && it.val != prev.val && sharesKey(prev) {
			// it reuses the key of a string stored with its value in one
			// allocation: keeping that key would keep the old value alive.
			it.key = strings.Clone(it.key)
		}
	}
	if it.acc == nil {
		if replaced && !expired && prev.acc != nil {
			it.acc = prev.acc
		} else {
			// A key that had expired is gone before this write creates
			// it again (Redis's lookup deletes it): a new access word.
			it.acc = newAccess(ks.clock, ks.lfu)
		}
	}
	if replaced && prev.exp != 0 && prev.exp != it.exp {
		ks.exps.Delete(expItem{prev.exp, prev.key})
	}
	// An unchanged expiry is indexed again under the new item's key so the
	// index does not keep the old key (and a value sharing its allocation)
	// alive.
	if it.exp != 0 && (!replaced || prev.exp != it.exp || sharesKey(prev)) {
		ks.exps.Set(expItem{it.exp, it.key})
	}
	if bury && expired {
		ks.buried(prev)
		ks.created(it.key, true)
	} else if !replaced || expired {
		ks.created(it.key, replaced)
	}
	return prev, replaced && !expired
}

// del removes key, leaving a tombstone; it reports whether the key existed
// (expired or not).
func (ks *keyspace) del(key string) (item, bool) {
	q := ks.probe(key)
	s, ok := ks.tree.Delete(q)
	ks.unprobe(q)
	if !ok {
		return item{}, false
	}
	prev := *s.it
	if ks.touched != nil {
		*ks.touched = append(*ks.touched, DBKey{ks.num, key})
	}
	if prev.exp != 0 {
		ks.exps.Delete(expItem{prev.exp, prev.key})
	}
	ks.buried(prev)
	return prev, true
}

// clear removes everything (FLUSHALL), leaving the tombstones WATCH needs
// (tomb.go).
func (ks *keyspace) clear() {
	ks.buryAll()
	ks.tree.Clear()
	ks.exps.Clear()
}

func (ks *keyspace) len() int { return ks.tree.Len() }

// isExpired reports whether a key with expiry exp (0 = none) is gone at
// now. As in Redis (keyIsExpired: now > when) a key still exists during the
// very millisecond it expires at, when PTTL answers 0.
func isExpired(exp, now int64) bool { return exp != 0 && exp < now }

// expiredKeys returns up to max keys that have expired by now.
func (ks *keyspace) expiredKeys(now int64, max int) []string {
	var keys []string
	ks.exps.Scan(func(e expItem) bool {
		if !isExpired(e.exp, now) || len(keys) >= max {
			return false
		}
		keys = append(keys, e.key)
		return true
	})
	return keys
}

// b views a string as bytes without copying; the result must not be mutated.
func b(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
