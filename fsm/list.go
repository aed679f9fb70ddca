package fsm

import (
	"math"

	"github.com/understudy/understudy/fsm/rdb"
)

// listObj is a list: a ring buffer of elements, plus what Redis 7.2 needs
// to pick its encoding: the size the elements would take as one listpack.
// A list becomes a quicklist when a write would take that listpack past
// 8 KiB, and goes back to a listpack when a removal leaves it at half that.
// (Redis goes back only when the quicklist is down to a single node; node
// boundaries are not modelled, see DESIGN.md.)
type listObj struct {
	gen   uint64
	d     deque
	bytes int // lpEmptyBytes + Σ rdb.ListpackEntrySize(element)
	quick bool
}

func newList(gen uint64) *listObj { return &listObj{gen: gen, bytes: lpEmptyBytes} }

func (l *listObj) len() int { return l.d.n }

// grow is Redis's listTypeTryConversionAppend: a listpack that would pass
// the size limit with add more bytes (the raw lengths of the new elements)
// becomes a quicklist before they are added.
func (l *listObj) grow(add int) {
	if !l.quick && l.bytes+add > listMaxListpackBytes {
		l.quick = true
	}
}

// shrink is Redis's conversion back after elements were removed.
func (l *listObj) shrink() {
	if l.quick && l.bytes <= listMaxListpackBytes/2 {
		l.quick = false
	}
}

func (l *listObj) push(s string, left bool) {
	if left {
		l.d.pushFront(s)
	} else {
		l.d.pushBack(s)
	}
	l.bytes += rdb.ListpackEntrySize(s)
}

func (l *listObj) pop(left bool) string {
	var s string
	if left {
		s = l.d.popFront()
	} else {
		s = l.d.popBack()
	}
	l.bytes -= rdb.ListpackEntrySize(s)
	return s
}

func (l *listObj) set(i int, s string) {
	l.bytes += rdb.ListpackEntrySize(s) - rdb.ListpackEntrySize(l.d.at(i))
	l.d.set(i, s)
}

// replace rebuilds the list from items (for removals and inserts inside it).
func (l *listObj) replace(items []string) {
	l.d = deque{}
	l.bytes = lpEmptyBytes
	for _, s := range items {
		l.push(s, false)
	}
}

func (l *listObj) clone(gen uint64) *listObj {
	return &listObj{gen: gen, d: l.d.clone(), bytes: l.bytes, quick: l.quick}
}

// mutableList makes it's list safe to change (see mutableHash).
func (c *ctx) mutableList(it *item) *listObj {
	l := it.val.(*listObj)
	if l.gen != c.ks.gen {
		l = l.clone(c.ks.gen)
		it.val = l
		c.ks.swap(*it)
	}
	return l
}

func (c *ctx) getList(key []byte) (item, *listObj, bool, Value) {
	return getTyped[*listObj](c, key)
}

func listCommands() []decl {
	return []decl{
		{name: "lpush", run: cmdPush, since: 1},
		{name: "rpush", run: cmdPush, since: 1},
		{name: "lpushx", run: cmdPush, since: 1},
		{name: "rpushx", run: cmdPush, since: 1},
		{name: "lpop", run: cmdPop, since: 1},
		{name: "rpop", run: cmdPop, since: 1},
		{name: "llen", run: cmdLLen, since: 1},
		{name: "lrange", run: cmdLRange, since: 1},
		{name: "lindex", run: cmdLIndex, since: 1},
		{name: "lset", run: cmdLSet, since: 1},
		{name: "linsert", run: cmdLInsert, since: 1},
		{name: "lrem", run: cmdLRem, since: 1},
		{name: "ltrim", run: cmdLTrim, since: 1},
		{name: "lpos", run: cmdLPos, since: 1},
		{name: "lmove", run: cmdLMove, since: 1},
		{name: "rpoplpush", run: cmdLMove, since: 1},
	}
}

func cmdPush(c *ctx, argv [][]byte) Value {
	left := lower(argv[0][0]) == 'l'
	onlyExisting := len(argv[0]) == 6 // lpushx, rpushx
	var l *listObj
	it, _, ok, errv := c.getList(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		if onlyExisting {
			return Zero
		}
		l = newList(c.ks.gen)
		it = item{key: string(argv[1]), val: l}
	} else {
		l = c.mutableList(&it)
	}
	add := 0
	for _, a := range argv[2:] {
		add += len(a)
	}
	l.grow(add)
	for _, a := range argv[2:] {
		l.push(string(a), left)
	}
	c.save(it)
	c.notify(NotifyList, sideEvent(left, "push"), it.key)
	return Int(int64(l.len()))
}

