package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// Stream is a stream value as Redis 7.0 serializes it
// (RDB_TYPE_STREAM_LISTPACKS_2): its nodes, the listpacks of Redis's radix
// tree laid out entry by entry (deleted entries stay in their node), the
// stream's counters, and its consumer groups. Encode writes each node as
// the listpack Redis holds for it, so a stream with the same nodes DUMPs to
// the same bytes.
type Stream struct {
	Nodes        []StreamNode // by master ID
	Length       uint64       // live entries
	LastID       StreamID
	FirstID      StreamID // the first live entry (0-0 when empty)
	MaxDeletedID StreamID
	EntriesAdded uint64
	Groups       []StreamGroup // by name (byte order)
}

// StreamID is a stream entry ID.
type StreamID struct{ Ms, Seq uint64 }

// StreamNode is one listpack: its master entry (the node's first entry's
// ID and fields) and its entries, live and deleted, by ID.
type StreamNode struct {
	Master  StreamID
	Fields  []string
	Entries []StreamEntry
}

// StreamEntry is one entry of a node.
type StreamEntry struct {
	ID      StreamID
	Deleted bool
	// SameFields: the entry's fields are the node's master fields (Fields
	// is nil), which the listpack then omits.
	SameFields bool
	Fields     []string
	Values     []string
}

// StreamGroup is a consumer group.
type StreamGroup struct {
	Name        string
	LastID      StreamID
	EntriesRead int64            // -1: not known
	Pending     []StreamNack     // by ID
	Consumers   []StreamConsumer // by name (byte order)
}

// StreamNack is a pending entry: delivered to Consumer, not acknowledged.
type StreamNack struct {
	ID            StreamID
	Consumer      string
	DeliveryTime  int64 // Unix ms
	DeliveryCount uint64
}

// StreamConsumer is a consumer of a group; Pending lists the IDs it holds.
type StreamConsumer struct {
	Name     string
	SeenTime int64 // Unix ms
	Pending  []StreamID
}

func (*Stream) isValue() {}

// Entry flags of a stream listpack.
const (
	streamFlagDeleted    = 1
	streamFlagSameFields = 2
)

func (a StreamID) less(b StreamID) bool { return a.Ms < b.Ms || (a.Ms == b.Ms && a.Seq < b.Seq) }

// key is the ID as a radix tree key: 128 bits, big endian.
func (a StreamID) key() []byte {
	k := binary.BigEndian.AppendUint64(nil, a.Ms)
	return binary.BigEndian.AppendUint64(k, a.Seq)
}

func (a StreamID) String() string {
	return strconv.FormatUint(a.Ms, 10) + "-" + strconv.FormatUint(a.Seq, 10)
}

// nodeListpack is the listpack Redis holds for n: the master entry
// (count, deleted, number of fields, the fields, 0), then each entry
// (flags, ms and seq as deltas from the master, [number of fields,
// fields,] values, and its element count).
func nodeListpack(n *StreamNode) ([]byte, error) {
	live, deleted := 0, 0
	for _, e := range n.Entries {
		if e.Deleted {
			deleted++
		} else {
			live++
		}
	}
	lp := newListpack()
	lp.appendInt(int64(live))
	lp.appendInt(int64(deleted))
	lp.appendInt(int64(len(n.Fields)))
	for _, f := range n.Fields {
		lp.appendString(f)
	}
	lp.appendInt(0)
	for i := range n.Entries {
		e := &n.Entries[i]
		flags := int64(0)
		if e.Deleted {
			flags |= streamFlagDeleted
		}
		count := int64(len(e.Values)) + 3
		if e.SameFields {
			flags |= streamFlagSameFields
			if len(e.Values) != len(n.Fields) {
				return nil, fmt.Errorf("entry %s: %d values for %d master fields", e.ID, len(e.Values), len(n.Fields))
			}
		} else {
			if len(e.Values) != len(e.Fields) {
				return nil, fmt.Errorf("entry %s: %d values for %d fields", e.ID, len(e.Values), len(e.Fields))
			}
			count += int64(len(e.Fields)) + 1
		}
		lp.appendInt(flags)
		lp.appendInt(int64(e.ID.Ms - n.Master.Ms))
		lp.appendInt(int64(e.ID.Seq - n.Master.Seq))
		if !e.SameFields {
			lp.appendInt(int64(len(e.Fields)))
		}
		for j, v := range e.Values {
			if !e.SameFields {
				lp.appendString(e.Fields[j])
			}
			lp.appendString(v)
		}
		lp.appendInt(count)
	}
	return lp.finish()
}

