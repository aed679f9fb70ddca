package hll

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// murmurHash64A is Redis's MurmurHash2, 64-bit version, reading 8-byte
// blocks little-endian on every architecture.
func murmurHash64A(key []byte, seed uint64) uint64 {
	const m = 0xc6a4a7935bd1e995
	const r = 47
	h := seed ^ uint64(len(key))*m
	for len(key) >= 8 {
		k := binary.LittleEndian.Uint64(key)
		k *= m
		k ^= k >> r
		k *= m
		h ^= k
		h *= m
		key = key[8:]
	}
	if len(key) > 0 {
		for i := len(key) - 1; i >= 0; i-- {
			h ^= uint64(key[i]) << (8 * i)
		}
		h *= m
	}
	h ^= h >> r
	h *= m
	h ^= h >> r
	return h
}

// patLen is hllPatLen: the register an element falls in (the hash's low 14
// bits) and the length of the 000..1 pattern in the remaining bits, 1..51.
func patLen(ele []byte) (index int, count uint8) {
	h := murmurHash64A(ele, murmurSeed)
	index = int(h & regMask)
	h >>= 14
	h |= 1 << hashQ // so the count stops at hashQ+1
	return index, uint8(bits.TrailingZeros64(h) + 1)
}

// getReg reads dense register i. Redis reads one byte past the last
// register (the string's NUL terminator); its bits are masked away.
func getReg(regs []byte, i int) uint8 {
	b, fb := i*regBits/8, uint(i*regBits&7)
	v := uint(regs[b]) >> fb
	if b+1 < len(regs) {
		v |= uint(regs[b+1]) << (8 - fb)
	}
	return uint8(v & regMax)
}

func setReg(regs []byte, i int, val uint8) {
	b, fb := i*regBits/8, uint(i*regBits&7)
	regs[b] = regs[b]&^byte(regMax<<fb) | byte(uint(val)<<fb)
	if b+1 < len(regs) {
		regs[b+1] = regs[b+1]&^byte(regMax>>(8-fb)) | byte(uint(val)>>(8-fb))
	}
}

// denseSet raises register i to count if it is lower (hllDenseSet).
func denseSet(regs []byte, i int, count uint8) bool {
	if count > getReg(regs, i) {
		setReg(regs, i, count)
		return true
	}
	return false
}

func denseHisto(regs []byte, hist *[64]int) {
	for i := range registers {
		hist[getReg(regs, i)]++
	}
}

// estimate is hllCount's estimator over the register histogram (Ertl,
// "New cardinality estimation algorithms for HyperLogLog sketches"). The
// float64() conversions keep Go from fusing multiply-adds, which C on amd64
// does not do, so every platform rounds like Redis.
func estimate(hist *[64]int) uint64 {
	const alphaInf = 0.721347520444481703680 // 0.5/ln(2)
	m := float64(registers)
	z := m * tau((m-float64(hist[hashQ+1]))/m)
	for j := hashQ; j >= 1; j-- {
		z += float64(hist[j])
		z *= 0.5
	}
	z += float64(m * sigma(float64(hist[0])/m))
	e := math.Round(alphaInf * m * m / z) // llroundl
	if !(e >= 0 && e < 1<<63) {
		// llroundl's "invalid" result on x86-64, as Redis then stores it.
		return 1 << 63
	}
	return uint64(e)
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += float64(x * y)
		y += y
		if prev == z {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		d := 1 - x
		z -= float64(float64(d*d) * y)
		if prev == z {
			return z / 3
		}
	}
}