func cmdPop(c *ctx, argv [][]byte) Value {
	left := lower(argv[0][0]) == 'l'
	if len(argv) > 3 {
		return ErrArity(lowerASCII(argv[0]))
	}
	hasCount := len(argv) == 3
	var count int64
	if hasCount {
		var errv Value
		if count, errv = parsePositive(argv[2], mustBePositive); errv.Kind == KindError {
			return errv
		}
	}
	it, _, ok, errv := c.getList(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		if hasCount {
			return NullArray
		}
		return Null
	}
	if hasCount && count == 0 {
		return Array([]Value{})
	}
	l := c.mutableList(&it)
	if !hasCount {
		v := l.pop(left)
		c.afterPop(it, l, left)
		return BulkString(v)
	}
	n := min(count, int64(l.len()))
	out := make([]Value, n)
	for i := range out {
		out[i] = BulkString(l.pop(left))
	}
	c.afterPop(it, l, left)
	return Array(out)
}

// afterRemove saves a list that lost elements: deleted if empty, else
// perhaps back to a listpack.
func (c *ctx) afterRemove(it item, l *listObj) {
	if l.len() > 0 {
		l.shrink()
	}
	c.save(it)
}

// afterPop is afterRemove for a pop from one end, with Redis's events: the
// pop, then "del" if the list is gone.
func (c *ctx) afterPop(it item, l *listObj, left bool) {
	c.afterRemove(it, l)
	c.notify(NotifyList, sideEvent(left, "pop"), it.key)
	c.notifyDeleted(it)
}

// sideEvent is a list event's name: lpush, rpop ...
func sideEvent(left bool, op string) string {
	if left {
		return "l" + op
	}
	return "r" + op
}

