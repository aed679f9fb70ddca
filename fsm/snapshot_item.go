package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// A keyspace's items in a snapshot, written and read: a key count, then
// each item's type tag, key, expiry, version and value (format in
// snapshot.go; streams are stream_snap.go's).

// writeKeys writes a keyspace's key count and items.
func writeKeys(w *snapWriter, ks *keyspace) {
	w.buf = binary.AppendUvarint(w.buf, uint64(ks.len()))
	ks.tree.Scan(func(s slot) bool {
		writeItem(w, *s.it)
		return w.err == nil
	})
}

func writeItem(w *snapWriter, it item) {
	var t byte
	switch it.val.(type) {
	case string:
		t = typeString
		if it.raw {
			t = typeRawString
		}
	case *hashObj:
		t = typeHash
	case *listObj:
		t = typeList
	case *setObj:
		t = typeSet
	case *zsetObj:
		t = typeZSet
	case *streamObj:
		t = typeStream
	default:
		w.err = fmt.Errorf("key %q: cannot snapshot value of type %T", it.key, it.val)
		return
	}
	w.buf = append(w.buf, t)
	w.str(it.key)
	w.buf = binary.AppendVarint(w.buf, it.exp)
	w.buf = binary.AppendUvarint(w.buf, it.ver)
	switch v := it.val.(type) {
	case string:
		w.str(v)
	case *hashObj:
		w.buf = append(w.buf, boolByte(v.ht != nil))
		w.buf = binary.AppendUvarint(w.buf, uint64(v.len()))
		v.each(func(f, val string) bool { w.str(f); w.str(val); return true })
	case *listObj:
		w.buf = append(w.buf, boolByte(v.quick))
		w.buf = binary.AppendUvarint(w.buf, uint64(v.len()))
		for i := range v.len() {
			w.str(v.d.at(i))
		}
	case *setObj:
		w.buf = append(w.buf, v.enc)
		w.buf = binary.AppendUvarint(w.buf, uint64(v.len()))
		v.each(func(m string) bool { w.str(m); return true })
	case *zsetObj:
		w.buf = append(w.buf, boolByte(v.skiplist))
		w.buf = binary.AppendUvarint(w.buf, uint64(v.len()))
		v.byScore.Scan(func(e zent) bool {
			w.str(e.m)
			w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(e.score))
			return true
		})
	case *streamObj:
		writeStream(w, v)
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// readKeys reads a key count and that many items into ks.
func readKeys(r *snapReader, ks *keyspace) error {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	for i := uint64(0); i < n; i++ {
		if err := readItem(r, ks); err != nil {
			return fmt.Errorf("key %d of %d: %w", i+1, n, err)
		}
	}
	return nil
}

func readItem(r *snapReader, ks *keyspace) error {
	typ, err := r.ReadByte()
	if err != nil {
		return err
	}
	key, err := r.str()
	if err != nil {
		return err
	}
	exp, err := binary.ReadVarint(r)
	if err != nil {
		return err
	}
	ver, err := binary.ReadUvarint(r)
	if err != nil {
		return err
	}
	ks.index = ver
	var val any
	switch typ {
	case typeString, typeRawString:
		val, err = r.str()
	case typeStream:
		val, err = readStream(r, ks.gen)
	default:
		val, err = readCollection(r, typ, ks.gen)
	}
	if err != nil {
		return err
	}
	if _, dup := ks.raw(key); dup {
		return fmt.Errorf("key %q appears twice", key)
	}
	ks.put(item{key: key, exp: exp, val: val, raw: typ == typeRawString})
	return nil
}

// readCollection reads a collection written by writeItem, checking that it
// is one this build could have written: a known encoding, at least one
// element, no duplicates, an intset sorted, no NaN score.
func readCollection(r *snapReader, typ byte, gen uint64) (any, error) {
	enc, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errors.New("empty collection")
	}
	maxEnc := map[byte]byte{typeHash: 1, typeList: 1, typeSet: 2, typeZSet: 1}
	if me, ok := maxEnc[typ]; !ok || enc > me {
		return nil, fmt.Errorf("unknown value type %d encoding %d", typ, enc)
	}
	seen := map[string]bool{}
	unique := func(s string) error {
		if seen[s] {
			return fmt.Errorf("duplicate element %q", s)
		}
		seen[s] = true
		return nil
	}
	var val any
	var prev int64
	switch typ {
	case typeHash:
		h := &hashObj{gen: gen}
		if enc == 1 {
			h.ht = newMemberTree()
		}
		for i := uint64(0); i < n; i++ {
			f, err := r.str()
			if err != nil {
				return nil, err
			}
			v, err := r.str()
			if err != nil {
				return nil, err
			}
			if err := unique(f); err != nil {
				return nil, err
			}
			if h.ht != nil {
				h.ht.Set(member{h: hashKey(f), key: f, val: v})
			} else {
				h.lp = append(h.lp, hfield{f, v})
			}
		}
		val = h
	case typeList:
		l := newList(gen)
		for i := uint64(0); i < n; i++ {
			s, err := r.str()
			if err != nil {
				return nil, err
			}
			l.push(s, false)
		}
		l.quick = enc == 1
		val = l
	case typeSet:
		s := &setObj{gen: gen, enc: enc}
		if enc == encHashtable {
			s.ht = newMemberTree()
		}
		for i := uint64(0); i < n; i++ {
			m, err := r.str()
			if err != nil {
				return nil, err
			}
			if err := unique(m); err != nil {
				return nil, err
			}
			switch enc {
			case encIntset:
				v, ok := parseInt(b(m))
				if !ok || (i > 0 && v <= prev) {
					return nil, fmt.Errorf("intset member %q out of order", m)
				}
				prev = v
				s.small = append(s.small, m)
			case encListpack:
				s.small = append(s.small, m)
			default:
				s.ht.Set(member{h: hashKey(m), key: m})
			}
		}
		val = s
	case typeZSet:
		z := newZset(nil, gen, 0, 0)
		z.skiplist = enc == 1
		for i := uint64(0); i < n; i++ {
			m, err := r.str()
			if err != nil {
				return nil, err
			}
			bits, err := r.full(8)
			if err != nil {
				return nil, err
			}
			score := math.Float64frombits(binary.LittleEndian.Uint64(bits))
			if math.IsNaN(score) {
				return nil, fmt.Errorf("member %q has a NaN score", m)
			}
			if _, dup := z.score(m); dup {
				return nil, fmt.Errorf("duplicate element %q", m)
			}
			skip := z.skiplist
			z.set(m, score)
			z.skiplist = skip
		}
		val = z
	}
	return val, nil
}
