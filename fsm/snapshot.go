package fsm

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"sort"

	"github.com/cespare/xxhash/v2"
	"github.com/hashicorp/raft"
)

// Snapshot format (see DESIGN.md):
//
//	magic "USNAPSHT" | version u32 | clock i64 | applied u64
//	| nmeta uvarint | (id, client, admin [, peer-client, peer-admin])*  | nkeys uvarint
//	| (type u8, key, exp varint, ver uvarint, value)* | crc32c u32 of all before it
//
// Strings are uvarint length + bytes. Every integer is little-endian. A
// string value is one string; a collection is its encoding byte, a uvarint
// count (never 0) and its elements in the order the encoding keeps them,
// which is deterministic, so equal states write equal bytes:
//
//	hash: enc (0 listpack, 1 hashtable) | n | (field, value)*   listpack: insertion order
//	list: enc (0 listpack, 1 quicklist) | n | element*          head to tail
//	set:  enc (0 intset, 1 listpack, 2 hashtable) | n | member*
//	zset: enc (0 listpack, 1 skiplist) | n | (member, score as IEEE-754 u64)*  by score
//
// Hashtables (hashes, sets) go in (xxhash, member) order.
//
// Version 2 adds each member's peer-facing addresses to its metadata. A
// snapshot is written as version 1 when no member has any, so a cluster that
// does not separate the two stays readable by older binaries.
//
// Version 3 (also with peer addresses) adds WATCH's tombstones after the
// items, when there are any: floor uvarint | n uvarint | (key, mod uvarint,
// del uvarint, at varint)* oldest deletion first (tomb.go).
const (
	snapMagic   = "USNAPSHT"
	snapVersion = 2
	// snapVersionNoPeers is the format without peer addresses.
	snapVersionNoPeers = 1
	// snapVersionTombs adds WATCH's tombstones after the items (tomb.go);
	// written only when there are any.
	snapVersionTombs = 3
	// maxSnapString bounds one string read from a snapshot so a corrupt
	// length cannot make the node allocate without limit.
	maxSnapString = 1 << 30
)

// Value type tags in the snapshot.
const (
	typeString byte = 0
	typeHash   byte = 1
	typeList   byte = 2
	typeSet    byte = 3
	typeZSet   byte = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrSnapshotCorrupt marks a snapshot stream that fails its checks.
var ErrSnapshotCorrupt = errors.New("snapshot corrupt")

type snapshot struct {
	ks      *keyspace
	clock   int64
	applied uint64
	meta    map[string]NodeMeta
}

// Persist streams the snapshot to sink; on any error it cancels the sink so
// Raft never keeps a partial snapshot.
func (s *snapshot) Persist(sink raft.SnapshotSink) error {
	bw := bufio.NewWriterSize(sink, 256<<10)
	err := s.write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

// Release is a no-op: the copy-on-write tree is freed by the GC.
func (s *snapshot) Release() {}

type snapWriter struct {
	w   io.Writer
	crc hash.Hash32
	buf []byte
	err error
}

func (w *snapWriter) flush() {
	if w.err != nil || len(w.buf) == 0 {
		w.buf = w.buf[:0]
		return
	}
	w.crc.Write(w.buf)
	_, w.err = w.w.Write(w.buf)
	w.buf = w.buf[:0]
}

func (w *snapWriter) str(s string) {
	w.buf = binary.AppendUvarint(w.buf, uint64(len(s)))
	w.buf = append(w.buf, s...)
	if len(w.buf) > 64<<10 {
		w.flush()
	}
}

func (s *snapshot) write(out io.Writer) error {
	w := &snapWriter{w: out, crc: crc32.New(castagnoli), buf: make([]byte, 0, 128<<10)}
	ids := make([]string, 0, len(s.meta))
	version := uint32(snapVersionNoPeers)
	for id, m := range s.meta {
		ids = append(ids, id)
		if m.PeerClientAddr != "" || m.PeerAdminAddr != "" {
			version = snapVersion
		}
	}
	sort.Strings(ids) // deterministic bytes, so equal states hash equal
	if s.ks.tombs.len() > 0 || s.ks.tombs.floor > 0 {
		version = snapVersionTombs
	}
	w.buf = append(w.buf, snapMagic...)
	w.buf = binary.LittleEndian.AppendUint32(w.buf, version)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, uint64(s.clock))
	w.buf = binary.LittleEndian.AppendUint64(w.buf, s.applied)
	w.buf = binary.AppendUvarint(w.buf, uint64(len(ids)))
	for _, id := range ids {
		w.str(id)
		w.str(s.meta[id].ClientAddr)
		w.str(s.meta[id].AdminAddr)
		if version >= snapVersion {
			w.str(s.meta[id].PeerClientAddr)
			w.str(s.meta[id].PeerAdminAddr)
		}
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(s.ks.len()))
	s.ks.tree.Scan(func(it *item) bool {
		writeItem(w, *it)
		return w.err == nil
	})
	if version >= snapVersionTombs {
		writeTombs(w, &s.ks.tombs)
	}
	w.flush()
	if w.err != nil {
		return w.err
	}
	_, err := out.Write(binary.LittleEndian.AppendUint32(nil, w.crc.Sum32()))
	return err
}

func writeItem(w *snapWriter, it item) {
	var t byte
	switch it.val.(type) {
	case string:
		t = typeString
	case *hashObj:
		t = typeHash
	case *listObj:
		t = typeList
	case *setObj:
		t = typeSet
	case *zsetObj:
		t = typeZSet
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
	}
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

type snapReader struct {
	r   *bufio.Reader
	crc hash.Hash32
}

func (r *snapReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.crc.Write(p[:n])
	return n, err
}

func (r *snapReader) ReadByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.crc.Write([]byte{c})
	}
	return c, err
}

