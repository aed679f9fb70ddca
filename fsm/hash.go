package fsm

import (
	"math"
	"math/big"
	"slices"
	"strconv"

	"github.com/tidwall/btree"
)

// hashObj is a hash. In the listpack encoding (small) it is a slice in
// insertion order, which is the order Redis replies in; past 128 fields or a
// field or value longer than 64 bytes it becomes a hashtable, a tree ordered
// by (hash, field), and never goes back.
type hashObj struct {
	gen uint64
	lim *encLimits // thresholds in force when last changed (object.go)
	lp  []hfield
	ht  *btree.BTreeG[member] // non-nil in the hashtable encoding
}

type hfield struct{ f, v string }

func (h *hashObj) len() int {
	if h.ht != nil {
		return h.ht.Len()
	}
	return len(h.lp)
}

func (h *hashObj) get(f string) (string, bool) {
	if h.ht != nil {
		m, ok := h.ht.Get(member{h: hashKey(f), key: f})
		return m.val, ok
	}
	for _, p := range h.lp {
		if p.f == f {
			return p.v, true
		}
	}
	return "", false
}

// set sets field f and reports whether it is new. A listpack keeps an
// updated field in its place and appends a new one.
func (h *hashObj) set(f, v string) bool {
	if h.ht != nil {
		_, replaced := h.ht.Set(member{h: hashKey(f), key: f, val: v})
		return !replaced
	}
	for i := range h.lp {
		if h.lp[i].f == f {
			h.lp[i].v = v
			return false
		}
	}
	h.lp = append(h.lp, hfield{f, v})
	if len(h.lp) > limitsOf(h.lim).hashEntries {
		h.convert()
	}
	return true
}

func (h *hashObj) del(f string) bool {
	if h.ht != nil {
		_, ok := h.ht.Delete(member{h: hashKey(f), key: f})
		return ok
	}
	for i := range h.lp {
		if h.lp[i].f == f {
			h.lp = slices.Delete(h.lp, i, i+1)
			return true
		}
	}
	return false
}

// tryConvert is Redis's hashTypeTryConversion: any argument longer than
// hash-max-listpack-value turns a listpack into a hashtable first.
func (h *hashObj) tryConvert(args [][]byte) {
	if h.ht != nil {
		return
	}
	for _, a := range args {
		if len(a) > limitsOf(h.lim).hashValue {
			h.convert()
			return
		}
	}
}

func (h *hashObj) convert() {
	t := newMemberTree()
	for _, p := range h.lp {
		t.Set(member{h: hashKey(p.f), key: p.f, val: p.v})
	}
	h.ht, h.lp = t, nil
}

// each calls fn for every field in the encoding's order until it returns false.
func (h *hashObj) each(fn func(f, v string) bool) {
	if h.ht != nil {
		h.ht.Scan(func(m member) bool { return fn(m.key, m.val) })
		return
	}
	for _, p := range h.lp {
		if !fn(p.f, p.v) {
			return
		}
	}
}

func (h *hashObj) at(i int) (string, string) {
	if h.ht != nil {
		m, _ := h.ht.GetAt(i)
		return m.key, m.val
	}
	return h.lp[i].f, h.lp[i].v
}

func (h *hashObj) clone(gen uint64) *hashObj {
	n := &hashObj{gen: gen, lim: h.lim}
	if h.ht != nil {
		n.ht = h.ht.Copy()
	} else {
		n.lp = slices.Clone(h.lp)
	}
	return n
}

// mutableHash makes it's hash safe to change: a hash that a snapshot may
// share is copied first and the copy swapped into the keyspace.
func (c *ctx) mutableHash(it *item) *hashObj {
	h := it.val.(*hashObj)
	if h.gen != c.ks.gen {
		h = h.clone(c.ks.gen)
		it.val = h
		c.ks.swap(*it)
	}
	h.lim = c.enc()
	return h
}

func (c *ctx) getHash(key []byte) (item, *hashObj, bool, Value) {
	return getTyped[*hashObj](c, key)
}

// hashForWrite returns the hash at key ready to change, creating an empty
// one (not yet stored) if the key does not exist.
func (c *ctx) hashForWrite(key []byte) (item, *hashObj, Value) {
	it, _, ok, errv := c.getHash(key)
	if errv.Kind == KindError {
		return it, nil, errv
	}
	if !ok {
		h := &hashObj{gen: c.ks.gen, lim: c.enc()}
		return item{key: string(key), val: h}, h, Value{}
	}
	return it, c.mutableHash(&it), Value{}
}

