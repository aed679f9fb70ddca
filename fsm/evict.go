package fsm

import (
	"math/rand/v2"
	"sort"
	"strconv"
)

// maxmemory-policy. The leader, whose memory is over maxmemory, picks
// victims as Redis's performEvictions does (evictionPoolPopulate: sample
// maxmemory-samples keys of each database, keep the best 16 in a pool, take
// the best; or a random key for the random policies) and proposes their
// deletion as one internal entry per database, "evict key version ...".
// Every node applies it alike: a key is deleted only if it still holds the
// version the leader saw, so a key written in between is spared everywhere.
// Each deletion counts in evicted_keys and sends the "evicted" event.

type evictPolicy uint8

const (
	noEviction evictPolicy = iota
	volatileLRU
	volatileLFU
	volatileRandom
	volatileTTL
	allkeysLRU
	allkeysLFU
	allkeysRandom
)

var policyByName = map[string]evictPolicy{
	"noeviction": noEviction, "volatile-lru": volatileLRU, "volatile-lfu": volatileLFU,
	"volatile-random": volatileRandom, "volatile-ttl": volatileTTL, "allkeys-lru": allkeysLRU,
	"allkeys-lfu": allkeysLFU, "allkeys-random": allkeysRandom,
}

func (p evictPolicy) lfu() bool      { return p == volatileLFU || p == allkeysLFU }
func (p evictPolicy) volatile() bool { return p >= volatileLRU && p <= volatileTTL }
func (p evictPolicy) random() bool   { return p == volatileRandom || p == allkeysRandom }

// evictPoolSize is Redis's EVPOOL_SIZE.
const evictPoolSize = 16

// Victim is a key the leader chose to evict: its database, name and the
// version (log index of its last write) it had when chosen.
type Victim struct {
	DB  int
	Key string
	Ver uint64
	// Size is an estimate of the memory its deletion frees, in bytes.
	Size int64
}

type poolEntry struct {
	score uint64
	db    int
	key   string
}

// Evictor is the leader's eviction state: Redis's eviction pool (the best
// candidates seen so far, kept between rounds) and the next database for
// the random policies. It is not replicated; one goroutine uses it.
type Evictor struct {
	pool   []poolEntry
	nextDB int
	rng    *rand.Rand
}

// NewEvictor returns an empty eviction pool drawing from seed.
func NewEvictor(seed uint64) *Evictor {
	return &Evictor{rng: rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b))}
}

// MemoryPolicy returns the replicated maxmemory (0: none set) and
// maxmemory-policy.
func (f *FSM) MemoryPolicy() (maxmemory int64, policy string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.conf.maxmemory, f.conf.get("maxmemory-policy")
}

// EvictedKeys counts the keys this node deleted for maxmemory since it
// started (INFO's evicted_keys).
func (f *FSM) EvictedKeys() int64 { return f.evicted.Load() }

// ExpiredCount counts the keys this node deleted because their TTL passed,
// since it started (INFO's expired_keys).
func (f *FSM) ExpiredCount() int64 { return f.expired.Load() }

// Pick chooses victims at time now until their estimated sizes add up to
// need bytes, at most max of them (at least one when any key qualifies).
// None under noeviction, or when no key qualifies (volatile policies with
// no key that has a TTL): the caller then refuses writes as Redis does.
func (e *Evictor) Pick(f *FSM, now int64, need int64, max int) []Victim {
	f.mu.RLock()
	defer f.mu.RUnlock()
	pol := f.conf.policy
	if pol == noEviction {
		return nil
	}
	var out []Victim
	chosen := map[DBKey]bool{}
	var freed int64
	for len(out) < max && (freed < need || len(out) == 0) {
		v, ok := e.pickOne(f, pol, now, chosen)
		if !ok {
			break
		}
		chosen[DBKey{v.DB, v.Key}] = true
		out = append(out, v)
		freed += v.Size
	}
	return out
}

func (e *Evictor) pickOne(f *FSM, pol evictPolicy, now int64, chosen map[DBKey]bool) (Victim, bool) {
	n := len(f.dbs)
	if pol.random() {
		for i := 0; i < n; i++ {
			db := (e.nextDB + i) % n
			ks := f.dbs[db]
			if ks == nil {
				continue
			}
			for try := 0; try < 16; try++ {
				it, ok := e.sample(ks, pol)
				if ok && !chosen[DBKey{db, it.key}] {
					e.nextDB = db + 1
					return victim(db, it), true
				}
			}
		}
		return Victim{}, false
	}
	for tries := 0; tries < 8; tries++ {
		for db, ks := range f.dbs {
			if ks == nil {
				continue
			}
			for s := int64(0); s < f.conf.samples; s++ {
				if it, ok := e.sample(ks, pol); ok && it.acc != nil {
					e.insert(poolEntry{evictScore(pol, it, now, f.conf.lfuDecayTime), db, it.key})
				}
			}
		}
		// The best candidate that still exists (Redis walks the pool from
		// its best end, dropping ghosts).
		for len(e.pool) > 0 {
			best := e.pool[len(e.pool)-1]
			e.pool = e.pool[:len(e.pool)-1]
			if chosen[DBKey{best.db, best.key}] || best.db >= n || f.dbs[best.db] == nil {
				continue
			}
			it, ok := f.dbs[best.db].raw(best.key)
			if !ok || (pol.volatile() && it.exp == 0) {
				continue
			}
			return victim(best.db, &it), true
		}
		if f.keysFor(pol) == 0 {
			break
		}
	}
	return Victim{}, false
}

