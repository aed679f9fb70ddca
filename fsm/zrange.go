package fsm

import "math"

// Ranges over sorted sets: by rank, by score and by member (lex).

func zrangeCommands() []decl {
	return []decl{
		{name: "zrange", run: cmdZRange, since: 1},
		{name: "zrevrange", run: cmdZRange, since: 1},
		{name: "zrangebyscore", run: cmdZRange, since: 1},
		{name: "zrevrangebyscore", run: cmdZRange, since: 1},
		{name: "zrangebylex", run: cmdZRange, since: 1},
		{name: "zrevrangebylex", run: cmdZRange, since: 1},
		{name: "zrangestore", run: cmdZRangeStore, since: Level2},
		{name: "zcount", run: cmdZCount, since: 1},
		{name: "zlexcount", run: cmdZCount, since: 1},
		{name: "zremrangebyrank", run: cmdZRemRange, since: 1},
		{name: "zremrangebyscore", run: cmdZRemRange, since: 1},
		{name: "zremrangebylex", run: cmdZRemRange, since: 1},
	}
}

const (
	byAuto = iota
	byRank
	byScore
	byLex
)

var (
	errMinMaxFloat = Err("ERR min or max is not a float")
	errMinMaxLex   = Err("ERR min or max not valid string range item")
)

// scoreRange is a parsed [min, max] score interval; ex marks "(".
type scoreRange struct {
	min, max     float64
	minEx, maxEx bool
}

// parseRangeScore reads one end as Redis's zslParseRange does, with strtod:
// leading space is allowed, "" reads as 0, and the number may end at a NUL.
func parseRangeScore(a []byte) (v float64, ex bool, ok bool) {
	s := string(a)
	if len(s) > 0 && s[0] == '(' {
		s, ex = s[1:], true
	}
	v, n, _ := strtod(s)
	if (n != len(s) && s[n] != 0) || math.IsNaN(v) {
		return 0, false, false
	}
	return v, ex, true
}

func parseScoreRange(min, max []byte) (scoreRange, bool) {
	var r scoreRange
	var ok1, ok2 bool
	r.min, r.minEx, ok1 = parseRangeScore(min)
	r.max, r.maxEx, ok2 = parseRangeScore(max)
	return r, ok1 && ok2
}

func (r scoreRange) empty() bool {
	return r.min > r.max || (r.min == r.max && (r.minEx || r.maxEx))
}

func (r scoreRange) gteMin(s float64) bool {
	if r.minEx {
		return s > r.min
	}
	return s >= r.min
}

func (r scoreRange) lteMax(s float64) bool {
	if r.maxEx {
		return s < r.max
	}
	return s <= r.max
}

// lexBound is one end of a lex range: "-" (inf -1), "+" (inf 1), or a
// member with "[" (inclusive) or "(" (exclusive).
type lexBound struct {
	s   string
	ex  bool
	inf int
}

type lexRange struct{ min, max lexBound }

func parseLexBound(a []byte) (lexBound, bool) {
	if len(a) == 0 {
		return lexBound{}, false
	}
	switch a[0] {
	case '+', '-':
		if len(a) > 1 && a[1] != 0 {
			return lexBound{}, false
		}
		if a[0] == '+' {
			return lexBound{ex: true, inf: 1}, true
		}
		return lexBound{ex: true, inf: -1}, true
	case '(':
		return lexBound{s: string(a[1:]), ex: true}, true
	case '[':
		return lexBound{s: string(a[1:])}, true
	}
	return lexBound{}, false
}

func parseLexRange(min, max []byte) (lexRange, bool) {
	lo, ok1 := parseLexBound(min)
	hi, ok2 := parseLexBound(max)
	return lexRange{lo, hi}, ok1 && ok2
}

// cmpLex compares two bounds, the infinities beyond every member.
func cmpLex(a, b lexBound) int {
	if a.inf != 0 || b.inf != 0 {
		return a.inf - b.inf
	}
	switch {
	case a.s < b.s:
		return -1
	case a.s > b.s:
		return 1
	}
	return 0
}

func (r lexRange) empty() bool {
	c := cmpLex(r.min, r.max)
	return c > 0 || (c == 0 && (r.min.ex || r.max.ex))
}

func (r lexRange) gteMin(m string) bool {
	switch r.min.inf {
	case -1:
		return true
	case 1:
		return false
	}
	if r.min.ex {
		return m > r.min.s
	}
	return m >= r.min.s
}

func (r lexRange) lteMax(m string) bool {
	switch r.max.inf {
	case 1:
		return true
	case -1:
		return false
	}
	if r.max.ex {
		return m < r.max.s
	}
	return m <= r.max.s
}

