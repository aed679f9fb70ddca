package fsm

import (
	"math"
	"slices"
)

// Sorted-set commands other than ranges (zrange.go) and the set algebra
// (zstore.go).

func zsetCommands() []decl {
	return []decl{
		{name: "zadd", run: cmdZAdd, since: 1},
		{name: "zincrby", run: cmdZAdd, since: 1},
		{name: "zrem", run: cmdZRem, since: 1},
		{name: "zscore", run: cmdZScore, since: 1},
		{name: "zmscore", run: cmdZMScore, since: 1},
		{name: "zcard", run: cmdZCard, since: 1},
		{name: "zrank", run: cmdZRank, since: 1},
		{name: "zrevrank", run: cmdZRank, since: 1},
		{name: "zpopmin", run: cmdZPop, since: 1},
		{name: "zpopmax", run: cmdZPop, since: 1},
		{name: "zrandmember", run: cmdZRandMember, since: 1},
		{name: "zscan", run: cmdZScan, since: 1},
	}
}

var errZNaN = Err("ERR resulting score is not a number (NaN)")

const (
	zNX = 1 << iota
	zXX
	zGT
	zLT
	zCH
	zINCR
)

// zadd applies one score to member m under ZADD's flags. It reports what
// happened; nan means an increment gave NaN (nothing changed).
func (z *zsetObj) zadd(m string, score float64, flags int) (added, updated, nop, nan bool, newScore float64) {
	cur, exists := z.score(m)
	if exists {
		if flags&zNX != 0 {
			return false, false, true, false, cur
		}
		if flags&zINCR != 0 {
			score += cur
			if math.IsNaN(score) {
				return false, false, false, true, 0
			}
		}
		if (flags&zLT != 0 && score >= cur) || (flags&zGT != 0 && score <= cur) {
			return false, false, true, false, cur
		}
		if score != cur {
			z.set(m, score)
			updated = true
		}
		return false, updated, false, false, score
	}
	if flags&zXX != 0 {
		return false, false, true, false, 0
	}
	z.set(m, score)
	return true, false, false, false, score
}

// cmdZAdd serves ZADD and ZINCRBY, which is ZADD with INCR and so takes
// the same options (ZINCRBY z NX 1 has one argument too few).
func cmdZAdd(c *ctx, argv [][]byte) Value {
	flags, i := 0, 2
	if eqFold(argv[0], "zincrby") {
		flags = zINCR
	}
	for ; i < len(argv); i++ {
		f := 0
		switch {
		case eqFold(argv[i], "nx"):
			f = zNX
		case eqFold(argv[i], "xx"):
			f = zXX
		case eqFold(argv[i], "gt"):
			f = zGT
		case eqFold(argv[i], "lt"):
			f = zLT
		case eqFold(argv[i], "ch"):
			f = zCH
		case eqFold(argv[i], "incr"):
			f = zINCR
		}
		if f == 0 {
			break
		}
		flags |= f
	}
	return zaddGeneric(c, argv[1], argv[i:], flags)
}

func zaddGeneric(c *ctx, key []byte, pairs [][]byte, flags int) Value {
	has := func(f int) bool { return flags&f != 0 }
	if len(pairs) == 0 || len(pairs)%2 != 0 {
		return errSyntax
	}
	n := len(pairs) / 2
	if has(zNX) && has(zXX) {
		return Err("ERR XX and NX options at the same time are not compatible")
	}
	if (has(zGT) && has(zNX)) || (has(zLT) && has(zNX)) || (has(zGT) && has(zLT)) {
		return Err("ERR GT, LT, and/or NX options at the same time are not compatible")
	}
	if has(zINCR) && n > 1 {
		return Err("ERR INCR option supports a single increment-element pair")
	}
	scores := make([]float64, n)
	for j := range scores {
		var ok bool
		if scores[j], ok = parseScore(pairs[2*j]); !ok {
			return errNotFloat
		}
	}
	var z *zsetObj
	it, _, ok, errv := c.getZset(key)
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		if has(zXX) {
			if has(zINCR) {
				return Null
			}
			return Zero
		}
		z = newZset(c.enc(), c.ks.gen, n, len(pairs[1]))
		it = item{key: string(key), val: z}
	} else {
		z = c.mutableZset(&it)
		if !z.skiplist && n > int(z.lim.zsetEntries) {
			z.skiplist = true
		}
	}
	var added, updated, processed int64
	var score float64
	for j := range n {
		a, u, nop, nan, s := z.zadd(string(pairs[2*j+1]), scores[j], flags)
		if nan {
			if added+updated > 0 {
				c.save(it)
				c.notifyZadd(it.key, flags)
			}
			return errZNaN
		}
		if a {
			added++
		}
		if u {
			updated++
		}
		if !nop {
			processed++
		}
		score = s
	}
	if added+updated > 0 {
		c.save(it)
		c.notifyZadd(it.key, flags)
	}
	if has(zINCR) {
		if processed > 0 {
			return Double(score)
		}
		return Null
	}
	if has(zCH) {
		return Int(added + updated)
	}
	return Int(added)
}

