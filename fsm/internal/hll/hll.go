// Package hll mirrors Redis 7.0.15's hyperloglog.c: the bytes of a
// HyperLogLog string and the PFADD, PFCOUNT and PFMERGE algorithms, so that
// values equal Redis's byte for byte (DUMP/RESTORE interoperate) and counts
// equal Redis's exactly.
//
// A HyperLogLog is a string: a 16-byte header ("HYLL", an encoding byte,
// three unused bytes, the cached cardinality as 8 little-endian bytes whose
// top bit marks it stale) and 16384 6-bit registers, either dense (12288
// bytes, registers packed from the least significant bit) or sparse (the
// ZERO, XZERO and VAL run-length opcodes). Elements are hashed with
// MurmurHash64A, seed 0xadc83b19; a sparse value is promoted to dense when a
// register exceeds 32 or the string would exceed hll-sparse-max-bytes. The
// count is Ertl's estimator ("new" in Redis 5+: hllTau / hllSigma).
//
// Functions that write take the value like append does (they may change s
// in place), so pass a copy the caller owns; reads never change their input.
//
// One difference is knowingly left: a sparse value whose last XZERO is cut
// short by the end of the string (only a hand-made value can be) has its
// missing byte read from past the end of Redis's buffer, which a PFADD that
// splits that XZERO fills in. This package follows that byte within one
// command, from 0; Redis keeps it in memory for later commands, where its
// own replicas and reloads (which read 0) disagree with it too.
package hll

import "encoding/binary"

// Error is an error reply, its text exactly as Redis 7.0 sends it after
// the '-'.
type Error string

func (e Error) Error() string { return string(e) }

// The error replies of the HyperLogLog commands.
const (
	// ErrWrongType is the reply for a string that is not a HyperLogLog
	// (a key of another type gets the usual WRONGTYPE reply instead).
	ErrWrongType Error = "WRONGTYPE Key is not a valid HyperLogLog string value."
	// ErrInvalid is the reply for a sparse value whose opcodes do not
	// cover exactly the 16384 registers.
	ErrInvalid Error = "INVALIDOBJ Corrupted HLL object detected"
)

// DefaultSparseMaxBytes is hll-sparse-max-bytes's default.
const DefaultSparseMaxBytes = 3000

const (
	hdrSize      = 16
	registers    = 1 << 14
	regMask      = registers - 1
	regBits      = 6
	regMax       = 1<<regBits - 1
	denseSize    = hdrSize + (registers*regBits+7)/8
	encDense     = 0
	encSparse    = 1
	hashQ        = 64 - 14 // hash bits left after the register index
	murmurSeed   = 0xadc83b19
	staleCardBit = 0x80 // in the cached cardinality's last byte
)

// Check is isHLLObjectOrReply for a string value: the magic, a known
// encoding and, for dense, the exact length. It does not look at the sparse
// opcodes (a bad run shows later, as ErrInvalid).
func Check(s []byte) error {
	if len(s) < hdrSize || string(s[:4]) != "HYLL" || s[4] > encSparse ||
		(s[4] == encDense && len(s) != denseSize) {
		return ErrWrongType
	}
	return nil
}

// New returns an empty HyperLogLog as PFADD creates it: sparse, one XZERO
// run over every register, cached count 0.
func New() []byte {
	s := make([]byte, hdrSize+2)
	copy(s, "HYLL")
	s[4] = encSparse
	putXZero(s[hdrSize:], registers)
	return s
}

func invalidate(s []byte) { s[15] |= staleCardBit }

