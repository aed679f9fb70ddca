package bitops_test

import (
	"errors"
	"strings"

	"github.com/understudy/understudy/fsm/internal/bitops"
)

// model binds the package to commands the way package fsm is meant to: a
// keyspace of strings plus names of keys holding another type, looked up
// at the points where Redis 7.0 looks them up.
type model struct {
	strs  map[string][]byte
	other map[string]bool // keys of another type (WRONGTYPE)
}

// reply is what a command answered: an int64, []bitops.FieldResult, or nil
// with err set to the error reply.
type reply struct {
	v   any
	err error
}

const wrongType = bitops.Error("WRONGTYPE Operation against a key holding the wrong kind of value")

func newModel() *model { return &model{strs: map[string][]byte{}, other: map[string]bool{}} }

func errArity(name string) error {
	return bitops.Error("ERR wrong number of arguments for '" + name + "' command")
}

// do runs one command; argv[0] is its name.
func (m *model) do(argv [][]byte) reply {
	name := strings.ToLower(string(argv[0]))
	arity := map[string]int{"setbit": 4, "getbit": 3, "bitcount": -2, "bitpos": -3, "bitop": -4,
		"bitfield": -2, "bitfield_ro": -2}[name]
	if (arity > 0 && len(argv) != arity) || (arity < 0 && len(argv) < -arity) {
		return reply{err: errArity(name)}
	}
	key := string(argv[1])
	switch name {
	case "setbit":
		off, err := bitops.ParseOffset(argv[2], bitops.DefaultMaxBulkLen)
		if err != nil {
			return reply{err: err}
		}
		on, err := bitops.ParseSetBitValue(argv[3])
		if err != nil {
			return reply{err: err}
		}
		if m.other[key] {
			return reply{err: wrongType}
		}
		out, old, _ := bitops.SetBit(m.own(key), off, on)
		m.strs[key] = out
		return reply{v: int64(old)}
	case "getbit":
		off, err := bitops.ParseOffset(argv[2], bitops.DefaultMaxBulkLen)
		if err != nil {
			return reply{err: err}
		}
		if m.other[key] {
			return reply{err: wrongType}
		}
		return reply{v: int64(bitops.GetBit(m.strs[key], off))}
	case "bitcount":
		if m.other[key] {
			return reply{err: wrongType}
		}
		s, ok := m.strs[key]
		if !ok {
			return reply{v: int64(0)}
		}
		n, err := bitops.Count(s, argv[2:])
		return reply{v: n, err: err}
	case "bitpos":
		bit, err := bitops.ParseBitposBit(argv[2])
		if err != nil {
			return reply{err: err}
		}
		if m.other[key] {
			return reply{err: wrongType}
		}
		s, ok := m.strs[key]
		if !ok {
			return reply{v: int64(-bit)}
		}
		n, err := bitops.Pos(s, bit, argv[3:])
		return reply{v: n, err: err}
	case "bitop":
		op, err := bitops.ParseOp(argv[1], len(argv)-3)
		if err != nil {
			return reply{err: err}
		}
		var srcs [][]byte
		for _, k := range argv[3:] {
			if m.other[string(k)] {
				return reply{err: wrongType}
			}
			srcs = append(srcs, m.strs[string(k)])
		}
		out := op.Apply(srcs)
		dest := string(argv[2])
		delete(m.other, dest)
		if len(out) == 0 {
			delete(m.strs, dest)
		} else {
			m.strs[dest] = out
		}
		return reply{v: int64(len(out))}
	default: // bitfield, bitfield_ro
		bf, err := bitops.ParseBitfield(argv[2:], name == "bitfield_ro", bitops.DefaultMaxBulkLen)
		if err != nil {
			return reply{err: err}
		}
		if m.other[key] {
			return reply{err: wrongType}
		}
		s := m.strs[key]
		if bf.Writes {
			s = m.own(key)
		}
		out, res, _ := bf.Exec(s)
		if bf.Writes {
			m.strs[key] = out
		}
		return reply{v: res}
	}
}

// own returns a copy of key's string the caller may change (nil if missing).
func (m *model) own(key string) []byte {
	s, ok := m.strs[key]
	if !ok {
		return nil
	}
	return append([]byte{}, s...)
}

func errText(err error) string {
	var e bitops.Error
	if errors.As(err, &e) {
		return string(e)
	}
	return err.Error()
}