// notifyZadd is ZADD's event: "zincr" with INCR (ZINCRBY), else "zadd".
func (c *ctx) notifyZadd(key string, flags int) {
	if flags&zINCR != 0 {
		c.notify(NotifyZset, "zincr", key)
	} else {
		c.notify(NotifyZset, "zadd", key)
	}
}

func cmdZRem(c *ctx, argv [][]byte) Value {
	it, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	var n int64
	for _, m := range argv[2:] {
		if _, found := z.score(string(m)); !found {
			continue
		}
		z = c.mutableZset(&it)
		z.remove(string(m))
		n++
	}
	if n > 0 {
		c.save(it)
		c.notify(NotifyZset, "zrem", it.key)
		c.notifyDeleted(it)
	}
	return Int(n)
}

func cmdZScore(c *ctx, argv [][]byte) Value {
	_, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return orNull(errv)
	}
	if s, found := z.score(string(argv[2])); found {
		return Double(s)
	}
	return Null
}

func cmdZMScore(c *ctx, argv [][]byte) Value {
	_, z, ok, errv := c.getZset(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	out := make([]Value, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = Null
		if ok {
			if s, found := z.score(string(m)); found {
				out[i] = Double(s)
			}
		}
	}
	return Array(out)
}

func cmdZCard(c *ctx, argv [][]byte) Value {
	_, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	return Int(int64(z.len()))
}

// cmdZRank serves ZRANK and ZREVRANK (Redis 7.0: no WITHSCORE).
func cmdZRank(c *ctx, argv [][]byte) Value {
	_, z, ok, errv := c.getZset(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return Null
	}
	s, found := z.score(string(argv[2]))
	if !found {
		return Null
	}
	r := z.rank(zent{score: s, m: string(argv[2])})
	if eqFold(argv[0], "zrevrank") {
		r = z.len() - 1 - r
	}
	return Int(int64(r))
}

// withScores is the members, or with scores the pairs reply (flat in RESP2,
// [member, score] arrays in RESP3).
func withScores(es []zent, scores bool) Value {
	out := make([]Value, 0, len(es)*2)
	for _, e := range es {
		out = append(out, BulkString(e.m))
		if scores {
			out = append(out, Double(e.score))
		}
	}
	if scores {
		return Pairs(out)
	}
	return Array(out)
}

func cmdZPop(c *ctx, argv [][]byte) Value {
	if len(argv) > 3 {
		return errSyntax
	}
	count := int64(1)
	if len(argv) == 3 {
		var errv Value
		if count, errv = parsePositive(argv[2], mustBePositive); errv.Kind == KindError {
			return errv
		}
	}
	it, _, ok, errv := c.getZset(argv[1])
	if !ok || count == 0 {
		return emptyOr(errv)
	}
	es := c.zpop(it, !eqFold(argv[0], "zpopmax"), count)
	v := withScores(es, true)
	if len(argv) == 2 {
		// Without a count Redis 7 answers [member, score] flat in RESP3 too.
		v.Kind = KindArray
	}
	return v
}

func cmdZRandMember(c *ctx, argv [][]byte) Value {
	if len(argv) == 2 {
		_, z, ok, errv := c.getZset(argv[1])
		if !ok {
			return orNull(errv)
		}
		e, _ := z.byScore.GetAt(c.rand().IntN(z.len()))
		return BulkString(e.m)
	}
	n, errv := parseRandCount(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	scores := len(argv) == 4
	if len(argv) > 4 || (scores && !eqFold(argv[3], "withscores")) {
		return errSyntax
	}
	if errv := checkRandCount(n, scores); errv.Kind == KindError {
		return errv
	}
	_, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return emptyOr(errv)
	}
	size := z.len()
	var es []zent
	at := func(i int) zent { e, _ := z.byScore.GetAt(i); return e }
	switch {
	case n == 0:
	case n < 0:
		for range -n {
			es = append(es, at(c.rand().IntN(size)))
		}
	case n >= int64(size):
		// Redis walks a sorted set from the top here.
		z.byScore.Reverse(func(e zent) bool { es = append(es, e); return true })
	default:
		idx := sampleIndexes(c, size, int(n))
		if !z.skiplist {
			slices.Sort(idx)
		}
		for _, i := range idx {
			es = append(es, at(i))
		}
	}
	return withScores(es, scores)
}

func cmdZScan(c *ctx, argv [][]byte) Value {
	z, cursor, opts, reply, done := parseCollScan[*zsetObj](c, argv)
	if done {
		return reply
	}
	var out []Value
	if !z.skiplist {
		z.byScore.Scan(func(e zent) bool {
			if opts.matches(e.m) {
				out = append(out, BulkString(e.m), BulkString(FormatFloat(e.score)))
			}
			return true
		})
		return scanReply(0, out)
	}
	next := scanTree(z.byMember, zent{h: cursor}, func(e zent) uint64 { return e.h }, opts.count, func(e zent) {
		if opts.matches(e.m) {
			out = append(out, BulkString(e.m), BulkString(formatScoreG(e.score)))
		}
	})
	return scanReply(next, out)
}
