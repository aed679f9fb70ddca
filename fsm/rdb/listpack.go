package rdb

import (
	"fmt"
	"strconv"
)

// Listpacks (listpack.c): a 6-byte header (total bytes u32, element count
// u16, 65535 when there are more), entries, and 0xFF. An entry is its
// encoding (a small integer, an integer of 13, 16, 24, 32 or 64 bits, or a
// string with a 6, 12 or 32 bit length), then the entry's own length
// written backwards so the listpack can be walked from the end.

const (
	lpHeaderSize      = 6
	lpEOF             = 0xFF
	lpNumeleMax       = 65535            // LP_HDR_NUMELE_UNKNOWN
	ListpackEmptySize = lpHeaderSize + 1 // an empty listpack: header and end marker
	lpMaxSafetyLen    = 1 << 30          // LISTPACK_MAX_SAFETY_SIZE
)

// listpack builds a listpack the way lpAppend does.
type listpack struct {
	b []byte
	n int
}

func newListpack() *listpack {
	return &listpack{b: make([]byte, lpHeaderSize, 64)}
}

// appendString is lpAppend: a string that reads as an int64 is stored as
// an integer.
func (lp *listpack) appendString(s string) {
	if v, ok := parseStrictInt(s); ok {
		lp.appendInt(v)
		return
	}
	start := len(lp.b)
	switch l := len(s); {
	case l < 64:
		lp.b = append(lp.b, 0x80|byte(l))
	case l < 4096:
		lp.b = append(lp.b, 0xE0|byte(l>>8), byte(l))
	default:
		lp.b = append(lp.b, 0xF0, byte(l), byte(l>>8), byte(l>>16), byte(l>>24))
	}
	lp.b = append(lp.b, s...)
	lp.endEntry(start)
}

