package fsm

import (
	"sort"
	"strconv"

	"github.com/tidwall/btree"

	"github.com/understudy/understudy/fsm/rdb"
)

// streamObj is a stream. Its entries are kept the way Redis keeps them: in
// nodes (Redis's listpacks, keyed in a radix tree by their first ("master")
// entry's ID), each node holding up to 100 entries or 4 KiB, deleted
// entries staying in their node as tombstones until the whole node goes.
// The node layout is visible: approximate trimming (MAXLEN ~) removes whole
// nodes only, XINFO STREAM counts them, and DUMP writes them; so every
// replica must cut nodes at the same points as Redis does, from the same
// byte sizes (rdb.ListpackEntrySize).
//
// Copy-on-write (object.go): the stream, each node, each consumer group and
// each consumer carry the generation they were made in; a write copies any
// of them that is older than the stream it reaches it through, so a
// snapshot's stream is never written. The trees copy in O(1).
type streamObj struct {
	gen          uint64
	nodes        *btree.BTreeG[*streamNode] // by master ID
	length       uint64                     // live entries
	lastID       streamID                   // the greatest ID ever added (or XSETID)
	firstID      streamID                   // the first live entry (0-0 when empty)
	maxDeleted   streamID                   // the greatest ID XDEL removed
	entriesAdded uint64                     // entries ever added
	groups       *btree.BTreeG[*streamGroup]
}

// Redis's defaults for stream-node-max-bytes and stream-node-max-entries.
const (
	streamNodeMaxBytes   = 4096
	streamNodeMaxEntries = 100
	// streamListpackMaxSize is STREAM_LISTPACK_MAX_SIZE: the most an entry's
	// fields and values may add up to.
	streamListpackMaxSize = 1 << 30
)

// Entry flags, as in a Redis stream listpack.
const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

// streamEntry is one entry of a node, live or deleted.
type streamEntry struct {
	id     streamID
	flags  uint8
	fields []string // nil with streamFlagSameFields: the node's master fields
	values []string
}

// streamNode is one listpack of a Redis stream.
type streamNode struct {
	gen     uint64
	master  streamID
	fields  []string // the master entry's fields
	entries []streamEntry
	live    int
	deleted int
	body    int // listpack bytes, but for the live and deleted counters
}

func newStream(gen uint64) *streamObj {
	return &streamObj{gen: gen, nodes: newNodeTree()}
}

func newNodeTree() *btree.BTreeG[*streamNode] {
	return btree.NewBTreeGOptions(func(a, b *streamNode) bool { return a.master.less(b.master) },
		btree.Options{NoLocks: true})
}

func (e *streamEntry) deleted() bool { return e.flags&streamFlagDeleted != 0 }

// fieldsOf returns e's field names.
func (n *streamNode) fieldsOf(e *streamEntry) []string {
	if e.flags&streamFlagSameFields != 0 {
		return n.fields
	}
	return e.fields
}

// lpBytes is the node's size as a listpack (lpBytes).
func (n *streamNode) lpBytes() int {
	return n.body + lpIntSize(int64(n.live)) + lpIntSize(int64(n.deleted))
}

// lpIntSize is the size of an integer listpack element.
func lpIntSize(v int64) int { return rdb.ListpackEntrySize(strconv.FormatInt(v, 10)) }

// entrySize is the listpack bytes an entry takes (without its flags
// changing size: the flags always fit in one byte).
func (n *streamNode) entrySize(e *streamEntry) int {
	sz := lpIntSize(int64(e.flags)) + lpIntSize(int64(e.id.ms-n.master.ms)) + lpIntSize(int64(e.id.seq-n.master.seq))
	count := len(e.values) + 3
	if e.flags&streamFlagSameFields == 0 {
		sz += lpIntSize(int64(len(e.fields)))
		for _, f := range e.fields {
			sz += rdb.ListpackEntrySize(f)
		}
		count += len(e.values) + 1
	}
	for _, v := range e.values {
		sz += rdb.ListpackEntrySize(v)
	}
	return sz + lpIntSize(int64(count))
}

func newStreamNode(gen uint64, master streamID, fields []string) *streamNode {
	n := &streamNode{gen: gen, master: master, fields: fields}
	n.body = lpEmptyBytes + lpIntSize(int64(len(fields))) + lpIntSize(0)
	for _, f := range fields {
		n.body += rdb.ListpackEntrySize(f)
	}
	return n
}

func (n *streamNode) clone(gen uint64) *streamNode {
	c := *n
	c.gen = gen
	c.entries = append([]streamEntry(nil), n.entries...)
	return &c
}

// find returns the index of the entry with id in n, or -1.
func (n *streamNode) find(id streamID) int {
	i := sort.Search(len(n.entries), func(i int) bool { return !n.entries[i].id.less(id) })
	if i < len(n.entries) && n.entries[i].id == id {
		return i
	}
	return -1
}

