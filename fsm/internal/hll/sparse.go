package hll

// The sparse opcodes: ZERO 00xxxxxx (1..64 zero registers), XZERO 01xxxxxx
// yyyyyyyy (1..16384 zero registers), VAL 1vvvvvxx (1..4 registers of
// value 1..32).
const (
	xzeroBit     = 0x40
	valBit       = 0x80
	valMaxValue  = 32
	valMaxLen    = 4
	zeroMaxLen   = 64
	xzeroMaxLen  = 16384
	opKindMask   = 0xc0
	zeroLenMask  = 0x3f
	valValueMask = 0x1f
)

func isZero(c byte) bool  { return c&opKindMask == 0 }
func isXZero(c byte) bool { return c&opKindMask == xzeroBit }
func isVal(c byte) bool   { return c&valBit != 0 }
func zeroLen(c byte) int  { return int(c&zeroLenMask) + 1 }
func valValue(c byte) int { return int(c>>2&valValueMask) + 1 }
func valLen(c byte) int   { return int(c&3) + 1 }
func valOp(v, n int) byte { return byte((v-1)<<2|(n-1)) | valBit }

// xzeroLen reads an XZERO at p. An XZERO cut short by the end of the string
// takes its second byte from past the end, as Redis does: tail is that byte
// (see sparseSet).
func xzeroLen(s []byte, p int, tail byte) int {
	lo := tail
	if p+1 < len(s) {
		lo = s[p+1]
	}
	return (int(s[p]&zeroLenMask)<<8 | int(lo)) + 1
}

func putXZero(p []byte, n int) {
	p[0] = byte((n-1)>>8) | xzeroBit
	p[1] = byte(n - 1)
}

// sparseRuns walks the opcodes, calling val for each VAL run (first
// register, length, value), and reports whether they cover exactly the 16384
// registers. Like Redis it stops at a VAL run that would overflow them.
func sparseRuns(ops []byte, tail byte, val func(i, n int, v uint8)) bool {
	idx := 0
	for p := 0; p < len(ops); {
		switch c := ops[p]; {
		case isZero(c):
			idx += zeroLen(c)
			p++
		case isXZero(c):
			idx += xzeroLen(ops, p, tail)
			p += 2
		default:
			n := valLen(c)
			if idx+n > registers {
				return false
			}
			val(idx, n, uint8(valValue(c)))
			idx += n
			p++
		}
	}
	return idx == registers
}

// sparseHisto is hllSparseRegHisto; false when the runs do not cover exactly
// the registers (it does not stop at an overflowing run, unlike the merge).
func sparseHisto(ops []byte, hist *[64]int) bool {
	idx := 0
	for p := 0; p < len(ops); {
		switch c := ops[p]; {
		case isZero(c):
			hist[0] += zeroLen(c)
			idx += zeroLen(c)
			p++
		case isXZero(c):
			n := xzeroLen(ops, p, 0)
			hist[0] += n
			idx += n
			p += 2
		default:
			hist[valValue(c)] += valLen(c)
			idx += valLen(c)
			p++
		}
	}
	return idx == registers
}

// sparseToDense converts a sparse value, keeping the header's magic and
// cached count; false if the runs are corrupt.
func sparseToDense(s []byte, tail byte) ([]byte, bool) {
	d := make([]byte, denseSize)
	copy(d, s[:hdrSize])
	d[4] = encDense
	regs := d[hdrSize:]
	ok := sparseRuns(s[hdrSize:], tail, func(i, n int, v uint8) {
		for j := i; j < i+n; j++ {
			setReg(regs, j, v)
		}
	})
	return d, ok
}

