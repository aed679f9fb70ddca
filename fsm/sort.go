package fsm

import (
	"bytes"
	"math"
	"slices"
	"strings"
)

// SORT and SORT_RO, after Redis 7.0's sortCommandGeneric (sort.c).
//
// Ordering, as Redis's: numbers compare by value, and equal values by the
// elements' bytes, so the order is total; ALPHA compares C strings (up to
// a NUL) in the C locale's order, or all the bytes when STORE is given;
// with ALPHA and BY, elements whose BY key is missing come first and
// elements with equal BY values keep their input order (Redis's qsort is
// glibc's merge sort), except with LIMIT, where Redis's partial quicksort
// decides (pqsort.go). BY with a pattern and GET look keys up in this node's
// keyspace: every key lives on the one shard this cluster is, so they are
// allowed whether a client speaks the cluster protocol or not (a Redis
// Cluster node refuses them because the keys could live elsewhere).

func sortCommands() []decl {
	return []decl{
		{name: "sort", run: cmdSort, since: Level2},
		{name: "sort_ro", run: cmdSort, since: Level2},
	}
}

// sortElem is one element being sorted: its score (numeric sort) or the
// value it sorts by (ALPHA with BY; nil when the BY key is missing).
type sortElem struct {
	obj   string
	score float64
	by    *string
}

// sortOpts are SORT's options.
type sortOpts struct {
	desc, alpha, dontsort bool
	limitStart, limitN    int64
	by, store             []byte
	gets                  [][]byte
}

func parseSort(argv [][]byte, readonly bool) (sortOpts, Value) {
	o := sortOpts{limitN: -1}
	for j := 2; j < len(argv); j++ {
		left := len(argv) - j - 1
		switch a := argv[j]; {
		case eqFold(a, "asc"):
			o.desc = false
		case eqFold(a, "desc"):
			o.desc = true
		case eqFold(a, "alpha"):
			o.alpha = true
		case eqFold(a, "limit") && left >= 2:
			var ok1, ok2 bool
			o.limitStart, ok1 = parseInt(argv[j+1])
			o.limitN, ok2 = parseInt(argv[j+2])
			if !ok1 || !ok2 {
				return o, errNotInt
			}
			j += 2
		case !readonly && eqFold(a, "store") && left >= 1:
			o.store = argv[j+1]
			j++
		case eqFold(a, "by") && left >= 1:
			o.by = argv[j+1]
			// BY a pattern without '*' (nosort): keep the native order.
			if bytes.IndexByte(cString(o.by), '*') < 0 {
				o.dontsort = true
			}
			j++
		case eqFold(a, "get") && left >= 1:
			o.gets = append(o.gets, argv[j+1])
			j++
		default:
			return o, errSyntax
		}
	}
	return o, Value{}
}

func cmdSort(c *ctx, argv [][]byte) Value {
	o, errv := parseSort(argv, eqFold(argv[0], "sort_ro"))
	if errv.Kind == KindError {
		return errv
	}
	it, exists := c.get(argv[1])
	var val any = newList(c.ks.gen) // a missing key sorts as an empty list
	if exists {
		switch it.val.(type) {
		case *listObj, *setObj, *zsetObj:
			val = it.val
		default:
			return errWrongType
		}
	}
	if _, isSet := val.(*setObj); isSet && o.dontsort && (o.store != nil || c.script) {
		// A set has no order of its own: what is stored or seen by a
		// script must not depend on it, so it is sorted ALPHA.
		o.dontsort, o.alpha, o.by = false, true, nil
	}
	n := int64(collLen(val))
	start := max(o.limitStart, 0)
	end := n - 1
	if o.limitN >= 0 {
		end = start + min(o.limitN, n) - 1
	}
	if start >= n {
		start, end = n-1, n-2
	}
	end = min(end, n-1)
	vec := sortVector(val, &o, &start, &end)
	if !o.dontsort {
		if errv := c.sortScores(vec, &o); errv.Kind == KindError {
			return errv
		}
		cmp := sortCompare(&o)
		if o.by != nil && (start != 0 || end != int64(len(vec))-1) {
			pqsort(vec, cmp, int(start), int(end))
		} else {
			slices.SortStableFunc(vec, func(a, b sortElem) int { return cmp(&a, &b) })
		}
	}
	var sel []sortElem
	if end >= start {
		sel = vec[start : end+1]
	}
	if o.store == nil {
		out := make([]Value, 0, len(sel)*max(len(o.gets), 1))
		for _, e := range sel {
			if len(o.gets) == 0 {
				out = append(out, BulkString(e.obj))
			}
			for _, g := range o.gets {
				if v, ok := c.sortLookup(g, e.obj); ok {
					out = append(out, BulkString(v))
				} else {
					out = append(out, Null)
				}
			}
		}
		return Array(out)
	}
	var items []string
	for _, e := range sel {
		if len(o.gets) == 0 {
			items = append(items, e.obj)
		}
		for _, g := range o.gets {
			v, _ := c.sortLookup(g, e.obj) // a missing one is stored as ""
			items = append(items, v)
		}
	}
	l := newList(c.ks.gen)
	size := 0
	for _, s := range items {
		size += len(s)
	}
	l.grow(size)
	for _, s := range items {
		l.push(s, false)
	}
	c.store(o.store, l, NotifyList, "sortstore")
	return Int(int64(len(items)))
}