func (r *snapReader) full(n int) ([]byte, error) {
	p := make([]byte, n)
	_, err := io.ReadFull(r, p)
	return p, err
}

func (r *snapReader) str() (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > maxSnapString {
		return "", fmt.Errorf("%w: string length %d", ErrSnapshotCorrupt, n)
	}
	p, err := r.full(int(n))
	return string(p), err
}

func readSnapshot(in io.Reader) (*snapshot, error) {
	r := &snapReader{r: bufio.NewReaderSize(in, 256<<10), crc: crc32.New(castagnoli)}
	hdr, err := r.full(len(snapMagic) + 4 + 8 + 8)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrSnapshotCorrupt, err)
	}
	if string(hdr[:8]) != snapMagic {
		return nil, fmt.Errorf("%w: bad magic %q", ErrSnapshotCorrupt, hdr[:8])
	}
	version := binary.LittleEndian.Uint32(hdr[8:])
	if version < snapVersionNoPeers || version > snapVersionTombs {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrSnapshotCorrupt, version)
	}
	s := &snapshot{
		ks:      newKeyspace(),
		clock:   int64(binary.LittleEndian.Uint64(hdr[12:])),
		applied: binary.LittleEndian.Uint64(hdr[20:]),
		meta:    map[string]NodeMeta{},
	}
	body := func() error {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			var id string
			var m NodeMeta
			if id, err = r.str(); err != nil {
				return err
			}
			if m.ClientAddr, err = r.str(); err != nil {
				return err
			}
			if m.AdminAddr, err = r.str(); err != nil {
				return err
			}
			if version >= snapVersion {
				if m.PeerClientAddr, err = r.str(); err != nil {
					return err
				}
				if m.PeerAdminAddr, err = r.str(); err != nil {
					return err
				}
			}
			s.meta[id] = m
		}
		if n, err = binary.ReadUvarint(r); err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := readItem(r, s.ks); err != nil {
				return fmt.Errorf("key %d of %d: %w", i+1, n, err)
			}
		}
		if version >= snapVersionTombs {
			return readTombs(r, s.ks)
		}
		return nil
	}
	if err := body(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSnapshotCorrupt, err)
	}
	want := r.crc.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(r.r, tail[:]); err != nil {
		return nil, fmt.Errorf("%w: checksum: %v", ErrSnapshotCorrupt, err)
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("%w: checksum mismatch (stored %08x, computed %08x)", ErrSnapshotCorrupt, got, want)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after checksum", ErrSnapshotCorrupt)
	}
	return s, nil
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
	if typ == typeString {
		val, err = r.str()
	} else {
		val, err = readCollection(r, typ, ks.gen)
	}
	if err != nil {
		return err
	}
	if _, dup := ks.raw(key); dup {
		return fmt.Errorf("key %q appears twice", key)
	}
	ks.put(item{key: key, exp: exp, val: val})
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
		z := newZset(gen, 0, 0)
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

// hashWriter hashes everything written to it.
type hashWriter struct{ *xxhash.Digest }

func newHashWriter() hashWriter { return hashWriter{xxhash.New()} }
