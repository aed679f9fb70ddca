package rdb

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Encode returns v's DUMP payload as redis-server 7.0.15 writes it with its
// defaults (rdbcompression yes, list-compress-depth 0): the RDB type, the
// body in the RDB encoding Redis 7.0 uses for v's encoding, RDB version 10
// and the CRC64. Strings are integer-encoded or LZF-compressed as Redis
// would; a list is cut into quicklist nodes as RPUSH would cut it under
// lim.ListMaxListpackSize; a Redis 7.2 listpack set is written as a plain
// set, which Redis 7.0 reads.
//
// v must be well formed, as Decode returns values: no empty collection, no
// repeated member or field, intset members integers, sorted set entries in
// order. Encode reports what it can check cheaply.
func Encode(v Value, lim Limits) ([]byte, error) {
	w := &writer{}
	var err error
	switch v := v.(type) {
	case String:
		w.byte(typeString)
		w.str(string(v))
	case *List:
		err = w.list(v, lim)
	case *Set:
		err = w.set(v)
	case *Hash:
		err = w.hash(v)
	case *ZSet:
		err = w.zset(v)
	case *Stream:
		err = w.stream(v)
	case nil:
		err = errors.New("nil value")
	default:
		err = fmt.Errorf("value of type %T: %w", v, ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("rdb: encode: %w", err)
	}
	w.b = binary.LittleEndian.AppendUint16(w.b, Version)
	w.b = binary.LittleEndian.AppendUint64(w.b, crc64Jones(w.b))
	return w.b, nil
}

func (w *writer) list(v *List, lim Limits) error {
	if v.Encoding != EncListpack && v.Encoding != EncQuicklist {
		return fmt.Errorf("list encoding %q", v.Encoding)
	}
	if len(v.Elements) == 0 {
		return errors.New("empty list")
	}
	nodes := quicklistNodes(v.Elements, lim.ListMaxListpackSize)
	w.byte(typeListQuicklist2)
	w.length(uint64(len(nodes)))
	for _, n := range nodes {
		if n.plain {
			w.length(containerPlain)
			w.str(v.Elements[n.start])
			continue
		}
		lp := newListpack()
		for _, e := range v.Elements[n.start : n.start+n.count] {
			lp.appendString(e)
		}
		b, err := lp.finish()
		if err != nil {
			return err
		}
		w.length(containerPacked)
		w.blob(b)
	}
	return nil
}

func (w *writer) set(v *Set) error {
	if len(v.Members) == 0 {
		return errors.New("empty set")
	}
	switch v.Encoding {
	case EncIntset:
		vals, ok := sortedInts(v.Members)
		if !ok {
			return errors.New("intset with a member that is not a distinct integer")
		}
		w.byte(typeSetIntset)
		w.blob(intsetBlob(vals))
	case EncListpack, EncHashtable:
		w.byte(typeSet)
		w.length(uint64(len(v.Members)))
		for _, m := range v.Members {
			w.str(m)
		}
	default:
		return fmt.Errorf("set encoding %q", v.Encoding)
	}
	return nil
}

func (w *writer) hash(v *Hash) error {
	if len(v.Fields) == 0 {
		return errors.New("empty hash")
	}
	switch v.Encoding {
	case EncListpack:
		lp := newListpack()
		for _, f := range v.Fields {
			lp.appendString(f.Field)
			lp.appendString(f.Value)
		}
		b, err := lp.finish()
		if err != nil {
			return err
		}
		w.byte(typeHashListpack)
		w.blob(b)
	case EncHashtable:
		w.byte(typeHash)
		w.length(uint64(len(v.Fields)))
		for _, f := range v.Fields {
			w.str(f.Field)
			w.str(f.Value)
		}
	default:
		return fmt.Errorf("hash encoding %q", v.Encoding)
	}
	return nil
}

func (w *writer) zset(v *ZSet) error {
	if len(v.Entries) == 0 {
		return errors.New("empty sorted set")
	}
	switch v.Encoding {
	case EncListpack:
		lp := newListpack()
		for _, e := range v.Entries {
			lp.appendString(e.Member)
			lp.appendScore(e.Score)
		}
		b, err := lp.finish()
		if err != nil {
			return err
		}
		w.byte(typeZSetListpack)
		w.blob(b)
	case EncSkiplist:
		// rdbSaveObject walks the skiplist from its tail: greatest first.
		w.byte(typeZSet2)
		w.length(uint64(len(v.Entries)))
		for i := len(v.Entries) - 1; i >= 0; i-- {
			w.str(v.Entries[i].Member)
			w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v.Entries[i].Score))
		}
	default:
		return fmt.Errorf("sorted set encoding %q", v.Encoding)
	}
	return nil
}

