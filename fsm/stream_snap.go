package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A stream in the snapshot (type tag typeStream, snapshot version 4 only:
// streams exist from cluster level 2), everything in the order the trees
// keep it, so equal streams write equal bytes:
//
//	nnodes | (master, nfields | field* | nentries | entry*)*
//	  entry: flags u8 | id | [nfields | field*] (without same-fields) | value*
//	last id | first id | max deleted id | entries added
//	ngroups | (name | last id | entries read varint | npending
//	           | (id | delivery time varint | deliveries varint)*
//	           | nconsumers | (name | seen varint | nids | id*)*)*
//
// An ID is two uvarints (ms, seq). A node's live and deleted counts and
// the stream's length follow from the entries' flags; each pending entry is
// held by exactly the one consumer that lists it.

func (w *snapWriter) id(id streamID) {
	w.buf = binary.AppendUvarint(w.buf, id.ms)
	w.buf = binary.AppendUvarint(w.buf, id.seq)
}

func (w *snapWriter) uv(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }

func writeStream(w *snapWriter, s *streamObj) {
	w.uv(uint64(s.nodes.Len()))
	s.nodes.Scan(func(n *streamNode) bool {
		w.id(n.master)
		w.uv(uint64(len(n.fields)))
		for _, f := range n.fields {
			w.str(f)
		}
		w.uv(uint64(len(n.entries)))
		for i := range n.entries {
			e := &n.entries[i]
			w.buf = append(w.buf, e.flags)
			w.id(e.id)
			if e.flags&streamFlagSameFields == 0 {
				w.uv(uint64(len(e.fields)))
				for _, f := range e.fields {
					w.str(f)
				}
			}
			for _, v := range e.values {
				w.str(v)
			}
		}
		return w.err == nil
	})
	w.id(s.lastID)
	w.id(s.firstID)
	w.id(s.maxDeleted)
	w.uv(s.entriesAdded)
	w.uv(uint64(s.groupCount()))
	if s.groups == nil {
		return
	}
	s.groups.Scan(func(g *streamGroup) bool {
		w.str(g.name)
		w.id(g.lastID)
		w.buf = binary.AppendVarint(w.buf, g.entriesRead)
		w.uv(uint64(g.pel.Len()))
		g.pel.Scan(func(n nack) bool {
			w.id(n.id)
			w.buf = binary.AppendVarint(w.buf, n.time)
			w.buf = binary.AppendVarint(w.buf, n.count)
			return true
		})
		w.uv(uint64(g.consumers.Len()))
		g.consumers.Scan(func(sc *streamConsumer) bool {
			w.str(sc.name)
			w.buf = binary.AppendVarint(w.buf, sc.seen)
			w.uv(uint64(sc.pel.Len()))
			sc.pel.Scan(func(id streamID) bool { w.id(id); return true })
			return true
		})
		return w.err == nil
	})
}

func (r *snapReader) id() (streamID, error) {
	ms, err := binary.ReadUvarint(r)
	if err != nil {
		return streamID{}, err
	}
	seq, err := binary.ReadUvarint(r)
	return streamID{ms, seq}, err
}

// count reads a uvarint count that cannot exceed what is left to read
// (each element takes at least a byte).
func (r *snapReader) count() (int, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, err
	}
	if n > maxSnapString {
		return 0, fmt.Errorf("%w: count %d", ErrSnapshotCorrupt, n)
	}
	return int(n), nil
}