// stream writes v as rdbSaveObject does.
func (w *writer) stream(v *Stream) error {
	w.byte(typeStreamListpacks2)
	w.length(uint64(len(v.Nodes)))
	for i := range v.Nodes {
		n := &v.Nodes[i]
		if len(n.Entries) == 0 {
			return fmt.Errorf("stream node %s without entries", n.Master)
		}
		lp, err := nodeListpack(n)
		if err != nil {
			return err
		}
		w.str(string(n.Master.key()))
		w.blob(lp)
	}
	for _, x := range []uint64{v.Length, v.LastID.Ms, v.LastID.Seq, v.FirstID.Ms, v.FirstID.Seq,
		v.MaxDeletedID.Ms, v.MaxDeletedID.Seq, v.EntriesAdded, uint64(len(v.Groups))} {
		w.length(x)
	}
	for _, g := range v.Groups {
		w.str(g.Name)
		w.length(g.LastID.Ms)
		w.length(g.LastID.Seq)
		w.length(uint64(g.EntriesRead))
		w.length(uint64(len(g.Pending)))
		for _, p := range g.Pending {
			w.b = append(w.b, p.ID.key()...)
			w.b = binary.LittleEndian.AppendUint64(w.b, uint64(p.DeliveryTime))
			w.length(p.DeliveryCount)
		}
		w.length(uint64(len(g.Consumers)))
		for _, c := range g.Consumers {
			w.str(c.Name)
			w.b = binary.LittleEndian.AppendUint64(w.b, uint64(c.SeenTime))
			w.length(uint64(len(c.Pending)))
			for _, id := range c.Pending {
				w.b = append(w.b, id.key()...)
			}
		}
	}
	return nil
}

// stream reads RDB_TYPE_STREAM_LISTPACKS (15, Redis 5 and 6) or _2 (19,
// Redis 7.0), with rdbLoadObject's checks and streamValidateListpackIntegrity's
// deep ones, plus the consistency a stream this package encodes always has
// (see DESIGN.md: Redis accepts some streams whose counters disagree with
// their entries, which are refused here).
func (r *reader) stream(t byte) (Value, error) {
	v := &Stream{}
	nn, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("stream listpacks: %w", err)
	}
	for i := uint64(0); i < nn; i++ {
		key, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("stream node key: %w", err)
		}
		if len(key) != 16 {
			return nil, errors.New("stream node key entry is not the size of a stream ID")
		}
		lp, err := r.strBytes()
		if err != nil {
			return nil, fmt.Errorf("stream listpack: %w", err)
		}
		master := StreamID{binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])}
		n, live, err := parseStreamListpack(lp, master)
		if err != nil {
			return nil, fmt.Errorf("stream node %s: %w", master, err)
		}
		if len(v.Nodes) > 0 {
			prev := v.Nodes[len(v.Nodes)-1]
			if !prev.Entries[len(prev.Entries)-1].ID.less(master) {
				return nil, fmt.Errorf("stream node %s out of order", master)
			}
		}
		v.Nodes = append(v.Nodes, n)
		v.Length += live
	}
	var length uint64
	meta := []*uint64{&length, &v.LastID.Ms, &v.LastID.Seq}
	if t == typeStreamListpacks2 {
		meta = append(meta, &v.FirstID.Ms, &v.FirstID.Seq, &v.MaxDeletedID.Ms, &v.MaxDeletedID.Seq, &v.EntriesAdded)
	}
	for _, p := range meta {
		if *p, err = r.count(); err != nil {
			return nil, fmt.Errorf("stream metadata: %w", err)
		}
	}
	if length != v.Length {
		return nil, fmt.Errorf("stream length %d, but %d live entries", length, v.Length)
	}
	if len(v.Nodes) > 0 {
		last := v.Nodes[len(v.Nodes)-1]
		if v.LastID.less(last.Entries[len(last.Entries)-1].ID) {
			return nil, fmt.Errorf("stream last ID %s below an entry's", v.LastID)
		}
	}
	first := firstLiveID(v)
	if t != typeStreamListpacks2 {
		v.EntriesAdded, v.FirstID = v.Length, first // as Redis upgrades a Redis 6 stream
	} else if v.FirstID != first {
		return nil, fmt.Errorf("stream first ID %s, but the first entry is %s", v.FirstID, first)
	}
	ng, err := r.count()
	if err != nil {
		return nil, fmt.Errorf("stream groups: %w", err)
	}
	for i := uint64(0); i < ng; i++ {
		g, err := r.streamGroup(t, v)
		if err != nil {
			return nil, err
		}
		if len(v.Groups) > 0 && v.Groups[len(v.Groups)-1].Name >= g.Name {
			return nil, fmt.Errorf("duplicated or unordered consumer group name %q", g.Name)
		}
		v.Groups = append(v.Groups, g)
	}
	return v, nil
}

