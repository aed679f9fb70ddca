package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Entry format. Every Raft log entry the node proposes is one Entry: a
// version byte, a type byte, the leader's clock and a random seed, then the
// commands, then a CRC-32C of everything before it. Versioned so that a node
// can refuse an entry it does not understand instead of applying it wrongly;
// checksummed because neither bolt nor raft-boltdb checks the bytes of a
// stored log entry, and a flipped bit in a value would otherwise be applied
// and served as if a client had written it.
//
// Version 2 (the first with a checksum) carries commands of database 0 only.
// Version 3 adds a database number to a command record (the op byte's bit 1
// says one follows); a leader writes it once the cluster level is 2 (every
// member reads it), version 2 before (EntryVersionFor).
const (
	// EntryVersion2 is the entry format of cluster level 1.
	EntryVersion2 byte = 2
	// EntryVersion3 adds database numbers: cluster level 2.
	EntryVersion3 byte = 3
	// EntryBatch carries one or more commands applied in order, atomically.
	EntryBatch byte = 1
)

// EntryVersionFor is the entry format a leader writes at cluster level l:
// the newest every member can read.
func EntryVersionFor(l Level) byte {
	if l >= Level2 {
		return EntryVersion3
	}
	return EntryVersion2
}

// opHasDB marks a command record that names its database (version 3).
const opHasDB = 2

// Op says who may issue a command: clients, or only the node itself.
type Op byte

const (
	// OpClient is a command a client sent (SET, DEL, ...).
	OpClient Op = 0
	// OpInternal is a command only the leader proposes (expiry, metadata).
	OpInternal Op = 1
)

// Cmd is one command inside an entry.
type Cmd struct {
	Op Op
	// DB is the database the command runs in (entry version 3; 0 before).
	DB   int
	Argv [][]byte
}

// Entry is a decoded log entry.
type Entry struct {
	Type byte
	// Time is the leader's clock in Unix milliseconds when it built the entry;
	// TTLs are judged against it so every replica agrees.
	Time int64
	// Seed drives every random choice a command in this entry makes.
	Seed uint64
	Cmds []Cmd
}

var errShortEntry = errors.New("truncated entry")

// ErrNewerFormat marks data this build cannot read because a newer build
// wrote it (an entry or snapshot format, a cluster level, a snapshot section
// it does not know): a downgrade, refused rather than half-read.
var ErrNewerFormat = errors.New("written by a newer build of Understudy")

// ErrEntryChecksum marks an entry whose bytes do not match their checksum:
// the entry was damaged after it was written (on disk, or in transit).
var ErrEntryChecksum = errors.New("entry checksum mismatch")

// entryTrailer is the size of the checksum that ends every entry.
const entryTrailer = 4

// EncodedSize is an upper bound on the size AppendEntry will add for e.
func EncodedSize(e *Entry) int {
	n := 2 + 8 + 8 + binary.MaxVarintLen64 + entryTrailer
	for _, c := range e.Cmds {
		n += 1 + uvarintLen(uint64(c.DB)) + uvarintLen(uint64(len(c.Argv)))
		for _, a := range c.Argv {
			n += uvarintLen(uint64(len(a))) + len(a)
		}
	}
	return n
}

// AppendEntry encodes e onto dst, as version 3 if any command names a
// database other than 0, else version 2.
func AppendEntry(dst []byte, e *Entry) []byte {
	start := len(dst)
	version := EntryVersion2
	for _, c := range e.Cmds {
		if c.DB != 0 {
			version = EntryVersion3
		}
	}
	dst = AppendHeader(dst, version, e.Type, e.Time, e.Seed, len(e.Cmds))
	for _, c := range e.Cmds {
		dst = AppendCmd(dst, c)
	}
	return SealEntry(dst, start)
}

// SealEntry ends the entry that starts at dst[start] (a header and its
// commands) with its checksum.
func SealEntry(dst []byte, start int) []byte {
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// AppendCmd encodes one command; a batch is a header followed by commands.
// A command of database 0 is encoded as version 2 has it; another database
// needs version 3.
func AppendCmd(dst []byte, c Cmd) []byte {
	if c.DB != 0 {
		dst = append(dst, byte(c.Op)|opHasDB)
		dst = binary.AppendUvarint(dst, uint64(c.DB))
	} else {
		dst = append(dst, byte(c.Op))
	}
	dst = binary.AppendUvarint(dst, uint64(len(c.Argv)))
	for _, a := range c.Argv {
		dst = binary.AppendUvarint(dst, uint64(len(a)))
		dst = append(dst, a...)
	}
	return dst
}

// AppendHeader writes an entry header for n commands, to be followed by n
// AppendCmd calls and SealEntry. The batcher uses it to build entries without
// an Entry value; version is EntryVersionFor the cluster's level.
func AppendHeader(dst []byte, version, typ byte, time int64, seed uint64, n int) []byte {
	dst = append(dst, version, typ)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(time))
	dst = binary.LittleEndian.AppendUint64(dst, seed)
	return binary.AppendUvarint(dst, uint64(n))
}

