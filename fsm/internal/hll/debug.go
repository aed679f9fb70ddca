package hll

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// PFDEBUG and PFSELFTEST. Like the commands' other functions these take a
// value Check accepted.

// IsSparse reports whether the value uses the sparse encoding (PFDEBUG
// ENCODING answers "sparse" or "dense").
func IsSparse(s []byte) bool { return s[4] == encSparse }

// ToDense is hllSparseToDense (PFDEBUG TODENSE and GETREG): a sparse value
// converted to a new dense one, with the header's magic and cached count; s
// is left alone. ErrInvalid when the opcodes do not cover the registers.
func ToDense(s []byte) ([]byte, error) {
	d, ok := sparseToDense(s, 0)
	if !ok {
		return nil, ErrInvalid
	}
	return d, nil
}

// Registers returns the 16384 registers of a dense value (PFDEBUG GETREG).
func Registers(s []byte) []uint8 {
	out := make([]uint8, registers)
	for i := range out {
		out[i] = getReg(s[hdrSize:], i)
	}
	return out
}

// Decode is PFDEBUG DECODE of a sparse value: its opcodes as "z:len"
// (ZERO), "Z:len" (XZERO) and "v:value,len" (VAL), separated by spaces. An
// XZERO cut short by the end of the string reads a 0 past it, as Redis
// reads the string's terminator.
func Decode(s []byte) string {
	var b strings.Builder
	ops := s[hdrSize:]
	for p := 0; p < len(ops); {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		switch c := ops[p]; {
		case isZero(c):
			b.WriteString("z:" + strconv.Itoa(zeroLen(c)))
			p++
		case isXZero(c):
			b.WriteString("Z:" + strconv.Itoa(xzeroLen(ops, p, 0)))
			p += 2
		default:
			b.WriteString("v:" + strconv.Itoa(valValue(c)) + "," + strconv.Itoa(valLen(c)))
			p++
		}
	}
	return b.String()
}

// SelfTest is a smaller PFSELFTEST: Redis's two checks (dense registers
// read back what was written; sparse and dense counts agree, stay within
// the error bound, and small sets stay sparse) at sizes that take
// milliseconds rather than Redis's seconds, from a fixed seed. The error
// text is Redis's, without the '-'.
func SelfTest() error {
	rng := rand.New(rand.NewPCG(0x5eed, 0x4111))
	regs := make([]byte, denseSize-hdrSize)
	want := make([]uint8, registers)
	for range 16 {
		for i := range want {
			want[i] = uint8(rng.IntN(regMax + 1))
			setReg(regs, i, want[i])
		}
		for i, w := range want {
			if getReg(regs, i) != w {
				return Error(fmt.Sprintf("ERR TESTFAILED Register error at %d", i))
			}
		}
	}
	dense, err := ToDense(New())
	if err != nil {
		return err
	}
	sparse := New()
	relErr := 1.04 / math.Sqrt(registers)
	seed := rng.Uint64()
	checkpoint := 1
	var ele [8]byte
	for j := 1; j <= 100000; j++ {
		binary.LittleEndian.PutUint64(ele[:], uint64(j)^seed)
		if dense, _, err = Add(dense, [][]byte{ele[:]}, DefaultSparseMaxBytes); err != nil {
			return err
		}
		if sparse, _, err = Add(sparse, [][]byte{ele[:]}, DefaultSparseMaxBytes); err != nil {
			return err
		}
		if j != checkpoint {
			continue
		}
		if j < DefaultSparseMaxBytes/2 && !IsSparse(sparse) {
			return Error("ERR TESTFAILED sparse encoding not used")
		}
		dc, _, err := Count(dense)
		if err != nil {
			return err
		}
		sc, _, err := Count(sparse)
		if err != nil {
			return err
		}
		if dc != sc {
			return Error(fmt.Sprintf("ERR TESTFAILED dense/sparse disagree: %d != %d", dc, sc))
		}
		abserr := int64(checkpoint) - dc
		maxerr := int64(math.Ceil(relErr * 6 * float64(checkpoint)))
		if j == 10 {
			maxerr = 1
		}
		if abserr < 0 {
			abserr = -abserr
		}
		if abserr > maxerr {
			return Error(fmt.Sprintf("ERR TESTFAILED Too big error. card:%d abserr:%d", checkpoint, abserr))
		}
		checkpoint *= 10
	}
	return nil
}
