package fsm

import (
	"math"
	"strconv"
)

func keyCommands() []decl {
	return []decl{
		{name: "del", run: cmdDel, since: 1},
		{name: "unlink", run: cmdDel, since: 1},
		{name: "exists", run: cmdExists, since: 1},
		{name: "touch", run: cmdExists, since: Level2}, // counts the keys that exist, as EXISTS does (access times are not kept)
		{name: "type", run: cmdType, since: 1},
		{name: "expire", run: cmdExpire, since: 1},
		{name: "pexpire", run: cmdExpire, since: 1},
		{name: "expireat", run: cmdExpire, since: 1},
		{name: "pexpireat", run: cmdExpire, since: 1},
		{name: "ttl", run: cmdTTL, since: 1},
		{name: "pttl", run: cmdTTL, since: 1},
		{name: "expiretime", run: cmdExpireTime, since: 1},
		{name: "pexpiretime", run: cmdExpireTime, since: 1},
		{name: "persist", run: cmdPersist, since: 1},
		{name: "rename", run: cmdRename, since: 1},
		{name: "renamenx", run: cmdRename, since: 1},
		{name: "keys", run: cmdKeys, since: 1},
		{name: "scan", run: cmdScan, since: 1},
		{name: "dbsize", run: cmdDBSize, since: 1},
		{name: "flushdb", run: cmdFlush, since: 1},
		{name: "flushall", run: cmdFlush, since: 1},
		{name: "randomkey", run: cmdRandomKey, since: 1},
	}
}

func cmdDel(c *ctx, argv [][]byte) Value {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.get(k); ok {
			c.ks.del(string(k))
			c.notify(NotifyGeneric, "del", string(k))
			n++
		}
	}
	return Int(n)
}

func cmdExists(c *ctx, argv [][]byte) Value {
	var n int64
	for _, k := range argv[1:] {
		if _, ok := c.get(k); ok {
			n++
		}
	}
	return Int(n)
}

// typeName is what TYPE reports for a value.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case *hashObj:
		return "hash"
	case *listObj:
		return "list"
	case *setObj:
		return "set"
	case *zsetObj:
		return "zset"
	case *streamObj:
		return "stream"
	}
	return "none"
}

func cmdType(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Simple("none")
	}
	return Simple(typeName(it.val))
}

// cmdExpire serves EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT with Redis 7's
// NX/XX/GT/LT options.
func cmdExpire(c *ctx, argv [][]byte) Value {
	cmd := "expire"
	for _, name := range []string{"pexpireat", "expireat", "pexpire"} {
		if eqFold(argv[0], name) {
			cmd = name
		}
	}
	// Redis checks the options before the time argument.
	var nx, xx, gt, lt bool
	for _, a := range argv[3:] {
		switch {
		case eqFold(a, "nx"):
			nx = true
		case eqFold(a, "xx"):
			xx = true
		case eqFold(a, "gt"):
			gt = true
		case eqFold(a, "lt"):
			lt = true
		default:
			return Err("ERR Unsupported option " + errText(a))
		}
	}
	if nx && (xx || gt || lt) {
		return Err("ERR NX and XX, GT or LT options at the same time are not compatible")
	}
	if gt && lt {
		return Err("ERR GT and LT options at the same time are not compatible")
	}
	n, ok := parseInt(argv[2])
	if !ok {
		return errNotInt
	}
	ms := n
	if cmd == "expire" || cmd == "expireat" {
		if n > math.MaxInt64/1000 || n < math.MinInt64/1000 {
			return errExpire(cmd)
		}
		ms = n * 1000
	}
	if cmd == "expire" || cmd == "pexpire" {
		if ms > math.MaxInt64-c.now {
			return errExpire(cmd)
		}
		ms += c.now
	}
	it, exists := c.get(argv[1])
	if !exists {
		return Zero
	}
	switch {
	case nx && it.exp != 0, xx && it.exp == 0:
		return Zero
	case gt && (it.exp == 0 || ms <= it.exp):
		return Zero
	case lt && it.exp != 0 && ms >= it.exp:
		return Zero
	}
	if ms <= c.now {
		c.ks.del(it.key)
		c.notify(NotifyGeneric, "del", it.key)
		return One
	}
	it.exp = ms
	c.ks.put(it)
	c.notify(NotifyGeneric, "expire", it.key)
	return One
}

func cmdTTL(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Int(-2)
	}
	if it.exp == 0 {
		return Int(-1)
	}
	left := max(it.exp-c.now, 0)
	if eqFold(argv[0], "pttl") {
		return Int(left)
	}
	return Int((left + 500) / 1000)
}

func cmdExpireTime(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok {
		return Int(-2)
	}
	if it.exp == 0 {
		return Int(-1)
	}
	if eqFold(argv[0], "pexpiretime") {
		return Int(it.exp)
	}
	// Redis rounds to the nearest second, (ms+500)/1000, written so that
	// it cannot overflow.
	return Int(it.exp/1000 + (it.exp%1000+500)/1000)
}