// sparseSet is hllSparseSet: raise register index to count in the sparse
// value s. It returns the value (possibly promoted to dense, or grown in
// place) and 1 if a register changed, 0 if not, -1 if s is corrupt. Like
// Redis it marks the cached count stale itself when it edits the opcodes,
// but not when it promotes (its callers do).
//
// tail is the byte just past the end of the string in Redis's memory: 0 (the
// NUL terminator) unless splitting an XZERO cut short by the end of a
// corrupt value wrote the new XZERO's second byte there. A cut XZERO is read
// with it, so sparseSet returns it updated for the next call of the same
// command; it starts at 0 for each command (a value Redis kept in memory
// across commands can differ, a value it loaded cannot).
func sparseSet(s []byte, tail byte, index int, count uint8, sparseMax int) ([]byte, byte, int) {
	if count > valMaxValue {
		return promote(s, tail, index, count)
	}
	// Step 1: find the opcode covering the register.
	end := len(s)
	p, first, prev, span := hdrSize, 0, -1, 0
	for p < end {
		oplen := 1
		switch c := s[p]; {
		case isZero(c):
			span = zeroLen(c)
		case isVal(c):
			span = valLen(c)
		default:
			span = xzeroLen(s, p, tail)
			oplen = 2
		}
		if index <= first+span-1 {
			break
		}
		prev = p
		p += oplen
		first += span
	}
	if span == 0 || p >= end {
		return s, tail, -1
	}
	c := s[p]
	oldLen, runLen := 1, 0
	switch {
	case isZero(c):
		runLen = zeroLen(c)
	case isXZero(c):
		oldLen, runLen = 2, xzeroLen(s, p, tail)
	default:
		runLen = valLen(c)
		if valValue(c) >= int(count) {
			return s, tail, 0
		}
	}
	// Step 2: a run of one register becomes a VAL in place; anything else
	// is split into up to three opcodes around the register.
	if runLen == 1 && !isXZero(c) {
		s[p] = valOp(int(count), 1)
		s, tail = mergeVals(s, tail, prev)
		return s, tail, 1
	}
	var seq []byte
	last := first + span - 1
	if isVal(c) {
		cur := valValue(c)
		if index != first {
			seq = append(seq, valOp(cur, index-first))
		}
		seq = append(seq, valOp(int(count), 1))
		if index != last {
			seq = append(seq, valOp(cur, last-index))
		}
	} else {
		seq = appendZeros(seq, index-first)
		seq = append(seq, valOp(int(count), 1))
		seq = appendZeros(seq, last-index)
	}
	// Step 3: put the sequence in place of the opcode, unless the string
	// would outgrow hll-sparse-max-bytes.
	delta := len(seq) - oldLen
	if delta > 0 && end+delta > sparseMax {
		return promote(s, tail, index, count)
	}
	n := make([]byte, 0, end+delta+1)
	n = append(append(n, s[:p]...), seq...)
	if p+oldLen < end {
		n = append(n, s[p+oldLen:]...)
	}
	// Replacing an XZERO cut short overhangs the new length by one byte,
	// which Redis writes past the end (over the terminator it just set).
	tail = 0
	if len(n) > end+delta {
		tail = n[end+delta]
	}
	n, tail = mergeVals(n[:end+delta], tail, prev)
	return n, tail, 1
}

// appendZeros appends a ZERO or XZERO run of n registers (none for 0).
func appendZeros(seq []byte, n int) []byte {
	switch {
	case n == 0:
		return seq
	case n > zeroMaxLen:
		return append(seq, byte((n-1)>>8)|xzeroBit, byte(n-1))
	}
	return append(seq, byte(n-1))
}

// mergeVals is step 4: merge adjacent VAL opcodes of equal value, scanning
// at most five opcodes from the one before the change; then the cached
// count is stale. A merge shortens the string and Redis terminates it
// again, so the byte past the end (tail) becomes 0.
func mergeVals(s []byte, tail byte, prev int) ([]byte, byte) {
	p := prev
	if p < 0 {
		p = hdrSize
	}
	for scan := 5; p < len(s) && scan > 0; scan-- {
		c := s[p]
		if isXZero(c) {
			p += 2
			continue
		}
		if isZero(c) {
			p++
			continue
		}
		if p+1 < len(s) && isVal(s[p+1]) && valValue(c) == valValue(s[p+1]) {
			if n := valLen(c) + valLen(s[p+1]); n <= valMaxLen {
				s[p+1] = valOp(valValue(c), n)
				s = append(s[:p], s[p+1:]...)
				tail = 0
				continue // try to merge the merged run with the next one
			}
		}
		p++
	}
	invalidate(s)
	return s, tail
}

// promote converts s to dense and sets the register there (the "promote"
// label of hllSparseSet), or reports -1 for a corrupt value.
func promote(s []byte, tail byte, index int, count uint8) ([]byte, byte, int) {
	d, ok := sparseToDense(s, tail)
	if !ok {
		return s, tail, -1
	}
	denseSet(d[hdrSize:], index, count)
	return d, 0, 1
}
