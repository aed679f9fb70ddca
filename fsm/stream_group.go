package fsm

import "github.com/tidwall/btree"

// streamGroup is a consumer group: where it has read up to, its pending
// entries list (PEL: delivered, not yet acknowledged) and its consumers,
// each with its own PEL (the IDs it holds). Times are entry times (c.now),
// the same on every replica.
type streamGroup struct {
	gen         uint64
	name        string
	lastID      streamID
	entriesRead int64 // -1: unknown (SCG_INVALID_ENTRIES_READ)
	pel         *btree.BTreeG[nack]
	consumers   *btree.BTreeG[*streamConsumer]
}

// nack is one pending entry of a group.
type nack struct {
	id       streamID
	consumer string // the consumer holding it
	time     int64  // last delivery, Unix ms
	count    int64  // deliveries
}

type streamConsumer struct {
	gen  uint64
	name string
	seen int64 // last interaction, Unix ms
	pel  *btree.BTreeG[streamID]
}

const invalidEntriesRead = -1

func newGroupTree() *btree.BTreeG[*streamGroup] {
	return btree.NewBTreeGOptions(func(a, b *streamGroup) bool { return a.name < b.name }, btree.Options{NoLocks: true})
}

func newPEL() *btree.BTreeG[nack] {
	return btree.NewBTreeGOptions(func(a, b nack) bool { return a.id.less(b.id) }, btree.Options{NoLocks: true})
}

func newConsumerPEL() *btree.BTreeG[streamID] {
	return btree.NewBTreeGOptions(streamID.less, btree.Options{NoLocks: true})
}

func newConsumerTree() *btree.BTreeG[*streamConsumer] {
	return btree.NewBTreeGOptions(func(a, b *streamConsumer) bool { return a.name < b.name }, btree.Options{NoLocks: true})
}

func newStreamGroup(gen uint64, name string, last streamID, entriesRead int64) *streamGroup {
	return &streamGroup{gen: gen, name: name, lastID: last, entriesRead: entriesRead, pel: newPEL(), consumers: newConsumerTree()}
}

func (g *streamGroup) clone(gen uint64) *streamGroup {
	c := *g
	c.gen = gen
	c.pel = g.pel.Copy()
	c.consumers = g.consumers.Copy()
	return &c
}

func (g *streamGroup) dup(gen uint64) *streamGroup {
	c := *g
	c.gen = gen
	c.pel = g.pel.Copy()
	c.consumers = newConsumerTree()
	g.consumers.Scan(func(sc *streamConsumer) bool { c.consumers.Set(sc.clone(gen)); return true })
	return &c
}

func (sc *streamConsumer) clone(gen uint64) *streamConsumer {
	c := *sc
	c.gen = gen
	c.pel = sc.pel.Copy()
	return &c
}

// group returns the group named name, or nil.
func (s *streamObj) group(name []byte) *streamGroup {
	if s.groups == nil {
		return nil
	}
	g, _ := s.groups.Get(&streamGroup{name: string(name)})
	return g
}

func (s *streamObj) groupCount() int {
	if s.groups == nil {
		return 0
	}
	return s.groups.Len()
}

// mutableGroup makes g safe to change in s.
func (s *streamObj) mutableGroup(g *streamGroup) *streamGroup {
	if g.gen == s.gen {
		return g
	}
	g = g.clone(s.gen)
	s.groups.Set(g)
	return g
}

func (g *streamGroup) consumer(name string) *streamConsumer {
	sc, _ := g.consumers.Get(&streamConsumer{name: name})
	return sc
}

// mutableConsumer makes sc safe to change in g (already mutable in s).
func (g *streamGroup) mutableConsumer(sc *streamConsumer) *streamConsumer {
	if sc.gen == g.gen {
		return sc
	}
	sc = sc.clone(g.gen)
	g.consumers.Set(sc)
	return sc
}

// addConsumer creates a consumer seen now (streamCreateConsumer); false if
// it exists. Redis tells keyspace subscribers, whoever created it.
func (c *ctx) addConsumer(g *streamGroup, key, name string) (*streamConsumer, bool) {
	if g.consumer(name) != nil {
		return nil, false
	}
	sc := &streamConsumer{gen: g.gen, name: name, seen: c.now, pel: newConsumerPEL()}
	g.consumers.Set(sc)
	c.notify(NotifyStream, "xgroup-createconsumer", key)
	return sc, true
}