func cmdPersist(c *ctx, argv [][]byte) Value {
	it, ok := c.get(argv[1])
	if !ok || it.exp == 0 {
		return Zero
	}
	it.exp = 0
	c.ks.put(it)
	c.notify(NotifyGeneric, "persist", it.key)
	return One
}

func cmdRename(c *ctx, argv [][]byte) Value {
	nx := eqFold(argv[0], "renamenx")
	src, ok := c.get(argv[1])
	if !ok {
		return errNoSuchKey
	}
	dst := string(argv[2])
	if src.key == dst {
		if nx {
			return Zero
		}
		return OK
	}
	if _, exists := c.get(argv[2]); exists && nx {
		return Zero
	}
	c.ks.del(src.key)
	c.ks.del(dst)
	c.ks.put(item{key: dst, exp: src.exp, val: src.val, raw: src.raw})
	c.notify(NotifyGeneric, "rename_from", src.key)
	c.notify(NotifyGeneric, "rename_to", dst)
	if nx {
		return One
	}
	return OK
}

func cmdKeys(c *ctx, argv [][]byte) Value {
	pat := argv[1]
	all := len(pat) == 1 && pat[0] == '*'
	var out []Value
	c.ks.tree.Scan(func(s slot) bool {
		it := s.it
		if isExpired(it.exp, c.now) {
			return true
		}
		if all || globMatch(pat, b(it.key), false) {
			out = append(out, BulkString(it.key))
		}
		return true
	})
	if out == nil {
		out = []Value{}
	}
	return Array(out)
}

// cmdScan walks keys in hash order. The cursor is the hash where the next call
// resumes, so every key present for the whole iteration is returned exactly
// once whatever changes in between, which is the guarantee Redis gives.
func cmdScan(c *ctx, argv [][]byte) Value {
	cursor, ok := parseCursor(argv[1])
	if !ok {
		return errInvalidCurs
	}
	count := int64(10)
	var match, typ []byte
	for i := 2; i < len(argv); i += 2 {
		if i+1 >= len(argv) {
			return errSyntax
		}
		switch {
		case eqFold(argv[i], "count"):
			n, ok := parseInt(argv[i+1])
			if !ok {
				return errNotInt
			}
			if n < 1 {
				return errSyntax
			}
			count = n
		case eqFold(argv[i], "match"):
			match = argv[i+1]
			if len(match) == 1 && match[0] == '*' {
				match = nil // matches all keys, the empty one too, as in Redis
			}
		case eqFold(argv[i], "type"):
			typ = argv[i+1]
		default:
			return errSyntax
		}
	}
	var out []Value
	var seen int64
	next, lastH := uint64(0), uint64(0)
	c.ks.tree.Ascend(slot{cursor, &item{}}, func(s slot) bool {
		// Stop only between hash groups so a cursor never splits keys
		// that share a hash.
		it := s.it
		if seen >= count && s.h != lastH && s.h != 0 {
			next = s.h
			return false
		}
		seen++
		lastH = s.h
		if isExpired(it.exp, c.now) {
			return true
		}
		if match != nil && !globMatch(match, b(it.key), false) {
			return true
		}
		if typ != nil && !eqFold(typ, typeName(it.val)) {
			return true
		}
		out = append(out, BulkString(it.key))
		return true
	})
	if out == nil {
		out = []Value{}
	}
	return Array([]Value{BulkString(strconv.FormatUint(next, 10)), Array(out)})
}

// parseCursor reads a SCAN cursor as Redis does, with strtoul: an optional
// sign ("-1" wraps around), no leading space, and "" reads as 0.
func parseCursor(arg []byte) (uint64, bool) {
	s := string(arg)
	if s == "" {
		return 0, true
	}
	neg := s[0] == '-'
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		n = -n
	}
	return n, true
}

func cmdDBSize(c *ctx, _ [][]byte) Value { return Int(int64(c.ks.len())) }

func cmdFlush(c *ctx, argv [][]byte) Value {
	if len(argv) > 2 || (len(argv) == 2 && !eqFold(argv[1], "async") && !eqFold(argv[1], "sync")) {
		return errSyntax
	}
	if eqFold(argv[0], "flushall") {
		c.f.eachDB(func(ks *keyspace) { c.flush(ks) })
	} else {
		c.flush(c.ks)
	}
	return OK
}

// flush empties a database, telling the apply hook that every key of it
// changed.
func (c *ctx) flush(ks *keyspace) {
	c.stamp(ks)
	ks.clear()
	if c.touched != nil {
		*c.touched = append(*c.touched, DBKey{ks.num, AllKeys})
	}
}

func cmdRandomKey(c *ctx, _ [][]byte) Value {
	n := c.ks.len()
	if n == 0 {
		return Null
	}
	// Like Redis, give up on a keyspace of only expired keys after a few tries.
	for range 100 {
		s, _ := c.ks.tree.GetAt(c.rand().IntN(n))
		if it := s.it; !isExpired(it.exp, c.now) {
			return BulkString(it.key)
		}
	}
	return Null
}