func cmdLLen(c *ctx, argv [][]byte) Value {
	_, l, ok, errv := c.getList(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	return Int(int64(l.len()))
}

// listRange clamps start and end (inclusive, negative from the end) to a
// list of n elements as LRANGE and LTRIM do; empty reports no elements.
func listRange(start, end int64, n int) (int, int, bool) {
	ln := int64(n)
	if start < 0 {
		start += ln
	}
	if end < 0 {
		end += ln
	}
	if start < 0 {
		start = 0
	}
	if start > end || start >= ln {
		return 0, 0, true
	}
	if end >= ln {
		end = ln - 1
	}
	return int(start), int(end), false
}

func cmdLRange(c *ctx, argv [][]byte) Value {
	start, ok1 := parseInt(argv[2])
	end, ok2 := parseInt(argv[3])
	if !ok1 || !ok2 {
		return errNotInt
	}
	_, l, ok, errv := c.getList(argv[1])
	if !ok {
		return emptyOr(errv)
	}
	s, e, empty := listRange(start, end, l.len())
	if empty {
		return Array([]Value{})
	}
	out := make([]Value, 0, e-s+1)
	for i := s; i <= e; i++ {
		out = append(out, BulkString(l.d.at(i)))
	}
	return Array(out)
}

// listIndex resolves a possibly negative index; ok is false out of range.
func listIndex(i int64, n int) (int, bool) {
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

func cmdLIndex(c *ctx, argv [][]byte) Value {
	_, l, ok, errv := c.getList(argv[1])
	if !ok {
		return orNull(errv)
	}
	i, valid := parseInt(argv[2])
	if !valid {
		return errNotInt
	}
	idx, in := listIndex(i, l.len())
	if !in {
		return Null
	}
	return BulkString(l.d.at(idx))
}

func cmdLSet(c *ctx, argv [][]byte) Value {
	var l *listObj
	it, _, ok, errv := c.getList(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return errNoSuchKey
	}
	i, valid := parseInt(argv[2])
	if !valid {
		return errNotInt
	}
	l = c.mutableList(&it)
	l.grow(len(argv[3]))
	idx, in := listIndex(i, l.len())
	if !in {
		return Err("ERR index out of range")
	}
	l.set(idx, string(argv[3]))
	l.shrink()
	c.save(it)
	c.notify(NotifyList, "lset", it.key)
	return OK
}

func cmdLInsert(c *ctx, argv [][]byte) Value {
	var after bool
	switch {
	case eqFold(argv[2], "after"):
		after = true
	case eqFold(argv[2], "before"):
	default:
		return errSyntax
	}
	var l *listObj
	it, _, ok, errv := c.getList(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	l = c.mutableList(&it)
	l.grow(len(argv[4]))
	pivot := string(argv[3])
	for i := range l.len() {
		if l.d.at(i) != pivot {
			continue
		}
		if after {
			i++
		}
		items := l.d.items()
		items = append(items[:i], append([]string{string(argv[4])}, items[i:]...)...)
		l.replace(items)
		c.save(it)
		c.notify(NotifyList, "linsert", it.key)
		return Int(int64(l.len()))
	}
	return Int(-1)
}

func cmdLRem(c *ctx, argv [][]byte) Value {
	count, valid := parseInt(argv[2])
	if !valid {
		return errNotInt
	}
	it, l, ok, errv := c.getList(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	target := string(argv[3])
	items := l.d.items()
	keep := make([]bool, len(items))
	removed := int64(0)
	limit := count
	if limit < 0 {
		limit = -limit // MinInt64 stays negative: no limit, like 0
	}
	for j := range items {
		i := j
		if count < 0 {
			i = len(items) - 1 - j
		}
		if items[i] == target && (limit <= 0 || removed < limit) {
			removed++
			continue
		}
		keep[i] = true
	}
	if removed == 0 {
		return Zero
	}
	kept := items[:0]
	for i, s := range items {
		if keep[i] {
			kept = append(kept, s)
		}
	}
	l = c.mutableList(&it)
	l.replace(kept)
	c.afterRemove(it, l)
	c.notify(NotifyList, "lrem", it.key)
	c.notifyDeleted(it)
	return Int(removed)
}

func cmdLTrim(c *ctx, argv [][]byte) Value {
	start, ok1 := parseInt(argv[2])
	end, ok2 := parseInt(argv[3])
	if !ok1 || !ok2 {
		return errNotInt
	}
	var l *listObj
	it, _, ok, errv := c.getList(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return OK
	}
	l = c.mutableList(&it)
	s, e, empty := listRange(start, end, l.len())
	if empty {
		s, e = l.len(), l.len()-1
	}
	for range s {
		l.pop(true)
	}
	for l.len() > e-s+1 {
		l.pop(false)
	}
	c.afterRemove(it, l)
	c.notify(NotifyList, "ltrim", it.key)
	c.notifyDeleted(it)
	return OK
}

func cmdLPos(c *ctx, argv [][]byte) Value {
	rank, count, maxlen := int64(1), int64(-1), int64(0)
	for j := 3; j < len(argv); j++ {
		more := j+1 < len(argv)
		var errv Value
		switch {
		case eqFold(argv[j], "rank") && more:
			j++
			var ok bool
			if rank, ok = parseInt(argv[j]); !ok {
				return errNotInt
			}
			if rank == 0 {
				return Err("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list")
			}
		case eqFold(argv[j], "count") && more:
			j++
			count, errv = parsePositive(argv[j], "ERR COUNT can't be negative")
		case eqFold(argv[j], "maxlen") && more:
			j++
			maxlen, errv = parsePositive(argv[j], "ERR MAXLEN can't be negative")
		default:
			return errSyntax
		}
		if errv.Kind == KindError {
			return errv
		}
	}
	fromTail := rank < 0
	if rank == math.MinInt64 {
		// Redis negates it and gets it back: every match counts, and
		// COUNT never stops the walk.
		rank, count = 1, min(count, 0)
	} else if rank < 0 {
		rank = -rank
	}
	_, l, ok, errv := c.getList(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		if count != -1 {
			return Array([]Value{})
		}
		return Null
	}
	n := l.len()
	out := []Value{}
	matches := int64(0)
	for idx := 0; idx < n && (maxlen == 0 || int64(idx) < maxlen); idx++ {
		pos := idx
		if fromTail {
			pos = n - 1 - idx
		}
		if l.d.at(pos) != string(argv[2]) {
			continue
		}
		matches++
		if matches < rank {
			continue
		}
		if count == -1 {
			return Int(int64(pos))
		}
		out = append(out, Int(int64(pos)))
		if count > 0 && matches-rank+1 >= count {
			break
		}
	}
	if count == -1 {
		return Null
	}
	return Array(out)
}

func cmdLMove(c *ctx, argv [][]byte) Value {
	fromLeft, toLeft := false, true // RPOPLPUSH
	if len(argv) == 5 {
		var ok1, ok2 bool
		fromLeft, ok1 = parseSide(argv[3])
		toLeft, ok2 = parseSide(argv[4])
		if !ok1 || !ok2 {
			return errSyntax
		}
	}
	src, _, ok, errv := c.getList(argv[1])
	if !ok {
		return orNull(errv)
	}
	if errv := checkType[*listObj](c, argv[2]); errv.Kind == KindError {
		return errv
	}
	sl := c.mutableList(&src)
	v := sl.pop(fromLeft)
	// Push onto the destination, which may be the source itself.
	var dst item
	var dl *listObj
	if d, _, exists, _ := c.getList(argv[2]); string(argv[2]) == src.key {
		dst, dl = src, sl
	} else if exists {
		dl = c.mutableList(&d)
		dst = d
	} else {
		dl = newList(c.ks.gen)
		dst = item{key: string(argv[2]), val: dl}
	}
	dl.grow(len(v))
	dl.push(v, toLeft)
	c.save(dst)
	c.notify(NotifyList, sideEvent(toLeft, "push"), dst.key)
	if dst.key != src.key {
		c.afterPop(src, sl, fromLeft)
	} else {
		sl.shrink()
		c.notify(NotifyList, sideEvent(fromLeft, "pop"), src.key)
	}
	return BulkString(v)
}

func parseSide(a []byte) (left, ok bool) {
	switch {
	case eqFold(a, "left"):
		return true, true
	case eqFold(a, "right"):
		return false, true
	}
	return false, false
}
