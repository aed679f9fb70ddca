package fsm

import (
	"cmp"
	"slices"
)

// SINTER, SUNION, SDIFF and their STORE forms, after Redis 7.2's
// sinterGenericCommand and sunionDiffGenericCommand.

// setsOf looks up every key as a set (nil for a missing one), or WRONGTYPE.
func setsOf(c *ctx, keys [][]byte) ([]*setObj, Value) {
	sets := make([]*setObj, len(keys))
	for i, k := range keys {
		_, s, _, errv := c.getSet(k)
		if errv.Kind == KindError {
			return nil, errv
		}
		sets[i] = s
	}
	return sets, Value{}
}

// inter computes SINTER: the members of the smallest set found in all the
// others, in that set's order; limit > 0 stops early (SINTERCARD).
func inter(sets []*setObj, limit int) []string {
	for _, s := range sets {
		if s == nil {
			return nil
		}
	}
	sorted := slices.Clone(sets)
	slices.SortStableFunc(sorted, func(a, b *setObj) int { return cmp.Compare(a.len(), b.len()) })
	var out []string
	sorted[0].each(func(m string) bool {
		for _, o := range sorted[1:] {
			if o != sorted[0] && !o.has(m) {
				return true
			}
		}
		out = append(out, m)
		return limit == 0 || len(out) < limit
	})
	return out
}

func cmdSInter(c *ctx, argv [][]byte) Value {
	storeTo := []byte(nil)
	keys := argv[1:]
	if eqFold(argv[0], "sinterstore") {
		storeTo, keys = argv[1], argv[2:]
	}
	sets, errv := setsOf(c, keys)
	if errv.Kind == KindError {
		return errv
	}
	ms := inter(sets, 0)
	if storeTo == nil {
		return setReply(ms)
	}
	if len(ms) == 0 {
		c.store(storeTo, &setObj{}, NotifySet, "sinterstore")
		return Zero
	}
	{
		smallest := sets[0]
		for _, s := range sets {
			if s.len() < smallest.len() {
				smallest = s
			}
		}
		lim := c.enc()
		dst := &setObj{gen: c.ks.gen, lim: lim, enc: encListpack}
		if smallest.enc == encIntset || !lim.setListpack {
			dst.enc = encIntset // Redis 7.0 starts every result as an intset
		}
		for _, m := range ms {
			dst.add(m)
		}
		if lim.setListpack {
			dst.maybeToIntset()
		}
		c.store(storeTo, dst, NotifySet, "sinterstore")
	}
	return Int(int64(len(ms)))
}

func cmdSInterCard(c *ctx, argv [][]byte) Value {
	numkeys, ok := parseInt(argv[1])
	if !ok || numkeys < 1 {
		return Err("ERR numkeys should be greater than 0")
	}
	if numkeys > int64(len(argv)-2) {
		return Err("ERR Number of keys can't be greater than number of args")
	}
	var limit int64
	for j := 2 + int(numkeys); j < len(argv); j++ {
		if !eqFold(argv[j], "limit") || j+1 >= len(argv) {
			return errSyntax
		}
		j++
		var errv Value
		if limit, errv = parsePositive(argv[j], "ERR LIMIT can't be negative"); errv.Kind == KindError {
			return errv
		}
	}
	sets, errv := setsOf(c, argv[2:2+numkeys])
	if errv.Kind == KindError {
		return errv
	}
	return Int(int64(len(inter(sets, int(min(limit, 1<<62))))))
}

// unionDiff computes SUNION or SDIFF the way Redis builds it: into a new
// set, starting as an intset, so the result has the order and encoding
// Redis's would.
func unionDiff(c *ctx, sets []*setObj, diff bool) *setObj {
	dst := &setObj{gen: c.ks.gen, lim: c.enc(), enc: encIntset}
	if !diff {
		for _, s := range sets {
			if s != nil {
				s.each(func(m string) bool { dst.add(m); return true })
			}
		}
		return dst
	}
	first := sets[0]
	if first == nil {
		return dst
	}
	for _, s := range sets[1:] {
		if s == first {
			return dst
		}
	}
	one, two := 0, 0
	for _, s := range sets {
		if s != nil {
			one += first.len()
			two += s.len()
		}
	}
	if one/2 <= two {
		// Algorithm 1: members of the first set found in no other.
		first.each(func(m string) bool {
			for _, s := range sets[1:] {
				if s != nil && s.has(m) {
					return true
				}
			}
			dst.add(m)
			return true
		})
		return dst
	}
	// Algorithm 2: the first set, less every other.
	first.each(func(m string) bool { dst.add(m); return true })
	for _, s := range sets[1:] {
		if s != nil {
			s.each(func(m string) bool { dst.remove(m); return dst.len() > 0 })
		}
	}
	return dst
}

func cmdSUnionDiff(c *ctx, argv [][]byte) Value {
	name := lowerASCII(argv[0])
	diff := name[1] == 'd'
	storeTo := []byte(nil)
	keys := argv[1:]
	if len(name) > 6 { // sunionstore, sdiffstore
		storeTo, keys = argv[1], argv[2:]
	}
	sets, errv := setsOf(c, keys)
	if errv.Kind == KindError {
		return errv
	}
	dst := unionDiff(c, sets, diff)
	if storeTo == nil {
		return setReply(dst.members())
	}
	c.store(storeTo, dst, NotifySet, name)
	return Int(int64(dst.len()))
}
