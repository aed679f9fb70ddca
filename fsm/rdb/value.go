// Package rdb reads and writes Redis's serialization of a single value, the
// payload of DUMP, RESTORE and MIGRATE: an RDB type byte, the value's body in
// one of the RDB encodings, the RDB version (2 bytes) and a CRC64 (8 bytes).
//
// Encode writes what redis-server 7.0.15 writes for the same value and
// encoding (RDB version 10). Decode accepts what RESTORE on Redis 7.0.15
// accepts with sanitize-dump-payload yes: every RDB version up to 10 and
// every older encoding (ziplist, zipmap, intset, quicklist of ziplists,
// string-encoded scores), with the same integrity checks and Redis's error
// texts. The package knows nothing of the state machine: it works on the
// neutral values below, which package fsm converts to and from its objects.
// See DESIGN.md.
package rdb

import "errors"

// Version is the RDB version Encode writes, Redis 7.0's; Decode accepts any
// version up to it.
const Version = 10

// The errors Decode returns wrap one of these. Their texts are Redis's
// replies, so a RESTORE can answer with err's sentinel as it is.
var (
	// ErrChecksum is a payload shorter than its footer, of a newer RDB
	// version, or whose CRC64 does not match.
	ErrChecksum = errors.New("ERR DUMP payload version or checksum are wrong")
	// ErrBadFormat is a body that does not parse or fails an integrity check.
	ErrBadFormat = errors.New("ERR Bad data format")
	// ErrUnsupported is a well-formed RDB type this package does not read
	// yet (streams, modules). It wraps ErrBadFormat, which is what RESTORE
	// answers for it.
	ErrUnsupported = &unsupportedError{}
)

type unsupportedError struct{}

func (*unsupportedError) Error() string { return "unsupported RDB value type: " + ErrBadFormat.Error() }
func (*unsupportedError) Unwrap() error { return ErrBadFormat }

// Encoding names a value's in-memory encoding as OBJECT ENCODING does.
type Encoding string

// The encodings of collections. Strings carry none: Redis picks int,
// embstr or raw from the value itself.
const (
	EncListpack  Encoding = "listpack"  // small list, set (Redis 7.2), hash or sorted set
	EncQuicklist Encoding = "quicklist" // list
	EncIntset    Encoding = "intset"    // set of integers
	EncHashtable Encoding = "hashtable" // set or hash
	EncSkiplist  Encoding = "skiplist"  // sorted set
)

// Value is one of String, *List, *Set, *Hash, *ZSet or *Stream.
type Value interface{ isValue() }

// String is a string value.
type String string

// List is a list value.
type List struct {
	Elements []string
	// Encoding is EncListpack or EncQuicklist. Encode writes both as Redis
	// 7.0 does (a quicklist of listpack nodes); Decode reports what Redis
	// 7.2 would hold after loading (see Limits).
	Encoding Encoding
}

// Set is a set value.
type Set struct {
	// Members are in the encoding's order: ascending numerically for an
	// intset, insertion order for a listpack, and any order for a hashtable
	// (Encode writes them in this order).
	Members []string
	// Encoding is EncIntset, EncListpack (Redis 7.2's small sets, written as
	// a plain set that Redis 7.0 can read) or EncHashtable.
	Encoding Encoding
}

// Hash is a hash value.
type Hash struct {
	Fields   []HashField // listpack: insertion order; hashtable: any order
	Encoding Encoding    // EncListpack or EncHashtable
}

// HashField is one field of a hash and its value.
type HashField struct{ Field, Value string }

// ZSet is a sorted set value.
type ZSet struct {
	// Entries are in ascending (score, member) order, as Redis keeps them.
	// Encode writes a skiplist from the last entry to the first, as Redis
	// does.
	Entries  []ZEntry
	Encoding Encoding // EncListpack or EncSkiplist
}

// ZEntry is one member of a sorted set and its score.
type ZEntry struct {
	Member string
	Score  float64
}

func (String) isValue() {}
func (*List) isValue()  {}
func (*Set) isValue()   {}
func (*Hash) isValue()  {}
func (*ZSet) isValue()  {}

// Limits are the encoding thresholds (Redis's CONFIG parameters of the same
// names) that decide which encoding a decoded value gets, as Redis decides
// after loading, and how Encode splits a list into quicklist nodes.
type Limits struct {
	HashMaxListpackEntries int64
	HashMaxListpackValue   int64
	SetMaxIntsetEntries    int64
	// SetMaxListpackEntries and SetMaxListpackValue are Redis 7.2's; with
	// SetMaxListpackEntries 0 a set of strings loads as a hashtable, as in
	// Redis 7.0.
	SetMaxListpackEntries  int64
	SetMaxListpackValue    int64
	ZsetMaxListpackEntries int64
	ZsetMaxListpackValue   int64
	// ListMaxListpackSize is list-max-listpack-size: -1 to -5 cap a
	// quicklist node at 4, 8, 16, 32 or 64 KiB, a positive n at n elements.
	ListMaxListpackSize int64
}

// DefaultLimits are redis-server's compiled-in defaults (which redis.conf
// files often lower, e.g. hash-max-listpack-entries to 128).
func DefaultLimits() Limits {
	return Limits{
		HashMaxListpackEntries: 512,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		SetMaxListpackEntries:  128,
		SetMaxListpackValue:    64,
		ZsetMaxListpackEntries: 128,
		ZsetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
	}
}
