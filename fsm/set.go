package fsm

import (
	"cmp"
	"slices"

	"github.com/tidwall/btree"
)

// Set encodings, as OBJECT ENCODING names them.
const (
	encIntset byte = iota
	encListpack
	encHashtable
)

// setObj is a set. An intset holds integers in ascending order, a listpack
// holds members in insertion order (both in small); a hashtable is a tree
// ordered by (hash, member). Conversions follow Redis 7.2's setTypeAdd.
type setObj struct {
	gen   uint64
	lim   *encLimits // thresholds in force when last changed (object.go)
	enc   byte
	small []string
	ht    *btree.BTreeG[member]
}

// newSet is Redis's setTypeCreate: the encoding that suits a first member
// (Redis 7.0: an intset for an integer, else a hashtable) and, under the
// legacy rules (7.2's), the number of members about to be added.
func newSet(lim *encLimits, gen uint64, first string, sizeHint int) *setObj {
	s := &setObj{gen: gen, lim: lim, enc: encHashtable}
	l := limitsOf(lim)
	if !l.setListpack {
		sizeHint = 0
	}
	if _, isInt := parseInt(b(first)); isInt && sizeHint <= l.setIntset {
		s.enc = encIntset
	} else if l.setListpack && sizeHint <= l.setListpackEntries {
		s.enc = encListpack
	} else {
		s.ht = newMemberTree()
	}
	return s
}

func (s *setObj) len() int {
	if s.enc == encHashtable {
		return s.ht.Len()
	}
	return len(s.small)
}

// intsetFind finds v in the sorted intset.
func (s *setObj) intsetFind(v int64) (int, bool) {
	return slices.BinarySearchFunc(s.small, v, func(e string, t int64) int {
		x, _ := parseInt(b(e))
		return cmp.Compare(x, t)
	})
}

func (s *setObj) has(m string) bool {
	switch s.enc {
	case encIntset:
		v, ok := parseInt(b(m))
		if !ok {
			return false
		}
		_, found := s.intsetFind(v)
		return found
	case encListpack:
		return slices.Contains(s.small, m)
	}
	_, ok := s.ht.Get(member{h: hashKey(m), key: m})
	return ok
}

// add adds m and reports whether it is new.
func (s *setObj) add(m string) bool {
	switch s.enc {
	case encIntset:
		if v, ok := parseInt(b(m)); ok {
			i, found := s.intsetFind(v)
			if found {
				return false
			}
			s.small = slices.Insert(s.small, i, m)
			if len(s.small) > limitsOf(s.lim).setIntset {
				s.toHashtable()
			}
			return true
		}
		maxLen := 0
		if n := len(s.small); n > 0 {
			maxLen = max(len(s.small[0]), len(s.small[n-1]))
		}
		l := limitsOf(s.lim)
		if l.setListpack && len(s.small) < l.setListpackEntries && len(m) <= l.setValue && maxLen <= l.setValue {
			s.enc = encListpack
			s.small = append(s.small, m)
		} else {
			s.toHashtable()
			s.ht.Set(member{h: hashKey(m), key: m})
		}
		return true
	case encListpack:
		if slices.Contains(s.small, m) {
			return false
		}
		// A listpack set exists only under the legacy rules, or was made
		// by them: it keeps them until it becomes a hashtable.
		if len(s.small) < legacyLimits.setListpackEntries && len(m) <= legacyLimits.setValue {
			s.small = append(s.small, m)
		} else {
			s.toHashtable()
			s.ht.Set(member{h: hashKey(m), key: m})
		}
		return true
	}
	_, replaced := s.ht.Set(member{h: hashKey(m), key: m})
	return !replaced
}

