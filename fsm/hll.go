package fsm

import (
	"sync"
	"unsafe"

	"github.com/understudy/understudy/fsm/internal/hll"
)

// HyperLogLogs are strings in Redis's own representation (package hll), so
// values equal Redis's byte for byte and counts equal Redis's exactly.
//
// PFCOUNT's cached cardinality: Redis's PFCOUNT writes the count it
// computes into the value's header (and propagates that as a write). Here
// PFCOUNT is a read, served by any node from its own state without a log
// entry, so it never writes the cache: every node keeps the same bytes and
// answers the same count (computed again, or taken from a cache that came
// with the value, as from a RESTORE). The value therefore differs from
// Redis's only after a PFCOUNT: Redis's header then holds the count and
// ours still marks it stale (bytes 8-15; GET and DUMP show it), until the
// next PFADD or PFMERGE, which makes both stale again. A PFCOUNT does not
// make WATCH abort either, where Redis's does when it refreshes the cache.
//
// So that a dense count (16384 registers) is not computed again on every
// PFCOUNT, each node remembers its last few counts in hllCounts, outside
// the state.

// hllCounts remembers the counts PFCOUNT computed lately, keyed by the value
// itself: a string is immutable, so the same string (the same bytes at the
// same address) has the same count. It holds the values it remembers, so
// their memory cannot be reused for another string while they are there.
// Reads run concurrently, hence the mutex. It never changes a reply: a
// count is a function of the bytes.
type hllCounts struct {
	mu    sync.Mutex
	vals  [8]string
	cards [8]int64
	next  int
}

func (h *hllCounts) get(s string) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, v := range h.vals {
		if len(v) == len(s) && len(s) > 0 && unsafe.StringData(v) == unsafe.StringData(s) {
			return h.cards[i], true
		}
	}
	return 0, false
}

func (h *hllCounts) put(s string, card int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.vals[h.next], h.cards[h.next] = s, card
	h.next = (h.next + 1) % len(h.vals)
}

func hllCommands() []decl {
	return []decl{
		{name: "pfadd", run: cmdPFAdd, since: Level2},
		{name: "pfcount", run: cmdPFCount, since: Level2},
		{name: "pfmerge", run: cmdPFMerge, since: Level2},
		{name: "pfdebug", run: cmdPFDebug, since: Level2},
		{name: "pfselftest", run: cmdPFSelfTest, since: Level2},
	}
}

// hllSparseMax is hll-sparse-max-bytes.
func (c *ctx) hllSparseMax() int { return int(min(c.f.conf.hllSparseMaxBytes, 1<<30)) }

// cmdPFAdd is PFADD key [element ...].
func cmdPFAdd(c *ctx, argv [][]byte) Value {
	it, s, exists, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	var cur []byte
	if exists {
		cur = ownedCopy(s, 0)
	}
	out, changed, err := hll.Add(cur, argv[2:], c.hllSparseMax())
	if err != nil {
		if err == hll.ErrInvalid {
			c.unshare(it, exists) // Redis unshared it before it met the corruption
		}
		return errReply(err)
	}
	if !changed {
		c.unshare(it, exists)
		return Zero
	}
	c.putRawString(it, exists, argv[1], ownString(out))
	c.notify(NotifyString, "pfadd", string(argv[1]))
	return One
}

// cmdPFCount is PFCOUNT key [key ...]: one key's count (never cached, see
// above), or the count of the union of several.
func cmdPFCount(c *ctx, argv [][]byte) Value {
	if len(argv) == 2 {
		_, s, exists, errv := c.getString(argv[1])
		if !exists {
			return zeroOr(errv)
		}
		if n, ok := c.f.hllCounts.get(s); ok {
			return Int(n)
		}
		n, computed, err := hll.Count(b(s))
		if err != nil {
			return errReply(err)
		}
		if computed != nil { // not a count cached in the value
			c.f.hllCounts.put(s, n)
		}
		return Int(n)
	}
	u, errv := hllUnion(c, argv[1:])
	if errv.IsError() {
		return errv
	}
	return Int(u.Count())
}

// hllUnion merges the keys' HyperLogLogs in order, skipping missing keys
// and stopping at the first that is not one.
func hllUnion(c *ctx, keys [][]byte) (*hll.Union, Value) {
	u := new(hll.Union)
	for _, k := range keys {
		_, s, exists, errv := c.getString(k)
		if errv.IsError() {
			return nil, errv
		}
		if !exists {
			continue
		}
		if err := u.Merge(b(s)); err != nil {
			return nil, errReply(err)
		}
	}
	return u, Value{}
}

// cmdPFMerge is PFMERGE destkey [sourcekey ...]: the destination is merged
// first, and always stored (with a "pfadd" event), even unchanged.
func cmdPFMerge(c *ctx, argv [][]byte) Value {
	u, errv := hllUnion(c, argv[1:])
	if errv.IsError() {
		return errv
	}
	it, s, exists, _ := c.getString(argv[1])
	var dest []byte
	if exists {
		dest = ownedCopy(s, 0)
	}
	out, err := u.Store(dest, c.hllSparseMax())
	if err != nil {
		return errReply(err)
	}
	c.putRawString(it, exists, argv[1], ownString(out))
	c.notify(NotifyString, "pfadd", string(argv[1]))
	return OK
}

// cmdPFDebug is PFDEBUG GETREG|DECODE|ENCODING|TODENSE key. The key is
// looked up (and made raw, as Redis unshares it) before the subcommand is
// read. Converting to dense changes the representation, not the count, so
// like Redis it does not signal the key: the version is not stamped.
func cmdPFDebug(c *ctx, argv [][]byte) Value {
	it, s, exists, errv := c.getString(argv[2])
	if errv.IsError() {
		return errv
	}
	if !exists {
		return Err("ERR The specified key does not exist")
	}
	if err := hll.Check(b(s)); err != nil {
		return errReply(err)
	}
	c.unshare(it, exists)
	it.raw = it.raw || c.rawStrings()
	toDense := func() (dense []byte, converted bool, errv Value) {
		if !hll.IsSparse(b(s)) {
			return b(s), false, Value{}
		}
		d, err := hll.ToDense(b(s))
		if err != nil {
			return nil, false, errReply(err)
		}
		it.val = ownString(d)
		c.ks.swap(it)
		return d, true, Value{}
	}
	sub := argv[1]
	switch {
	case eqFold(sub, "getreg"):
		d, _, errv := toDense()
		if errv.IsError() {
			return errv
		}
		regs := hll.Registers(d)
		out := make([]Value, len(regs))
		for i, r := range regs {
			out[i] = Int(int64(r))
		}
		return Array(out)
	case eqFold(sub, "decode"):
		if !hll.IsSparse(b(s)) {
			return Err("ERR HLL encoding is not sparse")
		}
		return BulkString(hll.Decode(b(s)))
	case eqFold(sub, "encoding"):
		if hll.IsSparse(b(s)) {
			return Simple("sparse")
		}
		return Simple("dense")
	case eqFold(sub, "todense"):
		_, converted, errv := toDense()
		if errv.IsError() {
			return errv
		}
		if converted {
			return One
		}
		return Zero
	}
	return Err("ERR Unknown PFDEBUG subcommand '" + errText(sub) + "'")
}

// cmdPFSelfTest is PFSELFTEST: package hll's self check (a smaller one than
// Redis's, which takes seconds; see hll.SelfTest).
func cmdPFSelfTest(c *ctx, argv [][]byte) Value {
	if err := hll.SelfTest(); err != nil {
		return errReply(err)
	}
	return OK
}
