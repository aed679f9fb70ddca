package bitops

import "bytes"

// Overflow is BITFIELD's OVERFLOW behaviour for the SET and INCRBY that
// follow it.
type Overflow int

// The overflow behaviours; WRAP is the default.
const (
	Wrap Overflow = iota
	Sat
	Fail
)

// FieldOpKind is a BITFIELD subcommand.
type FieldOpKind int

// The BITFIELD subcommands (OVERFLOW only changes the ops after it).
const (
	Get FieldOpKind = iota
	Set
	IncrBy
)

// FieldOp is one parsed GET, SET or INCRBY.
type FieldOp struct {
	Kind     FieldOpKind
	Signed   bool
	Bits     uint     // 1..64 signed, 1..63 unsigned
	Offset   uint64   // in bits, '#' already multiplied out
	Value    int64    // SET's value or INCRBY's increment
	Overflow Overflow // in force for this op
}

// Bitfield is a parsed BITFIELD or BITFIELD_RO command.
type Bitfield struct {
	Ops []FieldOp
	// Writes reports whether any op is a SET or INCRBY: then the key is
	// created or grown to reach the highest bit written.
	Writes  bool
	highest uint64 // the highest bit a write reaches
}

// ParseBitfield parses the arguments after the key of BITFIELD, or of
// BITFIELD_RO when readOnly is set (which refuses SET and INCRBY with
// ErrBitfieldRO after the whole command parsed). Redis parses everything
// before it looks the key up; then a key of another type is WRONGTYPE.
func ParseBitfield(args [][]byte, readOnly bool, maxBulkLen int64) (*Bitfield, error) {
	bf := &Bitfield{}
	ow := Wrap
	for j := 0; j < len(args); j++ {
		rem := len(args) - j - 1
		var op FieldOp
		switch name := args[j]; {
		case cstrEqualFold(name, "get") && rem >= 2:
			op.Kind = Get
		case cstrEqualFold(name, "set") && rem >= 3:
			op.Kind = Set
		case cstrEqualFold(name, "incrby") && rem >= 3:
			op.Kind = IncrBy
		case cstrEqualFold(name, "overflow") && rem >= 1:
			j++
			switch t := args[j]; {
			case cstrEqualFold(t, "wrap"):
				ow = Wrap
			case cstrEqualFold(t, "sat"):
				ow = Sat
			case cstrEqualFold(t, "fail"):
				ow = Fail
			default:
				return nil, ErrOverflowType
			}
			continue
		default:
			return nil, ErrSyntax
		}
		var err error
		if op.Signed, op.Bits, err = parseFieldType(args[j+1]); err != nil {
			return nil, err
		}
		if op.Offset, err = parseFieldOffset(args[j+2], op.Bits, maxBulkLen); err != nil {
			return nil, err
		}
		if op.Kind != Get {
			bf.Writes = true
			bf.highest = max(bf.highest, op.Offset+uint64(op.Bits)-1)
			v, ok := parseLL(args[j+3])
			if !ok {
				return nil, ErrNotInteger
			}
			op.Value = v
			j++
		}
		op.Overflow = ow
		bf.Ops = append(bf.Ops, op)
		j += 2
	}
	if readOnly && bf.Writes {
		return nil, ErrBitfieldRO
	}
	return bf, nil
}

// parseFieldType parses i1..i64 or u1..u63. Redis reads the width as a C
// string, so it stops at a NUL byte.
func parseFieldType(arg []byte) (signed bool, width uint, err error) {
	if i := bytes.IndexByte(arg, 0); i >= 0 {
		arg = arg[:i]
	}
	if len(arg) == 0 || (arg[0] != 'i' && arg[0] != 'u') {
		return false, 0, ErrBitfieldType
	}
	signed = arg[0] == 'i'
	n, ok := parseLL(arg[1:])
	if !ok || n < 1 || (signed && n > 64) || (!signed && n > 63) {
		return false, 0, ErrBitfieldType
	}
	return signed, uint(n), nil
}

// parseFieldOffset parses a bit offset, or with '#' an index in units of the
// field's width. The multiplication wraps like Redis's (so "#2^61" of an i8
// is offset 0), and a negative result is refused.
func parseFieldOffset(arg []byte, width uint, maxBulkLen int64) (uint64, error) {
	hash := len(arg) > 0 && arg[0] == '#'
	if hash {
		arg = arg[1:]
	}
	v, ok := parseLL(arg)
	if !ok {
		return 0, ErrBitOffset
	}
	if hash {
		v *= int64(width)
	}
	if v < 0 || v>>3 >= maxBulkLen {
		return 0, ErrBitOffset
	}
	return uint64(v), nil
}

// FieldResult is one reply of BITFIELD: a value, or nil for a SET or INCRBY
// that OVERFLOW FAIL refused.
type FieldResult struct {
	Value int64
	Nil   bool
}