// zrangeSpec is a parsed ZRANGE (or one of its older forms).
type zrangeSpec struct {
	by            int
	rev           bool
	withScores    bool
	offset, limit int64 // limit -1: no LIMIT
	start, stop   int64
	scores        scoreRange
	lex           lexRange
}

// parseZRange is zrangeGenericCommand's parsing: options, conflicts, then
// the range (min and max swap places for a reverse score or lex range).
// The source key is argv[at]; store (ZRANGESTORE) takes no WITHSCORES.
func parseZRange(argv [][]byte, at int, by int, rev, store bool) (zrangeSpec, Value) {
	sp := zrangeSpec{by: by, rev: rev, limit: -1}
	auto := !rev && by == byAuto
	for j := at + 3; j < len(argv); j++ {
		left := len(argv) - j - 1
		switch a := argv[j]; {
		case !store && eqFold(a, "withscores"):
			sp.withScores = true
		case eqFold(a, "limit") && left >= 2:
			var ok1, ok2 bool
			sp.offset, ok1 = parseInt(argv[j+1])
			sp.limit, ok2 = parseInt(argv[j+2])
			if !ok1 || !ok2 {
				return sp, errNotInt
			}
			j += 2
		case auto && !sp.rev && eqFold(a, "rev"):
			sp.rev = true
		case sp.by == byAuto && eqFold(a, "bylex"):
			sp.by = byLex
		case sp.by == byAuto && eqFold(a, "byscore"):
			sp.by = byScore
		default:
			return sp, errSyntax
		}
	}
	if sp.by == byAuto {
		sp.by = byRank
	}
	if sp.limit != -1 && sp.by == byRank {
		return sp, Err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
	}
	if sp.withScores && sp.by == byLex {
		return sp, Err("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
	}
	lo, hi := argv[at+1], argv[at+2]
	if sp.rev && sp.by != byRank {
		lo, hi = hi, lo
	}
	var ok bool
	switch sp.by {
	case byRank:
		var ok2 bool
		sp.start, ok = parseInt(lo)
		sp.stop, ok2 = parseInt(hi)
		if !ok || !ok2 {
			return sp, errNotInt
		}
	case byScore:
		if sp.scores, ok = parseScoreRange(lo, hi); !ok {
			return sp, errMinMaxFloat
		}
	case byLex:
		if sp.lex, ok = parseLexRange(lo, hi); !ok {
			return sp, errMinMaxLex
		}
	}
	return sp, Value{}
}

func cmdZRange(c *ctx, argv [][]byte) Value {
	name := lowerASCII(argv[0])
	by, rev := byAuto, false
	switch name {
	case "zrevrange":
		by, rev = byRank, true
	case "zrangebyscore":
		by = byScore
	case "zrevrangebyscore":
		by, rev = byScore, true
	case "zrangebylex":
		by = byLex
	case "zrevrangebylex":
		by, rev = byLex, true
	}
	sp, errv := parseZRange(argv, 1, by, rev, false)
	if errv.Kind == KindError {
		return errv
	}
	_, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return emptyOr(errv)
	}
	return withScores(z.collect(sp), sp.withScores)
}

