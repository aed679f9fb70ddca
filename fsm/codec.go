package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Entry format. Every Raft log entry the node proposes is one Entry: a
// version byte, a type byte, the leader's clock and a random seed, then the
// commands. Versioned so that a node can refuse an entry it does not
// understand instead of applying it wrongly.
const (
	// EntryVersion is the only encoding version this build writes and reads.
	EntryVersion byte = 1
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

// EncodedSize is the exact size AppendEntry will add for e.
func EncodedSize(e *Entry) int {
	n := 2 + 8 + 8 + binary.MaxVarintLen64
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
	dst = append(dst, EntryVersion, e.Type)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.Time))
	dst = binary.LittleEndian.AppendUint64(dst, e.Seed)
	dst = binary.AppendUvarint(dst, uint64(len(e.Cmds)))
	for _, c := range e.Cmds {
		dst = AppendCmd(dst, c)
	}
	return dst
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
// AppendCmd calls. The batcher uses it to build entries without an Entry value.
func AppendHeader(dst []byte, typ byte, time int64, seed uint64, n int) []byte {
	dst = append(dst, EntryVersion, typ)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(time))
	dst = binary.LittleEndian.AppendUint64(dst, seed)
	return binary.AppendUvarint(dst, uint64(n))
}

// DecodeEntry decodes b. Argument slices alias b.
func DecodeEntry(b []byte) (*Entry, error) {
	if len(b) < 18 {
		return nil, errShortEntry
	}
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
