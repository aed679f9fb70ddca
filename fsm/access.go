package fsm

import (
	"math"
	"sync/atomic"
)

// Per-key access tracking for maxmemory-policy, OBJECT IDLETIME and OBJECT
// FREQ, as Redis keeps it in a robj's 24-bit lru field: under an LRU (or
// any non-LFU) policy the LRU clock of the last access, in seconds; under an
// LFU policy the last decrement time in minutes (16 bits) and a logarithmic
// access counter (8 bits).
//
// Items are immutable once in the tree and reads run concurrently under the
// FSM's read lock, so the word lives in a cell of its own (item.acc), updated
// atomically, shared by every version of the key's item (put carries it
// over, as Redis keeps the object, or for an overwrite under LFU its
// counter). It costs a pointer in the item (which stays in the same size
// class) and a 4-byte cell. It is not state: no snapshot, hash or reply of a
// write depends on it. Only the leader's matters (reads are served there),
// and its choices of victims reach the other nodes as an "evict" entry.

const (
	lruClockMax   = 1<<24 - 1
	lfuInitVal    = 5
	lruResolution = 1000 // ms per LRU clock tick
)

// lruClock is Redis's LRU_CLOCK at ms.
func lruClock(ms int64) uint32 { return uint32(ms/lruResolution) & lruClockMax }

// lfuMinutes is Redis's LFUGetTimeInMinutes at ms.
func lfuMinutes(ms int64) uint32 { return uint32(ms/60000) & 65535 }

// initAccess is a new key's word: created now, as createObject sets it.
func initAccess(ms int64, lfu bool) uint32 {
	if lfu {
		return lfuMinutes(ms)<<8 | lfuInitVal
	}
	return lruClock(ms)
}

// touch records an access to it at the command's time, as Redis's
// lookupKey does (updateLFU or LRU_CLOCK).
func (c *ctx) touch(it *item) {
	if it.acc == nil {
		return
	}
	if !c.f.conf.policy.lfu() {
		it.acc.Store(lruClock(c.now))
		return
	}
	old := it.acc.Load()
	counter := lfuDecr(old, c.now, c.f.conf.lfuDecayTime)
	counter = lfuLogIncr(counter, c.f.conf.lfuLogFactor, c.seed^hashKey(it.key))
	it.acc.Store(lfuMinutes(c.now)<<8 | counter)
}

// idleMillis is Redis's estimateObjectIdleTime: the LRU clock's distance,
// wrapping around.
func idleMillis(word uint32, ms int64) int64 {
	now := lruClock(ms)
	if now >= word {
		return int64(now-word) * lruResolution
	}
	return int64(now+(lruClockMax-word)) * lruResolution
}

// lfuDecr is Redis's LFUDecrAndReturn: the counter less one for every
// lfu-decay-time minutes since it was last decremented.
func lfuDecr(word uint32, ms int64, decayTime int64) uint32 {
	ldt, counter := word>>8, word&255
	if decayTime <= 0 {
		return counter
	}
	now := lfuMinutes(ms)
	elapsed := now - ldt
	if now < ldt {
		elapsed = 65535 - ldt + now
	}
	periods := uint32(int64(elapsed) / decayTime)
	if periods > counter {
		return 0
	}
	return counter - periods
}

// lfuLogIncr is Redis's LFULogIncr: the counter grows with probability
// 1/((counter-5)*lfu-log-factor+1). The draw comes from r (the command's
// seed mixed with the key) rather than global randomness.
func lfuLogIncr(counter uint32, logFactor int64, r uint64) uint32 {
	if counter == 255 {
		return 255
	}
	base := float64(counter) - lfuInitVal
	if base < 0 {
		base = 0
	}
	p := 1.0 / (base*float64(logFactor) + 1)
	if float64(mix64(r)>>11)/(1<<53) < p {
		counter++
	}
	return counter
}

// mix64 is splitmix64's finalizer: an even spread from any input.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// newAccess is the access cell of a key put for the first time.
func newAccess(ms int64, lfu bool) *atomic.Uint32 {
	a := new(atomic.Uint32)
	a.Store(initAccess(ms, lfu))
	return a
}

// evictScore orders eviction candidates: the higher, the better a victim
// (Redis's evictionPoolPopulate "idle").
func evictScore(p evictPolicy, it *item, ms int64, decayTime int64) uint64 {
	switch {
	case p == volatileTTL:
		return math.MaxUint64 - uint64(it.exp)
	case p.lfu():
		return 255 - uint64(lfuDecr(it.acc.Load(), ms, decayTime))
	}
	return uint64(idleMillis(it.acc.Load(), ms))
}