// Exec runs the ops on s (nil for a missing key) after the caller checked the
// key holds a string. With writes, the string is created or grown with zero
// bytes to reach the highest bit written, even when every write fails, and
// out must be stored; changed reports whether Redis counts a change (some
// write grew the string or changed its bits), and only then signals the key
// and notifies "setbit". Without writes out is s, unchanged.
func (bf *Bitfield) Exec(s []byte) (out []byte, res []FieldResult, changed bool) {
	grew := false
	if bf.Writes {
		n := len(s)
		s = grow(s, bf.highest>>3+1)
		grew = len(s) != n
	}
	res = make([]FieldResult, 0, len(bf.Ops))
	for _, op := range bf.Ops {
		if op.Kind == Get {
			v := getField(s, op.Offset, op.Bits)
			if op.Signed {
				res = append(res, FieldResult{Value: signExtend(v, op.Bits)})
			} else {
				res = append(res, FieldResult{Value: int64(v)})
			}
			continue
		}
		old := getField(s, op.Offset, op.Bits)
		var newVal uint64
		var reply int64
		var over bool
		if op.Signed {
			oldv := signExtend(old, op.Bits)
			var nv int64
			if op.Kind == IncrBy {
				nv, over = signedOverflow(oldv, op.Value, op.Bits, op.Overflow)
				reply = nv
			} else {
				nv, over = signedOverflow(op.Value, 0, op.Bits, op.Overflow)
				reply = oldv
			}
			newVal = uint64(nv)
		} else {
			if op.Kind == IncrBy {
				newVal, over = unsignedOverflow(old, op.Value, op.Bits, op.Overflow)
				reply = int64(newVal)
			} else {
				newVal, over = unsignedOverflow(uint64(op.Value), 0, op.Bits, op.Overflow)
				reply = int64(old)
			}
		}
		if over && op.Overflow == Fail {
			res = append(res, FieldResult{Nil: true})
			continue
		}
		res = append(res, FieldResult{Value: reply})
		setField(s, op.Offset, op.Bits, newVal)
		if grew || getField(s, op.Offset, op.Bits) != old {
			changed = true
		}
	}
	return s, res, changed
}

// getField reads width bits at offset, most significant first; bits beyond
// the end of s read as 0.
func getField(s []byte, offset uint64, width uint) uint64 {
	var v uint64
	for range width {
		v = v<<1 | uint64(GetBit(s, offset))
		offset++
	}
	return v
}

// setField writes the low width bits of v at offset (s is long enough).
func setField(s []byte, offset uint64, width uint, v uint64) {
	for j := range width {
		b := byte(v>>(width-1-j)) & 1
		shift := 7 - offset&7
		s[offset>>3] = s[offset>>3]&^(1<<shift) | b<<shift
		offset++
	}
}

func signExtend(v uint64, width uint) int64 {
	if width < 64 && v&(1<<(width-1)) != 0 {
		v |= ^uint64(0) << width
	}
	return int64(v)
}

// unsignedOverflow is checkUnsignedBitfieldOverflow plus the value the op
// stores: value+incr, or on overflow the wrapped or saturated value (Fail
// stores nothing). Redis's arithmetic wraps in 64 bits: a negative SET value
// is a huge unsigned one, so it overflows upwards.
func unsignedOverflow(value uint64, incr int64, width uint, ow Overflow) (uint64, bool) {
	maxv := uint64(1)<<width - 1
	maxIncr := int64(maxv - value)
	minIncr := -int64(value)
	switch {
	case value > maxv || (incr > 0 && incr > maxIncr):
		if ow == Sat {
			return maxv, true
		}
	case incr < 0 && incr < minIncr:
		if ow == Sat {
			return 0, true
		}
	default:
		return value + uint64(incr), false
	}
	return (value + uint64(incr)) & maxv, true // Wrap (and Fail, unused)
}

// signedOverflow is checkSignedBitfieldOverflow plus the value the op stores,
// with its 64-bit wrapping intermediate values (which make some huge SET
// values saturate the "wrong" way, exactly as in Redis).
func signedOverflow(value, incr int64, width uint, ow Overflow) (int64, bool) {
	maxv := int64(1)<<(width-1) - 1
	if width == 64 {
		maxv = 1<<63 - 1
	}
	minv := -maxv - 1
	maxIncr := int64(uint64(maxv) - uint64(value))
	minIncr := minv - value
	switch {
	case value > maxv || (width != 64 && incr > maxIncr) || (value >= 0 && incr > 0 && incr > maxIncr):
		if ow == Sat {
			return maxv, true
		}
	case value < minv || (width != 64 && incr < minIncr) || (value < 0 && incr < 0 && incr < minIncr):
		if ow == Sat {
			return minv, true
		}
	default:
		return value + incr, false
	}
	c := uint64(value) + uint64(incr)
	if width < 64 {
		if c&(1<<(width-1)) != 0 {
			c |= ^uint64(0) << width
		} else {
			c &^= ^uint64(0) << width
		}
	}
	return int64(c), true
}