func (r *snapReader) strs(n int) ([]string, error) {
	out := make([]string, 0, min(n, 1024))
	for range n {
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// readStream reads a stream written by writeStream, checking what a
// stream this build made always holds: nodes and entries in order, IDs up
// to the last ID, no node without entries, pending entries that are the
// group's and held by one consumer each.
func readStream(r *snapReader, gen uint64) (*streamObj, error) {
	s := newStream(gen)
	nn, err := r.count()
	if err != nil {
		return nil, err
	}
	var prev streamID
	for i := range nn {
		n, err := readStreamNode(r, gen)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		if i > 0 && !prev.less(n.master) {
			return nil, errors.New("stream nodes out of order")
		}
		prev = n.entries[len(n.entries)-1].id
		s.nodes.Set(n)
		s.length += uint64(n.live)
	}
	ids := make([]streamID, 3)
	for i := range ids {
		if ids[i], err = r.id(); err != nil {
			return nil, err
		}
	}
	s.lastID, s.firstID, s.maxDeleted = ids[0], ids[1], ids[2]
	if s.entriesAdded, err = binary.ReadUvarint(r); err != nil {
		return nil, err
	}
	if nn > 0 && s.lastID.less(prev) {
		return nil, errors.New("stream entry beyond its last ID")
	}
	ng, err := r.count()
	if err != nil {
		return nil, err
	}
	for i := range ng {
		g, err := readStreamGroup(r, gen)
		if err != nil {
			return nil, fmt.Errorf("group %d: %w", i, err)
		}
		if s.groups == nil {
			s.groups = newGroupTree()
		}
		if _, dup := s.groups.Set(g); dup {
			return nil, fmt.Errorf("group %q appears twice", g.name)
		}
	}
	return s, nil
}

func readStreamNode(r *snapReader, gen uint64) (*streamNode, error) {
	master, err := r.id()
	if err != nil {
		return nil, err
	}
	nf, err := r.count()
	if err != nil {
		return nil, err
	}
	fields, err := r.strs(nf)
	if err != nil {
		return nil, err
	}
	n := newStreamNode(gen, master, fields)
	ne, err := r.count()
	if err != nil {
		return nil, err
	}
	if ne == 0 {
		return nil, errors.New("node without entries")
	}
	for j := range ne {
		var e streamEntry
		if e.flags, err = r.ReadByte(); err != nil {
			return nil, err
		}
		if e.flags&^(streamFlagDeleted|streamFlagSameFields) != 0 {
			return nil, fmt.Errorf("entry flags %d", e.flags)
		}
		if e.id, err = r.id(); err != nil {
			return nil, err
		}
		if (j == 0 && e.id != master) || (j > 0 && !n.entries[j-1].id.less(e.id)) {
			return nil, fmt.Errorf("entry %s out of order", e.id)
		}
		k := nf
		if e.flags&streamFlagSameFields == 0 {
			if k, err = r.count(); err != nil {
				return nil, err
			}
			if e.fields, err = r.strs(k); err != nil {
				return nil, err
			}
		}
		if e.values, err = r.strs(k); err != nil {
			return nil, err
		}
		n.entries = append(n.entries, e)
		if e.deleted() {
			n.deleted++
		} else {
			n.live++
		}
		n.body += n.entrySize(&n.entries[j])
	}
	return n, nil
}

func readStreamGroup(r *snapReader, gen uint64) (*streamGroup, error) {
	name, err := r.str()
	if err != nil {
		return nil, err
	}
	last, err := r.id()
	if err != nil {
		return nil, err
	}
	read, err := binary.ReadVarint(r)
	if err != nil {
		return nil, err
	}
	g := newStreamGroup(gen, name, last, read)
	np, err := r.count()
	if err != nil {
		return nil, err
	}
	for range np {
		var n nack
		if n.id, err = r.id(); err != nil {
			return nil, err
		}
		if n.time, err = binary.ReadVarint(r); err != nil {
			return nil, err
		}
		if n.count, err = binary.ReadVarint(r); err != nil {
			return nil, err
		}
		if _, dup := g.pel.Set(n); dup {
			return nil, fmt.Errorf("pending entry %s appears twice", n.id)
		}
	}
	nc, err := r.count()
	if err != nil {
		return nil, err
	}
	held := map[streamID]bool{}
	for range nc {
		sc := &streamConsumer{gen: gen, pel: newConsumerPEL()}
		if sc.name, err = r.str(); err != nil {
			return nil, err
		}
		if sc.seen, err = binary.ReadVarint(r); err != nil {
			return nil, err
		}
		if _, dup := g.consumers.Set(sc); dup {
			return nil, fmt.Errorf("consumer %q appears twice", sc.name)
		}
		ni, err := r.count()
		if err != nil {
			return nil, err
		}
		for range ni {
			id, err := r.id()
			if err != nil {
				return nil, err
			}
			n, ok := g.pel.Get(nack{id: id})
			if !ok || held[id] {
				return nil, fmt.Errorf("consumer %q holds %s, which is not its group's to hold", sc.name, id)
			}
			held[id] = true
			n.consumer = sc.name
			g.pel.Set(n)
			sc.pel.Set(id)
		}
	}
	if len(held) != g.pel.Len() {
		return nil, errors.New("a pending entry without a consumer")
	}
	return g, nil
}
