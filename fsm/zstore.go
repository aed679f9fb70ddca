package fsm

import (
	"cmp"
	"math"
	"slices"
)

// ZUNIONSTORE and ZINTERSTORE, after Redis's zunionInterDiffGenericCommand.

func zstoreCommands() []*Command {
	return []*Command{
		{Name: "zunionstore", Arity: -4, Flags: FlagWrite, First: 1, Last: 1, Step: 1, run: cmdZStore},
		{Name: "zinterstore", Arity: -4, Flags: FlagWrite, First: 1, Last: 1, Step: 1, run: cmdZStore},
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

func cmdZStore(c *ctx, argv [][]byte) Value {
	name := lowerASCII(argv[0])
	union := name == "zunionstore"
	setnum, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	if setnum < 1 {
		return Err("ERR at least 1 input key is needed for '" + name + "' command")
	}
	if setnum > int64(len(argv)-3) {
		return errSyntax
	}
	src := make([]zsrc, setnum)
	for i := range src {
		it, exists := c.get(argv[3+i])
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
	agg := aggSum
	for j := 3 + int(setnum); j < len(argv); {
		remaining := len(argv) - j
		switch {
		case remaining >= int(setnum)+1 && eqFold(argv[j], "weights"):
			j++
			for i := range src {
				w, ok := parseScore(argv[j])
				if !ok {
					return Err("ERR weight value is not a float")
				}
				src[i].weight = w
				j++
			}
		case remaining >= 2 && eqFold(argv[j], "aggregate"):
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
		default:
			return errSyntax
		}
	}
	slices.SortStableFunc(src, func(a, b zsrc) int { return cmp.Compare(a.len(), b.len()) })
	weighted := func(score, w float64) float64 {
		v := score * w
		if math.IsNaN(v) {
			v = 0
		}
		return v
	}
	dst := newZset(c.ks.gen, zsetMaxListpackEntries+1, 0) // built as a skiplist
	if union {
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
	} else if src[0].len() > 0 {
		src[0].each(func(m string, score float64) {
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
			dst.set(m, t)
		})
	}
	if dst.len() <= zsetMaxListpackEntries && dst.maxElemLen() <= zsetMaxListpackValue {
		dst.toListpack()
	}
	c.store(argv[1], dst)
	return Int(int64(dst.len()))
}