// appendScore stores a score as zzlInsertAt does: an integer if double2ll
// takes it, else d2string's text. A -0 (which Redis only holds in a listpack
// that a payload brought) stays the text "-0".
func (lp *listpack) appendScore(d float64) {
	if d == 0 && math.Signbit(d) {
		lp.appendString("-0")
		return
	}
	if ll, ok := double2ll(d); ok {
		lp.appendInt(ll)
		return
	}
	lp.appendString(d2string(d))
}

// writer builds an RDB body.
type writer struct {
	b       []byte
	lzfTab  lzfTable // reused by every LZF string of one Encode
	scratch []byte
}

func (w *writer) byte(c byte) { w.b = append(w.b, c) }

// length is rdbSaveLen.
func (w *writer) length(n uint64) {
	switch {
	case n < 1<<6:
		w.b = append(w.b, byte(n))
	case n < 1<<14:
		w.b = append(w.b, byte(n>>8)|len14Bit<<6, byte(n))
	case n <= math.MaxUint32:
		w.b = append(w.b, len32Bit)
		w.b = binary.BigEndian.AppendUint32(w.b, uint32(n))
	default:
		w.b = append(w.b, len64Bit)
		w.b = binary.BigEndian.AppendUint64(w.b, n)
	}
}

// AppendString appends s to b as rdbSaveRawString writes it with
// rdbcompression on (str): FUNCTION DUMP's library code, which Redis saves
// that way.
func AppendString(b []byte, s string) []byte {
	w := &writer{b: b}
	w.str(s)
	return w.b
}

// str is rdbSaveRawString: an integer of up to 32 bits if s is one, else
// LZF if s is over 20 bytes and compresses by at least 4, else verbatim.
func (w *writer) str(s string) {
	if len(s) <= 11 {
		if v, ok := parseStrictInt(s); ok && v >= math.MinInt32 && v <= math.MaxInt32 {
			switch {
			case v >= math.MinInt8 && v <= math.MaxInt8:
				w.b = append(w.b, lenEnc<<6|encInt8, byte(v))
			case v >= math.MinInt16 && v <= math.MaxInt16:
				w.b = append(w.b, lenEnc<<6|encInt16, byte(v), byte(v>>8))
			default:
				w.b = append(w.b, lenEnc<<6|encInt32, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
			}
			return
		}
	}
	if len(s) > 20 && w.lzf([]byte(s)) {
		return
	}
	w.length(uint64(len(s)))
	w.b = append(w.b, s...)
}

// blob is str for an encoded structure (listpack, intset).
func (w *writer) blob(b []byte) {
	if len(b) > 20 && w.lzf(b) {
		return
	}
	w.length(uint64(len(b)))
	w.b = append(w.b, b...)
}

// lzf is rdbSaveLzfStringObject: it writes b compressed and reports true,
// or writes nothing if b does not compress into len(b)-4 bytes.
func (w *writer) lzf(b []byte) bool {
	c := lzfCompress(b, len(b)-4, &w.lzfTab, w.scratch)
	if c == nil {
		return false
	}
	w.scratch = c
	w.b = append(w.b, lenEnc<<6|encLZF)
	w.length(uint64(len(c)))
	w.length(uint64(len(b)))
	w.b = append(w.b, c...)
	return true
}
