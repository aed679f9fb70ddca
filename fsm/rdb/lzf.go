package rdb

import "math"

// LZF as Redis builds it (liblzf 3.6's lzf_c.c and lzf_d.c with Redis's
// lzfP.h: HLOG 16, VERY_FAST, CHECK_INPUT, pointers in the hash table). The compressor is a faithful port, so
// its output is byte for byte what redis-server writes. One difference:
// Redis leaves its hash table uninitialised (INIT_HTAB 0), so a stale slot
// could in principle offer a match that a zeroed table does not; such a
// slot must point into the very buffer being compressed, which does not
// happen for a value compressed once.

const (
	lzfHLog   = 16
	lzfHSize  = 1 << lzfHLog
	lzfMaxLit = 1 << 5
	lzfMaxOff = 1 << 13
	lzfMaxRef = (1 << 8) + (1 << 3)
)

func lzfIdx(h uint32) uint32 {
	return ((h >> (3*8 - lzfHLog)) - h*5) & (lzfHSize - 1)
}

// lzfCompress is lzf_compress(in, len(in), out, outLen): the compressed
// bytes, or nil when they would not fit in outLen bytes. It works in
// scratch's and htab's memory when they are large enough (both may be nil),
// so an Encode of many strings allocates once.
func lzfCompress(in []byte, outLen int, htab *lzfTable, scratch []byte) []byte {
	inLen := len(in)
	if inLen == 0 || outLen == 0 || inLen >= math.MaxUint32 {
		return nil
	}
	// Redis allocates outLen+1: the last "stop run" may write one byte past.
	out := scratch[:0]
	if cap(out) < outLen+2 {
		out = make([]byte, outLen+2)
	}
	out = out[:outLen+2]
	outEnd := outLen
	if htab == nil {
		htab = &lzfTable{}
	}
	htab.reset(inLen)

	ip, op := 0, 0
	lit := 0
	op++ // start run

	first := func(p int) uint32 { return uint32(in[p])<<8 | uint32(in[p+1]) }
	next := func(v uint32, p int) uint32 { return v<<8 | uint32(in[p+2]) }

	var hval uint32
	if inLen >= 2 {
		hval = first(ip)
	}
	for ip < inLen-2 {
		hval = next(hval, ip)
		ref := htab.swap(lzfIdx(hval), ip)

		if ref > 0 && ref < ip && ip-ref-1 < lzfMaxOff &&
			in[ref] == in[ip] && in[ref+1] == in[ip+1] && in[ref+2] == in[ip+2] {
			off := ip - ref - 1
			maxlen := min(inLen-ip-2, lzfMaxRef)

			out[op-lit-1] = byte(lit - 1) // stop run
			if lit == 0 {
				op-- // undo run if length is zero
			}
			if op+3+1 >= outEnd {
				return nil
			}
			length := lzfMatchEnd(in, ref, ip, maxlen) - 2 // now #octets - 1
			ip++
			if length < 7 {
				out[op] = byte(off>>8 + length<<5)
				op++
			} else {
				out[op] = byte(off>>8 + 7<<5)
				out[op+1] = byte(length - 7)
				op += 2
			}
			out[op] = byte(off)
			op++
			lit = 0
			op++ // start run

			ip += length + 1
			if ip >= inLen-2 {
				break
			}
			// VERY_FAST: hash the two positions before the new ip.
			ip -= 2
			hval = first(ip)
			hval = next(hval, ip)
			htab.swap(lzfIdx(hval), ip)
			ip++
			hval = next(hval, ip)
			htab.swap(lzfIdx(hval), ip)
			ip++
		} else {
			if op >= outEnd {
				return nil
			}
			lit++
			out[op] = in[ip]
			op++
			ip++
			if lit == lzfMaxLit {
				out[op-lit-1] = byte(lit - 1)
				lit = 0
				op++
			}
		}
	}
	if op+3 > outEnd { // at most 3 bytes can be missing here
		return nil
	}
	for ip < inLen {
		lit++
		out[op] = in[ip]
		op++
		ip++
		if lit == lzfMaxLit {
			out[op-lit-1] = byte(lit - 1)
			lit = 0
			op++
		}
	}
	out[op-lit-1] = byte(lit - 1) // end run
	if lit == 0 {
		op--
	}
	return out[:op]
}