func (s *setObj) remove(m string) bool {
	switch s.enc {
	case encIntset:
		v, ok := parseInt(b(m))
		if !ok {
			return false
		}
		i, found := s.intsetFind(v)
		if found {
			s.small = slices.Delete(s.small, i, i+1)
		}
		return found
	case encListpack:
		i := slices.Index(s.small, m)
		if i >= 0 {
			s.small = slices.Delete(s.small, i, i+1)
		}
		return i >= 0
	}
	_, ok := s.ht.Delete(member{h: hashKey(m), key: m})
	return ok
}

// maybeConvert is Redis 7.2's setTypeMaybeConvert: a command about to add
// sizeHint members converts a small set that could not hold that many.
// Redis 7.0 has no such step (legacy rules only).
func (s *setObj) maybeConvert(sizeHint int) {
	l := limitsOf(s.lim)
	if !l.setListpack {
		return
	}
	if (s.enc == encListpack && sizeHint > l.setListpackEntries) || (s.enc == encIntset && sizeHint > l.setIntset) {
		s.toHashtable()
	}
}

func (s *setObj) toHashtable() {
	if s.enc == encHashtable {
		return
	}
	t := newMemberTree()
	for _, m := range s.small {
		t.Set(member{h: hashKey(m), key: m})
	}
	s.enc, s.ht, s.small = encHashtable, t, nil
}

// maybeToIntset turns a listpack of integers into an intset (SINTERSTORE).
func (s *setObj) maybeToIntset() {
	if s.enc != encListpack {
		return
	}
	for _, m := range s.small {
		if _, ok := parseInt(b(m)); !ok {
			return
		}
	}
	slices.SortFunc(s.small, func(x, y string) int {
		a, _ := parseInt(b(x))
		b2, _ := parseInt(b(y))
		return cmp.Compare(a, b2)
	})
	s.enc = encIntset
}

func (s *setObj) each(fn func(m string) bool) {
	if s.enc == encHashtable {
		s.ht.Scan(func(m member) bool { return fn(m.key) })
		return
	}
	for _, m := range s.small {
		if !fn(m) {
			return
		}
	}
}

func (s *setObj) members() []string {
	out := make([]string, 0, s.len())
	s.each(func(m string) bool { out = append(out, m); return true })
	return out
}

func (s *setObj) at(i int) string {
	if s.enc == encHashtable {
		m, _ := s.ht.GetAt(i)
		return m.key
	}
	return s.small[i]
}

func (s *setObj) clone(gen uint64) *setObj {
	n := &setObj{gen: gen, lim: s.lim, enc: s.enc}
	if s.enc == encHashtable {
		n.ht = s.ht.Copy()
	} else {
		n.small = slices.Clone(s.small)
	}
	return n
}

// mutableSet makes it's set safe to change (see mutableHash).
func (c *ctx) mutableSet(it *item) *setObj {
	s := it.val.(*setObj)
	if s.gen != c.ks.gen {
		s = s.clone(c.ks.gen)
		it.val = s
		c.ks.swap(*it)
	}
	s.lim = c.enc()
	return s
}

func (c *ctx) getSet(key []byte) (item, *setObj, bool, Value) {
	return getTyped[*setObj](c, key)
}

func setCommands() []decl {
	return []decl{
		{name: "sadd", run: cmdSAdd, since: 1},
		{name: "srem", run: cmdSRem, since: 1},
		{name: "smembers", run: cmdSMembers, since: 1},
		{name: "sismember", run: cmdSIsMember, since: 1},
		{name: "smismember", run: cmdSMIsMember, since: 1},
		{name: "scard", run: cmdSCard, since: 1},
		{name: "spop", run: cmdSPop, since: 1},
		{name: "srandmember", run: cmdSRandMember, since: 1},
		{name: "smove", run: cmdSMove, since: 1},
		{name: "sinter", run: cmdSInter, since: 1},
		{name: "sinterstore", run: cmdSInter, since: 1},
		{name: "sintercard", run: cmdSInterCard, since: 1},
		{name: "sunion", run: cmdSUnionDiff, since: 1},
		{name: "sunionstore", run: cmdSUnionDiff, since: 1},
		{name: "sdiff", run: cmdSUnionDiff, since: 1},
		{name: "sdiffstore", run: cmdSUnionDiff, since: 1},
		{name: "sscan", run: cmdSScan, since: 1},
	}
}

