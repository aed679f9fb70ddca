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
const (
	// EntryVersion is the only encoding version this build writes and reads.
	EntryVersion byte = 2
	// EntryBatch carries one or more commands applied in order, atomically.
	EntryBatch byte = 1
)

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
	Op   Op
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

// ErrEntryChecksum marks an entry whose bytes do not match their checksum:
// the entry was damaged after it was written (on disk, or in transit).
var ErrEntryChecksum = errors.New("entry checksum mismatch")

// entryTrailer is the size of the checksum that ends every entry.
const entryTrailer = 4

// EncodedSize is an upper bound on the size AppendEntry will add for e.
func EncodedSize(e *Entry) int {
	n := 2 + 8 + 8 + binary.MaxVarintLen64 + entryTrailer
	for _, c := range e.Cmds {
		n += 1 + uvarintLen(uint64(len(c.Argv)))
		for _, a := range c.Argv {
			n += uvarintLen(uint64(len(a))) + len(a)
		}
	}
	return n
}

// AppendEntry encodes e onto dst.
func AppendEntry(dst []byte, e *Entry) []byte {
	start := len(dst)
	dst = AppendHeader(dst, e.Type, e.Time, e.Seed, len(e.Cmds))
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
func AppendCmd(dst []byte, c Cmd) []byte {
	dst = append(dst, byte(c.Op))
	dst = binary.AppendUvarint(dst, uint64(len(c.Argv)))
	for _, a := range c.Argv {
		dst = binary.AppendUvarint(dst, uint64(len(a)))
		dst = append(dst, a...)
	}
	return dst
}

// AppendHeader writes an entry header for n commands, to be followed by n
// AppendCmd calls and SealEntry. The batcher uses it to build entries without
// an Entry value.
func AppendHeader(dst []byte, typ byte, time int64, seed uint64, n int) []byte {
	dst = append(dst, EntryVersion, typ)
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
	if b[0] != EntryVersion {
		return nil, fmt.Errorf("unsupported entry version %d (this build reads %d)", b[0], EntryVersion)
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
	for i := uint64(0); i < n; i++ {
		var c Cmd
		if c, b, err = decodeCmd(b); err != nil {
			return nil, fmt.Errorf("command %d: %w", i, err)
		}
		e.Cmds = append(e.Cmds, c)
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after entry", len(b))
	}
	return e, nil
}

// decodeCmd decodes one AppendCmd record from the front of b.
func decodeCmd(b []byte) (Cmd, []byte, error) {
	if len(b) < 1 {
		return Cmd{}, nil, errShortEntry
	}
	op := Op(b[0])
	if op != OpClient && op != OpInternal {
		return Cmd{}, nil, fmt.Errorf("unknown op %d", op)
	}
	argc, b, err := uvarint(b[1:])
	if err != nil {
		return Cmd{}, nil, err
	}
	if argc == 0 || argc > uint64(len(b)) {
		return Cmd{}, nil, fmt.Errorf("bad argument count %d", argc)
	}
	argv := make([][]byte, argc)
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
	return Cmd{Op: op, Argv: argv}, b, nil
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