// lzfTable is lzf_c.c's hash table of 1<<16 slots, each the last position
// whose 3 bytes hashed to it. An input under 16 KiB touches few slots, so it
// gets an open-addressed table of about twice its length instead, which
// behaves the same: an entry is (slot+1)<<15 | (position+1).
type lzfTable struct {
	slots  []uint32
	direct bool // slots[slot] = position+1, for large inputs
	mask   uint32
}

const lzfPosBits = 15

// reset empties t for an input of inLen bytes, reusing its memory.
func (t *lzfTable) reset(inLen int) {
	n := lzfHSize
	t.direct = inLen >= lzfHSize/4
	if !t.direct {
		n = 16
		for n < 2*inLen {
			n *= 2
		}
	}
	if cap(t.slots) < n {
		t.slots = make([]uint32, n)
	} else {
		t.slots = t.slots[:n]
		clear(t.slots)
	}
	t.mask = uint32(n - 1)
}

// swap stores pos in slot and returns the position it held before, -1 if
// none (a NULL pointer in C, which never passes "ref > in_data").
func (t *lzfTable) swap(slot uint32, pos int) int {
	if t.direct {
		old := int(t.slots[slot]) - 1
		t.slots[slot] = uint32(pos + 1)
		return old
	}
	key := (slot + 1) << lzfPosBits
	for i := slot & t.mask; ; i = (i + 1) & t.mask {
		switch e := t.slots[i]; {
		case e == 0:
			t.slots[i] = key | uint32(pos+1)
			return -1
		case e&^(1<<lzfPosBits-1) == key:
			t.slots[i] = key | uint32(pos+1)
			return int(e&(1<<lzfPosBits-1)) - 1
		}
	}
}

// lzfMatchEnd returns how far the match of in[ref:] and in[ip:], whose
// first 3 bytes are equal, extends, as lzf_c.c counts it: it unrolls 16
// steps without checking maxlen, so near the end of the input a match can
// run past maxlen (never past the input).
func lzfMatchEnd(in []byte, ref, ip, maxlen int) int {
	length := 2
	if maxlen > 16 {
		for range 16 {
			length++
			if in[ref+length] != in[ip+length] {
				return length
			}
		}
	}
	for {
		length++
		if length >= maxlen || in[ref+length] != in[ip+length] {
			return length
		}
	}
}

// lzfDecompress is lzf_decompress(in, len(in), out, outLen) with
// CHECK_INPUT: the number of bytes written to out (len(out) is the
// capacity), 0 on any error, as Redis returns it.
func lzfDecompress(in, out []byte) int {
	ip, op := 0, 0
	inEnd, outEnd := len(in), len(out)
	for {
		if ip >= inEnd {
			// Redis would read past the input here (only with in_len 0); any
			// byte it finds there ends in an error or in 0 bytes written.
			return 0
		}
		ctrl := int(in[ip])
		ip++
		if ctrl < 1<<5 { // literal run
			ctrl++
			if op+ctrl > outEnd || ip+ctrl > inEnd {
				return 0
			}
			copy(out[op:], in[ip:ip+ctrl])
			op += ctrl
			ip += ctrl
		} else { // back reference
			length := ctrl >> 5
			ref := op - (ctrl&0x1f)<<8 - 1
			if ip >= inEnd {
				return 0
			}
			if length == 7 {
				length += int(in[ip])
				ip++
				if ip >= inEnd {
					return 0
				}
			}
			ref -= int(in[ip])
			ip++
			if op+length+2 > outEnd || ref < 0 {
				return 0
			}
			for range length + 2 { // byte by byte: the copy may overlap
				out[op] = out[ref]
				op++
				ref++
			}
		}
		if ip >= inEnd {
			return op
		}
	}
}

// lzfMaxRatio bounds what one compressed byte can expand to (a 3-byte back
// reference yields at most 264 bytes), so a claimed length beyond
// lzfMaxRatio times the compressed one cannot decompress and is refused
// before anything is allocated.
const lzfMaxRatio = 88
