package bitops

import "math/bits"

// ParseOffset parses SETBIT's and GETBIT's offset (getBitOffsetFromArgument
// without the '#' form): an integer >= 0 whose byte, offset/8, is below
// maxBulkLen (proto-max-bulk-len). Redis parses it before looking the key up.
func ParseOffset(arg []byte, maxBulkLen int64) (uint64, error) {
	v, ok := parseLL(arg)
	if !ok || v < 0 || v>>3 >= maxBulkLen {
		return 0, ErrBitOffset
	}
	return uint64(v), nil
}

// ParseSetBitValue parses SETBIT's value, 0 or 1 (checked after the offset,
// before the key is looked up).
func ParseSetBitValue(arg []byte) (byte, error) {
	v, ok := parseLL(arg)
	if !ok || v&^1 != 0 {
		return 0, ErrBitValue
	}
	return byte(v), nil
}

// GetBit is GETBIT: the bit at offset, 0 beyond the end of s (or for a
// missing key, s == nil).
func GetBit(s []byte, offset uint64) int {
	i := offset >> 3
	if i >= uint64(len(s)) {
		return 0
	}
	return int(s[i]>>(7-offset&7)) & 1
}

// grow pads s with zero bytes to n bytes (sdsgrowzero), append-style.
func grow(s []byte, n uint64) []byte {
	if uint64(len(s)) >= n {
		return s
	}
	return append(s, make([]byte, n-uint64(len(s)))...)
}

// SetBit is SETBIT on s (nil for a missing key): it returns the string with
// the bit set to on (grown with zero bytes to reach it), the bit's previous
// value, which is the reply, and whether Redis counts the command as a
// change (the string was created or grew, or the bit flipped): only then
// does it signal the key and notify "setbit". The value must be stored
// either way (Redis changes it in place).
func SetBit(s []byte, offset uint64, on byte) (out []byte, old int, changed bool) {
	n := len(s)
	s = grow(s, offset>>3+1)
	old = GetBit(s, offset)
	if len(s) != n || old != int(on) {
		shift := 7 - offset&7
		s[offset>>3] = s[offset>>3]&^(1<<shift) | on<<shift
		return s, old, true
	}
	return s, old, false
}

// Count is BITCOUNT for an existing string s; args are the arguments after
// the key. Redis 7.0 looks the key up before it reads any argument: a missing
// key answers 0 whatever the arguments, a key of another type WRONGTYPE.
func Count(s []byte, args [][]byte) (int64, error) {
	var firstMask, lastMask byte
	var start, end int64
	switch len(args) {
	case 0:
		start, end = 0, int64(len(s))-1
	case 2, 3:
		var ok bool
		if start, ok = parseLL(args[0]); !ok {
			return 0, ErrNotInteger
		}
		if end, ok = parseLL(args[1]); !ok {
			return 0, ErrNotInteger
		}
		// Redis 7.0 answers this before it reads BYTE|BIT.
		if start < 0 && end < 0 && start > end {
			return 0, nil
		}
		isBit, err := parseUnit(args[2:])
		if err != nil {
			return 0, err
		}
		total := int64(len(s))
		if isBit {
			total <<= 3
		}
		start, end = clampRange(start, end, total)
		if isBit && start <= end {
			firstMask, lastMask = edgeMasks(start, end)
			start >>= 3
			end >>= 3
		}
	default:
		return 0, ErrSyntax
	}
	if start > end {
		return 0, nil
	}
	n := popcount(s[start : end+1])
	// Take off the bits of the edge bytes that are outside a BIT range.
	n -= int64(bits.OnesCount8(s[start]&firstMask) + bits.OnesCount8(s[end]&lastMask))
	return n, nil
}

// parseUnit reads the optional BYTE|BIT argument.
func parseUnit(args [][]byte) (isBit bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch {
	case cstrEqualFold(args[0], "bit"):
		return true, nil
	case cstrEqualFold(args[0], "byte"):
		return false, nil
	}
	return false, ErrSyntax
}

// clampRange turns negative indexes into positive ones and clips the range
// to [0, total-1], as BITCOUNT and BITPOS do; start > end means empty.
func clampRange(start, end, total int64) (int64, int64) {
	if start < 0 {
		start += total
	}
	if end < 0 {
		end += total
	}
	start = max(start, 0)
	end = max(end, 0)
	if end >= total {
		end = total - 1
	}
	return start, end
}

// edgeMasks are the bits of the first and last byte that lie outside the
// bit range [start, end].
func edgeMasks(start, end int64) (first, last byte) {
	return ^byte(1<<(8-start&7) - 1), byte(1<<(7-end&7) - 1)
}