// cmdZRangeStore is ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV]
// [LIMIT offset count]: ZRANGE's selection, stored as a sorted set.
func cmdZRangeStore(c *ctx, argv [][]byte) Value {
	sp, errv := parseZRange(argv, 2, byAuto, false, true)
	if errv.Kind == KindError {
		return errv
	}
	_, z, ok, errv := c.getZset(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	// Like Redis, a listpack that converts as members are added.
	dst := newZset(c.enc(), c.ks.gen, 0, 0)
	if ok {
		for _, e := range z.collect(sp) {
			dst.set(e.m, e.score)
		}
	}
	c.store(argv[1], dst, NotifyZset, "zrangestore")
	return Int(int64(dst.len()))
}

// rankRange turns start and stop into indexes in score order.
func (z *zsetObj) rankRange(start, stop int64, rev bool) (int, int, bool) {
	s, e, empty := listRange(start, stop, z.len())
	if empty {
		return 0, 0, true
	}
	if rev {
		n := z.len()
		s, e = n-1-e, n-1-s
	}
	return s, e, false
}

// scoreBounds returns the score range's [lo, hi) in score order.
func (z *zsetObj) scoreBounds(r scoreRange) (int, int) {
	lo := z.search(func(e zent) bool { return r.gteMin(e.score) })
	hi := z.search(func(e zent) bool { return !r.lteMax(e.score) })
	return lo, max(lo, hi)
}

// lexSpan returns the lex range's [lo, hi) in score order. Members are
// meant to share one score; when they do not, Redis leaves the answer
// unspecified, but a listpack walks from one end, so Understudy walks the
// same way for a listpack and binary-searches a skiplist.
func (z *zsetObj) lexSpan(r lexRange, rev bool) (int, int) {
	n := z.len()
	if n == 0 || r.empty() {
		return 0, 0
	}
	first, _ := z.byScore.Min()
	last, _ := z.byScore.Max()
	if !r.gteMin(last.m) || !r.lteMax(first.m) {
		return 0, 0
	}
	if z.skiplist {
		lo := z.search(func(e zent) bool { return r.gteMin(e.m) })
		hi := z.search(func(e zent) bool { return !r.lteMax(e.m) })
		return lo, max(lo, hi)
	}
	es := z.byScore.Items()
	if !rev {
		lo := 0
		for lo < n && !r.gteMin(es[lo].m) {
			lo++
		}
		if lo == n || !r.lteMax(es[lo].m) {
			return 0, 0
		}
		hi := lo + 1
		for hi < n && r.lteMax(es[hi].m) {
			hi++
		}
		return lo, hi
	}
	hi := n - 1
	for hi >= 0 && !r.lteMax(es[hi].m) {
		hi--
	}
	if hi < 0 || !r.gteMin(es[hi].m) {
		return 0, 0
	}
	lo := hi
	for lo > 0 && r.gteMin(es[lo-1].m) {
		lo--
	}
	return lo, hi + 1
}

// collect returns the entries a ZRANGE selects, in reply order.
func (z *zsetObj) collect(sp zrangeSpec) []zent {
	var lo, hi int // [lo, hi) in score order
	switch sp.by {
	case byRank:
		s, e, empty := z.rankRange(sp.start, sp.stop, sp.rev)
		if empty {
			return nil
		}
		lo, hi = s, e+1
	case byScore:
		if sp.scores.empty() {
			return nil
		}
		lo, hi = z.scoreBounds(sp.scores)
	case byLex:
		lo, hi = z.lexSpan(sp.lex, sp.rev)
	}
	if sp.by == byRank {
		sp.offset, sp.limit = 0, -1 // a "LIMIT x -1" slips through to a rank range, and is ignored
	}
	if sp.offset < 0 || (sp.offset > 0 && sp.offset >= int64(z.len())) {
		return nil
	}
	lo2, hi2 := lo, hi
	if sp.rev {
		hi2 -= int(min(sp.offset, int64(hi-lo)))
	} else {
		lo2 += int(min(sp.offset, int64(hi-lo)))
	}
	n := hi2 - lo2
	if sp.limit >= 0 && int64(n) > sp.limit {
		n = int(sp.limit)
	}
	if n <= 0 {
		return nil
	}
	out := make([]zent, 0, n)
	from := lo2
	if sp.rev {
		from = hi2 - 1
	}
	z.walk(from, sp.rev, func(e zent) bool {
		out = append(out, e)
		return len(out) < n
	})
	return out
}

func cmdZCount(c *ctx, argv [][]byte) Value {
	lex := eqFold(argv[0], "zlexcount")
	var sr scoreRange
	var lr lexRange
	var ok bool
	if lex {
		if lr, ok = parseLexRange(argv[2], argv[3]); !ok {
			return errMinMaxLex
		}
	} else if sr, ok = parseScoreRange(argv[2], argv[3]); !ok {
		return errMinMaxFloat
	}
	_, z, exists, errv := c.getZset(argv[1])
	if !exists {
		return zeroOr(errv)
	}
	var lo, hi int
	switch {
	case lex:
		lo, hi = z.lexSpan(lr, false)
	case !lex && !sr.empty():
		lo, hi = z.scoreBounds(sr)
	}
	return Int(int64(hi - lo))
}

func cmdZRemRange(c *ctx, argv [][]byte) Value {
	sp := zrangeSpec{limit: -1}
	name := lowerASCII(argv[0])
	switch name {
	case "zremrangebyrank":
		sp.by = byRank
		var ok1, ok2 bool
		sp.start, ok1 = parseInt(argv[2])
		sp.stop, ok2 = parseInt(argv[3])
		if !ok1 || !ok2 {
			return errNotInt
		}
	case "zremrangebyscore":
		sp.by = byScore
		var ok bool
		if sp.scores, ok = parseScoreRange(argv[2], argv[3]); !ok {
			return errMinMaxFloat
		}
	default:
		sp.by = byLex
		var ok bool
		if sp.lex, ok = parseLexRange(argv[2], argv[3]); !ok {
			return errMinMaxLex
		}
	}
	it, z, ok, errv := c.getZset(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	es := z.collect(sp)
	if len(es) == 0 {
		return Zero
	}
	z = c.mutableZset(&it)
	for _, e := range es {
		z.remove(e.m)
	}
	c.save(it)
	c.notify(NotifyZset, name, it.key)
	c.notifyDeleted(it)
	return Int(int64(len(es)))
}