// estimateEntriesRead is streamEstimateDistanceFromFirstEverEntry, which
// Redis uses for the read counter of a group loaded from a Redis 6 stream.
func estimateEntriesRead(v *Stream, id StreamID) int64 {
	switch {
	case v.EntriesAdded == 0:
		return 0
	case v.Length == 0 && !v.LastID.less(id):
		return int64(v.EntriesAdded)
	case id == v.LastID:
		return int64(v.EntriesAdded)
	case v.LastID.less(id):
		return -1
	}
	if v.MaxDeletedID == (StreamID{}) || v.MaxDeletedID.less(v.FirstID) {
		switch {
		case id.less(v.FirstID):
			return int64(v.EntriesAdded - v.Length)
		case id == v.FirstID:
			return int64(v.EntriesAdded - v.Length + 1)
		}
	}
	return -1
}

func firstLiveID(v *Stream) StreamID {
	for _, n := range v.Nodes {
		for _, e := range n.Entries {
			if !e.Deleted {
				return e.ID
			}
		}
	}
	return StreamID{}
}

func (r *reader) streamGroup(t byte, v *Stream) (StreamGroup, error) {
	var g StreamGroup
	var err error
	if g.Name, err = r.str(); err != nil {
		return g, fmt.Errorf("consumer group name: %w", err)
	}
	if g.LastID.Ms, err = r.count(); err != nil {
		return g, err
	}
	if g.LastID.Seq, err = r.count(); err != nil {
		return g, err
	}
	g.EntriesRead = estimateEntriesRead(v, g.LastID)
	if t == typeStreamListpacks2 {
		read, err := r.count()
		if err != nil {
			return g, err
		}
		if g.EntriesRead = int64(read); g.EntriesRead < -1 {
			return g, fmt.Errorf("group %q: entries read %d", g.Name, read)
		}
	}
	np, err := r.count()
	if err != nil {
		return g, err
	}
	owner := map[StreamID]int{}
	for j := uint64(0); j < np; j++ {
		raw, err := r.bytes(16)
		if err != nil {
			return g, fmt.Errorf("stream PEL: %w", err)
		}
		tm, err := r.bytes(8)
		if err != nil {
			return g, err
		}
		count, err := r.count()
		if err != nil {
			return g, err
		}
		id := StreamID{binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])}
		if len(g.Pending) > 0 && !g.Pending[len(g.Pending)-1].ID.less(id) {
			return g, fmt.Errorf("duplicated global PEL entry %s in group %q", id, g.Name)
		}
		owner[id] = -1
		g.Pending = append(g.Pending, StreamNack{ID: id, DeliveryTime: int64(binary.LittleEndian.Uint64(tm)), DeliveryCount: count})
	}
	nc, err := r.count()
	if err != nil {
		return g, err
	}
	for j := uint64(0); j < nc; j++ {
		var c StreamConsumer
		if c.Name, err = r.str(); err != nil {
			return g, fmt.Errorf("consumer name: %w", err)
		}
		if len(g.Consumers) > 0 && g.Consumers[len(g.Consumers)-1].Name >= c.Name {
			return g, fmt.Errorf("duplicate or unordered stream consumer %q", c.Name)
		}
		tm, err := r.bytes(8)
		if err != nil {
			return g, err
		}
		c.SeenTime = int64(binary.LittleEndian.Uint64(tm))
		n, err := r.count()
		if err != nil {
			return g, err
		}
		if n > uint64(r.left())/16 {
			return g, errShort
		}
		for k := uint64(0); k < n; k++ {
			raw, err := r.bytes(16)
			if err != nil {
				return g, err
			}
			id := StreamID{binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])}
			if o, ok := owner[id]; !ok || o != -1 {
				return g, fmt.Errorf("consumer %q entry %s not found in group global PEL, or held twice", c.Name, id)
			}
			owner[id] = len(g.Consumers)
			c.Pending = append(c.Pending, id)
		}
		g.Consumers = append(g.Consumers, c)
	}
	for i := range g.Pending {
		o := owner[g.Pending[i].ID]
		if o < 0 {
			return g, fmt.Errorf("stream CG PEL entry %s without consumer", g.Pending[i].ID)
		}
		g.Pending[i].Consumer = g.Consumers[o].Name
	}
	return g, nil
}

