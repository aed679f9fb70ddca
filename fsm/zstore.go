package fsm

import (
	"cmp"
	"math"
	"slices"
)

// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD, after Redis
// 7.0's zunionInterDiffGenericCommand.

func zstoreCommands() []decl {
	return []decl{
		{name: "zunionstore", run: cmdZSetOp, since: 1},
		{name: "zinterstore", run: cmdZSetOp, since: 1},
		{name: "zdiffstore", run: cmdZSetOp, since: Level2},
		{name: "zunion", run: cmdZSetOp, since: Level2},
		{name: "zinter", run: cmdZSetOp, since: Level2},
		{name: "zdiff", run: cmdZSetOp, since: Level2},
		{name: "zintercard", run: cmdZSetOp, since: Level2},
	}
}

// zsrc is one input: a sorted set, a set (every score 1), or nothing.
type zsrc struct {
	z      *zsetObj
	s      *setObj
	weight float64
}

func (s zsrc) len() int {
	switch {
	case s.z != nil:
		return s.z.len()
	case s.s != nil:
		return s.s.len()
	}
	return 0
}

func (s zsrc) each(fn func(m string, score float64)) {
	switch {
	case s.z != nil:
		s.z.byScore.Scan(func(e zent) bool { fn(e.m, e.score); return true })
	case s.s != nil:
		s.s.each(func(m string) bool { fn(m, 1); return true })
	}
}

func (s zsrc) find(m string) (float64, bool) {
	switch {
	case s.z != nil:
		return s.z.score(m)
	case s.s != nil && s.s.has(m):
		return 1, true
	}
	return 0, false
}

func (s zsrc) same(o zsrc) bool {
	return (s.z != nil && s.z == o.z) || (s.s != nil && s.s == o.s)
}

const (
	aggSum = iota
	aggMin
	aggMax
)

func aggregate(t *float64, v float64, agg int) {
	switch agg {
	case aggSum:
		*t += v
		if math.IsNaN(*t) { // inf + -inf
			*t = 0
		}
	case aggMin:
		if v < *t {
			*t = v
		}
	case aggMax:
		if v > *t {
			*t = v
		}
	}
}

const (
	opUnion = iota
	opInter
	opDiff
)