// touchConsumer is streamLookupConsumer with a refresh, creating the
// consumer when missing: the consumer ready to change, seen now.
func (c *ctx) touchConsumer(g *streamGroup, key, name string) *streamConsumer {
	sc := g.consumer(name)
	if sc == nil {
		sc, _ = c.addConsumer(g, key, name)
		return sc
	}
	sc = g.mutableConsumer(sc)
	sc.seen = c.now
	return sc
}

// deliver gives the pending entry id to consumer sc with the given
// delivery time and count, moving it from its previous owner.
func (g *streamGroup) deliver(sc *streamConsumer, id streamID, time, count int64) {
	if prev, ok := g.pel.Get(nack{id: id}); ok && prev.consumer != sc.name {
		if old := g.consumer(prev.consumer); old != nil {
			old = g.mutableConsumer(old)
			old.pel.Delete(id)
		}
	}
	g.pel.Set(nack{id: id, consumer: sc.name, time: time, count: count})
	sc.pel.Set(id)
}

// ack removes id from the group's PEL and its consumer's.
func (g *streamGroup) ack(id streamID) bool {
	n, ok := g.pel.Delete(nack{id: id})
	if !ok {
		return false
	}
	if sc := g.consumer(n.consumer); sc != nil {
		sc = g.mutableConsumer(sc)
		sc.pel.Delete(id)
	}
	return true
}

// delConsumer removes sc and its pending entries (streamDelConsumer).
func (g *streamGroup) delConsumer(sc *streamConsumer) {
	sc.pel.Scan(func(id streamID) bool { g.pel.Delete(nack{id: id}); return true })
	g.consumers.Delete(sc)
}

// rangeHasTombstones is streamRangeHasTombstones for [start, +].
func (s *streamObj) rangeHasTombstones(start streamID) bool {
	if s.length == 0 || s.maxDeleted.isZero() {
		return false
	}
	if s.firstID.cmp(s.maxDeleted) > 0 {
		return false
	}
	return start.cmp(s.maxDeleted) <= 0
}

// estimateDistance is streamEstimateDistanceFromFirstEverEntry: id's
// logical read counter, or invalidEntriesRead when it cannot be known.
func (s *streamObj) estimateDistance(id streamID) int64 {
	if s.entriesAdded == 0 {
		return 0
	}
	if s.length == 0 && id.cmp(s.lastID) < 1 {
		return int64(s.entriesAdded)
	}
	switch cmpLast := id.cmp(s.lastID); {
	case cmpLast == 0:
		return int64(s.entriesAdded)
	case cmpLast > 0:
		return invalidEntriesRead
	}
	cmpFirst := id.cmp(s.firstID)
	if s.maxDeleted.isZero() || s.maxDeleted.less(s.firstID) {
		switch {
		case cmpFirst < 0:
			return int64(s.entriesAdded - s.length)
		case cmpFirst == 0:
			return int64(s.entriesAdded - s.length + 1)
		}
	}
	return invalidEntriesRead
}

// lag is streamReplyWithCGLag: the entries the group has yet to read, or
// null when it cannot be known.
func (s *streamObj) lag(g *streamGroup) Value {
	if s.entriesAdded == 0 {
		return Zero
	}
	if g.entriesRead != invalidEntriesRead && !s.rangeHasTombstones(g.lastID) {
		return Int(int64(s.entriesAdded) - g.entriesRead)
	}
	if read := s.estimateDistance(g.lastID); read != invalidEntriesRead {
		return Int(int64(s.entriesAdded) - read)
	}
	return Null
}

// advance moves g's last delivered ID to id (> lastID), keeping its read
// counter as streamReplyWithRange does.
func (s *streamObj) advance(g *streamGroup, id streamID) {
	if g.entriesRead != invalidEntriesRead && !s.rangeHasTombstones(id) {
		g.entriesRead++
	} else if s.entriesAdded != 0 {
		g.entriesRead = s.estimateDistance(id)
	}
	g.lastID = id
}
