package fsm

import (
	"fmt"

	"github.com/understudy/understudy/fsm/rdb"
)

// Streams to and from package rdb's neutral value (DUMP, RESTORE): the
// nodes go over as they are, so a stream DUMPs to Redis's very bytes and a
// RESTOREd one keeps Redis's node layout.

func rdbID(id streamID) rdb.StreamID { return rdb.StreamID{Ms: id.ms, Seq: id.seq} }

func fromRDBID(id rdb.StreamID) streamID { return streamID{id.Ms, id.Seq} }

// streamToRDB is s as rdb.Encode takes it.
func streamToRDB(s *streamObj) *rdb.Stream {
	v := &rdb.Stream{Length: s.length, LastID: rdbID(s.lastID), FirstID: rdbID(s.firstID),
		MaxDeletedID: rdbID(s.maxDeleted), EntriesAdded: s.entriesAdded}
	s.nodes.Scan(func(n *streamNode) bool {
		rn := rdb.StreamNode{Master: rdbID(n.master), Fields: n.fields, Entries: make([]rdb.StreamEntry, len(n.entries))}
		for i, e := range n.entries {
			rn.Entries[i] = rdb.StreamEntry{ID: rdbID(e.id), Deleted: e.deleted(),
				SameFields: e.flags&streamFlagSameFields != 0, Fields: e.fields, Values: e.values}
		}
		v.Nodes = append(v.Nodes, rn)
		return true
	})
	if s.groups == nil {
		return v
	}
	s.groups.Scan(func(g *streamGroup) bool {
		rg := rdb.StreamGroup{Name: g.name, LastID: rdbID(g.lastID), EntriesRead: g.entriesRead}
		g.pel.Scan(func(n nack) bool {
			rg.Pending = append(rg.Pending, rdb.StreamNack{ID: rdbID(n.id), Consumer: n.consumer,
				DeliveryTime: n.time, DeliveryCount: uint64(n.count)})
			return true
		})
		g.consumers.Scan(func(sc *streamConsumer) bool {
			rc := rdb.StreamConsumer{Name: sc.name, SeenTime: sc.seen}
			sc.pel.Scan(func(id streamID) bool { rc.Pending = append(rc.Pending, rdbID(id)); return true })
			rg.Consumers = append(rg.Consumers, rc)
			return true
		})
		v.Groups = append(v.Groups, rg)
		return true
	})
	return v
}

// streamFromRDB is a stream rdb.Decode returned (which checked it), made
// in generation gen.
func streamFromRDB(v *rdb.Stream, gen uint64) (*streamObj, error) {
	s := newStream(gen)
	s.lastID, s.firstID, s.maxDeleted = fromRDBID(v.LastID), fromRDBID(v.FirstID), fromRDBID(v.MaxDeletedID)
	s.entriesAdded = v.EntriesAdded
	for _, rn := range v.Nodes {
		n := newStreamNode(gen, fromRDBID(rn.Master), rn.Fields)
		for _, re := range rn.Entries {
			e := streamEntry{id: fromRDBID(re.ID), fields: re.Fields, values: re.Values}
			if re.SameFields {
				e.flags |= streamFlagSameFields
			}
			if re.Deleted {
				e.flags |= streamFlagDeleted
				n.deleted++
			} else {
				n.live++
			}
			n.entries = append(n.entries, e)
			n.body += n.entrySize(&n.entries[len(n.entries)-1])
		}
		s.nodes.Set(n)
		s.length += uint64(n.live)
	}
	if s.length != v.Length {
		return nil, fmt.Errorf("stream length %d, entries %d", v.Length, s.length)
	}
	for _, rg := range v.Groups {
		if s.groups == nil {
			s.groups = newGroupTree()
		}
		g := newStreamGroup(gen, rg.Name, fromRDBID(rg.LastID), rg.EntriesRead)
		for _, p := range rg.Pending {
			g.pel.Set(nack{id: fromRDBID(p.ID), consumer: p.Consumer, time: p.DeliveryTime, count: int64(p.DeliveryCount)})
		}
		for _, rc := range rg.Consumers {
			sc := &streamConsumer{gen: gen, name: rc.Name, seen: rc.SeenTime, pel: newConsumerPEL()}
			for _, id := range rc.Pending {
				sc.pel.Set(fromRDBID(id))
			}
			g.consumers.Set(sc)
		}
		s.groups.Set(g)
	}
	return s, nil
}