// sortVector loads the elements to sort. Without sorting (BY nosort) a list
// or sorted set gives only the LIMIT range, in its own order (reversed for
// DESC), and start and end are moved onto it.
func sortVector(val any, o *sortOpts, start, end *int64) []sortElem {
	var vec []sortElem
	add := func(s string) { vec = append(vec, sortElem{obj: s}) }
	ranged := o.dontsort && (*start != 0 || *end != int64(collLen(val))-1)
	switch v := val.(type) {
	case *listObj:
		switch {
		case o.dontsort && *end >= *start:
			n := int64(v.len())
			for k := *start; k <= *end; k++ {
				i := k
				if o.desc {
					i = n - 1 - k
				}
				add(v.d.at(int(i)))
			}
			*end -= *start
			*start = 0
		case o.dontsort && ranged:
			// An empty range.
		default:
			for i := range v.len() {
				add(v.d.at(i))
			}
		}
	case *setObj:
		v.each(func(m string) bool { add(m); return true })
	case *zsetObj:
		switch {
		case o.dontsort:
			count := int(*end - *start + 1)
			if count > 0 {
				from := int(*start)
				if o.desc {
					from = v.len() - 1 - int(*start)
				}
				v.walk(from, o.desc, func(e zent) bool { add(e.m); return len(vec) < count })
			}
			*end -= *start
			*start = 0
		default:
			v.byScore.Scan(func(e zent) bool { add(e.m); return true })
		}
	}
	return vec
}

// sortScores loads what each element sorts by: its BY value (nil score 0
// for a missing key) or itself; a number that does not parse is Redis's
// error.
func (c *ctx) sortScores(vec []sortElem, o *sortOpts) Value {
	bad := false
	for i := range vec {
		byval := vec[i].obj
		if o.by != nil {
			v, ok := c.sortLookup(o.by, vec[i].obj)
			if !ok {
				continue
			}
			byval = v
		}
		if o.alpha {
			if o.by != nil {
				vec[i].by = &byval
			}
			continue
		}
		s := string(cString(b(byval)))
		f, n, erange := strtod(s)
		if n != len(s) || erange || math.IsNaN(f) {
			bad = true
		}
		vec[i].score = f
	}
	if bad {
		return Err("ERR One or more scores can't be converted into double")
	}
	return Value{}
}

// sortCompare is Redis's sortCompare.
func sortCompare(o *sortOpts) func(a, b *sortElem) int {
	binary := o.store != nil
	compare := func(x, y string) int {
		if binary {
			return strings.Compare(x, y)
		}
		return bytes.Compare(cString(b(x)), cString(b(y))) // strcoll, C locale
	}
	return func(a, b *sortElem) int {
		var r int
		switch {
		case !o.alpha:
			switch {
			case a.score > b.score:
				r = 1
			case a.score < b.score:
				r = -1
			default:
				r = strings.Compare(a.obj, b.obj)
			}
		case o.by != nil:
			switch {
			case a.by == nil && b.by == nil:
				r = 0
			case a.by == nil:
				r = -1
			case b.by == nil:
				r = 1
			default:
				r = compare(*a.by, *b.by)
			}
		default:
			r = compare(a.obj, b.obj)
		}
		if o.desc {
			return -r
		}
		return r
	}
}

// sortLookup is Redis's lookupKeyByPattern: "#" is the element itself;
// otherwise the first '*' of the pattern is replaced by the element and the
// result names a string key, or with "->field" after the '*' a hash field.
// Like Redis, the pattern is searched as a C string (up to a NUL).
func (c *ctx) sortLookup(pattern []byte, subst string) (string, bool) {
	if len(pattern) > 0 && pattern[0] == '#' && (len(pattern) == 1 || pattern[1] == 0) {
		return subst, true
	}
	cpat := cString(pattern)
	p := bytes.IndexByte(cpat, '*')
	if p < 0 {
		return "", false
	}
	var field []byte
	post := pattern[p+1:]
	if f := bytes.Index(cpat[p+1:], []byte("->")); f >= 0 {
		f += p + 1
		if f+2 < len(pattern) && pattern[f+2] != 0 {
			field, post = pattern[f+2:], pattern[p+1:f]
		}
	}
	key := make([]byte, 0, p+len(subst)+len(post))
	key = append(append(append(key, pattern[:p]...), subst...), post...)
	it, ok := c.get(key)
	if !ok {
		return "", false
	}
	if field != nil {
		h, isHash := it.val.(*hashObj)
		if !isHash {
			return "", false
		}
		return h.get(string(field))
	}
	s, isStr := it.val.(string)
	return s, isStr
}
