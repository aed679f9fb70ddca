package fsm

import (
	"math"
	"strconv"

	"github.com/tidwall/btree"
)

// zsetObj is a sorted set: one tree ordered by (score, member), which gives
// ranges and ranks (GetAt, binary search over counts), and one ordered by
// (hash, member) for lookups and ZSCAN's cursor. Both are tidwall B-trees,
// so the copy-on-write copy is O(1). Ties in score order by member bytes,
// and -0 equals 0, as in Redis. skiplist is the encoding flag only: both
// encodings are the same structure here.
type zsetObj struct {
	gen      uint64
	lim      *encLimits // thresholds in force when last changed (object.go)
	byScore  *btree.BTreeG[zent]
	byMember *btree.BTreeG[zent]
	skiplist bool
}

type zent struct {
	h     uint64
	score float64
	m     string
}

func lessScore(a, b zent) bool {
	if a.score != b.score {
		return a.score < b.score
	}
	return a.m < b.m
}

func lessZMember(a, b zent) bool {
	if a.h != b.h {
		return a.h < b.h
	}
	return a.m < b.m
}

// newZset is Redis 7.2's zsetTypeCreate: a skiplist when the command adds
// more members than a listpack holds or its first member is too long.
func newZset(lim *encLimits, gen uint64, sizeHint, firstLen int) *zsetObj {
	return &zsetObj{
		gen:      gen,
		lim:      lim,
		byScore:  btree.NewBTreeGOptions(lessScore, btree.Options{NoLocks: true}),
		byMember: btree.NewBTreeGOptions(lessZMember, btree.Options{NoLocks: true}),
		skiplist: sizeHint > limitsOf(lim).zsetEntries || firstLen > limitsOf(lim).zsetValue,
	}
}

func (z *zsetObj) len() int { return z.byMember.Len() }

func (z *zsetObj) score(m string) (float64, bool) {
	e, ok := z.byMember.Get(zent{h: hashKey(m), m: m})
	return e.score, ok
}

// set adds m or moves it to a new score. A new member that a listpack
// cannot hold turns it into a skiplist first. A listpack stores a score that
// is an integer as one, so -0 comes back as 0 there (not in a skiplist).
func (z *zsetObj) set(m string, score float64) {
	e := zent{h: hashKey(m), score: score, m: m}
	old, exists := z.byMember.Get(e)
	if !exists && !z.skiplist && (z.len()+1 > limitsOf(z.lim).zsetEntries || len(m) > limitsOf(z.lim).zsetValue) {
		z.skiplist = true
	}
	if !z.skiplist && score == 0 {
		e.score = 0
	}
	if exists {
		z.byScore.Delete(old)
	}
	z.byMember.Set(e)
	z.byScore.Set(e)
}

// toListpack is Redis's conversion of a skiplist back to a listpack, which
// stores -0 as 0.
func (z *zsetObj) toListpack() {
	z.skiplist = false
	var negZero []zent
	z.byScore.Ascend(zent{score: 0}, func(e zent) bool {
		if e.score != 0 {
			return false
		}
		if math.Signbit(e.score) {
			negZero = append(negZero, e)
		}
		return true
	})
	for _, e := range negZero {
		z.set(e.m, 0)
	}
}

func (z *zsetObj) remove(m string) bool {
	old, ok := z.byMember.Delete(zent{h: hashKey(m), m: m})
	if ok {
		z.byScore.Delete(old)
	}
	return ok
}

