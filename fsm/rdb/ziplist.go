package rdb

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
)

// The encodings Redis no longer writes but still loads: ziplists (lists,
// hashes and sorted sets before 7.0), zipmaps (hashes before 2.6), and
// intsets, which 7.0 still writes for sets of integers.

const (
	zlHeaderSize = 10 // bytes u32, tail offset u32, length u16
	zlEnd        = 0xFF
	zlBigPrevlen = 254
)

// zlEach checks zl as ziplistValidateIntegrity(zl, len(zl), deep=1) does and
// calls fn with every entry, as a string, in order.
func zlEach(zl []byte, fn func(s string) error) (int, error) {
	size := len(zl)
	if size < zlHeaderSize+1 {
		return 0, fmt.Errorf("ziplist of %d bytes: shorter than its header", size)
	}
	if total := int(u32(zl)); total != size {
		return 0, fmt.Errorf("ziplist header says %d bytes, has %d", total, size)
	}
	if zl[size-1] != zlEnd {
		return 0, fmt.Errorf("ziplist does not end with 0xFF")
	}
	tail := int(u32(zl[4:]))
	if tail > size-1 {
		return 0, fmt.Errorf("ziplist tail offset %d past the end", tail)
	}
	first, last := zlHeaderSize, size-1
	outOfRange := func(p int) bool { return p < first || p > last }
	count, prev, prevRaw := 0, -1, 0
	p := first
	for zl[p] != zlEnd {
		// zipEntrySafe: the previous entry's length (1 or 5 bytes), then the
		// encoding and the entry's length.
		prevSize := 1
		if zl[p] >= zlBigPrevlen {
			prevSize = 5
		}
		if outOfRange(p + prevSize) {
			return 0, fmt.Errorf("ziplist entry %d: header past the end", count)
		}
		enc := zl[p+prevSize]
		if enc < 0xC0 {
			enc &= 0xC0
		}
		lenSize := zlEncodingLenSize(enc)
		if lenSize == 0 {
			return 0, fmt.Errorf("ziplist entry %d: bad encoding %#x", count, enc)
		}
		if outOfRange(p + prevSize + lenSize) {
			return 0, fmt.Errorf("ziplist entry %d: header past the end", count)
		}
		prevLen := int(zl[p])
		if prevSize == 5 {
			prevLen = int(u32(zl[p+1:]))
		}
		h := p + prevSize
		var dataLen int
		switch enc {
		case 0x00:
			dataLen = int(zl[h] & 0x3F)
		case 0x40:
			dataLen = int(zl[h]&0x3F)<<8 | int(zl[h+1])
		case 0x80:
			dataLen = int(binary.BigEndian.Uint32(zl[h+1:]))
		default:
			dataLen = zlIntSize(enc)
		}
		headerSize := prevSize + lenSize
		if outOfRange(p+headerSize+dataLen) || outOfRange(p-prevLen) {
			return 0, fmt.Errorf("ziplist entry %d: past the end", count)
		}
		if prevLen != prevRaw {
			return 0, fmt.Errorf("ziplist entry %d: previous length %d, want %d", count, prevLen, prevRaw)
		}
		data := zl[p+headerSize : p+headerSize+dataLen]
		var v string
		if enc < 0xC0 {
			v = string(data)
		} else {
			v = strconv.FormatInt(zlInt(enc, data), 10)
		}
		if err := fn(v); err != nil {
			return 0, fmt.Errorf("ziplist entry %d: %w", count, err)
		}
		prevRaw = headerSize + dataLen
		prev = p
		p += headerSize + dataLen
		count++
	}
	if p != size-1 {
		return 0, fmt.Errorf("ziplist ends at %d of %d bytes", p, size)
	}
	if prev >= 0 && prev != tail {
		return 0, fmt.Errorf("ziplist tail offset %d, last entry at %d", tail, prev)
	}
	if n := int(zl[8]) | int(zl[9])<<8; n != 0xFFFF && n != count {
		return 0, fmt.Errorf("ziplist header says %d entries, has %d", n, count)
	}
	return count, nil
}

// zlEncodingLenSize is zipEncodingLenSize, 0 for an invalid encoding.
func zlEncodingLenSize(enc byte) int {
	switch {
	case enc == 0xC0 || enc == 0xD0 || enc == 0xE0 || enc == 0xF0 || enc == 0xFE:
		return 1
	case enc >= 0xF1 && enc <= 0xFD:
		return 1
	case enc == 0x00:
		return 1
	case enc == 0x40:
		return 2
	case enc == 0x80:
		return 5
	}
	return 0
}

// zlIntSize is zipIntSize: the bytes of an integer entry's value.
func zlIntSize(enc byte) int {
	switch enc {
	case 0xFE:
		return 1
	case 0xC0:
		return 2
	case 0xF0:
		return 3
	case 0xD0:
		return 4
	case 0xE0:
		return 8
	}
	return 0 // 4-bit immediate
}