// keysFor counts the keys pol may evict.
func (f *FSM) keysFor(pol evictPolicy) int {
	total := 0
	for _, ks := range f.dbs {
		if ks == nil {
			continue
		}
		if pol.volatile() {
			total += ks.exps.Len()
		} else {
			total += ks.tree.Len()
		}
	}
	return total
}

// sample draws one key of ks at random among those pol may evict.
func (e *Evictor) sample(ks *keyspace, pol evictPolicy) (*item, bool) {
	if pol.volatile() {
		n := ks.exps.Len()
		if n == 0 {
			return nil, false
		}
		x, _ := ks.exps.GetAt(e.rng.IntN(n))
		return ks.lookup(x.key)
	}
	n := ks.tree.Len()
	if n == 0 {
		return nil, false
	}
	s, ok := ks.tree.GetAt(e.rng.IntN(n))
	return s.it, ok
}

// insert keeps the pool sorted by score, best last, at most evictPoolSize
// entries, one per key.
func (e *Evictor) insert(p poolEntry) {
	for i, x := range e.pool {
		if x.db == p.db && x.key == p.key {
			e.pool = append(e.pool[:i], e.pool[i+1:]...)
			break
		}
	}
	i := sort.Search(len(e.pool), func(i int) bool { return e.pool[i].score > p.score })
	if len(e.pool) >= evictPoolSize {
		if i == 0 {
			return // worse than every entry of a full pool
		}
		e.pool = e.pool[1:]
		i--
	}
	e.pool = append(e.pool, poolEntry{})
	copy(e.pool[i+1:], e.pool[i:])
	e.pool[i] = p
}

func victim(db int, it *item) Victim {
	return Victim{DB: db, Key: it.key, Ver: it.ver, Size: itemSize(it)}
}

// itemSize estimates the memory a key holds: its bytes plus a fixed cost
// for the item and each element, close enough to size an eviction round
// (the node's memory measure is coarse anyway: see resp/memory.go).
func itemSize(it *item) int64 {
	const perItem, perElem = 96, 48
	n := int64(perItem + len(it.key))
	if s, ok := it.val.(string); ok {
		return n + int64(len(s))
	}
	return n + int64(collLen(it.val))*perElem
}

// KeyMemory is MEMORY USAGE: the estimate itemSize makes of what key holds
// in database db, from this node's state at time now (Unix ms; never before
// the applied clock), without counting as an access; false if it is missing.
func (f *FSM) KeyMemory(db int, now int64, key []byte) (int64, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	c := &ctx{f: f, now: max(now, f.clock)}
	c.use(db)
	it, ok := c.peek(key)
	if !ok {
		return 0, false
	}
	return itemSize(&it), true
}

// EvictCmds are the internal entries that evict victims: one command per
// database, "evict key version ...".
func EvictCmds(vs []Victim) []Cmd {
	var out []Cmd
	byDB := map[int]int{}
	for _, v := range vs {
		i, ok := byDB[v.DB]
		if !ok {
			i = len(out)
			byDB[v.DB] = i
			out = append(out, Cmd{Op: OpInternal, DB: v.DB, Argv: [][]byte{[]byte("evict")}})
		}
		out[i].Argv = append(out[i].Argv, []byte(v.Key), []byte(strconv.FormatUint(v.Ver, 10)))
	}
	return out
}

// runEvict applies "evict key version ...".
func runEvict(c *ctx, argv [][]byte) Value {
	if len(argv)%2 != 1 {
		return Err("ERR bad evict command")
	}
	var n int64
	for i := 1; i+1 < len(argv); i += 2 {
		ver, err := strconv.ParseUint(string(argv[i+1]), 10, 64)
		if err != nil {
			return Err("ERR bad evict command")
		}
		it, ok := c.ks.raw(string(argv[i]))
		if !ok || it.ver != ver {
			continue
		}
		c.ks.del(it.key)
		c.f.evicted.Add(1)
		c.notify(NotifyEvicted, "evicted", it.key)
		n++
	}
	return Int(n)
}