// parseStreamListpack reads a node's listpack with the checks of
// streamValidateListpackIntegrity (deep), and the entries' order and
// counters.
func parseStreamListpack(lp []byte, master StreamID) (StreamNode, uint64, error) {
	n := StreamNode{Master: master}
	var elems []string
	if _, err := lpEach(lp, func(s string) error { elems = append(elems, s); return nil }); err != nil {
		return n, 0, err
	}
	if len(elems) == 0 {
		return n, 0, errors.New("empty listpack inside stream")
	}
	p := 0
	next := func() (string, error) {
		if p >= len(elems) {
			return "", errors.New("listpack ends inside an entry")
		}
		p++
		return elems[p-1], nil
	}
	integer := func() (int64, error) {
		s, err := next()
		if err != nil {
			return 0, err
		}
		v, ok := parseStrictInt(s)
		if !ok {
			return 0, fmt.Errorf("%q is not an integer", s)
		}
		return v, nil
	}
	hdr := make([]int64, 3)
	for i := range hdr {
		v, err := integer()
		if err != nil {
			return n, 0, err
		}
		hdr[i] = v
	}
	live, deleted, nf := hdr[0], hdr[1], hdr[2]
	if live < 0 || deleted < 0 || nf < 0 || nf > int64(len(elems)) || live+deleted < 1 {
		return n, 0, fmt.Errorf("master entry counts %d %d %d", live, deleted, nf)
	}
	for range nf {
		f, err := next()
		if err != nil {
			return n, 0, err
		}
		n.Fields = append(n.Fields, f)
	}
	if z, err := integer(); err != nil || z != 0 {
		return n, 0, errors.New("no master entry terminator")
	}
	var gotLive, gotDeleted int64
	for i := int64(0); i < live+deleted; i++ {
		var e StreamEntry
		flags, err := integer()
		if err != nil {
			return n, 0, err
		}
		if flags&^(streamFlagDeleted|streamFlagSameFields) != 0 {
			return n, 0, fmt.Errorf("entry flags %d", flags)
		}
		e.Deleted, e.SameFields = flags&streamFlagDeleted != 0, flags&streamFlagSameFields != 0
		dms, err := integer()
		if err != nil {
			return n, 0, err
		}
		dseq, err := integer()
		if err != nil {
			return n, 0, err
		}
		e.ID = StreamID{master.Ms + uint64(dms), master.Seq + uint64(dseq)}
		fields := nf
		extra := int64(3)
		if !e.SameFields {
			if fields, err = integer(); err != nil {
				return n, 0, err
			}
			if fields < 0 || fields > int64(len(elems)) {
				return n, 0, fmt.Errorf("entry with %d fields", fields)
			}
			extra += fields + 1
		}
		for j := int64(0); j < fields; j++ {
			if !e.SameFields {
				f, err := next()
				if err != nil {
					return n, 0, err
				}
				e.Fields = append(e.Fields, f)
			}
			v, err := next()
			if err != nil {
				return n, 0, err
			}
			e.Values = append(e.Values, v)
		}
		if c, err := integer(); err != nil || c != fields+extra {
			return n, 0, errors.New("entry element count does not match")
		}
		if (i == 0 && e.ID != master) || (i > 0 && !n.Entries[i-1].ID.less(e.ID)) {
			return n, 0, fmt.Errorf("entry %s out of order", e.ID)
		}
		if e.Deleted {
			gotDeleted++
		} else {
			gotLive++
		}
		n.Entries = append(n.Entries, e)
	}
	if p != len(elems) {
		return n, 0, errors.New("listpack has elements after its entries")
	}
	if gotLive != live || gotDeleted != deleted {
		return n, 0, fmt.Errorf("master entry counts %d live %d deleted, entries %d and %d", live, deleted, gotLive, gotDeleted)
	}
	return n, uint64(live), nil
}