// appendInt is lpAppendInteger.
func (lp *listpack) appendInt(v int64) {
	start := len(lp.b)
	switch {
	case v >= 0 && v <= 127:
		lp.b = append(lp.b, byte(v))
	case v >= -4096 && v <= 4095:
		u := uint64(v) & (1<<13 - 1)
		lp.b = append(lp.b, 0xC0|byte(u>>8), byte(u))
	case v >= -32768 && v <= 32767:
		lp.b = append(lp.b, 0xF1, byte(v), byte(v>>8))
	case v >= -8388608 && v <= 8388607:
		lp.b = append(lp.b, 0xF2, byte(v), byte(v>>8), byte(v>>16))
	case v >= -2147483648 && v <= 2147483647:
		lp.b = append(lp.b, 0xF3, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	default:
		lp.b = append(lp.b, 0xF4, byte(v), byte(v>>8), byte(v>>16), byte(v>>24),
			byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
	}
	lp.endEntry(start)
}

// endEntry appends the back-length of the entry that starts at start.
func (lp *listpack) endEntry(start int) {
	l := uint64(len(lp.b) - start)
	switch {
	case l <= 127:
		lp.b = append(lp.b, byte(l))
	case l < 16383:
		lp.b = append(lp.b, byte(l>>7), byte(l&127)|128)
	case l < 2097151:
		lp.b = append(lp.b, byte(l>>14), byte((l>>7)&127)|128, byte(l&127)|128)
	case l < 268435455:
		lp.b = append(lp.b, byte(l>>21), byte((l>>14)&127)|128, byte((l>>7)&127)|128, byte(l&127)|128)
	default:
		lp.b = append(lp.b, byte(l>>28), byte((l>>21)&127)|128, byte((l>>14)&127)|128,
			byte((l>>7)&127)|128, byte(l&127)|128)
	}
	lp.n++
}

// size is the listpack's total bytes once finished.
func (lp *listpack) size() int { return len(lp.b) + 1 }

// finish writes the header and the end byte and returns the listpack.
func (lp *listpack) finish() ([]byte, error) {
	total := lp.size()
	if uint64(total) > 1<<32-1 {
		return nil, fmt.Errorf("listpack of %d bytes: over 4 GiB", total)
	}
	b := append(lp.b, lpEOF)
	putU32(b, uint32(total))
	n := min(lp.n, lpNumeleMax)
	b[4], b[5] = byte(n), byte(n>>8)
	return b, nil
}

// ListpackEntrySize is the bytes a string takes as one listpack entry, back-length
// included (what lpAppend adds to lpBytes).
func ListpackEntrySize(s string) int {
	var n int
	if v, ok := parseStrictInt(s); ok {
		switch {
		case v >= 0 && v <= 127:
			n = 1
		case v >= -4096 && v <= 4095:
			n = 2
		case v >= -32768 && v <= 32767:
			n = 3
		case v >= -8388608 && v <= 8388607:
			n = 4
		case v >= -2147483648 && v <= 2147483647:
			n = 5
		default:
			n = 9
		}
	} else {
		switch l := len(s); {
		case l < 64:
			n = 1 + l
		case l < 4096:
			n = 2 + l
		default:
			n = 5 + l
		}
	}
	return n + lpBacklenSize(uint64(n))
}

func lpBacklenSize(l uint64) int {
	switch {
	case l <= 127:
		return 1
	case l < 16383:
		return 2
	case l < 2097151:
		return 3
	case l < 268435455:
		return 4
	}
	return 5
}

// lpEach checks lp as lpValidateIntegrity(lp, len(lp), deep=1) does and
// calls fn with every entry, as a string (integers in decimal), in order.
// It returns the number of entries.
func lpEach(lp []byte, fn func(s string) error) (int, error) {
	size := len(lp)
	if size < ListpackEmptySize {
		return 0, fmt.Errorf("listpack of %d bytes: shorter than its header", size)
	}
	if total := int(u32(lp)); total != size {
		return 0, fmt.Errorf("listpack header says %d bytes, has %d", total, size)
	}
	if lp[size-1] != lpEOF {
		return 0, fmt.Errorf("listpack does not end with 0xFF")
	}
	outOfRange := func(p int) bool { return p < lpHeaderSize || p > size-1 }
	count := 0
	p := lpHeaderSize
	for lp[p] != lpEOF {
		hdr := lpHeaderBytes(lp[p])
		if hdr == 0 {
			return 0, fmt.Errorf("listpack entry %d: bad encoding byte %#x", count, lp[p])
		}
		if outOfRange(p + hdr) {
			return 0, fmt.Errorf("listpack entry %d: header past the end", count)
		}
		entry, body := lpEntryLen(lp, p)
		backlen := lpBacklenSize(uint64(entry))
		end := p + entry + backlen
		if outOfRange(end) {
			return 0, fmt.Errorf("listpack entry %d: %d bytes past the end", count, entry)
		}
		if lpDecodeBacklen(lp, end-1) != uint64(entry) {
			return 0, fmt.Errorf("listpack entry %d: back-length does not match", count)
		}
		if err := fn(lpValue(lp, p, entry, body)); err != nil {
			return 0, fmt.Errorf("listpack entry %d: %w", count, err)
		}
		count++
		p = end
	}
	if p != size-1 {
		return 0, fmt.Errorf("listpack ends at %d of %d bytes", p, size)
	}
	if n := int(lp[4]) | int(lp[5])<<8; n != lpNumeleMax && n != count {
		return 0, fmt.Errorf("listpack header says %d entries, has %d", n, count)
	}
	return count, nil
}

// lpHeaderBytes is lpCurrentEncodedSizeBytes: the bytes of the entry's
// encoding and length, 0 for an invalid encoding.
func lpHeaderBytes(b byte) int {
	switch {
	case b&0x80 == 0, b&0xC0 == 0x80, b&0xE0 == 0xC0:
		return 1
	case b >= 0xF1 && b <= 0xF4:
		return 1
	case b&0xF0 == 0xE0:
		return 2
	case b == 0xF0:
		return 5
	}
	return 0
}

// lpEntryLen is lpCurrentEncodedSizeUnsafe (here without its 32-bit
// overflow) for the entry at p, whose header bytes are known to be in lp:
// its length without the back-length, and where a string's bytes start
// (0 for an integer).
func lpEntryLen(lp []byte, p int) (entry, body int) {
	switch b := lp[p]; {
	case b&0x80 == 0:
		return 1, 0
	case b&0xC0 == 0x80:
		return 1 + int(b&0x3F), 1
	case b&0xE0 == 0xC0:
		return 2, 0
	case b >= 0xF1 && b <= 0xF3:
		return 2 + int(b-0xF1) + 1, 0
	case b == 0xF4:
		return 9, 0
	case b&0xF0 == 0xE0:
		return 2 + (int(b&0x0F)<<8 | int(lp[p+1])), 2
	}
	return 5 + int(u32(lp[p+1:])), 5 // 0xF0: a 32-bit length
}

// lpValue is lpGet of a validated entry, as a string.
func lpValue(lp []byte, p, entry, body int) string {
	if body > 0 {
		return string(lp[p+body : p+entry])
	}
	// Integers: two's complement of their low bits, as lpGet converts them.
	signed := func(u uint64, bits uint) int64 {
		if u >= 1<<(bits-1) {
			return int64(u) - int64(1)<<bits
		}
		return int64(u)
	}
	var v int64
	switch b := lp[p]; {
	case b&0x80 == 0:
		v = int64(b)
	case b&0xE0 == 0xC0:
		v = signed(uint64(b&0x1F)<<8|uint64(lp[p+1]), 13)
	case b == 0xF1:
		v = int64(int16(uint16(lp[p+1]) | uint16(lp[p+2])<<8))
	case b == 0xF2:
		v = signed(uint64(lp[p+1])|uint64(lp[p+2])<<8|uint64(lp[p+3])<<16, 24)
	case b == 0xF3:
		v = int64(int32(u32(lp[p+1:])))
	default: // 0xF4
		v = int64(u64(lp[p+1:]))
	}
	return strconv.FormatInt(v, 10)
}

// lpDecodeBacklen is lpDecodeBacklen(lp+p): the back-length whose last
// byte is at p, read backwards; MaxUint64 if it runs over 5 bytes.
func lpDecodeBacklen(lp []byte, p int) uint64 {
	var v uint64
	shift := uint(0)
	for {
		if p < 0 {
			return ^uint64(0)
		}
		v |= uint64(lp[p]&127) << shift
		if lp[p]&128 == 0 {
			return v
		}
		shift += 7
		p--
		if shift > 28 {
			return ^uint64(0)
		}
	}
}

func u32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func u64(b []byte) uint64 {
	return uint64(u32(b)) | uint64(u32(b[4:]))<<32
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}