// search returns the first index whose entry satisfies pred, which must be
// false then true along the score order: O(log² n) through GetAt.
func (z *zsetObj) search(pred func(zent) bool) int {
	lo, hi := 0, z.len()
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if e, _ := z.byScore.GetAt(mid); pred(e) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// rank is e's index in score order.
func (z *zsetObj) rank(e zent) int {
	return z.search(func(x zent) bool { return !lessScore(x, e) })
}

// walk calls fn for entries from index i onwards (backwards if rev) until
// fn returns false.
func (z *zsetObj) walk(i int, rev bool, fn func(zent) bool) {
	start, ok := z.byScore.GetAt(i)
	if !ok {
		return
	}
	if rev {
		z.byScore.Descend(start, fn)
	} else {
		z.byScore.Ascend(start, fn)
	}
}

// maxElemLen is the longest member, to judge the listpack limits.
func (z *zsetObj) maxElemLen() int {
	n := 0
	z.byScore.Scan(func(e zent) bool { n = max(n, len(e.m)); return true })
	return n
}

func (z *zsetObj) clone(gen uint64) *zsetObj {
	return &zsetObj{gen: gen, lim: z.lim, byScore: z.byScore.Copy(), byMember: z.byMember.Copy(), skiplist: z.skiplist}
}

// mutableZset makes it's sorted set safe to change (see mutableHash).
func (c *ctx) mutableZset(it *item) *zsetObj {
	z := it.val.(*zsetObj)
	if z.gen != c.ks.gen {
		z = z.clone(c.ks.gen)
		it.val = z
		c.ks.swap(*it)
	}
	z.lim = c.enc()
	return z
}

func (c *ctx) getZset(key []byte) (item, *zsetObj, bool, Value) {
	return getTyped[*zsetObj](c, key)
}

// formatScoreG is C's "%.17g", which Redis uses for the scores ZSCAN shows
// from a skiplist.
func formatScoreG(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// strtod reads the longest prefix of s that C's strtod would: leading
// white space, a sign, "inf"/"infinity"/"nan", hexadecimal or decimal. n is
// the bytes consumed (0: no number); erange marks overflow, or underflow to 0.
func strtod(s string) (v float64, n int, erange bool) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	num := i
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	sign := 1.0
	if neg {
		sign = -1
	}
	rest := s[i:]
	switch {
	case hasPrefixFold(rest, "infinity"):
		return math.Inf(int(sign)), i + 8, false
	case hasPrefixFold(rest, "inf"):
		return math.Inf(int(sign)), i + 3, false
	case hasPrefixFold(rest, "nan"):
		j := i + 3
		if j < len(s) && s[j] == '(' {
			k := j + 1
			for k < len(s) && (isAlnum(s[k]) || s[k] == '_') {
				k++
			}
			if k < len(s) && s[k] == ')' {
				j = k + 1
			}
		}
		return math.NaN(), j, false
	}
	hex := len(rest) > 2 && rest[0] == '0' && lower(rest[1]) == 'x'
	digit := isDigit
	j := i
	if hex {
		digit, j = isHexDigit, i+2
	}
	d0 := j
	nonzero := false
	for j < len(s) && digit(s[j]) {
		nonzero = nonzero || s[j] != '0'
		j++
	}
	mant := s[d0:j]
	if j < len(s) && s[j] == '.' {
		k := j + 1
		for k < len(s) && digit(s[k]) {
			nonzero = nonzero || s[k] != '0'
			k++
		}
		if k-d0 > 1 { // at least one digit around the dot
			mant, j = s[d0:k], k
		}
	}
	if mant == "" || mant == "." {
		if hex { // "0x" with no digits reads as "0"
			return 0, i + 1, false
		}
		return 0, 0, false
	}
	expMark := byte('e')
	if hex {
		expMark = 'p'
	}
	exp := ""
	if j < len(s) && lower(s[j]) == expMark {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		e0 := k
		for k < len(s) && isDigit(s[k]) {
			k++
		}
		if k > e0 {
			exp, j = s[j+1:k], k
		}
	}
	lit := s[num:i] + mant
	if hex {
		if exp == "" {
			exp = "0"
		}
		lit = s[num:i] + "0x" + mant + "p" + exp
	} else if exp != "" {
		lit += "e" + exp
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil && !math.IsInf(v, 0) {
		return 0, 0, false
	}
	return v, j, math.IsInf(v, 0) || (v == 0 && nonzero)
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || ('a' <= lower(c) && lower(c) <= 'f') }
func isAlnum(c byte) bool    { return isDigit(c) || ('a' <= lower(c) && lower(c) <= 'z') }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && eqFold([]byte(s[:len(prefix)]), prefix)
}

// parseScore is Redis's string2d: all of s must be a number, with no
// leading space, not NaN, not out of range.
func parseScore(s []byte) (float64, bool) {
	if len(s) == 0 || isSpace(s[0]) {
		return 0, false
	}
	v, n, erange := strtod(string(s))
	if n != len(s) || math.IsNaN(v) || (erange && (math.IsInf(v, 0) || v == 0)) {
		return 0, false
	}
	return v, true
}
