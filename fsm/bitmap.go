package fsm

import (
	"unsafe"

	"github.com/understudy/understudy/fsm/internal/bitops"
)

// Bitmaps are strings (package bitops does Redis's bit arithmetic and
// parsing). A string value is immutable here, so a command that changes
// bits copies the value once, lets bitops change the copy in place and
// stores it: O(length) per write where Redis is O(1), the price of values
// that snapshots share without locks.

func bitmapCommands() []decl {
	return []decl{
		{name: "setbit", run: cmdSetBit, since: Level2},
		{name: "getbit", run: cmdGetBit, since: Level2},
		{name: "bitcount", run: cmdBitCount, since: Level2},
		{name: "bitpos", run: cmdBitPos, since: Level2},
		{name: "bitop", run: cmdBitOp, since: Level2},
		{name: "bitfield", run: cmdBitField, since: Level2},
		{name: "bitfield_ro", run: cmdBitField, since: Level2},
	}
}

// errReply is the reply for an error of the algorithm packages, whose text
// is Redis's without the '-'.
func errReply(err error) Value { return Err(err.Error()) }

// rawStrings reports whether strings changed in place are marked raw
// (item.raw): from cluster level 2 on, as only version 4 snapshots, written
// from that level, can hold the mark.
func (c *ctx) rawStrings() bool { return c.f.level >= Level2 }

// ownedCopy copies s into a new buffer with room for n bytes, for the
// packages' functions that change their input in place like append.
func ownedCopy(s string, n int) []byte {
	buf := make([]byte, len(s), max(len(s), n))
	copy(buf, s)
	return buf
}

// ownString views buf as a string without copying; the caller never
// changes buf again.
func ownString(buf []byte) string { return unsafe.String(unsafe.SliceData(buf), len(buf)) }

// putRawString stores val as key's new string value, changed in place in
// Redis's terms: it keeps the key's TTL, is raw, and stamps the key's
// version (Redis signals the key).
func (c *ctx) putRawString(it item, exists bool, key []byte, val string) {
	if !exists {
		it = item{key: string(key)}
	}
	it.val, it.raw = val, c.rawStrings()
	c.ks.put(it)
}

// unshare is dbUnshareStringValue for a command that ends up changing
// nothing: Redis still makes the value raw, without signalling the key, so
// the version is not stamped (WATCH does not see it).
func (c *ctx) unshare(it item, exists bool) {
	if exists && !it.raw && c.rawStrings() {
		it.raw = true
		c.ks.swap(it)
	}
}

// maxBulkLen is proto-max-bulk-len: the longest string a bit offset may
// reach.
func (c *ctx) maxBulkLen() int64 { return c.maxString() }

// cmdSetBit is SETBIT key offset value.
func cmdSetBit(c *ctx, argv [][]byte) Value {
	off, err := bitops.ParseOffset(argv[2], c.maxBulkLen())
	if err != nil {
		return errReply(err)
	}
	on, err := bitops.ParseSetBitValue(argv[3])
	if err != nil {
		return errReply(err)
	}
	it, s, exists, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	if exists && off/8 < uint64(len(s)) && bitops.GetBit(b(s), off) == int(on) {
		c.unshare(it, exists) // no change: no copy
		return Int(int64(on))
	}
	out, old, _ := bitops.SetBit(ownedCopy(s, int(off/8)+1), off, on)
	c.putRawString(it, exists, argv[1], ownString(out))
	c.notify(NotifyString, "setbit", string(argv[1]))
	return Int(int64(old))
}

// cmdGetBit is GETBIT key offset.
func cmdGetBit(c *ctx, argv [][]byte) Value {
	off, err := bitops.ParseOffset(argv[2], c.maxBulkLen())
	if err != nil {
		return errReply(err)
	}
	_, s, _, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	return Int(int64(bitops.GetBit(b(s), off)))
}

// cmdBitCount is BITCOUNT key [start end [BYTE|BIT]]: the key is looked up
// before the range is parsed, as in Redis 7.0.
func cmdBitCount(c *ctx, argv [][]byte) Value {
	_, s, exists, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	if !exists {
		return Zero
	}
	n, err := bitops.Count(b(s), argv[2:])
	if err != nil {
		return errReply(err)
	}
	return Int(n)
}

// cmdBitPos is BITPOS key bit [start [end [BYTE|BIT]]].
func cmdBitPos(c *ctx, argv [][]byte) Value {
	bit, err := bitops.ParseBitposBit(argv[2])
	if err != nil {
		return errReply(err)
	}
	_, s, exists, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	if !exists {
		if bit == 1 {
			return Int(-1)
		}
		return Zero
	}
	n, err := bitops.Pos(b(s), bit, argv[3:])
	if err != nil {
		return errReply(err)
	}
	return Int(n)
}

// cmdBitOp is BITOP op destkey key [key ...]. Like Redis it stores the
// result with a "set" event, or deletes the destination when the result is
// empty, and replaces whatever the destination held (its TTL too).
func cmdBitOp(c *ctx, argv [][]byte) Value {
	op, err := bitops.ParseOp(argv[1], len(argv)-3)
	if err != nil {
		return errReply(err)
	}
	srcs := make([][]byte, len(argv)-3)
	for i, k := range argv[3:] {
		_, s, _, errv := c.getString(k)
		if errv.IsError() {
			return errv
		}
		srcs[i] = b(s)
	}
	res := op.Apply(srcs)
	dest := argv[2]
	if len(res) == 0 {
		c.delStored(dest)
		return Zero
	}
	c.ks.put(item{key: string(dest), val: ownString(res), raw: c.rawStrings()})
	c.notify(NotifyString, "set", string(dest))
	return Int(int64(len(res)))
}

// cmdBitField is BITFIELD and BITFIELD_RO. Everything is parsed before the
// key is looked up; with SET or INCRBY the key is created or grown.
func cmdBitField(c *ctx, argv [][]byte) Value {
	bf, err := bitops.ParseBitfield(argv[2:], eqFold(argv[0], "bitfield_ro"), c.maxBulkLen())
	if err != nil {
		return errReply(err)
	}
	it, s, exists, errv := c.getString(argv[1])
	if errv.IsError() {
		return errv
	}
	var res []bitops.FieldResult
	if !bf.Writes {
		_, res, _ = bf.Exec(b(s))
	} else {
		var out []byte
		var changed bool
		out, res, changed = bf.Exec(ownedCopy(s, 0))
		// Redis 7.0.15 signals the key and notifies only if a SET or
		// INCRBY was carried out (not refused by OVERFLOW FAIL) and the
		// string was created, grew or changed. A key created or grown by
		// writes that all failed is stored silently (a new key is still a
		// new key: it is stamped, where Redis's WATCH would not notice).
		wrote := false
		for i, op := range bf.Ops {
			wrote = wrote || (op.Kind != bitops.Get && !res[i].Nil)
		}
		switch {
		case changed && wrote:
			c.putRawString(it, exists, argv[1], ownString(out))
			c.notify(NotifyString, "setbit", string(argv[1]))
		case !exists:
			c.putRawString(it, exists, argv[1], ownString(out))
		case changed || len(out) != len(s):
			// Grown by writes that all failed: Redis keeps the padding.
			it.val, it.raw = ownString(out), c.rawStrings()
			c.ks.swap(it)
		default:
			c.unshare(it, exists)
		}
	}
	reply := make([]Value, len(res))
	for i, r := range res {
		if r.Nil {
			reply[i] = Null
		} else {
			reply[i] = Int(r.Value)
		}
	}
	return Array(reply)
}