// mutableNode makes n safe to change in s, copying it if s does not own it.
func (s *streamObj) mutableNode(n *streamNode) *streamNode {
	if n.gen == s.gen {
		return n
	}
	n = n.clone(s.gen)
	s.nodes.Set(n)
	return n
}

// clone is the copy-on-write copy: the trees copy in O(1) and everything in
// them is shared until written (see mutableNode and friends).
func (s *streamObj) clone(gen uint64) *streamObj {
	c := *s
	c.gen = gen
	c.nodes = s.nodes.Copy()
	if s.groups != nil {
		c.groups = s.groups.Copy()
	}
	return &c
}

// dup is an independent deep copy (COPY), owned by generation gen.
func (s *streamObj) dup(gen uint64) *streamObj {
	c := *s
	c.gen = gen
	c.nodes = newNodeTree()
	s.nodes.Scan(func(n *streamNode) bool { c.nodes.Set(n.clone(gen)); return true })
	if s.groups != nil {
		c.groups = newGroupTree()
		s.groups.Scan(func(g *streamGroup) bool { c.groups.Set(g.dup(gen)); return true })
	}
	return &c
}

// mutableStream makes it's stream safe to change (see mutableHash).
func (c *ctx) mutableStream(it *item) *streamObj {
	s := it.val.(*streamObj)
	if s.gen != c.ks.gen {
		s = s.clone(c.ks.gen)
		it.val = s
		c.ks.swap(*it)
	}
	return s
}

// wake tells the apply hook that key changed without stamping a new
// version: Redis signals neither WATCH nor blocked clients for a stream's
// group bookkeeping (XREADGROUP, XACK, XCLAIM, XGROUP, XSETID) but for
// XGROUP DESTROY, which ends the wait of the group's blocked readers.
func (c *ctx) wake(key string) {
	if c.ks.touched != nil {
		*c.ks.touched = append(*c.ks.touched, DBKey{c.ks.num, key})
	}
}

func (c *ctx) getStream(key []byte) (item, *streamObj, bool, Value) {
	return getTyped[*streamObj](c, key)
}

// appendEntry adds an entry with the given ID (greater than lastID) the way
// streamAppendItem does: to the tail node, or to a new node when the tail
// has reached stream-node-max-bytes or stream-node-max-entries.
func (s *streamObj) appendEntry(id streamID, fv [][]byte) {
	nf := len(fv) / 2
	total := 0
	for _, a := range fv {
		total += len(a)
	}
	tail, ok := s.nodes.Max()
	if ok && (tail.lpBytes()+total >= streamNodeMaxBytes || tail.live+tail.deleted >= streamNodeMaxEntries) {
		ok = false
	}
	values := make([]string, nf)
	for i := range values {
		values[i] = string(fv[2*i+1])
	}
	e := streamEntry{id: id, values: values}
	if !ok {
		fields := make([]string, nf)
		for i := range fields {
			fields[i] = string(fv[2*i])
		}
		tail = newStreamNode(s.gen, id, fields)
		s.nodes.Set(tail)
		e.flags = streamFlagSameFields
	} else {
		tail = s.mutableNode(tail)
		same := nf == len(tail.fields)
		for i := 0; same && i < nf; i++ {
			same = string(fv[2*i]) == tail.fields[i]
		}
		if same {
			e.flags = streamFlagSameFields
		} else {
			e.fields = make([]string, nf)
			for i := range e.fields {
				e.fields[i] = string(fv[2*i])
			}
		}
	}
	tail.entries = append(tail.entries, e)
	tail.live++
	tail.body += tail.entrySize(&tail.entries[len(tail.entries)-1])
	s.length++
	s.entriesAdded++
	s.lastID = id
	if s.length == 1 {
		s.firstID = id
	}
}

// nodeAt returns the node that would hold id: the last whose master <= id.
func (s *streamObj) nodeAt(id streamID) (*streamNode, bool) {
	var found *streamNode
	s.nodes.Descend(&streamNode{master: id}, func(n *streamNode) bool { found = n; return false })
	return found, found != nil
}

// exists reports whether a live entry has id.
func (s *streamObj) exists(id streamID) bool {
	n, ok := s.nodeAt(id)
	if !ok {
		return false
	}
	i := n.find(id)
	return i >= 0 && !n.entries[i].deleted()
}

// delete marks the live entry id deleted, as streamIteratorRemoveEntry
// does: a node whose last live entry goes is removed whole.
func (s *streamObj) delete(id streamID) bool {
	n, ok := s.nodeAt(id)
	if !ok {
		return false
	}
	i := n.find(id)
	if i < 0 || n.entries[i].deleted() {
		return false
	}
	s.length--
	if n.live == 1 {
		s.nodes.Delete(n)
		return true
	}
	n = s.mutableNode(n)
	n.markDeleted(i)
	return true
}