// DecodeEntry verifies b's checksum and decodes it. Argument slices alias b.
func DecodeEntry(b []byte) (*Entry, error) {
	if err := VerifyEntry(b); err != nil {
		return nil, err
	}
	b = b[:len(b)-entryTrailer]
	version := b[0]
	if version > EntryVersion3 {
		return nil, fmt.Errorf("entry format %d %w (this build reads formats %d to %d): downgrades are refused; run a build at least as new",
			version, ErrNewerFormat, EntryVersion2, EntryVersion3)
	}
	if version < EntryVersion2 {
		return nil, fmt.Errorf("unsupported entry version %d", version)
	}
	e := &Entry{Type: b[1]}
	if e.Type != EntryBatch {
		return nil, fmt.Errorf("unknown entry type %d", e.Type)
	}
	e.Time = int64(binary.LittleEndian.Uint64(b[2:]))
	e.Seed = binary.LittleEndian.Uint64(b[10:])
	b = b[18:]
	n, b, err := uvarint(b)
	if err != nil {
		return nil, err
	}
	// Every command takes at least two bytes, which bounds a hostile count.
	if n > uint64(len(b))/2 {
		return nil, fmt.Errorf("command count %d exceeds entry size", n)
	}
	e.Cmds = make([]Cmd, 0, n)
	// The commands' argument slices are carved from one array (a SET is
	// three): one allocation per entry rather than one per command.
	args := make([][]byte, 0, min(3*n, uint64(len(b))))
	for i := uint64(0); i < n; i++ {
		var c Cmd
		if c, b, err = decodeCmdInto(b, &args); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
		if c.DB != 0 && version < EntryVersion3 {
			return nil, fmt.Errorf("command %d: a database number in a version %d entry", i, version)
		}
		e.Cmds = append(e.Cmds, c)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after entry", len(b))
	}
	return e, nil
}

// decodeCmd decodes one AppendCmd record from the front of b.
func decodeCmd(b []byte) (Cmd, []byte, error) { return decodeCmdInto(b, nil) }

// decodeCmdInto is decodeCmd taking the argument slice from the spare
// capacity of *args when it has room (capped, so an append to one
// command's argv never reaches the next's).
func decodeCmdInto(b []byte, args *[][]byte) (Cmd, []byte, error) {
	if len(b) < 1 {
		return Cmd{}, nil, errShortEntry
	}
	if b[0] > byte(OpInternal)|opHasDB {
		return Cmd{}, nil, fmt.Errorf("unknown op %d", b[0])
	}
	op := Op(b[0] &^ opHasDB)
	var db uint64
	var err error
	b0 := b[0]
	b = b[1:]
	if b0&opHasDB != 0 {
		if db, b, err = uvarint(b); err != nil {
			return Cmd{}, nil, err
		}
		if db == 0 || db >= MaxDatabases {
			return Cmd{}, nil, fmt.Errorf("bad database number %d", db)
		}
	}
	argc, b, err := uvarint(b)
	if err != nil {
		return Cmd{}, nil, err
	}
	if argc == 0 || argc > uint64(len(b)) {
		return Cmd{}, nil, fmt.Errorf("bad argument count %d", argc)
	}
	var argv [][]byte
	if args != nil && uint64(cap(*args)-len(*args)) >= argc {
		n := len(*args) + int(argc)
		argv, *args = (*args)[len(*args):n:n], (*args)[:n]
	} else {
		argv = make([][]byte, argc)
	}
	for j := range argv {
		var l uint64
		if l, b, err = uvarint(b); err != nil {
			return Cmd{}, nil, err
		}
		if l > uint64(len(b)) {
			return Cmd{}, nil, errShortEntry
		}
		argv[j] = b[:l:l]
		b = b[l:]
	}
	return Cmd{Op: op, DB: int(db), Argv: argv}, b, nil
}

// VerifyEntry checks that b is long enough to be an entry and that its bytes
// match the checksum at its end. It does not decode the commands.
func VerifyEntry(b []byte) error {
	if len(b) < 18+1+entryTrailer {
		return errShortEntry
	}
	body := b[:len(b)-entryTrailer]
	stored := binary.LittleEndian.Uint32(b[len(body):])
	if got := crc32.Checksum(body, castagnoli); got != stored {
		return fmt.Errorf("%w (stored %#08x, computed %#08x over %d bytes)", ErrEntryChecksum, stored, got, len(body))
	}
	return nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, errShortEntry
	}
	return v, b[n:], nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
