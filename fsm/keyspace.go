package fsm

import (
	"strings"
	"sync"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/tidwall/btree"
)

// item is one key. The tree holds pointers to items (8 bytes a slot rather
// than the whole item: B-tree nodes run half empty) and an item is never
// changed once in the tree: every change stores a new one. A string value is immutable; a collection (hash, list, set,
// sorted set) is mutated in place only while no snapshot can share it, which
// its generation tells (see object.go): that is what lets a snapshot share
// the tree with the live keyspace.
type item struct {
	h   uint64 // xxhash of key: the tree is ordered by (h, key) so SCAN cursors are hashes
	key string
	exp int64  // expiry, Unix ms; 0 = none
	ver uint64 // log index of the entry that last wrote the key (WATCH)
	val any    // string, *hashObj, *listObj, *setObj or *zsetObj
}

// expItem indexes keys that carry a TTL, ordered by expiry.
type expItem struct {
	exp int64
	key string
}

func lessItem(a, b *item) bool {
	if a.h != b.h {
		return a.h < b.h
	}
	return a.key < b.key
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
	tree *btree.BTreeG[*item]
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
	touched *[]string
	// probes recycles the search keys of lookups: a probe handed to the
	// tree escapes, and reads may run concurrently under the FSM's read lock.
	probes sync.Pool
}

// probe returns a search key for key; give it back with unprobe.
func (ks *keyspace) probe(key string) *item {
	p, _ := ks.probes.Get().(*item)
	if p == nil {
		p = new(item)
	}
	p.h, p.key = hashKey(key), key
	return p
}

func (ks *keyspace) unprobe(p *item) {
	p.key = ""
	ks.probes.Put(p)
}

func newKeyspace() *keyspace {
	return &keyspace{
		tree:  btree.NewBTreeGOptions(lessItem, btree.Options{NoLocks: true}),
		exps:  btree.NewBTreeGOptions(lessExp, btree.Options{NoLocks: true}),
		tombs: newTombs(),
	}
}

// clone returns a copy-on-write copy, O(1). The live keyspace moves to a
// new generation, so every collection it holds now is copied before its
// next change (the clone, read only by a snapshot, never changes).
func (ks *keyspace) clone() *keyspace {
	ks.gen++
	return &keyspace{tree: ks.tree.Copy(), exps: ks.exps.Copy(), tombs: ks.tombs.copy(),
		index: ks.index, clock: ks.clock, gen: ks.gen}
}

func hashKey(k string) uint64 { return xxhash.Sum64String(k) }

// raw returns the item whether expired or not.
func (ks *keyspace) raw(key string) (item, bool) {
	q := ks.probe(key)
	p, ok := ks.tree.Get(q)
	ks.unprobe(q)
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

// put stores it, keeping the expiry index in step.
func (ks *keyspace) put(it item) {
	if it.h == 0 {
		it.h = hashKey(it.key)
	}
	it.ver = ks.index
	if ks.touched != nil {
		*ks.touched = append(*ks.touched, it.key)
	}
	p, replaced := ks.tree.Set(&it)
	var prev item
	if replaced {
		prev = *p
		if unsafe.StringData(it.key) == unsafe.StringData(prev.key) && it.val != prev.val && sharesKey(prev) {
			// it reuses the key of a string stored with its value in one
			// allocation: keeping that key would keep the old value alive.
			it.key = strings.Clone(it.key)
		}
	}
	if replaced && prev.exp != 0 && prev.exp != it.exp {
		ks.exps.Delete(expItem{prev.exp, prev.key})
	}
	if it.exp != 0 && (!replaced || prev.exp != it.exp) {
		ks.exps.Set(expItem{it.exp, it.key})
	}
}

// del removes key, leaving a tombstone; it reports whether the key existed
// (expired or not).
func (ks *keyspace) del(key string) (item, bool) {
	q := ks.probe(key)
	p, ok := ks.tree.Delete(q)
	ks.unprobe(q)
	if !ok {
		return item{}, false
	}
	prev := *p
	if ks.touched != nil {
		*ks.touched = append(*ks.touched, key)
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
