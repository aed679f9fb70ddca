package fsm

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"

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
//
// Version 4 (cluster level 2; written once the level is 2, so that members
// of level 1 never receive it) has, after the metadata (with peer
// addresses), the cluster level as a byte and then tagged sections, each a
// tag byte and its body, ending with tag 0:
//
//	level u8 | databases uvarint | (tag u8, body)* | 0
//	1 database: db uvarint | swapped uvarint (last SWAPDB's index)
//	            | nkeys uvarint | items | tombstones (as in 3)
//	2 config:   n uvarint | (name, value)*  the replicated parameters set
//	            away from their defaults, by name (config.go)
//	3 relay:    current, previous   the relay secret (relay.go); raft
//	            snapshots only, never a backup or the digest
//
// one per non-empty database, in order. A reader refuses a tag it does not
// know (the state it holds would be lost): a newer build wrote it.
const (
	snapMagic   = "USNAPSHT"
	snapVersion = 2
	// snapVersionNoPeers is the format without peer addresses.
	snapVersionNoPeers = 1
	// snapVersionTombs adds WATCH's tombstones after the items (tomb.go);
	// written only when there are any.
	snapVersionTombs = 3
	// snapVersionSections has the level and tagged sections (cluster level 2).
	snapVersionSections = 4
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
	// typeRawString is a string OBJECT ENCODING reports "raw" whatever its
	// value (item.raw); only level 2 commands make one, so only version 4
	// snapshots hold it.
	typeRawString byte = 5
	typeStream    byte = 6 // version 4 only (stream_snap.go)
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrSnapshotCorrupt marks a snapshot stream that fails its checks.
var ErrSnapshotCorrupt = errors.New("snapshot corrupt")

// Section tags of a version 4 snapshot.
const (
	secEnd      byte = 0
	secDatabase byte = 1
	secConfig   byte = 2
	secRelay    byte = 3
)

type snapshot struct {
	dbs     []*keyspace // by number; nil entries for databases never written
	clock   int64
	applied uint64
	meta    map[string]NodeMeta
	level   Level
	// databases is the cluster's number of databases (version 4).
	databases int
	conf      conf // the replicated configuration (version 4)
	relay     relaySecret
	// scr is the scripting state written (section 4); a reader keeps the
	// bodies and code, compiled again by Restore.
	scr                    scripting
	scriptBodies, libCodes []string
	// withSecret writes the relay secret (raft snapshots only: never a
	// backup or the state digest).
	withSecret bool
}

// db0 is database 0, the only one formats 1 to 3 hold.
func (s *snapshot) db0() *keyspace {
	if len(s.dbs) > 0 && s.dbs[0] != nil {
		return s.dbs[0]
	}
	return newKeyspace()
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

// hashWriter hashes everything written to it.
type hashWriter struct{ *xxhash.Digest }

func newHashWriter() hashWriter { return hashWriter{xxhash.New()} }