// Add is PFADD: s is the key's value, nil when the key is missing (the
// caller answered WRONGTYPE for another type). It returns the value to
// store and whether it changed, which is the reply (1 or 0): creating the
// key counts as a change even with no elements. Only a changed value is
// stored, signalled and notified ("pfadd"); its cached count is then stale.
//
// On ErrInvalid (a corrupt sparse value) nothing is to be stored. Redis
// keeps the registers it updated before it met the corruption, in place on
// the master only, without propagating them; not storing them is what
// Redis's replicas see.
func Add(s []byte, elems [][]byte, sparseMax int) (out []byte, changed bool, err error) {
	if s == nil {
		s, changed = New(), true
	} else if err := Check(s); err != nil {
		return nil, false, err
	}
	var tail byte // see sparseSet
	for _, e := range elems {
		index, count := patLen(e)
		if s[4] == encDense {
			if denseSet(s[hdrSize:], index, count) {
				changed = true
			}
			continue
		}
		var r int
		if s, tail, r = sparseSet(s, tail, index, count, sparseMax); r < 0 {
			return nil, false, ErrInvalid
		}
		if r > 0 {
			changed = true
		}
	}
	if changed {
		invalidate(s)
	}
	return s, changed, nil
}

// Count is PFCOUNT of one key (the caller answers 0 for a missing key and
// WRONGTYPE for another type). A fresh cached count is returned as is.
// Otherwise Redis computes it and writes it into the value's header, which
// it treats as a change to propagate: then updated is a new copy of the
// value with the count cached (s itself is left alone), for the caller to
// store through the log, or not: the count is the same either way.
func Count(s []byte) (card int64, updated []byte, err error) {
	if err := Check(s); err != nil {
		return 0, nil, err
	}
	if s[15]&staleCardBit == 0 {
		return int64(binary.LittleEndian.Uint64(s[8:16])), nil, nil
	}
	var hist [64]int
	if s[4] == encDense {
		denseHisto(s[hdrSize:], &hist)
	} else if !sparseHisto(s[hdrSize:], &hist) {
		return 0, nil, ErrInvalid
	}
	c := estimate(&hist)
	updated = append([]byte{}, s...)
	binary.LittleEndian.PutUint64(updated[8:16], c)
	return int64(c), updated, nil
}

// Union is the register-wise maximum of several HyperLogLogs: PFCOUNT of
// many keys and PFMERGE. Its zero value is empty; it is 16 KiB, so keep it
// off hot stacks if that matters.
type Union struct {
	regs  [registers]uint8
	dense bool // some input was dense: PFMERGE then stores dense
}

// Merge adds one existing key's value, in key order; the caller skips
// missing keys and answers WRONGTYPE for a key of another type when it
// reaches it, as Redis does.
func (u *Union) Merge(s []byte) error {
	if err := Check(s); err != nil {
		return err
	}
	if s[4] == encDense {
		u.dense = true
		regs := s[hdrSize:]
		for i := range u.regs {
			u.regs[i] = max(u.regs[i], getReg(regs, i))
		}
		return nil
	}
	if !sparseRuns(s[hdrSize:], 0, func(i, n int, v uint8) {
		for j := i; j < i+n; j++ {
			u.regs[j] = max(u.regs[j], v)
		}
	}) {
		return ErrInvalid
	}
	return nil
}

// Count is PFCOUNT of several keys: the union's cardinality (nothing is
// cached anywhere).
func (u *Union) Count() int64 {
	var hist [64]int
	for _, v := range u.regs {
		hist[v]++
	}
	return int64(estimate(&hist))
}

// Store is PFMERGE's write: dest is the destination's value, nil when it is
// missing (when it exists it was merged first, being PFMERGE's first key).
// The result is dense when any input was dense; otherwise registers are set
// one by one in the sparse value, which promotes itself as PFADD's would.
// PFMERGE always stores it, signals the key and notifies "pfadd".
func (u *Union) Store(dest []byte, sparseMax int) ([]byte, error) {
	if dest == nil {
		dest = New()
	}
	if u.dense && dest[4] == encSparse {
		d, ok := sparseToDense(dest, 0)
		if !ok {
			return nil, ErrInvalid
		}
		dest = d
	}
	var tail byte // see sparseSet
	for i, v := range u.regs {
		if v == 0 {
			continue
		}
		if dest[4] == encDense {
			denseSet(dest[hdrSize:], i, v)
		} else {
			dest, tail, _ = sparseSet(dest, tail, i, v, sparseMax) // dest was checked by Merge
		}
	}
	invalidate(dest)
	return dest, nil
}
