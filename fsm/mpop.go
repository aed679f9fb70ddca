package fsm

import "github.com/understudy/understudy/cmdtab"

// LMPOP and ZMPOP, and the pop a blocked BZPOPMIN/BZPOPMAX retries, after
// Redis 7.0's lmpopGenericCommand, zmpopGenericCommand and
// genericZpopCommand. The blocking forms (BLMPOP, BZMPOP, BZPOPMIN,
// BZPOPMAX) are the RESP layer's: it blocks on the leader and retries these.

// BZPopCommand is the write a blocked BZPOPMIN/BZPOPMAX retries: pop the
// lowest (MIN) or highest (MAX) member of the first non-empty sorted set
// among the keys. It answers [key, member, score], or a null array when
// every key is empty.
const BZPopCommand = "understudy.bzpop"

func mpopCommands() []decl {
	return []decl{
		{name: "lmpop", run: cmdLMPop, since: Level2},
		{name: "zmpop", run: cmdZMPop, since: Level2},
		{name: BZPopCommand, run: cmdBZPop, since: Level2,
			own: &cmdtab.Spec{Name: BZPopCommand, Arity: -3, Flags: cmdtab.Write, First: 2, Last: -1, Step: 1}},
	}
}

// MPopArgs parses the arguments of LMPOP and ZMPOP (zset) from numkeys at
// argv[at] on, as Redis does before it looks at any key: numkeys, the keys,
// the side (LEFT|RIGHT or MIN|MAX) and an optional COUNT. count is 1 when
// COUNT is not given. BLMPOP and BZMPOP parse their arguments with it too.
func MPopArgs(argv [][]byte, at int, zset bool) (keys [][]byte, first bool, count int64, errv Value) {
	numkeys, ok := parseInt(argv[at])
	if !ok || numkeys < 1 {
		return nil, false, 0, Err("ERR numkeys should be greater than 0")
	}
	where := at + 1 + int(min(numkeys, int64(len(argv))))
	if where >= len(argv) {
		return nil, false, 0, errSyntax
	}
	switch {
	case !zset && eqFold(argv[where], "left"), zset && eqFold(argv[where], "min"):
		first = true
	case !zset && eqFold(argv[where], "right"), zset && eqFold(argv[where], "max"):
	default:
		return nil, false, 0, errSyntax
	}
	count = -1
	for j := where + 1; j < len(argv); j++ {
		if count != -1 || !eqFold(argv[j], "count") || j+1 >= len(argv) {
			return nil, false, 0, errSyntax
		}
		j++
		if count, ok = parseInt(argv[j]); !ok || count < 1 {
			return nil, false, 0, Err("ERR count should be greater than 0")
		}
	}
	if count == -1 {
		count = 1
	}
	return argv[at+1 : where], first, count, Value{}
}

// cmdLMPop is LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]: up to
// count elements from the first non-empty list, as [key, [elements]].
func cmdLMPop(c *ctx, argv [][]byte) Value {
	keys, left, count, errv := MPopArgs(argv, 1, false)
	if errv.Kind == KindError {
		return errv
	}
	for _, k := range keys {
		it, _, ok, errv := c.getList(k)
		if errv.Kind == KindError {
			return errv
		}
		if !ok {
			continue
		}
		l := c.mutableList(&it)
		out := make([]Value, min(count, int64(l.len())))
		for i := range out {
			out[i] = BulkString(l.pop(left))
		}
		c.afterPop(it, l, left)
		return Array([]Value{BulkString(it.key), Array(out)})
	}
	return NullArray
}

// cmdZMPop is ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]: up to count
// members from the first non-empty sorted set, as [key, [[member, score]
// ...]] (the pairs nested in RESP2 too).
func cmdZMPop(c *ctx, argv [][]byte) Value {
	keys, low, count, errv := MPopArgs(argv, 1, true)
	if errv.Kind == KindError {
		return errv
	}
	key, es, errv := c.zpopFirst(keys, low, count)
	if errv.Kind == KindError || es == nil {
		return orNullArray(errv)
	}
	out := make([]Value, len(es))
	for i, e := range es {
		out[i] = Array([]Value{BulkString(e.m), Double(e.score)})
	}
	return Array([]Value{BulkString(key), Array(out)})
}

// understudy.bzpop MIN|MAX key [key ...]
func cmdBZPop(c *ctx, argv [][]byte) Value {
	var low bool
	switch {
	case eqFold(argv[1], "min"):
		low = true
	case eqFold(argv[1], "max"):
	default:
		return errSyntax
	}
	key, es, errv := c.zpopFirst(argv[2:], low, 1)
	if errv.Kind == KindError || es == nil {
		return orNullArray(errv)
	}
	return Array([]Value{BulkString(key), BulkString(es[0].m), Double(es[0].score)})
}

// orNullArray is errv if it is an error, else the null array.
func orNullArray(errv Value) Value {
	if errv.Kind == KindError {
		return errv
	}
	return NullArray
}

// zpopFirst pops up to count members from the first of keys that exists
// (genericZpopCommand), the lowest scores if low: WRONGTYPE if that key is
// not a sorted set; no entries if none exists.
func (c *ctx) zpopFirst(keys [][]byte, low bool, count int64) (string, []zent, Value) {
	for _, k := range keys {
		it, _, ok, errv := c.getZset(k)
		if errv.Kind == KindError {
			return "", nil, errv
		}
		if !ok {
			continue
		}
		return it.key, c.zpop(it, low, count), Value{}
	}
	return "", nil, Value{}
}

// zpop removes up to count members from the low or high end of the sorted
// set at it, with Redis's events: the pop, then "del" if it is gone.
func (c *ctx) zpop(it item, low bool, count int64) []zent {
	z := c.mutableZset(&it)
	var es []zent
	for int64(len(es)) < count && z.len() > 0 {
		var e zent
		if low {
			e, _ = z.byScore.Min()
		} else {
			e, _ = z.byScore.Max()
		}
		z.remove(e.m)
		es = append(es, e)
	}
	c.save(it)
	if low {
		c.notify(NotifyZset, "zpopmin", it.key)
	} else {
		c.notify(NotifyZset, "zpopmax", it.key)
	}
	c.notifyDeleted(it)
	return es
}