// cmdZSetOp serves every command of the family: name says the operation,
// whether it stores (argv[1] the destination, numkeys after it), replies
// WITH SCORES if asked, or only counts (ZINTERCARD).
func cmdZSetOp(c *ctx, argv [][]byte) Value {
	name := lowerASCII(argv[0])
	op := opUnion
	switch name[1:4] {
	case "int":
		op = opInter
	case "dif":
		op = opDiff
	}
	var dstKey []byte
	at := 1 // numkeys
	if len(name) > 8 && name[len(name)-5:] == "store" {
		dstKey, at = argv[1], 2
	}
	cardOnly := name == "zintercard"
	setnum, ok := parseInt(argv[at])
	if !ok {
		return errNotInt
	}
	if setnum < 1 {
		return Err("ERR at least 1 input key is needed for '" + name + "' command")
	}
	if setnum > int64(len(argv)-at-1) {
		return errSyntax
	}
	src := make([]zsrc, setnum)
	for i := range src {
		it, exists := c.get(argv[at+1+i])
		src[i].weight = 1
		if !exists {
			continue
		}
		switch v := it.val.(type) {
		case *zsetObj:
			src[i].z = v
		case *setObj:
			src[i].s = v
		default:
			return errWrongType
		}
	}
	agg, scores, limit := aggSum, false, int64(0)
	for j := at + 1 + int(setnum); j < len(argv); {
		remaining := len(argv) - j
		switch {
		case op != opDiff && !cardOnly && remaining >= int(setnum)+1 && eqFold(argv[j], "weights"):
			j++
			for i := range src {
				w, ok := parseScore(argv[j])
				if !ok {
					return Err("ERR weight value is not a float")
				}
				src[i].weight = w
				j++
			}
		case op != opDiff && !cardOnly && remaining >= 2 && eqFold(argv[j], "aggregate"):
			switch a := argv[j+1]; {
			case eqFold(a, "sum"):
				agg = aggSum
			case eqFold(a, "min"):
				agg = aggMin
			case eqFold(a, "max"):
				agg = aggMax
			default:
				return errSyntax
			}
			j += 2
		case dstKey == nil && !cardOnly && eqFold(argv[j], "withscores"):
			scores = true
			j++
		case cardOnly && remaining >= 2 && eqFold(argv[j], "limit"):
			var errv Value
			if limit, errv = parsePositive(argv[j+1], "ERR LIMIT can't be negative"); errv.Kind == KindError {
				return errv
			}
			j += 2
		default:
			return errSyntax
		}
	}
	if op != opDiff {
		slices.SortStableFunc(src, func(a, b zsrc) int { return cmp.Compare(a.len(), b.len()) })
	}
	if cardOnly {
		return Int(zinterCard(src, limit))
	}
	lim := c.enc()
	dst := newZset(lim, c.ks.gen, lim.zsetEntries+1, 0) // built as a skiplist
	switch op {
	case opUnion:
		zunion(dst, src, agg)
	case opInter:
		zinter(dst, src, agg)
	case opDiff:
		zdiff(dst, src)
	}
	if dstKey == nil {
		var es []zent
		dst.byScore.Scan(func(e zent) bool { es = append(es, e); return true })
		return withScores(es, scores)
	}
	if dst.len() <= lim.zsetEntries && dst.maxElemLen() <= lim.zsetValue {
		dst.toListpack()
	}
	c.store(dstKey, dst, NotifyZset, name)
	return Int(int64(dst.len()))
}

func weighted(score, w float64) float64 {
	v := score * w
	if math.IsNaN(v) {
		v = 0
	}
	return v
}

// zunion adds every member of src to dst, its scores aggregated.
func zunion(dst *zsetObj, src []zsrc, agg int) {
	acc := map[string]float64{}
	var order []string
	for _, s := range src {
		s.each(func(m string, score float64) {
			v := weighted(score, s.weight)
			if t, seen := acc[m]; seen {
				aggregate(&t, v, agg)
				acc[m] = t
			} else {
				acc[m] = v
				order = append(order, m)
			}
		})
	}
	for _, m := range order {
		dst.set(m, acc[m])
	}
}

// interEach calls fn for each member of the smallest input (src is sorted
// by size) found in every other, with its aggregated score, until fn
// returns false.
func interEach(src []zsrc, agg int, fn func(m string, score float64) bool) {
	if src[0].len() == 0 {
		return
	}
	stop := false
	src[0].each(func(m string, score float64) {
		if stop {
			return
		}
		t := weighted(score, src[0].weight)
		for _, s := range src[1:] {
			var v float64
			if s.same(src[0]) {
				v = score * s.weight
			} else if x, found := s.find(m); found {
				v = x * s.weight
			} else {
				return
			}
			aggregate(&t, v, agg)
		}
		stop = !fn(m, t)
	})
}

func zinter(dst *zsetObj, src []zsrc, agg int) {
	interEach(src, agg, func(m string, score float64) bool { dst.set(m, score); return true })
}

// zinterCard counts the intersection, stopping at limit (0: no limit).
func zinterCard(src []zsrc, limit int64) int64 {
	var n int64
	interEach(src, aggSum, func(string, float64) bool {
		n++
		return limit == 0 || n < limit
	})
	return n
}

// zdiff adds the members of the first input found in no other, with their
// scores (weights do not apply).
func zdiff(dst *zsetObj, src []zsrc) {
	for _, s := range src[1:] {
		if s.same(src[0]) {
			return
		}
	}
	src[0].each(func(m string, score float64) {
		for _, s := range src[1:] {
			if _, found := s.find(m); found {
				return
			}
		}
		dst.set(m, score)
	})
}