func (n *streamNode) markDeleted(i int) {
	n.entries[i].flags |= streamFlagDeleted
	n.live--
	n.deleted++
}

// each calls fn for every live entry with start <= id <= end, ascending (or
// descending with rev), until fn returns false.
func (s *streamObj) each(start, end streamID, rev bool, fn func(n *streamNode, e *streamEntry) bool) {
	if start.cmp(end) > 0 {
		return
	}
	visit := func(n *streamNode) bool {
		if !rev {
			i := sort.Search(len(n.entries), func(i int) bool { return !n.entries[i].id.less(start) })
			for ; i < len(n.entries); i++ {
				e := &n.entries[i]
				if e.id.cmp(end) > 0 {
					return false
				}
				if !e.deleted() && !fn(n, e) {
					return false
				}
			}
			return true
		}
		i := sort.Search(len(n.entries), func(i int) bool { return n.entries[i].id.cmp(end) > 0 }) - 1
		for ; i >= 0; i-- {
			e := &n.entries[i]
			if e.id.less(start) {
				return false
			}
			if !e.deleted() && !fn(n, e) {
				return false
			}
		}
		return true
	}
	if !rev {
		first, ok := s.nodeAt(start)
		if !ok {
			s.nodes.Scan(visit)
			return
		}
		s.nodes.Ascend(first, visit)
		return
	}
	s.nodes.Descend(&streamNode{master: end}, visit)
}

// first and last return the stream's edge live entries (streamGetEdgeID).
func (s *streamObj) edge(last bool) (streamID, bool) {
	var id streamID
	found := false
	s.each(minStreamID, maxStreamID, last, func(_ *streamNode, e *streamEntry) bool {
		id, found = e.id, true
		return false
	})
	return id, found
}

// lastValidID is streamLastValidID: the greatest live ID (0-0 if none).
func (s *streamObj) lastValidID() streamID {
	id, _ := s.edge(true)
	return id
}

// entryValue is the reply for one entry: [id, [field, value, ...]].
func entryValue(n *streamNode, e *streamEntry) Value {
	fields := n.fieldsOf(e)
	fv := make([]Value, 0, 2*len(e.values))
	for i, v := range e.values {
		fv = append(fv, BulkString(fields[i]), BulkString(v))
	}
	return Array([]Value{e.id.bulk(), Array(fv)})
}

// rangeValues returns the entries in [start, end] (count 0: all).
func (s *streamObj) rangeValues(start, end streamID, count int64, rev bool) []Value {
	out := []Value{}
	s.each(start, end, rev, func(n *streamNode, e *streamEntry) bool {
		out = append(out, entryValue(n, e))
		return count == 0 || int64(len(out)) < count
	})
	return out
}

// trimArgs are XADD's and XTRIM's trimming options.
type trimArgs struct {
	strategy int // trimNone, trimMaxLen, trimMinID
	approx   bool
	limit    int64
	maxlen   int64
	minid    streamID
}

const (
	trimNone = iota
	trimMaxLen
	trimMinID
)

// trim is streamTrim: whole nodes first; then, unless approximate, the
// entries of the first node that cannot go whole are marked deleted.
func (s *streamObj) trim(a trimArgs) int64 {
	if a.strategy == trimNone {
		return 0
	}
	var deleted int64
	for {
		if a.strategy == trimMaxLen && s.length <= uint64(a.maxlen) {
			break
		}
		n, ok := s.nodes.Min()
		if !ok {
			break
		}
		entries := int64(n.live)
		if a.limit != 0 && deleted+entries > a.limit {
			break
		}
		var remove bool
		if a.strategy == trimMaxLen {
			remove = s.length-uint64(entries) >= uint64(a.maxlen)
		} else {
			remove = n.entries[len(n.entries)-1].id.less(a.minid)
		}
		if remove {
			s.nodes.Delete(n)
			s.length -= uint64(entries)
			deleted += entries
			continue
		}
		if a.approx {
			break
		}
		n = s.mutableNode(n)
		for i := range n.entries {
			e := &n.entries[i]
			if a.strategy == trimMaxLen && s.length <= uint64(a.maxlen) {
				break
			}
			if a.strategy == trimMinID && !e.id.less(a.minid) {
				break
			}
			if !e.deleted() {
				n.markDeleted(i)
				s.length--
				deleted++
			}
		}
		break
	}
	if s.length == 0 {
		s.firstID = streamID{}
	} else if deleted > 0 {
		s.firstID, _ = s.edge(false)
	}
	return deleted
}
