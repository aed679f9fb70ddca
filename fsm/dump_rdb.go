package fsm

import (
	"fmt"

	"github.com/understudy/understudy/fsm/rdb"
)

// Values to and from package rdb's neutral values (DUMP, RESTORE, MIGRATE).
// Collections go over in their encoding's order, so a listpack hash or set
// and a sorted set DUMP to Redis's bytes; a hashtable's order is this
// state's hash order, where Redis writes its dict's (same value, other
// bytes). Streams: stream_rdb.go.

// rdbLimits are the replicated encoding thresholds as package rdb takes
// them. SetMaxListpackEntries stays 0: Redis 7.0 loads a set of strings as a
// hashtable.
func (c *ctx) rdbLimits() rdb.Limits {
	cf := &c.f.conf
	return rdb.Limits{
		HashMaxListpackEntries: cf.hashMaxEntries,
		HashMaxListpackValue:   cf.hashMaxValue,
		SetMaxIntsetEntries:    cf.setMaxIntset,
		ZsetMaxListpackEntries: cf.zsetMaxEntries,
		ZsetMaxListpackValue:   cf.zsetMaxValue,
		ListMaxListpackSize:    cf.listMaxSize,
	}
}

// toRDB is v (an item's value) as rdb.Encode takes it.
func toRDB(v any) (rdb.Value, error) {
	switch o := v.(type) {
	case string:
		return rdb.String(o), nil
	case *listObj:
		l := &rdb.List{Elements: make([]string, o.len()), Encoding: rdb.EncQuicklist}
		for i := range l.Elements {
			l.Elements[i] = o.d.at(i)
		}
		return l, nil
	case *hashObj:
		h := &rdb.Hash{Fields: make([]rdb.HashField, 0, o.len()), Encoding: rdb.EncListpack}
		if o.ht != nil {
			h.Encoding = rdb.EncHashtable
		}
		o.each(func(f, v string) bool { h.Fields = append(h.Fields, rdb.HashField{Field: f, Value: v}); return true })
		return h, nil
	case *setObj:
		s := &rdb.Set{Members: make([]string, 0, o.len())}
		switch o.enc {
		case encIntset:
			s.Encoding = rdb.EncIntset
		case encListpack:
			s.Encoding = rdb.EncListpack
		default:
			s.Encoding = rdb.EncHashtable
		}
		o.each(func(m string) bool { s.Members = append(s.Members, m); return true })
		return s, nil
	case *zsetObj:
		z := &rdb.ZSet{Entries: make([]rdb.ZEntry, 0, o.len()), Encoding: rdb.EncListpack}
		if o.skiplist {
			z.Encoding = rdb.EncSkiplist
		}
		o.byScore.Scan(func(e zent) bool { z.Entries = append(z.Entries, rdb.ZEntry{Member: e.m, Score: e.score}); return true })
		return z, nil
	case *streamObj:
		return streamToRDB(o), nil
	}
	return nil, fmt.Errorf("no RDB encoding for a value of type %T", v)
}

// fromRDB is a value rdb.Decode returned (which checked it: no duplicates,
// no empty collection, intsets sorted) as an item's value of generation
// gen, changed last under lim, in the encoding Decode chose.
func fromRDB(v rdb.Value, lim *encLimits, gen uint64) (any, error) {
	switch o := v.(type) {
	case rdb.String:
		return string(o), nil
	case *rdb.List:
		l := newList(gen)
		for _, e := range o.Elements {
			l.push(e, false)
		}
		l.quick = o.Encoding == rdb.EncQuicklist
		return l, nil
	case *rdb.Hash:
		h := &hashObj{gen: gen, lim: lim}
		if o.Encoding == rdb.EncHashtable {
			h.ht = newMemberTree()
			for _, p := range o.Fields {
				h.ht.Set(member{h: hashKey(p.Field), key: p.Field, val: p.Value})
			}
			return h, nil
		}
		h.lp = make([]hfield, len(o.Fields))
		for i, p := range o.Fields {
			h.lp[i] = hfield{p.Field, p.Value}
		}
		return h, nil
	case *rdb.Set:
		s := &setObj{gen: gen, lim: lim}
		switch o.Encoding {
		case rdb.EncIntset:
			s.enc, s.small = encIntset, o.Members
		case rdb.EncListpack:
			s.enc, s.small = encListpack, o.Members
		default:
			s.enc, s.ht = encHashtable, newMemberTree()
			for _, m := range o.Members {
				s.ht.Set(member{h: hashKey(m), key: m})
			}
		}
		return s, nil
	case *rdb.ZSet:
		z := newZset(lim, gen, 0, 0)
		z.skiplist = o.Encoding == rdb.EncSkiplist
		for _, e := range o.Entries {
			z.set(e.Member, e.Score)
			z.skiplist = o.Encoding == rdb.EncSkiplist // set never decides here: Decode did
		}
		return z, nil
	case *rdb.Stream:
		return streamFromRDB(o, gen)
	}
	return nil, fmt.Errorf("RDB value of type %T: %w", v, rdb.ErrUnsupported)
}