func hashCommands() []decl {
	return []decl{
		{name: "hset", run: cmdHSet, since: 1},
		{name: "hmset", run: cmdHSet, since: 1},
		{name: "hsetnx", run: cmdHSetNX, since: 1},
		{name: "hget", run: cmdHGet, since: 1},
		{name: "hmget", run: cmdHMGet, since: 1},
		{name: "hdel", run: cmdHDel, since: 1},
		{name: "hexists", run: cmdHExists, since: 1},
		{name: "hlen", run: cmdHLen, since: 1},
		{name: "hstrlen", run: cmdHStrlen, since: 1},
		{name: "hkeys", run: cmdHGetAll, since: 1},
		{name: "hvals", run: cmdHGetAll, since: 1},
		{name: "hgetall", run: cmdHGetAll, since: 1},
		{name: "hincrby", run: cmdHIncrBy, since: 1},
		{name: "hincrbyfloat", run: cmdHIncrByFloat, since: 1},
		{name: "hrandfield", run: cmdHRandField, since: 1},
		{name: "hscan", run: cmdHScan, since: 1},
	}
}

func cmdHSet(c *ctx, argv [][]byte) Value {
	hmset := eqFold(argv[0], "hmset")
	if len(argv)%2 == 1 {
		if hmset {
			return ErrArity("hmset")
		}
		return ErrArity("hset")
	}
	it, h, errv := c.hashForWrite(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	h.tryConvert(argv[2:])
	var added int64
	for i := 2; i < len(argv); i += 2 {
		if h.set(string(argv[i]), string(argv[i+1])) {
			added++
		}
	}
	c.save(it)
	c.notify(NotifyHash, "hset", it.key)
	if hmset {
		return OK
	}
	return Int(added)
}

func cmdHSetNX(c *ctx, argv [][]byte) Value {
	it, h, ok, errv := c.getHash(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if ok {
		if _, exists := h.get(string(argv[2])); exists {
			return Zero
		}
		h = c.mutableHash(&it)
	} else {
		h = &hashObj{gen: c.ks.gen, lim: c.enc()}
		it = item{key: string(argv[1]), val: h}
	}
	h.tryConvert(argv[2:4])
	h.set(string(argv[2]), string(argv[3]))
	c.save(it)
	c.notify(NotifyHash, "hset", it.key)
	return One
}

func cmdHGet(c *ctx, argv [][]byte) Value {
	_, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return orNull(errv)
	}
	if v, found := h.get(string(argv[2])); found {
		return Bulk(b(v))
	}
	return Null
}

// orNull is errv if it is an error, else the null reply.
func orNull(errv Value) Value {
	if errv.Kind == KindError {
		return errv
	}
	return Null
}

func cmdHMGet(c *ctx, argv [][]byte) Value {
	_, h, ok, errv := c.getHash(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	out := make([]Value, len(argv)-2)
	for i, f := range argv[2:] {
		out[i] = Null
		if ok {
			if v, found := h.get(string(f)); found {
				out[i] = Bulk(b(v))
			}
		}
	}
	return Array(out)
}

func cmdHDel(c *ctx, argv [][]byte) Value {
	it, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	var n int64
	for _, f := range argv[2:] {
		if _, found := h.get(string(f)); !found {
			continue
		}
		h = c.mutableHash(&it)
		h.del(string(f))
		n++
	}
	if n > 0 {
		c.save(it)
		c.notify(NotifyHash, "hdel", it.key)
		c.notifyDeleted(it)
	}
	return Int(n)
}

// zeroOr is errv if it is an error, else 0.
func zeroOr(errv Value) Value {
	if errv.Kind == KindError {
		return errv
	}
	return Zero
}

func cmdHExists(c *ctx, argv [][]byte) Value {
	_, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	if _, found := h.get(string(argv[2])); found {
		return One
	}
	return Zero
}

func cmdHLen(c *ctx, argv [][]byte) Value {
	_, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	return Int(int64(h.len()))
}

func cmdHStrlen(c *ctx, argv [][]byte) Value {
	_, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	v, _ := h.get(string(argv[2]))
	return Int(int64(len(v)))
}

// cmdHGetAll serves HGETALL (a map), HKEYS and HVALS.
func cmdHGetAll(c *ctx, argv [][]byte) Value {
	keys, vals := !eqFold(argv[0], "hvals"), !eqFold(argv[0], "hkeys")
	kind := KindArray
	if keys && vals {
		kind = KindMap
	}
	_, h, ok, errv := c.getHash(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	out := []Value{}
	if ok {
		h.each(func(f, v string) bool {
			if keys {
				out = append(out, Bulk(b(f)))
			}
			if vals {
				out = append(out, Bulk(b(v)))
			}
			return true
		})
	}
	return Value{Kind: kind, Arr: out}
}

func cmdHIncrBy(c *ctx, argv [][]byte) Value {
	by, valid := parseInt(argv[3])
	if !valid {
		return errNotInt
	}
	it, h, errv := c.hashForWrite(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	var n int64
	if s, found := h.get(string(argv[2])); found {
		if n, valid = parseInt(b(s)); !valid {
			return Err("ERR hash value is not an integer")
		}
	}
	if (by < 0 && n < 0 && by < math.MinInt64-n) || (by > 0 && n > 0 && by > math.MaxInt64-n) {
		return errOverflow
	}
	n += by
	h.set(string(argv[2]), strconv.FormatInt(n, 10))
	c.save(it)
	c.notify(NotifyHash, "hincrby", it.key)
	return Int(n)
}

func cmdHIncrByFloat(c *ctx, argv [][]byte) Value {
	by, valid := parseLongDouble(string(argv[3]))
	if !valid {
		return errNotFloat
	}
	if by.IsInf() {
		return Err("ERR value is NaN or Infinity")
	}
	it, h, errv := c.hashForWrite(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	cur := new(big.Float).SetPrec(64)
	if s, found := h.get(string(argv[2])); found {
		if cur, valid = parseLongDouble(s); !valid {
			return Err("ERR hash value is not a float")
		}
	}
	if cur.IsInf() {
		return errNaNOrInf
	}
	sum := new(big.Float).SetPrec(64).Add(cur, by)
	if ldOverflows(sum) {
		return errNaNOrInf
	}
	v := formatLongDouble(sum)
	h.set(string(argv[2]), v)
	c.save(it)
	c.notify(NotifyHash, "hincrbyfloat", it.key)
	return BulkString(v)
}

func cmdHRandField(c *ctx, argv [][]byte) Value {
	if len(argv) == 2 {
		_, h, ok, errv := c.getHash(argv[1])
		if !ok {
			return orNull(errv)
		}
		f, _ := h.at(c.rand().IntN(h.len()))
		return Bulk(b(f))
	}
	n, errv := parseRandCount(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	withValues := len(argv) == 4
	if len(argv) > 4 || (withValues && !eqFold(argv[3], "withvalues")) {
		return errSyntax
	}
	if errv := checkRandCount(n, withValues); errv.Kind == KindError {
		return errv
	}
	_, h, ok, errv := c.getHash(argv[1])
	if !ok {
		return emptyOr(errv)
	}
	out := []Value{}
	add := func(i int) {
		f, v := h.at(i)
		out = append(out, Bulk(b(f)))
		if withValues {
			out = append(out, Bulk(b(v)))
		}
	}
	size := h.len()
	switch {
	case n == 0:
	case n < 0:
		for range -n {
			add(c.rand().IntN(size))
		}
	case n >= int64(size):
		for i := range size {
			add(i)
		}
	default:
		idx := sampleIndexes(c, size, int(n))
		if h.ht == nil {
			slices.Sort(idx) // a listpack yields its sample in order
		}
		for _, i := range idx {
			add(i)
		}
	}
	if withValues {
		return Pairs(out) // [field, value] arrays in RESP3, as Redis 7 answers
	}
	return Array(out)
}

// emptyOr is errv if it is an error, else an empty array.
func emptyOr(errv Value) Value {
	if errv.Kind == KindError {
		return errv
	}
	return Array([]Value{})
}

func cmdHScan(c *ctx, argv [][]byte) Value {
	h, cursor, opts, reply, done := parseCollScan[*hashObj](c, argv)
	if done {
		return reply
	}
	var out []Value
	emit := func(f, v string) {
		if opts.matches(f) {
			out = append(out, Bulk(b(f)), Bulk(b(v)))
		}
	}
	if h.ht == nil {
		h.each(func(f, v string) bool { emit(f, v); return true })
		return scanReply(0, out)
	}
	next := scanTree(h.ht, member{h: cursor}, func(m member) uint64 { return m.h }, opts.count,
		func(m member) { emit(m.key, m.val) })
	return scanReply(next, out)
}