func popcount(b []byte) int64 {
	var n int
	for len(b) >= 8 {
		n += bits.OnesCount64(uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56)
		b = b[8:]
	}
	for _, c := range b {
		n += bits.OnesCount8(c)
	}
	return int64(n)
}

// ParseBitposBit parses BITPOS's bit argument, 0 or 1. Redis reads it first,
// before it looks the key up; a missing key then answers -1 when looking for
// a 1 and 0 when looking for a 0, whatever the other arguments.
func ParseBitposBit(arg []byte) (int, error) {
	v, ok := parseLL(arg)
	if !ok {
		return 0, ErrNotInteger
	}
	if v != 0 && v != 1 {
		return 0, ErrBitposBit
	}
	return int(v), nil
}

// Pos is BITPOS for an existing string s (after the key lookup and type
// check); args are the arguments after the bit: [start [end [BYTE|BIT]]].
//
// Looking for a 0 without an explicit end, the string counts as padded with
// zeros on the right, so the answer can be the first bit past the end; with
// an explicit end, a range of ones answers -1.
func Pos(s []byte, bit int, args [][]byte) (int64, error) {
	var firstMask, lastMask byte
	endGiven := false
	start, end := int64(0), int64(len(s))-1
	switch len(args) {
	case 0:
	case 1, 2, 3:
		var ok bool
		if start, ok = parseLL(args[0]); !ok {
			return 0, ErrNotInteger
		}
		var unit [][]byte
		if len(args) == 3 {
			unit = args[2:]
		}
		isBit, err := parseUnit(unit) // read before the end, as Redis does
		if err != nil {
			return 0, err
		}
		total := int64(len(s))
		if len(args) >= 2 {
			if end, ok = parseLL(args[1]); !ok {
				return 0, ErrNotInteger
			}
			endGiven = true
		} else if isBit {
			end = total<<3 + 7
		}
		if isBit {
			total <<= 3
		}
		start, end = clampRange(start, end, total)
		if isBit && start <= end {
			firstMask, lastMask = edgeMasks(start, end)
			start >>= 3
			end >>= 3
		}
	default:
		return 0, ErrSyntax
	}
	if start > end {
		return -1, nil // an empty range holds neither a 0 nor a 1
	}
	rel, base, bytes := posIn(s, start, end, bit, firstMask, lastMask)
	if endGiven && bit == 0 && rel == bytes<<3 {
		return -1, nil // no 0 inside an explicit range: the padding does not count
	}
	if rel == -1 {
		return -1, nil
	}
	return rel + base<<3, nil
}

// posIn searches s[start..end] as bitposCommand does, the edge bytes of a BIT
// range masked. It returns the position found (from redisBitpos), relative to
// byte base, and how many bytes from base the search step that found it
// covered: "not found" in that step is rel == bytes*8, which the caller
// turns into -1 for an explicit range, so the steps follow Redis's.
func posIn(s []byte, start, end int64, bit int, firstMask, lastMask byte) (rel, base, bytes int64) {
	bytes = end - start + 1
	masked := func(c, mask byte) byte {
		if bit == 1 {
			return c &^ mask
		}
		return c | mask
	}
	if firstMask != 0 {
		c := masked(s[start], firstMask)
		if lastMask != 0 && bytes == 1 {
			c = masked(c, lastMask)
		}
		pos := redisBitpos([]byte{c}, bit)
		if bytes == 1 || (pos != -1 && pos != 8) {
			return pos, start, bytes
		}
		start++
		bytes--
	}
	cur := bytes
	if lastMask != 0 {
		cur--
	}
	if cur > 0 {
		pos := redisBitpos(s[start:start+cur], bit)
		if bytes == cur || (pos != -1 && pos != cur<<3) {
			return pos, start, bytes
		}
		start += cur
		bytes -= cur
	}
	return redisBitpos([]byte{masked(s[end], lastMask)}, bit), start, bytes
}

// redisBitpos is the position of the first bit equal to bit in b; when
// there is none, -1 for a 1 and len(b)*8 (the zero padding) for a 0.
func redisBitpos(b []byte, bit int) int64 {
	skip := byte(0)
	if bit == 0 {
		skip = 0xff
	}
	for i, c := range b {
		if c != skip {
			if bit == 1 {
				return int64(i)<<3 + int64(bits.LeadingZeros8(c))
			}
			return int64(i)<<3 + int64(bits.LeadingZeros8(^c))
		}
	}
	if bit == 1 {
		return -1
	}
	return int64(len(b)) << 3
}