func setReply(ms []string) Value {
	out := make([]Value, len(ms))
	for i, m := range ms {
		out[i] = BulkString(m)
	}
	return Value{Kind: KindSet, Arr: out}
}

func cmdSAdd(c *ctx, argv [][]byte) Value {
	var s *setObj
	it, _, ok, errv := c.getSet(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if ok {
		s = c.mutableSet(&it)
		s.maybeConvert(len(argv) - 2)
	} else {
		s = newSet(c.enc(), c.ks.gen, string(argv[2]), len(argv)-2)
		it = item{key: string(argv[1]), val: s}
	}
	var added int64
	for _, m := range argv[2:] {
		if s.add(string(m)) {
			added++
		}
	}
	if added > 0 {
		c.save(it)
		c.notify(NotifySet, "sadd", it.key)
	}
	return Int(added)
}

func cmdSRem(c *ctx, argv [][]byte) Value {
	it, s, ok, errv := c.getSet(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	var n int64
	for _, m := range argv[2:] {
		if !s.has(string(m)) {
			continue
		}
		s = c.mutableSet(&it)
		s.remove(string(m))
		n++
	}
	if n > 0 {
		c.save(it)
		c.notify(NotifySet, "srem", it.key)
		c.notifyDeleted(it)
	}
	return Int(n)
}

func cmdSMembers(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getSet(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	if !ok {
		return setReply(nil)
	}
	return setReply(s.members())
}

func cmdSIsMember(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getSet(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	if s.has(string(argv[2])) {
		return One
	}
	return Zero
}

func cmdSMIsMember(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getSet(argv[1])
	if errv.Kind == KindError {
		return errv
	}
	out := make([]Value, len(argv)-2)
	for i, m := range argv[2:] {
		out[i] = Zero
		if ok && s.has(string(m)) {
			out[i] = One
		}
	}
	return Array(out)
}

func cmdSCard(c *ctx, argv [][]byte) Value {
	_, s, ok, errv := c.getSet(argv[1])
	if !ok {
		return zeroOr(errv)
	}
	return Int(int64(s.len()))
}

func cmdSPop(c *ctx, argv [][]byte) Value {
	if len(argv) > 3 {
		return errSyntax
	}
	if len(argv) == 2 {
		var s *setObj
		it, _, ok, errv := c.getSet(argv[1])
		if !ok {
			return orNull(errv)
		}
		s = c.mutableSet(&it)
		m := s.at(c.rand().IntN(s.len()))
		s.remove(m)
		c.save(it)
		c.notify(NotifySet, "spop", it.key)
		c.notifyDeleted(it)
		return BulkString(m)
	}
	count, errv := parsePositive(argv[2], mustBePositive)
	if errv.Kind == KindError {
		return errv
	}
	it, s, ok, errv := c.getSet(argv[1])
	if !ok {
		if errv.Kind == KindError {
			return errv
		}
		return setReply(nil)
	}
	if count == 0 {
		return setReply(nil)
	}
	size := s.len()
	if count >= int64(size) {
		// Redis answers with the SUNION of the set alone, then deletes it.
		u := &setObj{gen: c.ks.gen, lim: c.enc(), enc: encIntset}
		s.each(func(m string) bool { u.add(m); return true })
		c.ks.del(it.key)
		c.notify(NotifySet, "spop", it.key)
		c.notify(NotifyGeneric, "del", it.key)
		return setReply(u.members())
	}
	s = c.mutableSet(&it)
	remaining := size - int(count)
	var popped []string
	if remaining*5 > int(count) {
		// Pop count members; a listpack yields them in its own order.
		idx := sampleIndexes(c, size, int(count))
		if s.enc == encListpack {
			slices.Sort(idx)
		}
		popped = make([]string, len(idx))
		for i, j := range idx {
			popped[i] = s.at(j)
		}
		for _, m := range popped {
			s.remove(m)
		}
	} else {
		// Keep remaining members in a new set and pop the rest.
		idx := sampleIndexes(c, size, remaining)
		var ns *setObj
		lim := c.enc()
		if s.enc == encListpack {
			slices.Sort(idx)
			ns = &setObj{gen: c.ks.gen, lim: lim, enc: encListpack}
		} else if s.enc == encIntset {
			ns = &setObj{gen: c.ks.gen, lim: lim, enc: encIntset}
		} else {
			ns = &setObj{gen: c.ks.gen, lim: lim, enc: encListpack}
		}
		keep := make([]string, len(idx))
		for i, j := range idx {
			keep[i] = s.at(j)
		}
		if !lim.setListpack {
			// Redis 7.0 builds the new set from its first member.
			ns = newSet(lim, c.ks.gen, keep[0], 1)
		}
		for _, m := range keep {
			ns.add(m)
			s.remove(m)
		}
		popped = s.members()
		it.val = ns
	}
	c.save(it)
	c.notify(NotifySet, "spop", it.key)
	return setReply(popped)
}

func cmdSRandMember(c *ctx, argv [][]byte) Value {
	if len(argv) > 3 {
		return errSyntax
	}
	if len(argv) == 2 {
		_, s, ok, errv := c.getSet(argv[1])
		if !ok {
			return orNull(errv)
		}
		return BulkString(s.at(c.rand().IntN(s.len())))
	}
	n, errv := parseRandCount(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	if errv := checkRandCount(n, false); errv.Kind == KindError {
		return errv
	}
	_, s, ok, errv := c.getSet(argv[1])
	if !ok {
		return emptyOr(errv)
	}
	out := []Value{}
	size := s.len()
	switch {
	case n == 0:
	case n < 0:
		for range -n {
			out = append(out, BulkString(s.at(c.rand().IntN(size))))
		}
	case n >= int64(size):
		s.each(func(m string) bool { out = append(out, BulkString(m)); return true })
	default:
		for _, i := range sampleIndexes(c, size, int(n)) {
			out = append(out, BulkString(s.at(i)))
		}
	}
	return Array(out)
}

func cmdSMove(c *ctx, argv [][]byte) Value {
	src, s, ok, errv := c.getSet(argv[1])
	if !ok && errv.Kind != KindError {
		return Zero
	}
	if errv.Kind == KindError {
		return errv
	}
	var d *setObj
	dst, _, dstExists, errv := c.getSet(argv[2])
	if errv.Kind == KindError {
		return errv
	}
	m := string(argv[3])
	if src.key == string(argv[2]) {
		if s.has(m) {
			return One
		}
		return Zero
	}
	if !s.has(m) {
		return Zero
	}
	s = c.mutableSet(&src)
	s.remove(m)
	c.save(src)
	c.notify(NotifySet, "srem", src.key)
	c.notifyDeleted(src)
	if dstExists {
		d = c.mutableSet(&dst)
	} else {
		d = newSet(c.enc(), c.ks.gen, m, 1)
		dst = item{key: string(argv[2]), val: d}
	}
	if d.add(m) {
		c.save(dst)
		c.notify(NotifySet, "sadd", dst.key)
	}
	return One
}

func cmdSScan(c *ctx, argv [][]byte) Value {
	s, cursor, opts, reply, done := parseCollScan[*setObj](c, argv)
	if done {
		return reply
	}
	var out []Value
	if s.enc != encHashtable {
		for _, m := range s.small {
			if opts.matches(m) {
				out = append(out, BulkString(m))
			}
		}
		return scanReply(0, out)
	}
	next := scanTree(s.ht, member{h: cursor}, func(m member) uint64 { return m.h }, opts.count, func(m member) {
		if opts.matches(m.key) {
			out = append(out, BulkString(m.key))
		}
	})
	return scanReply(next, out)
}