// zlInt is zipLoadInteger.
func zlInt(enc byte, b []byte) int64 {
	switch enc {
	case 0xFE:
		return int64(int8(b[0]))
	case 0xC0:
		return int64(int16(binary.LittleEndian.Uint16(b)))
	case 0xF0:
		return int64(int32(uint32(b[0])<<8|uint32(b[1])<<16|uint32(b[2])<<24) >> 8)
	case 0xD0:
		return int64(int32(binary.LittleEndian.Uint32(b)))
	case 0xE0:
		return int64(binary.LittleEndian.Uint64(b))
	}
	return int64(enc&0x0F) - 1
}

// zipmapEach checks zm as zipmapValidateIntegrity(zm, len(zm), deep=1) does
// and calls fn with every field and value. A length written in 5 bytes that
// would fit in one is refused: Redis's validation and its iteration read it
// differently, so it has no one meaning.
func zipmapEach(zm []byte, fn func(f, v string) error) error {
	size := len(zm)
	if size < 2 {
		return fmt.Errorf("zipmap of %d bytes: shorter than its header", size)
	}
	if zm[size-1] != zlEnd {
		return fmt.Errorf("zipmap does not end with 0xFF")
	}
	outOfRange := func(p int) bool { return p < 2 || p > size-1 }
	// readLen reads the length at p, which must leave p+its size in range.
	readLen := func(p int) (l, s int, err error) {
		if zm[p] < zlBigPrevlen {
			s = 1
		} else {
			s = 5
		}
		if outOfRange(p + s) {
			return 0, 0, fmt.Errorf("zipmap length past the end")
		}
		if s == 1 {
			return int(zm[p]), 1, nil
		}
		l = int(u32(zm[p+1:]))
		if l < zlBigPrevlen {
			return 0, 0, fmt.Errorf("zipmap length %d written in 5 bytes", l)
		}
		return l, 5, nil
	}
	count := 0
	p := 1
	for zm[p] != zlEnd {
		kl, s, err := readLen(p)
		if err != nil {
			return err
		}
		k := p + s
		p = k + kl
		if outOfRange(p) {
			return fmt.Errorf("zipmap field past the end")
		}
		vl, s, err := readLen(p)
		if err != nil {
			return err
		}
		free := int(zm[p+s])
		v := p + s + 1
		p = v + vl + free
		count++
		if outOfRange(p) {
			return fmt.Errorf("zipmap value past the end")
		}
		if err := fn(string(zm[k:k+kl]), string(zm[v:v+vl])); err != nil {
			return err
		}
	}
	if count == 0 {
		return fmt.Errorf("empty zipmap")
	}
	if zm[0] != zlBigPrevlen && int(zm[0]) != count {
		return fmt.Errorf("zipmap header says %d entries, has %d", zm[0], count)
	}
	return nil
}

// intsetValues checks is as intsetValidateIntegrity(is, len(is), deep=1)
// does and returns its values.
func intsetValues(is []byte) ([]int64, error) {
	if len(is) < 8 {
		return nil, fmt.Errorf("intset of %d bytes: shorter than its header", len(is))
	}
	width := int(u32(is))
	if width != 2 && width != 4 && width != 8 {
		return nil, fmt.Errorf("intset of %d-byte integers", width)
	}
	n := int(u32(is[4:]))
	if 8+n*width != len(is) {
		return nil, fmt.Errorf("intset of %d %d-byte integers in %d bytes", n, width, len(is))
	}
	if n == 0 {
		return nil, fmt.Errorf("empty intset")
	}
	out := make([]int64, n)
	for i := range out {
		b := is[8+i*width:]
		switch width {
		case 2:
			out[i] = int64(int16(binary.LittleEndian.Uint16(b)))
		case 4:
			out[i] = int64(int32(binary.LittleEndian.Uint32(b)))
		default:
			out[i] = int64(binary.LittleEndian.Uint64(b))
		}
		if i > 0 && out[i] <= out[i-1] {
			return nil, fmt.Errorf("intset out of order at %d", i)
		}
	}
	return out, nil
}

// intsetBlob is the intset Redis would hold for vals, which must be sorted
// and distinct: the narrowest width that holds them all.
func intsetBlob(vals []int64) []byte {
	width := 2
	for _, v := range vals {
		switch {
		case v < -2147483648 || v > 2147483647:
			width = 8
		case (v < -32768 || v > 32767) && width < 4:
			width = 4
		}
	}
	b := make([]byte, 8, 8+len(vals)*width)
	putU32(b, uint32(width))
	putU32(b[4:], uint32(len(vals)))
	for _, v := range vals {
		switch width {
		case 2:
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		case 4:
			b = binary.LittleEndian.AppendUint32(b, uint32(v))
		default:
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	}
	return b
}

// sortedInts parses members as integers, sorted; ok is false if one is not
// an integer Redis would store in an intset, or two are equal.
func sortedInts(members []string) ([]int64, bool) {
	vals := make([]int64, len(members))
	for i, m := range members {
		v, ok := parseStrictInt(m)
		if !ok {
			return nil, false
		}
		vals[i] = v
	}
	slices.Sort(vals)
	for i := 1; i < len(vals); i++ {
		if vals[i] == vals[i-1] {
			return nil, false
		}
	}
	return vals, true
}
